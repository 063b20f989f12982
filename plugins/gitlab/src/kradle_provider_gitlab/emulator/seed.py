"""Seeds of the GitLab emulator.

``seed_base`` creates what every emulator has: the viewer (``kradle-admin``),
group ``acme`` with subgroup ``platform`` and the empty project
``acme/platform/widgets``. ``SEEDS["demo"]`` fills it deterministically
(:data:`DEMO_COUNTS` says how much): issues (some closed, confidential, with
null descriptions), notes and system notes, resource events, labels,
milestones, merge requests in every state with approvals and notes, pipelines
in every status with jobs, bridges, ANSI logs with sections and artifacts,
commit statuses, branches, tags, protected branches, deploy keys, members and
runners.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from kradle_provider_gitlab.emulator.app import GitLabEmulator

__all__ = ["DEMO_COUNTS", "PROJECT_PATH", "SEEDS", "SeedClock", "job_log", "seed_base"]

PROJECT_PATH = "acme/platform/widgets"

DEMO_COUNTS = {
    "issues": 320,
    "merge_requests": 64,
    "pipelines": 132,
    "labels": 8,
    "milestones": 5,
    "tags": 6,
    "deploy_keys": 3,
    "runners": 4,
    "members": 6,
}
"""How many objects of each kind the demo seed creates in ``acme/platform/widgets``."""

PIPELINE_STATUSES = (
    "created",
    "waiting_for_resource",
    "preparing",
    "pending",
    "running",
    "success",
    "failed",
    "canceled",
    "skipped",
    "manual",
    "scheduled",
)
MR_STATES = ("opened", "merged", "closed", "locked")


class SeedClock:
    """Real time, except while seeding: then a fixed time moved one second per object.

    Seeded objects get distinct, ordered timestamps in the past; changes made
    afterwards get real ones, later than every seeded object.
    """

    def __init__(self, start: datetime | None = None) -> None:
        self.fixed: datetime | None = start

    def __call__(self) -> datetime:
        if self.fixed is None:
            return datetime.now(UTC)
        return self.fixed

    def tick(self, seconds: float = 1.0) -> None:
        """Move the fixed time on (no-op once seeding ended)."""
        if self.fixed is not None:
            self.fixed += timedelta(seconds=seconds)

    def release(self) -> None:
        """End seeding: from now on the clock is real time."""
        self.fixed = None


def _tick(app: GitLabEmulator) -> None:
    advance = getattr(app.clock, "tick", None) or getattr(app.clock, "advance", None)
    if advance is not None:
        advance(1)


def job_log(name: str, status: str, n: int) -> str:
    """A job trace as GitLab writes it: ANSI colours and collapsible section markers."""
    t = 1_767_225_600 + n * 60
    lines = [
        "\x1b[0KRunning with gitlab-runner 17.5.0 (12030cf4)\x1b[0;m",
        f"\x1b[0K  on acme-runner-{n % 4} t3_abc{n}, system ID: s_0123456789\x1b[0;m",
        f"section_start:{t}:prepare_executor\r\x1b[0K\x1b[0K\x1b[36;1m"
        'Preparing the "docker" executor\x1b[0;m',
        "\x1b[0KUsing docker image python:3.12 ...\x1b[0;m",
        f"section_end:{t + 3}:prepare_executor\r\x1b[0K",
        f"section_start:{t + 3}:step_script\r\x1b[0K\x1b[0K\x1b[36;1m"
        'Executing "step_script" stage of the job script\x1b[0;m',
        f"\x1b[32;1m$ make {name}\x1b[0;m",
        f"{name}: {n * 7 % 50 + 3} checks",
    ]
    if status == "failed":
        lines.append("\x1b[31;1mERROR: 1 check failed\x1b[0;m")
    lines.append(f"section_end:{t + 20}:step_script\r\x1b[0K")
    verdict = {
        "success": "\x1b[32;1mJob succeeded\x1b[0;m",
        "failed": "\x1b[31;1mERROR: Job failed: exit code 1\x1b[0;m",
    }
    lines.append(verdict.get(status, f"\x1b[33;1mJob {status}\x1b[0;m"))
    return "\n".join(lines) + "\n"


def seed_base(app: GitLabEmulator) -> dict[str, Any]:
    """The viewer, group ``acme``, subgroup ``platform`` and project ``acme/platform/widgets``."""
    state = app.state
    admin = state.add_user("kradle-admin", "Kradle Admin")
    state.viewer_id = admin["id"]
    acme = state.add_group("acme", "Acme", None)
    platform = state.add_group("platform", "Platform", acme)
    project = state.add_project(platform, "widgets", description="Widgets for everyone")
    state.add_member(project, admin["id"], 50)
    return project


def seed_demo(app: GitLabEmulator) -> None:
    """Fill ``acme/platform/widgets`` (see :data:`DEMO_COUNTS`) and two sibling projects."""
    state = app.state
    project = state.find_project(PROJECT_PATH)
    assert project is not None
    platform = state.find_group("acme/platform")
    acme = state.find_group("acme")
    assert platform is not None and acme is not None
    state.add_project(platform, "gadgets", description="Gadgets", visibility="internal")
    state.add_project(acme, "website", description=None, visibility="public")
    people = [state.add_user(u, u.title())["id"] for u in ("alice", "bob", "carol", "dave", "erin")]
    bot = state.add_user("project_1_bot_ci", "CI Bot", bot=True)["id"]
    for uid, level in zip([*people, bot], (40, 30, 30, 20, 10, 30), strict=False):
        state.add_member(project, uid, level)
    labels = ["bug", "feature", "docs", "ci", "security", "ux", "backend", "frontend"]
    colors = [
        "#d73a4a",
        "#a2eeef",
        "#0075ca",
        "#6699cc",
        "#ee0701",
        "#c5def5",
        "#5319e7",
        "#fbca04",
    ]
    for name, color in zip(labels, colors, strict=True):
        state.add_label(project, name, color, f"{name.title()} work")
    milestones = [
        state.add_milestone(
            project,
            f"Release {i + 1}.0",
            description=None if i == 2 else f"Everything for {i + 1}.0",
            due_date=f"2026-0{i + 2}-15",
            closed=i < 2,
        )
        for i in range(DEMO_COUNTS["milestones"])
    ]
    for i in range(DEMO_COUNTS["runners"]):
        state.add_runner(
            f"acme-runner-{i}",
            project_ids=[project["id"]],
            tags=["docker", "linux"] if i % 2 == 0 else ["shell"],
            status=("online", "offline", "stale", "never_contacted")[i],
        )
    shared = state.add_runner("shared-runner", project_ids=[], tags=["saas"], shared=True)
    for i in range(DEMO_COUNTS["deploy_keys"]):
        state.add_deploy_key(
            project,
            f"deploy-{i}",
            f"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI{i:040d} deploy-{i}@acme",
            can_push=i == 0,
        )
    # Repository: a history on main, release branch (slash in its name), tags.
    for i in range(6):
        _tick(app)
        state.push(project, "main", f"Add widget part {i}\n\nPart {i} of the widget.")
    main_sha = state.branch(project, "main")["commit"]["id"]  # type: ignore[index]
    state.set_branch(project, "release/1.x", main_sha, emit=False)
    state.protect(project, "main", push=40, merge=30)
    state.protect(project, "release/1.x", push=40, merge=40, allow_force_push=False)
    rule = state.protected_rule(project, "main")
    assert rule is not None
    state.add_approval_rule(project, "Main reviewers", 1, [rule["id"]])
    for i in range(DEMO_COUNTS["tags"]):
        state.set_tag(project, f"v1.{i}.0", main_sha, message=f"Release 1.{i}.0")
    _seed_issues(app, project, people, labels, milestones)
    _seed_merge_requests(app, project, people, labels)
    _seed_pipelines(app, project, shared)


def _seed_issues(
    app: GitLabEmulator,
    project: dict[str, Any],
    people: list[int],
    labels: list[str],
    milestones: list[dict[str, Any]],
) -> None:
    state = app.state
    for n in range(1, DEMO_COUNTS["issues"] + 1):
        _tick(app)
        author = people[n % len(people)]
        issue = state.add_issue(
            project,
            title=f"Widget issue {n}: {('crash', 'slow', 'typo', 'idea')[n % 4]} in part {n % 9}",
            description=None if n % 5 == 0 else f"Steps to reproduce #{n}:\n\n1. open\n2. **see**",
            author_id=author,
            labels=[labels[n % len(labels)]]
            + ([labels[(n + 3) % len(labels)]] if n % 3 == 0 else []),
            assignee_ids=[people[(n + 1) % len(people)]] if n % 2 else [],
            milestone_id=milestones[n % len(milestones)]["id"] if n % 4 == 1 else None,
            confidential=n % 7 == 0,
            emit=False,
        )
        for k in range(n % 3):
            _tick(app)
            state.add_note(
                project,
                state.issues.get(issue["id"]) or issue,
                noteable_type="Issue",
                body=f"Comment {k + 1} on #{n}: looks {'good' if k else 'odd'}",
                author_id=people[(n + k) % len(people)],
                emit=False,
            )
        if n % 4 == 0:
            _tick(app)
            current = state.issues.get(issue["id"]) or issue
            state.update_issue(
                current,
                {"state": "closed", "closed_at": state.now(), "closed_by": state.user(author)},
                actor_id=author,
            )
            state.add_note(
                project,
                current,
                noteable_type="Issue",
                body="closed",
                author_id=author,
                system=True,
                emit=False,
            )
        if n % 10 == 3:
            _tick(app)
            current = state.issues.get(issue["id"]) or issue
            state.update_issue(
                current, {"labels": [*current["labels"], "security"]}, actor_id=author
            )
        if n % 10 == 7:
            _tick(app)
            current = state.issues.get(issue["id"]) or issue
            state.update_issue(
                current,
                {"milestone": state.milestone_summary(milestones[-1]["id"])},
                actor_id=author,
            )


def _seed_merge_requests(
    app: GitLabEmulator, project: dict[str, Any], people: list[int], labels: list[str]
) -> None:
    state = app.state
    for n in range(1, DEMO_COUNTS["merge_requests"] + 1):
        _tick(app)
        branch = f"feature/widget-{n}"
        base = state.branch(project, "main")
        assert base is not None
        state.set_branch(project, branch, base["commit"]["id"], emit=False)
        state.push(project, branch, f"Implement widget feature {n}")
        wanted = MR_STATES[n % len(MR_STATES)]
        mr = state.add_merge_request(
            project,
            title=f"Widget feature {n}",
            description=None if n % 6 == 0 else f"Implements feature {n}.\n\nCloses #{n}",
            source_branch=branch,
            target_branch="main",
            author_id=people[n % len(people)],
            draft=wanted == "opened" and n % 3 == 0,
            labels=[labels[n % len(labels)]],
            emit=False,
        )
        thread: dict[str, Any] | None = None
        for k in range(n % 3):
            _tick(app)
            note = state.add_note(
                project,
                state.merge_requests.get(mr["id"]) or mr,
                noteable_type="MergeRequest",
                body=f"Review note {k + 1} on !{mr['iid']}",
                author_id=people[(n + k + 1) % len(people)],
                reply_to=thread,  # the second note answers the first: a thread
                emit=False,
            )
            thread = thread or note
        for k in range(n % 3):
            current = state.merge_requests.get(mr["id"]) or mr
            state.approve(current, people[(n + k + 2) % len(people)])
        _tick(app)
        current = state.merge_requests.get(mr["id"]) or mr
        author = people[n % len(people)]
        if wanted == "merged":
            sha = current["sha"]
            state.update_merge_request(
                current,
                {
                    "state": "merged",
                    "merged_at": state.now(),
                    "merged_by": state.user(author),
                    "merge_user": state.user(author),
                    "merge_commit_sha": sha,
                    "detailed_merge_status": "not_open",
                },
                actor_id=author,
                action="merge",
            )
        elif wanted in ("closed", "locked"):
            state.update_merge_request(
                current,
                {
                    "state": wanted,
                    "closed_at": state.now(),
                    "closed_by": state.user(author),
                    "detailed_merge_status": "not_open",
                    "discussion_locked": wanted == "locked" or None,
                },
                actor_id=author,
            )


def _seed_pipelines(app: GitLabEmulator, project: dict[str, Any], shared: dict[str, Any]) -> None:
    state = app.state
    runners = [r for r in state.runners if project["id"] in r["_project_ids"]]
    main = state.branch(project, "main")
    assert main is not None
    for n in range(1, DEMO_COUNTS["pipelines"] + 1):
        _tick(app)
        status = PIPELINE_STATUSES[n % len(PIPELINE_STATUSES)]
        ref = "main" if n % 3 else f"feature/widget-{n % 60 + 1}"
        branch = state.branch(project, ref) or main
        pipeline = state.add_pipeline(
            project,
            ref=ref,
            sha=branch["commit"]["id"],
            status=status,
            source=("push", "merge_request_event", "schedule", "web")[n % 4],
            user_id=state.viewer_id,
            emit=False,
        )
        job_statuses = {
            "success": ("success", "success", "success"),
            "failed": ("success", "failed", "skipped"),
            "canceled": ("success", "canceled", "canceled"),
            "running": ("success", "running", "created"),
            "manual": ("success", "success", "manual"),
        }.get(status, (status, status, status))
        for (name, stage), job_status in zip(
            (("build", "build"), ("test", "test"), ("deploy", "deploy")), job_statuses, strict=True
        ):
            _tick(app)
            runner = runners[n % len(runners)] if job_status not in ("created", "manual") else None
            state.add_job(
                pipeline,
                name=name,
                stage=stage,
                status=job_status,
                trace=job_log(name, job_status, n) if runner else "",
                artifacts=(
                    [
                        {
                            "file_type": "archive",
                            "size": 1024 * n,
                            "filename": "artifacts.zip",
                            "file_format": "zip",
                        },
                        {
                            "file_type": "metadata",
                            "size": 160,
                            "filename": "metadata.gz",
                            "file_format": "gzip",
                        },
                    ]
                    if name == "build" and job_status == "success"
                    else []
                ),
                allow_failure=name == "deploy",
                runner=runner or (shared if job_status == "success" and n % 7 == 0 else None),
                tags=list(runner["tag_list"]) if runner else [],
                emit=False,
            )
        if n % 5 == 0:
            state.add_job(
                pipeline,
                name="trigger-docs",
                stage="deploy",
                status=status,
                bridge=True,
                emit=False,
            )
        if n % 11 == 0:
            state.set_status(
                project,
                branch["commit"]["id"],
                name=f"external/scan-{n}",
                state="success" if n % 2 else "failed",
                ref=ref,
                target_url=f"https://ci.example.com/scans/{n}",
                description="Security scan",
                author_id=state.viewer_id,
            )


SEEDS: dict[str, Callable[[GitLabEmulator], None]] = {"demo": seed_demo}
"""Named seeds for ``create_emulator(seed=...)`` and ``emulator serve gitlab --seed``."""
