"""`webhook verify` and `webhook normalize` CLI commands."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest
from webhook_specs import SPECS, signature_headers

from kradle_providers.webhooks import cli, verify

SECRET = "cli-webhook-secret"
BODY = b'{"webhookEvent":"jira:issue_updated","issue":{"id":"1"}}'


def run(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="kradle-providers")
    cli.register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    code: int = args.handler(args)
    return code


def write(tmp: Path, provider: str, headers: dict[str, str], body: bytes = BODY) -> list[str]:
    (tmp / "h.json").write_text(json.dumps(headers))
    (tmp / "b.bin").write_bytes(body)
    return ["--provider", provider, "--headers", str(tmp / "h.json"), "--body", str(tmp / "b.bin")]


@pytest.fixture(autouse=True)
def env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOOK_SECRET", SECRET)
    monkeypatch.setenv("HOOK_OLD", "cli-old-secret")
    monkeypatch.delenv("HOOK_UNSET", raising=False)


@pytest.fixture
def sample_specs(monkeypatch: pytest.MonkeyPatch) -> None:
    """The CLI reads installed plugins' specs; here it gets the sample ones for any name."""
    monkeypatch.setattr(verify, "webhook_spec", lambda provider, registry=None: SPECS[provider])


@pytest.mark.parametrize("provider", ["github", "gitlab", "buildkite", "jira"])
def test_verify_each_provider(
    sample_specs: None, provider: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    h = signature_headers(provider, BODY, SECRET, event="e", timestamp=1_700_000_000)
    args = write(tmp_path, provider, h)
    assert (
        run(["webhook", "verify", *args, "--secret-env", "HOOK_SECRET", "--now", "1700000010"]) == 0
    )
    out = capsys.readouterr().out
    assert out.startswith("verified:") and SECRET not in out


def test_verify_rejects_with_reason(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    h = signature_headers("github", BODY, SECRET, event="issues")
    args = write(tmp_path, "github", h, BODY + b"x")
    assert run(["webhook", "verify", *args, "--secret-env", "HOOK_SECRET"]) == 1
    out = capsys.readouterr().out
    assert out.startswith("rejected:") and "does not match" in out


def test_verify_rotation_with_two_env_vars(sample_specs: None, tmp_path: Path) -> None:
    h = signature_headers("gitlab", BODY, "cli-old-secret", event="Issue Hook")
    args = write(tmp_path, "gitlab", h)
    assert run(["webhook", "verify", *args, "--secret-env", "HOOK_SECRET"]) == 1
    argv = ["webhook", "verify", *args, "--secret-env", "HOOK_SECRET", "--secret-env", "HOOK_OLD"]
    assert run(argv) == 0


def test_verify_timestamp_window_and_token(
    sample_specs: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    h = signature_headers("buildkite", BODY, SECRET, event="build.finished", timestamp=100)
    args = [*write(tmp_path, "buildkite", h), "--secret-env", "HOOK_SECRET"]
    assert run(["webhook", "verify", *args, "--now", "1000"]) == 1
    assert "replay window" in capsys.readouterr().out
    assert run(["webhook", "verify", *args, "--now", "300"]) == 0
    h = signature_headers("buildkite", BODY, SECRET, event="x", token=True)
    args = [*write(tmp_path, "buildkite", h), "--secret-env", "HOOK_SECRET"]
    assert run(["webhook", "verify", *args]) == 0


def test_verify_installed_plugin_and_unknown_provider(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # No monkeypatching: the installed provider plugins declare their own schemes.
    from kradle_providers.plugins.registry import load_registry

    installed = [n for n in load_registry().names() if load_registry().plugin(n).webhooks]
    assert installed, "no installed plugin declares webhooks"
    args = write(tmp_path, "no-such-provider", {})
    assert run(["webhook", "verify", *args, "--secret-env", "HOOK_SECRET"]) == 2
    err = capsys.readouterr().err
    assert "no such provider plugin is installed" in err and installed[0] in err


def test_verify_usage_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    h = signature_headers("github", BODY, SECRET, event="issues")
    args = write(tmp_path, "github", h)
    assert run(["webhook", "verify", *args, "--secret-env", "HOOK_UNSET"]) == 2
    assert "HOOK_UNSET is not set" in capsys.readouterr().err
    missing = ["--provider", "github", "--headers", str(tmp_path / "nope.json")]
    argv = ["webhook", "verify", *missing, "--body", str(tmp_path / "b.bin")]
    assert run([*argv, "--secret-env", "HOOK_SECRET"]) == 2
    assert "cannot read headers file" in capsys.readouterr().err
    (tmp_path / "h.json").write_text("[1, 2]")
    assert run(["webhook", "verify", *args, "--secret-env", "HOOK_SECRET"]) == 2
    assert "JSON object" in capsys.readouterr().err
    with pytest.raises(SystemExit) as info:
        run(["webhook", "verify", *args])  # --secret-env required
    assert info.value.code == 2


MEMORY_LABEL = {"event": "label", "action": "created", "object": {"id": 5, "name": "bug"}}


def test_normalize_memory_provider(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("kradle_providers.testing.memory_events")
    f = tmp_path / "p.json"
    f.write_text(json.dumps(MEMORY_LABEL))
    base = ["webhook", "normalize", "--provider", "memory", "--file", str(f)]
    assert run([*base, "--event", "label", "--json", "--delivery-id", "d-1"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["outcome"] == "normalized"
    assert result["events"][0]["native_id"] == "5"
    assert result["events"][0]["delivery_id"] == "d-1"
    assert run([*base, "--event", "ping"]) == 0
    assert capsys.readouterr().out.startswith("ignored")
    assert run([*base, "--event", "no_such_event"]) == 1
    assert "no memory normalizer" in capsys.readouterr().out
    f.write_text("{broken")
    assert run([*base, "--event", "label"]) == 1
    assert "malformed" in capsys.readouterr().out
    assert run([*base[:-1], str(tmp_path / "missing.json"), "--event", "label"]) == 2


def test_normalize_unknown_provider(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = tmp_path / "p.json"
    f.write_text("{}")
    argv = ["webhook", "normalize", "--provider", "nope", "--event", "x", "--file", str(f)]
    assert run(argv) == 1
    assert "no normalizers for provider 'nope'" in capsys.readouterr().out
