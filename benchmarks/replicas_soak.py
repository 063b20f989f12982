"""Issue 14's acceptance run: three ``sync serve`` on one PostgreSQL, one SIGKILLed every few s.

5,000 signed GitHub ``issues`` deliveries (over 50 issues) go round-robin to
three ``kradle-providers sync serve`` processes on one PostgreSQL schema while
the in-process GitHub emulator (loopback, ``demo`` seed) serves their backfill
and the approved writes; one replica is SIGKILLed every ``--kill-every``
seconds and restarted. Then the same deliveries go to one process on SQLite,
and the projections are compared. Prints the counts (see
:func:`tests.serve_replicas.run`); exits 1 when anything was lost, doubled,
written twice or rate-limited, or the projections differ.

    python benchmarks/replicas_soak.py
    python benchmarks/replicas_soak.py --deliveries 1000 --kill-every 2
    KRADLE_TEST_POSTGRES_DSN=postgresql://… python benchmarks/replicas_soak.py
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from tests.serve_replicas import RATE_LIMIT, run  # noqa: E402

DSN = os.environ.get("KRADLE_TEST_POSTGRES_DSN", "postgresql://postgres@127.0.0.1:5432/test")


def _drop(schema: str) -> None:
    import psycopg
    from psycopg import sql

    with psycopg.connect(DSN, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--deliveries", type=int, default=5000)
    parser.add_argument("--replicas", type=int, default=3)
    parser.add_argument("--kill-every", type=float, default=3.0, help="seconds between SIGKILLs")
    parser.add_argument("--writes", type=int, default=5, help="approved write intents")
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds to settle at most")
    args = parser.parse_args()
    schema = f"soak_{uuid.uuid4().hex[:10]}"
    with tempfile.TemporaryDirectory() as tmp:
        single_dir, shared_dir = Path(tmp, "single"), Path(tmp, "replicas")
        single_dir.mkdir()
        shared_dir.mkdir()
        try:
            shared = run(
                f"{DSN}?schema={schema}",
                deliveries=args.deliveries,
                replicas=args.replicas,
                kill_every=args.kill_every,
                writes=args.writes,
                workdir=shared_dir,
                timeout=args.timeout,
            )
        finally:
            _drop(schema)
        single = run(
            str(single_dir / "state.db"),
            deliveries=args.deliveries,
            replicas=1,
            kill_every=0,
            writes=0,
            workdir=single_dir,
            timeout=args.timeout,
        )
    report = {
        f"{args.replicas} replicas on PostgreSQL": shared.summary(),
        "1 process on SQLite": {"seconds": round(single.seconds, 1)},
        "projections equal to the single process": shared.projections == single.projections,
        "objects compared": len(single.projections),
    }
    print(json.dumps(report, indent=2))
    clean = (
        shared.lost == shared.doubled == shared.rate_limited == 0
        and shared.succeeded_once == args.deliveries
        and shared.projections == single.projections
        and all(n == 1 for n in shared.created_per_key.values())
        and len(shared.created_per_key) == args.writes
        and shared.emulator_requests <= RATE_LIMIT
    )
    return 0 if clean else 1


if __name__ == "__main__":
    sys.exit(main())
