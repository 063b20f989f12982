"""Webhook normalizers for the memory provider's change events.

A memory event is ``{"event": kind, "action": "created|updated|deleted",
"delivery_id": ..., "object": {native object}}``. Each normalizer turns one
into a :class:`~kradle_providers.models.NormalizeResult` carrying a canonical
:class:`~kradle_providers.models.SyncEvent`, using the same native->canonical
mapping as the adapter. ``ping`` is informational; a malformed payload is an
explained ``malformed`` result, never an exception.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from pydantic import ValidationError

from kradle_providers.models import (
    ChangeAction,
    NormalizeOutcome,
    NormalizeResult,
    SyncEvent,
)
from kradle_providers.testing.memory_mapping import (
    CANONICAL_KIND,
    NATIVE_INTERFACE,
    to_canonical,
    version_of,
)
from kradle_providers.webhooks.normalizer import EventNormalizer, NormalizeContext

__all__ = ["NORMALIZERS", "normalize", "normalize_ping"]

PROVIDER = "memory"
_ACTIONS = {a.value for a in ChangeAction if a is not ChangeAction.UNKNOWN}


def _malformed(event: str, reason: str) -> NormalizeResult:
    return NormalizeResult(
        provider=PROVIDER, native_event=event, outcome=NormalizeOutcome.MALFORMED, reason=reason
    )


def _normalize_kind(
    kind: str, context: NormalizeContext, payload: Mapping[str, Any]
) -> NormalizeResult:
    if not isinstance(payload, Mapping):
        return _malformed(kind, "the payload is not a JSON object")
    if payload.get("event", kind) != kind:
        return _malformed(
            kind, f"the payload says event {payload.get('event')!r}, delivered as {kind!r}"
        )
    action = payload.get("action")
    if action not in _ACTIONS:
        return _malformed(kind, f"action must be one of {sorted(_ACTIONS)}, got {action!r}")
    native = payload.get("object")
    if not isinstance(native, Mapping) or native.get("id") is None:
        return _malformed(kind, "`object` must be the changed object with its `id`")
    if kind == "issue" and native.get("pull_request"):
        # A PR-backed issue is the pull request's shadow; its pull_request event
        # carries the change, so it never becomes a second work item.
        return NormalizeResult(
            provider=PROVIDER,
            native_event=kind,
            outcome=NormalizeOutcome.IGNORED,
            reason="PR-backed issue: the pull_request event carries this change",
        )
    try:
        obj = to_canonical(kind, native, context.provider)
        version = version_of(native)
    except (KeyError, TypeError, ValueError, AttributeError, ValidationError) as exc:
        detail = exc.errors()[0]["msg"] if isinstance(exc, ValidationError) else repr(exc)
        return _malformed(kind, f"`object` is not a valid memory {kind}: {detail}")
    delivery = context.delivery_id or payload.get("delivery_id")
    occurred: datetime | None = version.updated_at
    event = SyncEvent(
        provider=context.provider,
        interface=NATIVE_INTERFACE[kind],
        object_kind=CANONICAL_KIND[kind],
        action=action,
        native_event=kind,
        native_action=action,
        native_id=obj.external.native_id,
        delivery_id=str(delivery) if delivery is not None else None,
        occurred_at=occurred,
        version=version,
        object=obj,
    )
    return NormalizeResult(
        provider=PROVIDER,
        native_event=kind,
        outcome=NormalizeOutcome.NORMALIZED,
        events=[event],
    )


def normalize(context: NormalizeContext, payload: Mapping[str, Any]) -> NormalizeResult:
    """Normalize any memory event, dispatching on ``context.event``."""
    normalizer = NORMALIZERS.get(context.event)
    if normalizer is None:
        return NormalizeResult(
            provider=PROVIDER,
            native_event=context.event,
            outcome=NormalizeOutcome.UNKNOWN_EVENT,
            reason=f"the memory provider sends no {context.event!r} event",
        )
    return normalizer(context, payload)


def normalize_ping(context: NormalizeContext, payload: Mapping[str, Any]) -> NormalizeResult:
    """``ping`` is informational: acknowledged, no sync events."""
    return NormalizeResult(
        provider=PROVIDER,
        native_event="ping",
        outcome=NormalizeOutcome.IGNORED,
        reason="ping is informational",
    )


def _for(kind: str) -> EventNormalizer:
    def normalizer(context: NormalizeContext, payload: Mapping[str, Any]) -> NormalizeResult:
        try:
            return _normalize_kind(kind, context, payload)
        except Exception as exc:  # a normalizer never raises: the contract says so
            return _malformed(kind, f"could not normalize: {type(exc).__name__}")

    normalizer.__name__ = f"normalize_{kind}"
    normalizer.__doc__ = f"Normalize a memory ``{kind}`` event."
    return normalizer


NORMALIZERS: dict[str, EventNormalizer] = {kind: _for(kind) for kind in CANONICAL_KIND}
"""Every webhook event of the memory manifest -> its normalizer."""
NORMALIZERS["ping"] = normalize_ping
