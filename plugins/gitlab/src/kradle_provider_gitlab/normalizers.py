"""GitLab webhook payloads -> canonical sync events.

``NORMALIZERS`` maps each ``X-Gitlab-Event`` value to a function
``(NormalizeContext, payload) -> NormalizeResult``. Objects go through
:mod:`kradle_provider_gitlab.mapping`, the same functions the adapter uses.

- ``Issue Hook`` / ``Confidential Issue Hook``: an Issue; ``action`` ``open``
  -> created, anything else (``update``, ``close``, ``reopen``) -> updated.
  ``changes`` (``{field: {previous, current}}``) become :class:`FieldChange`.
- ``Note Hook`` / ``Confidential Note Hook``: a Comment on an Issue, a merge
  request (``ObjectRef(kind="PullRequest")``) or a commit; a system note is an
  IssueEvent. Notes on snippets are ignored (snippets are not synced).
  ``action`` ``create`` (or none: older GitLab sent notes on create only) ->
  created, ``update`` -> updated.
- ``Merge Request Hook``: a PullRequest (``open`` -> created); ``approved``
  adds a created Review of the approving user, ``unapproved`` a deleted one.
- ``Push Hook`` / ``Tag Push Hook``: the Ref (created when ``before`` is the
  zero sha, deleted when ``after`` is), then one created Commit per commit.
- ``Pipeline Hook``: the Pipeline, then its jobs (``builds``) as Jobs.
- ``Job Hook`` (``Build Hook`` from older instances): a Job.
- ``Service Hook``: what an integration receives; normalized by the payload's
  ``object_kind`` like the matching hook.
- ``Release Hook``: informational (``ignored``): releases are not synced.

A malformed payload is a ``malformed`` result with the reason; nothing raises.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from pydantic import ValidationError

from kradle_provider_gitlab import mapping
from kradle_providers.models import (
    CanonicalObject,
    ChangeAction,
    FieldChange,
    NormalizeOutcome,
    NormalizeResult,
    SyncEvent,
)
from kradle_providers.webhooks.normalizer import EventNormalizer, NormalizeContext

__all__ = ["INFORMATIONAL_EVENTS", "NORMALIZERS", "hook_changes"]

PROVIDER = mapping.PROVIDER_TYPE

INFORMATIONAL_EVENTS = frozenset({"Release Hook"})
"""Events acknowledged without sync events."""


class _Malformed(Exception):
    """Raised inside a normalizer; turned into a ``malformed`` result."""


def hook_changes(payload: Mapping[str, Any]) -> list[FieldChange]:
    """GitLab's ``changes`` (``{field: {previous, current}}``) as :class:`FieldChange` items."""
    raw = payload.get("changes")
    if not isinstance(raw, Mapping):
        return []
    out: list[FieldChange] = []
    for field, change in raw.items():
        if isinstance(change, Mapping) and ("previous" in change or "current" in change):
            out.append(
                FieldChange(
                    field=str(field),
                    from_value=_plain(change.get("previous")),
                    to_value=_plain(change.get("current")),
                )
            )
    return out


def _plain(value: Any) -> Any:
    """Label/user lists in ``changes`` -> their names (the canonical fields hold names)."""
    if isinstance(value, list):
        return [
            (v.get("title") or v.get("username") or v.get("name")) if isinstance(v, Mapping) else v
            for v in value
        ]
    return value


def _event(
    context: NormalizeContext,
    obj: CanonicalObject,
    *,
    action: ChangeAction,
    native_action: str | None,
    changes: list[FieldChange] | None = None,
) -> SyncEvent:
    version = obj.external.version
    return SyncEvent(
        provider=context.provider,
        interface=obj.external.interface,
        object_kind=obj.kind_name(),
        action=action,
        native_event=context.event,
        native_action=native_action,
        native_id=obj.external.native_id,
        delivery_id=context.delivery_id,
        occurred_at=None if action is ChangeAction.DELETED else version.updated_at,
        version=version,
        object=obj,
        changes=changes or [],
    )


def _result(
    context: NormalizeContext,
    outcome: NormalizeOutcome,
    *,
    events: list[SyncEvent] | None = None,
    reason: str | None = None,
) -> NormalizeResult:
    return NormalizeResult(
        provider=PROVIDER,
        native_event=context.event,
        outcome=outcome,
        events=events or [],
        reason=reason,
    )


def _attrs(payload: Mapping[str, Any]) -> Mapping[str, Any]:
    value = payload.get("object_attributes")
    if not isinstance(value, Mapping):
        raise _Malformed("`object_attributes` must be the changed object (GitLab sends one)")
    return value


def _str_field(payload: Mapping[str, Any], key: str) -> str:
    value = payload.get(key)
    if not isinstance(value, str) or not value:
        raise _Malformed(f"`{key}` must be a non-empty string")
    return value


_Body = Callable[[NormalizeContext, Mapping[str, Any]], NormalizeResult]


def _safe(body: _Body) -> EventNormalizer:
    """Wrap a normalizer so that a bad payload is a ``malformed`` result, never a raise."""

    def normalize(context: NormalizeContext, payload: Mapping[str, Any]) -> NormalizeResult:
        if not isinstance(payload, Mapping):
            return _result(
                context,
                NormalizeOutcome.MALFORMED,
                reason=f"the payload must be a JSON object, not {type(payload).__name__}",
            )
        try:
            return body(context, payload)
        except _Malformed as exc:
            return _result(context, NormalizeOutcome.MALFORMED, reason=str(exc))
        except ValidationError as exc:
            first = exc.errors()[0]
            loc = ".".join(str(p) for p in first["loc"])
            return _result(
                context,
                NormalizeOutcome.MALFORMED,
                reason=f"invalid GitLab {context.event} payload: {first['msg']} at {loc}",
            )
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            return _result(
                context,
                NormalizeOutcome.MALFORMED,
                reason=f"invalid GitLab {context.event} payload: {exc}",
            )

    normalize.__name__ = f"normalize_{body.__name__.lstrip('_')}"
    normalize.__doc__ = body.__doc__
    return normalize


# --- per-event normalizers ---------------------------------------------------------


def _issue_hook(context: NormalizeContext, payload: Mapping[str, Any]) -> NormalizeResult:
    """``Issue Hook``: one Issue event with the hook's ``changes``."""
    action = _attrs(payload).get("action")
    native_action = action if isinstance(action, str) else None
    obj = mapping.issue(mapping.issue_from_hook(payload), provider=context.provider)
    kind = ChangeAction.CREATED if native_action == "open" else ChangeAction.UPDATED
    event = _event(
        context, obj, action=kind, native_action=native_action, changes=hook_changes(payload)
    )
    return _result(context, NormalizeOutcome.NORMALIZED, events=[event])


_NOTE_PARENTS = {"Issue": "issue", "MergeRequest": "merge_request", "Commit": "commit"}


def _note_hook(context: NormalizeContext, payload: Mapping[str, Any]) -> NormalizeResult:
    """``Note Hook``: a Comment (or, for a system note, an IssueEvent) on its parent."""
    attrs = _attrs(payload)
    noteable = attrs.get("noteable_type")
    if noteable not in _NOTE_PARENTS:
        return _result(
            context,
            NormalizeOutcome.IGNORED,
            reason=f"notes on a {noteable} are not synced (only issues, merge requests, commits)",
        )
    parent = payload.get(_NOTE_PARENTS[str(noteable)])
    if not isinstance(parent, Mapping):
        raise _Malformed(f"a note on a {noteable} needs the `{_NOTE_PARENTS[str(noteable)]}`")
    native = dict(attrs)
    native.pop("action", None)
    native["author"] = mapping.hook_user(payload, attrs.get("author_id"))
    if noteable != "Commit":
        native.setdefault("noteable_iid", parent.get("iid"))
    obj = mapping.note(native, parent=parent, provider=context.provider)
    action = attrs.get("action")
    native_action = action if isinstance(action, str) else None
    kind = ChangeAction.UPDATED if native_action == "update" else ChangeAction.CREATED
    event = _event(context, obj, action=kind, native_action=native_action)
    return _result(context, NormalizeOutcome.NORMALIZED, events=[event])


def _merge_request_hook(context: NormalizeContext, payload: Mapping[str, Any]) -> NormalizeResult:
    """``Merge Request Hook``: the PullRequest; approvals add a Review event."""
    attrs = _attrs(payload)
    action = attrs.get("action")
    native_action = action if isinstance(action, str) else None
    native = mapping.merge_request_from_hook(payload)
    obj = mapping.merge_request(native, provider=context.provider)
    kind = ChangeAction.CREATED if native_action == "open" else ChangeAction.UPDATED
    events = [
        _event(
            context, obj, action=kind, native_action=native_action, changes=hook_changes(payload)
        )
    ]
    user = payload.get("user")
    if native_action in ("approved", "unapproved", "approval", "unapproval") and isinstance(
        user, Mapping
    ):
        review = mapping.approval(
            {"user": user},
            mr=native,
            provider=context.provider,
            approved_at=attrs.get("updated_at"),
        )
        created = native_action in ("approved", "approval")
        events.append(
            _event(
                context,
                review,
                action=ChangeAction.CREATED if created else ChangeAction.DELETED,
                native_action=native_action,
            )
        )
    return _result(context, NormalizeOutcome.NORMALIZED, events=events)


def _push_hook(context: NormalizeContext, payload: Mapping[str, Any]) -> NormalizeResult:
    """``Push Hook`` / ``Tag Push Hook``: the moved Ref, then one created Commit per commit."""
    before, after = _str_field(payload, "before"), _str_field(payload, "after")
    ref = mapping.pushed_ref(payload, provider=context.provider)
    created, deleted = before == mapping.ZERO_SHA, after == mapping.ZERO_SHA
    action = (
        ChangeAction.CREATED
        if created
        else ChangeAction.DELETED
        if deleted
        else ChangeAction.UPDATED
    )
    changes = [
        FieldChange(
            field="sha", from_value=None if created else before, to_value=None if deleted else after
        )
    ]
    events = [_event(context, ref, action=action, native_action=None, changes=changes)]
    commits = payload.get("commits")
    if commits is not None and not isinstance(commits, list):
        raise _Malformed("`commits` must be an array of commit objects")
    seen: set[str] = set()
    for raw in commits or []:
        commit = mapping.push_commit(raw, provider=context.provider)
        if commit.sha not in seen:
            seen.add(commit.sha)
            events.append(_event(context, commit, action=ChangeAction.CREATED, native_action=None))
    return _result(context, NormalizeOutcome.NORMALIZED, events=events)


def _status_action(status: Any) -> ChangeAction:
    return ChangeAction.CREATED if status == "created" else ChangeAction.UPDATED


def _pipeline_hook(context: NormalizeContext, payload: Mapping[str, Any]) -> NormalizeResult:
    """``Pipeline Hook``: the Pipeline, then each of its ``builds`` as a Job."""
    native = mapping.pipeline_from_hook(payload)
    status = native.get("status")
    obj = mapping.pipeline(native, provider=context.provider)
    events = [
        _event(
            context,
            obj,
            action=_status_action(status),
            native_action=status if isinstance(status, str) else None,
        )
    ]
    builds = payload.get("builds")
    if builds is not None and not isinstance(builds, list):
        raise _Malformed("`builds` must be an array of job objects")
    for raw in builds or []:
        if not isinstance(raw, Mapping):
            raise _Malformed("every entry of `builds` must be a job object")
        build = dict(raw)
        build["pipeline"] = {"id": native.get("id"), "sha": native.get("sha")}
        build.setdefault("tag_list", (raw.get("runner") or {}).get("tags") or [])
        job = mapping.job(build, provider=context.provider)
        events.append(
            _event(
                context,
                job,
                action=_status_action(raw.get("status")),
                native_action=raw.get("status") if isinstance(raw.get("status"), str) else None,
            )
        )
    return _result(context, NormalizeOutcome.NORMALIZED, events=events)


def _job_hook(context: NormalizeContext, payload: Mapping[str, Any]) -> NormalizeResult:
    """``Job Hook``: one Job (``build_*`` keys)."""
    native = mapping.job_from_hook(payload)
    status = native.get("status")
    obj = mapping.job(native, provider=context.provider)
    event = _event(
        context,
        obj,
        action=_status_action(status),
        native_action=status if isinstance(status, str) else None,
    )
    return _result(context, NormalizeOutcome.NORMALIZED, events=[event])


def _release_hook(context: NormalizeContext, payload: Mapping[str, Any]) -> NormalizeResult:
    """``Release Hook``: informational; releases are not synced."""
    return _result(
        context,
        NormalizeOutcome.IGNORED,
        reason=f"release {payload.get('tag')!r} {payload.get('action')!r} is informational: "
        "releases are not a synced kind",
    )


_BY_OBJECT_KIND: dict[str, _Body] = {
    "issue": _issue_hook,
    "note": _note_hook,
    "merge_request": _merge_request_hook,
    "push": _push_hook,
    "tag_push": _push_hook,
    "pipeline": _pipeline_hook,
    "build": _job_hook,
    "release": _release_hook,
}


def _service_hook(context: NormalizeContext, payload: Mapping[str, Any]) -> NormalizeResult:
    """``Service Hook``: normalized like the hook its ``object_kind`` names."""
    kind = payload.get("object_kind")
    body = _BY_OBJECT_KIND.get(kind) if isinstance(kind, str) else None
    if body is None:
        raise _Malformed(f"`object_kind` {kind!r} is not one GitLab sends to integrations")
    return body(context, payload)


NORMALIZERS: dict[str, EventNormalizer] = {
    "Issue Hook": _safe(_issue_hook),
    "Confidential Issue Hook": _safe(_issue_hook),
    "Note Hook": _safe(_note_hook),
    "Confidential Note Hook": _safe(_note_hook),
    "Merge Request Hook": _safe(_merge_request_hook),
    "Push Hook": _safe(_push_hook),
    "Tag Push Hook": _safe(_push_hook),
    "Pipeline Hook": _safe(_pipeline_hook),
    "Job Hook": _safe(_job_hook),
    "Build Hook": _safe(_job_hook),
    "Service Hook": _safe(_service_hook),
    "Release Hook": _safe(_release_hook),
}
"""Every GitLab webhook event this plugin understands, by ``X-Gitlab-Event`` value."""
