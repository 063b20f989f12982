"""Normalized status vocabularies that keep the provider's native value.

Each status is a small model: the normalized value a host can switch on, and
``native`` — exactly what the provider said — so nothing is lost and an
unknown native value never raises (it normalizes to ``unknown``).
"""

from __future__ import annotations

from enum import StrEnum

from kradle_providers.models.base import CanonicalModel, Tolerant

__all__ = [
    "IssueState",
    "IssueStatus",
    "PipelineState",
    "PipelineStatus",
    "PullRequestState",
    "PullRequestStatus",
    "StatusCategory",
]


class IssueState(StrEnum):
    """Normalized issue state."""

    OPEN = "open"
    CLOSED = "closed"
    UNKNOWN = "unknown"


class StatusCategory(StrEnum):
    """Where a workflow status sits (Jira's status categories; GitHub maps open/closed)."""

    TODO = "todo"
    IN_PROGRESS = "in_progress"
    DONE = "done"
    UNKNOWN = "unknown"


class IssueStatus(CanonicalModel):
    """Issue state: open/closed with a reason, plus the native status name."""

    state: Tolerant[IssueState] = IssueState.OPEN
    reason: str | None = None
    category: Tolerant[StatusCategory] = StatusCategory.UNKNOWN
    native: str | None = None


class PipelineState(StrEnum):
    """Normalized state of a pipeline run or job (the native word is kept)."""

    QUEUED = "queued"
    WAITING = "waiting"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"
    SKIPPED = "skipped"
    BLOCKED = "blocked"
    NEUTRAL = "neutral"
    TIMED_OUT = "timed_out"
    ACTION_REQUIRED = "action_required"
    UNKNOWN = "unknown"

    @property
    def finished(self) -> bool:
        return self in _FINISHED


_FINISHED = {
    PipelineState.SUCCEEDED,
    PipelineState.FAILED,
    PipelineState.CANCELLED,
    PipelineState.SKIPPED,
    PipelineState.NEUTRAL,
    PipelineState.TIMED_OUT,
    PipelineState.ACTION_REQUIRED,
}


class PipelineStatus(CanonicalModel):
    """Status of a pipeline, job or check; ``native`` keeps status/conclusion as sent."""

    state: Tolerant[PipelineState] = PipelineState.UNKNOWN
    native: str | None = None


class PullRequestState(StrEnum):
    """Normalized pull request state."""

    OPEN = "open"
    DRAFT = "draft"
    CLOSED = "closed"
    MERGED = "merged"
    UNKNOWN = "unknown"


class PullRequestStatus(CanonicalModel):
    """A pull request's normalized state with the native value it came from."""

    state: Tolerant[PullRequestState] = PullRequestState.OPEN
    native: str | None = None
