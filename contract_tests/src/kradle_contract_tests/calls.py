"""How the suite calls each canonical operation, vendor-neutrally.

Everything derives from the operation catalogue: :data:`LISTINGS` describes
every paged listing (its kind, the parent it needs, whether it is
incremental); :data:`GETTERS` every single-object read;
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
from kradle_providers.protocols.catalogue import (
    CATALOGUE,
    OPERATIONS,
    BodyArgs,
    Call,
    CloseArgs,
    DeployKeysArgs,
    Effect,
    LabelsArgs,
    Operation,
    ProtectionArgs,
    Shape,
    camel_to_snake,
)
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
    "label_of",
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


_PARENT_SEED_ATTR = {"Commit": "sha"}
"""The harness seed attribute naming a parent, where it is not the kind's snake_case name."""


def _listing(op: Operation) -> Listing:
    def fetch(
        a: ProviderAdapter,
        s: ExternalRef,
        p: str | None,
        c: str | None,
        n: int | None,
        t: datetime | None,
    ) -> Awaitable[Page[Any]]:
        page: Awaitable[Page[Any]] = op.invoke(
            a, Call(s, id=p, cursor=c, page_size=n, since=t if op.incremental else None)
        )
        return page

    attr = _PARENT_SEED_ATTR.get(op.parent, camel_to_snake(op.parent)) if op.parent else None
    return Listing(op.name, op.kind, fetch, op.parent, attr, op.incremental)


LISTINGS: dict[str, Listing] = {
    op.name: _listing(op) for op in CATALOGUE if op.effect is Effect.READ and op.shape is Shape.PAGE
}
"""Every paged listing by operation name (from the catalogue)."""


@dataclass(frozen=True)
class Getter:
    """A single-object read: ``get(adapter, scope, id)``."""

    operation: str
    kind: str
    get: Callable[[ProviderAdapter, ExternalRef, str], Awaitable[Any]]


def _getter(op: Operation) -> Getter:
    def get(a: ProviderAdapter, s: ExternalRef, i: str) -> Awaitable[Any]:
        result: Awaitable[Any] = op.invoke(a, Call(s, id=i))
        return result

    return Getter(op.name, op.kind, get)


GETTERS: dict[str, Getter] = {
    op.name: _getter(op)
    for op in CATALOGUE
    if op.effect is Effect.READ and op.shape is Shape.ONE and op.target is not None
}
"""Every single-object read by operation name (from the catalogue)."""

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

_SEED_FIRST: dict[str, tuple[tuple[str, dict[str, Any]], ...]] = {
    "createCheck": (("Commit", {}),),
    "updateCheck": (("Commit", {}),),
}
"""Objects seeded before the one an operation addresses (a check needs its commit)."""

_SEED_ATTRS_OF: dict[str, dict[str, Any]] = {
    "rerunPipeline": {"status": "failure"},
    "cancelPipeline": {"status": "running"},
    "getJobLog": {"log": "line one\nline two\n"},
}
"""Attributes the addressed object needs for the call to make sense."""


def _needs(op: Operation) -> tuple[tuple[str, dict[str, Any]], ...]:
    """What to seed for a representative call: the addressed object (never for a converge)."""
    own: tuple[tuple[str, dict[str, Any]], ...] = ()
    kind = op.target or (op.parent if op.needs_id else None)
    if kind is not None and op.effect is not Effect.CONVERGE:
        own = ((kind, _SEED_ATTRS_OF.get(op.name, {})),)
    return _SEED_FIRST.get(op.name, ()) + own


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
    for kind, attrs in _needs(OPERATIONS[operation]):
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


def label_of(title: str) -> str:
    """The label an update sets: derived from its title, so a read-back can look for it."""
    return "contract-" + title.rsplit(" ", 1)[-1].lower()


def _payload(op: Operation, ids: Mapping[str, str], title: str, body: str) -> Any:
    """A representative payload of ``op`` (its args model's defaults unless listed)."""
    match op.name:
        case "createIssue":
            return IssueCreate(title=title, body=body)
        case "updateIssue":
            return IssueUpdate(title=title, body=body, labels=[label_of(title)])
        case "closeIssue":
            return CloseArgs(reason="completed")
        case "createComment" | "updateComment":
            return BodyArgs(body=body)
        case "syncLabels":
            desired = [LabelSpec(name="contract-bug", color="d73a4a", description="Broken")]
            return LabelsArgs(desired=desired, prune=False)
        case "createCheck":
            return CheckInput(name=title, sha=ids["Commit"], state=PipelineState.RUNNING)
        case "updateCheck":
            return CheckInput(name=title, sha=ids["Commit"], state=PipelineState.SUCCEEDED)
        case "createRepository":
            return RepositoryCreate(name=title.lower().replace(" ", "-"), description=body)
        case "updateRepository":
            return RepositoryUpdate(description=title)
        case "createPullRequest":
            return PullRequestCreate(title=title, head=ids["head"], base=ids["base"], body=body)
        case "updatePullRequest":
            return PullRequestUpdate(title=title, body=body)
        case "syncDeployKeys":
            keys = [DeployKeySpec(title="contract", key="ssh-ed25519 AAAAC3NzaContract k@c")]
            return DeployKeysArgs(desired=keys, prune=False)
        case "syncBranchProtection":
            return ProtectionArgs(desired=BranchProtectionSpec(required_approving_reviews=1))
    return op.args() if op.args is not None else None


async def _transition(a: ProviderAdapter, s: ExternalRef, issue: str) -> Any:
    transitions = await a.list_transitions(s, issue)
    if not transitions:
        return None
    return await a.transition_issue(s, issue, transitions[0].external.native_id)


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
    """One representative call of ``operation`` (every catalogued operation is covered)."""
    op = OPERATIONS.get(operation)
    if op is None:
        raise KeyError(f"no representative call for {operation!r}")
    if op.name == "transitionIssue":
        return await _transition(adapter, scope, ids["Issue"])  # needs a transition's id
    kind = op.target or (op.parent if op.needs_id else None)
    request = Call(
        scope,
        id=ids[kind] if kind is not None else None,
        payload=_payload(op, ids, title, body),
        idempotency_key=idempotency_key,
    )
    if op.shape is Shape.STREAM:
        return "".join([chunk async for chunk in op.invoke(adapter, request)])
    return await op.invoke(adapter, request)
