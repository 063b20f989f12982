"""GitHub webhook payloads -> canonical sync events.

``NORMALIZERS`` maps each ``X-GitHub-Event`` name to a function
``(NormalizeContext, payload) -> NormalizeResult``. Objects go through
:mod:`kradle_provider_github.mapping`, the same functions the adapter uses, so
a webhook and a REST read of one object give the same canonical object.

Action -> :class:`ChangeAction`:

- ``opened`` / ``created`` -> created; ``deleted`` -> deleted; anything else
  -> updated (``edited``, ``closed``, ``labeled``, ``synchronize``, ...).
- First events of an object's life are creations too: ``workflow_run.requested``,
  ``check_suite.requested``, ``workflow_job.queued``, ``pull_request_review.submitted``.
- ``issues.transferred`` -> deleted: the issue leaves this repository and
  GitHub gives it a new id in the target (an ``issues.opened`` there, whose
  ``changes.old_issue`` says where it came from). ``changes`` names the
  target issue and repository.
- ``repository.transferred`` / ``renamed`` -> updated: the repository keeps
  its id; ``changes`` names the previous owner/name.
- ``push``: one Ref event (created when ``created``, deleted when ``deleted``,
  else updated, with a ``sha`` change ``before`` -> ``after``), then one
  created Commit event per pushed commit (head commit included).
- ``create`` / ``delete``: a Ref created/deleted event without an object:
  GitHub's payload carries no sha, which a :class:`Ref` requires; the push
  that comes with a new branch carries it.
- ``status``: an updated Check (a commit status is an upsert of its context).
- ``ping`` and ``installation``: ``ignored`` (informational) with a reason.

PR-backed issues: GitHub sends ``issues`` events for a pull request's issue
side too (``milestoned``, ``demilestoned``…). Such an event never becomes a
second work item: it is one created :class:`IssueEvent` whose ``issue`` is
``ObjectRef(kind="PullRequest")``, as GitHub's issue-events API lists it for
the pull request. The webhook carries no event id, so its ``native_id`` is
``"{issue id}:{action}:{updated_at}"`` (stable across redeliveries).
An ``issue_comment`` on a pull request's conversation has no other event, so
it is normalized to a :class:`Comment` whose ``issue`` is
``ObjectRef(kind="PullRequest")``.

``changes`` come from the payload's ``changes`` (``{field: {"from": old}}``,
nested for ``repository.name``; the new value is read from the object), plus
the change an action implies: ``labeled``/``unlabeled`` -> ``labels``,
``assigned``/``unassigned`` -> ``assignees``, ``milestoned``/``demilestoned``
-> ``milestone``, ``review_requested`` -> ``requested_reviewers``,
``synchronize`` -> ``head_sha``. A malformed payload is a ``malformed``
result with the reason; no normalizer raises.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from pydantic import JsonValue, ValidationError

from kradle_provider_github import mapping
from kradle_providers.models import (
    CanonicalObject,
    ChangeAction,
    FieldChange,
    Interface,
    NormalizeOutcome,
    NormalizeResult,
    SyncEvent,
    Version,
)
from kradle_providers.webhooks.normalizer import EventNormalizer, NormalizeContext

__all__ = [
    "INFORMATIONAL_EVENTS",
    "NORMALIZERS",
    "PAYLOAD_ENVELOPE_KEYS",
    "change_action",
    "payload_changes",
]

PROVIDER = mapping.PROVIDER_TYPE

PAYLOAD_ENVELOPE_KEYS = frozenset(
    {"action", "sender", "repository", "organization", "installation", "enterprise"}
)
"""Top-level payload keys that describe the delivery, not the changed object."""

INFORMATIONAL_EVENTS = frozenset({"ping", "installation"})
"""Events acknowledged without sync events."""

_CREATED_ACTIONS = frozenset({"opened", "created"})
_ACTION_OVERRIDES: dict[tuple[str, str], ChangeAction] = {
    ("issues", "transferred"): ChangeAction.DELETED,
    ("workflow_run", "requested"): ChangeAction.CREATED,
    ("check_suite", "requested"): ChangeAction.CREATED,
    ("workflow_job", "queued"): ChangeAction.CREATED,
    ("pull_request_review", "submitted"): ChangeAction.CREATED,
}


class _Malformed(Exception):
    """Raised inside a normalizer; turned into a ``malformed`` result."""


def change_action(event: str, action: str | None) -> ChangeAction:
    """The canonical action of a GitHub ``event`` + payload ``action`` (module notes)."""
    if action is None:
        return ChangeAction.UPDATED
    override = _ACTION_OVERRIDES.get((event, action))
    if override is not None:
        return override
    if action in _CREATED_ACTIONS:
        return ChangeAction.CREATED
    if action == "deleted":
        return ChangeAction.DELETED
    return ChangeAction.UPDATED


# --- changes -------------------------------------------------------------------


def _lookup(root: Any, path: list[str]) -> JsonValue:
    node = root
    for part in path:
        if not isinstance(node, Mapping) or part not in node:
            return None
        node = node[part]
    return node  # type: ignore[no-any-return]


def _snapshot_name(value: Mapping[str, Any]) -> JsonValue:
    """A short name for an object snapshot in ``changes`` (transfers)."""
    for key in ("html_url", "full_name", "login", "name"):
        if isinstance(value.get(key), str):
            return value[key]  # type: ignore[no-any-return]
    return value.get("id")


def payload_changes(
    payload: Mapping[str, Any], native_object: Mapping[str, Any]
) -> list[FieldChange]:
    """GitHub's ``changes`` as :class:`FieldChange` items.

    ``{"title": {"from": "old"}}`` -> ``title: old -> object.title``; nested
    ``{"repository": {"name": {"from": "x"}}}`` -> ``repository.name``; an
    object snapshot (``new_issue``, ``old_repository``) becomes its URL or name,
    as ``to_value`` for ``new_*`` and ``from_value`` for ``old_*``.
    """
    raw = payload.get("changes")
    if raw is None or not isinstance(raw, Mapping):
        return []
    out: list[FieldChange] = []

    def walk(node: Mapping[str, Any], path: list[str]) -> None:
        for key, value in node.items():
            here = [*path, str(key)]
            field = ".".join(here)
            if isinstance(value, Mapping) and "from" in value:
                new = _lookup(native_object, here)
                if new is None:
                    new = _lookup(payload, here)
                out.append(FieldChange(field=field, from_value=value["from"], to_value=new))
            elif isinstance(value, Mapping) and "id" in value:
                name = _snapshot_name(value)
                if str(key).startswith("old_"):
                    out.append(FieldChange(field=field, from_value=name))
                else:
                    out.append(FieldChange(field=field, to_value=name))
            elif isinstance(value, Mapping):
                walk(value, here)
            else:
                out.append(FieldChange(field=field, to_value=value))

    walk(raw, [])
    return out


def _name_of(value: Any, key: str) -> JsonValue:
    if isinstance(value, Mapping):
        found = value.get(key)
        if isinstance(found, str | int):
            return found
    return None


def _implied_changes(payload: Mapping[str, Any], action: str | None) -> list[FieldChange]:
    """The change an action names without a ``changes`` block (labeled, assigned, ...)."""
    if action in ("labeled", "unlabeled") and "label" in payload:
        name = _name_of(payload["label"], "name")
        if action == "labeled":
            return [FieldChange(field="labels", to_value=name)]
        return [FieldChange(field="labels", from_value=name)]
    if action in ("assigned", "unassigned") and "assignee" in payload:
        login = _name_of(payload["assignee"], "login")
        if action == "assigned":
            return [FieldChange(field="assignees", to_value=login)]
        return [FieldChange(field="assignees", from_value=login)]
    if action in ("milestoned", "demilestoned") and "milestone" in payload:
        title = _name_of(payload["milestone"], "title")
        if action == "milestoned":
            return [FieldChange(field="milestone", to_value=title)]
        return [FieldChange(field="milestone", from_value=title)]
    if action == "review_requested":
        who = payload.get("requested_reviewer") or payload.get("requested_team")
        name = _name_of(who, "login") or _name_of(who, "slug")
        return [FieldChange(field="requested_reviewers", to_value=name)]
    if action == "synchronize":
        before, after = payload.get("before"), payload.get("after")
        if isinstance(before, str) and isinstance(after, str):
            return [FieldChange(field="head_sha", from_value=before, to_value=after)]
    return []


# --- building results ------------------------------------------------------------


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
        # A deletion happened after the object's last update: its time is unknown.
        occurred_at=None if action is ChangeAction.DELETED else version.updated_at,
        version=version,
        object=obj,
        changes=changes or [],
    )


def _normalized(context: NormalizeContext, events: list[SyncEvent]) -> NormalizeResult:
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
        raise _Malformed(f"`{key}` must be the {key.replace('_', ' ')} object, but it is {got}")
    return value


def _action(payload: Mapping[str, Any], *, required: bool = True) -> str | None:
    action = payload.get("action")
    if action is None and not required:
        return None
    if not isinstance(action, str) or not action:
        raise _Malformed("`action` must be a non-empty string (GitHub sends one for this event)")
    return action


_Body = Callable[[NormalizeContext, Mapping[str, Any]], NormalizeResult]


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
            return body(context, payload)
        except _Malformed as exc:
            return malformed(str(exc))
        except ValidationError as exc:
            first = exc.errors()[0]
            loc = ".".join(str(p) for p in first["loc"])
            return malformed(f"invalid GitHub {context.event} payload: {first['msg']} at {loc}")
        except (mapping.MappingError, ValueError, TypeError, KeyError, AttributeError) as exc:
            # MappingError names the field; the rest is a shape nobody
            # anticipated: still an explained result.
            return malformed(f"invalid GitHub {context.event} payload: {exc}")

    normalize.__name__ = f"normalize_{body.__name__.lstrip('_')}"
    normalize.__doc__ = body.__doc__
    return normalize


def _simple(
    key: str,
    mapper: Callable[..., CanonicalObject],
    *,
    implied: bool = False,
) -> _Body:
    """A normalizer for events whose payload carries one object under ``key``."""

    def body(context: NormalizeContext, payload: Mapping[str, Any]) -> NormalizeResult:
        action = _action(payload)
        native = _object(payload, key)
        obj = mapper(native, provider=context.provider)
        changes = payload_changes(payload, native)
        if implied:
            changes += _implied_changes(payload, action)
        return _normalized(
            context,
            [
                _event(
                    context,
                    obj,
                    action=change_action(context.event, action),
                    native_action=action,
                    changes=changes,
                )
            ],
        )

    body.__name__ = key
    body.__doc__ = f"Normalize a payload carrying one `{key}` object."
    return body


# --- per-event normalizers ----------------------------------------------------------


def _issues(context: NormalizeContext, payload: Mapping[str, Any]) -> NormalizeResult:
    """``issues``: an Issue event; PR-backed issues are ignored (module notes)."""
    action = _action(payload)
    native = _object(payload, "issue")
    if mapping.is_pull_request_backed(native):
        return _pull_request_issue_event(context, payload, native, action)
    obj = mapping.issue(native, provider=context.provider)
    changes = payload_changes(payload, native) + _implied_changes(payload, action)
    return _normalized(
        context,
        [
            _event(
                context,
                obj,
                action=change_action(context.event, action),
                native_action=action,
                changes=changes,
            )
        ],
    )


def _pull_request_issue_event(
    context: NormalizeContext,
    payload: Mapping[str, Any],
    native: Mapping[str, Any],
    action: str | None,
) -> NormalizeResult:
    """An ``issues`` event on a pull request's issue side: an IssueEvent of the PR."""
    when = native.get("updated_at")
    event: dict[str, Any] = {
        "id": f"{native.get('id')}:{action}:{when}",
        "event": action,
        "actor": payload.get("sender"),
        "created_at": when,
        "issue": native,
    }
    for key in ("label", "assignee", "milestone"):
        if isinstance(payload.get(key), Mapping):
            event[key] = payload[key]
    obj = mapping.issue_event(event, provider=context.provider)
    return _normalized(
        context,
        [
            _event(
                context,
                obj,
                action=ChangeAction.CREATED,
                native_action=action,
                changes=payload_changes(payload, native),
            )
        ],
    )


def _issue_comment(context: NormalizeContext, payload: Mapping[str, Any]) -> NormalizeResult:
    """``issue_comment``: a Comment linked to its Issue (or PullRequest)."""
    action = _action(payload)
    native = _object(payload, "comment")
    parent = _object(payload, "issue")
    obj = mapping.issue_comment(native, issue=parent, provider=context.provider)
    return _normalized(
        context,
        [
            _event(
                context,
                obj,
                action=change_action(context.event, action),
                native_action=action,
                changes=payload_changes(payload, native),
            )
        ],
    )


def _with_pull_request(
    key: str, mapper: Callable[..., CanonicalObject]
) -> Callable[[NormalizeContext, Mapping[str, Any]], NormalizeResult]:
    def body(context: NormalizeContext, payload: Mapping[str, Any]) -> NormalizeResult:
        action = _action(payload)
        native = _object(payload, key)
        pr = _object(payload, "pull_request")
        obj = mapper(native, pull_request=pr, provider=context.provider)
        return _normalized(
            context,
            [
                _event(
                    context,
                    obj,
                    action=change_action(context.event, action),
                    native_action=action,
                    changes=payload_changes(payload, native),
                )
            ],
        )

    body.__name__ = key
    body.__doc__ = f"Normalize a `{key}` on a pull request."
    return body


def _push(context: NormalizeContext, payload: Mapping[str, Any]) -> NormalizeResult:
    """``push``: the moved Ref, then one created Commit per pushed commit."""
    _object(payload, "repository")
    ref = mapping.pushed_ref(payload, provider=context.provider)
    created = payload.get("created") is True
    deleted = payload.get("deleted") is True
    action = (
        ChangeAction.CREATED
        if created
        else ChangeAction.DELETED
        if deleted
        else ChangeAction.UPDATED
    )
    before, after = payload.get("before"), payload.get("after")
    changes = [
        FieldChange(
            field="sha",
            from_value=None if created else before,
            to_value=None if deleted else after,
        )
    ]
    events = [_event(context, ref, action=action, native_action=None, changes=changes)]
    commits = payload.get("commits")
    if commits is not None and not isinstance(commits, list):
        raise _Malformed("`commits` must be an array of commit objects")
    seen: set[str] = set()
    head = payload.get("head_commit")
    for raw in [*(commits or []), *([head] if head is not None else [])]:
        commit = mapping.push_commit(raw, provider=context.provider)
        if commit.sha in seen:
            continue
        seen.add(commit.sha)
        events.append(_event(context, commit, action=ChangeAction.CREATED, native_action=None))
    return _normalized(context, events)


def _ref_event(context: NormalizeContext, payload: Mapping[str, Any]) -> NormalizeResult:
    """``create`` / ``delete``: a Ref created/deleted, identified by repository + full ref."""
    repo = _object(payload, "repository")
    name, ref_type = payload.get("ref"), payload.get("ref_type")
    full_name = repo.get("full_name")
    if not isinstance(name, str) or not name:
        raise _Malformed("`ref` must be the branch or tag name")
    if not isinstance(full_name, str):
        raise _Malformed("`repository.full_name` must be a string")
    if ref_type not in ("branch", "tag"):
        raise _Malformed(f"`ref_type` must be 'branch' or 'tag', got {ref_type!r}")
    full = mapping.full_ref(name, ref_type)
    action = ChangeAction.CREATED if context.event == "create" else ChangeAction.DELETED
    event = SyncEvent(
        provider=context.provider,
        interface=Interface.GIT_FORGE,
        object_kind="Ref",
        action=action,
        native_event=context.event,
        native_action=None,
        native_id=mapping.ref_id(full_name, full),
        delivery_id=context.delivery_id,
        version=Version(),
        object=None,
    )
    return _normalized(context, [event])


def _workflow_run(context: NormalizeContext, payload: Mapping[str, Any]) -> NormalizeResult:
    """``workflow_run``: the run as a Pipeline, then its workflow as a PipelineDefinition."""
    action = _action(payload)
    run = mapping.workflow_run(_object(payload, "workflow_run"), provider=context.provider)
    events = [
        _event(context, run, action=change_action(context.event, action), native_action=action)
    ]
    if payload.get("workflow") is not None:
        definition = mapping.workflow(_object(payload, "workflow"), provider=context.provider)
        events.append(
            _event(context, definition, action=ChangeAction.UPDATED, native_action=action)
        )
    return _normalized(context, events)


def _status(context: NormalizeContext, payload: Mapping[str, Any]) -> NormalizeResult:
    """``status``: the payload itself is the status; an updated commit-status Check."""
    native = {k: v for k, v in payload.items() if k not in PAYLOAD_ENVELOPE_KEYS}
    if not isinstance(payload.get("sha"), str) or not isinstance(payload.get("state"), str):
        raise _Malformed("a status payload needs `sha` and `state` strings")
    obj = mapping.commit_status(native, provider=context.provider)
    return _normalized(
        context, [_event(context, obj, action=ChangeAction.UPDATED, native_action=None)]
    )


def _ping(context: NormalizeContext, payload: Mapping[str, Any]) -> NormalizeResult:
    """``ping``: GitHub's check that a new webhook reaches us; nothing to sync."""
    hook_id = payload.get("hook_id")
    return _ignored(
        context, f"ping for webhook {hook_id!r} is informational: nothing changed in GitHub"
    )


def _installation(context: NormalizeContext, payload: Mapping[str, Any]) -> NormalizeResult:
    """``installation``: the GitHub App was installed/changed; informational for sync."""
    action = payload.get("action")
    return _ignored(
        context,
        f"installation {action!r} is informational: it changes the App's access, "
        "not a synced object (re-discover the provider to pick it up)",
    )


NORMALIZERS: dict[str, EventNormalizer] = {
    "issues": _safe(_issues),
    "issue_comment": _safe(_issue_comment),
    "label": _safe(_simple("label", mapping.label)),
    "milestone": _safe(_simple("milestone", mapping.milestone)),
    "pull_request": _safe(_simple("pull_request", mapping.pull_request, implied=True)),
    "pull_request_review": _safe(_with_pull_request("review", mapping.review)),
    "pull_request_review_comment": _safe(_with_pull_request("comment", mapping.review_comment)),
    "push": _safe(_push),
    "create": _safe(_ref_event),
    "delete": _safe(_ref_event),
    "repository": _safe(_simple("repository", mapping.repository)),
    "workflow_run": _safe(_workflow_run),
    "workflow_job": _safe(_simple("workflow_job", mapping.workflow_job)),
    "check_run": _safe(_simple("check_run", mapping.check_run)),
    "check_suite": _safe(_simple("check_suite", mapping.check_suite)),
    "status": _safe(_status),
    "deploy_key": _safe(_simple("key", mapping.deploy_key)),
    "branch_protection_rule": _safe(_simple("rule", mapping.branch_protection_rule)),
    "installation": _safe(_installation),
    "ping": _safe(_ping),
}
"""Every GitHub webhook event this plugin understands, by ``X-GitHub-Event`` name."""
