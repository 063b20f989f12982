"""MemoryAdapter, issue tracking: issues, transitions, comments, labels, events."""

from __future__ import annotations

import pytest

from kradle_providers.auth.secret import Secret
from kradle_providers.errors import (
    AuthenticationError,
    InvalidInput,
    NotFound,
    PreconditionFailed,
    RateLimited,
)
from kradle_providers.models import (
    ExternalRef,
    IssueCreate,
    IssueState,
    IssueUpdate,
    LabelSpec,
    PlanAction,
    StatusCategory,
    Version,
)
from kradle_providers.plugins.spec import ProviderConfig
from kradle_providers.protocols import collect
from kradle_providers.testing.memory import MemoryAdapter
from kradle_providers.testing.memory_backend import MemoryBackend

REF = ExternalRef(owner="acme", repository="widgets")


@pytest.fixture
def backend() -> MemoryBackend:
    b = MemoryBackend()
    b.seed_demo()
    return b


@pytest.fixture
def adapter(backend: MemoryBackend) -> MemoryAdapter:
    return MemoryAdapter(backend)


# --- construction and credentials --------------------------------------------


async def test_from_config_shares_a_given_backend_and_checks_the_token() -> None:
    backend = MemoryBackend(accepted_token="good-token-1234")
    backend.seed_demo()
    ok = MemoryAdapter.from_config(
        ProviderConfig(instance="x", auth=Secret("good-token-1234"), options={"backend": backend})
    )
    assert ok.backend is backend
    assert ok.provider_ref.instance == "x"
    assert (await ok.get_issue(REF, "1")).title == "Widgets wobble"

    class TokenAuth:
        token = Secret("bad-token-5678")

    bad = MemoryAdapter.from_config(ProviderConfig(auth=TokenAuth(), options={"backend": backend}))
    with pytest.raises(AuthenticationError) as refused:
        await bad.get_issue(REF, "1")
    assert "bad-token-5678" not in str(refused.value)
    missing = MemoryAdapter.from_config(ProviderConfig(options={"backend": backend}))
    with pytest.raises(AuthenticationError):
        await missing.list_labels(REF)


async def test_from_config_without_backend_builds_a_seeded_one_accepting_the_token() -> None:
    adapter = MemoryAdapter.from_config(ProviderConfig(auth=Secret("fresh-token-0001")))
    assert adapter.backend.accepted_token == Secret("fresh-token-0001")
    page = await adapter.list_issues(REF)
    assert len(page.items) == 3


def test_from_config_rejects_a_wrong_backend_or_auth_type() -> None:
    with pytest.raises(InvalidInput, match=r"options\.backend"):
        MemoryAdapter.from_config(ProviderConfig(options={"backend": object()}))
    with pytest.raises(InvalidInput, match="auth"):
        MemoryAdapter.from_config(ProviderConfig(auth=42))


def test_adapter_repr_hides_the_token() -> None:
    adapter = MemoryAdapter(MemoryBackend(), token="repr-token-9999")
    assert "repr-token-9999" not in repr(adapter)
    assert "repr-token-9999" not in repr(vars(adapter))


async def test_every_call_is_recorded_and_faults_fire(
    adapter: MemoryAdapter, backend: MemoryBackend
) -> None:
    backend.rate_limit_next("getIssue")
    with pytest.raises(RateLimited):
        await adapter.get_issue(REF, "1")
    await adapter.get_issue(REF, "1")
    assert [r.operation for r in backend.requests] == ["getIssue", "getIssue"]
    assert backend.requests[0].args == {"ref": "acme/widgets", "issue_id": "1"}


# --- issues --------------------------------------------------------------------


async def test_issue_has_full_envelope_and_extensions(adapter: MemoryAdapter) -> None:
    issue = await adapter.get_issue(REF, "1")
    env = issue.external
    assert env.provider.type == "memory"
    assert env.interface.value == "issueTracking"
    assert env.native_kind == "issue"
    assert env.native_number == "1"
    assert env.native_id.isdigit()
    assert env.node_id and env.url and env.api_url
    assert env.version.updated_at is not None
    assert env.version.sequence is not None
    assert env.extensions.provider_type == "memory"
    assert "internal_rank" in env.extensions.fields
    assert issue.labels == ["bug"]
    assert issue.milestone is not None
    assert issue.body is not None and "Tuesdays" in issue.body.markdown


async def test_get_missing_issue_is_not_found(adapter: MemoryAdapter) -> None:
    with pytest.raises(NotFound, match="999"):
        await adapter.get_issue(REF, "999")
    with pytest.raises(NotFound):
        await adapter.get_issue(REF, "not-a-number")
    with pytest.raises(NotFound):
        await adapter.get_issue(ExternalRef(owner="other", repository="repo"), "1")


async def test_pr_backed_issue_is_not_a_second_work_item(adapter: MemoryAdapter) -> None:
    issues = await collect(lambda c: adapter.list_issues(REF, cursor=c))
    prs = (await adapter.list_pull_requests(REF)).items
    assert len(prs) == 1
    pr_number = prs[0].external.native_number
    assert pr_number not in {i.external.native_number for i in issues}
    assert prs[0].issue is not None and prs[0].issue.native_number == pr_number
    backing = await adapter.get_issue(REF, str(pr_number))
    assert backing.pull_request is not None
    assert backing.pull_request.native_id == prs[0].external.native_id


async def test_list_issues_state_filter(adapter: MemoryAdapter) -> None:
    open_ = (await adapter.list_issues(REF, state="open")).items
    closed = (await adapter.list_issues(REF, state="closed")).items
    everything = (await adapter.list_issues(REF, state="all")).items
    assert {i.status.state for i in open_} == {IssueState.OPEN}
    assert [i.title for i in closed] == ["Document widgets"]
    assert len(everything) == len(open_) + len(closed)
    with pytest.raises(InvalidInput):
        await adapter.list_issues(REF, state="weird")


async def test_create_issue_with_idempotency_key_never_duplicates(
    adapter: MemoryAdapter, backend: MemoryBackend
) -> None:
    data = IssueCreate(title="New", body="Body", labels=["bug", "fresh"], assignees=["ann"])
    first = await adapter.create_issue(REF, data, idempotency_key="k1")
    again = await adapter.create_issue(REF, data, idempotency_key="k1")
    other = await adapter.create_issue(REF, data, idempotency_key="k2")
    assert first.external.native_id == again.external.native_id
    assert other.external.native_id != first.external.native_id
    assert first.labels == ["bug", "fresh"]
    assert [a.username for a in first.assignees] == ["ann"]
    assert backend.find("label", "acme/widgets", name="fresh") is not None
    titles = [i.title for i in (await adapter.list_issues(REF)).items]
    assert titles.count("New") == 2


async def test_create_issue_with_unknown_milestone_is_invalid(adapter: MemoryAdapter) -> None:
    with pytest.raises(InvalidInput, match="milestone"):
        await adapter.create_issue(REF, IssueCreate(title="x", milestone="v9"))
    ok = await adapter.create_issue(REF, IssueCreate(title="x", milestone="v1.0"))
    assert ok.milestone is not None


async def test_update_issue_partial_and_records_events(adapter: MemoryAdapter) -> None:
    before = await adapter.get_issue(REF, "2")
    after = await adapter.update_issue(REF, "2", IssueUpdate(title="Renamed", labels=["bug"]))
    assert after.title == "Renamed"
    assert after.labels == ["bug"]
    assert after.body == before.body
    assert after.external.version.is_newer_than(before.external.version)
    events = (await adapter.list_issue_events(REF, issue_id="2")).items
    assert events[-1].native_event == "renamed"
    assert {c.field for c in events[-1].changes} == {"title", "labels"}


async def test_update_issue_with_no_change_keeps_the_version(adapter: MemoryAdapter) -> None:
    before = await adapter.get_issue(REF, "2")
    after = await adapter.update_issue(REF, "2", IssueUpdate(title=before.title))
    assert after.external.version == before.external.version


async def test_update_issue_expected_version(
    adapter: MemoryAdapter, backend: MemoryBackend
) -> None:
    issue = await adapter.get_issue(REF, "2")
    version = issue.external.version
    assert version.etag is not None
    ok = await adapter.update_issue(
        REF, "2", IssueUpdate(title="v2"), expected_version=version.etag
    )
    backend.external_change("issue", int(issue.external.native_id), title="by someone else")
    with pytest.raises(PreconditionFailed) as lost:
        await adapter.update_issue(
            REF, "2", IssueUpdate(title="v3"), expected_version=str(ok.external.version.sequence)
        )
    current = lost.value.current_version
    assert isinstance(current, Version)
    assert current.is_newer_than(ok.external.version)
    assert (await adapter.get_issue(REF, "2")).title == "by someone else"
    # updated_at in ISO form is accepted as a version too
    fresh = await adapter.get_issue(REF, "2")
    assert fresh.external.version.updated_at is not None
    done = await adapter.update_issue(
        REF,
        "2",
        IssueUpdate(title="v4"),
        expected_version=fresh.external.version.updated_at.isoformat(),
    )
    assert done.title == "v4"


async def test_close_issue_with_reason_and_reopen(adapter: MemoryAdapter) -> None:
    closed = await adapter.close_issue(REF, "1", reason="not_planned")
    assert closed.status.state is IssueState.CLOSED
    assert closed.status.reason == "not_planned"
    assert closed.status.category is StatusCategory.DONE
    assert closed.closed_at is not None
    again = await adapter.close_issue(REF, "1")
    assert again.external.version == closed.external.version
    reopened = await adapter.update_issue(REF, "1", IssueUpdate(state="open"))
    assert reopened.status.state is IssueState.OPEN
    assert reopened.closed_at is None
    events = [e.native_event for e in (await adapter.list_issue_events(REF, issue_id="1")).items]
    assert events[-2:] == ["closed", "reopened"]


async def test_reopen_issue_reopens_once(adapter: MemoryAdapter) -> None:
    await adapter.close_issue(REF, "1")
    reopened = await adapter.reopen_issue(REF, "1")
    assert reopened.status.state is IssueState.OPEN
    assert reopened.closed_at is None
    again = await adapter.reopen_issue(REF, "1")
    assert again.external.version == reopened.external.version
    events = [e.native_event for e in (await adapter.list_issue_events(REF, issue_id="1")).items]
    assert events[-2:] == ["closed", "reopened"]


async def test_workflow_transitions_like_jira(adapter: MemoryAdapter) -> None:
    moves = await adapter.list_transitions(REF, "2")
    assert {(t.external.native_id, t.to_status.native) for t in moves} == {
        ("11", "In Progress"),
        ("31", "Done"),
    }
    started = await adapter.transition_issue(REF, "2", "11")
    assert started.status.native == "In Progress"
    assert started.status.category is StatusCategory.IN_PROGRESS
    assert started.status.state is IssueState.OPEN
    with pytest.raises(InvalidInput, match="21 \\(Stop progress\\)"):
        await adapter.transition_issue(REF, "2", "41")
    done = await adapter.transition_issue(REF, "2", "31", resolution="duplicate")
    assert done.status.state is IssueState.CLOSED
    assert done.status.reason == "duplicate"
    assert [t.name for t in await adapter.list_transitions(REF, "2")] == ["Reopen"]
    reopened = await adapter.transition_issue(REF, "2", "41")
    assert reopened.status.state is IssueState.OPEN
    assert reopened.status.native == "To Do"


# --- comments --------------------------------------------------------------------


async def test_comments_create_update_list(adapter: MemoryAdapter) -> None:
    issue_before = await adapter.get_issue(REF, "2")
    c1 = await adapter.create_comment(REF, "2", "first", idempotency_key="c")
    c1_again = await adapter.create_comment(REF, "2", "first", idempotency_key="c")
    assert c1.external.native_id == c1_again.external.native_id
    assert c1.issue.native_number == "2"
    edited = await adapter.update_comment(REF, c1.external.native_id, "edited")
    assert edited.body.markdown == "edited"
    same = await adapter.update_comment(REF, c1.external.native_id, "edited")
    assert same.external.version == edited.external.version
    of_issue = (await adapter.list_comments(REF, issue_id="2")).items
    everything = (await adapter.list_comments(REF)).items
    assert [c.body.markdown for c in of_issue] == ["edited"]
    assert len(everything) == 2
    issue_after = await adapter.get_issue(REF, "2")
    assert issue_after.comments_count == (issue_before.comments_count or 0) + 1
    with pytest.raises(NotFound):
        await adapter.create_comment(REF, "999", "x")
    with pytest.raises(NotFound):
        await adapter.update_comment(REF, "999999", "x")


# --- labels, milestones ------------------------------------------------------------


async def test_sync_labels_dry_run_equals_real_run_and_then_noop(
    adapter: MemoryAdapter, backend: MemoryBackend
) -> None:
    desired = [
        LabelSpec(name="bug", color="#D73A4A"),
        LabelSpec(name="enhancement", color="00ff00"),
        LabelSpec(name="triage", description="look"),
    ]
    events_before = len(backend.events)
    dry = await adapter.sync_labels(REF, desired, dry_run=True)
    assert len(backend.events) == events_before
    assert dry.dry_run
    assert dry.unchanged == ["bug"]
    assert dry.updated == ["enhancement"]
    assert dry.created == ["triage"]
    assert dry.changes[1].fields == ["color"]
    real = await adapter.sync_labels(REF, desired)
    assert real.changes == dry.changes
    assert not real.dry_run
    labels = {lb.name: lb for lb in (await adapter.list_labels(REF)).items}
    assert labels["enhancement"].color == "00ff00"
    assert labels["triage"].description == "look"
    again = await adapter.sync_labels(REF, desired)
    assert again.is_noop
    assert sorted(again.unchanged) == ["bug", "enhancement", "triage"]


async def test_sync_labels_prune(adapter: MemoryAdapter) -> None:
    kept = await adapter.sync_labels(REF, [LabelSpec(name="bug")], prune=False)
    assert kept.deleted == []
    pruned = await adapter.sync_labels(REF, [LabelSpec(name="bug")])
    assert pruned.deleted == ["enhancement"]
    assert [c.action for c in pruned.changes] == [PlanAction.UNCHANGED, PlanAction.DELETE]
    assert [lb.name for lb in (await adapter.list_labels(REF)).items] == ["bug"]
    with pytest.raises(InvalidInput):
        await adapter.sync_labels(REF, [LabelSpec(name="a"), LabelSpec(name="a")])


async def test_milestones(adapter: MemoryAdapter) -> None:
    (milestone,) = (await adapter.list_milestones(REF)).items
    assert milestone.title == "v1.0"
    assert milestone.external.native_number == "1"
    assert milestone.state.value == "open"
