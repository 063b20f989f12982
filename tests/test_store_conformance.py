"""The store conformance suite, run on the embedded SQLite store and on PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from kradle_providers.store import SqliteStateStore, StateStore
from kradle_providers.testing.store_conformance import CHECKS, StoreFactory
from tests.postgres_support import DSN


def _options(clock: Callable[[], datetime] | None, ttl: timedelta | None) -> dict[str, Any]:
    options: dict[str, Any] = {}
    if clock is not None:
        options["clock"] = clock
    if ttl is not None:
        options["dedupe_ttl"] = ttl
    return options


@pytest.fixture(params=["sqlite", "postgres"])
def store_factory(request: pytest.FixtureRequest, tmp_path: Path) -> StoreFactory:
    if request.param == "sqlite":
        path = tmp_path / "state.db"

        def sqlite(
            *, clock: Callable[[], datetime] | None = None, dedupe_ttl: timedelta | None = None
        ) -> StateStore:
            return SqliteStateStore(path, **_options(clock, dedupe_ttl))

        return sqlite
    schema: str = request.getfixturevalue("pg_schema")
    from kradle_providers.store.postgres import PostgresStateStore

    def postgres(
        *, clock: Callable[[], datetime] | None = None, dedupe_ttl: timedelta | None = None
    ) -> StateStore:
        return PostgresStateStore(DSN, schema=schema, max_size=4, **_options(clock, dedupe_ttl))

    return postgres


@pytest.mark.parametrize("name", list(CHECKS))
async def test_store_conformance(name: str, store_factory: StoreFactory) -> None:
    await CHECKS[name](store_factory)
