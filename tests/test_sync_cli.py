"""The `sync` CLI: backfill, status, exit codes, and kill -9 midway then resume."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from kradle_providers.cli import main

BINDING = """\
apiVersion: kradle.a5c.ai/v1alpha1
kind: ExternalBackendBinding
metadata: {name: mem}
spec:
  target: {kind: Repository, name: widgets}
  providers:
    m: {type: memory, apiBaseUrl: "${MEM_API}"}
  interfaces:
    issueTracking: {provider: m, mode: read-only, externalRef: {owner: acme, repository: widgets}}
    cicd: {provider: m, mode: read-only, externalRef: {owner: acme, repository: widgets}}
    gitForge: {provider: m, mode: read-only, externalRef: {owner: acme, repository: widgets}}
"""

SEEDED = {
    "cicd/Artifact": 1,
    "cicd/Check": 1,
    "cicd/Job": 2,
    "cicd/Pipeline": 1,
    "cicd/PipelineDefinition": 1,
    "cicd/Runner": 1,
    "gitForge/BranchProtection": 1,
    "gitForge/Collaborator": 1,
    "gitForge/DeployKey": 1,
    "gitForge/PullRequest": 1,
    "gitForge/Ref": 3,
    "gitForge/Repository": 1,
    "gitForge/Review": 1,
    "issueTracking/Comment": 1,
    "issueTracking/Issue": 3,
    "issueTracking/IssueEvent": 3,
    "issueTracking/Label": 2,
    "issueTracking/Milestone": 1,
}


@pytest.fixture
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("MEM_API", "memory://local")
    path = tmp_path / "binding.yaml"
    path.write_text(BINDING)
    return path


def status(db: Path, capsys: pytest.CaptureFixture[str]) -> dict[str, object]:
    capsys.readouterr()
    assert main(["sync", "status", "--db", str(db), "--json"]) == 0
    report: dict[str, object] = json.loads(capsys.readouterr().out)
    return report


def test_backfill_then_status_counts_equal_seeded(
    config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "state.db"
    assert main(["sync", "backfill", "--config", str(config), "--db", str(db), "--plain"]) == 0
    out = capsys.readouterr()
    assert "issueTracking/Issue" in out.out and "Succeeded" in out.out
    assert "listed=" in out.err  # plain progress lines (not a terminal)
    report = status(db, capsys)
    assert report["objects"] == SEEDED
    assert set(report) == {"objects", "states", "phases", "deliveries", "intents", "conflicts"}
    states = report["states"]
    assert isinstance(states, list) and {s["phase"] for s in states} == {"Succeeded"}
    # Human form too.
    assert main(["sync", "status", "--db", str(db)]) == 0
    assert "issueTracking/Issue" in capsys.readouterr().out


def test_backfill_one_interface_with_json_summary(
    config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "state.db"
    args = ["sync", "backfill", "--config", str(config), "--db", str(db), "--json", "--plain"]
    assert main([*args, "--interface", "cicd"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["ok"] is True
    assert set(summary["objects"]) == {k for k in SEEDED if k.startswith("cicd/")}


def test_usage_and_config_errors_exit_2(
    config: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    db = str(tmp_path / "s.db")
    assert main(["sync", "backfill", "--config", str(tmp_path / "nope.yaml"), "--db", db]) == 2
    assert "cannot read" in capsys.readouterr().err
    monkeypatch.delenv("MEM_API")
    assert main(["sync", "backfill", "--config", str(config), "--db", db]) == 2
    assert "MEM_API" in capsys.readouterr().err
    monkeypatch.setenv("MEM_API", "x")
    refused = tmp_path / "refused.yaml"
    refused.write_text(BINDING.replace("type: memory", "type: nosuch"))
    assert main(["sync", "backfill", "--config", str(refused), "--db", db]) == 2
    assert "nosuch" in capsys.readouterr().err
    only = tmp_path / "only.yaml"
    only.write_text(BINDING.split("    cicd:")[0])
    assert main(["sync", "backfill", "--config", str(only), "--db", db, "--interface", "cicd"]) == 2
    assert main(["sync", "status", "--db", str(tmp_path / "missing.db")]) == 2


def test_failed_stream_exits_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from kradle_providers.errors import TransientProviderError
    from kradle_providers.sync import cli as sync_cli
    from kradle_providers.sync.runtime import ProviderOverride
    from kradle_providers.testing.memory_backend import MemoryBackend

    backend = MemoryBackend()
    backend.seed_demo()
    backend.fail_next("listLabels", TransientProviderError("provider down"))
    path = tmp_path / "b.yaml"
    path.write_text(BINDING.split("    cicd:")[0].replace(', apiBaseUrl: "${MEM_API}"', ""))
    overrides = {"m": ProviderOverride(options={"backend": backend})}
    argv = ["sync", "backfill", "--config", str(path), "--db", str(tmp_path / "s.db"), "--plain"]
    assert sync_cli.main(argv, overrides=overrides) == 1
    assert "provider down" in capsys.readouterr().out
    # The next run resumes and succeeds.
    assert sync_cli.main(argv, overrides=overrides) == 0


# A backfill in a child process against a slow memory provider with many issues.
CHILD = textwrap.dedent(
    """
    import sys, time
    from kradle_providers.sync import cli
    from kradle_providers.sync.runtime import ProviderOverride
    from kradle_providers.testing.memory_backend import MemoryBackend

    backend = MemoryBackend(max_page_size=10)
    scope = backend.seed_demo()
    for i in range(200):
        backend.seed_issue(scope, f"bulk {i}")
    if sys.argv[1] == "slow":
        handle = backend.handle
        def slow(operation, token, /, **args):
            time.sleep(0.02)  # latency of a remote provider, so the parent can kill midway
            handle(operation, token, **args)
        backend.handle = slow
    overrides = {"m": ProviderOverride(options={"backend": backend})}
    sys.exit(cli.main(sys.argv[2:], overrides=overrides))
    """
)


def test_sigkill_midway_then_rerun_gives_the_same_counts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    config = tmp_path / "b.yaml"
    config.write_text(BINDING.replace(', apiBaseUrl: "${MEM_API}"', ""))
    db = tmp_path / "state.db"
    argv = ["sync", "backfill", "--config", str(config), "--db", str(db), "--plain"]
    child = subprocess.Popen(
        [sys.executable, str(script), "slow", *argv],
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
    )
    assert child.stderr is not None
    pages = 0
    for line in child.stderr:
        if line.startswith("issueTracking/Issue: listed="):
            pages += 1
            if pages == 5:
                os.kill(child.pid, signal.SIGKILL)
                break
    child.wait(timeout=30)
    assert child.returncode == -signal.SIGKILL
    midway = status(db, capsys)["objects"]
    assert isinstance(midway, dict)
    assert 0 < midway.get("issueTracking/Issue", 0) < 203
    done = subprocess.run(
        [sys.executable, str(script), "fast", *argv], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    expected = dict(SEEDED, **{"issueTracking/Issue": 203})
    assert status(db, capsys)["objects"] == expected
    # Running it once more changes nothing.
    again = subprocess.run(
        [sys.executable, str(script), "fast", *argv], capture_output=True, text=True, timeout=60
    )
    assert again.returncode == 0
    assert status(db, capsys)["objects"] == expected
