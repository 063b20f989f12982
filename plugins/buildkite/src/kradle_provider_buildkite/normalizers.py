"""Buildkite webhook payloads -> canonical sync events.

``NORMALIZERS`` maps each ``X-Buildkite-Event`` name (``build.finished``,
``job.started``, ``agent.connected``, ``ping``...; and each family, ``build``,
``job``, ``agent``, for actions added later) to a function
``(NormalizeContext, payload) -> NormalizeResult``. Objects go through
:mod:`kradle_provider_buildkite.mapping`, the same functions the adapter uses.

Event -> :class:`ChangeAction`: ``build.scheduled`` and ``job.scheduled``
create their object; every other ``build.*``, ``job.*`` and ``agent.*``
event updates it. A build event is the build as a Pipeline, then its pipeline
as an updated PipelineDefinition (when the payload carries it whole). A job
event is the Job, linked to the payload's build. ``agent.blocked`` and
``cluster_token.*`` (a connection refused by an IP allow-list) and ``ping``
are ``ignored``: nothing that is synced changed. A payload without the
object's id (Buildkite's documentation abbreviates objects as
``{"...": "..."}``) is ``malformed`` with the reason; no normalizer raises.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from pydantic import ValidationError

from kradle_provider_buildkite import mapping
from kradle_providers.errors import KradleError
from kradle_providers.models import (
    CanonicalObject,
    ChangeAction,
    NormalizeOutcome,
    NormalizeResult,
    SyncEvent,
)
from kradle_providers.webhooks.normalizer import EventNormalizer, NormalizeContext

__all__ = ["INFORMATIONAL_EVENTS", "NORMALIZERS", "change_action"]

PROVIDER = mapping.PROVIDER_TYPE

INFORMATIONAL_EVENTS = frozenset({"ping", "agent.blocked", "cluster_token.registration_blocked"})
"""Events acknowledged without sync events."""

_CREATING = frozenset({"build.scheduled", "job.scheduled"})


class _Malformed(Exception):
    """Raised inside a normalizer; turned into a ``malformed`` result."""


def change_action(event: str) -> ChangeAction:
    """The canonical action of a Buildkite event (module notes)."""
    return ChangeAction.CREATED if event in _CREATING else ChangeAction.UPDATED


def _event(
    context: NormalizeContext,
    obj: CanonicalObject,
    event: str,
    action: ChangeAction | None = None,
) -> SyncEvent:
    version = obj.external.version
    _, _, native_action = event.partition(".")
    return SyncEvent(
        provider=context.provider,
        interface=obj.external.interface,
        object_kind=obj.kind_name(),
        action=action or change_action(event),
        native_event=event,
        native_action=native_action or None,
        native_id=obj.external.native_id,
        delivery_id=context.delivery_id,
        occurred_at=version.updated_at,
        version=version,
        object=obj,
    )


def _result(context: NormalizeContext, events: list[SyncEvent]) -> NormalizeResult:
    return NormalizeResult(
        provider=PROVIDER,
        native_event=context.event,
        outcome=NormalizeOutcome.NORMALIZED,
        events=events,
    )


def _ignored(context: NormalizeContext, reason: str) -> NormalizeResult:
    return NormalizeResult(
        provider=PROVIDER,
        native_event=context.event,
        outcome=NormalizeOutcome.IGNORED,
        reason=reason,
    )


def _object(payload: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = payload.get(key)
    if not isinstance(value, Mapping):
        got = "missing" if value is None else f"a {type(value).__name__}"
        raise _Malformed(f"`{key}` must be the {key} object, but it is {got}")
    if not isinstance(value.get("id"), str) or value.get("id") == "...":
        raise _Malformed(
            f"`{key}` has no `id` (an abbreviated {key} object); Buildkite sends the whole "
            f"{key} in deliveries: check the notification service sends full payloads"
        )
    return value


def _event_name(context: NormalizeContext, payload: Mapping[str, Any]) -> str:
    """The event: the header's, else the payload's ``event`` (they are the same)."""
    named = payload.get("event")
    if "." in context.event or not isinstance(named, str):
        return context.event
    return named


def _whole(payload: Mapping[str, Any], key: str) -> Mapping[str, Any] | None:
    value = payload.get(key)
    if isinstance(value, Mapping) and isinstance(value.get("id"), str) and value["id"] != "...":
        return value
    return None


_Body = Callable[[NormalizeContext, Mapping[str, Any], str], NormalizeResult]


def _safe(body: _Body) -> EventNormalizer:
    """Wrap a normalizer so that a bad payload is a ``malformed`` result, never a raise."""

    def normalize(context: NormalizeContext, payload: Mapping[str, Any]) -> NormalizeResult:
        def malformed(reason: str) -> NormalizeResult:
            return NormalizeResult(
                provider=PROVIDER,
                native_event=context.event,
                outcome=NormalizeOutcome.MALFORMED,
                reason=reason,
            )

        if not isinstance(payload, Mapping):
            return malformed(f"the payload must be a JSON object, not {type(payload).__name__}")
        try:
            event = _event_name(context, payload)
            if event in INFORMATIONAL_EVENTS:
                return _ignored(context, _informational(event, payload))
            return body(context, payload, event)
        except _Malformed as exc:
            return malformed(str(exc))
        except ValidationError as exc:
            first = exc.errors()[0]
            loc = ".".join(str(p) for p in first["loc"])
            return malformed(f"invalid Buildkite {context.event} payload: {first['msg']} at {loc}")
        except (KradleError, ValueError, TypeError, KeyError, AttributeError) as exc:
            return malformed(f"invalid Buildkite {context.event} payload: {exc}")

    normalize.__name__ = f"normalize_{body.__name__.lstrip('_')}"
    normalize.__doc__ = body.__doc__
    return normalize


def _informational(event: str, payload: Mapping[str, Any]) -> str:
    if event == "ping":
        service = payload.get("service")
        service_id = service.get("id") if isinstance(service, Mapping) else None
        return (
            f"ping for notification service {service_id!r} is informational: its settings "
            "changed, nothing in a pipeline did"
        )
    return (
        f"{event} is informational: a connection from {payload.get('blocked_ip')!r} was refused "
        "by the IP allow-list; no agent or build changed"
    )


def _build(context: NormalizeContext, payload: Mapping[str, Any], event: str) -> NormalizeResult:
    """``build.*``: the build as a Pipeline, then its pipeline as a PipelineDefinition."""
    owner = _whole(payload, "pipeline")
    native = _object(payload, "build")
    run = mapping.build(native, provider=context.provider, pipeline=owner)
    events = [_event(context, run, event)]
    if owner is not None:
        definition = mapping.pipeline(owner, provider=context.provider)
        events.append(_event(context, definition, event, ChangeAction.UPDATED))
    return _result(context, events)


def _job(context: NormalizeContext, payload: Mapping[str, Any], event: str) -> NormalizeResult:
    """``job.*``: the job, linked to the payload's build."""
    native = _object(payload, "job")
    obj = mapping.job(native, provider=context.provider, build=_whole(payload, "build"))
    return _result(context, [_event(context, obj, event)])


def _agent(context: NormalizeContext, payload: Mapping[str, Any], event: str) -> NormalizeResult:
    """``agent.*``: the agent as an updated Runner."""
    obj = mapping.agent(_object(payload, "agent"), provider=context.provider)
    return _result(context, [_event(context, obj, event)])


def _informational_only(
    context: NormalizeContext, payload: Mapping[str, Any], event: str
) -> NormalizeResult:
    """``ping`` and ``cluster_token.*``: acknowledged, nothing to sync."""
    return _ignored(context, _informational(event, payload))


BUILD_EVENTS = (
    "build.scheduled",
    "build.running",
    "build.failing",
    "build.finished",
    "build.skipped",
)
JOB_EVENTS = (
    "job.scheduled",
    "job.started",
    "job.finished",
    "job.activated",
    "job.promised_exit_status",
)
AGENT_EVENTS = (
    "agent.connected",
    "agent.lost",
    "agent.disconnected",
    "agent.stopping",
    "agent.stopped",
    "agent.blocked",
)

_build_normalizer = _safe(_build)
_job_normalizer = _safe(_job)
_agent_normalizer = _safe(_agent)
_informational_normalizer = _safe(_informational_only)

NORMALIZERS: dict[str, EventNormalizer] = {
    **dict.fromkeys(BUILD_EVENTS, _build_normalizer),
    **dict.fromkeys(JOB_EVENTS, _job_normalizer),
    **dict.fromkeys(AGENT_EVENTS, _agent_normalizer),
    "cluster_token.registration_blocked": _informational_normalizer,
    "ping": _informational_normalizer,
    # Families, for actions Buildkite adds later (looked up when no exact name matches).
    "build": _build_normalizer,
    "job": _job_normalizer,
    "agent": _agent_normalizer,
    "cluster_token": _informational_normalizer,
}
"""Every Buildkite webhook event this plugin understands, by ``X-Buildkite-Event`` name."""
