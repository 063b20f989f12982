"""The state store: where sync checkpoints, projections, intents, conflicts and audit live.

:class:`StateStore` is the protocol; :class:`SqliteStateStore` (one embedded
SQLite file) is the default implementation and
:class:`~kradle_providers.store.postgres.PostgresStateStore` the shared one for
several replicas; :func:`open_state_store` picks one by URL.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from kradle_providers._lazy import lazy_exports

if TYPE_CHECKING:
    from kradle_providers.store.counters import StoreCounters
    from kradle_providers.store.errors import (
        DuplicateRecord,
        LeaseLost,
        PhaseMismatch,
        SchemaTooNew,
        StoreClosed,
        StoreError,
    )
    from kradle_providers.store.migrations import MIGRATIONS, SCHEMA_VERSION, Migration
    from kradle_providers.store.ordering import ApplyOutcome
    from kradle_providers.store.protocol import (
        AuditLog,
        ConflictRepository,
        DeliveryClaims,
        DeliveryRepository,
        ExpiringDedupeStore,
        LeaseRepository,
        ProjectionRepository,
        StateStore,
        SyncStateRepository,
        WriteIntentRepository,
    )
    from kradle_providers.store.sqlite import SqliteStateStore
    from kradle_providers.store.url import open_state_store

__all__ = [
    "MIGRATIONS",
    "SCHEMA_VERSION",
    "ApplyOutcome",
    "AuditLog",
    "ConflictRepository",
    "DeliveryClaims",
    "DeliveryRepository",
    "DuplicateRecord",
    "ExpiringDedupeStore",
    "LeaseLost",
    "LeaseRepository",
    "Migration",
    "PhaseMismatch",
    "ProjectionRepository",
    "SchemaTooNew",
    "SqliteStateStore",
    "StateStore",
    "StoreClosed",
    "StoreCounters",
    "StoreError",
    "SyncStateRepository",
    "WriteIntentRepository",
    "open_state_store",
]

# Each name's module, imported on first access so importing the package stays cheap.
_HOMES = {
    "StoreCounters": "kradle_providers.store.counters",
    "DuplicateRecord": "kradle_providers.store.errors",
    "LeaseLost": "kradle_providers.store.errors",
    "PhaseMismatch": "kradle_providers.store.errors",
    "SchemaTooNew": "kradle_providers.store.errors",
    "StoreClosed": "kradle_providers.store.errors",
    "StoreError": "kradle_providers.store.errors",
    "MIGRATIONS": "kradle_providers.store.migrations",
    "SCHEMA_VERSION": "kradle_providers.store.migrations",
    "Migration": "kradle_providers.store.migrations",
    "ApplyOutcome": "kradle_providers.store.ordering",
    "AuditLog": "kradle_providers.store.protocol",
    "ConflictRepository": "kradle_providers.store.protocol",
    "DeliveryClaims": "kradle_providers.store.protocol",
    "DeliveryRepository": "kradle_providers.store.protocol",
    "ExpiringDedupeStore": "kradle_providers.store.protocol",
    "LeaseRepository": "kradle_providers.store.protocol",
    "ProjectionRepository": "kradle_providers.store.protocol",
    "StateStore": "kradle_providers.store.protocol",
    "SyncStateRepository": "kradle_providers.store.protocol",
    "WriteIntentRepository": "kradle_providers.store.protocol",
    "SqliteStateStore": "kradle_providers.store.sqlite",
    "open_state_store": "kradle_providers.store.url",
}


__getattr__ = lazy_exports(__name__, _HOMES)
