"""Native memory objects -> canonical models: the one mapping the adapter and the
webhook normalizers share.

Every mapper consumes the native fields it understands; whatever is left goes
to ``external.extensions.fields`` so that nothing is silently dropped.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date, datetime
from typing import Any

from pydantic import JsonValue

from kradle_providers.models import (
    Actor,
    Artifact,
    BranchProtection,
    CanonicalObject,
    Check,
    CheckKind,
    Collaborator,
    Comment,
    Commit,
    CommitPerson,
    DeployKey,
    Extensions,
    ExternalEnvelope,
    FieldChange,
    Interface,
    Issue,
    IssueEvent,
    IssueStatus,
    Job,
    JobStep,
    Label,
    Milestone,
    ObjectRef,
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
    StatusCategory,
    Transition,
    Version,
)
from kradle_providers.testing.memory_backend import parse_time

__all__ = [
    "CANONICAL_KIND",
    "NATIVE_INTERFACE",
    "PIPELINE_STATES",
    "WORKFLOW",
    "WorkflowStep",
    "issue_status",
    "native_check_status",
    "to_canonical",
    "transition_model",
    "version_of",
]

CANONICAL_KIND: dict[str, str] = {
    "issue": "Issue",
    "comment": "Comment",
    "label": "Label",
    "milestone": "Milestone",
    "issue_event": "IssueEvent",
    "workflow": "PipelineDefinition",
    "pipeline": "Pipeline",
    "job": "Job",
    "check": "Check",
    "artifact": "Artifact",
    "runner": "Runner",
    "repository": "Repository",
    "pull_request": "PullRequest",
    "review": "Review",
    "ref": "Ref",
    "commit": "Commit",
    "deploy_key": "DeployKey",
    "collaborator": "Collaborator",
    "branch_protection": "BranchProtection",
}
"""The canonical kind of every native memory kind."""

_IT, _CI, _GF = Interface.ISSUE_TRACKING, Interface.CICD, Interface.GIT_FORGE
NATIVE_INTERFACE: dict[str, Interface] = {
    **dict.fromkeys(("issue", "comment", "label", "milestone", "issue_event"), _IT),
    **dict.fromkeys(("workflow", "pipeline", "job", "check", "artifact", "runner"), _CI),
    **dict.fromkeys(
        (
            "repository",
            "pull_request",
            "review",
            "ref",
            "commit",
            "deploy_key",
            "collaborator",
            "branch_protection",
        ),
        _GF,
    ),
}
"""The interface every native memory kind belongs to."""

PIPELINE_STATES: dict[str, PipelineState] = {
    "queued": PipelineState.QUEUED,
    "waiting": PipelineState.WAITING,
    "running": PipelineState.RUNNING,
    "in_progress": PipelineState.RUNNING,
    "success": PipelineState.SUCCEEDED,
    "failure": PipelineState.FAILED,
    "canceled": PipelineState.CANCELLED,
    "skipped": PipelineState.SKIPPED,
    "neutral": PipelineState.NEUTRAL,
    "timed_out": PipelineState.TIMED_OUT,
    "action_required": PipelineState.ACTION_REQUIRED,
}
"""Memory's native run/job/check vocabulary -> canonical pipeline states."""


class WorkflowStep:
    """One move of the memory provider's issue workflow (Jira-like)."""

    def __init__(self, transition_id: str, name: str, to_status: str) -> None:
        self.transition_id = transition_id
        self.name = name
        self.to_status = to_status


# status -> (state, category, moves available from it)
WORKFLOW: dict[str, tuple[str, StatusCategory, list[WorkflowStep]]] = {
    "To Do": (
        "open",
        StatusCategory.TODO,
        [WorkflowStep("11", "Start progress", "In Progress"), WorkflowStep("31", "Done", "Done")],
    ),
    "In Progress": (
        "open",
        StatusCategory.IN_PROGRESS,
        [WorkflowStep("21", "Stop progress", "To Do"), WorkflowStep("31", "Done", "Done")],
    ),
    "Done": ("closed", StatusCategory.DONE, [WorkflowStep("41", "Reopen", "To Do")]),
}
"""The issue workflow: To Do -> In Progress -> Done (and back)."""

# Envelope fields every native object may carry; consumed by the envelope.
_ENVELOPE_KEYS = ("id", "number", "node_id", "url", "api_url", "sequence", "etag")


class _Native:
    """A native dict being consumed: ``take`` marks a field as mapped."""

    def __init__(self, native: Mapping[str, Any]) -> None:
        self.data = dict(native)
        self.rest = dict(native)

    def take(self, key: str, default: Any = None) -> Any:
        self.rest.pop(key, None)
        return self.data.get(key, default)

    def time(self, key: str) -> datetime | None:
        return _time(self.take(key))


def _time(value: str | None) -> datetime | None:
    return parse_time(value) if value else None


def version_of(native: Mapping[str, Any]) -> Version:
    """The version of a native object: updated_at + sequence (etag derived from both)."""
    updated = native.get("updated_at")
    sequence = native.get("sequence")
    return Version(
        etag=f'"{sequence}"' if sequence is not None else None,
        updated_at=_time(updated),
        sequence=sequence,
    )


def _actor(login: Any) -> Actor | None:
    if not login:
        return None
    return Actor(username=str(login), native_id=str(login), is_bot=str(login).endswith("[bot]"))


def _body(text: Any) -> RichText | None:
    return RichText.from_markdown(text) if isinstance(text, str) else None


def _ref(kind: str, oid: Any, number: Any = None) -> ObjectRef:
    return ObjectRef(
        kind=kind,
        native_id=str(oid) if oid is not None else None,
        native_number=str(number) if number is not None else None,
    )


def _pipeline_status(native: Any) -> PipelineStatus:
    state = PIPELINE_STATES.get(str(native), PipelineState.UNKNOWN)
    return PipelineStatus(state=state, native=native)


def issue_status(state: str, reason: str | None, status: str | None) -> IssueStatus:
    """The canonical status of a memory issue (state + workflow status)."""
    category = WORKFLOW[status][1] if status in WORKFLOW else StatusCategory.UNKNOWN
    return IssueStatus(state=state, reason=reason, category=category, native=status)


def native_check_status(state: PipelineState) -> tuple[str, str | None]:
    """Memory's (status, conclusion) for a canonical check state."""
    if state is PipelineState.QUEUED or state is PipelineState.WAITING:
        return "queued", None
    if state is PipelineState.RUNNING:
        return "in_progress", None
    for native, canonical in PIPELINE_STATES.items():
        if canonical is state and native not in ("queued", "running", "in_progress", "waiting"):
            return "completed", native
    return "completed", "neutral"


def transition_model(step: WorkflowStep, provider: ProviderRef) -> Transition:
    """A workflow move as a canonical Transition."""
    state, category, _ = WORKFLOW[step.to_status]
    return Transition(
        external=ExternalEnvelope(
            provider=provider,
            interface=Interface.ISSUE_TRACKING,
            native_kind="transition",
            native_id=step.transition_id,
            extensions=Extensions(provider_type=provider.type),
        ),
        name=step.name,
        to_status=IssueStatus(
            state=state,
            reason="completed" if state == "closed" else None,
            category=category,
            native=step.to_status,
        ),
    )


# --- per-kind mappers: return the canonical fields (envelope added by caller) ----


def _issue(n: _Native) -> dict[str, Any]:
    milestone = n.take("milestone_id")
    pr = n.take("pull_request")
    return {
        "title": n.take("title"),
        "body": _body(n.take("body")),
        "status": issue_status(n.take("state"), n.take("state_reason"), n.take("status")),
        "labels": list(n.take("labels") or []),
        "assignees": [a for a in map(_actor, n.take("assignees") or []) if a],
        "author": _actor(n.take("author")),
        "milestone": _ref("Milestone", milestone) if milestone is not None else None,
        "issue_type": n.take("issue_type"),
        "priority": n.take("priority"),
        "pull_request": _ref("PullRequest", pr.get("id"), pr.get("number")) if pr else None,
        "comments_count": n.take("comments_count"),
        "locked": bool(n.take("locked")),
        "created_at": n.time("created_at"),
        "updated_at": n.time("updated_at"),
        "closed_at": n.time("closed_at"),
    }


def _comment(n: _Native) -> dict[str, Any]:
    return {
        "issue": _ref("Issue", n.take("issue_id"), n.take("issue_number")),
        "body": RichText.from_markdown(n.take("body") or ""),
        "author": _actor(n.take("author")),
        "created_at": n.time("created_at"),
        "updated_at": n.time("updated_at"),
    }


def _label(n: _Native) -> dict[str, Any]:
    return {
        "name": n.take("name"),
        "color": n.take("color"),
        "description": n.take("description"),
    }


def _milestone(n: _Native) -> dict[str, Any]:
    due = n.take("due_on")
    state = n.take("state")
    return {
        "title": n.take("title"),
        "description": n.take("description"),
        "state": state,
        "native_state": state,
        "due_on": date.fromisoformat(due) if due else None,
        "created_at": n.time("created_at"),
        "updated_at": n.time("updated_at"),
        "closed_at": n.time("closed_at"),
    }


def _issue_event(n: _Native) -> dict[str, Any]:
    event = n.take("event")
    changes = n.take("changes") or {}
    return {
        "issue": _ref("Issue", n.take("issue_id"), n.take("issue_number")),
        "event_type": event,
        "native_event": event,
        "actor": _actor(n.take("actor")),
        "changes": [
            FieldChange(field=k, from_value=v[0], to_value=v[1]) for k, v in changes.items()
        ],
        "created_at": n.time("created_at"),
    }


def _workflow(n: _Native) -> dict[str, Any]:
    state = n.take("state")
    return {
        "name": n.take("name"),
        "path": n.take("path"),
        "active": state == "active",
        "native_state": state,
        "created_at": n.time("created_at"),
        "updated_at": n.time("updated_at"),
    }


def _pipeline(n: _Native) -> dict[str, Any]:
    workflow = n.take("workflow_id")
    return {
        "definition": _ref("PipelineDefinition", workflow) if workflow is not None else None,
        "name": n.take("name"),
        "status": _pipeline_status(n.take("status")),
        "ref": n.take("ref"),
        "sha": n.take("sha"),
        "trigger": n.take("trigger"),
        "attempt": n.take("attempt"),
        "actor": _actor(n.take("actor")),
        "created_at": n.time("created_at"),
        "started_at": n.time("started_at"),
        "finished_at": n.time("finished_at"),
        "updated_at": n.time("updated_at"),
    }


def _job(n: _Native) -> dict[str, Any]:
    return {
        "pipeline": _ref("Pipeline", n.take("pipeline_id")),
        "name": n.take("name"),
        "status": _pipeline_status(n.take("status")),
        "runner_name": n.take("runner_name"),
        "labels": list(n.take("labels") or []),
        "steps": [
            JobStep(name=s["name"], number=s.get("number"), status=_pipeline_status(s["status"]))
            for s in n.take("steps") or []
        ],
        "started_at": n.time("started_at"),
        "finished_at": n.time("finished_at"),
    }


def _check(n: _Native) -> dict[str, Any]:
    status = n.take("status")
    conclusion = n.take("conclusion")
    native = conclusion if status == "completed" and conclusion else status
    return {
        "check_kind": CheckKind.CHECK_RUN,
        "name": n.take("name"),
        "sha": n.take("head_sha"),
        "status": _pipeline_status(native),
        "details_url": n.take("details_url"),
        "summary": n.take("output_summary"),
        "started_at": n.time("started_at"),
        "finished_at": n.time("completed_at"),
    }


def _artifact(n: _Native) -> dict[str, Any]:
    return {
        "pipeline": _ref("Pipeline", n.take("pipeline_id")),
        "name": n.take("name"),
        "size_bytes": n.take("size_in_bytes"),
        "expired": bool(n.take("expired")),
        "download_url": n.take("archive_download_url"),
        "created_at": n.time("created_at"),
        "expires_at": n.time("expires_at"),
    }


def _runner(n: _Native) -> dict[str, Any]:
    status = n.take("status")
    busy = bool(n.take("busy"))
    return {
        "name": n.take("name"),
        "os": n.take("os"),
        "state": "busy" if busy and status == "online" else status,
        "native_state": status,
        "busy": busy,
        "labels": list(n.take("labels") or []),
    }


def _repository(n: _Native) -> dict[str, Any]:
    return {
        "owner": n.take("owner"),
        "name": n.take("name"),
        "full_name": n.take("full_name"),
        "description": n.take("description"),
        "default_branch": n.take("default_branch"),
        "visibility": n.take("visibility"),
        "archived": bool(n.take("archived")),
        "fork": bool(n.take("fork")),
        "clone_url": n.take("clone_url"),
        "ssh_url": n.take("ssh_url"),
        "created_at": n.time("created_at"),
        "updated_at": n.time("updated_at"),
        "pushed_at": n.time("pushed_at"),
    }


def _pull_request(n: _Native) -> dict[str, Any]:
    state = n.take("state")
    merged = bool(n.take("merged"))
    draft = bool(n.take("draft"))
    canonical: PullRequestState | str
    if merged:
        canonical = PullRequestState.MERGED
    elif state == "open" and draft:
        canonical = PullRequestState.DRAFT
    else:
        canonical = PullRequestState(state) if state in ("open", "closed") else "unknown"
    issue_id = n.take("issue_id")
    return {
        "title": n.take("title"),
        "body": _body(n.take("body")),
        "status": PullRequestStatus(state=canonical, native=state),
        "head_ref": n.take("head"),
        "head_sha": n.take("head_sha"),
        "base_ref": n.take("base"),
        "base_sha": n.take("base_sha"),
        "author": _actor(n.take("author")),
        "labels": list(n.take("labels") or []),
        "assignees": [a for a in map(_actor, n.take("assignees") or []) if a],
        "requested_reviewers": [a for a in map(_actor, n.take("requested_reviewers") or []) if a],
        "draft": draft,
        "mergeable": n.take("mergeable"),
        "merge_commit_sha": n.take("merge_commit_sha"),
        "issue": _ref("Issue", issue_id, n.data.get("number")) if issue_id is not None else None,
        "created_at": n.time("created_at"),
        "updated_at": n.time("updated_at"),
        "closed_at": n.time("closed_at"),
        "merged_at": n.time("merged_at"),
    }


def _review(n: _Native) -> dict[str, Any]:
    state = n.take("state")
    return {
        "pull_request": _ref(
            "PullRequest", n.take("pull_request_id"), n.take("pull_request_number")
        ),
        "state": str(state).lower(),
        "native_state": state,
        "author": _actor(n.take("user")),
        "body": _body(n.take("body")),
        "commit_sha": n.take("commit_id"),
        "submitted_at": n.time("submitted_at") or n.time("created_at"),
    }


def _git_ref(n: _Native) -> dict[str, Any]:
    name = n.take("ref")
    kind = (
        RefKind.BRANCH
        if name.startswith("refs/heads/")
        else RefKind.TAG
        if name.startswith("refs/tags/")
        else RefKind.OTHER
    )
    return {"name": name, "ref_kind": kind, "sha": n.take("sha")}


def _person(value: Any) -> CommitPerson | None:
    if not isinstance(value, Mapping):
        return None
    return CommitPerson(
        name=value.get("name"),
        email=value.get("email"),
        date=_time(value.get("date")),
    )


def _commit(n: _Native) -> dict[str, Any]:
    return {
        "sha": n.take("sha"),
        "message": n.take("message"),
        "author": _person(n.take("author")),
        "committer": _person(n.take("committer")),
        "parents": list(n.take("parents") or []),
    }


def _deploy_key(n: _Native) -> dict[str, Any]:
    return {
        "title": n.take("title"),
        "key": n.take("key"),
        "read_only": bool(n.take("read_only")),
        "created_at": n.time("created_at"),
    }


def _collaborator(n: _Native) -> dict[str, Any]:
    role = n.take("role_name")
    return {"actor": _actor(n.take("login")), "permission": role, "native_permission": role}


def _branch_protection(n: _Native) -> dict[str, Any]:
    fields = {
        "branch": n.take("branch"),
        "required_approving_reviews": n.take("required_approving_reviews"),
        "required_status_checks": list(n.take("required_status_checks") or []),
    }
    for flag in (
        "dismiss_stale_reviews",
        "require_code_owner_reviews",
        "strict_status_checks",
        "enforce_admins",
        "required_linear_history",
        "allow_force_pushes",
        "allow_deletions",
    ):
        fields[flag] = bool(n.take(flag))
    return fields


_MAPPERS: dict[str, tuple[type[CanonicalObject], Callable[[_Native], dict[str, Any]]]] = {
    "issue": (Issue, _issue),
    "comment": (Comment, _comment),
    "label": (Label, _label),
    "milestone": (Milestone, _milestone),
    "issue_event": (IssueEvent, _issue_event),
    "workflow": (PipelineDefinition, _workflow),
    "pipeline": (Pipeline, _pipeline),
    "job": (Job, _job),
    "check": (Check, _check),
    "artifact": (Artifact, _artifact),
    "runner": (Runner, _runner),
    "repository": (Repository, _repository),
    "pull_request": (PullRequest, _pull_request),
    "review": (Review, _review),
    "ref": (Ref, _git_ref),
    "commit": (Commit, _commit),
    "deploy_key": (DeployKey, _deploy_key),
    "collaborator": (Collaborator, _collaborator),
    "branch_protection": (BranchProtection, _branch_protection),
}


def _native_id(kind: str, native: Mapping[str, Any]) -> str:
    # Refs and commits are known by name/sha, not by a row id.
    if kind == "ref":
        return str(native["ref"])
    if kind == "commit":
        return str(native["sha"])
    return str(native["id"])


def to_canonical(kind: str, native: Mapping[str, Any], provider: ProviderRef) -> CanonicalObject:
    """Map one native memory object of ``kind`` to its canonical model.

    Raises ``KeyError``/``ValueError``/``pydantic.ValidationError`` on a
    malformed object (callers that must not raise catch them).
    """
    cls, mapper = _MAPPERS[kind]
    n = _Native(native)
    fields = mapper(n)
    for key in _ENVELOPE_KEYS:
        n.rest.pop(key, None)
    n.rest.pop("updated_at", None)
    number = native.get("number")
    extensions: dict[str, JsonValue] = dict(n.rest)
    envelope = ExternalEnvelope(
        provider=provider,
        interface=NATIVE_INTERFACE[kind],
        native_kind=kind,
        native_id=_native_id(kind, native),
        native_number=str(number) if number is not None else None,
        node_id=native.get("node_id"),
        url=native.get("url"),
        api_url=native.get("api_url"),
        version=version_of(native),
        extensions=Extensions(provider_type=provider.type, fields=extensions),
    )
    return cls.model_validate({"external": envelope, **fields})
