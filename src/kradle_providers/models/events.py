"""Canonical sync events: what a webhook payload or a change feed becomes."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from pydantic import Field

from kradle_providers.models.base import (
    CanonicalModel,
    ExternalRef,
    Interface,
    ProviderRef,
    Tolerant,
    UtcDatetime,
    Version,
)
from kradle_providers.models.cicd import (
    Artifact,
    Check,
    Job,
    LogRef,
    Pipeline,
    PipelineDefinition,
    Runner,
    RunnerRegistration,
)
from kradle_providers.models.forge import (
    BranchProtection,
    Collaborator,
    Commit,
    DeployKey,
    PullRequest,
    Ref,
    Repository,
    Review,
)
from kradle_providers.models.issues import (
    Comment,
    FieldChange,
    Issue,
    IssueEvent,
    Label,
    Milestone,
    Transition,
)

__all__ = [
    "AnyCanonical",
    "ChangeAction",
    "NormalizeOutcome",
    "NormalizeResult",
    "SyncEvent",
]

AnyCanonical = Annotated[
    Issue
    | Comment
    | Label
    | Milestone
    | IssueEvent
    | Transition
    | PipelineDefinition
    | Pipeline
    | Job
    | Check
    | Artifact
    | LogRef
    | Runner
    | RunnerRegistration
    | Repository
    | PullRequest
    | Review
    | Ref
    | Commit
    | DeployKey
    | Collaborator
    | BranchProtection,
    Field(discriminator="kind"),
]
"""Any canonical object, discriminated by its ``kind``."""


class ChangeAction(StrEnum):
    """What happened to an object in a sync event."""

    CREATED = "created"
    UPDATED = "updated"
    DELETED = "deleted"
    UNKNOWN = "unknown"


class SyncEvent(CanonicalModel):
    """One change to one canonical object.

    ``object`` is the object's state as the event carries it (None for a
    deletion that carries nothing); ``native_id`` always identifies it.
    ``delivery_id`` + ``native_action`` + ``native_id`` is the dedupe key.
    """

    provider: ProviderRef
    interface: Interface
    object_kind: str
    action: Tolerant[ChangeAction]
    native_event: str
    native_action: str | None = None
    native_id: str
    delivery_id: str | None = None
    occurred_at: UtcDatetime | None = None
    version: Version = Field(default_factory=Version)
    object: AnyCanonical | None = None
    changes: list[FieldChange] = Field(default_factory=list)
    target: ExternalRef | None = Field(default=None, exclude=True)
    """Where in the provider the change happened (repository, project), as the delivery
    names it (stamped by the normalizer registry from the plugin's ``WebhookSpec``); a
    binding never projects an event whose target lies outside its own. A routing fact
    kept out of serialized events (and goldens)."""

    def dedupe_key(self) -> str:
        return f"{self.delivery_id or '-'}:{self.native_action or '-'}:{self.native_id}"


class NormalizeOutcome(StrEnum):
    """What normalizing one webhook payload came to."""

    NORMALIZED = "normalized"
    IGNORED = "ignored"
    MALFORMED = "malformed"
    UNKNOWN_EVENT = "unknown_event"


class NormalizeResult(CanonicalModel):
    """What normalizing one payload produced: events, or an explained non-result.

    ``ignored`` is for events a provider declares informational (a ping, a
    worklog); ``malformed`` and ``unknown_event`` carry a ``reason``.
    """

    provider: str
    native_event: str
    outcome: NormalizeOutcome
    events: list[SyncEvent] = Field(default_factory=list)
    reason: str | None = None

    @property
    def ok(self) -> bool:
        return self.outcome in (NormalizeOutcome.NORMALIZED, NormalizeOutcome.IGNORED)
