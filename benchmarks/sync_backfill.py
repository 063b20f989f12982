"""Backfill throughput and memory: 10k and 100k objects into SQLite.

Each size runs in a fresh child process (so ``ru_maxrss`` means something):
it seeds the in-memory reference provider with N objects (N/2 issues, each
with one comment), opens a binding of its issue-tracking interface, and runs
the real :class:`~kradle_providers.sync.backfill.Backfiller` into a new SQLite
file, timing it and measuring memory. It prints objects/s and two memory
figures for both sizes, and the 100k/10k ratio of each:

- ``tracemalloc peak``: the most Python memory the backfill held at once
  (tracing starts after seeding, so the provider's own data is not counted,
  and the provider's per-call request log is bounded; SQLite's page cache is
  C memory and is not counted either);
- ``between pages``: the highest traced memory sampled after each applied
  page, i.e. what the engine keeps from one page to the next (the peak also
  holds one page in flight, and the memory provider's transient per-page
  work: it filters and sorts all N of its records for every page it serves,
  which is the provider's cost, O(N) transient, not the engine's);
- ``RSS growth``: ``ru_maxrss`` after the backfill minus before it (process
  memory, including SQLite's page cache up to its cap and allocator slack).

A backfill that streams pages keeps both flat as N grows (ratio ~1, not ~10).

Why the memory provider and not the GitHub emulator: the emulator's demo seed
is ~3k objects, and seeding 100k objects through it (plus ~1k HTTP pages on
loopback) would measure the emulator and the HTTP stack more than the sync
engine; the memory provider serves the same adapter protocol, pages and
incremental cursors in process, so what is timed is listing, mapping,
reconciling and checkpointing.

    python benchmarks/sync_backfill.py                 # 10k (median of 3) and 100k (1 run)
    python benchmarks/sync_backfill.py --sizes 10000 --repeats 5
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from kradle_providers.sync.progress import NullProgress
from kradle_providers.sync.records import SyncCounters

PAGE_SIZE = 100
REQUEST_LOG = 64


class _Sampler(NullProgress):
    """Samples the traced memory after every applied page (the engine's steady state)."""

    def __init__(self) -> None:
        self.high = 0

    def stream_progress(
        self, stream: str, counters: SyncCounters, *, budget: Mapping[str, Any] | None = None
    ) -> None:
        """Keep the highest traced memory seen between pages."""
        self.high = max(self.high, tracemalloc.get_traced_memory()[0])


class _BoundedLog(list[Any]):
    """The memory provider's request log, keeping only the last entries.

    The provider records every call (one per page); that is the *provider's*
    memory growing with N, not the sync engine's, so the benchmark bounds it.
    """

    def append(self, item: Any) -> None:
        super().append(item)
        if len(self) > REQUEST_LOG:
            del self[0]


def _rss_mib() -> float:
    # Linux reports ru_maxrss in KiB (macOS in bytes; this benchmark targets Linux).
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


async def _backfill(objects: int, db: Path) -> dict[str, Any]:
    from kradle_providers.models import ExternalRef, Interface
    from kradle_providers.store import SqliteStateStore
    from kradle_providers.sync.backfill import Backfiller
    from kradle_providers.sync.binding import (
        Binding,
        BindingMetadata,
        BindingMode,
        BindingSpec,
        BindingTarget,
        InterfaceSpec,
        ProviderInstanceSpec,
    )
    from kradle_providers.sync.runtime import BoundBinding, ProviderOverride
    from kradle_providers.testing.memory_backend import MemoryBackend

    backend = MemoryBackend(max_page_size=PAGE_SIZE)
    backend.requests = _BoundedLog()
    scope = backend.seed_repository("acme", "widgets")["full_name"]
    for n in range(objects // 2):
        issue = backend.seed_issue(scope, f"Issue {n}", body=f"Body of issue {n}")
        backend.seed_comment(scope, issue["id"], f"Comment on issue {n}")
    ref = ExternalRef(owner="acme", repository="widgets")
    binding = Binding(
        metadata=BindingMetadata(name="bench"),
        spec=BindingSpec(
            target=BindingTarget(kind="Repository", name="widgets"),
            providers={"mem": ProviderInstanceSpec(type="memory")},
            interfaces={
                Interface.ISSUE_TRACKING: InterfaceSpec(
                    provider="mem",
                    mode=BindingMode.READ_ONLY,
                    external_ref=ref,
                    kinds=["Issue", "Comment"],
                )
            },
        ),
    )
    overrides = {"mem": ProviderOverride(options={"backend": backend})}
    rss_before = _rss_mib()
    async with (
        await BoundBinding.open(binding, overrides=overrides) as bound,
        SqliteStateStore(db) as store,
    ):
        sampler = _Sampler()
        tracemalloc.start()
        started = time.perf_counter()
        report = await Backfiller(bound, store, progress=sampler).run()
        elapsed = time.perf_counter() - started
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        counts = await store.projections.count_by_kind("bench")
    if not report.ok:
        raise SystemExit(f"backfill failed: {[r.error for r in report.results]}")
    stored = sum(counts.values())
    if stored != objects:
        raise SystemExit(f"expected {objects} objects in the store, found {stored}: {counts}")
    return {
        "objects": stored,
        "seconds": elapsed,
        "objects_per_s": stored / elapsed,
        "tracemalloc_peak_mib": peak / 2**20,
        "between_pages_mib": sampler.high / 2**20,
        "rss_growth_mib": _rss_mib() - rss_before,
        "db_mib": _size_mib(db),
    }


def _size_mib(path: Path) -> float:
    return path.stat().st_size / 2**20


def _child(objects: int) -> None:
    with tempfile.TemporaryDirectory(prefix="kradle-bench-") as tmp:
        result = asyncio.run(_backfill(objects, Path(tmp) / "sync.db"))
    print(json.dumps(result))


def _run_child(objects: int) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, __file__, "--child", str(objects)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"the {objects}-object run failed:\n{done.stderr}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def _median(runs: list[dict[str, Any]], key: str) -> float:
    return float(statistics.median(r[key] for r in runs))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--repeats", type=int, default=3, help="runs of sizes up to 20k")
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        _child(args.child)
        return 0
    rows: dict[int, dict[str, float]] = {}
    print(f"{'objects':>8} {'runs':>4} {'seconds':>8} {'objects/s':>10} "
          f"{'peak MiB':>9} {'pages MiB':>9} {'RSS+ MiB':>9} {'db MiB':>7}")  # fmt: skip
    for size in args.sizes:
        repeats = args.repeats if size <= 20_000 else 1  # the big size once: minutes otherwise
        runs = [_run_child(size) for _ in range(repeats)]
        row = {k: _median(runs, k) for k in runs[0] if k != "objects"}
        rows[size] = row
        print(f"{size:>8} {repeats:>4} {row['seconds']:>8.2f} {row['objects_per_s']:>10.0f} "
              f"{row['tracemalloc_peak_mib']:>9.2f} {row['between_pages_mib']:>9.2f} "
              f"{row['rss_growth_mib']:>9.1f} "
              f"{row['db_mib']:>7.1f}", flush=True)  # fmt: skip
    if len(rows) >= 2:
        small, big = min(rows), max(rows)
        factor = big / small
        peak = rows[big]["tracemalloc_peak_mib"] / rows[small]["tracemalloc_peak_mib"]
        pages = rows[big]["between_pages_mib"] / rows[small]["between_pages_mib"]
        rss = rows[big]["rss_growth_mib"] / max(rows[small]["rss_growth_mib"], 0.1)
        print(f"\n{big} vs {small} objects ({factor:g}x): tracemalloc peak x{peak:.2f}, "
              f"between pages x{pages:.2f}, "
              f"RSS growth x{rss:.2f} (flat: ~1; growing per object: ~{factor:g})")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
