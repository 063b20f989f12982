"""The operation catalogue: every canonical operation, declared once.

Each :class:`Operation` says what the operation is (name, interface, the kind
it returns, what shape: page, list, one object, log stream, sync plan), what
it does (read, create, update, action, converge), what a call needs (the kind
whose id it takes, the payload model of a write), whether listing it is
incremental, and how to call it on an adapter (:attr:`Operation.invoke`, from
one :class:`Call`). Everything that used to enumerate operations derives from
here: the protocol defaults, the manifest validator, the guard, the backfill's
kinds, write-intent dispatch and the contract suite's generated checks.

Adding an operation is one entry in :data:`CATALOGUE` plus its protocol
method (in :mod:`kradle_providers.protocols.interfaces`) and the providers'
implementations. Names are the camelCase forms of the protocol methods
(``listIssues`` <-> ``list_issues``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, JsonValue

from kradle_providers.errors import InvalidInput
from kradle_providers.models import (
    BranchProtectionSpec,
    CheckInput,
    DeployKeySpec,
    ExternalRef,
    IssueCreate,
    IssueUpdate,
    LabelSpec,
    MergeMethod,
    PullRequestCreate,
    PullRequestUpdate,
    RepositoryCreate,
    RepositoryUpdate,
)
from kradle_providers.models.base import Interface
from kradle_providers.protocols.naming import camel_to_snake, snake_to_camel

if TYPE_CHECKING:
    from kradle_providers.protocols.adapter import ProviderAdapter

__all__ = [
    "CATALOGUE",
    "OPERATIONS",
    "BodyArgs",
    "Call",
    "CloseArgs",
    "DeployKeysArgs",
    "Effect",
    "LabelsArgs",
    "MergeArgs",
    "NoArgs",
    "Operation",
    "ProtectionArgs",
    "RerunArgs",
    "Shape",
    "TransitionArgs",
    "camel_to_snake",
    "operations_of",
    "snake_to_camel",
]


class Effect(StrEnum):
    """What an operation does to the provider."""

    READ = "read"
    CREATE = "create"  # a new object (its id comes back in the result)
    UPDATE = "update"  # partial change of an existing object's fields
    ACTION = "action"  # a state change of an existing object (close, merge, rerun)
    CONVERGE = "converge"  # declarative: make a set equal the desired one, return the plan


class Shape(StrEnum):
    """What a call returns."""

    PAGE = "page"  # Page[kind]
    LIST = "list"  # list[kind], unpaged
    ONE = "one"  # one object of kind
    STREAM = "stream"  # AsyncIterator[str] (a plain def: nothing runs until iterated)
    PLAN = "plan"  # SyncResult


# --- write payloads: the canonical input of each write that has no model of its own


class _Args(BaseModel):
    # Built on first use: importing the catalogue (every sync command) builds none.
    model_config = ConfigDict(extra="forbid", defer_build=True)


class NoArgs(_Args):
    """A write that takes nothing beyond the object it acts on."""


class CloseArgs(_Args):
    reason: str | None = None


class TransitionArgs(_Args):
    transition_id: str
    resolution: str | None = None


class BodyArgs(_Args):
    body: str


class LabelsArgs(_Args):
    desired: list[LabelSpec]
    prune: bool = True


class RerunArgs(_Args):
    failed_only: bool = False


class MergeArgs(_Args):
    method: MergeMethod = MergeMethod.MERGE
    expected_head_sha: str | None = None


class DeployKeysArgs(_Args):
    desired: list[DeployKeySpec]
    prune: bool = True


class ProtectionArgs(_Args):
    desired: BranchProtectionSpec | None = None


@dataclass(frozen=True)
class Call:
    """The arguments of one call of any operation; each operation reads what it takes.

    ``id`` names the object the call addresses (:attr:`Operation.target`) or
    whose children it lists or creates (:attr:`Operation.parent`); ``payload``
    is an instance of the operation's :attr:`Operation.args` model.
    """

    ref: ExternalRef
    id: str | None = None
    payload: Any = None
    cursor: str | None = None
    page_size: int | None = None
    since: datetime | None = None
    idempotency_key: str | None = None
    expected_version: str | None = None

    @property
    def object_id(self) -> str:
        """``id``, required: the operation addresses one object."""
        if self.id is None:
            raise InvalidInput(
                "this operation addresses one object; pass its id (number, key or native id)",
                field="object_id",
            )
        return self.id


Invoke = Callable[["ProviderAdapter", Call], Any]
"""``invoke(adapter, call)``: an awaitable (or, for a stream, an async iterator)."""


@dataclass(frozen=True)
class Operation:
    """One canonical operation."""

    name: str
    interface: Interface
    kind: str
    """The canonical kind it lists, returns or writes."""
    effect: Effect
    shape: Shape
    invoke: Invoke
    parent: str | None = None
    """The kind whose id a listing or a child create takes (Pipeline for listJobs)."""
    target: str | None = None
    """The kind of the existing object the call addresses by id (Issue for getIssue)."""
    id_optional: bool = False
    """The id may be left out: a listing then covers the whole scope, a repository
    call addresses the repository of ``ref``."""
    args: type[BaseModel] | None = None
    """The payload model of a write (what a write intent carries)."""
    incremental: bool = False
    """A listing that takes ``since``."""
    conditional: bool = False
    """A write that takes ``expected_version``."""
    echoes: bool = False
    """The written object shows the payload's fields (compared to confirm the write)."""
    sets: Mapping[str, JsonValue] = field(default_factory=dict)
    """Fields the write always leaves with these values (closeIssue: state closed)."""
    not_queueable: str | None = None
    """Why the write can never become a write intent (None: it can)."""

    @property
    def method(self) -> str:
        """The protocol method's name."""
        return camel_to_snake(self.name)

    @property
    def write(self) -> bool:
        return self.effect is not Effect.READ

    @property
    def declarative(self) -> bool:
        return self.effect is Effect.CONVERGE

    @property
    def id_kind(self) -> str | None:
        """The kind of the object whose id a call takes (parent or target)."""
        return self.parent or self.target

    @property
    def needs_id(self) -> bool:
        return self.id_kind is not None and not self.id_optional


def _repo(c: Call) -> ExternalRef:
    # Repository calls address the repository named by the id, else the one of ``ref``.
    return c.ref if c.id is None else c.ref.model_copy(update={"repository": c.id})


def _owner(c: Call) -> ExternalRef:
    return c.ref.model_copy(update={"repository": None})


_IT, _CI, _GF = Interface.ISSUE_TRACKING, Interface.CICD, Interface.GIT_FORGE
_R, _C, _U, _A, _V = Effect.READ, Effect.CREATE, Effect.UPDATE, Effect.ACTION, Effect.CONVERGE
_PAGE, _LIST, _ONE, _STREAM, _PLAN = Shape.PAGE, Shape.LIST, Shape.ONE, Shape.STREAM, Shape.PLAN

CATALOGUE: tuple[Operation, ...] = (
    # --- issue tracking
    Operation(
        "listIssues", _IT, "Issue", _R, _PAGE,
        lambda a, c: a.list_issues(c.ref, since=c.since, cursor=c.cursor, page_size=c.page_size),
        incremental=True,
    ),
    Operation(
        "getIssue", _IT, "Issue", _R, _ONE,
        lambda a, c: a.get_issue(c.ref, c.object_id),
        target="Issue",
    ),
    Operation(
        "createIssue", _IT, "Issue", _C, _ONE,
        lambda a, c: a.create_issue(c.ref, c.payload, idempotency_key=c.idempotency_key),
        args=IssueCreate, echoes=True,
    ),
    Operation(
        "updateIssue", _IT, "Issue", _U, _ONE,
        lambda a, c: a.update_issue(
            c.ref, c.object_id, c.payload, expected_version=c.expected_version
        ),
        target="Issue", args=IssueUpdate, conditional=True, echoes=True,
    ),
    Operation(
        "closeIssue", _IT, "Issue", _A, _ONE,
        lambda a, c: a.close_issue(c.ref, c.object_id, reason=c.payload.reason),
        target="Issue", args=CloseArgs, sets={"state": "closed"},
    ),
    Operation(
        "reopenIssue", _IT, "Issue", _A, _ONE,
        lambda a, c: a.reopen_issue(c.ref, c.object_id),
        target="Issue", args=NoArgs, sets={"state": "open"},
    ),
    Operation(
        "listTransitions", _IT, "Transition", _R, _LIST,
        lambda a, c: a.list_transitions(c.ref, c.object_id),
        parent="Issue",
    ),
    Operation(
        "transitionIssue", _IT, "Issue", _A, _ONE,
        lambda a, c: a.transition_issue(
            c.ref, c.object_id, c.payload.transition_id, resolution=c.payload.resolution
        ),
        target="Issue", args=TransitionArgs,
    ),
    Operation(
        "listComments", _IT, "Comment", _R, _PAGE,
        lambda a, c: a.list_comments(
            c.ref, issue_id=c.id, since=c.since, cursor=c.cursor, page_size=c.page_size
        ),
        parent="Issue", id_optional=True, incremental=True,
    ),
    Operation(
        "createComment", _IT, "Comment", _C, _ONE,
        lambda a, c: a.create_comment(
            c.ref, c.object_id, c.payload.body, idempotency_key=c.idempotency_key
        ),
        parent="Issue", args=BodyArgs, echoes=True,
    ),
    Operation(
        "updateComment", _IT, "Comment", _U, _ONE,
        lambda a, c: a.update_comment(c.ref, c.object_id, c.payload.body),
        target="Comment", args=BodyArgs, echoes=True,
    ),
    Operation(
        "listLabels", _IT, "Label", _R, _PAGE,
        lambda a, c: a.list_labels(c.ref, cursor=c.cursor, page_size=c.page_size),
    ),
    Operation(
        "syncLabels", _IT, "Label", _V, _PLAN,
        lambda a, c: a.sync_labels(c.ref, c.payload.desired, prune=c.payload.prune),
        args=LabelsArgs,
    ),
    Operation(
        "listMilestones", _IT, "Milestone", _R, _PAGE,
        lambda a, c: a.list_milestones(c.ref, cursor=c.cursor, page_size=c.page_size),
    ),
    Operation(
        "listIssueEvents", _IT, "IssueEvent", _R, _PAGE,
        lambda a, c: a.list_issue_events(
            c.ref, issue_id=c.id, since=c.since, cursor=c.cursor, page_size=c.page_size
        ),
        parent="Issue", id_optional=True, incremental=True,
    ),
    # --- CI/CD
    Operation(
        "listPipelineDefinitions", _CI, "PipelineDefinition", _R, _PAGE,
        lambda a, c: a.list_pipeline_definitions(c.ref, cursor=c.cursor, page_size=c.page_size),
    ),
    Operation(
        "listPipelines", _CI, "Pipeline", _R, _PAGE,
        lambda a, c: a.list_pipelines(
            c.ref, since=c.since, cursor=c.cursor, page_size=c.page_size
        ),
        incremental=True,
    ),
    Operation(
        "getPipeline", _CI, "Pipeline", _R, _ONE,
        lambda a, c: a.get_pipeline(c.ref, c.object_id),
        target="Pipeline",
    ),
    Operation(
        "listJobs", _CI, "Job", _R, _PAGE,
        lambda a, c: a.list_jobs(c.ref, c.object_id, cursor=c.cursor, page_size=c.page_size),
        parent="Pipeline",
    ),
    Operation(
        "getJobLog", _CI, "LogRef", _R, _STREAM,
        lambda a, c: a.get_job_log(c.ref, c.object_id),
        target="Job",
    ),
    Operation(
        "listArtifacts", _CI, "Artifact", _R, _PAGE,
        lambda a, c: a.list_artifacts(
            c.ref, c.object_id, cursor=c.cursor, page_size=c.page_size
        ),
        parent="Pipeline",
    ),
    Operation(
        "rerunPipeline", _CI, "Pipeline", _A, _ONE,
        lambda a, c: a.rerun_pipeline(c.ref, c.object_id, failed_only=c.payload.failed_only),
        target="Pipeline", args=RerunArgs,
    ),
    Operation(
        "cancelPipeline", _CI, "Pipeline", _A, _ONE,
        lambda a, c: a.cancel_pipeline(c.ref, c.object_id),
        target="Pipeline", args=NoArgs,
    ),
    Operation(
        "listChecks", _CI, "Check", _R, _PAGE,
        lambda a, c: a.list_checks(c.ref, c.object_id, cursor=c.cursor, page_size=c.page_size),
        parent="Commit",
    ),
    Operation(
        "createCheck", _CI, "Check", _C, _ONE,
        lambda a, c: a.create_check(c.ref, c.payload, idempotency_key=c.idempotency_key),
        args=CheckInput,
    ),
    Operation(
        "updateCheck", _CI, "Check", _U, _ONE,
        lambda a, c: a.update_check(c.ref, c.object_id, c.payload),
        target="Check", args=CheckInput,
    ),
    Operation(
        "listRunners", _CI, "Runner", _R, _PAGE,
        lambda a, c: a.list_runners(c.ref, cursor=c.cursor, page_size=c.page_size),
    ),
    Operation(
        "registerRunner", _CI, "RunnerRegistration", _C, _ONE,
        lambda a, c: a.register_runner(c.ref),
        not_queueable="its answer is a short-lived secret that must not be stored",
    ),
    # --- git forge
    Operation(
        "listRepositories", _GF, "Repository", _R, _PAGE,
        lambda a, c: a.list_repositories(
            _owner(c), since=c.since, cursor=c.cursor, page_size=c.page_size
        ),
        incremental=True,
    ),
    Operation(
        "getRepository", _GF, "Repository", _R, _ONE,
        lambda a, c: a.get_repository(_repo(c)),
        target="Repository", id_optional=True,
    ),
    Operation(
        "createRepository", _GF, "Repository", _C, _ONE,
        lambda a, c: a.create_repository(
            _owner(c), c.payload, idempotency_key=c.idempotency_key
        ),
        args=RepositoryCreate,
    ),
    Operation(
        "updateRepository", _GF, "Repository", _U, _ONE,
        lambda a, c: a.update_repository(_repo(c), c.payload),
        target="Repository", id_optional=True, args=RepositoryUpdate,
    ),
    Operation(
        "listPullRequests", _GF, "PullRequest", _R, _PAGE,
        lambda a, c: a.list_pull_requests(
            c.ref, since=c.since, cursor=c.cursor, page_size=c.page_size
        ),
        incremental=True,
    ),
    Operation(
        "getPullRequest", _GF, "PullRequest", _R, _ONE,
        lambda a, c: a.get_pull_request(c.ref, c.object_id),
        target="PullRequest",
    ),
    Operation(
        "createPullRequest", _GF, "PullRequest", _C, _ONE,
        lambda a, c: a.create_pull_request(c.ref, c.payload, idempotency_key=c.idempotency_key),
        args=PullRequestCreate, echoes=True,
    ),
    Operation(
        "updatePullRequest", _GF, "PullRequest", _U, _ONE,
        lambda a, c: a.update_pull_request(
            c.ref, c.object_id, c.payload, expected_version=c.expected_version
        ),
        target="PullRequest", args=PullRequestUpdate, conditional=True, echoes=True,
    ),
    Operation(
        "mergePullRequest", _GF, "PullRequest", _A, _ONE,
        lambda a, c: a.merge_pull_request(
            c.ref,
            c.object_id,
            method=c.payload.method,
            expected_head_sha=c.payload.expected_head_sha,
        ),
        target="PullRequest", args=MergeArgs,
    ),
    Operation(
        "listReviews", _GF, "Review", _R, _PAGE,
        lambda a, c: a.list_reviews(c.ref, c.object_id, cursor=c.cursor, page_size=c.page_size),
        parent="PullRequest",
    ),
    Operation(
        "listRefs", _GF, "Ref", _R, _PAGE,
        lambda a, c: a.list_refs(c.ref, cursor=c.cursor, page_size=c.page_size),
    ),
    Operation(
        "getCommit", _GF, "Commit", _R, _ONE,
        lambda a, c: a.get_commit(c.ref, c.object_id),
        target="Commit",
    ),
    Operation(
        "listDeployKeys", _GF, "DeployKey", _R, _PAGE,
        lambda a, c: a.list_deploy_keys(c.ref, cursor=c.cursor, page_size=c.page_size),
    ),
    Operation(
        "syncDeployKeys", _GF, "DeployKey", _V, _PLAN,
        lambda a, c: a.sync_deploy_keys(c.ref, c.payload.desired, prune=c.payload.prune),
        args=DeployKeysArgs,
    ),
    Operation(
        "listCollaborators", _GF, "Collaborator", _R, _PAGE,
        lambda a, c: a.list_collaborators(c.ref, cursor=c.cursor, page_size=c.page_size),
    ),
    Operation(
        "getBranchProtection", _GF, "BranchProtection", _R, _ONE,
        lambda a, c: a.get_branch_protection(c.ref, c.object_id),
        target="BranchProtection",
    ),
    Operation(
        "syncBranchProtection", _GF, "BranchProtection", _V, _PLAN,
        lambda a, c: a.sync_branch_protection(c.ref, c.object_id, c.payload.desired),
        target="BranchProtection", args=ProtectionArgs,
    ),
)  # fmt: skip
"""Every canonical operation, in protocol order."""

OPERATIONS: Mapping[str, Operation] = {op.name: op for op in CATALOGUE}
"""Every canonical operation by camelCase name."""


def operations_of(interface: Interface) -> list[Operation]:
    """The operations of one interface, in protocol order."""
    return [op for op in CATALOGUE if op.interface is interface]
