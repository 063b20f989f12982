"""Explaining one operation of one provider from its manifest, before anyone calls it."""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from typing import Any

from kradle_providers.errors import InvalidInput
from kradle_providers.manifest.model import Manifest
from kradle_providers.models.base import Interface
from kradle_providers.protocols.catalogue import OPERATIONS, snake_to_camel

__all__ = ["Explanation", "canonical_operation", "explain_operation", "suggest_operations"]


def canonical_operation(name: str) -> str | None:
    """The canonical camelCase name for ``name`` (camelCase or snake_case), or None."""
    if name in OPERATIONS:
        return name
    camel = snake_to_camel(name)
    if camel in OPERATIONS:
        return camel
    folded = {op.lower(): op for op in OPERATIONS}
    return folded.get(name.replace("_", "").replace("-", "").lower())


def suggest_operations(name: str, limit: int = 3) -> list[str]:
    """The canonical operation names closest to ``name`` (for "did you mean")."""
    folded = {op.lower(): op for op in OPERATIONS}
    key = name.replace("_", "").replace("-", "").lower()
    close = difflib.get_close_matches(key, list(folded), n=limit, cutoff=0.5)
    return [folded[c] for c in close]


@dataclass(frozen=True)
class Explanation:
    """What the manifest says about one operation of one provider."""

    provider: str
    operation: str
    interface: Interface
    supported: bool
    write: bool
    reason: str | None = None
    native: str | None = None
    description: str | None = None
    permissions: list[str] = field(default_factory=list)
    auth_modes: list[str] = field(default_factory=list)
    native_scopes: list[str] = field(default_factory=list)
    idempotency: str | None = None
    rate_limit_cost: dict[str, int] | int | None = None
    confirming_events: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "provider": self.provider,
            "operation": self.operation,
            "interface": self.interface.value,
            "supported": self.supported,
            "write": self.write,
            "reason": self.reason,
            "native": self.native,
            "description": self.description,
            "requires": {
                "permissions": self.permissions,
                "authModes": self.auth_modes,
                "nativeScopes": self.native_scopes,
            },
            "idempotency": self.idempotency,
            "rateLimitCost": self.rate_limit_cost,
            "confirmingEvents": self.confirming_events,
        }

    def lines(self) -> list[str]:
        """A human-readable explanation, one fact per line."""
        head = f"{self.provider} {self.operation} ({self.interface.value}, "
        head += "write" if self.write else "read"
        if not self.supported:
            return [f"{head}): NOT SUPPORTED", f"  why: {self.reason}"]
        out = [f"{head}): supported"]
        if self.native:
            out.append(f"  native name: {self.native}")
        if self.description:
            out.append(f"  description: {self.description}")

        def listed(values: list[str]) -> str:
            return ", ".join(values) if values else "(none declared)"

        out.append(f"  requires permissions: {listed(self.permissions)}")
        out.append(f"  requires auth modes: {listed(self.auth_modes)}")
        out.append(f"  requires native scopes: {listed(self.native_scopes)}")
        if self.write:
            out.append(f"  idempotency: {self.idempotency or '(not declared)'}")
            out.append(f"  confirming webhooks: {listed(self.confirming_events)}")
        cost = self.rate_limit_cost
        if isinstance(cost, dict):
            cost_text = ", ".join(f"{k}={v}" for k, v in sorted(cost.items()))
        else:
            cost_text = str(cost) if cost is not None else "(not declared)"
        out.append(f"  rate-limit cost: {cost_text}")
        return out


def explain_operation(manifest: Manifest, operation: str) -> Explanation:
    """Explain ``operation`` (camelCase or snake_case) for the provider of ``manifest``.

    Raises :class:`InvalidInput` naming the nearest canonical operations when the
    name is not a canonical operation.
    """
    name = canonical_operation(operation)
    if name is None:
        near = suggest_operations(operation)
        hint = f"did you mean {', '.join(near)}?" if near else "see `kradle-providers matrix`"
        raise InvalidInput(f"{operation!r} is not a canonical operation; {hint}", field="operation")
    info = OPERATIONS[name]
    decl = manifest.operation(name)
    supported = manifest.supports(name)
    write = decl.is_write if decl is not None else info.write
    if not supported or decl is None:
        return Explanation(
            provider=manifest.provider_type,
            operation=name,
            interface=info.interface,
            supported=False,
            write=write,
            reason=manifest.unsupported_reason(name),
            native=decl.native if decl else None,
        )
    return Explanation(
        provider=manifest.provider_type,
        operation=name,
        interface=info.interface,
        supported=True,
        write=write,
        native=decl.native,
        description=decl.description,
        permissions=list(decl.requires.permissions),
        auth_modes=list(decl.requires.auth_modes),
        native_scopes=list(decl.requires.native_scopes),
        idempotency=decl.idempotency.mode.value if decl.idempotency else None,
        rate_limit_cost=decl.rate_limit_cost,
        confirming_events=list(decl.webhook_confirmation.events)
        if decl.webhook_confirmation
        else [],
    )
