"""Several replicas on one PostgreSQL, one SIGKILLed and restarted again and again:
every delivery answered 2xx is finished exactly once (issue 13 item 1, issue 14)."""

from __future__ import annotations

import asyncio
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from kradle_providers.store.claims import RECOVERED_NOTE
from kradle_providers.store.postgres import PostgresStateStore
from kradle_providers.sync.phases import DeliveryPhase
from tests.postgres_support import DSN
from tests.replica_worker import BINDING, queued_delivery

WORKER = Path(__file__).with_name("replica_worker.py")
ROOT = WORKER.parents[1]
# Handling takes >= 60 ms per delivery and each replica runs one worker, so the
# work lasts >= 8 s even on a fast machine: several kills land mid-processing.
DELIVERIES = 400
REPLICAS = 3
KILL_EVERY = 0.5  # seconds a replica runs (once ready) before the next kill


def start(url: str) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "src")])}
    proc = subprocess.Popen(
        [
            sys.executable,
            str(WORKER),
            "deliveries",
            url,
            "--handle-ms",
            "60",
            "--lease",
            "1",
            "--count-handled",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=env,
    )
    return proc


async def ready(proc: subprocess.Popen[str]) -> None:
    """Wait until the replica's workers run (imports take seconds on a busy machine)."""
    assert proc.stdout is not None
    line = await asyncio.to_thread(proc.stdout.readline)
    assert line.strip() == "ready", f"replica did not start: {line!r}"


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
async def test_sigkilled_replicas_lose_nothing_and_double_nothing(pg_schema: str) -> None:
    url = f"{DSN}?schema={pg_schema}"
    async with PostgresStateStore(DSN, schema=pg_schema) as store:
        for n in range(DELIVERIES):  # what the intake stored before answering 202
            record, body = queued_delivery(n)
            await store.deliveries.add(record, body)
            await store.deliveries.update_phase(record.id, DeliveryPhase.QUEUED)
        procs = [start(url) for _ in range(REPLICAS)]
        kills = 0
        rng = random.Random(14)
        deadline = time.monotonic() + 150
        try:
            for proc in procs:
                await ready(proc)
            while time.monotonic() < deadline:
                await asyncio.sleep(KILL_EVERY)
                counts = await store.deliveries.count_by_phase()
                if (
                    counts.get(DeliveryPhase.SUCCEEDED, 0)
                    + counts.get(DeliveryPhase.DEAD_LETTERED, 0)
                    == DELIVERIES
                ):
                    break
                victim = rng.randrange(REPLICAS)
                procs[victim].send_signal(signal.SIGKILL)
                procs[victim].wait()
                kills += 1
                procs[victim] = start(url)
                await ready(procs[victim])
        finally:
            for proc in procs:
                proc.kill()
                proc.wait()
        counts = await store.deliveries.count_by_phase()
        records = [
            await store.deliveries.get(r.id)
            for r in await store.deliveries.list_by_phase(DeliveryPhase.SUCCEEDED)
        ]
        handled = Counter(e.target for e in await store.audit.find(limit=100_000))
        projected = await store.projections.count_by_kind(BINDING)
    print(f"kills={kills} phases={counts} re-handled={sum(n - 1 for n in handled.values())}")
    assert kills >= 3, "the run ended before enough kills: raise DELIVERIES"
    assert counts == {DeliveryPhase.SUCCEEDED: DELIVERIES}  # 0 lost
    for rec in records:  # 0 doubled: each finished once
        assert [h.phase for h in rec.history].count(DeliveryPhase.SUCCEEDED) == 1
    assert set(handled) == {str(n) for n in range(DELIVERIES)}
    # Handed over again only when a killed worker may have handed it over before dying.
    recovered = {
        rec.delivery_id.removeprefix("delivery-")
        for rec in records
        if RECOVERED_NOTE in [h.note for h in rec.history]
    }
    assert {k for k, n in handled.items() if n > 1} <= recovered
    assert projected == {"issueTracking/Issue": DELIVERIES}
