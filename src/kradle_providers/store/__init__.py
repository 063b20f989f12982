"""The state store: where sync checkpoints, projections, intents, conflicts and audit live.

:class:`StateStore` is the protocol; :class:`SqliteStateStore` (one embedded
SQLite file) is the default implementation.
"""

from kradle_providers.store.errors import (
    DuplicateRecord,
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
    DeliveryRepository,
    ExpiringDedupeStore,
    ProjectionRepository,
    StateStore,
    SyncStateRepository,
    WriteIntentRepository,
)
from kradle_providers.store.sqlite import SqliteStateStore

__all__ = [
    "MIGRATIONS",
    "SCHEMA_VERSION",
    "ApplyOutcome",
    "AuditLog",
    "ConflictRepository",
    "DeliveryRepository",
    "DuplicateRecord",
    "ExpiringDedupeStore",
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
]
