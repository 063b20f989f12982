"""Reaching the test PostgreSQL server: one named skip where none answers, a failure in CI.

``KRADLE_TEST_POSTGRES_DSN`` names the server (default: the local test one);
``KRADLE_REQUIRE_POSTGRES=1`` (set by ``.ci/run``) turns the skip into a failure
so CI never passes without the PostgreSQL tests. Every test gets its own
schema, dropped afterwards, so parallel and repeated runs never collide.
"""

from __future__ import annotations

import functools
import os
import uuid
from collections.abc import Iterator

import pytest

DSN = os.environ.get("KRADLE_TEST_POSTGRES_DSN", "postgresql://postgres@127.0.0.1:5432/test")
SKIP_REASON = "PostgreSQL not reachable (set KRADLE_TEST_POSTGRES_DSN)"


@functools.cache
def _unreachable() -> str | None:
    """Why the server cannot be used, or ``None``."""
    try:
        import psycopg
    except ImportError:
        return "psycopg is not installed (pip install 'kradle-providers[postgres]')"
    try:
        with psycopg.connect(DSN, connect_timeout=3) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as exc:
        return f"{type(exc).__name__}: {exc}".strip()
    return None


def require_postgres() -> str:
    """The DSN, or skip (fail under ``KRADLE_REQUIRE_POSTGRES=1``) when nothing answers."""
    why = _unreachable()
    if why is not None:
        if os.environ.get("KRADLE_REQUIRE_POSTGRES") == "1":
            pytest.fail(f"KRADLE_REQUIRE_POSTGRES=1 but {SKIP_REASON}: {why}")
        pytest.skip(SKIP_REASON)
    return DSN


@pytest.fixture
def pg_schema() -> Iterator[str]:
    """A fresh schema name on the test server; the schema is dropped afterwards."""
    dsn = require_postgres()
    name = f"t_{uuid.uuid4().hex[:12]}"
    yield name
    import psycopg
    from psycopg import sql

    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(name)))
