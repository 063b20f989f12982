"""Records with chosen versions and times, for state-store tests (ours and a host's)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from kradle_providers.models.base import (
    Extensions,
    ExternalEnvelope,
    ExternalRef,
    Interface,
    ProviderRef,
    Version,
)
from kradle_providers.models.cicd import Pipeline
from kradle_providers.models.issues import Issue
from kradle_providers.sync.records import (
    Conflict,
    ConflictReason,
    FieldConflict,
    ObjectKey,
    WriteIntent,
)
from kradle_providers.webhooks.deliveries import DeliveryRecord

__all__ = [
    "BINDING",
    "T0",
    "conflict",
    "delivery",
    "envelope",
    "intent",
    "issue",
    "issue_key",
    "pipeline",
]

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
BINDING = "acme/widgets"


def envelope(
    native_id: str,
    *,
    native_kind: str = "issue",
    version: Version | None = None,
    interface: Interface = Interface.ISSUE_TRACKING,
    instance: str = "default",
) -> ExternalEnvelope:
    """The envelope of an ``acme`` object."""
    return ExternalEnvelope(
        provider=ProviderRef(type="acme", instance=instance),
        interface=interface,
        native_kind=native_kind,
        native_id=native_id,
        native_number=native_id,
        version=version or Version(),
        extensions=Extensions(provider_type="acme"),
    )


def issue(
    native_id: str = "1",
    *,
    title: str = "A title",
    minutes: int | None = 0,
    sequence: int | None = None,
    labels: list[str] | None = None,
    instance: str = "default",
) -> Issue:
    """An issue updated ``minutes`` after :data:`T0` (``None``: unversioned)."""
    updated = None if minutes is None else T0 + timedelta(minutes=minutes)
    return Issue(
        external=envelope(
            native_id, version=Version(updated_at=updated, sequence=sequence), instance=instance
        ),
        title=title,
        labels=labels or [],
        updated_at=updated,
    )


def pipeline(native_id: str = "p1", *, minutes: int = 0) -> Pipeline:
    """A pipeline updated ``minutes`` after :data:`T0`."""
    return Pipeline(
        external=envelope(
            native_id,
            native_kind="build",
            interface=Interface.CICD,
            version=Version(updated_at=T0 + timedelta(minutes=minutes)),
        ),
    )


def issue_key(native_id: str = "1", *, instance: str = "default") -> ObjectKey:
    """The key of :func:`issue` ``native_id``."""
    return ObjectKey(
        provider_type="acme",
        instance=instance,
        interface=Interface.ISSUE_TRACKING,
        kind="Issue",
        native_id=native_id,
    )


def delivery(delivery_id: str = "d1", *, minutes: int = 0) -> DeliveryRecord:
    """A ``Received`` delivery record (with an Authorization header to be dropped)."""
    return DeliveryRecord.received(
        provider="acme",
        instance="default",
        event="issues",
        delivery_id=delivery_id,
        body=b'{"action":"opened"}',
        headers={"X-Acme-Event": "issues", "Authorization": "Bearer abcdefgh"},
        at=T0 + timedelta(minutes=minutes),
    )


def intent(key: str = "idem-1", binding: str = BINDING) -> WriteIntent:
    """A ``PendingApproval`` comment intent with idempotency key ``key``."""
    return WriteIntent.new(
        binding=binding,
        interface=Interface.ISSUE_TRACKING,
        operation="createComment",
        target=ExternalRef(owner="acme", repository="widgets"),
        object_id="7",
        payload={"body": {"markdown": "hi"}},
        idempotency_key=key,
        actor="agent:triage",
        at=T0,
    )


def conflict(intent_id: str | None = None) -> Conflict:
    """An ``Open`` conflict (of ``intent_id``)."""
    return Conflict.new(
        binding=BINDING,
        key=issue_key("7"),
        reason=ConflictReason.UNCONFIRMED_WRITE,
        fields=[FieldConflict(field="body", base=None, local="hi", external=None)],
        intent_id=intent_id,
        at=T0,
    )
