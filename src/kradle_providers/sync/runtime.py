"""A binding opened for work: resolved credentials, one adapter per provider instance.

:meth:`BoundBinding.open` validates a :class:`~kradle_providers.sync.binding.Binding`
against the installed manifests, resolves its secret references through a
resolver (default: environment, then files; a host passes its own), builds the
auth schemes, and creates one guarded adapter per provider alias (shared by the
interfaces that use it).

It also knows, per interface, which canonical kinds a backfill lists and how:
:data:`KIND_SOURCES` maps each kind to the list operation (and arguments) that
yields it, with children hydrated per parent (jobs and artifacts of a pipeline;
reviews of a pull request; the head commit of a ref). Checks are listed per
commit, so the Check listing walks every head commit a client can know (of
pipeline runs, refs and pull requests, deduplicated) and lists the checks of
each. Only what the provider's manifest supports is used.

Commits have no listing operation (only ``getCommit``): Commit is a hydration
kind, read one by one from the head of every ref, and is backfilled only when
a binding asks for it explicitly (it is not in :func:`default_kinds`).
"""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from typing import TYPE_CHECKING, Any

from kradle_providers.auth.forms import AuthContext
from kradle_providers.auth.refs import SecretRef, SecretResolver, default_resolver
from kradle_providers.auth.secret import Secret
from kradle_providers.errors import NotFound
from kradle_providers.http.fanout import bounded_gather
from kradle_providers.manifest.model import Manifest
from kradle_providers.models.base import CanonicalObject, ExternalRef, Interface
from kradle_providers.plugins.spec import ProviderConfig
from kradle_providers.protocols.catalogue import Call, Effect, Operation, Shape, operations_of
from kradle_providers.protocols.page import Page, decode_cursor, encode_cursor
from kradle_providers.sync.binding import (
    Binding,
    InterfaceSpec,
    ValidatedBinding,
    provider_auth_forms,
)

if TYPE_CHECKING:
    import httpx

    from kradle_providers.http.audit import AuditHook
    from kradle_providers.http.conditional import ValidatorBackend
    from kradle_providers.plugins.guard import GuardedAdapter
    from kradle_providers.plugins.registry import Registry
    from kradle_providers.webhooks.receiver import WebhookEndpoint

__all__ = [
    "CHECK_HEAD_SOURCES",
    "KIND_SOURCES",
    "BoundBinding",
    "ChildSource",
    "KindSource",
    "ProviderOverride",
    "StreamPlan",
    "default_kinds",
]

Fetch = Callable[["GuardedAdapter", ExternalRef, str | None, datetime | None], Awaitable[Page[Any]]]
"""``fetch(adapter, ref, cursor, since)`` -> one page of a top-level listing."""

ChildFetch = Callable[
    ["GuardedAdapter", ExternalRef, CanonicalObject, str | None], Awaitable[Page[Any]]
]
"""``fetch(adapter, ref, parent, cursor)`` -> one page of a parent's children."""


@dataclass(frozen=True)
class ChildSource:
    """A kind listed per parent object while its parent's page is hydrated.

    ``key`` picks the parent attribute children are listed for (pipelines by id,
    commits by sha); parents with the same key in one page are listed once.
    ``listed`` is false for a kind no operation lists (it is read one object at
    a time from its parents, so it holds only what the parents point at): such
    a kind is backfilled only when a binding asks for it explicitly.
    """

    kind: str
    operations: tuple[str, ...]
    fetch: ChildFetch
    key: Callable[[CanonicalObject], str | None]
    listed: bool = True


@dataclass(frozen=True)
class KindSource:
    """How a backfill lists one top-level canonical kind."""

    kind: str
    operations: tuple[str, ...]
    fetch: Fetch
    incremental: bool = False
    children: tuple[ChildSource, ...] = ()


def _single(obj: CanonicalObject | None) -> Page[Any]:
    return Page(items=[obj] if obj is not None else [])


def _native_id(obj: CanonicalObject) -> str | None:
    return obj.external.native_id


def _number(obj: CanonicalObject) -> str | None:
    return obj.external.native_number or obj.external.native_id


def _sha(obj: CanonicalObject) -> str | None:
    sha = getattr(obj, "sha", None)
    return sha if isinstance(sha, str) and sha else None


async def _repository(a: GuardedAdapter, r: ExternalRef, c: str | None, s: Any) -> Page[Any]:
    return _single(await a.get_repository(r))


async def _branch_protection(a: GuardedAdapter, r: ExternalRef, c: str | None, s: Any) -> Page[Any]:
    # The default branch's protection; an unprotected branch has none.
    repo = await a.get_repository(r)
    if not repo.default_branch:
        return Page(items=[])
    try:
        return _single(await a.get_branch_protection(r, repo.default_branch))
    except NotFound:
        return Page(items=[])


def _head_sha(obj: CanonicalObject) -> str | None:
    sha = getattr(obj, "head_sha", None)
    return sha if isinstance(sha, str) and sha else None


HeadFetch = Callable[["GuardedAdapter", ExternalRef, str | None], Awaitable[Page[Any]]]

CHECK_HEAD_SOURCES: tuple[tuple[str, HeadFetch, Callable[[CanonicalObject], str | None]], ...] = (
    ("listPipelines", lambda a, r, c: a.list_pipelines(r, cursor=c), _sha),
    ("listRefs", lambda a, r, c: a.list_refs(r, cursor=c), _sha),
    ("listPullRequests", lambda a, r, c: a.list_pull_requests(r, cursor=c), _head_sha),
)
"""Where the Check listing finds commits: ``(operation, fetch page, head sha of an item)``."""

_CHECK_SEEN_CAP = 1000
"""How many listed shas a Check cursor remembers (older ones may be listed again: harmless)."""


def _next_head_source(a: GuardedAdapter, index: int) -> int:
    """The first head source from ``index`` on that the provider supports (or the end)."""
    while index < len(CHECK_HEAD_SOURCES) and not a.supports(CHECK_HEAD_SOURCES[index][0]):
        index += 1
    return index


async def _checks_of(a: GuardedAdapter, r: ExternalRef, sha: str) -> list[Any]:
    out: list[Any] = []
    cursor: str | None = None
    while True:
        try:
            page = await a.list_checks(r, sha, cursor=cursor)
        except NotFound:
            return out  # the commit is gone since its head was listed
        out += page.items
        if page.next_cursor is None:
            return out
        cursor = page.next_cursor


async def _checks(a: GuardedAdapter, r: ExternalRef, c: str | None, s: Any) -> Page[Any]:
    """One page of checks: the checks of the new head shas in one page of heads.

    The cursor records which head source is walked, its own cursor, and the
    shas already listed in this run (so a sha that is the head of a run, a
    branch and a pull request is listed once). Sources the provider does not
    support are skipped.
    """
    state: dict[str, Any] = decode_cursor(c) if c is not None else {}
    inner = state.get("inner")
    seen: list[str] = [x for x in state.get("seen") or [] if isinstance(x, str)]
    index = _next_head_source(a, int(state.get("src", 0)))
    if index >= len(CHECK_HEAD_SOURCES):
        return Page(items=[])
    _, fetch_heads, head_of = CHECK_HEAD_SOURCES[index]
    heads = await fetch_heads(a, r, inner if isinstance(inner, str) else None)
    known = set(seen)
    shas: list[str] = []
    for head in heads.items:
        sha = head_of(head)
        if sha and sha not in known:
            known.add(sha)
            seen.append(sha)
            shas.append(sha)
    found = await bounded_gather([partial(_checks_of, a, r, sha) for sha in shas])
    items: list[Any] = [check for checks in found for check in checks]
    if heads.next_cursor is None:
        index, inner = _next_head_source(a, index + 1), None
        if index >= len(CHECK_HEAD_SOURCES):
            return Page(items=items)
    else:
        inner = heads.next_cursor
    return Page(
        items=items,
        next_cursor=encode_cursor({"src": index, "inner": inner, "seen": seen[-_CHECK_SEEN_CAP:]}),
    )


async def _commit(
    a: GuardedAdapter, r: ExternalRef, parent: CanonicalObject, c: str | None
) -> Page[Any]:
    sha = _sha(parent)
    return _single(await a.get_commit(r, sha)) if sha else Page(items=[])


def _top_level(op: Operation) -> Fetch:
    def fetch(a: GuardedAdapter, r: ExternalRef, c: str | None, s: Any) -> Awaitable[Page[Any]]:
        since: datetime | None = s if op.incremental else None
        result: Awaitable[Page[Any]] = op.invoke(a, Call(r, cursor=c, since=since))
        return result

    return fetch


def _per_parent(op: Operation, key: Callable[[CanonicalObject], str | None]) -> ChildFetch:
    def fetch(
        a: GuardedAdapter, r: ExternalRef, p: CanonicalObject, c: str | None
    ) -> Awaitable[Page[Any]]:
        result: Awaitable[Page[Any]] = op.invoke(a, Call(r, id=key(p) or "", cursor=c))
        return result

    return fetch


_PARENT_KEYS: Mapping[str, Callable[[CanonicalObject], str | None]] = {
    "Pipeline": _native_id,
    "Commit": _sha,
}
"""How a parent is addressed when its children are listed (default: number, else native id)."""

_OWN_SOURCES: Mapping[str, KindSource] = {
    # The binding's own repository, not every repository of its owner.
    "Repository": KindSource("Repository", ("getRepository",), _repository),
    # Checks are listed per commit: walk the head commits clients can know.
    "Check": KindSource("Check", ("listChecks",), _checks),
}
"""Kinds a backfill reads otherwise than through their plain listing."""

_HYDRATED: Mapping[str, tuple[ChildSource, ...]] = {
    "Ref": (ChildSource("Commit", ("getCommit",), _commit, _sha, listed=False),),
}
"""Kinds no operation lists, read one by one from each parent."""

_TRAILING: Mapping[Interface, tuple[KindSource, ...]] = {
    Interface.GIT_FORGE: (
        KindSource(
            "BranchProtection", ("getRepository", "getBranchProtection"), _branch_protection
        ),
    ),
}
"""Kinds read one object at a time after the listings (the default branch's protection)."""


def _kind_sources(interface: Interface) -> tuple[KindSource, ...]:
    """The interface's backfill sources, derived from the catalogue's listings."""
    listings = [
        op for op in operations_of(interface) if op.effect is Effect.READ and op.shape is Shape.PAGE
    ]
    sources: list[KindSource] = []
    for op in listings:
        if op.kind in _OWN_SOURCES:
            sources.append(_OWN_SOURCES[op.kind])
        elif op.needs_id:
            continue  # a child listing: hydrated under its parent below
        else:
            children = tuple(
                ChildSource(
                    child.kind,
                    (child.name,),
                    _per_parent(child, _PARENT_KEYS.get(op.kind, _number)),
                    _PARENT_KEYS.get(op.kind, _number),
                )
                for child in listings
                if child.needs_id and child.parent == op.kind and child.kind not in _OWN_SOURCES
            )
            sources.append(
                KindSource(
                    op.kind,
                    (op.name,),
                    _top_level(op),
                    incremental=op.incremental,
                    children=children + _HYDRATED.get(op.kind, ()),
                )
            )
    return tuple(sources) + _TRAILING.get(interface, ())


KIND_SOURCES: Mapping[Interface, tuple[KindSource, ...]] = {
    interface: _kind_sources(interface) for interface in Interface
}
"""Per interface, every top-level kind a backfill can list, in backfill order."""


def _declares(manifest: Manifest, interface: Interface, kind: str) -> bool:
    declared = {o.kind for o in manifest.interface(interface).object_entries()}
    # A manifest that declares no objects is taken at its operations' word.
    return not declared or kind in declared


def _supported(manifest: Manifest, interface: Interface, kind: str, ops: Sequence[str]) -> bool:
    return _declares(manifest, interface, kind) and all(manifest.supports(op) for op in ops)


def default_kinds(
    manifest: Manifest, interface: Interface | str, *, unlisted: bool = False
) -> tuple[str, ...]:
    """Every kind of ``interface`` the provider can list (top-level and hydrated children).

    Kinds no operation lists (Commit: read one by one from ref heads) are left
    out unless ``unlisted`` is true: a binding backfills them only when it asks
    for them explicitly (``kinds: [..., Commit]``), and then gets the head
    commit of every ref, not the history.
    """
    iface = Interface(interface)
    if not manifest.interface(iface).supported:
        return ()
    kinds: list[str] = []
    for source in KIND_SOURCES[iface]:
        if not _supported(manifest, iface, source.kind, source.operations):
            continue
        kinds.append(source.kind)
        kinds += [
            child.kind
            for child in source.children
            if (child.listed or unlisted)
            and _supported(manifest, iface, child.kind, child.operations)
        ]
    return tuple(kinds)


@dataclass(frozen=True)
class StreamPlan:
    """One backfill stream: a top-level source in one interface, and what to keep of it.

    ``apply_parent`` is false when only the children were asked for (the
    parents are still listed to find them).
    """

    interface: Interface
    source: KindSource
    apply_parent: bool
    children: tuple[ChildSource, ...]
    ref: ExternalRef
    alias: str
    spec: InterfaceSpec

    @property
    def kind(self) -> str:
        """The top-level kind (the stream's key in the state store)."""
        return self.source.kind

    @property
    def kinds(self) -> tuple[str, ...]:
        """Every kind this stream applies."""
        own = (self.source.kind,) if self.apply_parent else ()
        return own + tuple(c.kind for c in self.children)


@dataclass(frozen=True)
class ProviderOverride:
    """What a host (or a test) adds to one provider instance's config.

    ``options`` are merged over the binding's; ``transport`` routes HTTP (an
    in-process emulator); ``auth`` replaces the credential built from the binding.
    """

    options: Mapping[str, Any] = field(default_factory=dict)
    transport: httpx.AsyncBaseTransport | None = None
    auth: Any = None


class BoundBinding:
    """A validated binding with its adapters; close it with :meth:`aclose` (or ``async with``)."""

    def __init__(
        self,
        binding: Binding,
        validated: ValidatedBinding,
        adapters: Mapping[str, GuardedAdapter],
        webhook_secrets: Mapping[str, tuple[Secret | None, Secret | None]],
    ) -> None:
        self.binding = binding
        self.validated = validated
        self.adapters: dict[str, GuardedAdapter] = dict(adapters)
        self._webhook_secrets = dict(webhook_secrets)

    @property
    def name(self) -> str:
        """The binding's name."""
        return self.binding.name

    @classmethod
    async def open(
        cls,
        binding: Binding,
        *,
        registry: Registry | None = None,
        resolver: SecretResolver | None = None,
        overrides: Mapping[str, ProviderOverride] | None = None,
    ) -> BoundBinding:
        """Validate ``binding``, resolve its secrets and create its adapters.

        Raises :class:`~kradle_providers.plugins.selection.BindingRefused` when the
        installed plugins cannot serve it, and
        :class:`~kradle_providers.auth.SecretNotFound` when a reference does not resolve.
        """
        from kradle_providers.plugins.registry import load_registry

        reg = registry if registry is not None else load_registry()
        validated = binding.validate_against(reg)
        res = resolver if resolver is not None else default_resolver()
        extra = overrides or {}
        adapters: dict[str, GuardedAdapter] = {}
        secrets: dict[str, tuple[Secret | None, Secret | None]] = {}
        used = {binding.provider_alias(i) for i in binding.interfaces}
        try:
            for alias, prov in binding.spec.providers.items():
                current = await _resolve_opt(res, prov.webhook_secret)
                previous = await _resolve_opt(res, prov.previous_webhook_secret)
                secrets[alias] = (current, previous)
                if alias not in used:
                    continue
                override = extra.get(alias, ProviderOverride())
                auth = override.auth
                if auth is None:
                    auth = await _build_auth(
                        reg, prov.type, prov.auth, res, prov.api_base_url, override
                    )
                config = ProviderConfig(
                    instance=binding.instance_name(alias),
                    api_base_url=prov.api_base_url,
                    auth=auth,
                    webhook_secret=current,
                    options={**prov.options, **override.options},
                    transport=override.transport,
                )
                adapters[alias] = reg.create_adapter(prov.type, config)
        except BaseException:
            for adapter in adapters.values():
                with contextlib.suppress(Exception):
                    await adapter.aclose()
            raise
        return cls(binding, validated, adapters, secrets)

    async def aclose(self) -> None:
        """Close every adapter."""
        for adapter in self.adapters.values():
            with contextlib.suppress(Exception):
                await adapter.aclose()

    async def __aenter__(self) -> BoundBinding:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    def adapter_for(self, interface: Interface | str) -> GuardedAdapter:
        """The adapter serving ``interface``."""
        return self.adapters[self.binding.provider_alias(interface)]

    def kinds(self, interface: Interface | str) -> tuple[str, ...]:
        """The kinds backfilled for ``interface`` (the binding's list, else all listable)."""
        return self.validated.kinds.get(Interface(interface), ())

    def streams(self, interface: Interface | str | None = None) -> list[StreamPlan]:
        """The backfill streams of one interface (or all), in backfill order."""
        ifaces = [Interface(interface)] if interface is not None else self.binding.interfaces
        plans: list[StreamPlan] = []
        for iface in ifaces:
            spec = self.binding.interface(iface)
            wanted = set(self.kinds(iface))
            for source in KIND_SOURCES[iface]:
                children = tuple(c for c in source.children if c.kind in wanted)
                if source.kind not in wanted and not children:
                    continue
                plans.append(
                    StreamPlan(
                        interface=iface,
                        source=source,
                        apply_parent=source.kind in wanted,
                        children=children,
                        ref=spec.external_ref,
                        alias=spec.provider,
                        spec=spec,
                    )
                )
        return plans

    def routes(self) -> dict[tuple[str, str], set[Interface]]:
        """``(provider type, instance)`` -> the interfaces it serves in this binding."""
        out: dict[tuple[str, str], set[Interface]] = {}
        for iface in self.binding.interfaces:
            alias, prov = self.binding.provider_of(iface)
            out.setdefault((prov.type, self.binding.instance_name(alias)), set()).add(iface)
        return out

    def scopes(self) -> dict[Interface, ExternalRef]:
        """Interface -> the external target it syncs: changes outside it are never projected."""
        return {i: self.binding.interface(i).external_ref for i in self.binding.interfaces}

    def webhook_endpoints(self) -> list[WebhookEndpoint]:
        """One receiver endpoint per provider instance, with its (rotating) webhook secrets."""
        from kradle_providers.webhooks.receiver import WebhookEndpoint

        endpoints = []
        for alias, prov in self.binding.spec.providers.items():
            current, previous = self._webhook_secrets.get(alias, (None, None))
            endpoints.append(
                WebhookEndpoint(
                    provider=prov.type,
                    instance=self.binding.instance_name(alias),
                    secret=current,
                    previous_secret=previous,
                )
            )
        return endpoints

    def add_audit_hook(self, hook: AuditHook) -> list[str]:
        """Give ``hook`` every HTTP attempt's audit record of every adapter (no secrets).

        Returns the aliases whose adapters expose an HTTP client (the others
        make no HTTP calls to audit).
        """
        hooked = []
        for alias, adapter in self.adapters.items():
            client = _http_client(adapter.adapter)
            if client is not None and hasattr(client, "audit_hooks"):
                client.audit_hooks.append(hook)
                hooked.append(alias)
        return hooked

    def share_validators_with(self, backend: ValidatorBackend | None) -> list[str]:
        """Keep every adapter's conditional-GET validators in ``backend`` (the store's).

        A later process then revalidates what this one read (a 304 the vendor
        does not bill costs no budget) instead of reading it again. Returns the
        aliases whose adapters expose an HTTP client.
        """
        shared = []
        for alias, adapter in self.adapters.items():
            client = _http_client(adapter.adapter)
            if client is not None and callable(getattr(client, "share_validators_with", None)):
                client.share_validators_with(backend)
                shared.append(alias)
        return shared

    def budget_snapshots(self) -> dict[str, list[dict[str, Any]]]:
        """Rate-limit budgets of every adapter that exposes its HTTP client (alias -> scopes)."""
        out: dict[str, list[dict[str, Any]]] = {}
        for alias, adapter in self.adapters.items():
            client = _http_client(adapter.adapter)
            if client is None:
                continue
            snaps = client.budget_snapshot()
            out[alias] = [
                {
                    "scope": s.scope,
                    "limit": s.limit,
                    "remaining": s.remaining,
                    "reset_at": s.reset_at.isoformat() if s.reset_at else None,
                }
                for s in snaps
            ]
        return out


def _http_client(adapter: object) -> Any:
    for name in ("http", "client", "_http", "_client"):
        candidate = getattr(adapter, name, None)
        if candidate is not None and callable(getattr(candidate, "budget_snapshot", None)):
            return candidate
    return None


async def _resolve_opt(resolver: SecretResolver, ref: SecretRef | None) -> Secret | None:
    return await resolver.resolve(ref) if ref is not None else None


async def _build_auth(
    registry: Registry,
    provider_type: str,
    auth: Mapping[str, Any] | None,
    resolver: SecretResolver,
    api_base_url: str | None,
    override: ProviderOverride,
) -> Any:
    """The credential for an adapter config, built by the binding's credential form."""
    if not auth:
        return None
    [(key, value)] = auth.items()
    forms = {f.key: f for f in provider_auth_forms(registry.auth_forms(provider_type))}
    form = forms[key]  # validate_against refused unknown forms before this runs
    context = AuthContext(resolver, api_base_url=api_base_url, transport=override.transport)
    return await form.build(form.parse(value), context)
