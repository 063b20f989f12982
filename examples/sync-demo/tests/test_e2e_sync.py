"""End to end (issue 7, done-when): the `sync` CLI against both seeded emulators, and the demo.

The GitHub and Jira emulators (seed ``demo``) are served on loopback ports by
this module; ``kradle-providers sync backfill`` runs in a subprocess with the
demo binding (``kradle_sync_demo/demo_config/widgets.yaml``, as written in the
issue) and the environment pointing at them. Then:

- ``sync status --json`` object counts equal the emulators' seeded counts,
  strictly, for every kind the binding backfills (all listable kinds of the
  three interfaces; Commit, which no operation lists, is not backfilled by
  default);
- a backfill killed with SIGKILL midway (emulators slowed by a per-request
  latency so it is killed after some pages are checkpointed) and run again
  gives the same counts as an uninterrupted one;
- ``python -m kradle_sync_demo`` exits 0 and prints its summary.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from kradle_sync_demo.demo import binding_text

from kradle_providers.models.base import Interface
from kradle_providers.plugins.registry import load_registry
from kradle_providers.sync.binding import parse_binding
from kradle_providers.testing.emulator.server import LoopbackServer

gh_emulator = pytest.importorskip("kradle_provider_github.emulator")
jira_emulator = pytest.importorskip("kradle_provider_jira.emulator")

GH_TOKEN = "ghp_e2eTestToken000000000000000000000001"
JIRA_TOKEN = "jira-e2e-token-0001"
CLI_TIMEOUT = 120


@dataclass
class Emulators:
    gh: Any
    jira: Any
    env: dict[str, str]
    config: Path

    def backfilled(self) -> dict[Interface, tuple[str, ...]]:
        """The kinds the demo binding backfills, per interface (as the manifests allow)."""
        binding = parse_binding(self.config.read_text(), environ=self.env)
        return binding.validate_against(load_registry()).kinds

    def seeded(self) -> dict[str, int]:
        """The emulators' counts as ``<interface>/<Kind>``, for every kind the binding backfills."""
        counts = {
            Interface.GIT_FORGE: self.gh.counts("acme/widgets"),
            Interface.CICD: self.gh.counts("acme/widgets"),
            Interface.ISSUE_TRACKING: self.jira.counts(),
        }
        return {
            f"{iface.value}/{kind}": counts[iface][kind]
            for iface, kinds in self.backfilled().items()
            for kind in kinds
        }

    def latency(self, seconds: float) -> None:
        self.gh.latency = seconds
        self.jira.latency = seconds


@pytest.fixture(scope="module")
def emulators(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Emulators]:
    gh = gh_emulator.create_emulator(seed="demo", token=GH_TOKEN)
    jira = jira_emulator.create_emulator(seed="demo", token=JIRA_TOKEN, flavor="cloud")
    config = tmp_path_factory.mktemp("binding") / "widgets.yaml"
    config.write_text(binding_text())
    with LoopbackServer(gh.app) as g, LoopbackServer(jira.app) as j:
        env = {
            **os.environ,
            "GH_API": g.url,
            "GH_TOKEN": GH_TOKEN,
            "GH_WEBHOOK_SECRET": "e2e-webhook-secret",
            "JIRA_API": j.url,
            "JIRA_USER": "e2e@acme.test",
            "JIRA_TOKEN": JIRA_TOKEN,
            "JIRA_WEBHOOK_SECRET": "whsec-jira-e2e",
        }
        yield Emulators(gh, jira, env, config)


def cli(emulators: Emulators, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "kradle_providers", *args],
        env=emulators.env,
        capture_output=True,
        text=True,
        timeout=CLI_TIMEOUT,
    )


def backfill_argv(emulators: Emulators, db: Path) -> list[str]:
    return ["sync", "backfill", "--config", str(emulators.config), "--db", str(db), "--plain"]


def objects(emulators: Emulators, db: Path) -> dict[str, int]:
    done = cli(emulators, "sync", "status", "--db", str(db), "--json")
    assert done.returncode == 0, done.stderr
    report: dict[str, Any] = json.loads(done.stdout)
    counts: dict[str, int] = report["objects"]
    return counts


@pytest.fixture(scope="module")
def full_run(emulators: Emulators, tmp_path_factory: pytest.TempPathFactory) -> dict[str, int]:
    """One uninterrupted backfill: its ``sync status --json`` object counts."""
    db = tmp_path_factory.mktemp("full") / "sync.db"
    done = cli(emulators, *backfill_argv(emulators, db))
    assert done.returncode == 0, done.stdout + done.stderr
    return objects(emulators, db)


def test_backfill_counts_equal_the_emulators_seeded_counts(
    emulators: Emulators, full_run: dict[str, int]
) -> None:
    seeded = emulators.seeded()
    # Every kind of all three interfaces, each exactly as many as seeded.
    assert {k.split("/")[0] for k in seeded} == {"gitForge", "cicd", "issueTracking"}
    assert full_run == seeded


def test_the_binding_backfills_every_listable_kind_and_not_commits(emulators: Emulators) -> None:
    kinds = emulators.backfilled()
    assert "Commit" not in kinds[Interface.GIT_FORGE]  # no operation lists commits
    assert {"Repository", "PullRequest", "Review", "Ref", "BranchProtection"} <= set(
        kinds[Interface.GIT_FORGE]
    )
    assert {"Pipeline", "Job", "Artifact", "Check"} <= set(kinds[Interface.CICD])
    assert "IssueEvent" in kinds[Interface.ISSUE_TRACKING]


def _states(db: Path) -> list[dict[str, Any]]:
    if not db.exists():
        return []
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1.0) as conn:
            rows = conn.execute("SELECT record FROM sync_states").fetchall()
    except sqlite3.OperationalError:
        return []  # not migrated yet, or busy: poll again
    return [json.loads(r[0]) for r in rows]


def _midway(states: list[dict[str, Any]]) -> bool:
    """A stream has committed a page and is not finished: the moment to kill."""
    return any(s["phase"] != "Succeeded" and s["counters"]["pages"] >= 1 for s in states)


def test_sigkill_midway_then_rerun_gives_the_same_counts(
    emulators: Emulators, full_run: dict[str, int], tmp_path: Path
) -> None:
    db = tmp_path / "killed.db"
    emulators.latency(0.01)  # slow enough to be killed between two checkpoints
    try:
        child = subprocess.Popen(
            [sys.executable, "-m", "kradle_providers", *backfill_argv(emulators, db)],
            env=emulators.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + CLI_TIMEOUT
        try:
            while not _midway(_states(db)):
                assert child.poll() is None, "the backfill ended before it could be killed"
                assert time.monotonic() < deadline, "no page was checkpointed in time"
                time.sleep(0.05)  # polling another process's database, not waiting for time
            os.kill(child.pid, signal.SIGKILL)
        finally:
            child.wait(timeout=30)
    finally:
        emulators.latency(0.0)
    assert child.returncode == -signal.SIGKILL
    midway = objects(emulators, db)
    assert sum(midway.values()) < sum(full_run.values())  # killed midway

    done = cli(emulators, *backfill_argv(emulators, db))
    assert done.returncode == 0, done.stdout + done.stderr
    assert objects(emulators, db) == full_run
    assert {s["phase"] for s in _states(db)} == {"Succeeded"}


def test_demo_runs_end_to_end(tmp_path: Path) -> None:
    db = tmp_path / "demo.db"
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "kradle_sync_demo", "--db", str(db)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert time.monotonic() - started < 120
    out = done.stdout
    for expected in (
        "jira:issue_created for WID-321 arrived signed over HTTP",
        "pull_request.edited for #",
        "0 event(s) handled, 1 duplicate(s) skipped",
        "answered 401, recorded as SignatureRejected and never processed",
        "keeps the newest title 'Gear alignment: second edit'",
        "is PendingApproval; the Jira emulator has received 0 write request(s)",
        "Confirmed by webhook: Succeeded",
        "moved it to Conflict",
        "Summary (the data of `sync status --json`)",
        f"State store: {db}",
    ):
        assert expected in out, expected
    assert "listed=" in done.stderr  # plain progress lines: not a terminal
    # The summary is the data of `sync status --json` on the demo's store.
    status = subprocess.run(
        [sys.executable, "-m", "kradle_providers", "sync", "status", "--db", str(db), "--json"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    report = json.loads(status.stdout)
    assert report["intents"] == {"Succeeded": 1, "Conflict": 1}
    assert report["conflicts"] == {"Open": 1}
    assert report["deliveries"]["SignatureRejected"] == 1
    assert report["objects"]["issueTracking/Issue"] == 321
    for kind, count in report["objects"].items():
        assert f"{kind}  " in out and str(count) in out
