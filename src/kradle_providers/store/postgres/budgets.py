"""Rate-limit budgets shared by replicas, in PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

from kradle_providers.http.ratelimit import BudgetState

if TYPE_CHECKING:
    from kradle_providers.store.postgres.engine import Conn, PostgresStateStore

__all__ = ["PostgresBudgets"]

T = TypeVar("T")


class PostgresBudgets:
    """A :class:`~kradle_providers.http.ratelimit.BudgetBackend`: one locked row per budget."""

    def __init__(self, store: PostgresStateStore) -> None:
        self._store = store

    async def transact(self, key: str, fn: Callable[[BudgetState], T]) -> T:
        """Apply ``fn`` to the budget under ``key`` with its row locked."""

        async def work(conn: Conn) -> T:
            await conn.execute(
                "INSERT INTO budgets (key, state) VALUES (%s, '') ON CONFLICT DO NOTHING", (key,)
            )
            cur = await conn.execute("SELECT state FROM budgets WHERE key = %s FOR UPDATE", (key,))
            row = await cur.fetchone()
            state = BudgetState.from_json(None if row is None else row[0])
            result = fn(state)
            await conn.execute(
                "UPDATE budgets SET state = %s WHERE key = %s", (state.to_json(), key)
            )
            return result

        return await self._store.transaction(work)
