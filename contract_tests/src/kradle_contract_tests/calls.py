"""How the suite calls each canonical operation, vendor-neutrally.

:data:`LISTINGS` describes every paged listing (its kind, the parent it needs,
whether it is incremental); :data:`GETTERS` every single-object read;
:func:`call` makes a representative call of any operation with the ids it is
given (seeded by :func:`prepare`, or dummies when checking that an
undeclared operation is refused before anything is sent).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from kradle_contract_tests.context import Ctx
from kradle_providers.models import (
    BranchProtectionSpec,
    CheckInput,
    DeployKeySpec,
    ExternalRef,
    IssueCreate,
    IssueUpdate,
    LabelSpec,
    PipelineState,
    PullRequestCreate,
    PullRequestUpdate,
    RepositoryCreate,
    RepositoryUpdate,
)
from kradle_providers.protocols.adapter import ProviderAdapter
from kradle_providers.protocols.page import Page

__all__ = [
    "GETTERS",
    "LISTINGS",
    "MISSING_IDS",
    "Getter",
    "Listing",
    "call",
    "dummy_ids",
    "identities",
    "prepare",
]

Fetch = Callable[
    [ProviderAdapter, ExternalRef, str | None, str | None, int | None, datetime | None],
    Awaitable[Page[Any]],
]


@dataclass(frozen=True)
class Listing:
    """A paged listing: ``fetch(adapter, scope, parent_id, cursor, page_size, since)``."""

    operation: str
    kind: str
    fetch: Fetch
    parent: str | None = None  # canonical kind of the parent
    parent_attr: str | None = None  # the seed attr naming the parent
    incremental: bool = False


def _owner(scope: ExternalRef) -> ExternalRef:
    return ExternalRef(owner=scope.owner)


def _req(parent: str | None) -> str:
    assert parent is not None
    return parent


LISTINGS: dict[str, Listing] = {
    listing.operation: listing
    for listing in [
        Listing(
            "listIssues", "Issue",
            lambda a, s, p, c, n, t: a.list_issues(s, since=t, cursor=c, page_size=n),
            incremental=True,
        ),
        Listing(
            "listComments", "Comment",
            lambda a, s, p, c, n, t: a.list_comments(
                s, issue_id=p, since=t, cursor=c, page_size=n
            ),
            parent="Issue", parent_attr="issue", incremental=True,
        ),
        Listing(
            "listLabels", "Label",
            lambda a, s, p, c, n, t: a.list_labels(s, cursor=c, page_size=n),
        ),
        Listing(
            "listMilestones", "Milestone",
            lambda a, s, p, c, n, t: a.list_milestones(s, cursor=c, page_size=n),
        ),
        Listing(
            "listIssueEvents", "IssueEvent",
            lambda a, s, p, c, n, t: a.list_issue_events(
                s, issue_id=p, since=t, cursor=c, page_size=n
            ),
            parent="Issue", parent_attr="issue",
        ),
        Listing(
            "listPipelineDefinitions", "PipelineDefinition",
            lambda a, s, p, c, n, t: a.list_pipeline_definitions(s, cursor=c, page_size=n),
        ),
        Listing(
            "listPipelines", "Pipeline",
            lambda a, s, p, c, n, t: a.list_pipelines(s, since=t, cursor=c, page_size=n),
            incremental=True,
        ),
        Listing(
            "listJobs", "Job",
            lambda a, s, p, c, n, t: a.list_jobs(s, _req(p), cursor=c, page_size=n),
            parent="Pipeline", parent_attr="pipeline",
        ),
        Listing(
            "listArtifacts", "Artifact",
            lambda a, s, p, c, n, t: a.list_artifacts(s, _req(p), cursor=c, page_size=n),
            parent="Pipeline", parent_attr="pipeline",
        ),
        Listing(
            "listRunners", "Runner",
            lambda a, s, p, c, n, t: a.list_runners(s, cursor=c, page_size=n),
        ),
        Listing(
            "listChecks", "Check",
            lambda a, s, p, c, n, t: a.list_checks(s, _req(p), cursor=c, page_size=n),
            parent="Commit", parent_attr="sha",
        ),
        Listing(
            "listRepositories", "Repository",
            lambda a, s, p, c, n, t: a.list_repositories(
                _owner(s), since=t, cursor=c, page_size=n
            ),
            incremental=True,
        ),
        Listing(
            "listPullRequests", "PullRequest",
            lambda a, s, p, c, n, t: a.list_pull_requests(s, since=t, cursor=c, page_size=n),
            incremental=True,
        ),
        Listing(
            "listReviews", "Review",
            lambda a, s, p, c, n, t: a.list_reviews(s, _req(p), cursor=c, page_size=n),
            parent="PullRequest", parent_attr="pull_request",
        ),
        Listing(
            "listRefs", "Ref",
            lambda a, s, p, c, n, t: a.list_refs(s, cursor=c, page_size=n),
        ),
        Listing(
            "listDeployKeys", "DeployKey",
            lambda a, s, p, c, n, t: a.list_deploy_keys(s, cursor=c, page_size=n),
        ),
        Listing(
            "listCollaborators", "Collaborator",
            lambda a, s, p, c, n, t: a.list_collaborators(s, cursor=c, page_size=n),
        ),
    ]
}  # fmt: skip
"""Every paged listing by operation name."""


@dataclass(frozen=True)
class Getter:
    """A single-object read: ``get(adapter, scope, id)``."""

    operation: str
    kind: str
    get: Callable[[ProviderAdapter, ExternalRef, str], Awaitable[Any]]


GETTERS: dict[str, Getter] = {
    g.operation: g
    for g in [
        Getter("getIssue", "Issue", lambda a, s, i: a.get_issue(s, i)),
        Getter("getPipeline", "Pipeline", lambda a, s, i: a.get_pipeline(s, i)),
        Getter(
            "getRepository",
            "Repository",
            lambda a, s, i: a.get_repository(ExternalRef(owner=s.owner, repository=i)),
        ),
        Getter("getPullRequest", "PullRequest", lambda a, s, i: a.get_pull_request(s, i)),
        Getter("getCommit", "Commit", lambda a, s, i: a.get_commit(s, i)),
        Getter("getBranchProtection", "BranchProtection",
               lambda a, s, i: a.get_branch_protection(s, i)),
    ]
}  # fmt: skip
"""Every single-object read by operation name."""

MISSING_IDS: dict[str, str] = {
    "Issue": "987654",
    "Pipeline": "987654",
    "Repository": "kradle-contract-no-such-repository",
    "PullRequest": "987654",
    "Commit": "0" * 40,
    "BranchProtection": "kradle-contract-no-such-branch",
}
"""Ids that no provider should know."""


def identities(obj: Any) -> set[str]:
    """Every id a listed object may be known by (native id, number, name, sha)."""
    ext = obj.external
    found = {ext.native_id}
    if ext.native_number:
        found.add(ext.native_number)
    kind = getattr(obj, "kind", "")
    if kind in ("Repository", "Ref", "BranchProtection"):
        found.add(str(getattr(obj, "name", None) or getattr(obj, "branch", "")))
    if kind == "Commit":
        found.add(obj.sha)
    return {i for i in found if i}


# --- representative calls of every operation --------------------------------

_NEEDS: dict[str, tuple[tuple[str, dict[str, Any]], ...]] = {
    "getIssue": (("Issue", {}),),
    "updateIssue": (("Issue", {}),),
    "closeIssue": (("Issue", {}),),
    "listTransitions": (("Issue", {}),),
    "transitionIssue": (("Issue", {}),),
    "createComment": (("Issue", {}),),
    "updateComment": (("Comment", {}),),
    "getPipeline": (("Pipeline", {}),),
    "listJobs": (("Pipeline", {}),),
    "listArtifacts": (("Pipeline", {}),),
    "rerunPipeline": (("Pipeline", {"status": "failure"}),),
    "cancelPipeline": (("Pipeline", {"status": "running"}),),
    "getJobLog": (("Job", {"log": "line one\nline two\n"}),),
    "listChecks": (("Commit", {}),),
    "createCheck": (("Commit", {}),),
    "updateCheck": (("Commit", {}), ("Check", {})),
    "getRepository": (("Repository", {}),),
    "updateRepository": (("Repository", {}),),
    "getPullRequest": (("PullRequest", {}),),
    "updatePullRequest": (("PullRequest", {}),),
    "mergePullRequest": (("PullRequest", {}),),
    "listReviews": (("PullRequest", {}),),
    "getCommit": (("Commit", {}),),
    "getBranchProtection": (("BranchProtection", {}),),
}


def dummy_ids() -> dict[str, str]:
    """Ids for calls that must be refused before they reach the backend."""
    return {
        "Issue": "1",
        "Comment": "1",
        "Pipeline": "1",
        "Job": "1",
        "Check": "1",
        "Commit": "0" * 40,
        "Repository": "widgets",
        "PullRequest": "1",
        "BranchProtection": "main",
        "head": "feature",
        "base": "main",
    }


def prepare(operation: str, ctx: Ctx) -> dict[str, str]:
    """Seed what a representative call of ``operation`` needs; returns the ids."""
    ids = dummy_ids()
    for kind, attrs in _NEEDS.get(operation, ()):
        extra = dict(attrs)
        if kind == "Check":
            extra["sha"] = ids["Commit"]
        ids[kind] = ctx.seed(kind, **extra)[0]
    if operation == "createPullRequest":
        n = ctx.request_count()
        ids["head"] = f"contract-head-{n}"
        ids["base"] = f"contract-base-{n}"
        ctx.seed("Ref", name=f"refs/heads/{ids['head']}")
        ctx.seed("Ref", name=f"refs/heads/{ids['base']}")
    if operation == "syncBranchProtection":
        ids["BranchProtection"] = "contract-protected"
        ctx.seed("Ref", name="refs/heads/contract-protected")
    return ids


async def _transition(a: ProviderAdapter, s: ExternalRef, issue: str) -> Any:
    transitions = await a.list_transitions(s, issue)
    if not transitions:
        return None
    return await a.transition_issue(s, issue, transitions[0].external.native_id)


async def _log(a: ProviderAdapter, s: ExternalRef, job: str) -> str:
    return "".join([chunk async for chunk in a.get_job_log(s, job)])


async def call(
    operation: str,
    adapter: ProviderAdapter,
    scope: ExternalRef,
    ids: Mapping[str, str],
    *,
    idempotency_key: str | None = None,
    title: str = "Contract check",
    body: str = "Written by the **contract** suite.",
) -> Any:
    """One representative call of ``operation`` (every canonical operation is covered)."""
    a, s, i = adapter, scope, ids
    key = idempotency_key
    match operation:
        case "listIssues" | "listComments" | "listLabels" | "listMilestones" | "listIssueEvents":
            return await LISTINGS[operation].fetch(a, s, None, None, None, None)
        case "getIssue":
            return await a.get_issue(s, i["Issue"])
        case "createIssue":
            return await a.create_issue(s, IssueCreate(title=title, body=body), idempotency_key=key)
        case "updateIssue":
            return await a.update_issue(s, i["Issue"], IssueUpdate(title=title))
        case "closeIssue":
            return await a.close_issue(s, i["Issue"], reason="completed")
        case "listTransitions":
            return await a.list_transitions(s, i["Issue"])
        case "transitionIssue":
            return await _transition(a, s, i["Issue"])
        case "createComment":
            return await a.create_comment(s, i["Issue"], body, idempotency_key=key)
        case "updateComment":
            return await a.update_comment(s, i["Comment"], body)
        case "syncLabels":
            desired = [LabelSpec(name="contract-bug", color="d73a4a", description="Broken")]
            return await a.sync_labels(s, desired, prune=False)
        case "listPipelineDefinitions" | "listPipelines" | "listRunners" | "listRepositories":
            return await LISTINGS[operation].fetch(a, s, None, None, None, None)
        case "listPullRequests" | "listRefs" | "listDeployKeys" | "listCollaborators":
            return await LISTINGS[operation].fetch(a, s, None, None, None, None)
        case "getPipeline":
            return await a.get_pipeline(s, i["Pipeline"])
        case "listJobs" | "listArtifacts":
            return await LISTINGS[operation].fetch(a, s, i["Pipeline"], None, None, None)
        case "getJobLog":
            return await _log(a, s, i["Job"])
        case "rerunPipeline":
            return await a.rerun_pipeline(s, i["Pipeline"])
        case "cancelPipeline":
            return await a.cancel_pipeline(s, i["Pipeline"])
        case "registerRunner":
            return await a.register_runner(s)
        case "listChecks":
            return await a.list_checks(s, i["Commit"])
        case "createCheck":
            data = CheckInput(name=title, sha=i["Commit"], state=PipelineState.RUNNING)
            return await a.create_check(s, data, idempotency_key=key)
        case "updateCheck":
            data = CheckInput(name=title, sha=i["Commit"], state=PipelineState.SUCCEEDED)
            return await a.update_check(s, i["Check"], data)
        case "getRepository":
            return await a.get_repository(ExternalRef(owner=s.owner, repository=i["Repository"]))
        case "createRepository":
            name = title.lower().replace(" ", "-")
            data_r = RepositoryCreate(name=name, description=body)
            return await a.create_repository(_owner(s), data_r, idempotency_key=key)
        case "updateRepository":
            ref = ExternalRef(owner=s.owner, repository=i["Repository"])
            return await a.update_repository(ref, RepositoryUpdate(description=title))
        case "getPullRequest":
            return await a.get_pull_request(s, i["PullRequest"])
        case "createPullRequest":
            data_p = PullRequestCreate(title=title, head=i["head"], base=i["base"], body=body)
            return await a.create_pull_request(s, data_p, idempotency_key=key)
        case "updatePullRequest":
            return await a.update_pull_request(s, i["PullRequest"], PullRequestUpdate(title=title))
        case "mergePullRequest":
            return await a.merge_pull_request(s, i["PullRequest"])
        case "listReviews":
            return await a.list_reviews(s, i["PullRequest"])
        case "getCommit":
            return await a.get_commit(s, i["Commit"])
        case "syncDeployKeys":
            keys = [DeployKeySpec(title="contract", key="ssh-ed25519 AAAAC3NzaContract k@c")]
            return await a.sync_deploy_keys(s, keys, prune=False)
        case "getBranchProtection":
            return await a.get_branch_protection(s, i["BranchProtection"])
        case "syncBranchProtection":
            spec = BranchProtectionSpec(required_approving_reviews=1)
            return await a.sync_branch_protection(s, i["BranchProtection"], spec)
    raise KeyError(f"no representative call for {operation!r}")
