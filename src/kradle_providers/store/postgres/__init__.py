"""The shared state store for several replicas: one PostgreSQL schema (see :mod:`.engine`).

Needs the ``postgres`` extra: ``pip install 'kradle-providers[postgres]'``.
"""

from kradle_providers.store.postgres.engine import PostgresStateStore

__all__ = ["PostgresStateStore"]
