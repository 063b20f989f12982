"""Live checks of an opened binding: credentials, what they may do, and the targets.

:func:`check_binding` (``kradle-providers sync check --config``) moves every
provider instance the binding uses through its phases (SPEC §7)::

    Pending -> Authenticating -> Discovering -> Ready | Degraded | Failed

- *Authenticating*: the adapter's
  :meth:`~kradle_providers.protocols.adapter.ProviderAdapter.check_credentials`
  (who am I, scopes, rate-limit budget), or, for adapters that cannot tell, a
  one-item read of the binding's target. A refused credential or an address
  that does not answer is ``Failed`` with what to fix.
- *Discovering*: the credential's scopes (when the provider reports them)
  against the ``nativeScopes`` the manifest's operations need for the binding's
  modes and kinds, and the request budget: a missing scope or an exhausted
  budget is ``Degraded`` (it works, partly), with the operations it affects.

Then each bound interface's target (``externalRef``) is read once (a one-item
page of its main listing): a target that does not exist, or that the
credential cannot see, is reported with the fix. With a store, every provider
phase move is recorded (:mod:`kradle_providers.sync.lifecycle`) and
``sync status`` shows the result.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from kradle_providers.errors import (
    AuthenticationError,
    NotFound,
    PermissionDenied,
    ProviderError,
    RateLimited,
    TransientProviderError,
)
from kradle_providers.models.base import ExternalRef, Interface
from kradle_providers.plugins.selection import required_operations
from kradle_providers.protocols.credentials import CredentialReport
from kradle_providers.store.protocol import StateStore
from kradle_providers.sync.lifecycle import PhaseTracker
from kradle_providers.sync.phases import ProviderPhase
from kradle_providers.sync.runtime import KIND_SOURCES, BoundBinding

__all__ = ["BindingCheck", "ProviderCheck", "TargetCheck", "check_binding", "validate_target"]

log = logging.getLogger(__name__)

_P = ProviderPhase

_TARGET_READS: dict[Interface, Callable[[Any, ExternalRef], Awaitable[Any]]] = {
    Interface.ISSUE_TRACKING: lambda a, r: a.list_issues(r, page_size=1),
    Interface.CICD: lambda a, r: a.list_pipelines(r, page_size=1),
    Interface.GIT_FORGE: lambda a, r: a.list_pull_requests(r, page_size=1),
}


@dataclass
class ProviderCheck:
    """How one provider instance of the binding fared."""

    alias: str
    provider: str
    instance: str
    phase: ProviderPhase
    reason: str | None = None
    identity: str | None = None
    kind: str | None = None
    scopes: list[str] = field(default_factory=list)
    missing_scopes: dict[str, list[str]] = field(default_factory=dict)
    budget: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    history: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready (``sync check --json``)."""
        return {**self.__dict__, "phase": self.phase.value}


@dataclass
class TargetCheck:
    """Whether one bound interface's target can be read."""

    interface: Interface
    provider: str
    target: str
    ok: bool
    reason: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {**self.__dict__, "interface": self.interface.value}


@dataclass
class BindingCheck:
    """Every provider and target check of one binding."""

    binding: str
    providers: list[ProviderCheck]
    targets: list[TargetCheck]

    @property
    def ok(self) -> bool:
        """No provider failed and every target can be read (Degraded still works)."""
        return all(p.phase is not _P.FAILED for p in self.providers) and all(
            t.ok for t in self.targets
        )

    @property
    def problems(self) -> list[str]:
        """One line per failed or degraded provider and unreadable target."""
        out = [
            f"{p.alias} ({p.provider}) {p.phase.value}: {p.reason}"
            for p in self.providers
            if p.phase is not _P.READY
        ]
        return out + [
            f"{t.interface.value} {t.target}: {t.reason}" for t in self.targets if not t.ok
        ]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {
            "binding": self.binding,
            "ok": self.ok,
            "providers": [p.to_dict() for p in self.providers],
            "targets": [t.to_dict() for t in self.targets],
        }


def _failure(exc: BaseException, provider: str, address: str) -> tuple[ProviderPhase, str]:
    """The phase and the actionable reason for an error met while authenticating."""
    if isinstance(exc, AuthenticationError):
        status = exc.status or 401
        return _P.FAILED, (
            f"the credential was refused ({status}) by {address}: {exc.message}. Check the "
            f"secret the binding's auth references (expired, revoked or for another {provider} "
            "instance?)"
        )
    if isinstance(exc, RateLimited):
        return _P.DEGRADED, f"rate limited by {address}: {exc}; it recovers at the reset"
    if isinstance(exc, PermissionDenied):
        return _P.DEGRADED, f"the credential may not read its own identity: {exc}"
    if isinstance(exc, TransientProviderError) and exc.status is None:
        return _P.FAILED, (
            f"cannot connect to {address}: {exc.message}. Check apiBaseUrl and that the "
            "service is reachable from here"
        )
    if isinstance(exc, ProviderError):
        return _P.FAILED, f"{address} answered with an error: {exc}"
    return _P.FAILED, f"cannot check {address}: {type(exc).__name__}: {exc}"


def _needed_scopes(bound: BoundBinding, alias: str) -> dict[str, list[str]]:
    """Native scope -> the operations of ``alias``'s interfaces that need it."""
    adapter = bound.adapters[alias]
    manifest = adapter.manifest
    needed: dict[str, list[str]] = {}
    for iface in bound.binding.interfaces:
        spec = bound.binding.interface(iface)
        if spec.provider != alias:
            continue
        ops = list(required_operations(iface, spec.mode))
        kinds = set(bound.kinds(iface))
        for source in KIND_SOURCES[iface]:
            for child in source.children:
                if child.kind in kinds:
                    ops += child.operations
            if source.kind in kinds:
                ops += source.operations
        for op in dict.fromkeys(ops):
            decl = manifest.operation(op)
            if decl is None or not decl.supported:
                continue
            for scope in decl.requires.native_scopes:
                needed.setdefault(scope, []).append(op)
    return needed


async def _check_provider(
    bound: BoundBinding, alias: str, store: StateStore | None
) -> ProviderCheck:
    prov = bound.binding.provider(alias)
    address = prov.api_base_url or f"the default {prov.type} address"
    tracker = PhaseTracker(ProviderPhase, bound.name, alias, store=store)
    result = ProviderCheck(alias, prov.type, bound.binding.instance_name(alias), _P.PENDING)
    await tracker.move(_P.AUTHENTICATING)
    adapter = bound.adapters[alias]
    report: CredentialReport | None = None
    try:
        report = await adapter.check_credentials()
        if report is None:
            # The adapter cannot tell who it is: a read of a target authenticates.
            iface = next(
                i for i in bound.binding.interfaces if bound.binding.provider_alias(i) == alias
            )
            await _TARGET_READS[iface](adapter, bound.binding.interface(iface).external_ref)
    except NotFound:
        pass  # authenticated; the target check reports the missing target
    except Exception as exc:
        phase, reason = _failure(exc, prov.type, address)
        await tracker.move(phase, reason)
        return _done(result, tracker)
    await tracker.move(_P.DISCOVERING)
    problems: list[str] = []
    if prov.webhook_secret is None and adapter.manifest.webhook_events(include_informational=False):
        result.notes.append(
            "no webhookSecret: `sync serve` refuses to take this provider's webhooks; add one"
        )
    if report is not None:
        result.identity, result.kind = report.identity, report.kind
        result.scopes = list(report.scopes)
        result.notes += report.notes
        if report.rate_limit_limit is not None:
            result.budget = {
                "limit": report.rate_limit_limit,
                "remaining": report.rate_limit_remaining,
                "reset_at": report.rate_limit_reset.isoformat()
                if report.rate_limit_reset
                else None,
            }
        if report.native_scopes is not None:
            needed = _needed_scopes(bound, alias)
            result.missing_scopes = {
                s: ops for s, ops in needed.items() if s not in report.native_scopes
            }
            for scope, ops in result.missing_scopes.items():
                problems.append(
                    f"the credential lacks {scope}, which {', '.join(ops)} need; grant it, or "
                    "bind in a mode that does not need them"
                )
        if report.rate_limit_remaining == 0:
            when = report.rate_limit_reset.isoformat() if report.rate_limit_reset else "the reset"
            problems.append(f"the request budget is exhausted until {when}")
    if problems:
        await tracker.move(_P.DEGRADED, "; ".join(problems))
    else:
        who = f" as {report.identity}" if report is not None and report.identity else ""
        await tracker.move(_P.READY, f"authenticated{who}")
    return _done(result, tracker)


def _done(result: ProviderCheck, tracker: PhaseTracker[ProviderPhase]) -> ProviderCheck:
    result.phase, result.reason = tracker.phase, tracker.reason
    result.history = [p.value for p in tracker.history]
    log.info(
        "provider %s %s: %s",
        result.alias,
        result.phase.value,
        result.reason,
        extra={
            "binding": tracker.binding,
            "provider": result.provider,
            "instance": result.instance,
            "phase": result.phase.value,
        },
    )
    return result


async def validate_target(bound: BoundBinding, interface: Interface) -> TargetCheck:
    """Read one item of ``interface``'s target: can the credential see it?"""
    spec = bound.binding.interface(interface)
    prov = bound.binding.provider(spec.provider)
    slug = spec.external_ref.slug()
    try:
        await _TARGET_READS[interface](bound.adapter_for(interface), spec.external_ref)
    except NotFound as exc:
        return TargetCheck(
            interface, prov.type, slug, False,
            f"{slug} does not exist on {prov.type}, or the credential cannot see it ({exc}); "
            f"check spec.interfaces.{interface.value}.externalRef and the credential's access",
        )  # fmt: skip
    except Exception as exc:
        _, reason = _failure(exc, prov.type, prov.api_base_url or prov.type)
        return TargetCheck(interface, prov.type, slug, False, reason)
    return TargetCheck(interface, prov.type, slug, True)


async def check_binding(bound: BoundBinding, *, store: StateStore | None = None) -> BindingCheck:
    """Check every provider instance the binding uses, then every bound target."""
    providers = [await _check_provider(bound, alias, store) for alias in bound.adapters]
    failed = {p.alias for p in providers if p.phase is _P.FAILED}
    targets = []
    for iface in bound.binding.interfaces:
        alias = bound.binding.provider_alias(iface)
        if alias in failed:
            spec = bound.binding.interface(iface)
            targets.append(
                TargetCheck(
                    iface,
                    spec.provider,
                    spec.external_ref.slug(),
                    False,
                    f"not checked: provider {alias} failed",
                )
            )
            continue
        targets.append(await validate_target(bound, iface))
    return BindingCheck(bound.name, providers, targets)
