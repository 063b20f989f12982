"""Acme webhook normalizers: ``ticket.*``, ``comment.*`` and the informational ``ping``.

Acme sends ``{"event": "ticket.created", "ticket": {...}}``; the event family
(before the dot) picks the normalizer. A malformed payload is an explained
``malformed`` result, never an exception.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from typing import Any

from kradle_providers.models import (
    ChangeAction,
    NormalizeOutcome,
    NormalizeResult,
    SyncEvent,
)
from kradle_providers.plugins.spec import ProviderConfig
from kradle_providers.webhooks.normalizer import EventNormalizer, NormalizeContext

__all__ = ["NORMALIZERS"]

_ACTIONS = {"created": ChangeAction.CREATED, "updated": ChangeAction.UPDATED}


@cache
def _mapper() -> Any:
    # The adapter owns the native -> canonical mapping; reuse it (no HTTP is made).
    # Built once: an adapter's HTTP client loads the TLS trust store (~20 ms).
    from kradle_provider_acme.adapter import AcmeAdapter

    return AcmeAdapter.from_config(ProviderConfig(api_base_url="https://acme.invalid"))


def _normalize(kind: str, context: NormalizeContext, payload: Mapping[str, Any]) -> NormalizeResult:
    event = context.event
    action = _ACTIONS.get(event.split(".", 1)[-1])
    native = payload.get(kind) if isinstance(payload, Mapping) else None
    if action is None or not isinstance(native, Mapping) or "id" not in native:
        return NormalizeResult(
            provider=context.provider.type,
            native_event=event,
            outcome=NormalizeOutcome.MALFORMED,
            reason=f"expected {kind}.created/updated with a `{kind}` object carrying its id",
        )
    try:
        mapper = _mapper()
        obj = mapper.ticket(native) if kind == "ticket" else mapper.comment(native)
    except (KeyError, TypeError, ValueError) as exc:
        return NormalizeResult(
            provider=context.provider.type,
            native_event=event,
            outcome=NormalizeOutcome.MALFORMED,
            reason=f"`{kind}` is not a valid Acme {kind}: {exc!r}",
        )
    obj.external.provider = context.provider
    sync = SyncEvent(
        provider=context.provider,
        interface=obj.external.interface,
        object_kind=obj.kind,
        action=action,
        native_event=event,
        native_action=event.split(".", 1)[-1],
        native_id=obj.external.native_id,
        delivery_id=context.delivery_id,
        occurred_at=obj.external.version.updated_at,
        version=obj.external.version,
        object=obj,
    )
    return NormalizeResult(
        provider=context.provider.type,
        native_event=event,
        outcome=NormalizeOutcome.NORMALIZED,
        events=[sync],
    )


def normalize_ticket(context: NormalizeContext, payload: Mapping[str, Any]) -> NormalizeResult:
    """``ticket.created`` / ``ticket.updated`` -> one Issue sync event."""
    return _normalize("ticket", context, payload)


def normalize_comment(context: NormalizeContext, payload: Mapping[str, Any]) -> NormalizeResult:
    """``comment.created`` -> one Comment sync event."""
    return _normalize("comment", context, payload)


def normalize_ping(context: NormalizeContext, payload: Mapping[str, Any]) -> NormalizeResult:
    """``ping`` is informational: acknowledged, no sync event."""
    return NormalizeResult(
        provider=context.provider.type,
        native_event=context.event,
        outcome=NormalizeOutcome.IGNORED,
        reason="delivery check",
    )


NORMALIZERS: dict[str, EventNormalizer] = {
    "ticket.created": normalize_ticket,
    "ticket.updated": normalize_ticket,
    "comment.created": normalize_comment,
    "ping": normalize_ping,
}
"""Native event name (``X-Acme-Event``) -> normalizer."""
