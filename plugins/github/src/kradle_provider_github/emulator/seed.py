"""Seed data: the accounts every emulator has, and the ``demo`` data set.

``demo`` fills ``acme/widgets`` with 300 issues (60 of them pull requests),
800 issue comments, 12 labels, 3 milestones, 2 workflows with 120 runs and
their jobs, check runs and statuses on the head commits of recent runs (every
check is on a commit a run, branch or pull request points at), 2 deploy keys,
collaborators, self-hosted runners and branch protection on ``main``. It is
deterministic (fixed random seed and fixed dates between January and June
2024) whatever the emulator's clock says.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from kradle_providers.testing.emulator import iso_z

if TYPE_CHECKING:
    from kradle_provider_github.emulator.app import GitHubEmulator

__all__ = ["SEEDS", "seed_base", "seed_demo"]

EPOCH = datetime(2024, 1, 2, 9, 0, tzinfo=UTC)
PEOPLE = ("alice", "bob", "carol", "dave", "erin", "frank")
LABELS = (
    ("bug", "d73a4a", "Something isn't working"),
    ("enhancement", "a2eeef", "New feature or request"),
    ("documentation", "0075ca", "Improvements or additions to documentation"),
    ("question", "d876e3", "Further information is requested"),
    ("good first issue", "7057ff", "Good for newcomers"),
    ("help wanted", "008672", "Extra attention is needed"),
    ("wontfix", "ffffff", "This will not be worked on"),
    ("duplicate", "cfd3d7", "This issue or pull request already exists"),
    ("invalid", "e4e669", "This doesn't seem right"),
    ("priority: high", "b60205", None),
    ("priority: low", "c2e0c6", None),
    ("area: ci", "1d76db", "Continuous integration"),
)
SUBJECTS = (
    "widget rendering",
    "sprocket cache",
    "gear alignment",
    "config loader",
    "CLI flags",
    "retry policy",
    "docs site",
    "release notes",
    "packaging",
    "telemetry",
    "auth flow",
    "pagination",
    "rate limiting",
    "webhook intake",
    "colour themes",
)
VERBS = ("Fix", "Improve", "Add", "Refactor", "Document", "Speed up", "Handle errors in")


def _at(hours: float) -> str:
    return iso_z(EPOCH + timedelta(hours=hours))


def seed_base(em: GitHubEmulator) -> None:
    """Accounts and the empty ``acme/widgets`` repository every emulator starts with."""
    mut = em.mutations
    when = _at(-24 * 400)
    mut.create_user(
        em.viewer_login,
        name="Octo Admin",
        email="octo-admin@acme.test",
        created_at=when,
        site_admin=False,
    )
    mut.create_user(
        "acme",
        type="Organization",
        name="Acme Corp",
        description="Widgets for everyone",
        created_at=when,
    )
    mut.create_user(em.bot_login, type="Bot", created_at=when)
    for person in PEOPLE:
        mut.create_user(person, name=person.title(), created_at=when)
    em.app_record = {
        "id": em.app_id,
        "slug": "kradle-emulator",
        "client_id": "Iv1.8a61f9b3a7aba766",
        "owner": "acme",
        "name": "Kradle Emulator",
        "description": "The GitHub App the emulator's installation tokens belong to",
        "external_url": "https://kradle.example/app",
        "created_at": when,
        "updated_at": when,
        "permissions": {
            "actions": "write",
            "checks": "write",
            "contents": "write",
            "issues": "write",
            "metadata": "read",
            "pull_requests": "write",
            "statuses": "write",
            "administration": "write",
        },
        "events": ["issues", "issue_comment", "pull_request", "push", "check_run", "workflow_run"],
    }
    repo = mut.create_repo(
        "acme",
        "widgets",
        description="Widgets, sprockets and gears",
        created_at=_at(-24 * 30),
        homepage="https://widgets.acme.test",
        topics=["widgets", "python"],
    )
    em.webhooks.target_id = repo["id"]


def seed_demo(em: GitHubEmulator) -> None:
    """The ``demo`` data set in ``acme/widgets`` (see the module docs)."""
    rng = random.Random(20240101)
    mut = em.mutations
    state = em.state
    repo = state.repo("acme", "widgets")
    assert repo is not None
    rid = repo["id"]
    mut.create_repo("acme", "gadgets", description="Gadget toolkit", created_at=_at(-24 * 200))
    mut.create_repo("acme", "infra", private=True, created_at=_at(-24 * 100))

    for name, color, description in LABELS:
        mut.create_label(rid, name, color, description, default=name in ("bug", "enhancement"))
    label_names = [name for name, _, _ in LABELS]
    _milestones = [
        mut.create_milestone(
            rid,
            "v1.0",
            sender="alice",
            state="closed",
            created_at=_at(0),
            due_on=_at(24 * 45),
            closed_at=_at(24 * 50),
            updated_at=_at(24 * 50),
            description="First stable release",
        ),
        mut.create_milestone(
            rid,
            "v1.1",
            sender="alice",
            created_at=_at(24 * 40),
            due_on=_at(24 * 120),
            description="Polish",
        ),
        mut.create_milestone(
            rid,
            "v2.0",
            sender="bob",
            created_at=_at(24 * 80),
            due_on=None,
            description="The big one",
        ),
    ]

    # 150 commits on main across six months.
    main_commits = []
    for n in range(150):
        subject = rng.choice(SUBJECTS)
        main_commits.append(
            mut.create_commit(
                rid,
                f"{rng.choice(VERBS)} {subject}",
                rng.choice(PEOPLE),
                branch="main",
                when=_at(n * 28.8),
                emit=False,
            )
        )
    mut.create_tag(rid, "v1.0.0", main_commits[60]["sha"])
    mut.create_tag(rid, "v1.1.0", main_commits[120]["sha"])

    pull_numbers = set(rng.sample(range(2, 301), 60))
    horizon = 24 * 175.0
    issues: list[dict[str, Any]] = []
    for index in range(300):
        number = index + 1
        created = index * horizon / 300 + rng.random() * 10
        subject = rng.choice(SUBJECTS)
        author = rng.choice(PEOPLE)
        labels = rng.sample(label_names, rng.choice((0, 1, 1, 2, 3)))
        assignees = rng.sample(PEOPLE, rng.choice((0, 1, 1, 2)))
        milestone = rng.choice((None, None, 1, 2, 3)) if rng.random() < 0.5 else None
        title = f"{rng.choice(VERBS)} {subject} (#{number})"
        body = f"When using the {subject}, something is off.\n\n- [ ] investigate\n- [ ] fix"
        if number in pull_numbers:
            branch = f"feature/{subject.replace(' ', '-')}-{number}"
            mut.create_commit(rid, title, author, branch=branch, when=_at(created - 1), emit=False)
            pull = mut.create_pull(
                rid,
                title,
                head=branch,
                base="main",
                user=author,
                body=body,
                created_at=_at(created),
                labels=labels,
                assignees=assignees,
                milestone=milestone,
                emit=False,
                draft=rng.random() < 0.08,
            )
            issue = state.issue(rid, pull["number"])
        else:
            issue = mut.create_issue(
                rid,
                title,
                user=author,
                body=body,
                labels=labels,
                assignees=assignees,
                milestone=milestone,
                created_at=_at(created),
                emit=False,
            )
        assert issue is not None and issue["number"] == number
        for label in labels:
            color = next(c for n, c, _ in LABELS if n == label)
            mut.record_event(
                issue,
                "labeled",
                author,
                label={"name": label, "color": color},
                created_at=_at(created + 0.1),
            )
        for login in assignees:
            mut.record_event(
                issue, "assigned", "alice", assignee=login, created_at=_at(created + 0.2)
            )
        issues.append(issue)

    # 800 comments spread over the issues, each after its issue.
    for n in range(800):
        issue = state.issue(rid, rng.randint(1, 300))
        assert issue is not None
        start = datetime.fromisoformat(issue["created_at"].replace("Z", "+00:00"))
        offset = (EPOCH - start).total_seconds() / 3600 + 1 + rng.random() * 24 * 10
        edited = rng.random() < 0.15
        mut.create_comment(
            issue,
            f"Comment {n + 1}: I can reproduce this on {rng.choice(SUBJECTS)}.",
            user=rng.choice(PEOPLE),
            created_at=_at(offset),
            updated_at=_at(offset + (3 if edited else 0)),
            emit=False,
        )

    # Close about half of them, merge most closed pull requests.
    for number in range(1, 301):
        issue = state.issue(rid, number)
        assert issue is not None
        if number > 280 or rng.random() > 0.55:
            continue
        closed = datetime.fromisoformat(issue["updated_at"].replace("Z", "+00:00")) + timedelta(
            hours=2 + rng.random() * 48
        )
        closed_at = iso_z(closed)
        closer = rng.choice(PEOPLE)
        reason = "completed" if rng.random() < 0.85 else "not_planned"
        merged = state.pull(rid, number)
        if merged is not None and rng.random() < 0.75:
            reason = "completed"
            state.pulls.update(
                merged["id"],
                merged_at=closed_at,
                merged_by=closer,
                merge_commit_sha=main_commits[min(149, number // 2)]["sha"],
                updated_at=closed_at,
            )
            mut.record_event(
                issue, "merged", closer, commit_id=merged["head_sha"], created_at=closed_at
            )
        state.issues.update(
            issue["id"],
            state="closed",
            state_reason=reason,
            closed_at=closed_at,
            closed_by=closer,
            updated_at=closed_at,
        )
        mut.record_event(issue, "closed", closer, state_reason=reason, created_at=closed_at)

    # Reviews on pull requests.
    for number in sorted(pull_numbers):
        reviewed = state.pull(rid, number)
        assert reviewed is not None
        for k in range(rng.choice((0, 1, 1, 2, 3))):
            mut.create_review(
                pull,
                user=rng.choice(PEOPLE),
                state=rng.choice(("APPROVED", "COMMENTED", "CHANGES_REQUESTED")),
                body="Looks good" if k % 2 == 0 else "Please add a test",
                submitted_at=_at(24 * 5 + number * 14 + k),
            )

    # Actions: two workflows, 120 runs with jobs; artifacts on successful CI runs.
    ci = mut.create_workflow(rid, "CI", ".github/workflows/ci.yml", when=_at(1))
    release = mut.create_workflow(rid, "Release", ".github/workflows/release.yml", when=_at(2))
    pr_list = sorted(pull_numbers)
    run_heads: list[tuple[str, str]] = []  # (head sha, run created_at), oldest first
    for n in range(120):
        workflow = ci if n % 4 else release
        commit = main_commits[30 + n]
        pr = None
        branch = "main"
        sha = commit["sha"]
        event = "push"
        if workflow is ci and n % 3 == 0:
            trigger = state.pull(rid, pr_list[n % len(pr_list)])
            assert trigger is not None
            pr, branch, sha, event = (
                trigger["number"],
                trigger["head_ref"],
                trigger["head_sha"],
                "pull_request",
            )
        roll = rng.random()
        conclusion: str | None = (
            "success" if roll < 0.7 else ("failure" if roll < 0.9 else "cancelled")
        )
        status = "completed"
        if n >= 117:
            status, conclusion = ("in_progress", None) if n < 119 else ("queued", None)
        created = (30 + n) * 28.8 + 0.1
        jobs = ["build", "test", "lint"] if workflow is ci else ["package", "publish"]
        run = mut.create_run(
            workflow,
            head_sha=sha,
            head_branch=branch,
            actor=rng.choice(PEOPLE),
            event=event,
            status=status,
            conclusion=conclusion,
            created_at=_at(created),
            updated_at=_at(created + 0.2),
            jobs=jobs,
            pull_requests=[pr] if pr else [],
            emit=False,
        )
        run_heads.append((sha, _at(created)))
        if workflow is ci and conclusion == "success":
            state.artifacts.insert(
                {
                    "repo_id": rid,
                    "run_id": run["id"],
                    "name": "coverage-report",
                    "size_in_bytes": 1024 * (10 + n),
                    "created_at": _at(created + 0.2),
                    "updated_at": _at(created + 0.2),
                    "expires_at": _at(created + 24 * 90),
                    "expired": False,
                    "digest": f"{n:064x}",
                },
                id=state.next_id("artifact", 1_200_000_000),
            )

    # Check runs (two per commit) and a legacy status on the head commits of the
    # most recent runs (20 distinct heads: pushes to main and pull request heads).
    # CI reports checks on the commits it was run for, so every seeded check is
    # on a commit a client can find (a run's, a branch's or a pull request's
    # head); checks on commits nothing points at could never be listed.
    checked: dict[str, str] = {}
    for sha, when in reversed(run_heads):
        if len(checked) < 20:
            checked.setdefault(sha, when)
    for sha, t in sorted(checked.items(), key=lambda item: item[1]):
        for name in ("ci/build", "ci/test"):
            conclusion = "success" if rng.random() < 0.85 else "failure"
            mut.create_check_run(
                rid,
                {
                    "name": name,
                    "head_sha": sha,
                    "status": "completed",
                    "conclusion": conclusion,
                    "started_at": t,
                    "completed_at": t,
                    "created_at": t,
                    "updated_at": t,
                    "external_id": f"seed-{sha[:12]}-{name}",
                    "output": {"title": f"{name} {conclusion}", "summary": f"{name} finished"},
                },
                None,
            )
        mut.create_status(
            rid,
            sha,
            {
                "state": "success",
                "context": "ci/legacy",
                "description": "Legacy CI passed",
                "target_url": "https://ci.acme.test/build",
                "created_at": t,
            },
            "alice",
        )

    for n, (name, os_name) in enumerate((("acme-runner-1", "Linux"), ("acme-runner-2", "macOS"))):
        state.runners.insert(
            {
                "repo_id": rid,
                "name": name,
                "os": os_name,
                "status": "online" if n == 0 else "offline",
                "busy": False,
                "labels": ["self-hosted", os_name, "X64"],
            },
            id=state.next_id("runner", 20),
        )
    for n, title in enumerate(("deploy@prod", "deploy@staging")):
        state.keys.insert(
            {
                "repo_id": rid,
                "title": title,
                "key": f"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI{n}kradleEmulatorDeployKey{n:04d}",
                "read_only": n == 0,
                "added_by": "octo-admin",
                "last_used": None,
                "created_at": _at(24 * (10 + n)),
            },
            id=state.next_id("key", 90_000_000),
        )
    for n, person in enumerate(PEOPLE):
        mut.add_collaborator(
            rid, person, ("admin", "maintain", "write", "write", "triage", "read")[n]
        )
    mut.add_collaborator(rid, em.viewer_login, "admin")
    mut.set_protection(
        rid,
        "main",
        {
            "required_status_checks": {"strict": True, "contexts": ["ci/build", "ci/test"]},
            "enforce_admins": False,
            "required_pull_request_reviews": {
                "required_approving_review_count": 1,
                "dismiss_stale_reviews": True,
            },
            "restrictions": None,
            "required_linear_history": True,
            "created_at": _at(24),
            "updated_at": _at(24),
        },
        None,
    )
    state.repos.update(rid, updated_at=_at(horizon), pushed_at=main_commits[-1]["date"])


SEEDS = {"demo": seed_demo}
"""Named seed data sets (``--seed NAME``)."""
