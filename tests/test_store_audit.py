"""Audit redaction down to the stored bytes of each store (the rest: the conformance suite)."""

from __future__ import annotations

from pathlib import Path

from kradle_providers.auth.secret import Secret
from kradle_providers.store import SqliteStateStore
from kradle_providers.sync.records import AuditEvent, AuditOutcome

CANARY = "audit-canary-7d1e0c55b2"


def _event() -> AuditEvent:
    # The secret becomes known only after the event was built: storage re-redacts.
    event = AuditEvent(
        actor="agent",
        action="updateIssue",
        outcome=AuditOutcome.FAILED,
        target="acme/widgets",
        details={"response": f"401: bad credential {CANARY}", "nested": [{"x": CANARY}]},
    )
    Secret(CANARY)
    return event


async def test_audit_canary_secret_never_reaches_the_sqlite_file(tmp_path: Path) -> None:
    async with SqliteStateStore(tmp_path / "s.db") as store:
        saved = await store.audit.append(_event())
        raw = await store.call(lambda c: [r[0] for r in c.execute("SELECT record FROM audit")])
    assert CANARY not in "".join(raw)
    assert CANARY.encode() not in (tmp_path / "s.db").read_bytes()
    assert saved.details["response"] == "401: bad credential ***"


async def test_audit_canary_secret_never_reaches_postgres(pg_schema: str) -> None:
    from kradle_providers.store.postgres import PostgresStateStore
    from tests.postgres_support import DSN

    async with PostgresStateStore(DSN, schema=pg_schema) as store:
        await store.audit.append(_event())
        rows = await store.fetchall("SELECT record FROM audit")
    assert rows and CANARY not in "".join(r[0] for r in rows)
