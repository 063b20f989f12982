"""Capability-driven binding selection (SPEC §6).

A binding connects a host target to provider instances, one per interface,
each with a :class:`BindingMode`. Selection refuses, before anything is synced,
an interface the provider does not support, a mode whose operations the
provider lacks (naming them, with the manifest's reasons), and a binding that
spans organizations unless the host admits it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum

from kradle_providers.errors import KradleError
from kradle_providers.manifest.model import Manifest
from kradle_providers.models.base import ExternalRef, Interface

__all__ = [
    "READ_OPERATIONS",
    "WRITE_OPERATIONS",
    "BindingMode",
    "BindingRefused",
    "InterfaceBinding",
    "check_binding_interface",
    "required_operations",
    "select",
    "select_binding",
]


class BindingMode(StrEnum):
    """Who owns the data of one bound interface, and which way writes flow."""

    READ_ONLY = "read-only"
    EXTERNAL_OWNED = "external-owned"
    BIDIRECTIONAL = "bidirectional"
    WRITE_THROUGH = "write-through"
    REVIEWED_WRITE = "reviewed-write"
    KRADLE_OWNED = "kradle-owned"

    @property
    def writes(self) -> bool:
        """Whether the mode sends writes to the provider."""
        return self not in (BindingMode.READ_ONLY, BindingMode.EXTERNAL_OWNED)


READ_OPERATIONS: Mapping[Interface, tuple[str, ...]] = {
    Interface.ISSUE_TRACKING: ("listIssues", "listComments"),
    Interface.CICD: ("listPipelines", "listJobs"),
    Interface.GIT_FORGE: ("listPullRequests", "listRefs"),
}
"""The listings every binding mode needs to backfill and reconcile an interface."""

WRITE_OPERATIONS: Mapping[Interface, tuple[str, ...]] = {
    Interface.ISSUE_TRACKING: ("createIssue", "updateIssue", "createComment"),
    Interface.CICD: ("rerunPipeline", "cancelPipeline"),
    Interface.GIT_FORGE: ("createPullRequest", "updatePullRequest"),
}
"""The minimal writes a writing mode needs, on top of :data:`READ_OPERATIONS`."""


class BindingRefused(KradleError):
    """A binding cannot be made with this provider; ``problems`` says why, ``missing`` lists
    the operations it lacks."""

    def __init__(
        self,
        message: str,
        *,
        provider: str | None = None,
        interface: Interface | None = None,
        mode: BindingMode | None = None,
        missing: Iterable[str] = (),
        problems: Iterable[str] = (),
    ) -> None:
        self.provider = provider
        self.interface = interface
        self.mode = mode
        self.missing = list(missing)
        self.problems = list(problems)
        super().__init__(message)


def _mode(mode: BindingMode | str) -> BindingMode:
    try:
        return BindingMode(mode)
    except ValueError:
        allowed = ", ".join(m.value for m in BindingMode)
        raise BindingRefused(
            f"unknown binding mode {mode!r}; use one of: {allowed}",
            problems=[f"unknown binding mode {mode!r}"],
        ) from None


def required_operations(interface: Interface, mode: BindingMode | str) -> tuple[str, ...]:
    """The canonical operations a binding of ``interface`` in ``mode`` needs."""
    reads = READ_OPERATIONS[interface]
    return reads + WRITE_OPERATIONS[interface] if _mode(mode).writes else reads


def _missing(manifest: Manifest, interface: Interface, mode: BindingMode) -> list[str]:
    return [op for op in required_operations(interface, mode) if not manifest.supports(op)]


def check_binding_interface(
    manifest: Manifest, interface: Interface | str, mode: BindingMode | str
) -> list[str]:
    """Every reason a binding of ``interface`` in ``mode`` to this provider is refused.

    An empty list means the binding may be made.
    """
    iface = Interface(interface)
    bmode = _mode(mode)
    provider = manifest.provider_type
    spec = manifest.interface(iface)
    if not spec.supported:
        return [
            f"{provider} does not support the {iface.value} interface: "
            f"{manifest.unsupported_reason(READ_OPERATIONS[iface][0])}; "
            f"bind {iface.value} to another provider"
        ]
    return [
        f"{provider} lacks {op}, which {bmode.value} mode needs for {iface.value}: "
        f"{manifest.unsupported_reason(op)}"
        + (
            "; choose read-only or external-owned"
            if bmode.writes and op not in READ_OPERATIONS[iface]
            else ""
        )
        for op in _missing(manifest, iface, bmode)
    ]


def select(manifest: Manifest, interface: Interface | str, mode: BindingMode | str) -> BindingMode:
    """Accept the binding (returning its mode) or raise :class:`BindingRefused`."""
    iface = Interface(interface)
    bmode = _mode(mode)
    problems = check_binding_interface(manifest, iface, bmode)
    if problems:
        missing = (
            list(required_operations(iface, bmode))
            if not manifest.interface(iface).supported
            else _missing(manifest, iface, bmode)
        )
        raise BindingRefused(
            f"cannot bind {iface.value} to {manifest.provider_type} in {bmode.value} mode: "
            + "; ".join(problems)
            + f" (missing: {', '.join(missing)})",
            provider=manifest.provider_type,
            interface=iface,
            mode=bmode,
            missing=missing,
            problems=problems,
        )
    return bmode


@dataclass(frozen=True)
class InterfaceBinding:
    """One interface of a binding: which provider (by manifest), which target, which mode."""

    interface: Interface
    manifest: Manifest
    mode: BindingMode
    target: ExternalRef | None = None
    instance: str = "default"


def select_binding(
    bindings: Iterable[InterfaceBinding], *, allow_cross_org: bool = False
) -> dict[Interface, InterfaceBinding]:
    """Check a whole binding; return it by interface or raise :class:`BindingRefused`.

    Every interface is checked with :func:`select`. Targets whose ``owner``
    differ across interfaces make a cross-org binding, refused unless
    ``allow_cross_org`` (the host admits it).
    """
    chosen: dict[Interface, InterfaceBinding] = {}
    problems: list[str] = []
    missing: list[str] = []
    for binding in bindings:
        iface = Interface(binding.interface)
        if iface in chosen:
            problems.append(f"{iface.value} is bound twice; bind each interface once")
            continue
        chosen[iface] = binding
        try:
            select(binding.manifest, iface, binding.mode)
        except BindingRefused as exc:
            problems += exc.problems
            missing += [f"{binding.manifest.provider_type}.{op}" for op in exc.missing]
    owners = {b.target.owner.lower(): i for i, b in chosen.items() if b.target and b.target.owner}
    if len(owners) > 1 and not allow_cross_org:
        listed = ", ".join(f"{i.value}={o}" for o, i in owners.items())
        problems.append(
            f"cross-org binding ({listed}); bind targets of one organization, or pass "
            "allow_cross_org=True if the host admits it"
        )
    if problems:
        raise BindingRefused(
            "binding refused: " + "; ".join(problems), missing=missing, problems=problems
        )
    return chosen
