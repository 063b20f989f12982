"""Paging, incremental listing and round trips of the memory adapter (property tests)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kradle_providers.errors import InvalidInput
from kradle_providers.models import AnyCanonical, ExternalRef, IssueCreate, RunnerRegistration
from kradle_providers.protocols import Page, collect
from kradle_providers.testing.memory import MemoryAdapter
from kradle_providers.testing.memory_backend import MemoryBackend, parse_time

REF = ExternalRef(owner="o", repository="r")
SCOPE = "o/r"

# A mutation between two page fetches: create, change or delete an issue.
MUTATION = st.tuples(st.sampled_from(["create", "change", "delete", "none"]), st.integers(0, 10**6))


def _apply(backend: MemoryBackend, mutation: tuple[str, int], protected: set[int]) -> None:
    action, pick = mutation
    live = [o["id"] for o in backend.all("issue", SCOPE)]
    if action == "create" or not live:
        backend.seed_issue(SCOPE, f"new {pick}")
    elif action == "change":
        backend.external_change("issue", live[pick % len(live)], title=f"changed {pick}")
    elif action == "delete":
        deletable = [i for i in live if i not in protected]
        if deletable:
            backend.delete("issue", deletable[pick % len(deletable)])


@given(
    initial=st.integers(0, 25),
    sizes=st.lists(st.integers(1, 7), min_size=1, max_size=40),
    mutations=st.lists(MUTATION, max_size=40),
    keep=st.integers(0, 25),
)
def test_full_listing_sees_every_surviving_object_exactly_once(
    initial: int, sizes: list[int], mutations: list[tuple[str, int]], keep: int
) -> None:
    async def scenario() -> None:
        backend = MemoryBackend(max_page_size=5)
        for n in range(initial):
            backend.seed_issue(SCOPE, f"issue {n}")
        adapter = MemoryAdapter(backend)
        start_ids = [o["id"] for o in backend.all("issue", SCOPE)]
        protected = set(start_ids[:keep])  # these are never deleted while paging
        seen: list[int] = []
        created: set[int] = set()
        cursor = None
        step = 0
        while True:
            page = await adapter.list_issues(REF, cursor=cursor, page_size=sizes[step % len(sizes)])
            assert len(page.items) <= min(sizes[step % len(sizes)], 5)
            seen += [int(i.external.native_id) for i in page.items]
            if page.next_cursor is None:
                break
            if step < len(mutations):
                before = {o["id"] for o in backend.all("issue", SCOPE)}
                _apply(backend, mutations[step], protected)
                created |= {o["id"] for o in backend.all("issue", SCOPE)} - before
            cursor = page.next_cursor
            step += 1
            assert step < 500, "the listing never ends: the cursor does not advance"
        assert len(seen) == len(set(seen)), "an object was listed twice"
        assert protected <= set(seen), "an object that existed throughout was skipped"
        alive_created = created & {o["id"] for o in backend.all("issue", SCOPE)}
        assert alive_created <= set(seen), "an object created while paging was skipped"
        assert seen == sorted(seen)

    asyncio.run(scenario())


@given(
    initial=st.integers(1, 20),
    before_mark=st.lists(MUTATION, max_size=10),
    sizes=st.lists(st.integers(1, 6), min_size=1, max_size=30),
    during=st.lists(MUTATION, max_size=30),
    frozen=st.booleans(),
)
def test_since_listing_returns_exactly_changes_at_or_after_the_mark_and_converges(
    initial: int,
    before_mark: list[tuple[str, int]],
    sizes: list[int],
    during: list[tuple[str, int]],
    frozen: bool,
) -> None:
    async def scenario() -> None:
        # A frozen clock (every change at the same instant) must not lose changes either.
        clock = (lambda: datetime(2024, 1, 1, tzinfo=UTC)) if frozen else None
        backend = MemoryBackend(clock=clock)
        for n in range(initial):
            backend.seed_issue(SCOPE, f"issue {n}")
        adapter = MemoryAdapter(backend)
        mark = (await adapter.list_issues(REF)).high_water_mark
        assert mark is not None
        for mutation in before_mark:
            _apply(backend, mutation, set())
        latest: dict[int, int] = {}
        cursor = None
        step = 0
        while True:
            page = await adapter.list_issues(
                REF, since=mark, cursor=cursor, page_size=sizes[step % len(sizes)]
            )
            assert page.high_water_mark is not None and page.high_water_mark >= mark
            for issue in page.items:
                assert issue.external.version.updated_at is not None
                assert issue.external.version.updated_at >= mark
                latest[int(issue.external.native_id)] = issue.external.version.sequence or 0
            if page.next_cursor is None:
                break
            if step < len(during):
                _apply(backend, during[step], set())
            cursor = page.next_cursor
            step += 1
            assert step < 500, "the listing never ends: the cursor does not advance"
        # Every live object changed at or after the mark was listed, with its final version.
        expected = {
            o["id"]: o["sequence"]
            for o in backend.all("issue", SCOPE)
            if parse_time(o["updated_at"]) >= mark
        }
        assert {k: v for k, v in latest.items() if k in expected} == expected

    asyncio.run(scenario())


async def test_since_excludes_older_changes_and_high_water_mark_is_listing_start() -> None:
    backend = MemoryBackend()
    old = backend.seed_issue(SCOPE, "old")
    adapter = MemoryAdapter(backend)
    page = await adapter.list_issues(REF)
    mark = page.high_water_mark
    assert mark == parse_time(old["updated_at"])
    fresh = backend.seed_issue(SCOPE, "fresh")
    changed = await adapter.list_issues(REF, since=mark)
    # inclusive mark: the object changed exactly at it is listed again
    assert [i.title for i in changed.items] == ["old", "fresh"]
    later = await adapter.list_issues(REF, since=parse_time(fresh["updated_at"]))
    assert [i.title for i in later.items] == ["fresh"]
    naive = parse_time(fresh["updated_at"]).replace(tzinfo=None)
    assert [i.title for i in (await adapter.list_issues(REF, since=naive)).items] == ["fresh"]
    assert later.high_water_mark == parse_time(fresh["updated_at"])


async def test_cursor_misuse_and_page_size_limits() -> None:
    backend = MemoryBackend(max_page_size=3)
    for n in range(5):
        backend.seed_issue(SCOPE, f"i{n}")
        backend.seed_label(SCOPE, f"l{n}")
    adapter = MemoryAdapter(backend)
    page = await adapter.list_issues(REF, page_size=50)
    assert len(page.items) == 3  # clamped to the provider's maximum
    assert page.next_cursor is not None
    with pytest.raises(InvalidInput, match="cursor"):
        await adapter.list_labels(REF, cursor=page.next_cursor)
    with pytest.raises(InvalidInput, match="cursor"):
        await adapter.list_issues(REF, state="open", cursor=page.next_cursor)
    with pytest.raises(InvalidInput, match="cursor"):
        await adapter.list_issues(REF, cursor="!!not a cursor!!")
    with pytest.raises(InvalidInput, match="page_size"):
        await adapter.list_issues(REF, page_size=0)
    everything = await collect(lambda c: adapter.list_issues(REF, cursor=c, page_size=2))
    assert [i.title for i in everything] == [f"i{n}" for n in range(5)]


async def _everything(adapter: MemoryAdapter) -> list[Any]:
    ref = ExternalRef(owner="acme", repository="widgets")
    run = (await adapter.list_pipelines(ref)).items[0].external.native_id
    (pr,) = (await adapter.list_pull_requests(ref)).items
    number = str(pr.external.native_number)
    objects: list[Any] = []
    pages: list[Page[Any]] = [
        await adapter.list_issues(ref, state="all"),
        await adapter.list_comments(ref),
        await adapter.list_labels(ref),
        await adapter.list_milestones(ref),
        await adapter.list_issue_events(ref),
        await adapter.list_pipeline_definitions(ref),
        await adapter.list_pipelines(ref),
        await adapter.list_jobs(ref, run),
        await adapter.list_artifacts(ref, run),
        await adapter.list_runners(ref),
        await adapter.list_checks(ref, (await adapter.list_refs(ref)).items[0].sha),
        await adapter.list_repositories(ref),
        await adapter.list_pull_requests(ref),
        await adapter.list_reviews(ref, number),
        await adapter.list_refs(ref),
        await adapter.list_deploy_keys(ref),
        await adapter.list_collaborators(ref),
    ]
    for page in pages:
        objects += page.items
    objects += await adapter.list_transitions(ref, "1")
    objects.append(await adapter.get_issue(ref, number))
    objects.append(await adapter.get_commit(ref, pr.head_sha or ""))
    objects.append(await adapter.get_branch_protection(ref, "main"))
    objects.append(await adapter.get_repository(ref))
    return objects


async def test_every_kind_round_trips_through_json_with_a_full_envelope() -> None:
    from pydantic import TypeAdapter

    backend = MemoryBackend()
    backend.seed_demo()
    objects = await _everything(MemoryAdapter(backend))
    kinds = {type(o).__name__ for o in objects}
    assert len(kinds) == 20  # every canonical kind except LogRef and RunnerRegistration
    any_canonical: TypeAdapter[Any] = TypeAdapter(AnyCanonical)
    for obj in objects:
        assert type(obj).model_validate_json(obj.model_dump_json()) == obj
        assert any_canonical.validate_json(obj.model_dump_json()) == obj
        env = obj.external
        assert env.provider.type == "memory" and env.native_id
        assert env.interface is type(obj).interface
        if env.native_kind != "transition":
            assert env.version.updated_at is not None and env.version.sequence is not None
            assert env.url and env.api_url and env.node_id
            assert "internal_rank" in env.extensions.fields


async def test_runner_registration_dump_is_redacted() -> None:
    adapter = MemoryAdapter(MemoryBackend())
    registration = await adapter.register_runner(ExternalRef(owner="o", repository="r"))
    dumped = registration.model_dump_json()
    assert registration.token.reveal() not in dumped
    restored = RunnerRegistration.model_validate_json(dumped)
    assert restored.external == registration.external


@given(
    title=st.text(min_size=1, max_size=40),
    body=st.one_of(st.none(), st.text(max_size=80)),
    labels=st.lists(st.text(min_size=1, max_size=10), max_size=4),
)
def test_created_issues_round_trip(title: str, body: str | None, labels: list[str]) -> None:
    async def scenario() -> None:
        adapter = MemoryAdapter(MemoryBackend())
        issue = await adapter.create_issue(REF, IssueCreate(title=title, body=body, labels=labels))
        assert issue.title == title
        assert issue.labels == list(dict.fromkeys(labels))
        assert (issue.body.markdown if issue.body else None) == body
        assert type(issue).model_validate_json(issue.model_dump_json()) == issue
        fetched = await adapter.get_issue(REF, str(issue.external.native_number))
        assert fetched == issue

    asyncio.run(scenario())
