"""What ``sync status`` reports: objects, streams, phases, deliveries, intents, conflicts.

:func:`status_report` reads any :class:`~kradle_providers.store.protocol.StateStore`.
:func:`read_sqlite_status` is the same report read straight from a SQLite store file
with :mod:`sqlite3` and :mod:`json` only: opening the store API costs about 200 ms
of imports (pydantic models of every record), many times the queries themselves,
and ``sync status`` is a command people run by hand. The two are checked equal by
the test suite on stores holding every kind of record.
"""

from __future__ import annotations

import json
import sqlite3
from collections import Counter
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kradle_providers.store.migrations import SCHEMA_VERSION
from kradle_providers.sync.phases import PHASE_ACTIONS, ProviderPhase

if TYPE_CHECKING:
    from kradle_providers.store.protocol import StateStore

__all__ = ["read_sqlite_status", "status_report"]

# audit action -> "provider" | "binding"
_PHASE_FAMILIES = {
    action: ("provider" if family is ProviderPhase else "binding")
    for family, action in PHASE_ACTIONS.items()
}


async def status_report(store: StateStore, *, binding: str | None = None) -> dict[str, Any]:
    """What ``sync status --json`` prints: objects, states, phases, deliveries, intents,
    conflicts."""
    from kradle_providers.sync.lifecycle import current_phases

    objects = await store.projections.count_by_kind(binding)
    states = [
        s.model_dump(mode="json", exclude={"checkpoint"})
        for s in await store.sync_states.find(binding=binding)
    ]
    deliveries = {p.value: n for p, n in (await store.deliveries.count_by_phase()).items()}
    phases = {
        b: {
            kind: {
                subject: {"phase": st.phase, "reason": st.reason, "at": st.at.isoformat()}
                for subject, st in by_subject.items()
            }
            for kind, by_subject in by_kind.items()
        }
        for b, by_kind in (await current_phases(store, binding=binding)).items()
    }
    return {
        "objects": dict(sorted(objects.items())),
        "states": states,
        "phases": phases,
        "deliveries": deliveries,
        "intents": _count(r.phase.value for r in await store.intents.find(binding=binding)),
        "conflicts": _count(r.phase.value for r in await store.conflicts.find(binding=binding)),
    }


def read_sqlite_status(path: Path, *, binding: str | None = None) -> dict[str, Any] | None:
    """:func:`status_report` of the SQLite store file at ``path``, read-only.

    ``None`` when the file's schema is not this version's (an older file is migrated
    by opening it through the store API; a newer one is refused there with the fix).
    """
    conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    try:
        if conn.execute("PRAGMA user_version").fetchone()[0] != SCHEMA_VERSION:
            return None
        mine, params = ("binding = ?", (binding,)) if binding is not None else ("1", ())

        def rows(sql: str, *, filtered: bool = True) -> list[tuple[Any, ...]]:
            # Only our own table and column names are formatted in; values are bound.
            return conn.execute(sql.format(mine=mine), params if filtered else ()).fetchall()

        objects = rows(
            "SELECT interface, kind, COUNT(*) FROM projections WHERE tombstoned = 0 "
            "AND {mine} GROUP BY interface, kind ORDER BY interface, kind"
        )
        states = rows(
            "SELECT record FROM sync_states WHERE {mine} ORDER BY binding, interface, kind, scope"
        )
        deliveries = rows("SELECT phase, COUNT(*) FROM deliveries GROUP BY phase", filtered=False)
        phases: dict[str, dict[str, dict[str, Any]]] = {}
        for (record,) in rows("SELECT record FROM audit WHERE {mine} ORDER BY id"):
            event = json.loads(record)
            family = _PHASE_FAMILIES.get(event.get("action"))
            if family is None or event.get("binding") is None or event.get("target") is None:
                continue
            details = event.get("details") or {}
            reason = details.get("reason")
            phases.setdefault(event["binding"], {}).setdefault(family, {})[event["target"]] = {
                "phase": str(details.get("to")),
                "reason": reason if isinstance(reason, str) else None,
                "at": datetime.fromisoformat(event["at"]).isoformat(),
            }
        intents = rows("SELECT phase FROM write_intents WHERE {mine} ORDER BY created_at, rowid")
        conflicts = rows("SELECT phase FROM conflicts WHERE {mine} ORDER BY created_at, rowid")
        return {
            "objects": {f"{i}/{k}": int(n) for i, k, n in objects},
            "states": [_without_checkpoint(json.loads(r)) for (r,) in states],
            "phases": phases,
            "deliveries": {p: int(n) for p, n in deliveries},
            "intents": _count(p for (p,) in intents),
            "conflicts": _count(p for (p,) in conflicts),
        }
    finally:
        conn.close()


def _without_checkpoint(state: dict[str, Any]) -> dict[str, Any]:
    state.pop("checkpoint", None)
    return state


def _count(phases: Iterable[str]) -> dict[str, int]:
    """How many records are in each phase, in order of first appearance."""
    return dict(Counter(phases))
