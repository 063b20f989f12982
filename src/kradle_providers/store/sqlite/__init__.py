"""The default state store: one embedded SQLite file (see :mod:`.engine` for the design)."""

from kradle_providers.store.sqlite.audit import SqliteAuditLog
from kradle_providers.store.sqlite.conflicts import SqliteConflictRepository
from kradle_providers.store.sqlite.dedupe import SqliteDedupeStore
from kradle_providers.store.sqlite.deliveries import SqliteDeliveryRepository
from kradle_providers.store.sqlite.engine import SqliteStateStore
from kradle_providers.store.sqlite.intents import SqliteWriteIntentRepository
from kradle_providers.store.sqlite.leases import SqliteLeases
from kradle_providers.store.sqlite.projections import SqliteProjectionRepository
from kradle_providers.store.sqlite.sync_states import SqliteSyncStateRepository

__all__ = [
    "SqliteAuditLog",
    "SqliteConflictRepository",
    "SqliteDedupeStore",
    "SqliteDeliveryRepository",
    "SqliteLeases",
    "SqliteProjectionRepository",
    "SqliteStateStore",
    "SqliteSyncStateRepository",
    "SqliteWriteIntentRepository",
]
