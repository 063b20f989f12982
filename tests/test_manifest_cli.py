"""`kradle-providers manifest validate|show`, driven through kradle_providers.cli.main."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from kradle_providers import cli
from kradle_providers.manifest import load_manifest

FIXTURES = Path(__file__).parent / "fixtures" / "manifests"
VALID = str(FIXTURES / "tracker-only.yaml")
INVALID = str(FIXTURES / "invalid-many.yaml")
BAD_SYNTAX = str(FIXTURES / "bad-syntax.yaml")


def test_validate_valid_files(capsys: pytest.CaptureFixture[str]) -> None:
    code = cli.main(["manifest", "validate", VALID, str(FIXTURES / "ci-only.json")])
    out = capsys.readouterr().out
    assert code == 0
    assert f"{VALID}: valid" in out
    assert "ci-only.json: valid" in out


def test_validate_invalid_prints_every_finding(capsys: pytest.CaptureFixture[str]) -> None:
    code = cli.main(["manifest", "validate", VALID, INVALID])
    out = capsys.readouterr().out
    assert code == 1
    assert f"{INVALID}: invalid (6 error(s)" in out
    assert "  $.spec.interfaces.issueTracking.operations[1]: unknown operation 'listIsues'" in out
    assert "(fix: did you mean 'listIssues'?)" in out
    assert "  $.apiVersion: 'kradle.a5c.ai/v1beta9' is not supported" in out
    assert "$.spec.interfaces.issueTracking.operations[2].idempotency.mode: " in out


def test_validate_unreadable_file_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = cli.main(["manifest", "validate", INVALID, str(tmp_path / "missing.yaml")])
    out = capsys.readouterr().out
    assert code == 2
    assert "missing.yaml: unreadable" in out
    assert "  $: cannot read manifest file" in out


def test_validate_bad_syntax_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["manifest", "validate", BAD_SYNTAX]) == 2
    assert "$: not valid YAML at line 3" in capsys.readouterr().out


def test_validate_warnings_only_is_valid(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data: dict[str, Any] = yaml.safe_load(Path(VALID).read_text())
    del data["spec"]["interfaces"]["cicd"]["reason"]
    path = tmp_path / "warn.yaml"
    path.write_text(yaml.safe_dump(data))
    assert cli.main(["manifest", "validate", str(path)]) == 0
    out = capsys.readouterr().out
    assert "valid (1 warning(s))" in out
    assert "$.spec.interfaces.cicd.reason: warning: cicd is unsupported without a reason" in out


def test_validate_json_report(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = str(tmp_path / "missing.yaml")
    code = cli.main(["manifest", "validate", "--json", VALID, INVALID, missing])
    reports = json.loads(capsys.readouterr().out)
    assert code == 2
    assert [r["file"] for r in reports] == [VALID, INVALID, missing]
    assert [r["valid"] for r in reports] == [True, False, False]
    assert [r["readable"] for r in reports] == [True, True, False]
    assert reports[0]["findings"] == []
    finding = next(
        f for f in reports[1]["findings"] if f["path"] == "$.spec.interfaces.cicd.operations"
    )
    assert set(finding) == {"path", "message", "fix", "severity"}
    assert finding["severity"] == "error"


def test_validate_requires_a_path(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        cli.main(["manifest", "validate"])
    assert info.value.code == 2


class _FakeRegistry:
    def manifest(self, name: str) -> Any:
        from kradle_providers.errors import NotFound

        if name != "tracker":
            raise NotFound(f"no provider named {name!r} is installed (installed: tracker)")
        return load_manifest(VALID)


def test_show_prints_the_registry_manifest(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from kradle_providers.plugins import registry

    monkeypatch.setattr(registry, "load_registry", lambda **_: _FakeRegistry())
    assert cli.main(["manifest", "show", "tracker"]) == 0
    shown = capsys.readouterr().out
    assert load_manifest(shown) == load_manifest(VALID)
    assert shown.startswith("apiVersion: kradle.a5c.ai/v1alpha1\n")

    assert cli.main(["manifest", "show", "tracker", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["spec"]["providerType"] == "tracker"
    assert load_manifest(data) == load_manifest(VALID)


def test_show_unknown_provider_exits_2(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from kradle_providers.plugins import registry

    monkeypatch.setattr(registry, "load_registry", lambda **_: _FakeRegistry())
    assert cli.main(["manifest", "show", "nope"]) == 2
    err = capsys.readouterr().err
    assert "no provider named 'nope'" in err
    assert "fix:" in err


def test_show_with_the_real_registry(capsys: pytest.CaptureFixture[str]) -> None:
    # The core distribution registers the in-memory reference provider, when present.
    from kradle_providers.plugins.registry import load_registry

    names = load_registry().names()
    if "memory" not in names:
        pytest.skip("the in-memory reference provider is not installed")
    assert cli.main(["manifest", "show", "memory"]) == 0
    assert load_manifest(capsys.readouterr().out).provider_type == "memory"
