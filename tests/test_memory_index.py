"""The memory provider's listing indexes: per-parent listings page exactly like a filter of
everything would, under inserts, changes and deletes, and a page reads O(page) objects."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from kradle_providers.models import ExternalRef
from kradle_providers.testing.memory import MemoryAdapter
from kradle_providers.testing.memory_backend import MemoryBackend, parse_time

REF = ExternalRef(owner="o", repository="r")
SCOPE = "o/r"
ISSUES = 3

# Between two pages: add a comment to an issue, edit one, move one to another issue, delete one.
MUTATION = st.tuples(
    st.sampled_from(["create", "edit", "move", "delete", "none"]),
    st.integers(0, 10**6),
    st.integers(0, ISSUES - 1),
)


def _seed(backend: MemoryBackend, comments: list[int]) -> list[int]:
    numbers = [backend.seed_issue(SCOPE, f"issue {n}")["number"] for n in range(ISSUES)]
    issue_ids = [backend.all("issue", SCOPE)[n]["id"] for n in range(ISSUES)]
    for n, on in enumerate(comments):
        backend.seed_comment(SCOPE, issue_ids[on], f"comment {n}")
    return numbers


def _mutate(
    backend: MemoryBackend, mutation: tuple[str, int, int], numbers: list[int]
) -> tuple[str, int]:
    """Apply one change; returns what it did and to which comment."""
    action, pick, issue = mutation
    live = [o["id"] for o in backend.all("comment", SCOPE)]
    if action == "create" or not live:
        target = backend.all("issue", SCOPE)[issue]["id"]
        return "create", int(backend.seed_comment(SCOPE, target, f"new {pick}")["id"])
    oid = live[pick % len(live)]
    if action == "edit":
        backend.external_change("comment", oid, body=f"edited {pick}")
    if action == "move":
        backend.external_change("comment", oid, issue_number=numbers[issue])
    elif action == "delete":
        backend.delete("comment", oid)
    return action, oid


def _of(
    backend: MemoryBackend, number: int | None, since: datetime | None = None
) -> list[dict[str, Any]]:
    """The brute-force answer: every comment (of the issue; changed since), in listing order."""
    rows = [
        o
        for o in backend.all("comment", SCOPE)
        if (number is None or o["issue_number"] == number)
        and (since is None or parse_time(o["updated_at"]) >= since)
    ]
    if since is not None:
        rows.sort(key=lambda o: (parse_time(o["updated_at"]), o["sequence"]))
    return rows


@given(
    comments=st.lists(st.integers(0, ISSUES - 1), max_size=30),
    which=st.one_of(st.none(), st.integers(0, ISSUES - 1)),
    incremental=st.booleans(),
    frozen=st.booleans(),
    sizes=st.lists(st.integers(1, 5), min_size=1, max_size=10),
    mutations=st.lists(MUTATION, max_size=30),
)
def test_listing_returns_every_object_once_in_order_under_changes(
    comments: list[int],
    which: int | None,
    incremental: bool,
    frozen: bool,
    sizes: list[int],
    mutations: list[tuple[str, int, int]],
) -> None:
    async def scenario() -> None:
        clock = (lambda: datetime(2024, 1, 1, tzinfo=UTC)) if frozen else None
        backend = MemoryBackend(clock=clock)
        numbers = _seed(backend, comments)
        adapter = MemoryAdapter(backend)
        number = None if which is None else numbers[which]
        issue_id = None if number is None else str(number)
        everything = backend.all("comment", SCOPE)
        middle = everything[len(everything) // 2]["updated_at"] if everything else None
        since = parse_time(middle) if incremental and middle else None
        before = {o["id"] for o in _of(backend, number)}
        listed: list[tuple[int, int]] = []  # (id, sequence) as served
        created: set[int] = set()
        gone: set[int] = set()  # moved or deleted while paging
        cursor = None
        step = 0
        while True:
            page = await adapter.list_comments(
                REF,
                issue_id=issue_id,
                since=since,
                cursor=cursor,
                page_size=sizes[step % len(sizes)],
            )
            listed += [
                (int(c.external.native_id), c.external.version.sequence or 0) for c in page.items
            ]
            if page.next_cursor is None:
                break
            if step < len(mutations):
                action, oid = _mutate(backend, mutations[step], numbers)
                (created if action == "create" else gone if action != "edit" else set()).add(oid)
            cursor = page.next_cursor
            step += 1
            assert step < 500, "the cursor does not advance"
        final = {o["id"]: o["sequence"] for o in _of(backend, number)}
        ids = [oid for oid, _ in listed]
        if since is None:
            # By id, each once; what belonged to the listing throughout is listed, and so
            # is what was created in it while paging and is still there (ids only grow).
            assert ids == sorted(set(ids))
            assert before - gone <= set(ids)
            assert (created - gone) & set(final) <= set(ids)
        else:
            # In version order; what changed while paging comes again at its new version,
            # so the last version listed of each live object is its final one.
            sequences = [seq for _, seq in listed]
            assert sequences == sorted(sequences)
            assert len(set(listed)) == len(listed)
            latest = dict(listed)
            expected = {
                oid: seq
                for oid, seq in final.items()
                if parse_time(backend.get("comment", oid)["updated_at"]) >= since
            }
            assert {k: v for k, v in latest.items() if k in expected} == expected
        if not mutations:
            # Without changes the listing is exactly the brute-force answer.
            assert ids == [o["id"] for o in _of(backend, number, since)]

    asyncio.run(scenario())


async def test_a_page_reads_the_page_not_the_listing() -> None:
    backend = MemoryBackend(max_page_size=10)
    issue = backend.seed_issue(SCOPE, "busy")
    other = backend.seed_issue(SCOPE, "quiet")
    for n in range(2_000):
        backend.seed_comment(SCOPE, issue["id"], f"c{n}")
    backend.seed_comment(SCOPE, other["id"], "the only one")
    reads = 0
    live = backend.live

    def counting(kind: str, oid: int) -> dict[str, Any] | None:
        nonlocal reads
        reads += 1
        return live(kind, oid)

    backend.live = counting  # type: ignore[method-assign]
    adapter = MemoryAdapter(backend)
    page = await adapter.list_comments(REF)
    for _ in range(50):
        assert page.next_cursor is not None
        page = await adapter.list_comments(REF, cursor=page.next_cursor)
    assert reads <= 51 * 11  # page_size + 1 per page, wherever the cursor is
    reads = 0
    mark = datetime(2024, 1, 1, tzinfo=UTC)
    page = await adapter.list_comments(REF, since=mark)
    page = await adapter.list_comments(REF, since=mark, cursor=page.next_cursor)
    assert reads <= 2 * 11
    reads = 0
    (only,) = (await adapter.list_comments(REF, issue_id=str(other["number"]))).items
    assert only.body is not None and only.body.markdown == "the only one"
    assert reads == 1  # the other issue's 2,000 comments are never looked at
