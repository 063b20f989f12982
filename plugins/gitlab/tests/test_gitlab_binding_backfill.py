"""A binding with GitLab for all three interfaces backfills what python-gitlab sees.

One demo emulator: python-gitlab reads it over loopback (as from
``kradle-providers emulator serve gitlab``), the binding's backfill reads it
through the adapter; every kind's count in the store equals python-gitlab's
count of the same objects.
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
from pathlib import Path
from typing import Any

import pytest
from kradle_provider_gitlab.emulator import PROJECT_PATH, GitLabEmulator, create_emulator

from kradle_providers.clock import SkippingClock
from kradle_providers.store import SqliteStateStore
from kradle_providers.sync.backfill import Backfiller
from kradle_providers.sync.binding import parse_binding
from kradle_providers.sync.runtime import BoundBinding, ProviderOverride
from kradle_providers.testing.emulator import LoopbackServer

gitlab = pytest.importorskip("gitlab", reason="python-gitlab is in the plugin's test extra")

CLI_TIMEOUT = 120

BINDING = """\
apiVersion: kradle.a5c.ai/v1alpha1
kind: ExternalBackendBinding
metadata: {name: gl}
spec:
  target: {kind: Repository, name: widgets}
  providers:
    g: {type: gitlab, apiBaseUrl: "http://gitlab.test/api/v4", auth: {token: {env: GL_TOKEN}}}
  interfaces:
    issueTracking: {provider: g, mode: read-only, externalRef: {owner: acme/platform, repository: widgets}}
    cicd: {provider: g, mode: read-only, externalRef: {owner: acme/platform, repository: widgets}}
    gitForge: {provider: g, mode: read-only, externalRef: {owner: acme/platform, repository: widgets}}
"""  # noqa: E501


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[GitLabEmulator, str]]:
    # A backfill crawls notes and events issue by issue (GitLab lists them per
    # issue only): well over gitlab.com's 2,000 requests a minute.
    emulator = create_emulator(seed="demo", options={"rate_limit": 1_000_000})
    with LoopbackServer(emulator) as server:
        yield emulator, server.url


def python_gitlab_counts(url: str, token: str) -> dict[str, int]:
    """What python-gitlab sees, counted as the binding's kinds."""
    gl = gitlab.Gitlab(url, private_token=token, per_page=100, keep_base_url=True)
    project = gl.projects.get(PROJECT_PATH)

    def count(listing: Any) -> int:
        return sum(1 for _ in listing)

    issues = list(project.issues.list(iterator=True, pagination="keyset", order_by="id"))
    comments = events = 0
    for issue in issues:
        notes = list(issue.notes.list(iterator=True))
        comments += sum(1 for n in notes if not n.system)
        events += sum(1 for n in notes if n.system)
        events += count(issue.resourcestateevents.list(iterator=True))
        events += count(issue.resourcelabelevents.list(iterator=True))
        events += count(issue.resourcemilestoneevents.list(iterator=True))
    pipelines = list(project.pipelines.list(iterator=True))
    jobs = artifacts = 0
    for pipeline in pipelines:
        listed = list(pipeline.jobs.list(iterator=True))
        jobs += len(listed) + count(pipeline.bridges.list(iterator=True))
        artifacts += sum(1 for j in listed for a in j.artifacts or [] if a["file_type"] != "trace")
    mrs = list(project.mergerequests.list(iterator=True))
    branches = list(project.branches.list(iterator=True))
    heads = {p.sha for p in pipelines} | {b.commit["id"] for b in branches}
    heads |= {m.sha for m in mrs if m.sha}
    checks = sum(
        count(project.commits.get(sha, lazy=True).statuses.list(iterator=True, all=True))
        for sha in heads
    )
    return {
        "issueTracking/Issue": len(issues),
        "issueTracking/Comment": comments,
        "issueTracking/IssueEvent": events,
        "issueTracking/Label": count(project.labels.list(iterator=True)),
        "issueTracking/Milestone": count(project.milestones.list(iterator=True)),
        "cicd/Pipeline": len(pipelines),
        "cicd/Job": jobs,
        "cicd/Artifact": artifacts,
        "cicd/Check": checks,
        "cicd/Runner": count(project.runners.list(iterator=True)),
        "gitForge/Repository": 1,
        "gitForge/PullRequest": len(mrs),
        "gitForge/Review": sum(len(m.approvals.get().approved_by) for m in mrs),
        "gitForge/Ref": len(branches) + count(project.tags.list(iterator=True)),
        "gitForge/DeployKey": count(project.keys.list(iterator=True)),
        "gitForge/Collaborator": count(project.members_all.list(iterator=True)),
        # The binding reads the default branch's protection.
        "gitForge/BranchProtection": int(
            any(
                p.name == project.default_branch
                for p in project.protectedbranches.list(iterator=True)
            )
        ),
    }


@pytest.fixture(scope="module")
def expected(served: tuple[GitLabEmulator, str]) -> dict[str, int]:
    emulator, url = served
    return python_gitlab_counts(url, emulator.token)


async def test_backfill_counts_equal_python_gitlab_counts(
    served: tuple[GitLabEmulator, str], expected: dict[str, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    emulator, _ = served
    monkeypatch.setitem(os.environ, "GL_TOKEN", emulator.token)
    binding = parse_binding(BINDING, environ=dict(os.environ))
    override = ProviderOverride(transport=emulator.transport(), options={"clock": SkippingClock()})
    async with SqliteStateStore(":memory:") as store:
        async with await BoundBinding.open(binding, overrides={"g": override}) as bound:
            report = await Backfiller(bound, store).run()
        assert report.ok, report.to_dict()
        counts = await store.projections.count_by_kind("gl")
    assert counts == expected
    assert counts["issueTracking/Issue"] == 320 and counts["cicd/Pipeline"] == 132


def _states(db: Path) -> list[dict[str, Any]]:
    if not db.exists():
        return []
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1.0) as conn:
            rows = conn.execute("SELECT record FROM sync_states").fetchall()
    except sqlite3.OperationalError:
        return []  # not migrated yet, or busy: poll again
    return [json.loads(r[0]) for r in rows]


def _cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "kradle_providers", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=CLI_TIMEOUT,
    )


def test_sigkill_midway_then_resume_gives_python_gitlab_counts(
    served: tuple[GitLabEmulator, str], expected: dict[str, int], tmp_path: Path
) -> None:
    """``sync backfill`` (CI/CD and forge) killed with SIGKILL after a checkpoint, run again."""
    emulator, url = served
    config = tmp_path / "gitlab.yaml"
    text = BINDING.replace('"http://gitlab.test/api/v4"', f'"{url}/api/v4"')
    # CI/CD and forge only: the issue interface's per-issue crawl is covered above.
    config.write_text("\n".join(ln for ln in text.splitlines() if "issueTracking:" not in ln))
    env = {**os.environ, "GL_TOKEN": emulator.token}
    db = tmp_path / "sync.db"
    argv = [sys.executable, "-m", "kradle_providers", "sync", "backfill", "--config", str(config)]
    argv += ["--db", str(db), "--plain"]
    emulator.latency = 0.01  # slow enough to be killed between two checkpoints
    try:
        child = subprocess.Popen(
            argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        deadline = time.monotonic() + CLI_TIMEOUT
        try:
            while not any(
                s["phase"] != "Succeeded" and s["counters"]["pages"] >= 1 for s in _states(db)
            ):
                assert child.poll() is None, "the backfill ended before it could be killed"
                assert time.monotonic() < deadline, "no page was checkpointed in time"
                time.sleep(0.05)  # polling the child's database, not waiting for time
            os.kill(child.pid, signal.SIGKILL)
        finally:
            child.wait(timeout=30)
    finally:
        emulator.latency = 0.0
    assert child.returncode == -signal.SIGKILL
    done = _cli(env, "sync", "backfill", "--config", str(config), "--db", str(db), "--plain")
    assert done.returncode == 0, done.stdout + done.stderr
    status = _cli(env, "sync", "status", "--db", str(db), "--json")
    assert status.returncode == 0, status.stderr
    counts: dict[str, int] = json.loads(status.stdout)["objects"]
    wanted = {k: v for k, v in expected.items() if not k.startswith("issueTracking/")}
    assert counts == wanted
    assert {s["phase"] for s in _states(db)} == {"Succeeded"}
