"""Issue 14's done-when, small: three ``sync serve`` on one PostgreSQL, one SIGKILLed at a time.

Signed GitHub deliveries go round-robin to three ``kradle-providers sync
serve`` processes sharing one PostgreSQL schema (each backfills the
emulator's ``acme/widgets`` at start and sends the approved writes), while a
replica is SIGKILLed every 1.5 s and restarted. Every delivery answered 2xx is
processed exactly once, none is lost, the projections equal those of one
process on SQLite fed the same deliveries, and the emulator's request log shows
each write created once and no request refused by its rate limit.
``benchmarks/replicas_soak.py`` is the same run with 5,000 deliveries.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.postgres_support import DSN, pg_schema

pytest.importorskip("kradle_provider_github.emulator")

from tests.serve_replicas import RATE_LIMIT, run

__all__ = ["pg_schema"]

DELIVERIES = 300
WRITES = 3


def test_three_serve_replicas_killed_in_turn_process_each_delivery_once(
    pg_schema: str, tmp_path: Path
) -> None:
    (tmp_path / "single").mkdir()
    (tmp_path / "replicas").mkdir()
    single = run(
        str(tmp_path / "single" / "state.db"),
        deliveries=DELIVERIES,
        replicas=1,
        kill_every=0,
        writes=0,
        workdir=tmp_path / "single",
        timeout=60,
    )
    shared = run(
        f"{DSN}?schema={pg_schema}",
        deliveries=DELIVERIES,
        replicas=3,
        kill_every=1.5,
        writes=WRITES,
        workdir=tmp_path / "replicas",
        timeout=90,
    )
    assert shared.kills >= 2
    assert shared.accepted == DELIVERIES
    assert (shared.lost, shared.doubled, shared.succeeded_once) == (0, 0, DELIVERIES)
    assert shared.projections == single.projections and len(single.projections) == 50
    assert set(shared.writes.values()) <= {"AwaitingConfirmation", "Succeeded"}
    assert len(shared.writes) == WRITES
    assert sorted(shared.created_per_key.values()) == [1] * WRITES  # no write sent twice
    assert shared.rate_limited == 0 and shared.emulator_requests <= RATE_LIMIT
