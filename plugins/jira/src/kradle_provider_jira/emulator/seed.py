"""Deterministic seed data.

``seed_base`` registers the people and project ``WID`` ("Widgets") every
emulator has. The ``demo`` seed then fills it, from a fixed random seed, with:

- 3 fix versions (``1.0`` and ``1.1`` released, ``2.0`` not);
- 320 issues created over ten weeks of early 2024, each with a history of
  edits, assignments, label and version changes and workflow transitions
  (written to the changelog exactly as the REST API would), ending in every
  state: To Do, In Progress, Done (resolution Done or Won't Do), some reopened;
- about three comments per issue (960), each bumping the issue's ``updated``;
- clusters of issues last updated within the same minute (and two in the
  same second), next to a minute boundary, so that a sync which compares
  ``updated`` at a finer grain than JQL's minute, or does not overlap its
  window, misses or doubles issues.

Bodies are Markdown; the API serves them as ADF (v3) or wiki markup (v2).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from kradle_provider_jira.emulator.objects import TRANSITIONS, Body, User

if TYPE_CHECKING:
    from kradle_provider_jira.emulator.app import JiraEmulator

__all__ = ["DEMO_ISSUES", "SEEDS", "SEED_START", "seed_base", "seed_demo"]

SEED_START = datetime(2024, 1, 2, 9, 0, tzinfo=UTC)
DEMO_ISSUES = 320
CLUSTER_MINUTES = (
    datetime(2024, 7, 1, 10, 15, tzinfo=UTC),
    datetime(2024, 7, 1, 10, 16, tzinfo=UTC),
    datetime(2024, 7, 2, 8, 59, tzinfo=UTC),
)

PEOPLE = (
    User("5b10a2844c20165700ede21g", "alice", "Alice Archer", "alice@example.com"),
    User("5b10a2844c20165700ede22h", "bob", "Bob Baker", "bob@example.com", "Europe/Berlin"),
    User("5b10a2844c20165700ede23i", "carol", "Carol Chen", "carol@example.com"),
    User("5b10a2844c20165700ede24j", "dave", "Dave Dune", "dave@example.com", "America/New_York"),
)
LABELS = ("backend", "frontend", "ux", "performance", "security", "docs", "tech-debt", "bug-bash")
TOPICS = (
    "login form",
    "widget export",
    "search index",
    "billing page",
    "API rate limiter",
    "dashboard charts",
    "webhook retries",
    "CSV import",
    "dark mode",
    "audit log",
)
VERBS = ("Fix", "Improve", "Add", "Refactor", "Document", "Investigate", "Speed up")


def _transition(name: str) -> Any:
    return next(t for t in TRANSITIONS if t.name == name)


def _labels(emu: JiraEmulator, issue_id: str) -> list[str]:
    issue = emu.state.issues.get(issue_id)
    return list(issue["labels"]) if issue else []


def seed_base(emu: JiraEmulator) -> None:
    """People and the ``WID`` project (no issues)."""
    for person in PEOPLE:
        emu.state.add_user(person)
    if emu.state.project("WID") is None:
        project = emu.state.add_project("WID", "Widgets", emu.me.account_id)
        project.description = "Widgets: the demo project of the kradle Jira emulator."


def _description(rng: random.Random, verb: str, topic: str) -> Body:
    steps = "\n".join(f"- step {n}: check the {topic}" for n in range(1, rng.randint(2, 4)))
    return Body.markdown(
        f"We need to **{verb.lower()}** the {topic}.\n\n{steps}\n\n"
        f"See `widgets/{topic.replace(' ', '_')}.py` for the current code."
    )


def _comment(rng: random.Random, n: int, topic: str) -> Body:
    texts = (
        f"I looked into the {topic}; it needs *another* pass.",
        f"Reproduced on staging (attempt {n}).",
        f"PR is up for the {topic}, please review.\n\n- tests added\n- docs updated",
        "Thanks, **looks good** to me.",
        f"Blocked by the `{topic.replace(' ', '-')}` migration.",
    )
    return Body.markdown(texts[rng.randrange(len(texts))])


def _apply(
    emu: JiraEmulator, issue_id: str, step: tuple[str, Any], actor: str, when: datetime
) -> None:
    """Run one history step of a seeded issue at ``when``."""
    state = emu.state
    kind, arg = step
    if kind == "edit":
        changes = dict(arg)
        if "add_label" in changes:
            changes = {"labels": sorted({*_labels(emu, issue_id), changes["add_label"]})}
        state.edit_issue(issue_id, changes, actor=actor, when=when, notify=False)
    elif kind == "transition":
        name, resolution = arg
        state.transition(
            issue_id, _transition(name), actor=actor, resolution=resolution, when=when,
            notify=False,
        )  # fmt: skip
    else:  # comment: (author, body)
        author, body = arg
        state.add_comment(issue_id, body, actor=author, when=when, notify=False)


def _plan(
    rng: random.Random, people: list[str], version_ids: list[str], verb: str, topic: str,
    number: int,
) -> list[tuple[str, Any]]:  # fmt: skip
    """The history of one seeded issue: edits, workflow and comments, in order."""
    steps: list[tuple[str, Any]] = []
    fate = rng.random()
    if rng.random() < 0.5:
        steps.append(("edit", {"assignee": people[rng.randrange(len(people))]}))
    if fate >= 0.3:
        steps.append(("transition", ("In Progress", None)))
    if rng.random() < 0.4:
        steps.append(("edit", {"add_label": rng.choice(LABELS)}))
    if rng.random() < 0.25:
        steps.append(("edit", {"summary": f"{verb} the {topic} properly (#{number})"}))
    if fate >= 0.55:
        resolution = "Won't Do" if rng.random() < 0.15 else "Done"
        steps.append(("transition", ("Done", resolution)))
        if rng.random() < 0.1:
            steps.append(("transition", ("Reopen", None)))
    if rng.random() < 0.3:
        steps.append(("edit", {"fix_versions": [version_ids[rng.randrange(3)]]}))
    if rng.random() < 0.2:
        text = f"Updated plan for the **{topic}**.\n\n1. measure\n2. fix\n3. verify"
        steps.append(("edit", {"description": {"format": "markdown", "value": text}}))
    for n in range(3):
        author = people[rng.randrange(len(people))]
        steps.insert(rng.randint(0, len(steps)), ("comment", (author, _comment(rng, n + 1, topic))))
    return steps


def seed_demo(emu: JiraEmulator) -> None:
    """Fill ``WID`` (see the module docs); deterministic."""
    rng = random.Random(20240102)
    state = emu.state
    project = emu.project
    people = [emu.me.account_id, *(p.account_id for p in PEOPLE)]
    versions = [
        state.create_version(project, "1.0", description="First release", released=True,
                             release_date="2024-02-01"),
        state.create_version(project, "1.1", description="Polish", released=True,
                             release_date="2024-04-01"),
        state.create_version(project, "2.0", description="Next major", release_date="2024-09-30"),
    ]  # fmt: skip
    version_ids = [str(v["id"]) for v in versions]
    cluster_slots: list[datetime] = []
    for minute in CLUSTER_MINUTES:
        cluster_slots.extend(minute + timedelta(seconds=s) for s in (3, 17, 29, 44, 58))
    cluster_slots.append(cluster_slots[-1])  # two issues updated in the very same second
    cluster_for = dict(zip(range(7, DEMO_ISSUES, 19), cluster_slots, strict=False))

    for index in range(DEMO_ISSUES):
        verb = VERBS[rng.randrange(len(VERBS))]
        topic = TOPICS[rng.randrange(len(TOPICS))]
        when = SEED_START + timedelta(
            minutes=index * 31 + rng.randint(0, 20), seconds=rng.randint(0, 59)
        )
        issue = state.create_issue(
            project,
            summary=f"{verb} the {topic} (#{index + 1})",
            actor=people[rng.randrange(len(people))],
            description=_description(rng, verb, topic) if rng.random() < 0.9 else None,
            issuetype=("Task", "Bug", "Story")[rng.randrange(3)],
            priority=("High", "Medium", "Medium", "Low", "Highest")[rng.randrange(5)],
            labels=rng.sample(LABELS, rng.randint(0, 2)),
            fix_versions=[version_ids[rng.randrange(3)]] if rng.random() < 0.5 else [],
            assignee=people[rng.randrange(len(people))] if rng.random() < 0.4 else None,
            when=when,
            notify=False,
        )
        actor = people[rng.randrange(len(people))]
        spread = rng.choice((30, 180, 600, 2880))
        for step in _plan(rng, people, version_ids, verb, topic, index + 1):
            when += timedelta(minutes=rng.randint(1, spread), seconds=rng.randint(0, 59))
            _apply(emu, issue["id"], step, actor, when)
        slot = cluster_for.get(index)
        if slot is not None:
            # The final, same-minute touch: a label added by a bulk edit.
            _apply(emu, issue["id"], ("edit", {"add_label": "triaged"}), emu.me.account_id, slot)


SEEDS: dict[str, Callable[[JiraEmulator], None]] = {
    "demo": seed_demo,
    "empty": lambda emu: None,
}
"""Named seed data sets (``--seed NAME``)."""
