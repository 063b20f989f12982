"""Jira webhook payloads -> canonical sync events.

Jira sends no event header: the event is the payload's ``webhookEvent``
(``jira:issue_updated``, ``comment_created``). ``NORMALIZERS`` maps every
event the manifest declares, and its ``:`` -> ``_`` folded form (the fixture
folder names), to :func:`normalize`, which trusts the payload's own
``webhookEvent`` over the name it was called with when the two differ.

- ``jira:issue_created`` -> Issue created.
- ``jira:issue_updated`` -> Issue updated, with ``changes`` from
  ``changelog.items`` (canonical field names, see
  :func:`kradle_provider_jira.mapping.change_field`); plus one IssueEvent
  created per kind of change in the changelog (a status change is a
  ``transitioned`` event), ids shared with the REST changelog; plus, when the
  payload carries a ``comment`` (Server sends comment changes through
  ``jira:issue_updated`` with ``issue_event_type_name`` ``issue_commented`` /
  ``issue_comment_edited`` / ``issue_comment_deleted``, old versions without a
  type), a Comment event.
- ``jira:issue_deleted`` -> Issue deleted, the issue carried as the object.
- ``comment_created`` / ``comment_updated`` / ``comment_deleted`` -> Comment
  events; the issue reference comes from the payload ``issue`` or, on Data
  Center (which sends none), from the comment's ``self`` URL.
- ``worklog_*``, ``jira:worklog_updated``, ``attachment_created`` -> ``ignored``:
  informational, not part of the canonical model.

Versions order deliveries: ``updated_at`` is the object's ``updated`` and
``sequence`` the payload ``timestamp`` (epoch ms). ``delivery_id`` is the
context's, else Jira Cloud's ``X-Atlassian-Webhook-Identifier`` header. A
malformed payload is a ``malformed`` result with the reason; nothing raises.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from pydantic import ValidationError

from kradle_provider_jira import mapping
from kradle_providers.auth.secret import redact
from kradle_providers.models import (
    CanonicalObject,
    ChangeAction,
    FieldChange,
    Interface,
    NormalizeOutcome,
    NormalizeResult,
    ObjectRef,
    SyncEvent,
    Version,
)
from kradle_providers.webhooks.normalizer import EventNormalizer, NormalizeContext

__all__ = [
    "EVENTS",
    "INFORMATIONAL_EVENTS",
    "INTERNAL_ERROR_PREFIX",
    "NORMALIZERS",
    "comment_action",
    "folded_event",
    "normalize",
]

PROVIDER = mapping.PROVIDER_TYPE

INFORMATIONAL_EVENTS: Mapping[str, str] = {
    "worklog_created": "worklogs are not part of the canonical model",
    "worklog_updated": "worklogs are not part of the canonical model",
    "worklog_deleted": "worklogs are not part of the canonical model",
    "jira:worklog_updated": "worklogs are not part of the canonical model",
    "attachment_created": (
        "attachments are not part of the canonical model; the issue keeps its "
        "`attachment` field in extensions"
    ),
}
"""Events acknowledged without sync events, with the reason."""

_ISSUE_ACTIONS = {
    "jira:issue_created": ChangeAction.CREATED,
    "jira:issue_updated": ChangeAction.UPDATED,
    "jira:issue_deleted": ChangeAction.DELETED,
}
_COMMENT_ACTIONS = {
    "comment_created": ChangeAction.CREATED,
    "comment_updated": ChangeAction.UPDATED,
    "comment_deleted": ChangeAction.DELETED,
}
# issue_event_type_name of a comment change sent through jira:issue_updated.
_COMMENT_TYPE_ACTIONS = {
    "issue_commented": ChangeAction.CREATED,
    "issue_comment_edited": ChangeAction.UPDATED,
    "issue_comment_deleted": ChangeAction.DELETED,
}

EVENTS: tuple[str, ...] = (*_ISSUE_ACTIONS, *_COMMENT_ACTIONS, *INFORMATIONAL_EVENTS)
"""Every webhook event the manifest declares."""

_DELIVERY_HEADER = "x-atlassian-webhook-identifier"

INTERNAL_ERROR_PREFIX = "the Jira normalizer failed on this payload (a bug; please report it) in"
"""Start of the reason of a ``malformed`` result caused by a normalizer bug, not the payload."""


def folded_event(event: str) -> str:
    """The fixture-folder form of an event: ``jira:issue_updated`` -> ``jira_issue_updated``."""
    return event.replace(":", "_")


_BY_NAME: dict[str, str] = {**{e: e for e in EVENTS}, **{folded_event(e): e for e in EVENTS}}


class _Malformed(Exception):
    """Raised inside a handler; becomes a ``malformed`` result."""


# --- helpers ---------------------------------------------------------------------------


def _timestamp(payload: Mapping[str, Any]) -> int | None:
    value = payload.get("timestamp")
    if isinstance(value, bool) or not isinstance(value, int):
        return None
    return value


def _delivery_id(ctx: NormalizeContext) -> str | None:
    if ctx.delivery_id:
        return ctx.delivery_id
    for name, value in ctx.headers.items():
        if name.lower() == _DELIVERY_HEADER and value:
            return value
    return None


def _native_type(payload: Mapping[str, Any]) -> str | None:
    value = payload.get("issue_event_type_name")
    return value if isinstance(value, str) and value else None


def comment_action(event_type: str | None, comment: Mapping[str, Any]) -> ChangeAction:
    """The action of a comment carried by ``jira:issue_updated``.

    From ``issue_event_type_name`` when Jira sends one; old Server versions
    send none, so a comment whose ``updated`` differs from ``created`` was
    edited, otherwise it was just added.
    """
    if event_type in _COMMENT_TYPE_ACTIONS:
        return _COMMENT_TYPE_ACTIONS[event_type]
    created, updated = comment.get("created"), comment.get("updated")
    if updated is not None and updated != created:
        return ChangeAction.UPDATED
    return ChangeAction.CREATED


class _Builder:
    """The facts shared by every event of one delivery."""

    def __init__(self, ctx: NormalizeContext, payload: Mapping[str, Any], event: str) -> None:
        self.ctx = ctx
        self.event = event
        self.sequence = _timestamp(payload)
        self.native_action = _native_type(payload) or event
        self.delivery_id = _delivery_id(ctx)
        self.occurred_at = mapping.parse_datetime(self.sequence)

    def event_for(
        self,
        obj: CanonicalObject,
        action: ChangeAction,
        *,
        changes: list[FieldChange] | None = None,
    ) -> SyncEvent:
        updated = obj.external.version.updated_at
        return SyncEvent(
            provider=self.ctx.provider,
            interface=Interface.ISSUE_TRACKING,
            object_kind=obj.kind_name(),
            action=action,
            native_event=self.event,
            native_action=self.native_action,
            native_id=obj.external.native_id,
            delivery_id=self.delivery_id,
            occurred_at=self.occurred_at or updated,
            version=Version(updated_at=updated, sequence=self.sequence),
            object=obj,
            changes=changes or [],
        )


def _mapping_of(payload: Mapping[str, Any], key: str, event: str) -> Mapping[str, Any]:
    value = payload.get(key)
    if not isinstance(value, Mapping):
        got = "nothing" if value is None else type(value).__name__
        raise _Malformed(f"a {event} payload must carry a `{key}` object, got {got}")
    return value


# --- handlers ---------------------------------------------------------------------------


def _issue(ctx: NormalizeContext, payload: Mapping[str, Any], event: str) -> list[SyncEvent]:
    raw = _mapping_of(payload, "issue", event)
    b = _Builder(ctx, payload, event)
    action = _ISSUE_ACTIONS[event]
    issue = mapping.issue_from_jira(raw, ctx.provider)
    if action is not ChangeAction.UPDATED:
        return [b.event_for(issue, action)]

    changelog = payload.get("changelog")
    items = changelog.get("items") if isinstance(changelog, Mapping) else None
    events = [b.event_for(issue, action, changes=mapping.field_changes(items))]
    ref = mapping.issue_ref(raw)
    if isinstance(changelog, Mapping) and changelog.get("id") is not None:
        history_events = mapping.issue_events_from_changelog(
            changelog,
            ctx.provider,
            ref,
            actor=mapping.actor_from_user(payload.get("user")),
            created_at=b.occurred_at or issue.updated_at,
        )
        events += [b.event_for(e, ChangeAction.CREATED) for e in history_events]
    comment = payload.get("comment")
    if isinstance(comment, Mapping):
        obj = mapping.comment_from_jira(comment, ctx.provider, ref)
        events.append(b.event_for(obj, comment_action(_native_type(payload), comment)))
    return events


def _comment(ctx: NormalizeContext, payload: Mapping[str, Any], event: str) -> list[SyncEvent]:
    raw = _mapping_of(payload, "comment", event)
    b = _Builder(ctx, payload, event)
    issue = payload.get("issue")
    ref: ObjectRef | None = None
    if isinstance(issue, Mapping) and (issue.get("id") is not None or issue.get("key")):
        ref = mapping.issue_ref(issue)
    comment = mapping.comment_from_jira(raw, ctx.provider, ref)
    return [b.event_for(comment, _COMMENT_ACTIONS[event])]


_Handler = Callable[[NormalizeContext, Mapping[str, Any], str], list[SyncEvent]]
_HANDLERS: dict[str, _Handler] = {
    **{e: _issue for e in _ISSUE_ACTIONS},
    **{e: _comment for e in _COMMENT_ACTIONS},
}


def _first_error(exc: ValidationError) -> str:
    errors = exc.errors()
    if not errors:
        return str(exc)
    first = errors[0]
    where = ".".join(str(p) for p in first.get("loc", ()))
    return f"{where}: {first.get('msg', '')}"


def _effective_event(ctx: NormalizeContext, payload: Mapping[str, Any]) -> str | None:
    """The payload's ``webhookEvent`` when Jira named a known event, else the context's."""
    named = payload.get("webhookEvent")
    if isinstance(named, str) and named in _BY_NAME:
        return _BY_NAME[named]
    return _BY_NAME.get(ctx.event)


def normalize(ctx: NormalizeContext, payload: Mapping[str, Any]) -> NormalizeResult:
    """Normalize one Jira webhook payload (module notes); never raises."""
    provider = ctx.provider.type or PROVIDER
    event = _effective_event(ctx, payload) if isinstance(payload, Mapping) else None

    def result(
        outcome: NormalizeOutcome, reason: str | None = None, events: list[SyncEvent] | None = None
    ) -> NormalizeResult:
        return NormalizeResult(
            provider=provider,
            native_event=event or ctx.event,
            outcome=outcome,
            events=events or [],
            reason=reason,
        )

    if not isinstance(payload, Mapping):
        return result(
            NormalizeOutcome.MALFORMED,
            f"a Jira webhook payload is a JSON object, got {type(payload).__name__}",
        )
    if event is None:
        named = payload.get("webhookEvent")
        return result(
            NormalizeOutcome.UNKNOWN_EVENT,
            f"no Jira normalizer for event {ctx.event!r} (payload webhookEvent {named!r}); "
            f"known events: {', '.join(EVENTS)}",
        )
    if event in INFORMATIONAL_EVENTS:
        return result(
            NormalizeOutcome.IGNORED,
            f"{event} is informational: {INFORMATIONAL_EVENTS[event]}",
        )
    try:
        events = _HANDLERS[event](ctx, payload, event)
    except (_Malformed, mapping.MappingError) as exc:
        return result(NormalizeOutcome.MALFORMED, str(exc))
    except ValidationError as exc:
        # The models reject a value of the wrong type the checks above let through.
        reason = f"the {event} payload does not have Jira's shape: {_first_error(exc)}"
        return result(NormalizeOutcome.MALFORMED, redact(reason))
    except Exception as exc:  # the contract: a payload never crashes intake
        reason = f"{INTERNAL_ERROR_PREFIX} {event}: {type(exc).__name__}: {exc}"
        return result(NormalizeOutcome.MALFORMED, redact(reason)[:300])
    return result(NormalizeOutcome.NORMALIZED, events=events)


NORMALIZERS: dict[str, EventNormalizer] = dict.fromkeys(_BY_NAME, normalize)
"""Every declared event (``jira:issue_updated``) and its folded form -> :func:`normalize`."""
