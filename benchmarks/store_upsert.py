"""Backfill write speed of the SQLite state store.

Applies pages of small canonical Issues with ``apply_page_and_checkpoint`` (one
transaction per page, checkpoint included) into a fresh file-backed store, then
re-applies the same pages (every object ``unchanged``), then a newer version of
each (every object ``updated``). Prints objects/s for each pass; the target for
the first pass is at least 5,000 objects/s.

    .venv/bin/python benchmarks/store_upsert.py [--objects 20000] [--page 100]
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from kradle_providers.models.base import (
    Extensions,
    ExternalEnvelope,
    Interface,
    ProviderRef,
    Version,
)
from kradle_providers.models.issues import Issue
from kradle_providers.store import SqliteStateStore
from kradle_providers.sync.records import SyncState

T0 = datetime(2024, 1, 1, tzinfo=UTC)


def make_issue(n: int, minutes: int) -> Issue:
    when = T0 + timedelta(minutes=minutes)
    return Issue(
        external=ExternalEnvelope(
            provider=ProviderRef(type="bench"),
            interface=Interface.ISSUE_TRACKING,
            native_kind="issue",
            native_id=str(n),
            native_number=str(n),
            version=Version(updated_at=when, etag=f'W/"{n}-{minutes}"'),
            extensions=Extensions(provider_type="bench"),
        ),
        title=f"Issue {n}: something is broken",
        labels=["bug", "p2"],
        updated_at=when,
    )


async def run_pass(store: SqliteStateStore, pages: list[list[Issue]], label: str) -> float:
    state = SyncState(binding="bench", interface=Interface.ISSUE_TRACKING, kind="Issue")
    total = sum(len(p) for p in pages)
    start = time.perf_counter()
    for i, page in enumerate(pages):
        state = state.model_copy(
            update={"cursor": f"page-{i + 1}", "counters": state.counters.plus(applied=len(page))}
        )
        await store.apply_page_and_checkpoint("bench", page, state)
    elapsed = time.perf_counter() - start
    rate = total / elapsed
    print(f"{label:<28} {total:>7} objects in {elapsed:6.2f}s = {rate:>9,.0f} objects/s")
    return rate


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--objects", type=int, default=20_000)
    parser.add_argument("--page", type=int, default=100)
    args = parser.parse_args()
    first = [make_issue(n, 0) for n in range(args.objects)]
    newer = [make_issue(n, 1) for n in range(args.objects)]

    def paged(items: list[Issue]) -> list[list[Issue]]:
        return [items[i : i + args.page] for i in range(0, len(items), args.page)]

    with tempfile.TemporaryDirectory() as tmp:
        async with SqliteStateStore(Path(tmp) / "bench.db") as store:
            insert = await run_pass(store, paged(first), "insert (new objects)")
            await run_pass(store, paged(first), "re-apply (unchanged)")
            await run_pass(store, paged(newer), "update (newer versions)")
            counts = await store.projections.count_by_kind("bench")
    print(f"projections: {counts}")
    verdict = "meets" if insert >= 5_000 else "MISSES"
    print(f"insert pass {verdict} the 5,000 objects/s target")


if __name__ == "__main__":
    asyncio.run(main())
