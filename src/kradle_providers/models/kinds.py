"""The canonical kinds by name, and which belong to an interface."""

from __future__ import annotations

from kradle_providers.models.base import CanonicalObject, Interface
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
from kradle_providers.models.issues import Comment, Issue, IssueEvent, Label, Milestone, Transition

__all__ = ["CANONICAL_KINDS", "kinds_of"]

CANONICAL_KINDS: dict[str, type[CanonicalObject]] = {
    cls.__name__: cls
    for cls in (
        Issue,
        Comment,
        Label,
        Milestone,
        IssueEvent,
        Transition,
        PipelineDefinition,
        Pipeline,
        Job,
        Check,
        Artifact,
        LogRef,
        Runner,
        RunnerRegistration,
        Repository,
        PullRequest,
        Review,
        Ref,
        Commit,
        DeployKey,
        Collaborator,
        BranchProtection,
    )
}
"""Every canonical kind by name, in SPEC §3 order."""


def kinds_of(interface: Interface) -> list[str]:
    """The canonical kind names that belong to ``interface``."""
    return [name for name, cls in CANONICAL_KINDS.items() if cls.interface is interface]
