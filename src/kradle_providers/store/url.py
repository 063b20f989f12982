"""Choosing a state store by URL: a SQLite path or ``sqlite:///…``, or ``postgresql://…``.

Every ``sync`` command's ``--db`` and a host's configuration go through
:func:`open_state_store`, so the same string selects the embedded default or
the shared PostgreSQL store.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit, urlunsplit

from kradle_providers.auth.secret import redact
from kradle_providers.errors import InvalidInput

if TYPE_CHECKING:
    from kradle_providers.store.protocol import StateStore

__all__ = ["display_name", "is_postgres_url", "local_path", "open_state_store", "redact_dsn"]

_PG_SCHEMES = ("postgresql", "postgres")


def is_postgres_url(target: str | os.PathLike[str]) -> bool:
    """Whether ``target`` names a PostgreSQL database."""
    return isinstance(target, str) and urlsplit(target).scheme in _PG_SCHEMES


def local_path(target: str | os.PathLike[str]) -> Path | None:
    """The SQLite file ``target`` names (``None`` for PostgreSQL and ``:memory:``)."""
    if is_postgres_url(target):
        return None
    text = os.fspath(target)
    if text.startswith("sqlite:"):
        text = _sqlite_path(text)
    return None if text == ":memory:" else Path(text)


def _sqlite_path(url: str) -> str:
    # sqlite:///relative.db, sqlite:////absolute.db (as SQLAlchemy spells them), sqlite://:memory:
    rest = url.removeprefix("sqlite:")
    if rest.startswith("///"):
        return rest[3:]
    if rest.startswith("//"):
        return rest[2:] or ":memory:"
    return rest or ":memory:"


def open_state_store(target: str | os.PathLike[str], **options: Any) -> StateStore:
    """A (not yet opened) state store for ``target``; use it as ``async with``.

    - a path, ``sqlite:///relative.db``, ``sqlite:////abs/path.db`` or
      ``:memory:``: :class:`~kradle_providers.store.SqliteStateStore`;
    - ``postgresql://user@host/db[?schema=name]``:
      :class:`~kradle_providers.store.postgres.PostgresStateStore` (needs the
      ``postgres`` extra); ``schema`` (default ``kradle``) is taken out of the
      URL, every other parameter goes to libpq.

    ``options`` go to the store's constructor (``clock``, ``dedupe_ttl``, pool sizes…).
    """
    if is_postgres_url(target):
        url = str(target)
        parts = urlsplit(url)
        query = parse_qs(parts.query, keep_blank_values=True)
        schema = query.pop("schema", [None])[-1]
        if schema is not None:
            options.setdefault("schema", schema)
        rest = "&".join(f"{k}={v}" for k, values in query.items() for v in values)
        dsn = urlunsplit(parts._replace(query=rest))
        try:
            from kradle_providers.store.postgres import PostgresStateStore
        except ImportError as exc:
            raise InvalidInput(
                f"{url.split('@')[-1]!r} is a PostgreSQL store but psycopg is not installed "
                f"({exc.name}); install it with: pip install 'kradle-providers[postgres]'",
                field="db",
            ) from None
        return PostgresStateStore(dsn, **options)
    from kradle_providers.store.sqlite import SqliteStateStore

    path = local_path(target)
    return SqliteStateStore(":memory:" if path is None else path, **options)


def redact_dsn(dsn: str) -> str:
    """``dsn`` without its password (URL or ``key=value`` form)."""
    out = re.sub(r"(://[^:/@]*):[^@]*@", r"\1:***@", dsn)
    return redact(re.sub(r"(password\s*=\s*)\S+", r"\1***", out))


def display_name(target: str | os.PathLike[str]) -> str:
    """``target`` as messages show it (a PostgreSQL URL without its password)."""
    return redact_dsn(str(target)) if is_postgres_url(target) else os.fspath(target)
