"""Issue-tracking kinds: Issue, Comment, Label, Milestone, IssueEvent, Transition."""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import ClassVar, Literal

from pydantic import Field

from kradle_providers.models.base import (
    Actor,
    CanonicalModel,
    CanonicalObject,
    Interface,
    NativeJson,
    ObjectRef,
    Tolerant,
    UtcDatetime,
)
from kradle_providers.models.richtext import RichText
from kradle_providers.models.status import IssueStatus

__all__ = [
    "Comment",
    "CommentInput",
    "FieldChange",
    "Issue",
    "IssueCreate",
    "IssueEvent",
    "IssueEventType",
    "IssueUpdate",
    "Label",
    "LabelSpec",
    "Milestone",
    "MilestoneState",
    "Transition",
]


class Issue(CanonicalObject):
    """A work item. A GitHub PR-backed issue links ``pull_request`` instead of
    being a second work item."""

    interface: ClassVar[Interface] = Interface.ISSUE_TRACKING
    kind: Literal["Issue"] = "Issue"
    title: str
    body: RichText | None = None
    status: IssueStatus = Field(default_factory=IssueStatus)
    labels: list[str] = Field(default_factory=list)
    assignees: list[Actor] = Field(default_factory=list)
    author: Actor | None = None
    milestone: ObjectRef | None = None
    issue_type: str | None = None
    priority: str | None = None
    pull_request: ObjectRef | None = None
    comments_count: int | None = None
    locked: bool = False
    created_at: UtcDatetime | None = None
    updated_at: UtcDatetime | None = None
    closed_at: UtcDatetime | None = None


class Comment(CanonicalObject):
    """A comment on an issue or pull request; its body keeps its source format."""

    interface: ClassVar[Interface] = Interface.ISSUE_TRACKING
    kind: Literal["Comment"] = "Comment"
    issue: ObjectRef
    body: RichText
    author: Actor | None = None
    created_at: UtcDatetime | None = None
    updated_at: UtcDatetime | None = None


class Label(CanonicalObject):
    """A label that can be put on issues (and pull requests)."""

    interface: ClassVar[Interface] = Interface.ISSUE_TRACKING
    kind: Literal["Label"] = "Label"
    name: str
    color: str | None = None
    description: str | None = None


class MilestoneState(StrEnum):
    """Whether a milestone is open or closed."""

    OPEN = "open"
    CLOSED = "closed"
    UNKNOWN = "unknown"


class Milestone(CanonicalObject):
    """A milestone, GitLab milestone or Jira fix version."""

    interface: ClassVar[Interface] = Interface.ISSUE_TRACKING
    kind: Literal["Milestone"] = "Milestone"
    title: str
    description: str | None = None
    state: Tolerant[MilestoneState] = MilestoneState.OPEN
    native_state: str | None = None
    due_on: date | None = None
    created_at: UtcDatetime | None = None
    updated_at: UtcDatetime | None = None
    closed_at: UtcDatetime | None = None


class IssueEventType(StrEnum):
    """The kind of an issue's timeline event (canonical words; the native one is kept)."""

    CREATED = "created"
    CLOSED = "closed"
    REOPENED = "reopened"
    LABELED = "labeled"
    UNLABELED = "unlabeled"
    ASSIGNED = "assigned"
    UNASSIGNED = "unassigned"
    MILESTONED = "milestoned"
    DEMILESTONED = "demilestoned"
    RENAMED = "renamed"
    TRANSITIONED = "transitioned"
    EDITED = "edited"
    LOCKED = "locked"
    UNLOCKED = "unlocked"
    REFERENCED = "referenced"
    UNKNOWN = "unknown"


class FieldChange(CanonicalModel):
    """One field's change: ``from_value`` -> ``to_value`` (native values kept)."""

    field: str
    from_value: NativeJson = None
    to_value: NativeJson = None


class IssueEvent(CanonicalObject):
    """Something that happened to an issue (GitHub issue events, Jira changelog)."""

    interface: ClassVar[Interface] = Interface.ISSUE_TRACKING
    kind: Literal["IssueEvent"] = "IssueEvent"
    issue: ObjectRef
    event_type: Tolerant[IssueEventType] = IssueEventType.UNKNOWN
    native_event: str | None = None
    actor: Actor | None = None
    changes: list[FieldChange] = Field(default_factory=list)
    created_at: UtcDatetime | None = None


class Transition(CanonicalObject):
    """A workflow move available on an issue (Jira); ``to_status`` is where it leads."""

    interface: ClassVar[Interface] = Interface.ISSUE_TRACKING
    kind: Literal["Transition"] = "Transition"
    name: str
    to_status: IssueStatus


# --- write inputs -----------------------------------------------------------


class IssueCreate(CanonicalModel):
    """What a host asks to create. ``body`` is Markdown."""

    title: str = Field(min_length=1)
    body: str | None = None
    labels: list[str] = Field(default_factory=list)
    assignees: list[str] = Field(default_factory=list)
    milestone: str | None = None
    issue_type: str | None = None


class IssueUpdate(CanonicalModel):
    """A partial update: only fields that are set are changed."""

    title: str | None = Field(default=None, min_length=1)
    body: str | None = None
    labels: list[str] | None = None
    assignees: list[str] | None = None
    milestone: str | None = None
    state: Literal["open", "closed"] | None = None
    state_reason: str | None = None


class CommentInput(CanonicalModel):
    """What a host writes as a comment."""

    body: str = Field(min_length=1)


class LabelSpec(CanonicalModel):
    """A desired label for :meth:`IssueTracking.sync_labels`."""

    name: str = Field(min_length=1)
    color: str | None = None
    description: str | None = None
