"""Replicas on one PostgreSQL beside one SQLite process: deliveries/s and backfill objects/s.

For each configuration (SQLite with 1 process; PostgreSQL with 1 and with 3
processes) and each of ``--runs`` runs on a fresh store:

- **deliveries**: ``--deliveries`` deliveries are stored ``Queued`` (as the
  intake leaves them after answering 202) but held back; the replicas
  (``tests/replica_worker.py deliveries``, 2 claiming workers each) start,
  the deliveries are released in one statement, and the clock runs until
  every one is ``Succeeded`` (handler: apply the issue projection + an audit
  record);
- **backfill**: the replicas (``tests/replica_worker.py backfill``) open the
  memory provider seeded with ``--issues`` extra issues, start together and
  backfill the binding's streams (one replica per stream: the stream
  leases); objects applied / (last end - first start).

Prints the median (and min/max) of each and the ratios to SQLite.

    python benchmarks/replicas.py --runs 5
    KRADLE_TEST_POSTGRES_DSN=postgresql://… python benchmarks/replicas.py
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path

from kradle_providers.store import StateStore, open_state_store
from kradle_providers.sync.phases import DeliveryPhase

ROOT = Path(__file__).resolve().parent.parent
WORKER = ROOT / "tests" / "replica_worker.py"
sys.path.insert(0, str(ROOT))
from tests.replica_worker import queued_delivery  # noqa: E402

DSN = os.environ.get("KRADLE_TEST_POSTGRES_DSN", "postgresql://postgres@127.0.0.1:5432/test")


def spawn(mode: str, url: str, *extra: str) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "src")])}
    return subprocess.Popen(
        [sys.executable, str(WORKER), mode, url, *extra],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )


async def ready(proc: subprocess.Popen[str]) -> None:
    assert proc.stdout is not None
    line = await asyncio.to_thread(proc.stdout.readline)
    if line.strip() != "ready":
        raise RuntimeError(f"replica did not start: {line!r}")


async def release_all(store: StateStore) -> None:
    """Make every held-back delivery claimable, in one statement."""
    sql = "UPDATE deliveries SET claimed_by = NULL, lease_until = NULL WHERE phase = 'Queued'"
    run = getattr(store, "execute", None)
    if run is not None:  # PostgreSQL
        await run(sql)
    else:
        await store.call(lambda conn: conn.execute(sql))  # type: ignore[attr-defined]


async def hold_back(store: StateStore) -> None:
    sql = "UPDATE deliveries SET claimed_by = 'bench', lease_until = 1e12 WHERE phase = 'Queued'"
    run = getattr(store, "execute", None)
    if run is not None:
        await run(sql)
    else:
        await store.call(lambda conn: conn.execute(sql))  # type: ignore[attr-defined]


async def deliveries_run(url: str, replicas: int, n: int) -> float:
    async with open_state_store(url) as store:
        for i in range(n):
            record, body = queued_delivery(i)
            await store.deliveries.add(record, body)
            await store.deliveries.update_phase(record.id, DeliveryPhase.QUEUED)
        await hold_back(store)
        procs = [spawn("deliveries", url, "--workers", "2") for _ in range(replicas)]
        try:
            for proc in procs:
                await ready(proc)
            t0 = time.perf_counter()
            await release_all(store)
            while (await store.deliveries.count_by_phase()).get(DeliveryPhase.SUCCEEDED, 0) < n:  # noqa: ASYNC110 - polling other processes
                await asyncio.sleep(0.02)
            elapsed = time.perf_counter() - t0
        finally:
            for proc in procs:
                proc.kill()
                proc.wait()
    return n / elapsed


async def backfill_run(url: str, replicas: int, issues: int) -> float:
    procs = [spawn("backfill", url, "--issues", str(issues)) for _ in range(replicas)]
    try:
        for proc in procs:
            await ready(proc)
        for proc in procs:
            assert proc.stdin is not None
            proc.stdin.write("go\n")
            proc.stdin.flush()
        results = []
        for proc in procs:
            assert proc.stdout is not None
            results.append(json.loads(await asyncio.to_thread(proc.stdout.readline)))
    finally:
        for proc in procs:
            proc.kill()
            proc.wait()
    if not all(r["ok"] for r in results):
        raise RuntimeError(f"a backfill failed: {results}")
    applied = sum(r["applied"] for r in results)
    return applied / (max(r["end"] for r in results) - min(r["start"] for r in results))


async def fresh_pg(run: Callable[[str], Awaitable[float]]) -> float:
    import psycopg

    schema = f"bench_{uuid.uuid4().hex[:10]}"
    try:
        return await run(f"{DSN}?schema={schema}")
    finally:
        async with await psycopg.AsyncConnection.connect(DSN, autocommit=True) as conn:
            await conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")  # type: ignore[arg-type]


async def fresh_sqlite(run: Callable[[str], Awaitable[float]]) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        return await run(str(Path(tmp) / "state.db"))


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--deliveries", type=int, default=1000)
    parser.add_argument("--issues", type=int, default=2000)
    args = parser.parse_args()
    configs = [("SQLite, 1 process", 1, fresh_sqlite)] + [
        (f"PostgreSQL, {k} process{'es' if k > 1 else ''}", k, fresh_pg) for k in (1, 3)
    ]
    for title, unit, bench, size in (
        ("deliveries/s", "deliveries", deliveries_run, args.deliveries),
        ("backfill objects/s", "objects", backfill_run, args.issues),
    ):
        print(f"\n{title} ({args.runs} runs each; median [min-max])")
        medians: dict[str, float] = {}
        for name, replicas, fresh in configs:
            rates = [
                await fresh(lambda url, b=bench, r=replicas, n=size: b(url, r, n))  # type: ignore[misc]
                for _ in range(args.runs)
            ]
            medians[name] = statistics.median(rates)
            print(
                f"  {name:<24} {medians[name]:9.1f} {unit}/s  [{min(rates):.1f}-{max(rates):.1f}]",
                flush=True,
            )
        base = medians[configs[0][0]]
        pg1 = medians[configs[1][0]]
        pg3 = medians[configs[2][0]]
        print(
            f"  ratios: PostgreSQL x1 / SQLite = {pg1 / base:.2f}; "
            f"PostgreSQL x3 / SQLite = {pg3 / base:.2f}; "
            f"PostgreSQL x3 / x1 = {pg3 / pg1:.2f}"
        )


if __name__ == "__main__":
    asyncio.run(main())
