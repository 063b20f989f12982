"""The three protocols a provider implements: IssueTracking, CiCd, GitForge.

Each method's default body raises :class:`UnsupportedOperation`; a provider
adapter subclasses :class:`ProviderAdapter` and overrides exactly the operations
its manifest declares. Hosts type against the protocols.

Conventions shared by every method:

- ``ref`` says where the operation applies (``ExternalRef(owner=..., repository=...)``
  or ``ExternalRef(project="WID")``).
- Object ids are the provider's human number or key where one exists (``"42"``,
  ``"WID-7"``), else its native id.
- List methods take ``cursor`` (opaque, from the previous page), ``page_size``
  (``None`` = the provider's largest) and, where incremental, ``since`` (a
  high-water mark: only objects changed at or after it).
- Writes take ``idempotency_key``: the same key never creates twice.
- ``sync_*`` methods are declarative: they converge the provider to the desired
  set and return the plan; with ``dry_run=True`` nothing is sent.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import AsyncIterator, Callable, Sequence
from datetime import datetime
from typing import Any, ParamSpec, Protocol, TypeVar, runtime_checkable

from kradle_providers.errors import UnsupportedOperation
from kradle_providers.models import (
    Artifact,
    BranchProtection,
    BranchProtectionSpec,
    Check,
    CheckInput,
    Collaborator,
    Comment,
    Commit,
    DeployKey,
    DeployKeySpec,
    ExternalRef,
    Issue,
    IssueCreate,
    IssueEvent,
    IssueUpdate,
    Job,
    Label,
    LabelSpec,
    MergeMethod,
    Milestone,
    Pipeline,
    PipelineDefinition,
    PullRequest,
    PullRequestCreate,
    PullRequestUpdate,
    Ref,
    Repository,
    RepositoryCreate,
    RepositoryUpdate,
    Review,
    Runner,
    RunnerRegistration,
    SyncResult,
    Transition,
)
from kradle_providers.protocols.naming import snake_to_camel
from kradle_providers.protocols.page import Page

__all__ = ["UNSUPPORTED_MARK", "CiCd", "GitForge", "IssueTracking", "is_implemented"]

P = ParamSpec("P")
R = TypeVar("R")

UNSUPPORTED_MARK = "__kradle_unsupported__"


def _unsupported(fn: Callable[P, R]) -> Callable[P, R]:
    """Turn a protocol stub into a default that raises UnsupportedOperation."""
    operation = snake_to_camel(fn.__name__)

    def fail(self: Any) -> UnsupportedOperation:
        provider = getattr(self, "provider_type", type(self).__name__)
        return UnsupportedOperation(provider, operation, "the adapter does not implement it")

    if inspect.iscoroutinefunction(fn):

        @functools.wraps(fn)
        async def default_async(self: Any, *args: Any, **kwargs: Any) -> Any:
            raise fail(self)

        wrapper: Any = default_async
    else:

        @functools.wraps(fn)
        def default_sync(self: Any, *args: Any, **kwargs: Any) -> Any:
            raise fail(self)

        wrapper = default_sync
    setattr(wrapper, UNSUPPORTED_MARK, True)
    return wrapper  # type: ignore[no-any-return]


def _stub() -> UnsupportedOperation:
    # Never runs: @_unsupported replaces every stub. A non-trivial body keeps
    # type checkers from treating the protocol members as abstract, so adapter
    # subclasses that implement only some operations can be instantiated.
    return UnsupportedOperation("?", "?")


def is_implemented(adapter: object, method: str) -> bool:
    """True when ``adapter`` (an adapter or its class) really implements ``method``.

    False for the protocol's raising default (or no such method).
    """
    cls = adapter if isinstance(adapter, type) else type(adapter)
    impl = getattr(cls, method, None)
    return impl is not None and not getattr(impl, UNSUPPORTED_MARK, False)


@runtime_checkable
class IssueTracking(Protocol):
    """Issues, comments, labels, milestones, issue events, workflow transitions."""

    provider_type: str

    @_unsupported
    async def list_issues(
        self,
        ref: ExternalRef,
        *,
        since: datetime | None = None,
        state: str | None = None,
        cursor: str | None = None,
        page_size: int | None = None,
    ) -> Page[Issue]:
        """Issues (never PR-backed duplicates), oldest change first when ``since`` is set."""
        raise _stub()

    @_unsupported
    async def get_issue(self, ref: ExternalRef, issue_id: str) -> Issue:
        """One issue by number/key; NotFound when it does not exist."""
        raise _stub()

    @_unsupported
    async def create_issue(
        self, ref: ExternalRef, data: IssueCreate, *, idempotency_key: str | None = None
    ) -> Issue:
        raise _stub()

    @_unsupported
    async def update_issue(
        self,
        ref: ExternalRef,
        issue_id: str,
        data: IssueUpdate,
        *,
        expected_version: str | None = None,
    ) -> Issue:
        """Partial update; ``expected_version`` (etag/updated_at) makes it conditional."""
        raise _stub()

    @_unsupported
    async def close_issue(
        self, ref: ExternalRef, issue_id: str, *, reason: str | None = None
    ) -> Issue:
        raise _stub()

    @_unsupported
    async def reopen_issue(self, ref: ExternalRef, issue_id: str) -> Issue:
        """Reopen a closed issue; reopening an open issue changes nothing."""
        raise _stub()

    @_unsupported
    async def list_transitions(self, ref: ExternalRef, issue_id: str) -> list[Transition]:
        """Workflow moves available on the issue now (Jira)."""
        raise _stub()

    @_unsupported
    async def transition_issue(
        self, ref: ExternalRef, issue_id: str, transition_id: str, *, resolution: str | None = None
    ) -> Issue:
        raise _stub()

    @_unsupported
    async def list_comments(
        self,
        ref: ExternalRef,
        *,
        issue_id: str | None = None,
        since: datetime | None = None,
        cursor: str | None = None,
        page_size: int | None = None,
    ) -> Page[Comment]:
        """Comments of one issue, or of the whole scope when ``issue_id`` is None."""
        raise _stub()

    @_unsupported
    async def create_comment(
        self, ref: ExternalRef, issue_id: str, body: str, *, idempotency_key: str | None = None
    ) -> Comment:
        raise _stub()

    @_unsupported
    async def update_comment(self, ref: ExternalRef, comment_id: str, body: str) -> Comment:
        raise _stub()

    @_unsupported
    async def list_labels(
        self, ref: ExternalRef, *, cursor: str | None = None, page_size: int | None = None
    ) -> Page[Label]:
        raise _stub()

    @_unsupported
    async def sync_labels(
        self,
        ref: ExternalRef,
        desired: Sequence[LabelSpec],
        *,
        prune: bool = True,
        dry_run: bool = False,
    ) -> SyncResult:
        """Make the labels equal ``desired`` (by name); ``prune`` deletes the rest."""
        raise _stub()

    @_unsupported
    async def list_milestones(
        self, ref: ExternalRef, *, cursor: str | None = None, page_size: int | None = None
    ) -> Page[Milestone]:
        raise _stub()

    @_unsupported
    async def list_issue_events(
        self,
        ref: ExternalRef,
        *,
        issue_id: str | None = None,
        since: datetime | None = None,
        cursor: str | None = None,
        page_size: int | None = None,
    ) -> Page[IssueEvent]:
        raise _stub()


@runtime_checkable
class CiCd(Protocol):
    """Pipeline definitions, pipelines (runs), jobs, logs, artifacts, runners, checks."""

    provider_type: str

    @_unsupported
    async def list_pipeline_definitions(
        self, ref: ExternalRef, *, cursor: str | None = None, page_size: int | None = None
    ) -> Page[PipelineDefinition]:
        raise _stub()

    @_unsupported
    async def list_pipelines(
        self,
        ref: ExternalRef,
        *,
        definition_id: str | None = None,
        since: datetime | None = None,
        cursor: str | None = None,
        page_size: int | None = None,
    ) -> Page[Pipeline]:
        raise _stub()

    @_unsupported
    async def get_pipeline(self, ref: ExternalRef, pipeline_id: str) -> Pipeline:
        raise _stub()

    @_unsupported
    async def list_jobs(
        self,
        ref: ExternalRef,
        pipeline_id: str,
        *,
        cursor: str | None = None,
        page_size: int | None = None,
    ) -> Page[Job]:
        raise _stub()

    @_unsupported
    def get_job_log(self, ref: ExternalRef, job_id: str) -> AsyncIterator[str]:
        """Stream the job's log lazily, chunk by chunk, with secrets redacted.

        Nothing is fetched until the iterator is first advanced.
        """
        raise _stub()

    @_unsupported
    async def list_artifacts(
        self,
        ref: ExternalRef,
        pipeline_id: str,
        *,
        cursor: str | None = None,
        page_size: int | None = None,
    ) -> Page[Artifact]:
        raise _stub()

    @_unsupported
    async def rerun_pipeline(
        self, ref: ExternalRef, pipeline_id: str, *, failed_only: bool = False
    ) -> Pipeline:
        raise _stub()

    @_unsupported
    async def cancel_pipeline(self, ref: ExternalRef, pipeline_id: str) -> Pipeline:
        raise _stub()

    @_unsupported
    async def list_runners(
        self, ref: ExternalRef, *, cursor: str | None = None, page_size: int | None = None
    ) -> Page[Runner]:
        raise _stub()

    @_unsupported
    async def register_runner(self, ref: ExternalRef) -> RunnerRegistration:
        """A short-lived registration token (a Secret); callers must not store it."""
        raise _stub()

    @_unsupported
    async def list_checks(
        self,
        ref: ExternalRef,
        sha: str,
        *,
        cursor: str | None = None,
        page_size: int | None = None,
    ) -> Page[Check]:
        raise _stub()

    @_unsupported
    async def create_check(
        self, ref: ExternalRef, data: CheckInput, *, idempotency_key: str | None = None
    ) -> Check:
        raise _stub()

    @_unsupported
    async def update_check(self, ref: ExternalRef, check_id: str, data: CheckInput) -> Check:
        raise _stub()


@runtime_checkable
class GitForge(Protocol):
    """Repositories, pull requests, reviews, refs, commits, keys, collaborators, protection."""

    provider_type: str

    @_unsupported
    async def list_repositories(
        self,
        ref: ExternalRef,
        *,
        since: datetime | None = None,
        cursor: str | None = None,
        page_size: int | None = None,
    ) -> Page[Repository]:
        """Repositories of ``ref.owner``."""
        raise _stub()

    @_unsupported
    async def get_repository(self, ref: ExternalRef) -> Repository:
        raise _stub()

    @_unsupported
    async def create_repository(
        self, ref: ExternalRef, data: RepositoryCreate, *, idempotency_key: str | None = None
    ) -> Repository:
        raise _stub()

    @_unsupported
    async def update_repository(self, ref: ExternalRef, data: RepositoryUpdate) -> Repository:
        raise _stub()

    @_unsupported
    async def list_pull_requests(
        self,
        ref: ExternalRef,
        *,
        since: datetime | None = None,
        state: str | None = None,
        cursor: str | None = None,
        page_size: int | None = None,
    ) -> Page[PullRequest]:
        raise _stub()

    @_unsupported
    async def get_pull_request(self, ref: ExternalRef, number: str) -> PullRequest:
        raise _stub()

    @_unsupported
    async def create_pull_request(
        self, ref: ExternalRef, data: PullRequestCreate, *, idempotency_key: str | None = None
    ) -> PullRequest:
        raise _stub()

    @_unsupported
    async def update_pull_request(
        self,
        ref: ExternalRef,
        number: str,
        data: PullRequestUpdate,
        *,
        expected_version: str | None = None,
    ) -> PullRequest:
        raise _stub()

    @_unsupported
    async def merge_pull_request(
        self,
        ref: ExternalRef,
        number: str,
        *,
        method: MergeMethod = MergeMethod.MERGE,
        expected_head_sha: str | None = None,
    ) -> PullRequest:
        raise _stub()

    @_unsupported
    async def list_reviews(
        self,
        ref: ExternalRef,
        number: str,
        *,
        cursor: str | None = None,
        page_size: int | None = None,
    ) -> Page[Review]:
        raise _stub()

    @_unsupported
    async def list_refs(
        self,
        ref: ExternalRef,
        *,
        prefix: str | None = None,
        cursor: str | None = None,
        page_size: int | None = None,
    ) -> Page[Ref]:
        raise _stub()

    @_unsupported
    async def get_commit(self, ref: ExternalRef, sha: str) -> Commit:
        raise _stub()

    @_unsupported
    async def list_deploy_keys(
        self, ref: ExternalRef, *, cursor: str | None = None, page_size: int | None = None
    ) -> Page[DeployKey]:
        raise _stub()

    @_unsupported
    async def sync_deploy_keys(
        self,
        ref: ExternalRef,
        desired: Sequence[DeployKeySpec],
        *,
        prune: bool = True,
        dry_run: bool = False,
    ) -> SyncResult:
        """Make the deploy keys equal ``desired`` (matched by key material)."""
        raise _stub()

    @_unsupported
    async def list_collaborators(
        self, ref: ExternalRef, *, cursor: str | None = None, page_size: int | None = None
    ) -> Page[Collaborator]:
        raise _stub()

    @_unsupported
    async def get_branch_protection(self, ref: ExternalRef, branch: str) -> BranchProtection:
        """NotFound when the branch is not protected."""
        raise _stub()

    @_unsupported
    async def sync_branch_protection(
        self,
        ref: ExternalRef,
        branch: str,
        desired: BranchProtectionSpec | None,
        *,
        dry_run: bool = False,
    ) -> SyncResult:
        """Converge the branch's protection to ``desired`` (None removes it)."""
        raise _stub()
