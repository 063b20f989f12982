"""The adapter against the GitHub emulator in process: every operation, end to end."""

from __future__ import annotations

from typing import Any

import pytest

try:
    from kradle_provider_github.emulator import create_emulator  # noqa: F401
except ImportError:  # pragma: no cover - only while the emulator is being built
    pytest.skip("the GitHub emulator is not built yet", allow_module_level=True)

from kradle_provider_github.adapter import GitHubAdapter
from test_adapter_fixtures import (
    REPO,
    adapter,
    demo,
    demo_adapter,
    empty,
    make_adapter,
)

from kradle_providers.errors import Conflict, NotFound, PreconditionFailed
from kradle_providers.models import (
    BranchProtectionSpec,
    CheckInput,
    DeployKeySpec,
    IssueCreate,
    IssueUpdate,
    LabelSpec,
    PullRequestUpdate,
)
from kradle_providers.models.status import PipelineState
from kradle_providers.protocols.page import collect
from kradle_providers.testing.harness import Fault

__all__ = ["adapter", "demo", "demo_adapter", "empty"]  # fixtures used by name


def _requests(emulator: Any) -> list[Any]:
    return list(emulator.control.requests())


# -- reading the demo repository ------------------------------------------------------


async def test_backfill_reads_everything_with_minimal_requests(
    demo: Any, demo_adapter: GitHubAdapter
) -> None:
    counts = demo.counts() if hasattr(demo, "counts") else {}
    before = len(_requests(demo))
    issues = await collect(lambda c: demo_adapter.list_issues(REPO, cursor=c))
    pulls = await collect(lambda c: demo_adapter.list_pull_requests(REPO, cursor=c))
    issue_requests = [r for r in _requests(demo)[before:] if r.path.endswith("/issues")]
    assert len(issues) >= 240 and len(pulls) >= 60
    assert all(i.pull_request is None for i in issues)
    # PR-backed issues are not duplicated as work items.
    assert not {i.external.native_number for i in issues} & {
        p.external.native_number for p in pulls
    }
    if counts.get("Issue"):
        # counts() says Issue without the PR-backed ones (those are PullRequests).
        assert len(issues) == counts["Issue"] and len(pulls) == counts["PullRequest"]
    assert len(issue_requests) == -(-(len(issues) + len(pulls)) // 100)

    comments = await collect(lambda c: demo_adapter.list_comments(REPO, cursor=c))
    assert len(comments) >= 800
    labels = await collect(lambda c: demo_adapter.list_labels(REPO, cursor=c))
    assert len(labels) >= 12
    milestones = await collect(lambda c: demo_adapter.list_milestones(REPO, cursor=c))
    assert len(milestones) >= 3


async def test_second_backfill_is_all_304s(demo: Any, demo_adapter: GitHubAdapter) -> None:
    await collect(lambda c: demo_adapter.list_issues(REPO, cursor=c))
    remaining = demo_adapter.http.budget_snapshot()
    page = await demo_adapter.list_issues(REPO)
    assert page.extra["from_cache"] is True
    await collect(lambda c: demo_adapter.list_issues(REPO, cursor=c))
    assert demo_adapter.http.budget_snapshot() == remaining


async def test_cicd_reads(demo: Any, demo_adapter: GitHubAdapter) -> None:
    workflows = await collect(lambda c: demo_adapter.list_pipeline_definitions(REPO, cursor=c))
    assert len(workflows) == 2
    runs = await collect(lambda c: demo_adapter.list_pipelines(REPO, cursor=c))
    assert len(runs) >= 120
    run = await demo_adapter.get_pipeline(REPO, runs[0].external.native_id)
    assert run.external.native_id == runs[0].external.native_id
    jobs = await collect(lambda c: demo_adapter.list_jobs(REPO, run.external.native_id, cursor=c))
    assert jobs
    lines = [line async for line in demo_adapter.get_job_log(REPO, jobs[0].external.native_id)]
    assert lines
    await collect(lambda c: demo_adapter.list_artifacts(REPO, run.external.native_id, cursor=c))
    await collect(lambda c: demo_adapter.list_runners(REPO, cursor=c))
    by_definition = await demo_adapter.list_pipelines(
        REPO, definition_id=workflows[0].external.native_id
    )
    assert all(
        p.definition is None or p.definition.native_id == workflows[0].external.native_id
        for p in by_definition.items
    )
    if run.sha:
        checks = await collect(lambda c: demo_adapter.list_checks(REPO, run.sha or "", cursor=c))
        assert all(c.sha == run.sha for c in checks)


async def test_forge_reads(demo: Any, demo_adapter: GitHubAdapter) -> None:
    repo = await demo_adapter.get_repository(REPO)
    assert repo.full_name == "acme/widgets"
    repos = await collect(lambda c: demo_adapter.list_repositories(REPO, cursor=c))
    assert "acme/widgets" in {r.full_name for r in repos}
    pulls = await demo_adapter.list_pull_requests(REPO, page_size=5)
    number = pulls.items[0].external.native_number or ""
    pr = await demo_adapter.get_pull_request(REPO, number)
    rest = await collect(lambda c: demo_adapter.list_reviews(REPO, number, cursor=c))
    hydrated = await demo_adapter.hydrate_reviews(REPO, [number])
    assert sorted(r.external.native_id for r in hydrated.get(number, [])) == sorted(
        r.external.native_id for r in rest
    )
    refs = await collect(lambda c: demo_adapter.list_refs(REPO, cursor=c))
    assert any(r.name == "refs/heads/main" for r in refs)
    if pr.head_sha:
        commit = await demo_adapter.get_commit(REPO, pr.head_sha)
        assert commit.sha == pr.head_sha
    keys = await collect(lambda c: demo_adapter.list_deploy_keys(REPO, cursor=c))
    assert len(keys) == 2
    await collect(lambda c: demo_adapter.list_collaborators(REPO, cursor=c))
    protection = await demo_adapter.get_branch_protection(REPO, "main")
    assert protection.branch == "main"


async def test_graphql_hydration_saves_requests(demo: Any, demo_adapter: GitHubAdapter) -> None:
    before = len(_requests(demo))
    reviews = await demo_adapter.hydrate_reviews(REPO)
    used = len(_requests(demo)) - before
    assert len(reviews) >= 60
    assert used <= -(-len(reviews) // 100) + sum(1 for r in reviews.values() if len(r) >= 100)


# -- writes -----------------------------------------------------------------------------


async def test_issue_lifecycle(adapter: GitHubAdapter) -> None:
    issue = await adapter.create_issue(REPO, IssueCreate(title="First", body="body"))
    number = issue.external.native_number or ""
    got = await adapter.get_issue(REPO, number)
    assert got.title == "First"
    updated = await adapter.update_issue(
        REPO, number, IssueUpdate(title="Renamed"), expected_version=got.external.version.etag
    )
    assert updated.title == "Renamed"
    with pytest.raises(PreconditionFailed):
        await adapter.update_issue(
            REPO, number, IssueUpdate(title="Stale"), expected_version=got.external.version.etag
        )
    closed = await adapter.close_issue(REPO, number, reason="completed")
    assert closed.status.state == "closed"
    reopened = await adapter.reopen_issue(REPO, number)
    assert reopened.status.state == "open" and reopened.status.reason == "reopened"
    comment = await adapter.create_comment(REPO, number, "hi")
    edited = await adapter.update_comment(REPO, comment.external.native_id, "hello")
    assert edited.body.markdown == "hello"
    listed = await collect(lambda c: adapter.list_comments(REPO, issue_id=number, cursor=c))
    assert [c.external.native_id for c in listed] == [comment.external.native_id]
    await collect(lambda c: adapter.list_issue_events(REPO, issue_id=number, cursor=c))
    with pytest.raises(NotFound):
        await adapter.get_issue(REPO, "99999")


async def test_idempotent_create_after_lost_response(empty: Any, adapter: GitHubAdapter) -> None:
    empty.control.inject_fault(Fault.LOST_RESPONSE, times=1, method="POST")
    issue = await adapter.create_issue(REPO, IssueCreate(title="Once"), idempotency_key="k-1")
    issues = await collect(lambda c: adapter.list_issues(REPO, cursor=c))
    assert [i.title for i in issues].count("Once") == 1
    assert issue.title == "Once"
    number = issue.external.native_number or ""
    empty.control.inject_fault(Fault.LOST_RESPONSE, times=1, method="POST")
    await adapter.create_comment(REPO, number, "one comment", idempotency_key="k-2")
    comments = await collect(lambda c: adapter.list_comments(REPO, issue_id=number, cursor=c))
    assert len(comments) == 1


async def test_sync_labels_plan_apply_noop(adapter: GitHubAdapter) -> None:
    desired = [
        LabelSpec(name="bug", color="#d73a4a", description="Something is broken"),
        LabelSpec(name="triage", color="ededed"),
    ]
    plan = await adapter.sync_labels(REPO, desired, dry_run=True)
    applied = await adapter.sync_labels(REPO, desired)
    assert [(c.action, c.key) for c in plan.changes] == [(c.action, c.key) for c in applied.changes]
    again = await adapter.sync_labels(REPO, desired)
    assert again.is_noop
    labels = {label.name for label in await collect(lambda c: adapter.list_labels(REPO, cursor=c))}
    assert labels == {"bug", "triage"}
    changed = await adapter.sync_labels(REPO, [LabelSpec(name="bug", color="000000")])
    assert changed.updated == ["bug"] and changed.deleted == ["triage"]


async def test_checks_create_update_and_idempotency(empty: Any, adapter: GitHubAdapter) -> None:
    empty.control.seed("Ref", name="refs/heads/feature")
    sha = (await adapter.get_commit(REPO, "feature")).sha
    empty.control.inject_fault(Fault.LOST_RESPONSE, times=1, method="POST")
    check = await adapter.create_check(
        REPO, CheckInput(name="lint", sha=sha), idempotency_key="check-1"
    )
    done = await adapter.update_check(
        REPO,
        check.external.native_id,
        CheckInput(name="lint", sha=sha, state=PipelineState.SUCCEEDED, summary="clean"),
    )
    assert done.status.state == "succeeded"
    listed = await collect(lambda c: adapter.list_checks(REPO, sha, cursor=c))
    assert [c.name for c in listed if c.check_kind == "check_run"] == ["lint"]


async def test_deploy_keys_and_protection_sync(adapter: GitHubAdapter) -> None:
    key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl"
    plan = await adapter.sync_deploy_keys(REPO, [DeployKeySpec(title="ci", key=key)], dry_run=True)
    assert plan.created == [
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl"
    ]
    await adapter.sync_deploy_keys(REPO, [DeployKeySpec(title="ci", key=key)])
    retitled = await adapter.sync_deploy_keys(
        REPO, [DeployKeySpec(title="ci-2", key=key, read_only=False)]
    )
    assert retitled.changes[0].fields == ["title", "read_only"]
    keys = await collect(lambda c: adapter.list_deploy_keys(REPO, cursor=c))
    assert [(k.title, k.read_only) for k in keys] == [("ci-2", False)]
    assert (
        await adapter.sync_deploy_keys(
            REPO, [DeployKeySpec(title="ci-2", key=key, read_only=False)]
        )
    ).is_noop

    spec = BranchProtectionSpec(required_approving_reviews=1, required_status_checks=["ci"])
    dry = await adapter.sync_branch_protection(REPO, "main", spec, dry_run=True)
    real = await adapter.sync_branch_protection(REPO, "main", spec)
    assert dry.changes[0].action == real.changes[0].action
    assert (await adapter.sync_branch_protection(REPO, "main", spec)).is_noop
    removed = await adapter.sync_branch_protection(REPO, "main", None)
    assert removed.deleted == ["main"]
    with pytest.raises(NotFound):
        await adapter.get_branch_protection(REPO, "main")


async def test_merge_with_stale_head_is_a_conflict(demo: Any) -> None:
    adapter = make_adapter(demo)
    try:
        pulls = await adapter.list_pull_requests(REPO, state="open")
        if not pulls.items:
            pytest.skip("the demo seed has no open pull request")
        number = pulls.items[0].external.native_number or ""
        with pytest.raises(Conflict):
            await adapter.merge_pull_request(REPO, number, expected_head_sha="0" * 40)
        updated = await adapter.update_pull_request(REPO, number, PullRequestUpdate(title="T2"))
        assert updated.title == "T2"
    finally:
        await adapter.aclose()


async def test_register_runner_token_is_secret(adapter: GitHubAdapter) -> None:
    registration = await adapter.register_runner(REPO)
    assert registration.token.reveal()
    assert registration.token.reveal() not in repr(registration)
    assert registration.token.reveal() not in registration.model_dump_json()
