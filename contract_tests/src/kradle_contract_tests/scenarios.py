"""The contract checks: each is ``async def check(ctx, ...)`` and fails with an explanation.

Checks never assume a fresh backend: they compare against what they seeded,
so a harness whose scope already holds objects passes the same way.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import io
import json
import logging
import os
import secrets
import traceback
import typing
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from markdown_it import MarkdownIt
from pydantic import BaseModel

from kradle_contract_tests.calls import (
    GETTERS,
    LISTINGS,
    MISSING_IDS,
    Listing,
    call,
    dummy_ids,
    identities,
    label_of,
    prepare,
)
from kradle_contract_tests.context import Ctx, not_applicable, violation
from kradle_contract_tests.goldens import (
    GOLDENS_DIR_ENV,
    UPDATE_GOLDENS_ENV,
    golden_path,
    write_golden,
)
from kradle_providers.errors import (
    AuthenticationError,
    KradleError,
    NotFound,
    ProviderError,
    RateLimited,
    UnsupportedOperation,
)
from kradle_providers.manifest.model import IdempotencyMode
from kradle_providers.manifest.validator import validate_manifest
from kradle_providers.models import (
    BranchProtectionSpec,
    DeployKeySpec,
    LabelSpec,
    NormalizeOutcome,
    NormalizeResult,
    PlanAction,
    ProviderRef,
    SyncEvent,
    SyncResult,
)
from kradle_providers.plugins.installed import has_normalizer
from kradle_providers.protocols.adapter import ProviderAdapter
from kradle_providers.protocols.catalogue import OPERATIONS
from kradle_providers.protocols.interfaces import is_implemented
from kradle_providers.sync.conflicts import comparable_fields
from kradle_providers.testing.harness import (
    Fault,
    Limitation,
    WebhookFixture,
    hidden_seeds,
    limitation,
)
from kradle_providers.webhooks.normalizer import NormalizeContext
from kradle_providers.webhooks.registry import find_normalizer

__all__ = ["GOLDENS_DIR_ENV", "READERS", "UPDATE_GOLDENS_ENV", "golden_differences",
           "same_markdown"]  # fmt: skip


MAX_PAGES = 500
RICH_MARKDOWN = "Contract **bold**, _italic_ and `code`.\n\n- one\n- two"

READERS: dict[str, tuple[str, ...]] = {
    # kind -> operations that can read it back, preferred first
    "Issue": ("getIssue", "listIssues"),
    "Comment": ("listComments",),
    "Check": ("listChecks",),
    "Repository": ("getRepository", "listRepositories"),
    "PullRequest": ("getPullRequest", "listPullRequests"),
    "Pipeline": ("getPipeline", "listPipelines"),
}


def _short(values: Any, limit: int = 10) -> str:
    items = sorted(values, key=str)
    shown = ", ".join(repr(v) for v in items[:limit])
    return f"[{shown}{', ...' if len(items) > limit else ''}]"


def same_markdown(a: str, b: str) -> bool:
    """Whether two Markdown texts mean the same: equal, or rendering to the same CommonMark HTML.

    A provider that stores rich text in its own format (Jira's ADF or wiki markup)
    renders it back in one spelling: ``*x*`` for the author's ``_x_``, ``*`` for
    ``-`` bullets. The meaning is the same, so nothing was lost and no warning is
    owed; anything that renders differently still is a loss.
    """
    if a.strip() == b.strip():
        return True
    render = _commonmark().render
    return bool(render(a) == render(b))


@functools.cache
def _commonmark() -> MarkdownIt:
    return MarkdownIt("commonmark")


def _title_of(obj: Any) -> str | None:
    for name in ("title", "name"):
        value = getattr(obj, name, None)
        if isinstance(value, str):
            return value
    body = getattr(obj, "body", None)
    return body.markdown if body is not None and hasattr(body, "markdown") else None


# --- manifest ------------------------------------------------------------------


async def manifest_valid(ctx: Ctx) -> None:
    """The manifest passes the schema and semantic validator."""
    data = ctx.manifest.model_dump(mode="json", by_alias=True, exclude_none=True)
    errors = [f for f in validate_manifest(data) if f.severity == "error"]
    if errors:
        violation(
            f"the {ctx.provider} manifest has {len(errors)} error(s):\n    "
            + "\n    ".join(str(f) for f in errors),
            "fix each finding (`kradle-providers manifest validate <file>` shows them)",
        )


async def manifest_implemented(ctx: Ctx) -> None:
    """Every declared operation is really implemented by the adapter."""
    problems = [str(f) for f in (ctx.installed() if ctx.installed else [])]
    adapter = ctx.raw(await ctx.adapter())
    for iface in ctx.manifest.supported_interfaces():
        for name in ctx.manifest.interface(iface).supported_operations():
            info = OPERATIONS.get(name)
            if info is not None and not is_implemented(adapter, info.method):
                problems.append(
                    f"{name} is declared supported but {type(adapter).__name__}."
                    f"{info.method}() is the protocol's default that raises UnsupportedOperation"
                )
    if problems:
        violation(
            "the adapter does not implement what the manifest declares:\n    "
            + "\n    ".join(dict.fromkeys(problems)),
            "implement each method, or declare the operation `supported: false` with a reason",
        )


async def interface_without_scenarios(ctx: Ctx, interface: str) -> None:
    """A supported interface must declare operations the suite can exercise."""
    violation(
        f"the {interface} interface is declared supported but no contract scenario applies "
        "to it (it declares no operation)",
        f"declare the {interface} operations the provider supports, or set "
        f"`{interface}.supported: false` with a reason",
    )


# --- webhooks ------------------------------------------------------------------


async def webhook_normalizer(ctx: Ctx, event: str) -> None:
    """A declared webhook event has a normalizer."""
    if not has_normalizer(event, ctx.normalizers):
        known = _short(ctx.normalizers) if ctx.normalizers else "none"
        violation(
            f"webhook event {event!r} is declared but no normalizer handles it "
            f"(normalizers: {known})",
            f"add {event!r} (or its family {event.split('.', 1)[0]!r}) to the mapping your "
            "ProviderPlugin.normalizers names",
        )


def _normalize(
    ctx: Ctx, fixture: WebhookFixture, extra_headers: dict[str, str] | None = None
) -> NormalizeResult:
    normalizer = find_normalizer(ctx.normalizers, fixture.event)
    if normalizer is None:
        violation(
            f"no normalizer for fixture event {fixture.event!r}",
            "register a normalizer for every declared event",
        )
    try:
        payload = json.loads(fixture.payload.read_text())
    except (OSError, ValueError) as exc:
        violation(
            f"fixture {fixture.payload} is not readable JSON: {exc}",
            "check the fixture file the harness lists",
        )
    headers = {**fixture.headers, **(extra_headers or {})}
    context = NormalizeContext(
        provider=ProviderRef(type=ctx.provider),
        event=fixture.event,
        delivery_id=fixture.delivery_id or f"contract-{fixture.payload.stem}",
        headers=headers,
    )
    try:
        result = normalizer(context, payload)
    except Exception as exc:
        violation(
            f"the {fixture.event!r} normalizer raised {type(exc).__name__}: {exc} on "
            f"{fixture.payload.name}",
            "a normalizer must never raise: return NormalizeResult(outcome='malformed', "
            "reason=...) for payloads it cannot read",
        )
    if not isinstance(result, NormalizeResult):
        violation(
            f"the {fixture.event!r} normalizer returned {type(result).__name__}",
            "return a kradle_providers.models.NormalizeResult",
        )
    return result


def golden_differences(expected: Any, actual: Any, path: str = "$") -> list[str]:
    """Every difference between a golden and the actual output, one line each."""
    if isinstance(expected, dict) and isinstance(actual, dict):
        out: list[str] = []
        for key in sorted(set(expected) | set(actual), key=str):
            if key not in actual:
                out.append(f"{path}.{key} is missing (golden: {expected[key]!r})")
            elif key not in expected:
                out.append(f"{path}.{key} is new: {actual[key]!r}")
            else:
                out += golden_differences(expected[key], actual[key], f"{path}.{key}")
        return out
    if isinstance(expected, list) and isinstance(actual, list):
        out = [] if len(expected) == len(actual) else [
            f"{path} has {len(actual)} items, golden has {len(expected)}"
        ]  # fmt: skip
        for index, (e, a) in enumerate(zip(expected, actual, strict=False)):
            out += golden_differences(e, a, f"{path}[{index}]")
        return out
    return [] if expected == actual else [f"{path} is {actual!r}, golden has {expected!r}"]


async def webhook_fixtures(ctx: Ctx, event: str, informational: bool) -> None:
    """Every fixture of ``event`` normalizes to valid canonical events matching its golden."""
    fixtures = [f for f in ctx.harness.webhook_fixtures() if f.event == event]
    if not fixtures:
        violation(
            f"webhook event {event!r} is declared but the harness has no fixture for it",
            "add a real payload for it to ContractHarness.webhook_fixtures() (with a golden)",
        )
    for fixture in fixtures:
        result = _normalize(ctx, fixture)
        where = f"{event!r} fixture {fixture.payload.name}"
        if not result.ok:
            violation(
                f"the {where} normalized to outcome {result.outcome.value!r}: {result.reason}",
                "normalize real payloads; 'malformed'/'unknown_event' are for broken input",
            )
        if informational and result.events:
            violation(
                f"the {where} is informational but produced {len(result.events)} sync event(s)",
                "return outcome 'ignored' for informational events",
            )
        if not informational:
            if result.outcome is not NormalizeOutcome.NORMALIZED or not result.events:
                violation(
                    f"the {where} produced no sync event (outcome {result.outcome.value!r})",
                    "return the canonical SyncEvent(s) for the change, or declare the event "
                    "informational in the manifest",
                )
            for sync_event in result.events:
                again = SyncEvent.model_validate_json(sync_event.model_dump_json())
                if again != sync_event:
                    violation(
                        f"a sync event of the {where} does not survive a JSON round trip",
                        "use only canonical model fields (no Python-only values)",
                    )
                if sync_event.provider.type != ctx.provider:
                    violation(
                        f"a sync event of the {where} names provider "
                        f"{sync_event.provider.type!r}, not {ctx.provider!r}",
                        "use context.provider for SyncEvent.provider",
                    )
        actual = result.model_dump(mode="json")
        if fixture.golden is None:
            continue
        golden = golden_path(fixture.golden, ctx.provider)
        if os.environ.get(UPDATE_GOLDENS_ENV) == "1":
            write_golden(golden, actual, ctx.provider)
            continue
        if not golden.exists():
            violation(
                f"golden file {golden} of the {where} does not exist",
                f"run once with {UPDATE_GOLDENS_ENV}=1 and review the written file",
            )
        differences = golden_differences(json.loads(golden.read_text()), actual)
        if differences:
            listed = "".join(f"\n    {d}" for d in differences)
            violation(
                f"the {where} differs from {golden.name} in {len(differences)} place(s):{listed}",
                "fix the normalizer, or if the change is intended re-run with "
                f"{UPDATE_GOLDENS_ENV}=1 and review the diff",
            )


# --- undeclared operations -------------------------------------------------------


async def unsupported(ctx: Ctx, operation: str) -> None:
    """An undeclared operation raises UnsupportedOperation with the manifest's reason,
    and nothing reaches the backend, through the guard and through the adapter itself."""
    reason = ctx.manifest.unsupported_reason(operation)
    adapter = await ctx.adapter()
    before = list(ctx.backend.requests())
    try:
        await call(operation, ctx.guarded(adapter), ctx.scope, dummy_ids())
    except UnsupportedOperation as exc:
        if exc.reason != reason:
            violation(
                f"{operation} was refused with reason {exc.reason!r}, not the manifest's "
                f"{reason!r}",
                "let GuardedAdapter refuse undeclared operations (do not raise your own)",
            )
    else:
        violation(f"{operation} is not declared but the guarded call succeeded", "report a bug")
    raw = ctx.raw(adapter)
    outcome = "returned normally"
    try:
        await call(operation, raw, ctx.scope, dummy_ids())
    except UnsupportedOperation:
        outcome = ""
    except Exception as exc:
        outcome = f"raised {type(exc).__name__}: {exc}"
    sent = list(ctx.backend.requests())[len(before) :]
    if sent or outcome:
        shown = ", ".join(f"{r.method} {r.path}" for r in sent) or "no request"
        violation(
            f"{operation} is not declared in the manifest ({reason}) but "
            f"{type(raw).__name__}.{OPERATIONS[operation].method}() {outcome or 'was refused'} "
            f"and sent {len(sent)} request(s) to the backend ({shown})",
            f"remove {OPERATIONS[operation].method}() from the adapter (the protocol default "
            f"raises UnsupportedOperation), or declare {operation} in the manifest",
        )


# --- listings ----------------------------------------------------------------------


async def _seed_for(ctx: Ctx, listing: Listing, count: int) -> tuple[str | None, list[str]]:
    parent = ctx.seed(listing.parent)[0] if listing.parent else None
    attrs = {listing.parent_attr: parent} if listing.parent_attr and parent else {}
    return parent, ctx.seed(listing.kind, count, **attrs)


async def _pages(
    adapter: ProviderAdapter,
    ctx: Ctx,
    listing: Listing,
    parent: str | None,
    size: int | None,
    since: datetime | None = None,
    between: Callable[[int, list[Any]], None] | None = None,
) -> tuple[list[Any], list[int], datetime | None]:
    items: list[Any] = []
    sizes: list[int] = []
    cursor: str | None = None
    mark: datetime | None = None
    for number in range(MAX_PAGES):
        page = await listing.fetch(adapter, ctx.scope, parent, cursor, size, since)
        items += page.items
        sizes.append(len(page.items))
        mark = page.high_water_mark or mark
        if page.next_cursor is None:
            return items, sizes, mark
        if page.next_cursor == cursor:
            violation(
                f"{listing.operation} returned the same next_cursor twice (page {number + 1})",
                "advance the cursor past the items of the page you returned",
            )
        cursor = page.next_cursor
        if between is not None:
            between(number, items)
    violation(
        f"{listing.operation} did not end after {MAX_PAGES} pages of page_size={size}",
        "return next_cursor=None on the last page",
    )


def _check_complete(
    listing: Listing, seeded: list[str], items: list[Any], size: int | None, situation: str
) -> None:
    seen: dict[str, int] = {}
    for item in items:
        seen[item.external.native_id] = seen.get(item.external.native_id, 0) + 1
    duplicates = [i for i, n in seen.items() if n > 1]
    found = set().union(*(identities(i) for i in items)) if items else set()
    missing = [s for s in seeded if s not in found]
    plural = f"{listing.kind}s"
    if missing:
        violation(
            f"{listing.operation} returned {len(seeded) - len(missing)} of {len(seeded)} seeded "
            f"{plural} with page_size={size}{situation}: missing {_short(missing)}",
            "check that your cursor points just past the last item of the page you returned, "
            "that next_cursor stays set while more items remain (do not drop the last page), "
            "and that page boundaries follow a stable order (by id, not by a changing field)",
        )
    if duplicates:
        violation(
            f"{listing.operation} returned {plural} {_short(duplicates)} more than once with "
            f"page_size={size}{situation}",
            "page by a stable, unique order (id) so an item never appears on two pages",
        )


async def list_pages(ctx: Ctx, listing: Listing) -> None:
    """Tiny pages (1, 2, 3) list every seeded object exactly once, those a provider's
    default filter hides (closed, draft, confidential) included."""
    parent, seeded = await _seed_for(ctx, listing, 7)
    hidden = _seed_hidden(ctx, listing, parent)
    seeded += list(hidden)
    adapter = await ctx.adapter()
    everything, _, _ = await _pages(adapter, ctx, listing, parent, None)
    _check_hidden(ctx, listing, hidden, everything, None)
    _check_complete(listing, seeded, everything, None, "")
    for size in (1, 2, 3):
        items, sizes, _ = await _pages(adapter, ctx, listing, parent, size)
        _check_hidden(ctx, listing, hidden, items, size)
        if max(sizes, default=0) > size:
            violation(
                f"{listing.operation} returned a page of {max(sizes)} items for page_size={size}",
                "pass page_size to the provider (per_page, maxResults, limit...)",
            )
        _check_complete(listing, seeded, items, size, "")
        if {i.external.native_id for i in items} != {i.external.native_id for i in everything}:
            violation(
                f"{listing.operation} with page_size={size} listed other objects than one big "
                "page did",
                "make every page size list the same set of objects",
            )


async def list_while_changing(ctx: Ctx, listing: Listing) -> None:
    """Objects changed from outside between pages are still listed exactly once."""
    reason = limitation(ctx.harness, listing.kind, Limitation.IMMUTABLE)
    if reason is not None:
        not_applicable(f"{ctx.provider} {listing.kind}s cannot change: {reason}")
    parent, seeded = await _seed_for(ctx, listing, 7)
    adapter = await ctx.adapter()

    def change(page: int, _: list[Any]) -> None:
        # one object already listed and one still ahead
        for index in (page, len(seeded) - 1 - page):
            if 0 <= index < len(seeded):
                ctx.backend.change(listing.kind, seeded[index])

    items, _, _ = await _pages(adapter, ctx, listing, parent, 2, between=change)
    _check_complete(listing, seeded, items, 2, " while objects changed between pages")


HIDDEN_BY_DEFAULT: dict[str, tuple[dict[str, Any], ...]] = {
    "Issue": ({"state": "closed"},),
    "PullRequest": ({"state": "closed"},),
}
"""Seeds a provider's default filter hides (closed issues, closed pull requests): a listing
must ask for everything. A harness adds its own (drafts, confidential issues...) in
``hidden_by_default``; see :func:`kradle_providers.testing.harness.hidden_seeds`."""


def _seed_hidden(ctx: Ctx, listing: Listing, parent: str | None) -> dict[str, dict[str, Any]]:
    """Seed the objects of the listing's kind a default filter hides: id -> seed attrs."""
    pattrs = {listing.parent_attr: parent} if listing.parent_attr and parent else {}
    seeded: dict[str, dict[str, Any]] = {}
    for attrs in hidden_seeds(ctx.harness, listing.kind, HIDDEN_BY_DEFAULT):
        for object_id in ctx.seed(listing.kind, 1, **pattrs, **attrs):
            seeded[object_id] = attrs
    return seeded


def _check_hidden(
    ctx: Ctx, listing: Listing, hidden: dict[str, dict[str, Any]], items: list[Any],
    size: int | None,
) -> None:  # fmt: skip
    what = {i: ", ".join(f"{k}={v!r}" for k, v in a.items()) for i, a in hidden.items()}
    missing: list[str] = []
    for object_id, attrs in hidden.items():
        # a numbered object by its number only: a number may be another object's native id
        item = next((i for i in items if i.external.native_number == object_id), None) or next(
            (i for i in items if not i.external.native_number and object_id in identities(i)),
            None,
        )
        if item is None:
            missing.append(f"{object_id} ({what[object_id]})")
        else:  # a seed that ignores its attrs would make this check prove nothing
            shown = comparable_fields(item.model_dump(mode="json"), attrs)
            wrong = [f"{k}={shown[k]!r}" for k, v in attrs.items()
                     if k in shown and shown[k] is not None and shown[k] != v]  # fmt: skip
            if wrong:
                violation(
                    f"the {ctx.provider} harness seeded {listing.kind} {object_id!r} with "
                    f"{what[object_id]}, but {listing.operation} shows it with {', '.join(wrong)}",
                    f"make BackendControl.seed({listing.kind!r}, ...) honour these attributes "
                    "(the suite checks that hidden-by-default objects are listed), or map them "
                    "from the provider's payload",
                )
    if missing:
        violation(
            f"{listing.operation} with page_size={size} did not list the seeded "
            f"{listing.kind}s {', '.join(missing)}: the provider's default filter hid them",
            "ask the provider for every object (state=all, include drafts and confidential "
            "ones) and leave filtering to the host",
        )


def _deletable(ctx: Ctx, kind: str) -> bool:
    return limitation(ctx.harness, kind, Limitation.UNDELETABLE) is None


async def list_while_inserting(ctx: Ctx, listing: Listing) -> None:
    """Objects inserted and deleted between pages: every object that existed throughout is
    listed exactly once (newest-first listings included)."""
    parent, stable = await _seed_for(ctx, listing, 6)
    attrs = {listing.parent_attr: parent} if listing.parent_attr and parent else {}
    doomed = ctx.seed(listing.kind, 3, **attrs) if _deletable(ctx, listing.kind) else []
    adapter = await ctx.adapter()
    inserted: list[str] = []

    def churn(page: int, seen: list[Any]) -> None:
        inserted.extend(ctx.seed(listing.kind, 1, **attrs))
        listed = set().union(*(identities(i) for i in seen)) if seen else set()
        # deleting an object already listed shifts any offset: only the ones still ahead
        ahead = [d for d in doomed if d not in listed]
        if ahead:
            doomed.remove(ahead[0])
            ctx.backend.delete(listing.kind, ahead[0])

    items, _, _ = await _pages(adapter, ctx, listing, parent, 2, between=churn)
    _check_complete(
        listing, stable, items, 2, " while objects were inserted and deleted between pages"
    )


async def list_repository_wide(ctx: Ctx, listing: Listing) -> None:
    """A listing with its parent left out covers every parent, at tiny page sizes too."""
    seeded: list[str] = []
    for _ in range(3):
        parent = ctx.seed(str(listing.parent))[0]
        attrs = {listing.parent_attr: parent} if listing.parent_attr else {}
        seeded += ctx.seed(listing.kind, 2, **attrs)
    adapter = await ctx.adapter()
    # No cap on a page's size here (the per-parent listing has one): a scope-wide listing
    # composed of per-parent pages (GitLab notes, Jira comments embedded in a search) may
    # hand out a parent's page whole rather than spend a request to split it.
    for size in (None, 1, 2, 5):
        items, _, _ = await _pages(adapter, ctx, listing, None, size)
        _check_complete(listing, seeded, items, size, f" across 3 {listing.parent}s")


async def list_incremental(ctx: Ctx, listing: Listing) -> None:
    """Listing ``since`` the high-water mark returns exactly the objects changed after it."""
    parent, seeded = await _seed_for(ctx, listing, 5)
    adapter = await ctx.adapter()
    _, _, mark = await _pages(adapter, ctx, listing, parent, 2)
    if mark is None:
        violation(
            f"{listing.operation} returned no high_water_mark",
            "set Page.high_water_mark (the provider time the listing started, or the largest "
            "updated_at seen) so hosts can list incrementally",
        )
    if limitation(ctx.harness, listing.kind, Limitation.IMMUTABLE) is not None:
        # Nobody changes such objects: what is new after the mark is what was added.
        attrs = {listing.parent_attr: parent} if listing.parent_attr and parent else {}
        changed = ctx.seed(listing.kind, 2, **attrs)
    else:
        changed = [seeded[1], seeded[3]]
        for object_id in changed:
            ctx.backend.change(listing.kind, object_id)
    items, _, _ = await _pages(adapter, ctx, listing, parent, 2, since=mark)
    found = set().union(*(identities(i) for i in items)) if items else set()
    missing = [c for c in changed if c not in found]
    if missing:
        violation(
            f"{listing.operation}(since=<high-water mark>) missed {_short(missing)} changed "
            f"after the mark (returned {len(items)} object(s))",
            "filter by updated_at >= since (inclusive) and return the provider's time of the "
            "listing start as high_water_mark",
        )
    stale = [
        i.external.native_id
        for i in items
        if not (identities(i) & set(changed))
        and i.external.version.updated_at is not None
        and i.external.version.updated_at < mark
    ]
    if stale:
        violation(
            f"{listing.operation}(since=<high-water mark>) also returned {_short(stale)}, "
            "unchanged since before the mark",
            "apply `since` on the provider side (updated_at >= since)",
        )


# --- reads -------------------------------------------------------------------------


async def _read(ctx: Ctx, adapter: ProviderAdapter, kind: str, object_id: str) -> Any:
    """Read one object back through the first declared reader of its kind."""
    for op in READERS.get(kind, ()):
        if not ctx.manifest.supports(op):
            continue
        if op in GETTERS:
            return await GETTERS[op].get(adapter, ctx.scope, object_id)
        listing = LISTINGS[op]
        items, _, _ = await _pages(adapter, ctx, listing, None, None)
        for item in items:
            if object_id in identities(item):
                return item
        violation(
            f"{op} does not list {kind} {object_id!r}",
            f"make {op} list every {kind} the provider has",
        )
    return None


async def get_roundtrip(ctx: Ctx, operation: str) -> None:
    """A seeded object is returned by its get operation with the same identity."""
    getter = GETTERS[operation]
    object_id = ctx.seed(getter.kind)[0]
    adapter = await ctx.adapter()
    obj = await getter.get(adapter, ctx.scope, object_id)
    if getattr(obj, "kind", None) != getter.kind:
        violation(
            f"{operation} returned {type(obj).__name__}, not {getter.kind}",
            f"return the canonical {getter.kind} model",
        )
    if object_id not in identities(obj):
        violation(
            f"{operation}({object_id!r}) returned an object known as {_short(identities(obj))}",
            "fill external.native_id / native_number with the ids get_* accepts",
        )


async def get_missing(ctx: Ctx, operation: str) -> None:
    """A missing object is NotFound, not another error or a default."""
    getter = GETTERS[operation]
    adapter = await ctx.adapter()
    missing = MISSING_IDS[getter.kind]
    try:
        result = await getter.get(adapter, ctx.scope, missing)
    except NotFound:
        return
    except Exception as exc:
        violation(
            f"{operation}({missing!r}) raised {type(exc).__name__}: {exc}",
            "map the provider's 404 to kradle_providers.errors.NotFound",
        )
    violation(
        f"{operation}({missing!r}) returned {type(result).__name__} for an object that "
        "does not exist",
        "raise NotFound when the provider answers 404",
    )


async def _sample(ctx: Ctx, operation: str, **attrs: Any) -> tuple[str, Any, str | None]:
    """Seed one object of the operation's kind and read it back through ``operation``.

    Returns the object's id, the object read and its parent's id (if any).
    """
    adapter = await ctx.adapter()
    if operation in GETTERS:
        getter = GETTERS[operation]
        object_id = ctx.seed(getter.kind, **attrs)[0]
        return object_id, await getter.get(adapter, ctx.scope, object_id), None
    listing = LISTINGS[operation]
    parent = ctx.seed(listing.parent)[0] if listing.parent else None
    pattrs: dict[str, Any] = {listing.parent_attr: parent} if listing.parent_attr and parent else {}
    ids = ctx.seed(listing.kind, 1, **pattrs, **attrs)
    items, _, _ = await _pages(adapter, ctx, listing, parent, None)
    for item in items:
        if ids[0] in identities(item):
            return ids[0], item, parent
    violation(
        f"{operation} does not list the seeded {listing.kind} {ids[0]!r}",
        "make the listing complete",
    )


_VERSION_FIELDS = {
    "updated": "updated_at",
    "modified": "updated_at",
    "etag": "etag",
    "sha": "sha",
    "sequence": "sequence",
    "version": "sequence",
}


def _api_address(ctx: Ctx, url: str | None, api_url: str | None) -> str | None:
    """Why ``url`` (an object's browser link) is an API address, or None if it is not."""
    if not url:
        return None
    if url == api_url:
        return "its api_url"
    config_of = getattr(ctx.harness, "config", None)
    base = getattr(config_of(), "api_base_url", None) if config_of is not None else None
    if not base:
        return None
    parsed = urlsplit(str(base))
    # Only an API with its own host (api.github.com) or path (/api/v4) tells the
    # addresses apart: Jira serves both from the site's root.
    own = parsed.hostname is not None and parsed.hostname.startswith("api.")
    if (own or parsed.path.strip("/")) and url.startswith(str(base).rstrip("/")):
        return f"under the API base URL {base!r}"
    return None


async def envelope(ctx: Ctx, operation: str) -> None:
    """The identity and version fields the manifest names are filled."""
    _, obj, _ = await _sample(ctx, operation)
    identity = ctx.manifest.spec.identity
    ext = obj.external
    missing: list[str] = []
    if not ext.native_id:
        missing.append("native_id")
    numbered = {"number", "iid", "key", "idreadable"}
    if (
        obj.kind in ("Issue", "PullRequest")
        and {f.lower() for f in identity.native_id_fields} & numbered
        and not ext.native_number
    ):
        missing.append(f"native_number (nativeIdFields: {identity.native_id_fields})")
    global_id_field = ctx.manifest.global_id_field(obj.kind)
    if global_id_field and not ext.node_id:
        missing.append(f"node_id (globalIdField: {global_id_field})")
    url_field = ctx.manifest.url_field(obj.kind)
    if url_field and not ext.url:
        missing.append(f"url (urlField: {url_field})")
    for name in ctx.manifest.version_fields(obj.kind):
        attr = next((v for k, v in _VERSION_FIELDS.items() if k in name.lower()), None)
        if attr is None:
            if not any(getattr(ext.version, a) is not None for a in set(_VERSION_FIELDS.values())):
                missing.append(f"version (versionFields: {name})")
        elif getattr(ext.version, attr) is None:
            missing.append(f"version.{attr} (versionFields: {name})")
    api_address = _api_address(ctx, ext.url, ext.api_url)
    if api_address:
        violation(
            f"{operation} returned a {obj.kind} whose browser url {ext.url!r} is {api_address}",
            "set external.url from the provider's browser link (html_url, web_url, self link "
            "of the UI) and keep the REST address in external.api_url",
        )
    if missing:
        violation(
            f"{operation} returned a {obj.kind} whose envelope lacks {', '.join(missing)}",
            "fill these envelope fields from the provider's payload, or correct "
            "spec.identity in the manifest (an object kind with other or no version, global "
            "id or URL fields declares its own `versionFields`, `globalIdField` or `urlField` "
            'in its interface\'s objects; "" for none)',
        )


async def extensions(ctx: Ctx, operation: str) -> None:
    """A provider field the model has no place for is kept in external.extensions."""
    kind = GETTERS[operation].kind if operation in GETTERS else LISTINGS[operation].kind
    reason = limitation(ctx.harness, kind, Limitation.NO_NATIVE_FIELDS)
    if reason is not None:
        not_applicable(f"{ctx.provider} {kind}s have no unmapped provider fields: {reason}")
    adapter = await ctx.adapter()
    object_id, _, parent = await _sample(ctx, operation)
    name, value = "kradle_contract_field", f"kept-{secrets.token_hex(4)}"
    ctx.backend.set_native_field(kind, object_id, name, value)
    if operation in GETTERS:
        obj = await GETTERS[operation].get(adapter, ctx.scope, object_id)
    else:
        listing = LISTINGS[operation]
        items, _, _ = await _pages(adapter, ctx, listing, parent, None)
        obj = next((i for i in items if object_id in identities(i)), None)
        if obj is None:
            violation(f"{operation} lost {kind} {object_id!r}", "make the listing complete")
    fields = obj.external.extensions.fields
    if fields.get(name) != value:
        violation(
            f"{operation} dropped the unmapped provider field {name!r} (extensions.fields "
            f"has {_short(fields)})",
            "put every provider field the canonical model has no place for into "
            "external.extensions.fields; nothing is silently dropped",
        )


async def rich_text(ctx: Ctx, operation: str) -> None:
    """A Markdown body reads back equal, or with warnings saying what was lost."""
    adapter = await ctx.adapter()
    if operation in ("createIssue", "createComment"):
        ids = prepare(operation, ctx)
        created = await call(operation, adapter, ctx.scope, ids, body=RICH_MARKDOWN)
        kind = "Issue" if operation == "createIssue" else "Comment"
        object_id = created.external.native_number or created.external.native_id
        if kind == "Comment":
            items, _, _ = await _pages(adapter, ctx, LISTINGS["listComments"], ids["Issue"], None)
            obj = next((i for i in items if object_id in identities(i)), created)
        else:
            obj = await _read(ctx, adapter, kind, object_id) or created
    else:
        _, obj, _ = await _sample(ctx, operation, body=RICH_MARKDOWN)
    body = getattr(obj, "body", None)
    if body is None:
        violation(
            f"{operation} returned a {obj.kind} without the body it was given",
            "map the provider's body into RichText",
        )
    if not same_markdown(body.markdown, RICH_MARKDOWN) and not body.warnings:
        violation(
            f"{operation}: the Markdown body came back as {body.markdown!r} without warnings "
            f"(sent {RICH_MARKDOWN!r})",
            "convert bodies losslessly, or list what was lost in RichText.warnings",
        )


# --- writes --------------------------------------------------------------------------

_CREATED_KIND = {
    "createIssue": "Issue",
    "createComment": "Comment",
    "createCheck": "Check",
    "createRepository": "Repository",
    "createPullRequest": "PullRequest",
}
_UPDATED_KIND = {
    "updateIssue": "Issue",
    "updateComment": "Comment",
    "updateCheck": "Check",
    "updateRepository": "Repository",
    "updatePullRequest": "PullRequest",
}


async def create_roundtrip(ctx: Ctx, operation: str) -> None:
    """What a create returns is what a read returns afterwards."""
    kind = _CREATED_KIND[operation]
    adapter = await ctx.adapter()
    ids = prepare(operation, ctx)
    title = f"Contract roundtrip {secrets.token_hex(3)}"
    created = await call(operation, adapter, ctx.scope, ids, title=title, body=title)
    if getattr(created, "kind", None) != kind:
        violation(f"{operation} returned {type(created).__name__}", f"return the created {kind}")
    got = _title_of(created)
    expected = title.lower().replace(" ", "-") if kind == "Repository" else title
    if got != expected:
        violation(
            f"{operation} returned a {kind} titled {got!r}, sent {expected!r}",
            "map the provider's answer to the created object",
        )
    object_id = created.external.native_number or created.external.native_id
    if kind == "Repository":
        object_id = created.name
    if kind == "Comment" and ctx.manifest.supports("listComments"):
        items, _, _ = await _pages(adapter, ctx, LISTINGS["listComments"], ids["Issue"], None)
        again = next((i for i in items if object_id in identities(i)), None)
    elif kind == "Check" and ctx.manifest.supports("listChecks"):
        items, _, _ = await _pages(adapter, ctx, LISTINGS["listChecks"], ids["Commit"], None)
        again = next((i for i in items if object_id in identities(i)), None)
    else:
        again = await _read(ctx, adapter, kind, object_id)
    if again is None:
        return  # no declared reader: the returned object was checked above
    if _title_of(again) != got or again.external.native_id != created.external.native_id:
        violation(
            f"after {operation}, reading {kind} {object_id!r} back gave {_title_of(again)!r} "
            f"(id {again.external.native_id}), not {got!r} (id {created.external.native_id})",
            "return the object as the provider stored it, with its native id",
        )


def _written(kind: str, obj: Any, title: str, body: str) -> dict[str, str]:
    """Every field an update of ``kind`` set that ``obj`` does not show: field -> what it shows."""
    wrong: dict[str, str] = {}
    if kind == "Repository":
        if obj.description != title:
            wrong["description"] = repr(obj.description)
        return wrong
    if kind == "Check":
        if obj.name != title:
            wrong["name"] = repr(obj.name)
        if obj.status.state != "succeeded":
            wrong["state"] = repr(obj.status.state.value)
        return wrong
    if kind != "Comment" and _title_of(obj) != title:
        wrong["title"] = repr(_title_of(obj))
    if kind == "Issue" and label_of(title) not in obj.labels:
        wrong["labels"] = repr(obj.labels)
    shown = getattr(obj, "body", None)
    text = shown.markdown if shown is not None else None
    if text is None or not same_markdown(text, body):
        wrong["body"] = repr(text)
    return wrong


async def _read_child(
    ctx: Ctx, adapter: ProviderAdapter, kind: str, ids: dict[str, str], object_id: str
) -> Any:
    """Read a comment or check back through its parent's listing (None: no declared reader)."""
    operation, parent = (
        ("listComments", ids.get("Issue")) if kind == "Comment" else ("listChecks", ids["Commit"])
    )
    if not ctx.manifest.supports(operation):
        return None
    listing = LISTINGS[operation]
    items, _, _ = await _pages(adapter, ctx, listing, parent if kind == "Check" else None, None)
    found = next((i for i in items if object_id in identities(i)), None)
    if found is None:
        violation(
            f"after {kind} {object_id!r} was updated, {operation} no longer lists it",
            f"make {operation} list every {kind}, whatever its state",
        )
    return found


async def update_roundtrip(ctx: Ctx, operation: str) -> None:
    """An update returns and reads back with every field it set (title, body, state...)."""
    kind = _UPDATED_KIND[operation]
    adapter = await ctx.adapter()
    ids = prepare(operation, ctx)
    token = secrets.token_hex(3)
    title, body = f"Contract update {token}", f"Contract body {token}"
    updated = await call(operation, adapter, ctx.scope, ids, title=title, body=body)
    sent = {"Repository": "description", "Check": "name and state", "Comment": "body",
            "Issue": "title, body and labels"}.get(kind, "title and body")  # fmt: skip
    wrong = _written(kind, updated, title, body)
    if wrong:
        violation(
            f"{operation} set {sent} but returned "
            + ", ".join(f"{f}={v}" for f, v in wrong.items()),
            "send every field of the update to the provider and return the object as it is "
            "after the update",
        )
    if kind in ("Comment", "Check"):
        again = await _read_child(ctx, adapter, kind, ids, updated.external.native_id)
    else:
        again = await _read(ctx, adapter, kind, ids[kind])
    if again is None:
        return
    wrong = _written(kind, again, title, body)
    if wrong:
        violation(
            f"{operation} returned success, but {kind} {ids[kind]!r} reads back with "
            + ", ".join(f"{f}={v}" for f, v in wrong.items())
            + f" (it set {sent})",
            "send the update to the provider (not only to the returned model); an update "
            "that changes nothing must not succeed",
        )


ACTION_EFFECTS: dict[str, dict[str, str]] = {
    "cancelPipeline": {"state": "cancelled"},
    "mergePullRequest": {"state": "merged"},
}
"""Effects a state change must show on read-back beyond the catalogue's ``Operation.sets``."""
READBACK_ACTIONS = ("rerunPipeline", "transitionIssue")
"""State changes whose effect depends on the object (a new run, the transition's target)."""


async def _close_reasons(ctx: Ctx, adapter: ProviderAdapter) -> None:
    """Two issues closed with different reasons must not read back with the same one."""
    shown: dict[str, Any] = {}
    for reason in ("completed", "not_planned"):
        issue = ctx.seed("Issue")[0]
        await adapter.close_issue(ctx.scope, issue, reason=reason)
        again = await _read(ctx, adapter, "Issue", issue)
        shown[reason] = again.status.reason if again is not None else None
    if shown["completed"] is not None and shown["completed"] == shown["not_planned"]:
        violation(
            f"closeIssue(reason='not_planned') reads back with reason "
            f"{shown['not_planned']!r}, the same as closeIssue(reason='completed')",
            "send the close reason to the provider (GitHub state_reason, a Jira resolution); "
            "a provider that keeps no reason reads back with reason None",
        )


async def _rerun(ctx: Ctx, adapter: ProviderAdapter, ids: dict[str, str]) -> None:
    rerun = await call("rerunPipeline", adapter, ctx.scope, ids)
    # the same run (a new attempt) or a new one (a rebuild), under an id get_pipeline takes
    same = ids["Pipeline"] in identities(rerun)
    run = ids["Pipeline"] if same else rerun.external.native_number or rerun.external.native_id
    try:
        again = await _read(ctx, adapter, "Pipeline", run)
    except NotFound:
        again = await _read(ctx, adapter, "Pipeline", rerun.external.native_id)
    if again is None:
        not_applicable("no declared operation reads a Pipeline back")
    if again.status.state.finished:
        violation(
            f"rerunPipeline of failed Pipeline {ids['Pipeline']!r} returned success, but run "
            f"{run!r} reads back {again.status.state.value!r}: nothing was queued",
            "ask the provider for a new attempt (rebuild, retry) and return the run it "
            "queued, whose state is queued or running",
        )


async def _transitioned(ctx: Ctx, adapter: ProviderAdapter, ids: dict[str, str]) -> None:
    issue = ids["Issue"]
    transitions = await adapter.list_transitions(ctx.scope, issue)
    before = await _read(ctx, adapter, "Issue", issue)
    moves = [t for t in transitions if before is None or
             t.to_status.native != before.status.native]  # fmt: skip
    if not moves:
        not_applicable(f"Issue {issue!r} offers no transition to another status")
    move = moves[0]
    await adapter.transition_issue(ctx.scope, issue, move.external.native_id)
    again = await _read(ctx, adapter, "Issue", issue)
    if again is None:
        not_applicable("no declared operation reads an Issue back")
    if again.status.native != move.to_status.native:
        violation(
            f"transitionIssue({move.name!r}) returned success, but Issue {issue!r} reads back "
            f"in status {again.status.native!r}, not {move.to_status.native!r}",
            "perform the transition on the provider and report the status it leads to",
        )


async def action_readback(ctx: Ctx, operation: str) -> None:
    """A state change that returns success shows its effect when the object is read back."""
    op = OPERATIONS[operation]
    adapter = await ctx.adapter()
    ids = prepare(operation, ctx)
    if operation == "rerunPipeline":
        return await _rerun(ctx, adapter, ids)
    if operation == "transitionIssue":
        return await _transitioned(ctx, adapter, ids)
    effects = {**op.sets, **ACTION_EFFECTS.get(operation, {})}
    kind = str(op.target)
    undo = {"reopenIssue": "closeIssue"}.get(operation)
    if undo is not None and ctx.manifest.supports(undo):
        await call(undo, adapter, ctx.scope, ids)  # reopen something closed, not a no-op
    await call(operation, adapter, ctx.scope, ids)
    again = await _read(ctx, adapter, kind, ids[kind])
    if again is None:
        not_applicable(f"no declared operation reads a {kind} back")
    # compared as the write-intent engine confirms a write (state lives under status)
    seen = comparable_fields(again.model_dump(mode="json"), effects)
    wrong = [f"{f}={seen[f]!r} (expected {v!r})" for f, v in effects.items() if seen[f] != v]
    if wrong:
        violation(
            f"{operation} returned success, but {kind} {ids[kind]!r} reads back with "
            + ", ".join(wrong),
            f"send the change to the provider and return what it reports; a {operation} "
            "that changes nothing must not succeed",
        )
    if operation == "closeIssue":
        await _close_reasons(ctx, adapter)


async def call_smoke(ctx: Ctx, operation: str) -> None:
    """A representative call of a declared operation works and returns canonical models."""
    ids = prepare(operation, ctx)
    adapter = await ctx.adapter()
    result = await call(operation, adapter, ctx.scope, ids)
    if result is None and operation != "transitionIssue":
        violation(f"{operation} returned None", "return the canonical result")
    expected = OPERATIONS[operation].kind
    items = result.items if hasattr(result, "items") and not isinstance(result, dict) else None
    sample = items if isinstance(items, list) else result if isinstance(result, list) else []
    for obj in sample:
        if getattr(obj, "kind", None) != expected:
            violation(
                f"{operation} returned a {type(obj).__name__} among its items, not {expected}",
                f"return canonical {expected} models",
            )


# --- declarative syncs -----------------------------------------------------------------


def _desired(operation: str, token: str, variant: int) -> tuple[Any, ...]:
    if operation == "syncLabels":
        color = "d73a4a" if variant == 0 else "0e8a16"
        return (
            [
                LabelSpec(name=f"contract-{token}-a", color=color, description="A"),
                LabelSpec(name=f"contract-{token}-b", color="a2eeef", description="B"),
            ],
        )
    if operation == "syncDeployKeys":
        return (
            [
                DeployKeySpec(
                    title=f"contract-{token}-{variant}",
                    key=f"ssh-ed25519 AAAAC3Nza{token}A a@c",
                    read_only=True,
                ),
                DeployKeySpec(title="b", key=f"ssh-ed25519 AAAAC3Nza{token}B b@c"),
            ],
        )
    return (BranchProtectionSpec(required_approving_reviews=1 + variant, enforce_admins=True),)


async def _sync(
    ctx: Ctx, adapter: ProviderAdapter, operation: str, args: tuple[Any, ...], dry_run: bool
) -> SyncResult:
    s = ctx.scope
    if operation == "syncLabels":
        return await adapter.sync_labels(s, args[0], prune=False, dry_run=dry_run)
    if operation == "syncDeployKeys":
        return await adapter.sync_deploy_keys(s, args[0], prune=False, dry_run=dry_run)
    branch = ctx.scratch.get("protected_branch")
    if branch is None:
        branch = ctx.scratch["protected_branch"] = f"contract-{secrets.token_hex(3)}"
        ctx.seed("Ref", name=f"refs/heads/{branch}")
    return await adapter.sync_branch_protection(s, branch, args[0], dry_run=dry_run)


def _plan(result: SyncResult) -> list[tuple[str, str, tuple[str, ...]]]:
    return sorted((c.action.value, c.key, tuple(sorted(c.fields))) for c in result.changes)


_SYNC_READERS = {"syncLabels": "listLabels", "syncDeployKeys": "listDeployKeys",
                 "syncBranchProtection": "getBranchProtection"}  # fmt: skip


def _differs(desired: BaseModel, actual: Any) -> list[str]:
    """The fields ``desired`` sets that ``actual`` shows otherwise (colors compare case-blind)."""
    wrong: list[str] = []
    for name, want in desired.model_dump(exclude_none=True).items():
        have = getattr(actual, name, None)
        if name == "color" and isinstance(have, str) and isinstance(want, str):
            have, want = have.lower().lstrip("#"), want.lower().lstrip("#")
        if name == "key" and isinstance(have, str):
            have, want = " ".join(have.split()[:2]), " ".join(str(want).split()[:2])
        if have != want:
            wrong.append(f"{name}={have!r} (desired {want!r})")
    return wrong


async def _sync_readback(
    ctx: Ctx, adapter: ProviderAdapter, operation: str, args: tuple[Any, ...]
) -> None:
    """After a real sync the provider's state, read through the adapter, is the desired one."""
    reader = _SYNC_READERS[operation]
    if not ctx.manifest.supports(reader):
        return
    problems: list[str] = []
    if operation == "syncBranchProtection":
        got = await GETTERS[reader].get(adapter, ctx.scope, ctx.scratch["protected_branch"])
        problems = _differs(args[0], got)
    else:
        items, _, _ = await _pages(adapter, ctx, LISTINGS[reader], None, None)
        attr = "name" if operation == "syncLabels" else "title"
        for spec in args[0]:
            name = getattr(spec, attr)
            found = next((i for i in items if getattr(i, attr, None) == name), None)
            if found is None:
                problems.append(f"{name!r} is missing")
            else:
                problems += [f"{name!r} has {w}" for w in _differs(spec, found)]
    if problems:
        violation(
            f"{operation} reported success, but {reader} then shows: " + "; ".join(problems),
            "apply every planned change to the provider (create, update each field) and "
            "compare desired and current state field by field",
        )


async def sync_idempotent(ctx: Ctx, operation: str) -> None:
    """A sync makes the desired state the provider's; the same run twice changes nothing."""
    adapter = await ctx.adapter()
    args = _desired(operation, secrets.token_hex(3), 0)
    await _sync(ctx, adapter, operation, args, dry_run=False)
    await _sync_readback(ctx, adapter, operation, args)
    second = await _sync(ctx, adapter, operation, args, dry_run=False)
    changed = [c for c in second.changes if c.action is not PlanAction.UNCHANGED]
    if changed:
        violation(
            f"{operation} run twice with the same desired state planned "
            + ", ".join(f"{c.action.value} {c.key} {c.fields}" for c in changed)
            + " the second time",
            "compare desired and current values the way the provider stores them "
            "(normalize colors, key whitespace, defaults) so a converged state is 'unchanged'",
        )


async def sync_dry_run(ctx: Ctx, operation: str) -> None:
    """A dry run sends no write and plans exactly what the real run then does."""
    adapter = await ctx.adapter()
    token = secrets.token_hex(3)
    await _sync(ctx, adapter, operation, _desired(operation, token, 0), dry_run=False)
    args = _desired(operation, token, 1)
    before = len(ctx.backend.requests())
    planned = await _sync(ctx, adapter, operation, args, dry_run=True)
    writes = [
        r
        for r in ctx.backend.requests()[before:]
        if r.method.upper() in ("POST", "PUT", "PATCH", "DELETE")
    ]
    if writes:
        violation(
            f"{operation}(dry_run=True) sent {len(writes)} write request(s): "
            + ", ".join(f"{r.method} {r.path}" for r in writes),
            "with dry_run=True compute the plan from reads only and send nothing",
        )
    if not planned.dry_run:
        violation(f"{operation}(dry_run=True) returned dry_run=False", "set SyncResult.dry_run")
    real = await _sync(ctx, adapter, operation, args, dry_run=False)
    if _plan(planned) != _plan(real):
        violation(
            f"{operation}: the dry-run plan {_plan(planned)} differs from what the real run "
            f"did {_plan(real)}",
            "compute one plan from the same inputs for both runs, then apply it only when "
            "dry_run is False",
        )


# --- idempotent retries ------------------------------------------------------------------


async def _count_titled(ctx: Ctx, adapter: ProviderAdapter, kind: str, ids: dict[str, str],
                        title: str) -> int | None:  # fmt: skip
    for op in READERS.get(kind, ()):
        if op in LISTINGS and ctx.manifest.supports(op):
            listing = LISTINGS[op]
            parent = ids.get(listing.parent) if listing.parent else None
            items, _, _ = await _pages(adapter, ctx, listing, parent, None)
            wanted = title.lower().replace(" ", "-") if kind == "Repository" else title
            return sum(1 for i in items if _title_of(i) == wanted)
    return None


async def lost_response(ctx: Ctx, operation: str) -> None:
    """A write whose response was lost is retried without duplicating (per idempotency mode)."""
    decl = ctx.manifest.operation(operation)
    mode = decl.idempotency.mode if decl and decl.idempotency else IdempotencyMode.NONE
    adapter = await ctx.adapter()
    ids = prepare(operation, ctx)
    title = f"Contract retry {secrets.token_hex(3)}"
    key = f"kradle-contract-{secrets.token_hex(6)}"
    ctx.backend.inject_fault(Fault.LOST_RESPONSE, method="POST")
    first_error: Exception | None = None
    try:
        await call(operation, adapter, ctx.scope, ids, idempotency_key=key, title=title, body=title)
    except ProviderError as exc:
        first_error = exc
    kind = _CREATED_KIND.get(operation)
    if mode is IdempotencyMode.NONE:
        if first_error is None:
            violation(
                f"{operation} (idempotency mode 'none') reported success although its response "
                "was lost: the adapter re-sent the write, which can duplicate it",
                "do not retry writes whose idempotency mode is 'none'; raise the transport "
                "error (TransientProviderError) and let the host decide",
            )
        return
    if first_error is not None:
        await call(operation, adapter, ctx.scope, ids, idempotency_key=key, title=title, body=title)
    if kind is None:
        return
    count = await _count_titled(ctx, adapter, kind, ids, title)
    if count is not None and count != 1:
        violation(
            f"{operation} with idempotency mode {mode.value!r}: after a lost response and a "
            f"retry with the same idempotency_key there are {count} {kind}s titled {title!r}",
            "send the idempotency key to the provider (native-key) or embed a synthetic key "
            "and look for it before re-sending (synthetic-key); a retry must find the first write",
        )


# --- failures: credentials and rate limits -------------------------------------------------


def probe_operation(ctx: Ctx, interface: str) -> str | None:
    """The read operation used to probe credentials and rate limits for an interface."""
    for name, info in OPERATIONS.items():
        if info.interface.value == interface and not info.write and ctx.manifest.supports(name):
            return name
    return None


async def bad_credential(ctx: Ctx, operation: str) -> None:
    """A refused credential is AuthenticationError."""
    ids = prepare(operation, ctx)
    adapter = await ctx.adapter(credential=f"kradle-wrong-{secrets.token_hex(8)}")
    try:
        await call(operation, adapter, ctx.scope, ids)
    except AuthenticationError:
        return
    except Exception as exc:
        violation(
            f"{operation} with a wrong credential raised {type(exc).__name__}: {exc}",
            "map the provider's 401 to kradle_providers.errors.AuthenticationError",
        )
    violation(
        f"{operation} succeeded with a wrong credential",
        "send the configured credential; the backend refuses any other",
    )


async def rate_limited(ctx: Ctx, operation: str) -> None:
    """A rate-limited backend yields RateLimited, or the adapter waits and succeeds."""
    ids = prepare(operation, ctx)
    adapter = await ctx.adapter()
    ctx.backend.inject_fault(Fault.RATE_LIMIT)
    try:
        await call(operation, adapter, ctx.scope, ids)
    except RateLimited as exc:
        if exc.reset_at is None and exc.retry_after is None:
            violation(
                f"{operation} raised RateLimited without reset_at or retry_after",
                "parse the provider's reset/Retry-After headers into RateLimited",
            )
    except Exception as exc:
        violation(
            f"{operation} on a rate-limited backend raised {type(exc).__name__}: {exc}",
            "map the provider's rate-limit answer (403/429 + headers) to RateLimited, or wait "
            "for the reset and retry",
        )


# --- no leak -------------------------------------------------------------------------------


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.texts: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        try:
            text = record.getMessage()
        except Exception:  # a bad format string must not hide the args
            text = f"{record.msg!r} % {record.args!r}"
        if record.exc_info:
            text += "\n" + "".join(traceback.format_exception(*record.exc_info))
        self.texts.append(text)


@contextlib.contextmanager
def _capture() -> Iterator[tuple[io.StringIO, _Records]]:
    out = io.StringIO()
    handler = _Records()
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
            yield out, handler
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


def _dump(value: Any) -> str:
    parts = [repr(value), str(value)]
    if isinstance(value, BaseModel):
        parts.append(value.model_dump_json())
    items = getattr(value, "items", None)
    if isinstance(items, list):
        parts += [_dump(i) for i in items]
    if isinstance(value, list):
        parts += [_dump(i) for i in value]
    return "\n".join(parts)


def _webhook_headers(ctx: Ctx, fixture: WebhookFixture, secret: str) -> dict[str, str]:
    """Headers of a delivery of ``fixture`` signed with ``secret`` under the plugin's scheme."""
    from kradle_providers.plugins.registry import load_registry

    registry = load_registry()
    spec = registry.webhook_spec(ctx.provider) if ctx.provider in registry else None
    # A token-style header carries the secret itself: what a header-copying normalizer leaks.
    headers = {"x-kradle-webhook-token": secret}
    if spec is not None:
        headers |= spec.headers_for(fixture.payload.read_bytes(), secret, event=fixture.event)
    return headers


async def no_leak(ctx: Ctx) -> None:
    """No canary secret (API token, webhook secret) appears in output, logs, errors or events."""
    canary = ctx.harness.credential
    webhook_canary = f"kradle-webhook-canary-{secrets.token_hex(8)}"
    seen: list[tuple[str, str]] = []
    with _capture() as (out, logs):
        adapter = await ctx.adapter()
        seen.append(("adapter repr", repr(adapter)))
        operations = [
            name
            for iface in ctx.manifest.supported_interfaces()
            for name in ctx.manifest.interface(iface).supported_operations()
            if name in OPERATIONS
        ]
        for operation in operations:
            try:
                result = await call(operation, adapter, ctx.scope, prepare(operation, ctx))
                seen.append((f"{operation} result", _dump(result)))
            except (KradleError, AssertionError) as exc:
                seen.append((f"{operation} error", f"{exc!r} {exc}"))
        reads = [o for o in operations if not OPERATIONS[o].write]
        if reads:
            for credential in (f"{canary}-wrong", None):
                options = {"credential": credential} if credential else {}
                probe = await ctx.adapter(**options)
                if credential is None:
                    ctx.backend.inject_fault(Fault.SERVER_ERROR)
                try:
                    await call(reads[0], probe, ctx.scope, prepare(reads[0], ctx))
                except Exception as exc:
                    text = "".join(traceback.format_exception(exc))
                    seen.append((f"{reads[0]} error", f"{exc!r} {exc} {text}"))
        for fixture in ctx.harness.webhook_fixtures():
            if not has_normalizer(fixture.event, ctx.normalizers):
                continue
            headers = {
                "authorization": f"Bearer {canary}",
                **_webhook_headers(ctx, fixture, webhook_canary),
            }
            result = _normalize(ctx, fixture, headers)
            # what KRADLE_UPDATE_GOLDENS=1 would write for this delivery
            seen.append((f"{fixture.event} normalized event", result.model_dump_json()))
    seen.append(("captured output", out.getvalue()))
    seen += [("log record", text) for text in logs.texts]
    found = [
        f"the {what} appeared in: " + ", ".join(dict.fromkeys(leaks))
        for what, secret in (("credential", canary), ("webhook secret", webhook_canary))
        if (leaks := [where for where, text in seen if secret in text])
    ]
    if found:
        violation(
            "; ".join(found),
            "keep credentials and webhook secrets in kradle_providers.auth.Secret, never put "
            "request or delivery headers, tokens or secrets into models, events, errors or "
            "logs (use redact())",
        )


# --- no leak through every declared credential form -----------------------------------------


def _signing_key() -> str:
    """A fresh PEM private key (an App's signing key), or a random text without cryptography."""
    try:
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import rsa
    except ImportError:  # pragma: no cover - the suite's own environment has it
        return f"-----BEGIN PRIVATE KEY-----\nkradlecanary{secrets.token_hex(24)}\n-----END"
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


def _canary_value(form: Any, resolver: Any, canaries: dict[str, str]) -> Any:
    """A value of ``form`` whose every secret reference resolves to a fresh canary."""
    from kradle_providers.auth.refs import SecretRef

    def ref(name: str) -> SecretRef:
        secret = _signing_key() if "key" in name.lower() else (
            f"kradle-{name}-canary-{secrets.token_hex(8)}"
        )  # fmt: skip
        # a PEM leaks as any of its body lines, not only whole
        canaries[name] = secret.splitlines()[2] if secret.startswith("-----BEGIN") else secret
        reference = SecretRef(name="contract", key=name)
        resolver.put(reference, secret)
        return reference

    value_type = form.value_type
    if value_type is SecretRef:
        return ref(form.key)
    fields: dict[str, Any] = {}
    for name, info in value_type.model_fields.items():
        annotation = str(info.annotation)
        choices = typing.get_args(info.annotation) or (info.annotation,)
        if SecretRef in choices and str not in choices:  # `SecretRef | str`: not secret
            fields[name] = ref(name)
        elif "int" in annotation:
            fields[name] = 1
        else:
            fields[name] = "kradle-contract"
    return value_type(**fields)


async def no_leak_auth_forms(ctx: Ctx) -> None:
    """No secret of any declared credential form (token, password, signing key) appears in
    the credential's or adapter's repr, in errors, logs or results of a call made with it."""
    from kradle_providers.auth.forms import CORE_FORMS, AuthContext
    from kradle_providers.auth.refs import MappingResolver
    from kradle_providers.plugins.registry import load_registry

    config_of = getattr(ctx.harness, "config", None)
    direct = getattr(ctx.harness, "direct_adapter", None)
    registry = load_registry()
    forms = (registry.auth_forms(ctx.provider) if ctx.provider in registry else ()) or CORE_FORMS
    if config_of is None or direct is None:
        # a harness that only takes a token string: the token form, through it
        forms = tuple(f for f in forms if f.key == "token")[:1] or CORE_FORMS[:1]
    reads = [
        name
        for iface in ctx.manifest.supported_interfaces()
        for name in ctx.manifest.interface(iface).supported_operations()
        if name in OPERATIONS and not OPERATIONS[name].write
    ]
    found: list[str] = []
    for form in forms:
        resolver = MappingResolver()
        canaries: dict[str, str] = {}
        value = _canary_value(form, resolver, canaries)
        seen: list[tuple[str, str]] = []
        with _capture() as (out, logs):
            adapter: ProviderAdapter | None = None
            try:
                if config_of is None or direct is None:
                    adapter = await ctx.adapter(credential=(await resolver.resolve(value)).reveal())
                else:
                    base = config_of()
                    auth_ctx = AuthContext(resolver, base.api_base_url, base.transport)
                    built = await form.build(value, auth_ctx)
                    seen.append(("credential repr", f"{built!r} {built}"))
                    adapter = direct(dataclasses.replace(base, auth=built))
            except Exception as exc:
                seen.append(("building error", f"{exc!r} {exc}"))
            if adapter is not None:
                seen.append(("adapter repr", repr(adapter)))
                for operation in reads[:1]:
                    try:
                        result = await call(operation, adapter, ctx.scope, prepare(operation, ctx))
                        seen.append((f"{operation} result", _dump(result)))
                    except Exception as exc:
                        text = "".join(traceback.format_exception(exc))
                        seen.append((f"{operation} error", f"{exc!r} {exc} {text}"))
                with contextlib.suppress(Exception):
                    await adapter.aclose()
        seen.append(("captured output", out.getvalue()))
        seen += [("log record", text) for text in logs.texts]
        for field_name, secret in canaries.items():
            leaks = [where for where, text in seen if secret in text]
            if leaks:
                found.append(
                    f"the {form.key} form's {field_name} appeared in: "
                    + ", ".join(dict.fromkeys(leaks))
                )
    if found:
        violation(
            "; ".join(found),
            "keep every resolved secret (tokens, passwords, private keys) in "
            "kradle_providers.auth.Secret and reveal it only into the request that needs it; "
            "never into reprs, errors, logs or results",
        )
