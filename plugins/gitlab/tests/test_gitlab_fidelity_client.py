"""python-gitlab, GitLab's well-known Python client, reads the whole seeded project.

The emulator is served over loopback as ``kradle-providers emulator serve
gitlab`` serves it; python-gitlab walks every listing with ``iterator=True``
(keyset where GitLab offers it) and the counts must equal the seed.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from kradle_provider_gitlab.emulator import (
    DEMO_COUNTS,
    PROJECT_PATH,
    GitLabEmulator,
    create_emulator,
)

from kradle_providers.testing.emulator import LoopbackServer

gitlab = pytest.importorskip("gitlab", reason="python-gitlab is in the plugin's test extra")


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[GitLabEmulator, str]]:
    emulator = create_emulator(seed="demo")
    with LoopbackServer(emulator) as server:
        yield emulator, server.url


@pytest.fixture(scope="module")
def gl(served: tuple[GitLabEmulator, str]) -> Any:
    emulator, url = served
    # The seeded objects' web URLs name the emulator's own host (its external_url),
    # not the loopback port: keep the URL we were given, as for any such instance.
    client = gitlab.Gitlab(
        url,
        private_token=emulator.token,
        per_page=100,
        retry_transient_errors=True,
        keep_base_url=True,
    )
    client.auth()
    return client


def _count(listing: Any) -> int:
    return sum(1 for _ in listing)


def test_issues_notes_events_labels_milestones(served: tuple[GitLabEmulator, str], gl: Any) -> None:
    emulator, _ = served
    state = emulator.state
    project = gl.projects.get(PROJECT_PATH)
    assert project.path_with_namespace == PROJECT_PATH
    issues = list(project.issues.list(iterator=True, pagination="keyset", order_by="id"))
    assert len(issues) == DEMO_COUNTS["issues"]
    assert len({i.iid for i in issues}) == len(issues)
    assert {i.state for i in issues} == {"opened", "closed"}
    assert any(i.confidential for i in issues)
    assert any(i.description is None for i in issues)
    offset = _count(project.issues.list(iterator=True))
    assert offset == DEMO_COUNTS["issues"]
    notes = events = 0
    for issue in issues:
        if issue.user_notes_count or issue.state == "closed":
            notes += _count(issue.notes.list(iterator=True))
        if issue.state == "closed" or "security" in issue.labels or issue.milestone:
            events += _count(issue.resourcestateevents.list(iterator=True))
            events += _count(issue.resourcelabelevents.list(iterator=True))
            events += _count(issue.resourcemilestoneevents.list(iterator=True))
    issue_notes = [n for n in state.notes if n["noteable_type"] == "Issue"]
    assert notes == len(issue_notes)
    assert events == len(state.state_events) + len(state.label_events) + len(state.milestone_events)
    assert len(state.milestone_events) > 0
    assert _count(project.labels.list(iterator=True)) == DEMO_COUNTS["labels"]
    assert _count(project.milestones.list(iterator=True)) == DEMO_COUNTS["milestones"]


def test_merge_requests_approvals_and_notes(served: tuple[GitLabEmulator, str], gl: Any) -> None:
    emulator, _ = served
    project = gl.projects.get(PROJECT_PATH)
    mrs = list(project.mergerequests.list(iterator=True))
    assert len(mrs) == DEMO_COUNTS["merge_requests"]
    assert {m.state for m in mrs} == {"opened", "closed", "merged", "locked"}
    assert any(m.draft for m in mrs)
    approvals = notes = threaded = 0
    for mr in mrs:
        approvals += len(mr.approvals.get().approved_by)
        notes += _count(mr.notes.list(iterator=True))
        # Threads come from the discussions API: every note is in exactly one.
        discussions = list(mr.discussions.list(iterator=True))
        threaded += sum(len(d.attributes["notes"]) for d in discussions)
        assert all(d.individual_note for d in discussions if len(d.attributes["notes"]) == 1)
    assert threaded == notes
    assert approvals == sum(len(m["_approved_by"]) for m in emulator.state.merge_requests)
    assert notes == sum(1 for n in emulator.state.notes if n["noteable_type"] == "MergeRequest")


def test_pipelines_jobs_bridges_logs_artifacts(served: tuple[GitLabEmulator, str], gl: Any) -> None:
    emulator, _ = served
    project = gl.projects.get(PROJECT_PATH)
    pipelines = list(project.pipelines.list(iterator=True))
    assert len(pipelines) == DEMO_COUNTS["pipelines"]
    assert len({p.status for p in pipelines}) == 11
    jobs = list(project.jobs.list(iterator=True, pagination="keyset", order_by="id"))
    assert len(jobs) == sum(1 for j in emulator.state.jobs if j["_kind"] == "job")
    bridges = sum(_count(p.bridges.list(iterator=True)) for p in pipelines)
    assert bridges == sum(1 for j in emulator.state.jobs if j["_kind"] == "bridge")
    with_log = next(j for j in jobs if j.status == "failed")
    trace = project.jobs.get(with_log.id, lazy=True).trace()
    assert b"section_start:" in trace and b"\x1b[" in trace
    archive = next(j for j in jobs if j.artifacts_file)
    assert project.jobs.get(archive.id, lazy=True).artifacts().startswith(b"PK")
    assert all(isinstance(p.get_id(), int) for p in pipelines)


def test_repository_admin_and_runners(served: tuple[GitLabEmulator, str], gl: Any) -> None:
    emulator, _ = served
    project = gl.projects.get(PROJECT_PATH)
    branches = list(project.branches.list(iterator=True))
    assert len(branches) == len(emulator.state.branches_of({"id": project.id}))
    assert project.branches.get("release/1.x").name == "release/1.x"
    assert _count(project.tags.list(iterator=True)) == DEMO_COUNTS["tags"]
    assert _count(project.protectedbranches.list(iterator=True)) == 2
    assert _count(project.keys.list(iterator=True)) == DEMO_COUNTS["deploy_keys"]
    assert _count(project.members_all.list(iterator=True)) == DEMO_COUNTS["members"] + 1
    assert _count(project.runners.list(iterator=True)) == DEMO_COUNTS["runners"] + 1
    commit = project.commits.get("main")
    assert len(commit.id) == 40
    assert _count(commit.statuses.list(iterator=True)) >= 0
    group = gl.groups.get("acme")
    in_group = list(group.projects.list(iterator=True, include_subgroups=True))
    assert {p.path_with_namespace for p in in_group} >= {PROJECT_PATH, "acme/website"}
    keyset = list(gl.projects.list(iterator=True, pagination="keyset", order_by="id", per_page=1))
    assert len(keyset) == len(emulator.state.projects)


def test_errors_and_auth_as_gitlab_writes_them(served: tuple[GitLabEmulator, str]) -> None:
    _, url = served
    bad = gitlab.Gitlab(url, private_token="glpat-wrong")
    with pytest.raises(gitlab.exceptions.GitlabAuthenticationError) as denied:
        bad.projects.get(PROJECT_PATH)
    assert denied.value.response_code == 401
    good = gitlab.Gitlab(url, private_token=served[0].token)
    with pytest.raises(gitlab.exceptions.GitlabGetError) as missing:
        good.projects.get("acme/platform/nope")
    assert missing.value.response_code == 404
    assert "Project Not Found" in str(missing.value.error_message)
