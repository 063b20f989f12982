"""The state store: where sync checkpoints, projections, intents, conflicts and audit live.

:class:`StateStore` is the protocol; :class:`SqliteStateStore` (one embedded
SQLite file) is the default implementation and
:class:`~kradle_providers.store.postgres.PostgresStateStore` the shared one for
several replicas; :func:`open_state_store` picks one by URL.
"""

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
    "StoreError",
    "SyncStateRepository",
    "WriteIntentRepository",
    "open_state_store",
]
