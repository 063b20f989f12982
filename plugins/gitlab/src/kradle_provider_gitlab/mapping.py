"""GitLab JSON objects -> canonical models.

The adapter (REST v4 responses), the emulator and the webhook normalizers map
through these functions. GitLab's webhook ``object_attributes`` differ from
its REST objects (``url`` for ``web_url``, ids for users, ``"… UTC"`` times):
:func:`issue_from_hook` and friends turn a hook payload into the REST shape
first, so one function maps each kind.

Decisions worth knowing:

- ``native_id`` is GitLab's global ``id``; ``native_number`` the per-project
  ``iid`` (issues, merge requests, milestones, pipelines). Operations address
  issues, merge requests and milestones by ``iid``.
- Notes: a user note is a :class:`Comment` whose ``native_id`` is its REST
  path in the project (``issues/17/notes/1241``, see :func:`note_path`): GitLab
  addresses notes only through their parent. A system note (``"system": true``,
  "changed the description", "mentioned in …") is an :class:`IssueEvent`
  (``native_id`` ``note:ID``). The resource state/label/milestone event APIs
  are :class:`IssueEvent` too (``state:ID``, ``label:ID``, ``milestone:ID``):
  the three APIs number their events independently.
- A merge-request approval is a :class:`Review` (``APPROVED``) whose
  ``native_id`` is ``"{mr id}:{user id}"``: approvals have no id of their own.
- Bridges (trigger jobs) are :class:`Job` objects with ``native_kind="bridge"``.
- A commit status is a :class:`Check` (``check_kind="commit_status"``) whose
  ``native_id`` is ``"{sha}:{name}"``: GitLab updates the status of one name on
  one commit in place, and ``updateCheck`` re-posts by sha and name.
- Refs have no id: ``native_id`` is ``"{project path}:refs/heads/x"``; a
  protected branch is ``"{project path}:{branch}"``.
- Job artifacts are ``"{job id}:{file_type}"``.

Malformed input raises :class:`MappingError` (a ``ValueError``) naming the
object kind and the field.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime
from typing import Any

from kradle_providers.http.idempotency import marked_rich_text
from kradle_providers.models import (
    Actor,
    Artifact,
    BranchProtection,
    Check,
    CheckKind,
    Collaborator,
    Comment,
    Commit,
    CommitPerson,
    DeployKey,
    Extensions,
    FieldChange,
    Interface,
    Issue,
    IssueEvent,
    IssueEventType,
    IssueState,
    IssueStatus,
    Job,
    Label,
    Milestone,
    MilestoneState,
    ObjectRef,
    Permission,
    Pipeline,
    PipelineState,
    PipelineStatus,
    ProviderRef,
    PullRequest,
    PullRequestState,
    PullRequestStatus,
    Ref,
    RefKind,
    Repository,
    Review,
    ReviewState,
    RichText,
    Runner,
    RunnerState,
    StatusCategory,
    Visibility,
)
from kradle_providers.models.native import MappingError, Native, NativeReader, rest, type_name

__all__ = [
    "PROVIDER_TYPE",
    "MappingError",
    "actor",
    "approval",
    "artifacts",
    "branch",
    "bridge",
    "commit",
    "commit_status",
    "deploy_key",
    "gitlab_provider",
    "gitlab_time",
    "hook_user",
    "issue",
    "issue_from_hook",
    "job",
    "job_from_hook",
    "label",
    "member",
    "merge_request",
    "merge_request_from_hook",
    "milestone",
    "note",
    "note_path",
    "pipeline",
    "pipeline_from_hook",
    "pipeline_state",
    "project",
    "protected_branch",
    "push_commit",
    "pushed_ref",
    "ref_id",
    "resource_event",
    "runner",
    "tag",
]

PROVIDER_TYPE = "gitlab"
ZERO_SHA = "0" * 40

read = NativeReader("GitLab")
"""Checked reads of GitLab JSON; a wrong type is a :class:`MappingError`."""


def gitlab_provider(instance: str = "default") -> ProviderRef:
    """The provider reference of a GitLab instance."""
    return ProviderRef(type=PROVIDER_TYPE, instance=instance)


# --- field readers --------------------------------------------------------------


def _opt_int(native: Native, key: str, kind: str) -> int | None:
    value = native.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise read.error(kind, f"expected a number or null, got {type_name(value)}", field=key)
    return int(value)


_HOOK_FORMATS = ("%Y-%m-%d %H:%M:%S %Z", "%Y-%m-%d %H:%M:%S %z", "%Y-%m-%d %H:%M:%S.%f %Z")


def gitlab_time(value: Any) -> datetime | None:
    """A GitLab timestamp -> aware datetime (None for null).

    REST sends ISO 8601 (``2024-01-02T03:04:05.678Z``); webhooks also send
    ``2024-01-02 03:04:05 UTC`` and ``2024-01-02 03:04:05 +0100``.
    """
    if value is None:
        return None
    if not isinstance(value, str) or not value:
        raise ValueError(f"expected a timestamp string, got {type_name(value)}")
    parsed = _parse_time(value)
    if parsed is None:
        raise ValueError(f"not a GitLab timestamp: {value[:40]!r}")
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def _parse_time(value: str) -> datetime | None:
    text = value.replace("Z", "+00:00")
    # Webhook forms in ISO shape first (strptime costs ten times as much):
    # "... 03:04:05 UTC" -> "...03:04:05+00:00", "... 03:04:05 +0100" -> "...+0100".
    if text.endswith(" UTC"):
        text = text[:-4] + "+00:00"
    elif len(text) > 6 and text[-6] == " " and text[-5] in "+-":
        text = text[:-6] + text[-5:]
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        pass
    for fmt in _HOOK_FORMATS:
        try:
            return datetime.strptime(value, fmt)
        except ValueError:
            continue
    return None


def _time(native: Native, key: str, kind: str) -> datetime | None:
    try:
        return gitlab_time(native.get(key))
    except ValueError as exc:
        raise read.error(kind, str(exc), field=key) from None


def _date(native: Native, key: str, kind: str) -> date | None:
    value = native.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise read.error(kind, f"expected a date, got {type_name(value)}", field=key)
    try:
        return date.fromisoformat(value[:10])
    except ValueError:
        raise read.error(kind, f"not a date: {value[:40]!r}", field=key) from None


def _envelope(
    native: Native,
    *,
    kind: str,
    provider: ProviderRef | None,
    interface: Interface,
    mapped: Iterable[str],
    native_id: str | None = None,
    native_number: str | None = None,
    url: str | None = None,
    updated_at: Any = None,
    sha: str | None = None,
    etag: str | None = None,
    page: bool = True,
) -> dict[str, Any]:
    """The envelope as a dict; ``page=False`` for kinds without a web page (no ``url``)."""
    links = native.get("_links")
    api_url = links.get("self") if isinstance(links, Mapping) else None
    return {
        "provider": provider or gitlab_provider(),
        "interface": interface,
        "native_kind": kind,
        "native_id": native_id if native_id is not None else read.ident(native, kind),
        "native_number": native_number,
        "url": None
        if not page
        else url
        if url is not None
        else read.opt_text(native, "web_url", kind),
        "api_url": api_url if isinstance(api_url, str) else None,
        "version": {"updated_at": updated_at, "sha": sha, "etag": etag},
        "extensions": Extensions(
            provider_type=PROVIDER_TYPE, fields=rest(native, [*mapped, "_links"])
        ),
    }


_ENVELOPE_KEYS = ("id", "web_url")


def _iid(native: Native, kind: str) -> str | None:
    value = native.get("iid")
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise read.error(kind, f"expected an iid, got {type_name(value)}", field="iid")
    return str(value)


# --- shared pieces ---------------------------------------------------------------


def actor(user: Any) -> Actor | None:
    """A GitLab user object (``{id, username, name, …}``) -> :class:`Actor`."""
    if user is None:
        return None
    native = read.obj(user, "user")
    username = native.get("username")
    name = native.get("name")
    email = native.get("email") or native.get("public_email")
    return Actor(
        username=username if isinstance(username, str) else None,
        display_name=name if isinstance(name, str) else None,
        native_id=read.opt_ident(native, "id"),
        email=email if isinstance(email, str) and email else None,
        is_bot=native.get("bot") is True
        or (isinstance(username, str) and username.startswith(("project_", "group_"))),
    )


def _actors(native: Native, key: str, kind: str) -> list[Actor]:
    return [a for a in (actor(u) for u in read.array(native, key, kind)) if a is not None]


def _label_names(native: Native, kind: str) -> list[str]:
    names: list[str] = []
    for item in read.array(native, "labels", kind):
        if isinstance(item, str):
            names.append(item)
        else:
            # Hooks send label objects: ``title`` is the name.
            obj = read.obj(item, kind, "labels")
            names.append(read.text(obj, "name" if "name" in obj else "title", kind))
    return names


def _body(native: Native, key: str, kind: str) -> RichText | None:
    text = read.opt_text(native, key, kind)
    if text is None:
        return None
    return marked_rich_text(text)  # a key marker the adapter added is hidden, kept in source


def _milestone_ref(native: Native) -> ObjectRef:
    return ObjectRef(
        kind="Milestone",
        native_id=read.opt_ident(native, "id"),
        native_number=read.opt_ident(native, "iid"),
        url=native.get("web_url") if isinstance(native.get("web_url"), str) else None,
    )


# --- issue tracking --------------------------------------------------------------

_ISSUE_MAPPED = (
    *_ENVELOPE_KEYS,
    "iid",
    "title",
    "description",
    "state",
    "labels",
    "assignee",
    "assignees",
    "author",
    "milestone",
    "issue_type",
    "user_notes_count",
    "discussion_locked",
    "created_at",
    "updated_at",
    "closed_at",
)


def issue(native: Any, *, provider: ProviderRef | None = None, etag: str | None = None) -> Issue:
    """A REST issue (``GET /projects/:id/issues/:iid``) -> :class:`Issue`.

    ``state`` ``opened``/``closed`` -> open/closed; ``confidential``,
    ``due_date``, ``weight``… stay in extensions.
    """
    kind = "issue"
    obj = read.obj(native, kind)
    state = read.opt_text(obj, "state", kind)
    ms = read.opt_obj(obj, "milestone", kind)
    assignees = _actors(obj, "assignees", kind)
    if not assignees and obj.get("assignee") is not None:
        single = actor(obj.get("assignee"))
        assignees = [single] if single else []
    canonical_state = {"opened": IssueState.OPEN, "closed": IssueState.CLOSED}.get(
        state or "", IssueState.UNKNOWN
    )
    data: dict[str, Any] = {
        "external": _envelope(
            obj,
            kind=kind,
            provider=provider,
            interface=Interface.ISSUE_TRACKING,
            mapped=_ISSUE_MAPPED,
            native_number=_iid(obj, kind),
            updated_at=_time(obj, "updated_at", kind),
            etag=etag,
        ),
        "title": read.text(obj, "title", kind),
        "body": _body(obj, "description", kind),
        "status": IssueStatus(
            state=canonical_state,
            category=(
                StatusCategory.TODO
                if canonical_state is IssueState.OPEN
                else StatusCategory.DONE
                if canonical_state is IssueState.CLOSED
                else StatusCategory.UNKNOWN
            ),
            native=state,
        ),
        "labels": _label_names(obj, kind),
        "assignees": assignees,
        "author": actor(obj.get("author")),
        "milestone": None if ms is None else _milestone_ref(ms),
        "issue_type": read.opt_text(obj, "issue_type", kind),
        "comments_count": _opt_int(obj, "user_notes_count", kind),
        "locked": read.flag(obj, "discussion_locked", kind),
        "created_at": _time(obj, "created_at", kind),
        "updated_at": _time(obj, "updated_at", kind),
        "closed_at": _time(obj, "closed_at", kind),
    }
    return read.build(Issue, kind, data)


def hook_user(payload: Native, user_id: Any) -> dict[str, Any] | None:
    """The hook's user object when it is the one with ``user_id``, else ``{id}``."""
    if user_id is None:
        return None
    user = payload.get("user")
    if isinstance(user, Mapping) and user.get("id") == user_id:
        return dict(user)
    return {"id": user_id}


def _hook_milestone(attrs: Native) -> dict[str, Any] | None:
    ms = attrs.get("milestone")
    if isinstance(ms, Mapping):
        return dict(ms)
    ms_id = attrs.get("milestone_id")
    return None if ms_id is None else {"id": ms_id}


_HOOK_RENAMES = {"url": "web_url"}


def _rest_shape(attrs: Native, payload: Native, *, drop: Iterable[str] = ()) -> dict[str, Any]:
    """``object_attributes`` in the REST shape: ``url`` -> ``web_url``, users and labels."""
    skip = {"action", *drop}
    out: dict[str, Any] = {}
    for key, value in attrs.items():
        if key in skip:
            continue
        out[_HOOK_RENAMES.get(key, key)] = value
    labels = payload.get("labels", attrs.get("labels"))
    if isinstance(labels, list):
        out["labels"] = labels
    out["author"] = hook_user(payload, attrs.get("author_id"))
    assignees = payload.get("assignees")
    if isinstance(assignees, list):
        out["assignees"] = assignees
    elif isinstance(payload.get("assignee"), Mapping):
        out["assignees"] = [payload["assignee"]]
    out["milestone"] = _hook_milestone(attrs)
    return out


def issue_from_hook(payload: Any) -> dict[str, Any]:
    """An ``Issue Hook`` payload's issue in the REST shape (for :func:`issue`)."""
    obj = read.obj(payload, "issue_hook")
    attrs = read.obj(obj.get("object_attributes"), "issue_hook", "object_attributes")
    out = _rest_shape(attrs, obj)
    if "discussion_locked" in out and out["discussion_locked"] is None:
        out["discussion_locked"] = False
    return out


_NOTE_MAPPED = (
    *_ENVELOPE_KEYS,
    "body",
    "note",
    "author",
    "created_at",
    "updated_at",
    "system",
    "noteable_type",
    "noteable_id",
    "noteable_iid",
)

_NOTEABLE_KINDS = {"Issue": "Issue", "MergeRequest": "PullRequest", "Commit": "Commit"}


def _noteable_ref(native: Native, kind: str, parent: Native | None) -> ObjectRef:
    noteable = read.opt_text(native, "noteable_type", kind) or "Issue"
    canonical = _NOTEABLE_KINDS.get(noteable)
    if canonical is None:
        raise read.error(kind, f"notes on a {noteable} are not synced", field="noteable_type")
    if canonical == "Commit":
        sha = native.get("commit_id") or (parent or {}).get("id")
        return ObjectRef(kind="Commit", native_id=str(sha) if sha else None)
    number = read.opt_ident(native, "noteable_iid")
    url = None
    if parent is not None:
        number = number or read.opt_ident(parent, "iid")
        found = parent.get("web_url") or parent.get("url")
        url = found if isinstance(found, str) else None
    return ObjectRef(
        kind=canonical,
        native_id=read.opt_ident(native, "noteable_id"),
        native_number=number,
        url=url,
    )


_NOTE_COLLECTIONS = {"Issue": "issues", "PullRequest": "merge_requests", "Commit": "commits"}


def note_path(target: ObjectRef, note_id: str) -> str:
    """A comment's id: its REST path inside the project (``issues/17/notes/1241``).

    GitLab has no note-by-id endpoint: a note is addressed through its parent,
    so the id names both (``merge_requests/5/notes/9``, ``commits/SHA/notes/3``).
    """
    parent = target.native_id if target.kind == "Commit" else target.native_number
    if not parent:
        raise read.error("note", f"the note's {target.kind} is unknown", field="noteable_iid")
    return f"{_NOTE_COLLECTIONS[target.kind]}/{parent}/notes/{note_id}"


_SYSTEM_NOTE_TYPES: tuple[tuple[str, IssueEventType], ...] = (
    ("closed", IssueEventType.CLOSED),
    ("reopened", IssueEventType.REOPENED),
    ("changed title", IssueEventType.RENAMED),
    ("assigned to", IssueEventType.ASSIGNED),
    ("unassigned", IssueEventType.UNASSIGNED),
    ("changed milestone", IssueEventType.MILESTONED),
    ("removed milestone", IssueEventType.DEMILESTONED),
    ("locked", IssueEventType.LOCKED),
    ("unlocked", IssueEventType.UNLOCKED),
    ("mentioned in", IssueEventType.REFERENCED),
    ("changed the description", IssueEventType.EDITED),
)


def _system_event_type(text: str) -> IssueEventType:
    lowered = text.strip().lower()
    for prefix, event_type in _SYSTEM_NOTE_TYPES:
        if lowered.startswith(prefix):
            return event_type
    return IssueEventType.UNKNOWN


def note(
    native: Any,
    *,
    parent: Any = None,
    provider: ProviderRef | None = None,
    etag: str | None = None,
) -> Comment | IssueEvent:
    """A note -> :class:`Comment`, or :class:`IssueEvent` for a system note.

    ``parent`` is the issue/merge request object when known (hooks carry it);
    REST notes carry ``noteable_iid``. Hook notes use ``note``/``url`` where
    REST uses ``body``/``web_url``.
    """
    kind = "note"
    obj = dict(read.obj(native, kind))
    if "note" in obj and "body" not in obj:
        obj["body"] = obj["note"]
    if "url" in obj and "web_url" not in obj:
        obj["web_url"] = obj.pop("url")
    parent_obj = None if parent is None else read.obj(parent, kind, "parent")
    target = _noteable_ref(obj, kind, parent_obj)
    author = actor(obj.get("author"))
    if read.flag(obj, "system", kind):
        text = read.opt_text(obj, "body", kind) or ""
        data: dict[str, Any] = {
            "external": _envelope(
                obj,
                kind="system_note",
                provider=provider,
                interface=Interface.ISSUE_TRACKING,
                mapped=_NOTE_MAPPED,
                native_id=f"note:{read.ident(obj, kind)}",
                updated_at=_time(obj, "created_at", kind),
                etag=etag,
            ),
            "issue": target,
            "event_type": _system_event_type(text),
            "native_event": text,
            "actor": author,
            "created_at": _time(obj, "created_at", kind),
        }
        return read.build(IssueEvent, kind, data)
    data = {
        "external": _envelope(
            obj,
            kind=kind,
            provider=provider,
            interface=Interface.ISSUE_TRACKING,
            mapped=_NOTE_MAPPED,
            native_id=note_path(target, read.ident(obj, kind)),
            updated_at=_time(obj, "updated_at", kind),
            etag=etag,
        ),
        "issue": target,
        "body": _body(obj, "body", kind) or RichText.from_markdown(""),
        "author": author,
        "created_at": _time(obj, "created_at", kind),
        "updated_at": _time(obj, "updated_at", kind),
    }
    return read.build(Comment, kind, data)


_RESOURCE_EVENT_MAPPED = (
    "id",
    "user",
    "created_at",
    "resource_type",
    "resource_id",
    "state",
    "label",
    "milestone",
    "action",
)


def resource_event(
    native: Any,
    *,
    family: str,
    issue_iid: str | None = None,
    provider: ProviderRef | None = None,
) -> IssueEvent:
    """A resource ``state``/``label``/``milestone`` event -> :class:`IssueEvent`.

    ``family`` names the API (the event ids of the three APIs overlap).
    """
    kind = f"resource_{family}_event"
    obj = read.obj(native, kind)
    resource = read.opt_text(obj, "resource_type", kind) or "Issue"
    target = ObjectRef(
        kind="PullRequest" if resource == "MergeRequest" else "Issue",
        native_id=read.opt_ident(obj, "resource_id"),
        native_number=issue_iid,
    )
    action = read.opt_text(obj, "action", kind)
    changes: list[FieldChange] = []
    event_type = IssueEventType.UNKNOWN
    native_event = action
    if family == "state":
        state = read.text(obj, "state", kind)
        native_event = state
        event_type = {
            "closed": IssueEventType.CLOSED,
            "reopened": IssueEventType.REOPENED,
            "opened": IssueEventType.CREATED,
            "locked": IssueEventType.LOCKED,
            "merged": IssueEventType.CLOSED,
        }.get(state, IssueEventType.UNKNOWN)
        changes.append(FieldChange(field="state", to_value=state))
    elif family == "label":
        lbl = read.obj(obj.get("label"), kind, "label")
        name = lbl.get("name")
        event_type = IssueEventType.LABELED if action == "add" else IssueEventType.UNLABELED
        changes.append(
            FieldChange(field="labels", to_value=name)
            if action == "add"
            else FieldChange(field="labels", from_value=name)
        )
    elif family == "milestone":
        ms = read.obj(obj.get("milestone"), kind, "milestone")
        title = ms.get("title")
        event_type = IssueEventType.MILESTONED if action == "add" else IssueEventType.DEMILESTONED
        changes.append(
            FieldChange(field="milestone", to_value=title)
            if action == "add"
            else FieldChange(field="milestone", from_value=title)
        )
    else:
        raise read.error(kind, f"unknown resource event family {family!r}")
    data: dict[str, Any] = {
        "external": _envelope(
            obj,
            kind=kind,
            provider=provider,
            interface=Interface.ISSUE_TRACKING,
            mapped=_RESOURCE_EVENT_MAPPED,
            native_id=f"{family}:{read.ident(obj, kind)}",
            page=False,
            updated_at=_time(obj, "created_at", kind),
        ),
        "issue": target,
        "event_type": event_type,
        "native_event": native_event,
        "actor": actor(obj.get("user")),
        "changes": changes,
        "created_at": _time(obj, "created_at", kind),
    }
    return read.build(IssueEvent, kind, data)


_LABEL_MAPPED = ("id", "name", "color", "description")


def label(native: Any, *, provider: ProviderRef | None = None, etag: str | None = None) -> Label:
    """A project label -> :class:`Label` (no timestamps, no page)."""
    kind = "label"
    obj = read.obj(native, kind)
    color = read.opt_text(obj, "color", kind)
    data: dict[str, Any] = {
        "external": _envelope(
            obj,
            kind=kind,
            provider=provider,
            interface=Interface.ISSUE_TRACKING,
            mapped=_LABEL_MAPPED,
            etag=etag,
        ),
        "name": read.text(obj, "name", kind),
        # GitLab colours are ``#rrggbb``; canonical colours are bare hex.
        "color": color.lstrip("#").lower() if color else None,
        "description": read.opt_text(obj, "description", kind),
    }
    return read.build(Label, kind, data)


_MILESTONE_MAPPED = (
    *_ENVELOPE_KEYS,
    "iid",
    "title",
    "description",
    "state",
    "due_date",
    "created_at",
    "updated_at",
)


def milestone(
    native: Any, *, provider: ProviderRef | None = None, etag: str | None = None
) -> Milestone:
    """A project milestone (``active``/``closed``) -> :class:`Milestone`."""
    kind = "milestone"
    obj = read.obj(native, kind)
    state = read.opt_text(obj, "state", kind)
    data: dict[str, Any] = {
        "external": _envelope(
            obj,
            kind=kind,
            provider=provider,
            interface=Interface.ISSUE_TRACKING,
            mapped=_MILESTONE_MAPPED,
            native_number=_iid(obj, kind),
            updated_at=_time(obj, "updated_at", kind),
            etag=etag,
        ),
        "title": read.text(obj, "title", kind),
        "description": read.opt_text(obj, "description", kind),
        "state": {"active": MilestoneState.OPEN, "closed": MilestoneState.CLOSED}.get(
            state or "", MilestoneState.UNKNOWN
        ),
        "native_state": state,
        "due_on": _date(obj, "due_date", kind),
        "created_at": _time(obj, "created_at", kind),
        "updated_at": _time(obj, "updated_at", kind),
        "closed_at": _time(obj, "updated_at", kind) if state == "closed" else None,
    }
    return read.build(Milestone, kind, data)


# --- CI/CD -------------------------------------------------------------------------

_PIPELINE_STATES = {
    "created": PipelineState.QUEUED,
    "waiting_for_resource": PipelineState.WAITING,
    "preparing": PipelineState.QUEUED,
    "waiting_for_callback": PipelineState.WAITING,
    "pending": PipelineState.QUEUED,
    "running": PipelineState.RUNNING,
    "success": PipelineState.SUCCEEDED,
    "failed": PipelineState.FAILED,
    "canceled": PipelineState.CANCELLED,
    "canceling": PipelineState.RUNNING,
    "skipped": PipelineState.SKIPPED,
    "manual": PipelineState.ACTION_REQUIRED,
    "scheduled": PipelineState.WAITING,
}


def pipeline_state(status: str | None) -> PipelineStatus:
    """GitLab's pipeline/job/status word -> :class:`PipelineStatus`."""
    return PipelineStatus(
        state=_PIPELINE_STATES.get(status or "", PipelineState.UNKNOWN), native=status
    )


_PIPELINE_MAPPED = (
    *_ENVELOPE_KEYS,
    "iid",
    "status",
    "ref",
    "sha",
    "source",
    "user",
    "name",
    "created_at",
    "started_at",
    "finished_at",
    "updated_at",
)


def pipeline(
    native: Any, *, provider: ProviderRef | None = None, etag: str | None = None
) -> Pipeline:
    """A pipeline -> :class:`Pipeline` (``iid`` as number, ``source`` as trigger)."""
    kind = "pipeline"
    obj = read.obj(native, kind)
    updated = _time(obj, "updated_at", kind) or _time(obj, "finished_at", kind)
    sha = read.opt_text(obj, "sha", kind)
    data: dict[str, Any] = {
        "external": _envelope(
            obj,
            kind=kind,
            provider=provider,
            interface=Interface.CICD,
            mapped=_PIPELINE_MAPPED,
            native_number=_iid(obj, kind),
            updated_at=updated,
            sha=sha,
            etag=etag,
        ),
        "name": read.opt_text(obj, "name", kind),
        "status": pipeline_state(read.opt_text(obj, "status", kind)),
        "ref": read.opt_text(obj, "ref", kind),
        "sha": sha,
        "trigger": read.opt_text(obj, "source", kind),
        "actor": actor(obj.get("user")),
        "created_at": _time(obj, "created_at", kind),
        "started_at": _time(obj, "started_at", kind),
        "finished_at": _time(obj, "finished_at", kind),
        "updated_at": updated,
    }
    return read.build(Pipeline, kind, data)


def pipeline_from_hook(payload: Any) -> dict[str, Any]:
    """A ``Pipeline Hook`` payload's pipeline in the REST shape (for :func:`pipeline`)."""
    obj = read.obj(payload, "pipeline_hook")
    attrs = dict(read.obj(obj.get("object_attributes"), "pipeline_hook", "object_attributes"))
    project = obj.get("project")
    if isinstance(project, Mapping) and isinstance(project.get("web_url"), str):
        attrs.setdefault("web_url", f"{project['web_url']}/-/pipelines/{attrs.get('id')}")
    if "url" in attrs:
        attrs["web_url"] = attrs.pop("url")
    attrs.setdefault("user", obj.get("user"))
    # The hook carries no updated_at: the latest of its own times orders it.
    attrs.setdefault("updated_at", attrs.get("finished_at") or attrs.get("created_at"))
    return attrs


_JOB_MAPPED = (
    *_ENVELOPE_KEYS,
    "name",
    "status",
    "pipeline",
    "runner",
    "tag_list",
    "started_at",
    "finished_at",
    "created_at",
)


def _job_version(obj: Native, kind: str) -> datetime | None:
    """The latest of an object's own times, for jobs and statuses (no ``updated_at``)."""
    stamps = [
        t
        for t in (
            _time(obj, "finished_at", kind),
            _time(obj, "started_at", kind),
            _time(obj, "created_at", kind),
        )
        if t is not None
    ]
    return max(stamps) if stamps else None


def job(
    native: Any,
    *,
    provider: ProviderRef | None = None,
    etag: str | None = None,
    native_kind: str = "job",
) -> Job:
    """A job (or, with ``native_kind="bridge"``, a trigger job) -> :class:`Job`."""
    kind = native_kind
    obj = read.obj(native, kind)
    pipe = read.opt_obj(obj, "pipeline", kind) or {}
    runner_obj = read.opt_obj(obj, "runner", kind)
    commit_obj = read.opt_obj(obj, "commit", kind)
    sha = read.opt_text(commit_obj, "id", kind) if commit_obj else read.opt_text(pipe, "sha", kind)
    runner_name = None
    if runner_obj is not None:
        runner_name = read.opt_text(runner_obj, "description", kind) or read.opt_text(
            runner_obj, "name", kind
        )
    data: dict[str, Any] = {
        "external": _envelope(
            obj,
            kind=kind,
            provider=provider,
            interface=Interface.CICD,
            mapped=_JOB_MAPPED,
            updated_at=_job_version(obj, kind),
            sha=sha,
            etag=etag,
        ),
        "pipeline": ObjectRef(
            kind="Pipeline",
            native_id=read.opt_ident(pipe, "id"),
            url=pipe.get("web_url") if isinstance(pipe.get("web_url"), str) else None,
        ),
        "name": read.text(obj, "name", kind),
        "status": pipeline_state(read.opt_text(obj, "status", kind)),
        "runner_name": runner_name,
        "labels": [t for t in read.array(obj, "tag_list", kind) if isinstance(t, str)],
        "started_at": _time(obj, "started_at", kind),
        "finished_at": _time(obj, "finished_at", kind),
    }
    return read.build(Job, kind, data)


def bridge(native: Any, *, provider: ProviderRef | None = None, etag: str | None = None) -> Job:
    """A bridge (trigger job; ``downstream_pipeline`` in extensions) -> :class:`Job`."""
    return job(native, provider=provider, etag=etag, native_kind="bridge")


_BUILD_FIELDS = {
    "build_id": "id",
    "build_name": "name",
    "build_stage": "stage",
    "build_status": "status",
    "build_created_at": "created_at",
    "build_started_at": "started_at",
    "build_finished_at": "finished_at",
    "build_duration": "duration",
    "build_queued_duration": "queued_duration",
    "build_allow_failure": "allow_failure",
    "build_failure_reason": "failure_reason",
}


def job_from_hook(payload: Any) -> dict[str, Any]:
    """A ``Job Hook`` payload (``build_*`` keys) in the REST job shape (for :func:`job`)."""
    obj = read.obj(payload, "job_hook")
    out: dict[str, Any] = {}
    for key, value in obj.items():
        if key == "object_kind":
            continue
        out[_BUILD_FIELDS.get(key, key)] = value
    pipeline_id = obj.get("pipeline_id", (obj.get("commit") or {}).get("id"))
    out.pop("pipeline_id", None)
    out["pipeline"] = {"id": pipeline_id, "ref": obj.get("ref"), "sha": obj.get("sha")}
    repo = obj.get("repository")
    if isinstance(repo, Mapping) and isinstance(repo.get("homepage"), str):
        out.setdefault("web_url", f"{repo['homepage']}/-/jobs/{obj.get('build_id')}")
    out["commit"] = {"id": obj.get("sha")}
    out.pop("sha", None)
    runner = obj.get("runner")
    if isinstance(runner, Mapping):
        out["tag_list"] = runner.get("tags") or []
    return out


_STATUS_MAPPED = (
    "id",
    "sha",
    "status",
    "name",
    "target_url",
    "description",
    "started_at",
    "finished_at",
    "created_at",
)


def commit_status(
    native: Any, *, provider: ProviderRef | None = None, etag: str | None = None
) -> Check:
    """A commit status -> :class:`Check` (``native_id`` ``"{sha}:{name}"``)."""
    kind = "commit_status"
    obj = read.obj(native, kind)
    sha = read.text(obj, "sha", kind)
    name = read.opt_text(obj, "name", kind) or "default"
    version = _job_version(obj, kind)
    data: dict[str, Any] = {
        "external": _envelope(
            obj,
            kind=kind,
            provider=provider,
            interface=Interface.CICD,
            mapped=_STATUS_MAPPED,
            native_id=f"{sha}:{name}",
            page=False,
            updated_at=version,
            sha=sha,
            etag=etag,
        ),
        "check_kind": CheckKind.COMMIT_STATUS,
        "name": name,
        "sha": sha,
        "status": pipeline_state(read.opt_text(obj, "status", kind)),
        "details_url": read.opt_text(obj, "target_url", kind),
        "summary": read.opt_text(obj, "description", kind),
        "started_at": _time(obj, "started_at", kind),
        "finished_at": _time(obj, "finished_at", kind),
    }
    data["external"]["extensions"].fields["status_id"] = obj.get("id")
    return read.build(Check, kind, data)


def artifacts(
    native_job: Any, *, provider: ProviderRef | None = None, api_base: str | None = None
) -> list[Artifact]:
    """A job's ``artifacts`` entries -> one :class:`Artifact` each (not the trace)."""
    kind = "artifact"
    obj = read.obj(native_job, "job")
    job_id = read.ident(obj, "job")
    pipe = read.opt_obj(obj, "pipeline", kind) or {}
    expires = _time(obj, "artifacts_expire_at", kind)
    out: list[Artifact] = []
    for raw in read.array(obj, "artifacts", kind):
        entry = read.obj(raw, kind, "artifacts")
        file_type = read.text(entry, "file_type", kind)
        if file_type == "trace":
            continue  # the log is a LogRef, not an artifact
        download = (
            f"{api_base}/jobs/{job_id}/artifacts" if api_base and file_type == "archive" else None
        )
        data: dict[str, Any] = {
            "external": {
                "provider": provider or gitlab_provider(),
                "interface": Interface.CICD,
                "native_kind": kind,
                "native_id": f"{job_id}:{file_type}",
                "version": {"updated_at": _time(obj, "finished_at", kind)},
                "extensions": Extensions(
                    provider_type=PROVIDER_TYPE,
                    fields={
                        **rest(entry, ("filename", "size")),
                        "job_id": obj.get("id"),
                        "job_name": obj.get("name"),
                    },
                ),
            },
            "pipeline": ObjectRef(kind="Pipeline", native_id=read.opt_ident(pipe, "id")),
            "name": read.opt_text(entry, "filename", kind) or file_type,
            "size_bytes": _opt_int(entry, "size", kind),
            "download_url": download,
            "created_at": _time(obj, "finished_at", kind),
            "expires_at": expires,
        }
        out.append(read.build(Artifact, kind, data))
    return out


_RUNNER_MAPPED = ("id", "description", "name", "status", "online", "paused", "tag_list", "platform")
_RUNNER_STATES = {
    "online": RunnerState.ONLINE,
    "offline": RunnerState.OFFLINE,
    "stale": RunnerState.OFFLINE,
    "never_contacted": RunnerState.OFFLINE,
}


def runner(native: Any, *, provider: ProviderRef | None = None, etag: str | None = None) -> Runner:
    """A runner (``online``/``offline``/``stale``/``never_contacted``) -> :class:`Runner`."""
    kind = "runner"
    obj = read.obj(native, kind)
    status = read.opt_text(obj, "status", kind)
    data: dict[str, Any] = {
        "external": _envelope(
            obj,
            kind=kind,
            provider=provider,
            interface=Interface.CICD,
            mapped=_RUNNER_MAPPED,
            page=False,
            etag=etag,
        ),
        "name": read.opt_text(obj, "description", kind) or read.opt_text(obj, "name", kind) or "",
        "os": read.opt_text(obj, "platform", kind),
        "state": _RUNNER_STATES.get(status or "", RunnerState.UNKNOWN),
        "native_state": status,
        "busy": False,
        "labels": [t for t in read.array(obj, "tag_list", kind) if isinstance(t, str)],
    }
    return read.build(Runner, kind, data)


# --- git forge -----------------------------------------------------------------------

_PROJECT_MAPPED = (
    *_ENVELOPE_KEYS,
    "path",
    "path_with_namespace",
    "namespace",
    "description",
    "default_branch",
    "visibility",
    "archived",
    "forked_from_project",
    "http_url_to_repo",
    "ssh_url_to_repo",
    "created_at",
    "updated_at",
    "last_activity_at",
)


def project(
    native: Any, *, provider: ProviderRef | None = None, etag: str | None = None
) -> Repository:
    """A project -> :class:`Repository` (``owner`` is the namespace's full path)."""
    kind = "project"
    obj = read.obj(native, kind)
    full = read.text(obj, "path_with_namespace", kind)
    owner, _, name = full.rpartition("/")
    updated = _time(obj, "updated_at", kind) or _time(obj, "last_activity_at", kind)
    data: dict[str, Any] = {
        "external": _envelope(
            obj,
            kind=kind,
            provider=provider,
            interface=Interface.GIT_FORGE,
            mapped=_PROJECT_MAPPED,
            updated_at=updated,
            etag=etag,
        ),
        "owner": owner,
        "name": read.opt_text(obj, "path", kind) or name,
        "full_name": full,
        "description": read.opt_text(obj, "description", kind),
        "default_branch": read.opt_text(obj, "default_branch", kind),
        "visibility": read.opt_text(obj, "visibility", kind) or Visibility.UNKNOWN,
        "archived": read.flag(obj, "archived", kind),
        "fork": obj.get("forked_from_project") is not None,
        "clone_url": read.opt_text(obj, "http_url_to_repo", kind),
        "ssh_url": read.opt_text(obj, "ssh_url_to_repo", kind),
        "created_at": _time(obj, "created_at", kind),
        "updated_at": updated,
        "pushed_at": _time(obj, "last_activity_at", kind),
    }
    return read.build(Repository, kind, data)


_MR_MAPPED = (
    *_ENVELOPE_KEYS,
    "iid",
    "title",
    "description",
    "state",
    "source_branch",
    "target_branch",
    "sha",
    "diff_refs",
    "author",
    "labels",
    "assignees",
    "assignee",
    "reviewers",
    "draft",
    "work_in_progress",
    "merge_commit_sha",
    "created_at",
    "updated_at",
    "closed_at",
    "merged_at",
)
_MR_STATES = {
    "opened": PullRequestState.OPEN,
    "closed": PullRequestState.CLOSED,
    "locked": PullRequestState.CLOSED,
    "merged": PullRequestState.MERGED,
}


def merge_request(
    native: Any, *, provider: ProviderRef | None = None, etag: str | None = None
) -> PullRequest:
    """A merge request -> :class:`PullRequest` (``draft``, ``merged``; ``iid`` as number)."""
    kind = "merge_request"
    obj = read.obj(native, kind)
    state = read.opt_text(obj, "state", kind)
    draft = read.flag(obj, "draft", kind) or read.flag(obj, "work_in_progress", kind)
    canonical = _MR_STATES.get(state or "", PullRequestState.UNKNOWN)
    if canonical is PullRequestState.OPEN and draft:
        canonical = PullRequestState.DRAFT
    diff_refs = read.opt_obj(obj, "diff_refs", kind) or {}
    head_sha = read.opt_text(obj, "sha", kind) or read.opt_text(diff_refs, "head_sha", kind)
    mergeable = obj.get("detailed_merge_status") or obj.get("merge_status")
    data: dict[str, Any] = {
        "external": _envelope(
            obj,
            kind=kind,
            provider=provider,
            interface=Interface.GIT_FORGE,
            mapped=_MR_MAPPED,
            native_number=_iid(obj, kind),
            updated_at=_time(obj, "updated_at", kind),
            sha=head_sha,
            etag=etag,
        ),
        "title": read.text(obj, "title", kind),
        "body": _body(obj, "description", kind),
        "status": PullRequestStatus(state=canonical, native=state),
        "head_ref": read.opt_text(obj, "source_branch", kind),
        "head_sha": head_sha,
        "base_ref": read.opt_text(obj, "target_branch", kind),
        "base_sha": read.opt_text(diff_refs, "base_sha", kind),
        "author": actor(obj.get("author")),
        "labels": _label_names(obj, kind),
        "assignees": _actors(obj, "assignees", kind),
        "requested_reviewers": _actors(obj, "reviewers", kind),
        "draft": draft,
        "mergeable": (
            None
            if mergeable in (None, "checking", "unchecked", "preparing")
            else mergeable in ("can_be_merged", "mergeable")
        ),
        "merge_commit_sha": read.opt_text(obj, "merge_commit_sha", kind),
        "created_at": _time(obj, "created_at", kind),
        "updated_at": _time(obj, "updated_at", kind),
        "closed_at": _time(obj, "closed_at", kind),
        "merged_at": _time(obj, "merged_at", kind),
    }
    return read.build(PullRequest, kind, data)


def merge_request_from_hook(payload: Any) -> dict[str, Any]:
    """A ``Merge Request Hook`` payload's merge request in the REST shape."""
    obj = read.obj(payload, "merge_request_hook")
    attrs = read.obj(obj.get("object_attributes"), "merge_request_hook", "object_attributes")
    out = _rest_shape(attrs, obj, drop=("source", "target"))
    last = attrs.get("last_commit")
    if isinstance(last, Mapping) and isinstance(last.get("id"), str):
        out["sha"] = last["id"]
    reviewers = obj.get("reviewers")
    if isinstance(reviewers, list):
        out["reviewers"] = reviewers
    for side in ("source", "target"):
        if side in attrs:
            out[f"{side}_project"] = attrs[side]
    if out.get("state") == "merged" and out.get("merged_at") is None:
        out["merged_at"] = attrs.get("updated_at")
    return out


def approval(
    user: Any, *, mr: Any, provider: ProviderRef | None = None, approved_at: Any = None
) -> Review:
    """One ``approved_by`` entry of a merge request's approvals -> an approving :class:`Review`."""
    kind = "approval"
    entry = read.obj(user, kind)
    who = read.obj(entry.get("user", entry), kind, "user")
    parent = read.obj(mr, kind, "merge_request")
    mr_id = read.ident(parent, kind)
    when = _time({"approved_at": entry.get("approved_at", approved_at)}, "approved_at", kind)
    data: dict[str, Any] = {
        "external": {
            "provider": provider or gitlab_provider(),
            "interface": Interface.GIT_FORGE,
            "native_kind": kind,
            "native_id": f"{mr_id}:{read.ident(who, kind)}",
            "url": parent.get("web_url") if isinstance(parent.get("web_url"), str) else None,
            "version": {"updated_at": when},
            "extensions": Extensions(provider_type=PROVIDER_TYPE, fields={}),
        },
        "pull_request": ObjectRef(
            kind="PullRequest", native_id=mr_id, native_number=read.opt_ident(parent, "iid")
        ),
        "state": ReviewState.APPROVED,
        "native_state": "approved",
        "author": actor(who),
        "commit_sha": parent.get("sha") if isinstance(parent.get("sha"), str) else None,
        "submitted_at": when,
    }
    return read.build(Review, kind, data)


def ref_id(project_path: str, full_ref: str) -> str:
    """The id of a ref: ``"{group/project}:refs/heads/main"``."""
    return f"{project_path}:{full_ref}"


def _ref(native: Any, *, project_path: str, ref_kind: RefKind, provider: ProviderRef | None) -> Ref:
    kind = "branch" if ref_kind is RefKind.BRANCH else "tag"
    obj = read.obj(native, kind)
    name = read.text(obj, "name", kind)
    commit_obj = read.obj(obj.get("commit"), kind, "commit")
    sha = read.text(commit_obj, "id", kind)
    full = f"refs/{'heads' if ref_kind is RefKind.BRANCH else 'tags'}/{name}"
    data: dict[str, Any] = {
        "external": {
            "provider": provider or gitlab_provider(),
            "interface": Interface.GIT_FORGE,
            "native_kind": kind,
            "native_id": ref_id(project_path, full),
            "version": {"sha": sha},
            "extensions": Extensions(
                provider_type=PROVIDER_TYPE,
                fields=rest(obj, ("name", "commit", "web_url")),
            ),
        },
        "name": full,
        "ref_kind": ref_kind,
        "sha": sha,
    }
    return read.build(Ref, kind, data)


def branch(native: Any, *, project_path: str, provider: ProviderRef | None = None) -> Ref:
    """A repository branch -> :class:`Ref` (``refs/heads/<name>``)."""
    return _ref(native, project_path=project_path, ref_kind=RefKind.BRANCH, provider=provider)


def tag(native: Any, *, project_path: str, provider: ProviderRef | None = None) -> Ref:
    """A repository tag -> :class:`Ref` (``refs/tags/<name>``)."""
    return _ref(native, project_path=project_path, ref_kind=RefKind.TAG, provider=provider)


def pushed_ref(payload: Any, *, provider: ProviderRef | None = None) -> Ref:
    """The ref a ``Push Hook``/``Tag Push Hook`` moved (``after``; ``before`` when deleted)."""
    kind = "push"
    obj = read.obj(payload, kind)
    full = read.text(obj, "ref", kind)
    project_obj = read.obj(obj.get("project"), kind, "project")
    path = read.text(project_obj, "path_with_namespace", kind)
    after, before = read.text(obj, "after", kind), read.text(obj, "before", kind)
    sha = before if after == ZERO_SHA else after
    ref_kind = RefKind.TAG if full.startswith("refs/tags/") else RefKind.BRANCH
    data: dict[str, Any] = {
        "external": {
            "provider": provider or gitlab_provider(),
            "interface": Interface.GIT_FORGE,
            "native_kind": "ref",
            "native_id": ref_id(path, full),
            "version": {"sha": sha},
            "extensions": Extensions(
                provider_type=PROVIDER_TYPE,
                fields={
                    k: obj.get(k)
                    for k in ("checkout_sha", "total_commits_count", "user_username", "user_id")
                    if k in obj
                },
            ),
        },
        "name": full,
        "ref_kind": ref_kind,
        "sha": sha,
    }
    return read.build(Ref, kind, data)


_COMMIT_MAPPED = (
    *_ENVELOPE_KEYS,
    "message",
    "author_name",
    "author_email",
    "authored_date",
    "committer_name",
    "committer_email",
    "committed_date",
    "parent_ids",
)


def commit(native: Any, *, provider: ProviderRef | None = None, etag: str | None = None) -> Commit:
    """A repository commit (``GET .../repository/commits/:sha``) -> :class:`Commit`."""
    kind = "commit"
    obj = read.obj(native, kind)
    sha = read.text(obj, "id", kind)
    data: dict[str, Any] = {
        "external": _envelope(
            obj,
            kind=kind,
            provider=provider,
            interface=Interface.GIT_FORGE,
            mapped=_COMMIT_MAPPED,
            sha=sha,
            etag=etag,
        ),
        "sha": sha,
        "message": read.opt_text(obj, "message", kind) or read.opt_text(obj, "title", kind) or "",
        "author": CommitPerson(
            name=read.opt_text(obj, "author_name", kind),
            email=read.opt_text(obj, "author_email", kind),
            date=_time(obj, "authored_date", kind),
        ),
        "committer": CommitPerson(
            name=read.opt_text(obj, "committer_name", kind),
            email=read.opt_text(obj, "committer_email", kind),
            date=_time(obj, "committed_date", kind),
        ),
        "parents": [p for p in read.array(obj, "parent_ids", kind) if isinstance(p, str)],
    }
    return read.build(Commit, kind, data)


def push_commit(native: Any, *, provider: ProviderRef | None = None) -> Commit:
    """A commit of a push hook (``{id, message, timestamp, url, author{name,email}}``)."""
    kind = "push_commit"
    obj = read.obj(native, kind)
    sha = read.text(obj, "id", kind)
    author = read.opt_obj(obj, "author", kind) or {}
    data: dict[str, Any] = {
        "external": {
            "provider": provider or gitlab_provider(),
            "interface": Interface.GIT_FORGE,
            "native_kind": kind,
            "native_id": sha,
            "url": read.opt_text(obj, "url", kind),
            "version": {"sha": sha},
            "extensions": Extensions(
                provider_type=PROVIDER_TYPE,
                fields=rest(obj, ("id", "message", "timestamp", "url", "author")),
            ),
        },
        "sha": sha,
        "message": read.opt_text(obj, "message", kind) or "",
        "author": CommitPerson(
            name=read.opt_text(author, "name", kind),
            email=read.opt_text(author, "email", kind),
            date=_time(obj, "timestamp", kind),
        ),
    }
    return read.build(Commit, kind, data)


_KEY_MAPPED = ("id", "title", "key", "can_push", "created_at")


def deploy_key(
    native: Any, *, provider: ProviderRef | None = None, etag: str | None = None
) -> DeployKey:
    """A deploy key (``can_push`` false = read-only) -> :class:`DeployKey`."""
    kind = "deploy_key"
    obj = read.obj(native, kind)
    data: dict[str, Any] = {
        "external": _envelope(
            obj,
            kind=kind,
            provider=provider,
            interface=Interface.GIT_FORGE,
            mapped=_KEY_MAPPED,
            page=False,
            updated_at=_time(obj, "created_at", kind),
            etag=etag,
        ),
        "title": read.text(obj, "title", kind),
        "key": read.text(obj, "key", kind),
        "read_only": not read.flag(obj, "can_push", kind),
        "created_at": _time(obj, "created_at", kind),
    }
    return read.build(DeployKey, kind, data)


_ACCESS_LEVELS = {
    50: (Permission.ADMIN, "owner"),
    40: (Permission.MAINTAIN, "maintainer"),
    30: (Permission.WRITE, "developer"),
    20: (Permission.TRIAGE, "reporter"),
    15: (Permission.TRIAGE, "planner"),
    10: (Permission.READ, "guest"),
    5: (Permission.READ, "minimal_access"),
}


_MEMBER_MAPPED = ("id", "web_url", "username", "name", "access_level", "email", "public_email")


def member(
    native: Any, *, provider: ProviderRef | None = None, etag: str | None = None
) -> Collaborator:
    """A project member (``access_level`` 10-50) -> :class:`Collaborator`."""
    kind = "member"
    obj = read.obj(native, kind)
    level = _opt_int(obj, "access_level", kind)
    permission, role = _ACCESS_LEVELS.get(level or -1, (Permission.UNKNOWN, None))
    who = actor(obj)
    assert who is not None
    data: dict[str, Any] = {
        "external": _envelope(
            obj,
            kind=kind,
            provider=provider,
            interface=Interface.GIT_FORGE,
            mapped=_MEMBER_MAPPED,
            etag=etag,
        ),
        "actor": who,
        "permission": permission,
        "native_permission": role if role else (str(level) if level is not None else None),
    }
    return read.build(Collaborator, kind, data)


_PROTECTED_MAPPED = ("id", "name", "allow_force_push", "code_owner_approval_required")


def protected_branch(
    native: Any, *, project_path: str, provider: ProviderRef | None = None
) -> BranchProtection:
    """A protected branch -> :class:`BranchProtection` (access levels stay in extensions;
    push level "No one" for everybody reads as ``enforce_admins``)."""
    kind = "protected_branch"
    obj = read.obj(native, kind)
    name = read.text(obj, "name", kind)
    push = read.array(obj, "push_access_levels", kind)
    data: dict[str, Any] = {
        "external": {
            "provider": provider or gitlab_provider(),
            "interface": Interface.GIT_FORGE,
            "native_kind": kind,
            "native_id": f"{project_path}:{name}",
            "version": {},
            "extensions": Extensions(
                provider_type=PROVIDER_TYPE, fields=rest(obj, _PROTECTED_MAPPED)
            ),
        },
        "branch": name,
        # "No one" may push (level 0): everyone, maintainers and owners too, goes
        # through merge requests — GitLab's form of enforcing the rule for admins.
        "enforce_admins": bool(push)
        and all(isinstance(p, Mapping) and p.get("access_level") == 0 for p in push),
        "require_code_owner_reviews": read.flag(obj, "code_owner_approval_required", kind),
        "allow_force_pushes": read.flag(obj, "allow_force_push", kind),
    }
    return read.build(BranchProtection, kind, data)
