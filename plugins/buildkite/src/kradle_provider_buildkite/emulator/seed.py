"""Seed data: the organization every emulator has, and the ``demo`` data set.

``demo`` fills organization ``acme`` with 3 pipelines (``widgets``,
``widgets-deploy`` and ``docs``), 4 clusters' worth of agents (connected,
busy, lost, disconnected, stopped) and 162 builds: every build state Buildkite
has (scheduled, running, failing, passed, failed, blocked, canceling,
canceled, skipped, not_run, waiting, waiting_failed) and passed builds kept
``blocked: true``, with script, waiter, block (``manual``) and trigger jobs,
retried jobs (the new job's ``retry_source`` names the old one), ANSI-coloured
logs and artifacts.

The ``widgets`` pipeline builds ``acme/widgets`` on GitHub, and its builds
record commits, branches and pull requests that exist in the GitHub
emulator's ``demo`` seed (:data:`FORGE_COMMITS`, :data:`FORGE_PULL_REQUESTS`):
a Buildkite build links to the GitHub commit and pull request it built. It is
deterministic (fixed random seed and dates in 2024) whatever the clock says.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from kradle_provider_buildkite.emulator.state import BUILD_STATES, stamp

if TYPE_CHECKING:
    from kradle_provider_buildkite.emulator.app import BuildkiteEmulator

__all__ = ["FORGE_COMMITS", "FORGE_PULL_REQUESTS", "SEEDS", "seed_base", "seed_demo"]

EPOCH = datetime(2024, 1, 3, 9, 0, tzinfo=UTC)
FORGE_REPOSITORY = "acme/widgets"

FORGE_COMMITS: tuple[tuple[str, str], ...] = (
    ("69b80a547c18e86120eeff27ab5fac14925833d2", "Speed up CLI flags"),
    ("b22762c9dda9985803b2dc963c6390f48aade5a2", "Document retry policy"),
    ("d6ebef372f00d31a8d41a9583e7da249f182cc51", "Speed up docs site"),
    ("d5539b5f38f84ac27d733c6635bdeef7944f20e1", "Refactor release notes"),
    ("4f8874382992472ecb64e9ac9a34100f2cb86304", "Fix docs site"),
    ("ccb6138dc803db07fbabd6e52b3771ccc70c0b46", "Add retry policy"),
    ("9d044d3a1254b94daba55f95019c6ef4e311067f", "Add colour themes"),
    ("7dbe75d31c68911d45a8b129b98e2bb1953f2d12", "Handle errors in auth flow"),
    ("b92dad698dc965907179af05791353cbf8519672", "Handle errors in CLI flags"),
    ("8295201d0f4a22be03428ec3557920548d6c91b8", "Handle errors in webhook intake"),
    ("7f3200c55b5f3a47535afe5bc6f432433c59601b", "Speed up colour themes"),
    ("61db4dc945b6b122c5e6a4a37118d5c462723aa2", "Improve config loader"),
)
"""Commits on ``main`` of GitHub's ``acme/widgets`` demo seed (newest first)."""

FORGE_PULL_REQUESTS: tuple[tuple[int, str, str], ...] = (
    (2, "feature/release-notes-2", "76ab19dba08c02d8878f7622d604336df02cd4dd"),
    (5, "feature/telemetry-5", "fce556d33cde7d7e78e950484ecbbf747442fbf6"),
    (9, "feature/auth-flow-9", "ee99fb6c6203053c5d742839282877b21a3efa29"),
    (11, "feature/widget-rendering-11", "8b0988aecb52bc1304cd2c33e38bd1eebd824050"),
    (12, "feature/packaging-12", "1fb3c325add690e43e44e1e31c2ce408a01d6a49"),
    (23, "feature/telemetry-23", "5676b952e778463062f4060215077c1d55c823ac"),
    (30, "feature/retry-policy-30", "3b5bd4151c0818d35d2610e25cfe3924e21a7ef1"),
    (49, "feature/colour-themes-49", "9d78d83596491a005fff978a79e25b585fda252c"),
    (62, "feature/packaging-62", "67e646e74ad3d46b59764b1ed56d7521fedb9c99"),
    (68, "feature/rate-limiting-68", "c71507e64ff324e14b5c3008ad06a2ea779cb7ad"),
    (69, "feature/packaging-69", "fcd2bc42096681e3ed7a2f34dada89df12932c7f"),
    (85, "feature/widget-rendering-85", "da23436a78e17e03605c1c1df9fd3e6b6100da7b"),
)
"""Pull requests of GitHub's ``acme/widgets`` demo seed: (number, head branch, head sha),
all based on ``main``."""

PEOPLE = (
    ("Alice Archer", "alice@acme.test", "alice"),
    ("Bob Baker", "bob@acme.test", "bob"),
    ("Carol Chen", "carol@acme.test", "carol"),
)

WIDGETS_STEPS: tuple[dict[str, Any], ...] = (
    {"type": "script", "label": ":pytest: Test", "key": "test", "command": "make test",
     "artifact_paths": "coverage/**/*"},
    {"type": "script", "label": ":ruff: Lint", "key": "lint", "command": "make lint",
     "soft_fail": True},
    {"type": "waiter"},
    {"type": "manual", "label": ":rocket: Release?", "key": "release-gate",
     "fields": [{"key": "notes", "text": "Release notes"}]},
    {"type": "script", "label": ":package: Package", "key": "package", "command": "make dist",
     "artifact_paths": "pkg/*"},
    {"type": "trigger", "label": ":shipit: Deploy", "key": "deploy", "trigger": "widgets-deploy",
     "async": True},
)  # fmt: skip
DEPLOY_STEPS: tuple[dict[str, Any], ...] = (
    {"type": "script", "label": ":terraform: Plan", "key": "plan", "command": "make plan",
     "agents": ["queue=deploy"]},
    {"type": "manual", "label": ":white_check_mark: Apply?", "key": "apply-gate"},
    {"type": "script", "label": ":terraform: Apply", "key": "apply", "command": "make apply",
     "agents": ["queue=deploy"]},
)  # fmt: skip
DOCS_STEPS: tuple[dict[str, Any], ...] = (
    {"type": "script", "label": ":book: Build docs", "key": "docs", "command": "make docs",
     "artifact_paths": "site/*"},
    {"type": "waiter"},
    {"type": "script", "label": ":link: Check links", "key": "links", "command": "make linkcheck"},
)  # fmt: skip

# Build states in the order builds are made, repeated over the widgets pipeline: mostly
# passed and failed, like a real pipeline's history, and every other state several times.
_HISTORY = (
    *(["passed"] * 4),
    "failed",
    "passed",
    "blocked",
    "canceled",
    "skipped",
    "passed",
    "failed",
    "not_run",
    "waiting_failed",
    "passed+blocked",
)
_LIVE = ("scheduled", "running", "failing", "canceling", "waiting", "blocked")


def _at(hours: float) -> datetime:
    return EPOCH + timedelta(hours=hours)


def seed_base(em: BuildkiteEmulator) -> None:
    """The organization, its people, its default cluster and the empty ``widgets`` pipeline."""
    state = em.state
    when = stamp(_at(-24 * 300))
    for name, email, _ in PEOPLE:
        state.add_user(name, email, when)
    creator = state.users.all()[0]["id"]
    em.viewer_id = creator
    cluster = state.add_cluster("Default cluster", creator, when)
    state.add_pipeline(
        "widgets", "Widgets", repository_slug=FORGE_REPOSITORY, steps=WIDGETS_STEPS,
        creator_id=creator, cluster_id=cluster["id"], when=when,
    )  # fmt: skip


def seed_demo(em: BuildkiteEmulator) -> None:
    """Three pipelines with 162 builds in every state, agents and artifacts (module notes)."""
    state = em.state
    rng = random.Random(11)
    users = state.users.all()
    creator = users[0]["id"]
    cluster = state.clusters.all()[0]["id"]
    when = stamp(_at(-24 * 200))
    agents = []
    for n in range(6):
        agents.append(
            state.add_agent(
                f"widgets-agent-{n + 1}", creator_id=creator, cluster_id=cluster, when=when
            )
        )
    agents.append(
        state.add_agent(
            "deploy-agent-1", creator_id=creator, cluster_id=cluster, when=when, queue="deploy"
        )
    )
    for n, connection in enumerate(("lost", "disconnected", "stopped")):
        state.add_agent(
            f"retired-agent-{n + 1}",
            creator_id=creator,
            cluster_id=cluster,
            when=when,
            connection_state=connection,
            os_id="darwin" if n == 0 else "linux",
        )
    agent_ids = [a["id"] for a in agents[:6]]
    widgets = state.pipeline_by_slug("widgets")
    assert widgets is not None, "seed_base makes the widgets pipeline"
    deploy = state.add_pipeline(
        "widgets-deploy", "Widgets deploy", repository_slug=FORGE_REPOSITORY, steps=DEPLOY_STEPS,
        creator_id=creator, cluster_id=cluster, when=when,
    )  # fmt: skip
    docs = state.add_pipeline(
        "docs", "Docs", repository_slug="acme/docs", steps=DOCS_STEPS,
        creator_id=creator, cluster_id=cluster, when=when,
    )  # fmt: skip

    hour = 0.0

    def make(pipeline: dict[str, Any], kind: str, n: int) -> dict[str, Any]:
        nonlocal hour
        hour += 1.5
        blocked = kind == "passed+blocked"
        build_state = "passed" if blocked else kind
        name, email, username = PEOPLE[n % len(PEOPLE)]
        pull: dict[str, Any] | None = None
        if pipeline["id"] == widgets["id"] and n % 3 == 1:
            number, branch, sha = FORGE_PULL_REQUESTS[n % len(FORGE_PULL_REQUESTS)]
            message = f"Pull request #{number}"
            pull = {
                "id": str(number),
                "base": "main",
                "repository": f"https://github.com/{FORGE_REPOSITORY}.git",
                "labels": [],
                "draft": False,
            }
        else:
            sha, message = FORGE_COMMITS[n % len(FORGE_COMMITS)]
            branch = "main"
        source = "webhook" if pull or n % 5 else rng.choice(("ui", "api", "schedule"))
        build = state.create_build(
            pipeline,
            commit=sha,
            branch=branch,
            message=message,
            author={"username": username, "name": name, "email": email},
            creator_id=None if source == "webhook" else creator,
            state=build_state,
            blocked=blocked,
            source=source,
            pull_request=pull,
            created=_at(hour),
            agent_ids=agent_ids,
            emit=False,
        )
        return build

    n = 0
    for _ in range(8):
        for kind in _HISTORY:
            make(widgets, kind, n)
            n += 1
    for kind in BUILD_STATES:
        make(widgets, kind, n)
        n += 1
    for kind in _LIVE:
        make(widgets, kind, n)
        n += 1
    for i in range(20):
        make(deploy, ("passed", "failed", "blocked", "canceled", "passed")[i % 5], n)
        n += 1
    for i in range(12):
        make(docs, ("passed", "failed", "passed", "running")[i % 4], n)
        n += 1

    # Retries happen after the history, at a fixed time (not the emulator's clock).
    clock, state.clock = state.clock, lambda: _at(hour + 1)
    try:
        _retry_some(em, widgets["id"])
    finally:
        state.clock = clock
    _link_triggers(em, widgets["id"], deploy["id"])
    _busy_agents(em)


def _retry_some(em: BuildkiteEmulator, pipeline_id: str) -> None:
    """Retry the failed test job of every third failed build: some retries pass."""
    state = em.state
    failed = [b for b in state.builds.filter(pipeline_id=pipeline_id) if b["state"] == "failed"]
    for k, build in enumerate(failed[::3]):
        bad = next(j for j in state.jobs_of(build["id"]) if j["state"] == "failed")
        new = state.retry_job(
            bad["id"], by=build["creator_id"], retry_type="automatic" if k % 2 else "manual"
        )
        state.finish_job(new["id"], "passed" if k % 2 == 0 else "failed")


def _link_triggers(em: BuildkiteEmulator, widgets_id: str, deploy_id: str) -> None:
    """Passed trigger jobs name a deploy build they created."""
    state = em.state
    deploys = state.builds.filter(pipeline_id=deploy_id)
    triggers = [
        j
        for b in state.builds.filter(pipeline_id=widgets_id)
        for j in state.jobs_of(b["id"])
        if j["type"] == "trigger" and j["state"] == "passed"
    ]
    for job, target in zip(triggers, deploys, strict=False):
        state.jobs.update(job["id"], triggered_build_id=target["id"])
        state.builds.update(target["id"], source="trigger_job")


def _busy_agents(em: BuildkiteEmulator) -> None:
    """Connected agents run the running script jobs."""
    state = em.state
    for job in state.jobs.filter(state="running"):
        if job["agent_id"]:
            state.agents.update(job["agent_id"], job_id=job["id"])


SEEDS: dict[str, Callable[[BuildkiteEmulator], None]] = {"demo": seed_demo}
"""Named data sets ``create_emulator(seed=...)`` accepts."""
