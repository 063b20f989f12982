"""GitHub JSON objects -> canonical models.

GitHub's REST responses and its webhook payload objects share one shape (an
``issue`` in ``issues`` webhooks is what ``GET /repos/{o}/{r}/issues/{n}``
returns), so the adapter, the emulator and the webhook normalizers all map
through these functions.

Every function takes the native object and returns one canonical object with
the full envelope: ``native_id`` is ``str(id)``, ``native_number`` the human
number where GitHub has one, ``node_id`` the GraphQL id, ``url`` the
``html_url``, ``api_url`` the REST ``url``, ``version`` from ``updated_at``
(plus ``sha`` for commit-bound objects and ``etag`` when the caller passes
one). Every top-level field the canonical model has no place for is kept in
``extensions.fields``; a sub-object the model only partly uses (a pull
request's ``head``, a check run's ``output``) is kept there minus the parts
that were mapped. Nothing is dropped silently.

Decisions worth knowing:

- A PR-backed issue (an issue with a ``pull_request`` key) maps to an
  :class:`Issue` whose ``pull_request`` links the pull request; use
  :func:`is_pull_request_backed` to keep it from becoming a second work item.
  Comments on such an issue link ``ObjectRef(kind="PullRequest")``.
- A pull request review comment maps to a :class:`Comment` on the
  ``gitForge`` interface whose ``issue`` is the pull request.
- A check suite maps to a :class:`Pipeline` (``native_kind="check_suite"``):
  it is the run of one app's checks on one commit.
- A commit status maps to a :class:`Check` (``check_kind="commit_status"``)
  whose ``native_id`` is ``"{sha}:{context}"``: GitHub creates a new status
  object (new ``id``) for every update of the same context, so the id would
  make every update a new check. The status id stays in ``extensions``.
- Refs and REST branch protections have no id: their ``native_id`` is
  ``"{owner}/{repo}:{refs/heads/x}"`` / ``"{owner}/{repo}:{branch}"``.
- Jobs and check runs carry no ``updated_at``; their version orders by the
  latest of their own timestamps (created/started/completed).

Malformed input raises :class:`MappingError` (a ``KradleError``) naming the
object kind and the field. Older shapes that lack a field the canonical model
wants (a label without ``id``, a repository without ``full_name``) map with a
:class:`MappingWarning` on ``external.warnings`` instead.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, datetime
from typing import Any

from pydantic import ValidationError

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
    JobStep,
    Label,
    MappingWarning,
    Milestone,
    MilestoneState,
    ObjectRef,
    Permission,
    Pipeline,
    PipelineDefinition,
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
    RichText,
    Runner,
    RunnerRegistration,
    RunnerState,
    StatusCategory,
    Version,
    Visibility,
)
from kradle_providers.models.native import MappingError, Native, NativeReader, rest, type_name

__all__ = [
    "PROVIDER_TYPE",
    "MappingError",
    "actor",
    "artifact",
    "branch",
    "branch_protection",
    "branch_protection_rule",
    "check_run",
    "check_suite",
    "collaborator",
    "commit",
    "commit_status",
    "deploy_key",
    "full_ref",
    "github_provider",
    "is_pull_request_backed",
    "issue",
    "issue_comment",
    "issue_event",
    "label",
    "milestone",
    "pipeline_status",
    "pull_request",
    "push_commit",
    "pushed_ref",
    "ref",
    "ref_id",
    "ref_kind",
    "repository",
    "review",
    "review_comment",
    "runner",
    "runner_registration",
    "workflow",
    "workflow_job",
    "workflow_run",
]

PROVIDER_TYPE = "github"

read = NativeReader("GitHub")
"""Checked reads of GitHub JSON; a wrong type is a :class:`MappingError`."""


def github_provider(instance: str = "default") -> ProviderRef:
    """The provider reference of a GitHub instance."""
    return ProviderRef(type=PROVIDER_TYPE, instance=instance)


# --- field readers ------------------------------------------------------------
# They check types up front so a malformed object is a MappingError, never an
# AttributeError deep inside.


def _time(native: Native, key: str, kind: str) -> Any:
    # ISO strings, and unix seconds in push payloads' repository; pydantic parses both.
    value = native.get(key)
    if value is None or (isinstance(value, str | int) and not isinstance(value, bool)):
        return value
    raise read.error(kind, f"expected a timestamp, got {type_name(value)}", field=key)


def _latest(*values: Any) -> Any:
    """The latest of some timestamps (parsed), for objects without ``updated_at``."""
    parsed: list[tuple[datetime, Any]] = []
    for value in values:
        if value is None:
            continue
        try:
            when = Version.model_validate({"updated_at": value}).updated_at
        except ValidationError:
            continue
        if when is not None:
            parsed.append((when, value))
    return max(parsed, key=lambda p: p[0])[1] if parsed else None


def _partial(native: Native, key: str, used: Iterable[str], fields: dict[str, Any]) -> None:
    """Keep what is left of a partly mapped sub-object under its own key."""
    sub = native.get(key)
    if isinstance(sub, Mapping):
        left = rest(sub, used)
        if left:
            fields[key] = left
    elif key in native:
        fields[key] = sub


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
    api_url: str | None = None,
    updated_at: Any = None,
    sha: str | None = None,
    etag: str | None = None,
    partial: Mapping[str, Iterable[str]] | None = None,
    native_addresses: bool = True,
) -> dict[str, Any]:
    """The envelope as a dict; ``_build`` validates it with the object.

    ``url``/``api_url`` default to the object's ``html_url``/``url`` unless
    ``native_addresses`` is false (objects whose ``url`` means something else).
    """
    fields = rest(native, (*mapped, *partial) if partial else tuple(mapped))
    for key, used in (partial or {}).items():
        _partial(native, key, used, fields)
    return {
        "provider": provider or github_provider(),
        "interface": interface,
        "native_kind": kind,
        "native_id": native_id if native_id is not None else read.ident(native, kind),
        "native_number": native_number,
        "node_id": read.opt_text(native, "node_id", kind),
        "url": url
        if url is not None or not native_addresses
        else read.opt_text(native, "html_url", kind),
        "api_url": (
            api_url
            if api_url is not None or not native_addresses
            else read.opt_text(native, "url", kind)
        ),
        "version": {"updated_at": updated_at, "sha": sha, "etag": etag},
        "extensions": Extensions(provider_type=PROVIDER_TYPE, fields=fields),
    }


_ENVELOPE_KEYS = ("id", "node_id", "html_url", "url")


# --- shared pieces -------------------------------------------------------------


def actor(user: Any) -> Actor | None:
    """A GitHub user/bot/app object -> :class:`Actor` (None for null)."""
    if user is None:
        return None
    native = read.obj(user, "user")
    login = native.get("login")
    if not isinstance(login, str):
        # Apps and push authors use ``name``/``slug`` instead of ``login``.
        login = native.get("username") or native.get("slug")
    return Actor(
        username=login if isinstance(login, str) else None,
        display_name=native.get("name") if isinstance(native.get("name"), str) else None,
        native_id=read.opt_ident(native, "id"),
        email=native.get("email") if isinstance(native.get("email"), str) else None,
        is_bot=native.get("type") == "Bot" or (isinstance(login, str) and login.endswith("[bot]")),
    )


def _actors(native: Native, key: str, kind: str) -> list[Actor]:
    out: list[Actor] = []
    for item in read.array(native, key, kind):
        who = actor(item)
        if who is not None:
            out.append(who)
    return out


def _label_names(native: Native, kind: str) -> list[str]:
    names: list[str] = []
    for item in read.array(native, "labels", kind):
        # REST accepts and sometimes returns bare label names.
        if isinstance(item, str):
            names.append(item)
        else:
            names.append(read.text(read.obj(item, kind, "labels"), "name", kind))
    return names


def _body(native: Native, kind: str) -> RichText | None:
    text = read.opt_text(native, "body", kind)
    if text is None:
        return None
    return marked_rich_text(text)  # a key marker the adapter added is hidden, kept in source


def _number(native: Native, kind: str) -> str | None:
    value = read.opt_int(native, "number", kind)
    return None if value is None else str(value)


def _tail_number(api_url: str | None) -> str | None:
    """``.../issues/12`` -> ``"12"``."""
    if not api_url:
        return None
    tail = api_url.rstrip("/").rsplit("/", 1)[-1]
    return tail if tail.isdigit() else None


def is_pull_request_backed(native: Any) -> bool:
    """True for an issue object that is really a pull request's issue side."""
    return isinstance(native, Mapping) and native.get("pull_request") is not None


def _pr_link_of_issue(native: Native, kind: str) -> ObjectRef:
    pr = read.obj(native.get("pull_request"), kind, "pull_request")
    return ObjectRef(
        kind="PullRequest",
        native_number=_number(native, kind),
        url=read.opt_text(pr, "html_url", kind) or read.opt_text(native, "html_url", kind),
    )


def _issue_ref(native: Native, kind: str) -> ObjectRef:
    """A reference to an issue, or to its pull request when it is PR-backed."""
    if is_pull_request_backed(native):
        return _pr_link_of_issue(native, kind)
    return ObjectRef(
        kind="Issue",
        native_id=read.ident(native, kind),
        native_number=_number(native, kind),
        url=read.opt_text(native, "html_url", kind),
    )


def _pr_ref(native: Native, kind: str) -> ObjectRef:
    return ObjectRef(
        kind="PullRequest",
        native_id=read.opt_ident(native, "id"),
        native_number=_number(native, kind),
        url=read.opt_text(native, "html_url", kind),
    )


# --- issue tracking -----------------------------------------------------------

_ISSUE_MAPPED = (
    *_ENVELOPE_KEYS,
    "number",
    "title",
    "body",
    "state",
    "state_reason",
    "labels",
    "assignee",
    "assignees",
    "user",
    "milestone",
    "type",
    "comments",
    "locked",
    "created_at",
    "updated_at",
    "closed_at",
)


def issue(native: Any, *, provider: ProviderRef | None = None, etag: str | None = None) -> Issue:
    """An issue (REST or webhook ``issue``) -> :class:`Issue`.

    A PR-backed issue keeps ``pull_request`` linking its pull request.
    """
    kind = "issue"
    obj = read.obj(native, kind)
    state = read.opt_text(obj, "state", kind)
    milestone_obj = read.opt_obj(obj, "milestone", kind)
    issue_type = read.opt_obj(obj, "type", kind)
    assignees = _actors(obj, "assignees", kind)
    if not assignees and obj.get("assignee") is not None:
        single = actor(obj.get("assignee"))
        assignees = [single] if single else []
    pr_link = _pr_link_of_issue(obj, kind) if is_pull_request_backed(obj) else None
    data: dict[str, Any] = {
        "external": _envelope(
            obj,
            kind=kind,
            provider=provider,
            interface=Interface.ISSUE_TRACKING,
            mapped=_ISSUE_MAPPED,
            native_number=_number(obj, kind),
            updated_at=_time(obj, "updated_at", kind),
            etag=etag,
            partial={"pull_request": ("url", "html_url")},
        ),
        "title": read.text(obj, "title", kind),
        "body": _body(obj, kind),
        "status": IssueStatus(
            state=state or IssueState.UNKNOWN,
            reason=read.opt_text(obj, "state_reason", kind),
            category=(
                StatusCategory.TODO
                if state == "open"
                else StatusCategory.DONE
                if state == "closed"
                else StatusCategory.UNKNOWN
            ),
            native=state,
        ),
        "labels": _label_names(obj, kind),
        "assignees": assignees,
        "author": actor(obj.get("user")),
        "milestone": None if milestone_obj is None else _milestone_ref(milestone_obj),
        "issue_type": None if issue_type is None else read.opt_text(issue_type, "name", kind),
        "pull_request": pr_link,
        "comments_count": read.opt_int(obj, "comments", kind),
        "locked": read.flag(obj, "locked", kind),
        "created_at": _time(obj, "created_at", kind),
        "updated_at": _time(obj, "updated_at", kind),
        "closed_at": _time(obj, "closed_at", kind),
    }
    if issue_type is not None and len(issue_type) > 1:
        # Only the type's name has a canonical place.
        data["external"]["extensions"].fields["type"] = rest(issue_type, ("name",))
    return read.build(Issue, kind, data)


def _milestone_ref(native: Native) -> ObjectRef:
    kind = "milestone"
    return ObjectRef(
        kind="Milestone",
        native_id=read.opt_ident(native, "id"),
        native_number=_number(native, kind),
        url=read.opt_text(native, "html_url", kind),
    )


_COMMENT_MAPPED = (*_ENVELOPE_KEYS, "issue_url", "body", "user", "created_at", "updated_at")


def issue_comment(
    native: Any,
    *,
    issue: Any = None,
    provider: ProviderRef | None = None,
    etag: str | None = None,
) -> Comment:
    """An issue comment -> :class:`Comment`.

    ``issue`` is the parent issue object when known (webhooks carry it). From
    REST alone the parent comes from ``issue_url`` and ``html_url``; a comment
    on a pull request's conversation links ``ObjectRef(kind="PullRequest")``.
    """
    kind = "issue_comment"
    obj = read.obj(native, kind)
    if issue is not None:
        parent = _issue_ref(read.obj(issue, kind, "issue"), kind)
    else:
        html = read.opt_text(obj, "html_url", kind) or ""
        page = html.split("#", 1)[0] or None
        parent = ObjectRef(
            kind="PullRequest" if "/pull/" in html else "Issue",
            native_number=_tail_number(read.opt_text(obj, "issue_url", kind)),
            url=page,
        )
    body = _body(obj, kind)
    data: dict[str, Any] = {
        "external": _envelope(
            obj,
            kind=kind,
            provider=provider,
            interface=Interface.ISSUE_TRACKING,
            mapped=_COMMENT_MAPPED,
            updated_at=_time(obj, "updated_at", kind),
            etag=etag,
        ),
        "issue": parent,
        "body": body or RichText.from_markdown(""),
        "author": actor(obj.get("user")),
        "created_at": _time(obj, "created_at", kind),
        "updated_at": _time(obj, "updated_at", kind),
    }
    return read.build(Comment, kind, data)


_LABEL_MAPPED = ("id", "node_id", "url", "name", "color", "description")


def label(native: Any, *, provider: ProviderRef | None = None, etag: str | None = None) -> Label:
    """A label -> :class:`Label` (labels have an API ``url`` but no page)."""
    kind = "label"
    obj = read.obj(native, kind)
    name = read.text(obj, "name", kind)
    warnings: list[MappingWarning] = []
    native_id = read.opt_ident(obj, "id")
    if native_id is None:
        # Older payloads (and label events of some integrations) carry no id; a
        # label's name is unique in its repository, so it identifies it there.
        native_id = name
        warnings.append(
            MappingWarning(field="id", message="the label has no id; its name identifies it")
        )
    data: dict[str, Any] = {
        "external": _envelope(
            obj,
            kind=kind,
            provider=provider,
            interface=Interface.ISSUE_TRACKING,
            mapped=_LABEL_MAPPED,
            native_id=native_id,
            etag=etag,
        )
        | {"warnings": warnings},
        "name": name,
        "color": read.opt_text(obj, "color", kind),
        "description": read.opt_text(obj, "description", kind),
    }
    return read.build(Label, kind, data)


_MILESTONE_MAPPED = (
    *_ENVELOPE_KEYS,
    "number",
    "title",
    "description",
    "state",
    "due_on",
    "created_at",
    "updated_at",
    "closed_at",
)


def _due_date(value: Any, kind: str) -> date | None:
    # GitHub sends the due date as a timestamp (the day's start in the owner's
    # time zone, as UTC); the calendar date is the part before the "T".
    if value is None:
        return None
    if not isinstance(value, str):
        raise read.error(kind, f"expected a timestamp, got {type_name(value)}", field="due_on")
    try:
        return date.fromisoformat(value[:10])
    except ValueError:
        raise read.error(kind, f"not a date: {value[:40]!r}", field="due_on") from None


def milestone(
    native: Any, *, provider: ProviderRef | None = None, etag: str | None = None
) -> Milestone:
    """A milestone -> :class:`Milestone`."""
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
            native_number=_number(obj, kind),
            updated_at=_time(obj, "updated_at", kind),
            etag=etag,
        ),
        "title": read.text(obj, "title", kind),
        "description": read.opt_text(obj, "description", kind),
        "state": state or MilestoneState.UNKNOWN,
        "native_state": state,
        "due_on": _due_date(obj.get("due_on"), kind),
        "created_at": _time(obj, "created_at", kind),
        "updated_at": _time(obj, "updated_at", kind),
        "closed_at": _time(obj, "closed_at", kind),
    }
    return read.build(Milestone, kind, data)


_ISSUE_EVENT_TYPES = {t.value for t in IssueEventType} - {"unknown", "transitioned", "edited"}
_ISSUE_EVENT_MAPPED = (
    "id",
    "node_id",
    "url",
    "event",
    "actor",
    "created_at",
    "issue",
    "label",
    "assignee",
    "milestone",
    "rename",
)


def issue_event(
    native: Any,
    *,
    issue: Any = None,
    provider: ProviderRef | None = None,
    etag: str | None = None,
) -> IssueEvent:
    """A REST issue event (``GET .../issues/events``) -> :class:`IssueEvent`.

    ``issue`` is needed when the event does not embed it (the per-issue list).
    ``changes`` says what moved: a label, an assignee, a milestone, a rename.
    """
    kind = "issue_event"
    obj = read.obj(native, kind)
    parent = obj.get("issue") if obj.get("issue") is not None else issue
    if parent is None:
        raise read.error(kind, "the event embeds no issue; pass issue=", field="issue")
    event = read.text(obj, "event", kind)
    changes: list[FieldChange] = []
    lbl = read.opt_obj(obj, "label", kind)
    assignee = read.opt_obj(obj, "assignee", kind)
    ms = read.opt_obj(obj, "milestone", kind)
    rename = read.opt_obj(obj, "rename", kind)
    if lbl is not None:
        name = lbl.get("name")
        changes.append(
            FieldChange(field="labels", to_value=name)
            if event == "labeled"
            else FieldChange(field="labels", from_value=name)
        )
    if assignee is not None:
        login = assignee.get("login")
        changes.append(
            FieldChange(field="assignees", from_value=login)
            if event == "unassigned"
            else FieldChange(field="assignees", to_value=login)
        )
    if ms is not None:
        title = ms.get("title")
        changes.append(
            FieldChange(field="milestone", from_value=title)
            if event == "demilestoned"
            else FieldChange(field="milestone", to_value=title)
        )
    if rename is not None:
        changes.append(
            FieldChange(field="title", from_value=rename.get("from"), to_value=rename.get("to"))
        )
    data: dict[str, Any] = {
        "external": _envelope(
            obj,
            kind=kind,
            provider=provider,
            interface=Interface.ISSUE_TRACKING,
            mapped=_ISSUE_EVENT_MAPPED,
            updated_at=_time(obj, "created_at", kind),
            etag=etag,
        ),
        "issue": _issue_ref(read.obj(parent, kind, "issue"), kind),
        "event_type": event if event in _ISSUE_EVENT_TYPES else IssueEventType.UNKNOWN,
        "native_event": event,
        "actor": actor(obj.get("actor")),
        "changes": changes,
        "created_at": _time(obj, "created_at", kind),
    }
    return read.build(IssueEvent, kind, data)


# --- CI/CD ----------------------------------------------------------------------

_CONCLUSIONS = {
    "success": PipelineState.SUCCEEDED,
    "failure": PipelineState.FAILED,
    "cancelled": PipelineState.CANCELLED,
    "skipped": PipelineState.SKIPPED,
    "neutral": PipelineState.NEUTRAL,
    "timed_out": PipelineState.TIMED_OUT,
    "action_required": PipelineState.ACTION_REQUIRED,
    # GitHub marks a run "stale" when it took too long to finish.
    "stale": PipelineState.TIMED_OUT,
    "startup_failure": PipelineState.FAILED,
}
_RUNNING_STATUSES = {
    "requested": PipelineState.QUEUED,
    "queued": PipelineState.QUEUED,
    "pending": PipelineState.QUEUED,
    "waiting": PipelineState.WAITING,
    "in_progress": PipelineState.RUNNING,
}


def pipeline_status(status: Any, conclusion: Any) -> PipelineStatus:
    """GitHub Actions/Checks ``status`` + ``conclusion`` -> :class:`PipelineStatus`.

    ``native`` is ``"status/conclusion"`` once there is a conclusion, else the
    status alone. Unknown values give ``unknown`` with the native value kept.
    """
    status_s = status if isinstance(status, str) else None
    conclusion_s = conclusion if isinstance(conclusion, str) else None
    native: str | None
    if conclusion_s is not None:
        native = f"{status_s or ''}/{conclusion_s}"
        state = _CONCLUSIONS.get(conclusion_s, PipelineState.UNKNOWN)
    else:
        native = status_s
        state = _RUNNING_STATUSES.get(status_s or "", PipelineState.UNKNOWN)
    return PipelineStatus(state=state, native=native)


_WORKFLOW_MAPPED = (*_ENVELOPE_KEYS, "name", "path", "state", "created_at", "updated_at")


def workflow(
    native: Any, *, provider: ProviderRef | None = None, etag: str | None = None
) -> PipelineDefinition:
    """A workflow -> :class:`PipelineDefinition` (``active`` iff state is ``active``)."""
    kind = "workflow"
    obj = read.obj(native, kind)
    state = read.opt_text(obj, "state", kind)
    data: dict[str, Any] = {
        "external": _envelope(
            obj,
            kind=kind,
            provider=provider,
            interface=Interface.CICD,
            mapped=_WORKFLOW_MAPPED,
            updated_at=_time(obj, "updated_at", kind),
            etag=etag,
        ),
        "name": read.text(obj, "name", kind),
        "path": read.opt_text(obj, "path", kind),
        "active": state == "active",
        "native_state": state,
        "created_at": _time(obj, "created_at", kind),
        "updated_at": _time(obj, "updated_at", kind),
    }
    return read.build(PipelineDefinition, kind, data)


_RUN_MAPPED = (
    *_ENVELOPE_KEYS,
    "name",
    "workflow_id",
    "workflow_url",
    "status",
    "conclusion",
    "head_branch",
    "head_sha",
    "event",
    "run_number",
    "run_attempt",
    "actor",
    "created_at",
    "run_started_at",
    "updated_at",
)


def workflow_run(
    native: Any, *, provider: ProviderRef | None = None, etag: str | None = None
) -> Pipeline:
    """A workflow run -> :class:`Pipeline` (``native_number`` is ``run_number``).

    GitHub has no completion time for runs; a completed run finished at its
    ``updated_at`` (what GitHub's own UI shows).
    """
    kind = "workflow_run"
    obj = read.obj(native, kind)
    status = pipeline_status(obj.get("status"), obj.get("conclusion"))
    workflow_id = read.opt_ident(obj, "workflow_id")
    run_number = read.opt_int(obj, "run_number", kind)
    updated = _time(obj, "updated_at", kind)
    head_sha = read.opt_text(obj, "head_sha", kind)
    data: dict[str, Any] = {
        "external": _envelope(
            obj,
            kind=kind,
            provider=provider,
            interface=Interface.CICD,
            mapped=_RUN_MAPPED,
            native_number=None if run_number is None else str(run_number),
            updated_at=updated,
            sha=head_sha,
            etag=etag,
        ),
        "definition": (
            None
            if workflow_id is None
            else ObjectRef(kind="PipelineDefinition", native_id=workflow_id)
        ),
        "name": read.opt_text(obj, "name", kind),
        "status": status,
        "ref": read.opt_text(obj, "head_branch", kind),
        "sha": head_sha,
        "trigger": read.opt_text(obj, "event", kind),
        "attempt": read.opt_int(obj, "run_attempt", kind),
        "actor": actor(obj.get("actor")),
        "created_at": _time(obj, "created_at", kind),
        "started_at": _time(obj, "run_started_at", kind),
        "finished_at": updated if obj.get("status") == "completed" else None,
        "updated_at": updated,
    }
    return read.build(Pipeline, kind, data)


_JOB_MAPPED = (
    *_ENVELOPE_KEYS,
    "run_id",
    "head_sha",
    "name",
    "status",
    "conclusion",
    "runner_name",
    "labels",
    "steps",
    "started_at",
    "completed_at",
)


def workflow_job(
    native: Any, *, provider: ProviderRef | None = None, etag: str | None = None
) -> Job:
    """A workflow job -> :class:`Job` with its steps; ``pipeline`` is the run."""
    kind = "workflow_job"
    obj = read.obj(native, kind)
    steps: list[JobStep] = []
    step_rest: list[Any] = []
    for raw in read.array(obj, "steps", kind):
        step = read.obj(raw, kind, "steps")
        steps.append(
            read.build(
                JobStep,
                kind,
                {
                    "name": read.text(step, "name", kind),
                    "number": read.opt_int(step, "number", kind),
                    "status": pipeline_status(step.get("status"), step.get("conclusion")),
                    "started_at": _time(step, "started_at", kind),
                    "finished_at": _time(step, "completed_at", kind),
                },
            )
        )
        left = rest(step, ("name", "number", "status", "conclusion", "started_at", "completed_at"))
        step_rest.append(left)
    labels = [x for x in read.array(obj, "labels", kind) if isinstance(x, str)]
    data: dict[str, Any] = {
        "external": _envelope(
            obj,
            kind=kind,
            provider=provider,
            interface=Interface.CICD,
            mapped=_JOB_MAPPED,
            updated_at=_latest(
                obj.get("created_at"), obj.get("started_at"), obj.get("completed_at")
            ),
            sha=read.opt_text(obj, "head_sha", kind),
            etag=etag,
        ),
        "pipeline": ObjectRef(kind="Pipeline", native_id=read.ident(obj, kind, "run_id")),
        "name": read.text(obj, "name", kind),
        "status": pipeline_status(obj.get("status"), obj.get("conclusion")),
        "runner_name": read.opt_text(obj, "runner_name", kind),
        "labels": labels,
        "steps": steps,
        "started_at": _time(obj, "started_at", kind),
        "finished_at": _time(obj, "completed_at", kind),
    }
    if any(step_rest):
        data["external"]["extensions"].fields["steps"] = step_rest
    return read.build(Job, kind, data)


_CHECK_RUN_MAPPED = (
    *_ENVELOPE_KEYS,
    "name",
    "head_sha",
    "status",
    "conclusion",
    "details_url",
    "started_at",
    "completed_at",
)


def check_run(
    native: Any, *, provider: ProviderRef | None = None, etag: str | None = None
) -> Check:
    """A check run -> :class:`Check` (``summary`` from ``output.summary``)."""
    kind = "check_run"
    obj = read.obj(native, kind)
    output = read.opt_obj(obj, "output", kind)
    data: dict[str, Any] = {
        "external": _envelope(
            obj,
            kind=kind,
            provider=provider,
            interface=Interface.CICD,
            mapped=_CHECK_RUN_MAPPED,
            updated_at=_latest(obj.get("started_at"), obj.get("completed_at")),
            sha=read.opt_text(obj, "head_sha", kind),
            etag=etag,
            partial={"output": ("summary",)},
        ),
        "check_kind": CheckKind.CHECK_RUN,
        "name": read.text(obj, "name", kind),
        "sha": read.text(obj, "head_sha", kind),
        "status": pipeline_status(obj.get("status"), obj.get("conclusion")),
        "details_url": read.opt_text(obj, "details_url", kind),
        "summary": None if output is None else read.opt_text(output, "summary", kind),
        "started_at": _time(obj, "started_at", kind),
        "finished_at": _time(obj, "completed_at", kind),
    }
    return read.build(Check, kind, data)


_SUITE_MAPPED = (
    *_ENVELOPE_KEYS,
    "head_branch",
    "head_sha",
    "status",
    "conclusion",
    "created_at",
    "updated_at",
)


def check_suite(
    native: Any, *, provider: ProviderRef | None = None, etag: str | None = None
) -> Pipeline:
    """A check suite -> :class:`Pipeline` (``native_kind="check_suite"``).

    A suite is one app's run of checks on one commit; ``name`` is the app's name.
    """
    kind = "check_suite"
    obj = read.obj(native, kind)
    app = read.opt_obj(obj, "app", kind)
    updated = _time(obj, "updated_at", kind)
    head_sha = read.opt_text(obj, "head_sha", kind)
    data: dict[str, Any] = {
        "external": _envelope(
            obj,
            kind=kind,
            provider=provider,
            interface=Interface.CICD,
            mapped=_SUITE_MAPPED,
            updated_at=updated,
            sha=head_sha,
            etag=etag,
        ),
        "name": None if app is None else read.opt_text(app, "name", kind),
        "status": pipeline_status(obj.get("status"), obj.get("conclusion")),
        "ref": read.opt_text(obj, "head_branch", kind),
        "sha": head_sha,
        "created_at": _time(obj, "created_at", kind),
        "finished_at": updated if obj.get("status") == "completed" else None,
        "updated_at": updated,
    }
    return read.build(Pipeline, kind, data)


_STATUS_STATES = {
    # A commit status is "pending" from when a CI reports it until it settles.
    "pending": PipelineState.RUNNING,
    "success": PipelineState.SUCCEEDED,
    "failure": PipelineState.FAILED,
    "error": PipelineState.FAILED,
}
_STATUS_MAPPED = (
    "node_id",
    "url",
    "sha",
    "context",
    "state",
    "target_url",
    "description",
    "created_at",
    "updated_at",
)


def commit_status(
    native: Any,
    *,
    sha: str | None = None,
    provider: ProviderRef | None = None,
    etag: str | None = None,
) -> Check:
    """A commit status -> :class:`Check` (``check_kind="commit_status"``).

    ``native_id`` is ``"{sha}:{context}"`` (see the module notes); the REST
    status object carries no sha, so pass ``sha=`` there.
    """
    kind = "status"
    obj = read.obj(native, kind)
    commit_sha = sha or read.text(obj, "sha", kind)
    context = read.opt_text(obj, "context", kind) or "default"
    state = read.opt_text(obj, "state", kind)
    data: dict[str, Any] = {
        "external": _envelope(
            obj,
            kind=kind,
            provider=provider,
            interface=Interface.CICD,
            mapped=_STATUS_MAPPED,
            native_id=f"{commit_sha}:{context}",
            url=read.opt_text(obj, "target_url", kind),
            updated_at=_time(obj, "updated_at", kind),
            sha=commit_sha,
            etag=etag,
        ),
        "check_kind": CheckKind.COMMIT_STATUS,
        "name": context,
        "sha": commit_sha,
        "status": PipelineStatus(
            state=_STATUS_STATES.get(state or "", PipelineState.UNKNOWN), native=state
        ),
        "details_url": read.opt_text(obj, "target_url", kind),
        "summary": read.opt_text(obj, "description", kind),
        "started_at": _time(obj, "created_at", kind),
        "finished_at": (
            _time(obj, "updated_at", kind) if state in ("success", "failure", "error") else None
        ),
    }
    return read.build(Check, kind, data)


_RUNNER_MAPPED = ("id", "name", "os", "status", "busy", "labels")


def runner(native: Any, *, provider: ProviderRef | None = None, etag: str | None = None) -> Runner:
    """A self-hosted runner -> :class:`Runner` (busy online runners are ``busy``)."""
    kind = "runner"
    obj = read.obj(native, kind)
    status = read.opt_text(obj, "status", kind)
    busy = read.flag(obj, "busy", kind)
    if status == "online":
        state = RunnerState.BUSY if busy else RunnerState.ONLINE
    elif status == "offline":
        state = RunnerState.OFFLINE
    else:
        state = RunnerState.UNKNOWN
    labels: list[str] = []
    for item in read.array(obj, "labels", kind):
        labels.append(
            item if isinstance(item, str) else read.text(read.obj(item, kind), "name", kind)
        )
    data: dict[str, Any] = {
        "external": _envelope(
            obj,
            kind=kind,
            provider=provider,
            interface=Interface.CICD,
            mapped=_RUNNER_MAPPED,
            etag=etag,
        ),
        "name": read.text(obj, "name", kind),
        "os": read.opt_text(obj, "os", kind),
        "state": state,
        "native_state": status,
        "busy": busy,
        "labels": labels,
    }
    # Label objects carry ids and types (self-hosted/custom) the model has no place for.
    if any(isinstance(item, Mapping) for item in read.array(obj, "labels", kind)):
        data["external"]["extensions"].fields["labels"] = obj["labels"]
    return read.build(Runner, kind, data)


_ARTIFACT_MAPPED = (
    *_ENVELOPE_KEYS,
    "name",
    "size_in_bytes",
    "archive_download_url",
    "expired",
    "created_at",
    "expires_at",
    "updated_at",
)


def artifact(
    native: Any, *, provider: ProviderRef | None = None, etag: str | None = None
) -> Artifact:
    """An Actions artifact -> :class:`Artifact`; ``pipeline`` is its workflow run."""
    kind = "artifact"
    obj = read.obj(native, kind)
    run = read.opt_obj(obj, "workflow_run", kind)
    run_id = None if run is None else read.opt_ident(run, "id")
    data: dict[str, Any] = {
        "external": _envelope(
            obj,
            kind=kind,
            provider=provider,
            interface=Interface.CICD,
            mapped=_ARTIFACT_MAPPED,
            updated_at=_time(obj, "updated_at", kind),
            etag=etag,
            partial={"workflow_run": ("id",)},
        ),
        "pipeline": None if run_id is None else ObjectRef(kind="Pipeline", native_id=run_id),
        "name": read.text(obj, "name", kind),
        "size_bytes": read.opt_int(obj, "size_in_bytes", kind),
        "expired": read.flag(obj, "expired", kind),
        "download_url": read.opt_text(obj, "archive_download_url", kind),
        "created_at": _time(obj, "created_at", kind),
        "expires_at": _time(obj, "expires_at", kind),
    }
    return read.build(Artifact, kind, data)


# --- git forge ------------------------------------------------------------------

_REPO_MAPPED = (
    *_ENVELOPE_KEYS,
    "name",
    "full_name",
    "owner",
    "description",
    "default_branch",
    "visibility",
    "private",
    "archived",
    "fork",
    "clone_url",
    "ssh_url",
    "created_at",
    "updated_at",
    "pushed_at",
)


def repository(
    native: Any, *, provider: ProviderRef | None = None, etag: str | None = None
) -> Repository:
    """A repository -> :class:`Repository`.

    ``visibility`` falls back to ``private`` when GitHub omits it (older
    payloads) and never says ``public`` for a repository flagged ``private``.
    """
    kind = "repository"
    obj = read.obj(native, kind)
    owner = read.opt_obj(obj, "owner", kind)
    name = read.text(obj, "name", kind)
    owner_login = None if owner is None else (owner.get("login") or owner.get("name"))
    warnings: list[MappingWarning] = []
    full_name = read.opt_text(obj, "full_name", kind)
    if full_name is None:
        if not isinstance(owner_login, str):
            raise read.error(kind, "neither full_name nor an owner login", field="full_name")
        full_name = f"{owner_login}/{name}"
        warnings.append(
            MappingWarning(field="full_name", message="no full_name; built from owner and name")
        )
    if not isinstance(owner_login, str):
        owner_login = full_name.split("/", 1)[0]
    native_id = read.opt_ident(obj, "id")
    if native_id is None:
        native_id = full_name
        warnings.append(MappingWarning(field="id", message="no id; full_name identifies it"))
    visibility = read.opt_text(obj, "visibility", kind)
    private = obj.get("private")
    if visibility is None and isinstance(private, bool):
        visibility = "private" if private else "public"
    elif private is True and visibility == "public":
        # ``private`` is the older, authoritative flag (a ``repository.privatized``
        # payload can still say visibility "public"); a private repo is never public.
        visibility = "private"
    data: dict[str, Any] = {
        "external": _envelope(
            obj,
            kind=kind,
            provider=provider,
            interface=Interface.GIT_FORGE,
            mapped=_REPO_MAPPED,
            native_id=native_id,
            updated_at=_time(obj, "updated_at", kind),
            etag=etag,
        )
        | {"warnings": warnings},
        "owner": owner_login,
        "name": name,
        "full_name": full_name,
        "description": read.opt_text(obj, "description", kind),
        "default_branch": read.opt_text(obj, "default_branch", kind),
        "visibility": visibility or Visibility.UNKNOWN,
        "archived": read.flag(obj, "archived", kind),
        "fork": read.flag(obj, "fork", kind),
        "clone_url": read.opt_text(obj, "clone_url", kind),
        "ssh_url": read.opt_text(obj, "ssh_url", kind),
        "created_at": _time(obj, "created_at", kind),
        "updated_at": _time(obj, "updated_at", kind),
        "pushed_at": _time(obj, "pushed_at", kind),
    }
    if owner is not None and len(owner) > 1:
        data["external"]["extensions"].fields["owner"] = dict(owner)
    return read.build(Repository, kind, data)


_PR_MAPPED = (
    *_ENVELOPE_KEYS,
    "number",
    "title",
    "body",
    "state",
    "merged",
    "user",
    "labels",
    "assignee",
    "assignees",
    "requested_reviewers",
    "draft",
    "mergeable",
    "merge_commit_sha",
    "issue_url",
    "created_at",
    "updated_at",
    "closed_at",
    "merged_at",
)


def _pr_state(obj: Native, kind: str) -> PullRequestStatus:
    state = read.opt_text(obj, "state", kind)
    merged = obj.get("merged") is True or obj.get("merged_at") is not None
    if merged:
        value = PullRequestState.MERGED
    elif state == "closed":
        value = PullRequestState.CLOSED
    elif state == "open":
        value = PullRequestState.DRAFT if obj.get("draft") is True else PullRequestState.OPEN
    else:
        value = PullRequestState.UNKNOWN
    return PullRequestStatus(state=value, native=state)


def pull_request(
    native: Any, *, provider: ProviderRef | None = None, etag: str | None = None
) -> PullRequest:
    """A pull request -> :class:`PullRequest`; ``issue`` links its issue side.

    Status is ``merged`` when merged, ``closed``, ``draft`` for an open draft,
    else ``open``; ``native`` keeps GitHub's ``state``.
    """
    kind = "pull_request"
    obj = read.obj(native, kind)
    head = read.opt_obj(obj, "head", kind) or {}
    base = read.opt_obj(obj, "base", kind) or {}
    number = _number(obj, kind)
    head_sha = read.opt_text(head, "sha", kind)
    mergeable = obj.get("mergeable")
    data: dict[str, Any] = {
        "external": _envelope(
            obj,
            kind=kind,
            provider=provider,
            interface=Interface.GIT_FORGE,
            mapped=_PR_MAPPED,
            native_number=number,
            updated_at=_time(obj, "updated_at", kind),
            sha=head_sha,
            etag=etag,
            partial={"head": ("ref", "sha"), "base": ("ref", "sha")},
        ),
        "title": read.text(obj, "title", kind),
        "body": _body(obj, kind),
        "status": _pr_state(obj, kind),
        "head_ref": read.opt_text(head, "ref", kind),
        "head_sha": head_sha,
        "base_ref": read.opt_text(base, "ref", kind),
        "base_sha": read.opt_text(base, "sha", kind),
        "author": actor(obj.get("user")),
        "labels": _label_names(obj, kind),
        "assignees": _actors(obj, "assignees", kind),
        "requested_reviewers": _actors(obj, "requested_reviewers", kind),
        "draft": read.flag(obj, "draft", kind),
        "mergeable": mergeable if isinstance(mergeable, bool) else None,
        "merge_commit_sha": read.opt_text(obj, "merge_commit_sha", kind),
        # Every GitHub pull request is also an issue with the same number.
        "issue": ObjectRef(
            kind="Issue", native_number=number, url=read.opt_text(obj, "html_url", kind)
        ),
        "created_at": _time(obj, "created_at", kind),
        "updated_at": _time(obj, "updated_at", kind),
        "closed_at": _time(obj, "closed_at", kind),
        "merged_at": _time(obj, "merged_at", kind),
    }
    return read.build(PullRequest, kind, data)


def _pr_parent(obj: Native, pull_request: Any, kind: str) -> ObjectRef:
    if pull_request is not None:
        return _pr_ref(read.obj(pull_request, kind, "pull_request"), kind)
    pr_url = read.opt_text(obj, "pull_request_url", kind)
    html = (read.opt_text(obj, "html_url", kind) or "").split("#", 1)[0] or None
    return ObjectRef(kind="PullRequest", native_number=_tail_number(pr_url), url=html)


_REVIEW_MAPPED = (
    "id",
    "node_id",
    "html_url",
    "pull_request_url",
    "state",
    "user",
    "body",
    "commit_id",
    "submitted_at",
)


def review(
    native: Any,
    *,
    pull_request: Any = None,
    provider: ProviderRef | None = None,
    etag: str | None = None,
) -> Review:
    """A pull request review -> :class:`Review` (GitHub's ``APPROVED`` -> ``approved``).

    Reviews have no ``updated_at``; the version orders by ``submitted_at``.
    """
    kind = "review"
    obj = read.obj(native, kind)
    state = read.opt_text(obj, "state", kind)
    commit_id = read.opt_text(obj, "commit_id", kind)
    pr_url = read.opt_text(obj, "pull_request_url", kind)
    # A review's REST address is under its pull request's (GET .../pulls/{n}/reviews/{id}).
    api_url = f"{pr_url}/reviews/{read.ident(obj, kind)}" if pr_url else None
    data: dict[str, Any] = {
        "external": _envelope(
            obj,
            kind="pull_request_review",
            provider=provider,
            interface=Interface.GIT_FORGE,
            mapped=_REVIEW_MAPPED,
            api_url=api_url,
            updated_at=_time(obj, "submitted_at", kind),
            native_addresses=False,
            url=read.opt_text(obj, "html_url", kind),
            sha=commit_id,
            etag=etag,
        ),
        "pull_request": _pr_parent(obj, pull_request, kind),
        "state": state or "unknown",
        "native_state": state,
        "author": actor(obj.get("user")),
        "body": _body(obj, kind),
        "commit_sha": commit_id,
        "submitted_at": _time(obj, "submitted_at", kind),
    }
    return read.build(Review, kind, data)


_REVIEW_COMMENT_MAPPED = (
    *_ENVELOPE_KEYS,
    "pull_request_url",
    "body",
    "user",
    "created_at",
    "updated_at",
)


def review_comment(
    native: Any,
    *,
    pull_request: Any = None,
    provider: ProviderRef | None = None,
    etag: str | None = None,
) -> Comment:
    """A pull request review comment -> :class:`Comment` on the ``gitForge`` interface.

    ``issue`` is the pull request; the diff position (path, line, hunk,
    review id) stays in ``extensions``.
    """
    kind = "pull_request_review_comment"
    obj = read.obj(native, kind)
    data: dict[str, Any] = {
        "external": _envelope(
            obj,
            kind=kind,
            provider=provider,
            interface=Interface.GIT_FORGE,
            mapped=_REVIEW_COMMENT_MAPPED,
            updated_at=_time(obj, "updated_at", kind),
            etag=etag,
        ),
        "issue": _pr_parent(obj, pull_request, kind),
        "body": RichText.from_markdown(read.opt_text(obj, "body", kind) or ""),
        "author": actor(obj.get("user")),
        "created_at": _time(obj, "created_at", kind),
        "updated_at": _time(obj, "updated_at", kind),
    }
    return read.build(Comment, kind, data)


def ref_kind(name: str) -> RefKind:
    """``refs/heads/x`` -> branch, ``refs/tags/x`` -> tag, other ``refs/`` -> other."""
    if name.startswith("refs/heads/"):
        return RefKind.BRANCH
    if name.startswith("refs/tags/"):
        return RefKind.TAG
    return RefKind.OTHER if name.startswith("refs/") else RefKind.UNKNOWN


def ref_id(repository: str, name: str) -> str:
    """The ``native_id`` of a ref: ``"{owner}/{repo}:{full ref}"`` (refs have no id)."""
    return f"{repository}:{name}"


def full_ref(name: str, ref_type: str | None) -> str:
    """A short ref name from create/delete events -> the full ref name."""
    if name.startswith("refs/"):
        return name
    if ref_type == "tag":
        return f"refs/tags/{name}"
    return f"refs/heads/{name}"


_REF_MAPPED = ("ref", "node_id", "url", "object")


def ref(
    native: Any,
    *,
    repository: str,
    provider: ProviderRef | None = None,
    etag: str | None = None,
) -> Ref:
    """A git ref (``GET .../git/matching-refs``) -> :class:`Ref`.

    ``repository`` is ``"owner/repo"``: refs have no id of their own.
    """
    kind = "ref"
    obj = read.obj(native, kind)
    name = read.text(obj, "ref", kind)
    target = read.obj(obj.get("object"), kind, "object")
    sha = read.text(target, "sha", kind)
    data: dict[str, Any] = {
        "external": _envelope(
            obj,
            kind=kind,
            provider=provider,
            interface=Interface.GIT_FORGE,
            mapped=_REF_MAPPED,
            native_id=ref_id(repository, name),
            sha=sha,
            etag=etag,
            partial={"object": ("sha",)},
        ),
        "name": name,
        "ref_kind": ref_kind(name),
        "sha": sha,
    }
    return read.build(Ref, kind, data)


def branch(
    native: Any,
    *,
    repository: str,
    provider: ProviderRef | None = None,
    etag: str | None = None,
) -> Ref:
    """A branch (``GET .../branches``) -> :class:`Ref` named ``refs/heads/{name}``."""
    kind = "branch"
    obj = read.obj(native, kind)
    name = full_ref(read.text(obj, "name", kind), "branch")
    commit_obj = read.obj(obj.get("commit"), kind, "commit")
    sha = read.text(commit_obj, "sha", kind)
    data: dict[str, Any] = {
        "external": _envelope(
            obj,
            kind=kind,
            provider=provider,
            interface=Interface.GIT_FORGE,
            mapped=("name",),
            native_id=ref_id(repository, name),
            sha=sha,
            etag=etag,
            partial={"commit": ("sha",)},
            native_addresses=False,
        ),
        "name": name,
        "ref_kind": RefKind.BRANCH,
        "sha": sha,
    }
    return read.build(Ref, kind, data)


def _person(native: Any, kind: str, *, user: Any = None) -> CommitPerson | None:
    if native is None:
        return None
    obj = read.obj(native, kind)
    who = actor(user)
    username = obj.get("username")
    if who is None and isinstance(username, str):
        who = Actor(username=username)
    return read.build(
        CommitPerson,
        kind,
        {
            "name": read.opt_text(obj, "name", kind),
            "email": read.opt_text(obj, "email", kind),
            "date": _time(obj, "date", kind),
            "actor": who,
        },
    )


_COMMIT_MAPPED = (*_ENVELOPE_KEYS, "sha", "commit", "author", "committer", "parents")


def commit(native: Any, *, provider: ProviderRef | None = None, etag: str | None = None) -> Commit:
    """A REST commit (``GET .../commits/{ref}``) -> :class:`Commit`; ``native_id`` is the sha."""
    kind = "commit"
    obj = read.obj(native, kind)
    sha = read.text(obj, "sha", kind)
    git = read.obj(obj.get("commit"), kind, "commit")
    parents: list[str] = []
    for item in read.array(obj, "parents", kind):
        parents.append(read.text(read.obj(item, kind, "parents"), "sha", kind))
    author = _person(git.get("author"), kind, user=obj.get("author"))
    committer = _person(git.get("committer"), kind, user=obj.get("committer"))
    data: dict[str, Any] = {
        "external": _envelope(
            obj,
            kind=kind,
            provider=provider,
            interface=Interface.GIT_FORGE,
            mapped=_COMMIT_MAPPED,
            native_id=sha,
            updated_at=None if committer is None else committer.date,
            sha=sha,
            etag=etag,
            partial={"commit": ("message", "author", "committer")},
        ),
        "sha": sha,
        "message": read.text(git, "message", kind),
        "author": author,
        "committer": committer,
        "parents": parents,
    }
    return read.build(Commit, kind, data)


# ``timestamp`` stays in extensions too: GitHub does not say whether it is the
# author or the committer date, so it only orders versions.
_PUSH_COMMIT_MAPPED = ("id", "url", "message", "author", "committer")


def push_commit(
    native: Any, *, provider: ProviderRef | None = None, etag: str | None = None
) -> Commit:
    """A commit as a ``push`` payload lists it -> :class:`Commit`.

    Push commits carry no parents; ``timestamp`` orders the version.
    """
    kind = "commit"
    obj = read.obj(native, kind)
    sha = read.text(obj, "id", kind)
    author = _person(obj.get("author"), kind)
    committer = _person(obj.get("committer"), kind)
    stamp = _time(obj, "timestamp", kind)
    data: dict[str, Any] = {
        "external": _envelope(
            obj,
            kind=kind,
            provider=provider,
            interface=Interface.GIT_FORGE,
            mapped=_PUSH_COMMIT_MAPPED,
            native_id=sha,
            url=read.opt_text(obj, "url", kind),
            updated_at=stamp,
            sha=sha,
            etag=etag,
            native_addresses=False,
        ),
        "sha": sha,
        "message": read.text(obj, "message", kind),
        "author": author,
        "committer": committer,
    }
    return read.build(Commit, kind, data)


_DEPLOY_KEY_MAPPED = ("id", "url", "title", "key", "read_only", "created_at")


def deploy_key(
    native: Any, *, provider: ProviderRef | None = None, etag: str | None = None
) -> DeployKey:
    """A deploy key -> :class:`DeployKey` (the public key; GitHub never has the private one)."""
    kind = "deploy_key"
    obj = read.obj(native, kind)
    data: dict[str, Any] = {
        "external": _envelope(
            obj,
            kind=kind,
            provider=provider,
            interface=Interface.GIT_FORGE,
            mapped=_DEPLOY_KEY_MAPPED,
            updated_at=_time(obj, "created_at", kind),
            etag=etag,
        ),
        "title": read.text(obj, "title", kind),
        "key": read.text(obj, "key", kind),
        "read_only": read.flag(obj, "read_only", kind, default=True),
        "created_at": _time(obj, "created_at", kind),
    }
    return read.build(DeployKey, kind, data)


_ROLE_ORDER = ("admin", "maintain", "push", "triage", "pull")
_ROLE_NAMES = {"push": "write", "pull": "read"}


def collaborator(
    native: Any, *, provider: ProviderRef | None = None, etag: str | None = None
) -> Collaborator:
    """A collaborator (user + ``permissions`` + ``role_name``) -> :class:`Collaborator`.

    The permission is ``role_name`` when given, else the highest true flag
    of ``permissions`` (``push`` -> write, ``pull`` -> read).
    """
    kind = "collaborator"
    obj = read.obj(native, kind)
    role = read.opt_text(obj, "role_name", kind)
    perms = read.opt_obj(obj, "permissions", kind)
    if role is None and perms is not None:
        role = next((r for r in _ROLE_ORDER if perms.get(r) is True), None)
    who = actor(obj)
    if who is None or who.username is None:
        raise read.error(kind, "expected a user with a login", field="login")
    data: dict[str, Any] = {
        "external": _envelope(
            obj,
            kind=kind,
            provider=provider,
            interface=Interface.GIT_FORGE,
            mapped=(*_ENVELOPE_KEYS, "login", "name", "email", "type", "role_name"),
            etag=etag,
        ),
        "actor": who,
        "permission": _ROLE_NAMES.get(role or "", role) or Permission.UNKNOWN,
        "native_permission": role,
    }
    return read.build(Collaborator, kind, data)


def _enabled(native: Native, key: str, kind: str) -> bool:
    sub = native.get(key)
    if sub is None:
        return False
    if isinstance(sub, bool):
        return sub
    return read.flag(read.obj(sub, kind, key), "enabled", kind)


def branch_protection(
    native: Any,
    *,
    repository: str,
    branch: str,
    provider: ProviderRef | None = None,
    etag: str | None = None,
) -> BranchProtection:
    """REST branch protection (``GET .../branches/{b}/protection``) -> :class:`BranchProtection`.

    The REST object has no id: ``native_id`` is ``"{owner}/{repo}:{branch}"``.
    """
    kind = "branch_protection"
    obj = read.obj(native, kind)
    checks = read.opt_obj(obj, "required_status_checks", kind)
    reviews = read.opt_obj(obj, "required_pull_request_reviews", kind)
    contexts: list[str] = []
    if checks is not None:
        contexts = [c for c in read.array(checks, "contexts", kind) if isinstance(c, str)]
        for item in read.array(checks, "checks", kind):
            name = read.obj(item, kind, "required_status_checks").get("context")
            if isinstance(name, str) and name not in contexts:
                contexts.append(name)
    data: dict[str, Any] = {
        "external": _envelope(
            obj,
            kind=kind,
            provider=provider,
            interface=Interface.GIT_FORGE,
            mapped=(
                "url",
                "enforce_admins",
                "required_linear_history",
                "allow_force_pushes",
                "allow_deletions",
            ),
            native_id=f"{repository}:{branch}",
            api_url=read.opt_text(obj, "url", kind),
            etag=etag,
            native_addresses=False,
            partial={
                "required_status_checks": ("strict", "contexts", "checks"),
                "required_pull_request_reviews": (
                    "dismiss_stale_reviews",
                    "require_code_owner_reviews",
                    "required_approving_review_count",
                ),
            },
        ),
        "branch": branch,
        "required_approving_reviews": (
            None
            if reviews is None
            else read.opt_int(reviews, "required_approving_review_count", kind)
        ),
        "dismiss_stale_reviews": (
            False if reviews is None else read.flag(reviews, "dismiss_stale_reviews", kind)
        ),
        "require_code_owner_reviews": (
            False if reviews is None else read.flag(reviews, "require_code_owner_reviews", kind)
        ),
        "required_status_checks": contexts,
        "strict_status_checks": False if checks is None else read.flag(checks, "strict", kind),
        "enforce_admins": _enabled(obj, "enforce_admins", kind),
        "required_linear_history": _enabled(obj, "required_linear_history", kind),
        "allow_force_pushes": _enabled(obj, "allow_force_pushes", kind),
        "allow_deletions": _enabled(obj, "allow_deletions", kind),
    }
    return read.build(BranchProtection, kind, data)


_RULE_MAPPED = (
    "id",
    "name",
    "updated_at",
    "pull_request_reviews_enforcement_level",
    "required_approving_review_count",
    "dismiss_stale_reviews_on_push",
    "require_code_owner_review",
    "required_status_checks",
    "required_status_checks_enforcement_level",
    "strict_required_status_checks_policy",
    "admin_enforced",
    "linear_history_requirement_enforcement_level",
    "allow_force_pushes_enforcement_level",
    "allow_deletions_enforcement_level",
)


def _level_on(native: Native, key: str, kind: str) -> bool:
    # Enforcement levels are off / non_admins / everyone: anything but "off" is on.
    level = read.opt_text(native, key, kind)
    return level is not None and level != "off"


def branch_protection_rule(
    native: Any, *, provider: ProviderRef | None = None, etag: str | None = None
) -> BranchProtection:
    """A ``branch_protection_rule`` webhook rule -> :class:`BranchProtection`.

    ``branch`` is the rule's pattern (``name``). A requirement whose
    enforcement level is ``off`` is not required (reviews -> None, checks ->
    []); ``allow_*`` levels other than ``off`` allow the action.
    """
    kind = "branch_protection_rule"
    obj = read.obj(native, kind)
    reviews_on = _level_on(obj, "pull_request_reviews_enforcement_level", kind)
    checks_on = _level_on(obj, "required_status_checks_enforcement_level", kind)
    checks = [c for c in read.array(obj, "required_status_checks", kind) if isinstance(c, str)]
    data: dict[str, Any] = {
        "external": _envelope(
            obj,
            kind=kind,
            provider=provider,
            interface=Interface.GIT_FORGE,
            mapped=_RULE_MAPPED,
            updated_at=_time(obj, "updated_at", kind),
            etag=etag,
        ),
        "branch": read.text(obj, "name", kind),
        "required_approving_reviews": (
            read.opt_int(obj, "required_approving_review_count", kind) if reviews_on else None
        ),
        "dismiss_stale_reviews": read.flag(obj, "dismiss_stale_reviews_on_push", kind),
        "require_code_owner_reviews": read.flag(obj, "require_code_owner_review", kind),
        "required_status_checks": checks if checks_on else [],
        "strict_status_checks": read.flag(obj, "strict_required_status_checks_policy", kind),
        "enforce_admins": read.flag(obj, "admin_enforced", kind),
        "required_linear_history": _level_on(
            obj, "linear_history_requirement_enforcement_level", kind
        ),
        "allow_force_pushes": _level_on(obj, "allow_force_pushes_enforcement_level", kind),
        "allow_deletions": _level_on(obj, "allow_deletions_enforcement_level", kind),
    }
    return read.build(BranchProtection, kind, data)


# --- added by the adapter (runner registration tokens) ---------------------------

_RUNNER_REGISTRATION_MAPPED = ("token", "expires_at")


def runner_registration(
    native: Any, *, repository: str, provider: ProviderRef | None = None
) -> RunnerRegistration:
    """A registration token (``POST .../actions/runners/registration-token``) ->
    :class:`RunnerRegistration`.

    The token becomes a :class:`~kradle_providers.auth.Secret` and is never
    copied into ``extensions``. It has no id: ``native_id`` is
    ``"{owner}/{repo}:runner-registration"``.
    """
    from kradle_providers.auth import Secret

    kind = "runner_registration_token"
    obj = read.obj(native, kind)
    data: dict[str, Any] = {
        "external": _envelope(
            obj,
            kind=kind,
            provider=provider,
            interface=Interface.CICD,
            mapped=_RUNNER_REGISTRATION_MAPPED,
            native_id=f"{repository}:runner-registration",
            native_addresses=False,
        ),
        "token": Secret(read.text(obj, "token", kind)),
        "expires_at": _time(obj, "expires_at", kind),
    }
    return read.build(RunnerRegistration, kind, data)


_PUSH_REF_EXTRAS = ("forced", "base_ref", "compare", "pusher")


def pushed_ref(
    payload: Any, *, provider: ProviderRef | None = None, etag: str | None = None
) -> Ref:
    """The ref a ``push`` payload moved -> :class:`Ref` at ``after``.

    A push that deletes the ref keeps its last state (``before``), since
    ``after`` is all zeros. ``forced``, ``base_ref``, ``compare`` and
    ``pusher`` go to extensions; the commits become their own objects.
    """
    kind = "push"
    obj = read.obj(payload, kind)
    repo = read.obj(obj.get("repository"), kind, "repository")
    name = read.text(obj, "ref", kind)
    deleted = read.flag(obj, "deleted", kind)
    sha = read.text(obj, "before" if deleted else "after", kind)
    fields = {k: obj[k] for k in _PUSH_REF_EXTRAS if k in obj}
    data: dict[str, Any] = {
        "external": {
            "provider": provider or github_provider(),
            "interface": Interface.GIT_FORGE,
            "native_kind": "ref",
            "native_id": ref_id(read.text(repo, "full_name", kind), name),
            "version": {"sha": sha, "etag": etag},
            "extensions": Extensions(provider_type=PROVIDER_TYPE, fields=fields),
        },
        "name": name,
        "ref_kind": ref_kind(name),
        "sha": sha,
    }
    return read.build(Ref, kind, data)
