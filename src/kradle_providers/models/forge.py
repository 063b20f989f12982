"""Git forge kinds: Repository, PullRequest, Review, Ref, Commit, DeployKey,
Collaborator, BranchProtection."""

from __future__ import annotations

from enum import StrEnum
from typing import ClassVar, Literal

from pydantic import Field

from kradle_providers.models.base import (
    Actor,
    CanonicalModel,
    CanonicalObject,
    Interface,
    ObjectRef,
    Tolerant,
    UtcDatetime,
)
from kradle_providers.models.richtext import RichText
from kradle_providers.models.status import PullRequestStatus

__all__ = [
    "BranchProtection",
    "BranchProtectionSpec",
    "Collaborator",
    "Commit",
    "CommitPerson",
    "DeployKey",
    "DeployKeySpec",
    "MergeMethod",
    "Permission",
    "PullRequest",
    "PullRequestCreate",
    "PullRequestUpdate",
    "Ref",
    "RefKind",
    "Repository",
    "RepositoryCreate",
    "RepositoryUpdate",
    "Review",
    "ReviewState",
    "Visibility",
]


class Visibility(StrEnum):
    """Who can see a repository."""

    PUBLIC = "public"
    PRIVATE = "private"
    INTERNAL = "internal"
    UNKNOWN = "unknown"


class Repository(CanonicalObject):
    """A git repository on a forge."""

    interface: ClassVar[Interface] = Interface.GIT_FORGE
    kind: Literal["Repository"] = "Repository"
    owner: str
    name: str
    full_name: str
    description: str | None = None
    default_branch: str | None = None
    visibility: Tolerant[Visibility] = Visibility.UNKNOWN
    archived: bool = False
    fork: bool = False
    clone_url: str | None = None
    ssh_url: str | None = None
    created_at: UtcDatetime | None = None
    updated_at: UtcDatetime | None = None
    pushed_at: UtcDatetime | None = None


class PullRequest(CanonicalObject):
    """A pull request / merge request; ``issue`` links a PR-backed issue where one exists."""

    interface: ClassVar[Interface] = Interface.GIT_FORGE
    kind: Literal["PullRequest"] = "PullRequest"
    title: str
    body: RichText | None = None
    status: PullRequestStatus = Field(default_factory=PullRequestStatus)
    head_ref: str | None = None
    head_sha: str | None = None
    base_ref: str | None = None
    base_sha: str | None = None
    author: Actor | None = None
    labels: list[str] = Field(default_factory=list)
    assignees: list[Actor] = Field(default_factory=list)
    requested_reviewers: list[Actor] = Field(default_factory=list)
    draft: bool = False
    mergeable: bool | None = None
    merge_commit_sha: str | None = None
    issue: ObjectRef | None = None
    created_at: UtcDatetime | None = None
    updated_at: UtcDatetime | None = None
    closed_at: UtcDatetime | None = None
    merged_at: UtcDatetime | None = None


class ReviewState(StrEnum):
    """Normalized review verdict."""

    APPROVED = "approved"
    CHANGES_REQUESTED = "changes_requested"
    COMMENTED = "commented"
    DISMISSED = "dismissed"
    PENDING = "pending"
    UNKNOWN = "unknown"


class Review(CanonicalObject):
    """A review of a pull request (approval, change request, comment)."""

    interface: ClassVar[Interface] = Interface.GIT_FORGE
    kind: Literal["Review"] = "Review"
    pull_request: ObjectRef
    state: Tolerant[ReviewState] = ReviewState.UNKNOWN
    native_state: str | None = None
    author: Actor | None = None
    body: RichText | None = None
    commit_sha: str | None = None
    submitted_at: UtcDatetime | None = None


class RefKind(StrEnum):
    """Whether a ref is a branch or a tag."""

    BRANCH = "branch"
    TAG = "tag"
    OTHER = "other"
    UNKNOWN = "unknown"


class Ref(CanonicalObject):
    """A branch or tag; ``name`` is the full ref (``refs/heads/main``)."""

    interface: ClassVar[Interface] = Interface.GIT_FORGE
    kind: Literal["Ref"] = "Ref"
    name: str
    ref_kind: Tolerant[RefKind] = RefKind.BRANCH
    sha: str


class CommitPerson(CanonicalModel):
    """The author or committer of a commit, as the commit records them."""

    name: str | None = None
    email: str | None = None
    date: UtcDatetime | None = None
    actor: Actor | None = None


class Commit(CanonicalObject):
    """A commit: sha, message, author and committer, parents."""

    interface: ClassVar[Interface] = Interface.GIT_FORGE
    kind: Literal["Commit"] = "Commit"
    sha: str
    message: str
    author: CommitPerson | None = None
    committer: CommitPerson | None = None
    parents: list[str] = Field(default_factory=list)


class DeployKey(CanonicalObject):
    """An SSH key with (read-only or write) access to one repository."""

    interface: ClassVar[Interface] = Interface.GIT_FORGE
    kind: Literal["DeployKey"] = "DeployKey"
    title: str
    key: str
    read_only: bool = True
    created_at: UtcDatetime | None = None


class Permission(StrEnum):
    """A collaborator's permission on a repository, from most to least."""

    ADMIN = "admin"
    MAINTAIN = "maintain"
    WRITE = "write"
    TRIAGE = "triage"
    READ = "read"
    UNKNOWN = "unknown"


class Collaborator(CanonicalObject):
    """A person or team with access to a repository, and their permission."""

    interface: ClassVar[Interface] = Interface.GIT_FORGE
    kind: Literal["Collaborator"] = "Collaborator"
    actor: Actor
    permission: Tolerant[Permission] = Permission.UNKNOWN
    native_permission: str | None = None


class BranchProtection(CanonicalObject):
    """Protection rules on one branch, in the vocabulary most forges share."""

    interface: ClassVar[Interface] = Interface.GIT_FORGE
    kind: Literal["BranchProtection"] = "BranchProtection"
    branch: str
    required_approving_reviews: int | None = None
    dismiss_stale_reviews: bool = False
    require_code_owner_reviews: bool = False
    required_status_checks: list[str] = Field(default_factory=list)
    strict_status_checks: bool = False
    enforce_admins: bool = False
    required_linear_history: bool = False
    allow_force_pushes: bool = False
    allow_deletions: bool = False


# --- write inputs -----------------------------------------------------------


class RepositoryCreate(CanonicalModel):
    """What a host writes to create a repository."""

    name: str = Field(min_length=1)
    description: str | None = None
    visibility: Literal["public", "private", "internal"] = "private"
    default_branch: str | None = None


class RepositoryUpdate(CanonicalModel):
    """The fields of a repository a host may change (unset fields stay as they are)."""

    description: str | None = None
    visibility: Literal["public", "private", "internal"] | None = None
    default_branch: str | None = None
    archived: bool | None = None


class PullRequestCreate(CanonicalModel):
    """What a host writes to open a pull request."""

    title: str = Field(min_length=1)
    head: str = Field(min_length=1)
    base: str = Field(min_length=1)
    body: str | None = None
    draft: bool = False


class PullRequestUpdate(CanonicalModel):
    """The fields of a pull request a host may change (unset fields stay as they are)."""

    title: str | None = Field(default=None, min_length=1)
    body: str | None = None
    base: str | None = None
    state: Literal["open", "closed"] | None = None


class MergeMethod(StrEnum):
    """How a pull request is merged."""

    MERGE = "merge"
    SQUASH = "squash"
    REBASE = "rebase"


class DeployKeySpec(CanonicalModel):
    """A desired deploy key for :meth:`GitForge.sync_deploy_keys` (matched by key)."""

    title: str = Field(min_length=1)
    key: str = Field(min_length=1)
    read_only: bool = True


class BranchProtectionSpec(CanonicalModel):
    """Desired protection for :meth:`GitForge.sync_branch_protection`."""

    required_approving_reviews: int | None = Field(default=None, ge=0, le=10)
    dismiss_stale_reviews: bool = False
    require_code_owner_reviews: bool = False
    required_status_checks: list[str] = Field(default_factory=list)
    strict_status_checks: bool = False
    enforce_admins: bool = False
    required_linear_history: bool = False
    allow_force_pushes: bool = False
    allow_deletions: bool = False
