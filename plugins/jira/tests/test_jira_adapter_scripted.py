"""The Jira adapter against a scripted Jira that follows Atlassian's REST docs, both flavours."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from kradle_provider_jira.adapter import JiraAdapter
from kradle_provider_jira.adapter.jql import Mark, jql_string, search_jql, window_start
from test_jira_adapter_fake import TOKEN, FakeJira

from kradle_providers.auth import BasicAuth, BearerAuth, Secret
from kradle_providers.errors import (
    AuthenticationError,
    InvalidInput,
    KradleError,
    PreconditionFailed,
    RateLimited,
)
from kradle_providers.http import FakeClock, RetryPolicy
from kradle_providers.models import SKIPPED, ExternalRef, IssueCreate, IssueState, IssueUpdate
from kradle_providers.protocols.page import collect

REF = ExternalRef(project="WID")
FLAVORS = ["cloud", "datacenter"]


def make(
    fake: FakeJira, *, flavor: str | None = "auto", token: str = TOKEN, **options: Any
) -> JiraAdapter:
    from kradle_providers.plugins.spec import ProviderConfig

    auth: Any = (
        BasicAuth("me@example.com", Secret(token)) if fake.flavor == "cloud" else BearerAuth(token)
    )
    opts: dict[str, Any] = {"clock": FakeClock(), **options}
    if flavor == "auto":
        opts["flavor"] = fake.flavor
    elif flavor is not None:
        opts["flavor"] = flavor
    return JiraAdapter.from_config(
        ProviderConfig(
            api_base_url="https://wid.atlassian.net",
            auth=auth,
            options=opts,
            transport=fake.transport(),
        )
    )


# -- configuration and detection ---------------------------------------------------


@pytest.mark.parametrize("flavor", FLAVORS)
async def test_flavor_is_detected_once_from_server_info(flavor: str) -> None:
    fake = FakeJira(flavor)
    fake.seed("one")
    adapter = make(fake, flavor=None)
    assert await adapter.flavor() == flavor
    await adapter.get_issue(REF, "WID-1")
    await adapter.get_issue(REF, "WID-1")
    assert len(fake.requests("GET", "/serverInfo")) == 1
    version = "3" if flavor == "cloud" else "2"
    assert fake.requests("GET", f"/rest/api/{version}/issue/WID-1")


def test_bad_options_are_refused_with_the_known_ones() -> None:
    fake = FakeJira()
    with pytest.raises(InvalidInput, match="known options"):
        make(fake, colour="red")
    with pytest.raises(InvalidInput, match="flavor"):
        make(fake, flavor="onprem")
    with pytest.raises(InvalidInput, match="page_size"):
        make(fake, page_size=500)


async def test_a_bare_token_is_a_bearer_token() -> None:
    from kradle_providers.plugins.spec import ProviderConfig

    fake = FakeJira("datacenter")
    fake.seed("x")
    adapter = JiraAdapter.from_config(
        ProviderConfig(
            api_base_url="https://jira.example.com",
            auth=Secret(TOKEN),
            options={"flavor": "datacenter"},
            transport=fake.transport(),
        )
    )
    await adapter.get_issue(REF, "WID-1")
    assert fake.log[-1].headers["authorization"] == f"Bearer {TOKEN}"


# -- issues ----------------------------------------------------------------------------


@pytest.mark.parametrize("flavor", FLAVORS)
async def test_listing_pages_in_the_flavours_style(flavor: str) -> None:
    fake = FakeJira(flavor)
    for n in range(7):
        fake.seed(f"issue {n}")
        fake.tick(1000)
    adapter = make(fake)
    issues = await collect(lambda c: adapter.list_issues(REF, cursor=c, page_size=3))
    assert [i.external.native_number for i in issues] == [f"WID-{n}" for n in range(1, 8)]
    searches = fake.requests("GET", "/search")
    assert len(searches) == 3
    if flavor == "cloud":
        assert all(r.path == "/rest/api/3/search/jql" for r in searches)
        assert "nextPageToken" not in searches[0].params
        assert searches[1].params["nextPageToken"] == "3"
        assert searches[0].params["fields"] == "*all"
    else:
        assert all(r.path == "/rest/api/2/search" for r in searches)
        assert [r.params["startAt"] for r in searches] == ["0", "3", "6"]
    # A full listing pages by key: issues changing between pages cannot reorder it.
    assert all(r.params["jql"].endswith("ORDER BY key ASC") for r in searches)
    incremental = await adapter.list_issues(REF, since=issues[0].updated_at)
    assert fake.log[-1].params["jql"].endswith("ORDER BY updated ASC, key ASC")
    assert incremental.items[0].external.native_number == "WID-2"


def test_close_reasons_map_to_jira_resolutions() -> None:
    from kradle_provider_jira.adapter.issues import resolution_name

    screen = {"resolution": {"allowedValues": [{"name": "Done"}, {"name": "Won't Do"}]}}
    assert resolution_name("completed", screen) == "Done"
    assert resolution_name("not_planned", screen) == "Won't Do"
    assert resolution_name("won't do", screen) == "Won't Do"
    assert resolution_name("not_planned", None) == "Won't Do"
    with pytest.raises(InvalidInput, match="Won't Do"):
        resolution_name("Spam", screen)


@pytest.mark.parametrize("flavor", FLAVORS)
async def test_state_filter_uses_status_category(flavor: str) -> None:
    fake = FakeJira(flavor)
    fake.seed("open")
    fake.seed("done", status="Done", resolution="Done")
    adapter = make(fake)
    closed = (await adapter.list_issues(REF, state="closed")).items
    assert [i.external.native_number for i in closed] == ["WID-2"]
    assert closed[0].status.state is IssueState.CLOSED
    assert closed[0].status.reason == "Done"
    opened = (await adapter.list_issues(REF, state="open")).items
    assert [i.external.native_number for i in opened] == ["WID-1"]
    assert "statusCategory != Done" in fake.requests("GET", "/search")[-1].params["jql"]


@pytest.mark.parametrize("flavor", FLAVORS)
async def test_create_converts_markdown_and_keeps_warnings(flavor: str) -> None:
    fake = FakeJira(flavor)
    adapter = make(fake)
    issue = await adapter.create_issue(
        REF,
        IssueCreate(title="Crash", body="**bold** and <b>html</b>", labels=["bug"]),
    )
    assert issue.external.native_number == "WID-1"
    assert issue.title == "Crash"
    assert issue.labels == ["bug"]
    sent = fake.requests("POST", "/issue")[0].body["fields"]
    assert sent["project"] == {"key": "WID"}
    if flavor == "cloud":
        assert sent["description"]["type"] == "doc"
    else:
        assert isinstance(sent["description"], str)
        assert "*bold*" in sent["description"]
    assert issue.body is not None
    assert "bold" in issue.body.markdown
    assert issue.body.warnings, "raw HTML cannot travel to Jira: the write must say so"


@pytest.mark.parametrize("flavor", FLAVORS)
async def test_update_checks_expected_version(flavor: str) -> None:
    fake = FakeJira(flavor)
    fake.seed("old")
    adapter = make(fake)
    issue = await adapter.get_issue(REF, "WID-1")
    assert issue.updated_at is not None
    version = issue.updated_at.isoformat()
    fake.tick(5)
    fake.change("WID-1", "changed by someone")
    with pytest.raises(PreconditionFailed) as caught:
        await adapter.update_issue(
            REF, "WID-1", IssueUpdate(title="mine"), expected_version=version
        )
    assert caught.value.current_version is not None
    fresh = await adapter.get_issue(REF, "WID-1")
    assert fresh.updated_at is not None
    updated = await adapter.update_issue(
        REF, "WID-1", IssueUpdate(title="mine"), expected_version=fresh.updated_at.isoformat()
    )
    assert updated.title == "mine"


@pytest.mark.parametrize("flavor", FLAVORS)
async def test_state_changes_go_through_transitions_never_a_status_patch(flavor: str) -> None:
    fake = FakeJira(flavor)
    fake.seed("task")
    adapter = make(fake)
    closed = await adapter.update_issue(REF, "WID-1", IssueUpdate(title="t2", state="closed"))
    assert closed.status.state is IssueState.CLOSED
    assert closed.title == "t2"
    posted = fake.requests("POST", "/transitions")
    assert posted[-1].body["transition"]["id"] == "31"
    assert posted[-1].body["fields"] == {"resolution": {"name": "Done"}}
    # Already closed: close_issue does nothing.
    again = await adapter.close_issue(REF, "WID-1", reason="Won't Do")
    assert again.status.state is IssueState.CLOSED
    assert len(fake.requests("POST", "/transitions")) == 1
    reopened = await adapter.update_issue(REF, "WID-1", IssueUpdate(state="open"))
    assert reopened.status.native == "To Do"
    assert fake.requests("POST", "/transitions")[-1].body == {"transition": {"id": "11"}}
    for request in fake.requests("PUT"):
        assert "status" not in (request.body or {}).get("fields", {})


@pytest.mark.parametrize("flavor", FLAVORS)
async def test_close_with_reason_and_explicit_transitions(flavor: str) -> None:
    fake = FakeJira(flavor)
    fake.seed("a")
    adapter = make(fake)
    moves = await adapter.list_transitions(REF, "WID-1")
    assert {t.name for t in moves} == {"In Progress", "Done"}
    done = next(t for t in moves if t.name == "Done")
    assert done.to_status.state is IssueState.CLOSED
    started = await adapter.transition_issue(REF, "WID-1", "21")
    assert started.status.native == "In Progress"
    with pytest.raises(InvalidInput, match="available now"):
        await adapter.transition_issue(REF, "WID-1", "21")
    closed = await adapter.close_issue(REF, "WID-1", reason="Won't Do")
    assert closed.status.reason == "Won't Do"


# -- incremental listing -------------------------------------------------------------------


def test_window_starts_a_minute_before_the_truncated_mark() -> None:
    mark = datetime(2024, 1, 2, 10, 15, 42, 123000, tzinfo=UTC)
    assert window_start(mark) == datetime(2024, 1, 2, 10, 14, tzinfo=UTC)
    jql = search_jql("WID", since=mark)
    assert 'updated >= "2024-01-02 10:14"' in jql
    assert jql_string('a "b" \\c') == '"a \\"b\\" \\\\c"'


def test_mark_orders_keys_numerically_within_one_millisecond() -> None:
    at = datetime(2024, 1, 2, 10, 15, tzinfo=UTC)
    mark = Mark(at, "WID-9")
    assert mark.covers(at, "WID-9")
    assert mark.covers(at, "WID-2")
    assert not mark.covers(at, "WID-10")
    assert not mark.covers(at + timedelta(milliseconds=1), "WID-1")
    assert Mark(at).covers(at, "WID-999")


@st.composite
def histories(draw: st.DrawFn) -> tuple[list[list[tuple[int, int]]], int]:
    """Rounds of (issue, milliseconds to advance) changes, and a page size."""
    rounds = draw(
        st.lists(
            st.lists(
                st.tuples(
                    st.integers(0, 11),
                    # Mostly tiny steps (same minute), sometimes a jump across minutes.
                    st.one_of(st.integers(1, 900), st.integers(20_000, 200_000)),
                ),
                max_size=12,
            ),
            min_size=1,
            max_size=5,
        )
    )
    return rounds, draw(st.integers(1, 6))


@pytest.mark.parametrize("flavor", FLAVORS)
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=histories())
async def test_incremental_listing_sees_every_change_exactly_once(
    flavor: str, case: tuple[list[list[tuple[int, int]]], int]
) -> None:
    rounds, page_size = case
    fake = FakeJira(flavor, start=datetime(2024, 1, 2, 10, 15, 59, 500000, tzinfo=UTC))
    keys = []
    for n in range(12):
        keys.append(fake.seed(f"i{n}"))
        fake.tick(7)
    adapter = make(fake)
    expected: list[tuple[str, datetime]] = [(k, fake.issues[k].updated) for k in keys]
    seen: list[tuple[str, datetime]] = []
    since: datetime | None = None
    for changes in [[], *rounds]:
        for index, step in changes:
            fake.tick(step)
            fake.change(keys[index], f"v{fake.now.isoformat()}")
            expected.append((keys[index], fake.now))
        cursor: str | None = None
        while True:
            page = await adapter.list_issues(REF, since=since, cursor=cursor, page_size=page_size)
            seen.extend((i.external.native_number or "", i.updated_at) for i in page.items)  # type: ignore[misc]
            if page.high_water_mark is not None:
                since = page.high_water_mark
            cursor = page.next_cursor
            if cursor is None:
                break
    # Only the newest version of each issue is observable; every one of them is seen once.
    latest: dict[str, datetime] = {}
    for key, at in expected:
        latest[key] = at
    assert len(seen) == len(set(seen)), "an issue version was delivered twice"
    seen_latest: dict[str, datetime] = {}
    for key, at in seen:
        seen_latest[key] = max(at, seen_latest.get(key, at))
    assert seen_latest == latest, "a change was missed"
    await adapter.aclose()


# -- comments, labels, milestones, events ---------------------------------------------------


@pytest.mark.parametrize("flavor", FLAVORS)
async def test_comments_create_list_update(flavor: str) -> None:
    fake = FakeJira(flavor)
    fake.seed("a")
    fake.seed("b")
    adapter = make(fake)
    first = await adapter.create_comment(REF, "WID-1", "hello *there*")
    await adapter.create_comment(REF, "WID-2", "second")
    await adapter.create_comment(REF, "WID-2", "third")
    body = fake.requests("POST", "/comment")[0].body["body"]
    assert (body["type"] == "doc") if flavor == "cloud" else isinstance(body, str)
    listed = await collect(
        lambda c: adapter.list_comments(REF, issue_id="WID-2", cursor=c, page_size=1)
    )
    assert [c.body.markdown for c in listed] == ["second", "third"]
    everywhere = await collect(lambda c: adapter.list_comments(REF, cursor=c, page_size=1))
    assert sorted(c.body.markdown for c in everywhere) == ["hello *there*", "second", "third"]
    edited = await adapter.update_comment(REF, first.external.native_id, "edited")
    assert edited.body.markdown == "edited"
    assert edited.issue.native_number == "WID-1"
    explicit = await adapter.update_comment(REF, f"WID-1/{first.external.native_id}", "again")
    assert explicit.body.markdown == "again"


@pytest.mark.parametrize("flavor", FLAVORS)
async def test_labels_and_fix_versions(flavor: str) -> None:
    fake = FakeJira(flavor)
    fake.seed("a", labels=["ui", "bug"])
    fake.seed("b", labels=["bug", "perf"])
    adapter = make(fake)
    labels = await collect(lambda c: adapter.list_labels(REF, cursor=c, page_size=2))
    assert [label.name for label in labels] == ["bug", "perf", "ui"]
    milestones = await collect(lambda c: adapter.list_milestones(REF, cursor=c, page_size=2))
    assert [m.title for m in milestones] == ["1.0", "1.1", "2.0"]
    assert milestones[0].state.value == "closed"


@pytest.mark.parametrize("flavor", FLAVORS)
async def test_a_version_that_does_not_map_is_skipped_not_sinking_the_page(flavor: str) -> None:
    fake = FakeJira(flavor)
    fake.versions.insert(1, {"name": "imported", "released": False})  # no id
    adapter = make(fake)
    page = await adapter.list_milestones(REF)
    assert [m.title for m in page.items] == ["1.0", "1.1", "2.0"]
    (skipped,) = page.extra[SKIPPED]
    assert isinstance(skipped, KradleError)
    assert "has no `id`" in str(skipped)


@pytest.mark.parametrize("flavor", FLAVORS)
async def test_issue_events_from_the_changelog(flavor: str) -> None:
    fake = FakeJira(flavor)
    fake.seed("a")
    adapter = make(fake)
    fake.tick(10)
    fake.change("WID-1", "renamed")
    await adapter.close_issue(REF, "WID-1")
    events = await collect(
        lambda c: adapter.list_issue_events(REF, issue_id="WID-1", cursor=c, page_size=1)
    )
    assert [e.event_type.value for e in events] == ["renamed", "transitioned"]
    assert events[0].issue.native_number == "WID-1"
    scoped = await collect(lambda c: adapter.list_issue_events(REF, cursor=c))
    assert [e.event_type.value for e in scoped] == ["renamed", "transitioned"]


# -- idempotency, rate limits, secrets ---------------------------------------------------------


@pytest.mark.parametrize("flavor", FLAVORS)
async def test_create_after_a_lost_response_creates_once(flavor: str) -> None:
    fake = FakeJira(flavor)
    adapter = make(fake)
    fake.lose_next.add(f"POST /rest/api/{fake.v}/issue")
    issue = await adapter.create_issue(REF, IssueCreate(title="once"), idempotency_key="k-1")
    assert len(fake.issues) == 1
    assert issue.external.native_number == "WID-1"
    assert len(fake.requests("POST", f"/rest/api/{fake.v}/issue")) == 1
    assert fake.issues["WID-1"].properties == {"kradle": {"idempotencyKey": "k-1"}}
    assert (
        'issue.property[kradle].idempotencyKey = "k-1"'
        in fake.requests("GET", "/search")[0].params["jql"]
    )


@pytest.mark.parametrize("flavor", FLAVORS)
async def test_the_key_travels_in_the_create_request(flavor: str) -> None:
    # Data Center's IssueUpdateBean accepts `properties` on create as Cloud's does:
    # one request, so no window in which the issue exists without its key.
    fake = FakeJira(flavor)
    adapter = make(fake)
    await adapter.create_issue(REF, IssueCreate(title="one"), idempotency_key="k-2")
    body = fake.requests("POST", "/issue")[0].body
    assert body["properties"] == [{"key": "kradle", "value": {"idempotencyKey": "k-2"}}]
    assert fake.requests("PUT", "/properties/kradle") == []


@pytest.mark.parametrize("flavor", FLAVORS)
async def test_comment_after_a_lost_response_is_added_once(flavor: str) -> None:
    fake = FakeJira(flavor)
    fake.seed("a")
    adapter = make(fake)
    fake.lose_next.add(f"POST /rest/api/{fake.v}/issue/WID-1/comment")
    comment = await adapter.create_comment(REF, "WID-1", "hi", idempotency_key="c-1")
    assert len(fake.issues["WID-1"].comments) == 1
    assert comment.external.native_id == fake.issues["WID-1"].comments[0]["id"]


async def test_transition_after_a_lost_response_is_not_repeated() -> None:
    fake = FakeJira("cloud")
    fake.seed("a")
    adapter = make(fake)
    fake.lose_next.add("POST /rest/api/3/issue/WID-1/transitions")
    closed = await adapter.close_issue(REF, "WID-1")
    assert closed.status.state is IssueState.CLOSED
    assert len(fake.requests("POST", "/transitions")) == 1


async def test_429_waits_exactly_retry_after_then_succeeds() -> None:
    fake = FakeJira("cloud")
    fake.seed("a")
    clock = FakeClock()
    adapter = make(fake, clock=clock)
    fake.rate_limit_next = 1
    issue = await adapter.get_issue(REF, "WID-1")
    assert issue.title == "a"
    assert clock.total_slept == pytest.approx(7.0)


async def test_429_with_raise_policy_raises_rate_limited() -> None:
    fake = FakeJira("cloud")
    fake.seed("a")
    adapter = make(fake, on_rate_limit="raise", retry=RetryPolicy(max_attempts=1))
    fake.rate_limit_next = 5
    with pytest.raises(RateLimited) as caught:
        await adapter.get_issue(REF, "WID-1")
    assert caught.value.retry_after == pytest.approx(7.0)


@pytest.mark.parametrize("flavor", FLAVORS)
async def test_canary_token_never_in_logs_or_errors(
    flavor: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    fake = FakeJira(flavor)
    fake.seed("a")
    wrong = "canary-WRONG-9d2e7b"
    good = make(fake)
    fake.rate_limit_next = 1
    await good.get_issue(REF, "WID-1")
    bad = make(fake, token=wrong)
    with pytest.raises(AuthenticationError) as caught:
        await bad.get_issue(REF, "WID-1")
    text = f"{caught.value} {caught.value.native!r} {caplog.text} {bad!r} {good!r}"
    assert "You are not authenticated" in str(caught.value)
    assert "AUTHENTICATED_FAILED" in str(caught.value)
    for secret in (TOKEN, wrong):
        assert secret not in text
    with pytest.raises(InvalidInput):
        await good.list_issues(REF, cursor="bm90LWEtY3Vyc29y")


async def test_not_found_quotes_jira() -> None:
    from kradle_providers.errors import NotFound

    fake = FakeJira("cloud")
    adapter = make(fake)
    with pytest.raises(NotFound, match="Issue does not exist"):
        await adapter.get_issue(REF, "WID-404")


def test_webhook_fixtures_map_folders_to_events() -> None:
    from kradle_provider_jira.harness import event_name, webhook_fixtures

    assert event_name("jira_issue_updated") == "jira:issue_updated"
    assert event_name("comment_created") == "comment_created"
    fixtures = webhook_fixtures()
    events = {f.event for f in fixtures}
    assert "jira:issue_updated" in events
    assert all(f.payload.is_file() for f in fixtures)
