"""Rate-limit budgets shared by the processes using one SQLite file."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

from kradle_providers.http.ratelimit import BudgetState
from kradle_providers.store.sqlite.rows import Conn

if TYPE_CHECKING:
    from kradle_providers.store.sqlite.engine import SqliteStateStore

__all__ = ["SqliteBudgets"]

T = TypeVar("T")


class SqliteBudgets:
    """A :class:`~kradle_providers.http.ratelimit.BudgetBackend` in the store's file."""

    def __init__(self, store: SqliteStateStore) -> None:
        self._store = store

    async def transact(self, key: str, fn: Callable[[BudgetState], T]) -> T:
        """Apply ``fn`` to the budget under ``key`` inside one write transaction."""

        def work(conn: Conn) -> T:
            row = conn.execute("SELECT state FROM budgets WHERE key = ?", (key,)).fetchone()
            state = BudgetState.from_json(None if row is None else row[0])
            result = fn(state)
            conn.execute(
                "INSERT OR REPLACE INTO budgets (key, state) VALUES (?, ?)", (key, state.to_json())
            )
            return result

        return await self._store.transaction(work)
