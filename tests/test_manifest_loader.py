"""Loading manifests from files, text, mappings and package data."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from kradle_providers.errors import ManifestError
from kradle_providers.manifest import (
    IdempotencyMode,
    Manifest,
    dump_manifest,
    load_manifest,
    load_manifest_resource,
)
from kradle_providers.models.base import Interface

FIXTURES = Path(__file__).parent / "fixtures" / "manifests"


def test_load_yaml_file_as_path_and_str() -> None:
    from_path = load_manifest(FIXTURES / "forge-full.yaml")
    from_str = load_manifest(str(FIXTURES / "forge-full.yaml"))
    assert from_path == from_str
    assert from_path.provider_type == "acmeforge"
    assert from_path.supported_interfaces() == list(Interface)
    decl = from_path.operation("rerunPipeline")
    assert decl is not None and decl.native == "rerunWorkflowRun" and decl.is_write
    assert decl.idempotency is not None and decl.idempotency.mode is IdempotencyMode.NONE
    assert from_path.supports("getCommit")
    assert not from_path.supports("transitionIssue")
    assert from_path.unsupported_reason("transitionIssue").startswith("issues have no workflow")


def test_load_json_file() -> None:
    manifest = load_manifest(FIXTURES / "ci-only.json")
    assert manifest.supported_interfaces() == [Interface.CICD]
    assert manifest.webhook_events() == ["build.scheduled", "build.finished", "job.finished"]


def test_load_text_and_mapping() -> None:
    text = (FIXTURES / "tracker-only.yaml").read_text()
    from_text = load_manifest(text)
    from_mapping = load_manifest(yaml.safe_load(text))
    assert from_text == from_mapping == load_manifest(FIXTURES / "tracker-only.yaml")
    assert from_text.unsupported_reason("listPipelines") == "Tracker has no CI/CD."


def test_json_text_is_accepted() -> None:
    data = json.loads((FIXTURES / "ci-only.json").read_text())
    assert load_manifest(json.dumps(data)).provider_type == "builder"


def test_missing_file_is_one_finding_at_root(tmp_path: Path) -> None:
    missing = tmp_path / "nope.yaml"
    with pytest.raises(ManifestError) as info:
        load_manifest(missing)
    [finding] = info.value.findings
    assert finding.path == "$"
    assert "cannot read manifest file" in finding.message
    assert "path" in finding.fix
    assert info.value.source == str(missing)


def test_directory_is_unreadable(tmp_path: Path) -> None:
    with pytest.raises(ManifestError) as info:
        load_manifest(Path(tmp_path))
    assert info.value.findings[0].path == "$"


def test_bad_yaml_names_line_and_column() -> None:
    with pytest.raises(ManifestError) as info:
        load_manifest(FIXTURES / "bad-syntax.yaml")
    [finding] = info.value.findings
    assert finding.path == "$"
    assert "not valid YAML at line 3" in finding.message
    assert "line 3" in finding.fix


def test_bad_json_file(tmp_path: Path) -> None:
    path = tmp_path / "m.json"
    path.write_text('{"apiVersion": ,}')
    with pytest.raises(ManifestError) as info:
        load_manifest(path)
    [finding] = info.value.findings
    assert finding.path == "$" and "not valid JSON at line 1" in finding.message


def test_duplicate_yaml_key_is_rejected_not_silently_overwritten() -> None:
    text = (
        (FIXTURES / "tracker-only.yaml")
        .read_text()
        .replace(
            "  displayName: Tracker Cloud\n", "  displayName: Tracker Cloud\n  displayName: Other\n"
        )
    )
    with pytest.raises(ManifestError) as info:
        load_manifest(text)
    [finding] = info.value.findings
    assert finding.path == "$" and "duplicate key 'displayName'" in finding.message


def test_invalid_manifest_lists_every_finding() -> None:
    with pytest.raises(ManifestError) as info:
        load_manifest(FIXTURES / "invalid-many.yaml")
    error = info.value
    errors = [f for f in error.findings if f.severity == "error"]
    assert len(errors) == 6
    # Errors come before warnings, and the message shows every one of them.
    severities = [f.severity for f in error.findings]
    assert severities == sorted(severities, key=lambda s: s != "error")
    for finding in error.findings:
        assert str(finding) in str(error)
    assert str(error).startswith(f"{FIXTURES / 'invalid-many.yaml'}: invalid manifest")


def test_warnings_do_not_raise() -> None:
    data: dict[str, Any] = yaml.safe_load((FIXTURES / "tracker-only.yaml").read_text())
    del data["spec"]["interfaces"]["cicd"]["reason"]
    manifest = load_manifest(data)
    assert manifest.unsupported_reason("listPipelines") == "the cicd interface is not supported"


def test_a_mistyped_path_without_suffix_is_explained() -> None:
    with pytest.raises(ManifestError) as info:
        load_manifest("plugins/github/manifest")
    [finding] = info.value.findings
    assert finding.path == "$" and "neither an existing manifest file" in finding.message


def test_top_level_must_be_a_mapping() -> None:
    with pytest.raises(ManifestError) as info:
        load_manifest("- just\n- a list\n")
    assert info.value.findings[0].path == "$"


@pytest.mark.parametrize("name", ["forge-full.yaml", "tracker-only.yaml", "ci-only.json"])
@pytest.mark.parametrize("fmt", ["yaml", "json"])
def test_dump_round_trips(name: str, fmt: str) -> None:
    manifest = load_manifest(FIXTURES / name)
    text = dump_manifest(manifest, fmt=fmt)
    assert text.endswith("\n")
    assert load_manifest(text) == manifest
    # Bare operation names stay bare; the camelCase aliases are used.
    assert "apiVersion" in text and "api_version" not in text


def _make_package(root: Path, name: str, files: dict[str, str]) -> None:
    pkg = root / name
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    for relative, text in files.items():
        target = pkg / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)


def test_load_from_package_data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _make_package(
        tmp_path,
        "kp_manifest_pkg_ok",
        {
            "data/manifest.yaml": (FIXTURES / "tracker-only.yaml").read_text(),
            "manifest.json": (FIXTURES / "ci-only.json").read_text(),
        },
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    manifest = load_manifest_resource("kp_manifest_pkg_ok:data/manifest.yaml")
    assert isinstance(manifest, Manifest) and manifest.provider_type == "tracker"
    assert load_manifest_resource("kp_manifest_pkg_ok:manifest.json").provider_type == "builder"


def test_package_data_errors_name_the_reference(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _make_package(
        tmp_path,
        "kp_manifest_pkg_bad",
        {"manifest.yaml": (FIXTURES / "invalid-many.yaml").read_text()},
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(ManifestError) as info:
        load_manifest_resource("kp_manifest_pkg_bad:manifest.yaml")
    assert info.value.source == "kp_manifest_pkg_bad:manifest.yaml"
    assert len(info.value.findings) > 1

    with pytest.raises(ManifestError) as info:
        load_manifest_resource("kp_manifest_pkg_bad:missing.yaml")
    [finding] = info.value.findings
    assert finding.path == "$" and "not found" in finding.message
    assert "package data" in finding.fix


@pytest.mark.parametrize(
    "ref", ["no_such_package_kradle_xyz:manifest.yaml", "no-colon.yaml", ":x.yaml", "pkg:"]
)
def test_bad_resource_references(ref: str) -> None:
    with pytest.raises(ManifestError) as info:
        load_manifest_resource(ref)
    [finding] = info.value.findings
    assert finding.path == "$" and finding.fix


def test_registry_reader_uses_this_loader() -> None:
    # plugins.manifest_source prefers load_manifest/load_manifest_resource when present.
    from kradle_providers.plugins.manifest_source import read_manifest

    with pytest.raises(ManifestError) as info:
        read_manifest(str(FIXTURES / "invalid-many.yaml"))
    assert any("did you mean 'listIssues'?" in f.fix for f in info.value.findings)
