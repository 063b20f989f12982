"""Choosing a store by URL, in the API and in every ``sync`` command's ``--db``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kradle_providers.errors import InvalidInput
from kradle_providers.store import SqliteStateStore, open_state_store
from kradle_providers.store.url import display_name, local_path
from kradle_providers.sync.cli import main
from kradle_providers.sync.records import ProjectionSource
from tests.postgres_support import DSN
from tests.test_store_support import BINDING, issue


@pytest.mark.parametrize(
    ("target", "path"),
    [
        ("state.db", "state.db"),
        ("sqlite:///rel/state.db", "rel/state.db"),
        ("sqlite:////abs/state.db", "/abs/state.db"),
        (":memory:", None),
        ("sqlite://", None),
        ("postgresql://u@h/db", None),
    ],
)
def test_targets_name_the_right_store(target: str, path: str | None) -> None:
    assert local_path(target) == (None if path is None else Path(path))
    store = open_state_store(target)
    if target.startswith("postgresql"):
        assert type(store).__name__ == "PostgresStateStore"
    else:
        assert isinstance(store, SqliteStateStore)
        assert store.path == (path or ":memory:")


def test_postgres_url_takes_the_schema_out_and_hides_the_password() -> None:
    store = open_state_store("postgresql://app:hunter2@db:5432/k?schema=tenant_a&sslmode=disable")
    assert "hunter2" not in repr(store) and "hunter2" not in display_name(store.dsn)  # type: ignore[attr-defined]
    assert store.schema == "tenant_a"  # type: ignore[attr-defined]
    assert store.dsn == "postgresql://app:hunter2@db:5432/k?sslmode=disable"  # type: ignore[attr-defined]
    with pytest.raises(InvalidInput, match="identifier"):
        open_state_store("postgresql://db/k?schema=Robert';drop")


async def test_sync_status_reads_a_postgres_store(
    pg_schema: str, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"{DSN}?schema={pg_schema}"
    async with open_state_store(url) as store:
        await store.projections.apply_object(BINDING, issue("1"), source=ProjectionSource.WEBHOOK)
    # The command runs its own event loop: call it from a thread.
    import asyncio

    code = await asyncio.to_thread(main, ["sync", "status", "--db", url, "--json"])
    assert code == 0
    assert json.loads(capsys.readouterr().out)["objects"] == {"issueTracking/Issue": 1}
