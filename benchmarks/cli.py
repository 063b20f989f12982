"""How long the ``kradle-providers`` command takes, as users run it, against ``python -c pass``.

Each command runs ``--runs`` times as a fresh subprocess (the console script of this
environment), interleaved with ``python -c pass`` so both share the machine's noise;
printed are the medians, the min-max spread and the ratio to ``python -c pass``.

Commands: ``--help``, ``plugins``, ``sync status --db X`` and ``sync status --json``
on a SQLite store of ``--objects`` objects, written once through the store API. The
same aggregate (objects per interface/kind, tombstones left out) is timed in plain
``sqlite3`` in a fresh ``python`` process, the floor of ``sync status`` on that store.
Commands run with their ``.pyc`` files, as an installed package does
(``PYTHONDONTWRITEBYTECODE`` is dropped; the untimed first run writes them).

    .venv/bin/python benchmarks/cli.py [--runs 9] [--objects 100000]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

PY = sys.executable
CLI = shutil.which("kradle-providers", path=str(Path(PY).parent)) or "kradle-providers"

# What `sync status` counts, as one query: live objects per interface/kind.
COUNT_QUERY = (
    "SELECT interface, kind, COUNT(*) FROM projections WHERE tombstoned = 0 "
    "GROUP BY interface, kind ORDER BY interface, kind"
)
SQLITE_FLOOR = """
import sqlite3, sys, json
db = sqlite3.connect(sys.argv[1])
rows = db.execute({query!r}).fetchall()
print(json.dumps({{f"{{i}}/{{k}}": n for i, k, n in rows}}, indent=2, sort_keys=True))
"""


async def build_store(path: Path, n: int) -> str:
    """A SQLite store with ``n`` Issues (one binding), written through the store API."""
    from kradle_providers.models import Issue, IssueStatus
    from kradle_providers.models.base import (
        Extensions,
        ExternalEnvelope,
        Interface,
        ProviderRef,
    )
    from kradle_providers.store import open_state_store
    from kradle_providers.sync.records import ProjectionSource

    provider = ProviderRef(type="bench")
    async with open_state_store(str(path)) as store:
        batch = []
        for i in range(n):
            issue = Issue(
                external=ExternalEnvelope(
                    provider=provider,
                    interface=Interface.ISSUE_TRACKING,
                    native_kind="issue",
                    native_id=str(i),
                    extensions=Extensions(provider_type="bench"),
                ),
                title=f"issue {i}",
                status=IssueStatus(state="open"),
            )
            batch.append(issue)
            if len(batch) == 1000:
                await store.projections.apply_many("bench", batch, source=ProjectionSource.BACKFILL)
                batch = []
        if batch:
            await store.projections.apply_many("bench", batch, source=ProjectionSource.BACKFILL)
    return str(path)


# As installed packages run: with their .pyc files (a dev shell may forbid writing them).
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def time_run(cmd: Sequence[str]) -> float:
    t0 = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, check=False, env=ENV)
    elapsed = time.perf_counter() - t0
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({done.returncode}): {done.stderr.decode()}")
    return elapsed


def spread(values: list[float]) -> str:
    low, high = min(values) * 1000, max(values) * 1000
    return f"{statistics.median(values) * 1000:7.1f} ms ({low:.1f}-{high:.1f})"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--runs", type=int, default=9, help="runs per command (median)")
    parser.add_argument("--objects", type=int, default=100_000, help="objects in the store")
    args = parser.parse_args(argv)
    if args.runs < 7:
        parser.error("--runs must be at least 7")

    with tempfile.TemporaryDirectory() as tmp:
        small = asyncio.run(build_store(Path(tmp) / "small.db", 100))
        t0 = time.perf_counter()
        big = asyncio.run(build_store(Path(tmp) / "big.db", args.objects))
        print(f"store of {args.objects:,} objects built in {time.perf_counter() - t0:.1f} s")
        floor_script = SQLITE_FLOOR.format(query=COUNT_QUERY)
        commands: dict[str, list[str]] = {
            "python -c pass": [PY, "-c", "pass"],
            "--help": [CLI, "--help"],
            "plugins": [CLI, "plugins"],
            "sync status --db (100 objects)": [CLI, "sync", "status", "--db", small],
            f"sync status --json ({args.objects:,})": [
                CLI,
                "sync",
                "status",
                "--json",
                "--db",
                big,
            ],
            f"plain sqlite3 ({args.objects:,})": [PY, "-c", floor_script, big],
        }
        times: dict[str, list[float]] = {name: [] for name in commands}
        for cmd in commands.values():  # warm the page cache and .pyc files
            time_run(cmd)
        for _ in range(args.runs):
            for name, cmd in commands.items():
                times[name].append(time_run(cmd))

    base = statistics.median(times["python -c pass"])
    floor = statistics.median(times[f"plain sqlite3 ({args.objects:,})"])
    print(f"median of {args.runs} runs (min-max); ratio to `python -c pass` / to plain sqlite3\n")
    print(f"{'command':<36} {'wall time':>26} {'x pass':>7} {'x sqlite3':>9}")
    for name, values in times.items():
        mid = statistics.median(values)
        vs_floor = f"{mid / floor:9.2f}" if name.startswith("sync status --json") else ""
        print(f"{name:<36} {spread(values):>26} {mid / base:7.1f} {vs_floor}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
