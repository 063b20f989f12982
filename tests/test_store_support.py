"""Builders shared by the state-store tests (no tests here): objects with chosen versions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from kradle_providers.models.base import (
    Extensions,
    ExternalEnvelope,
    Interface,
    ProviderRef,
    Version,
)
from kradle_providers.models.cicd import Pipeline
from kradle_providers.models.issues import Issue
from kradle_providers.sync.records import ObjectKey

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
    return Pipeline(
        external=envelope(
            native_id,
            native_kind="build",
            interface=Interface.CICD,
            version=Version(updated_at=T0 + timedelta(minutes=minutes)),
        ),
    )


def issue_key(native_id: str = "1", *, instance: str = "default") -> ObjectKey:
    return ObjectKey(
        provider_type="acme",
        instance=instance,
        interface=Interface.ISSUE_TRACKING,
        kind="Issue",
        native_id=native_id,
    )


class ManualClock:
    """A settable wall clock for the store."""

    def __init__(self, start: datetime = T0) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kw: float) -> None:
        self.now += timedelta(**kw)
