"""What one contract check runs against: the provider, its manifest and a fresh harness."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, NoReturn

from kradle_providers.errors import ManifestFinding
from kradle_providers.manifest.model import Manifest
from kradle_providers.models.base import ExternalRef
from kradle_providers.plugins.guard import GuardedAdapter
from kradle_providers.protocols.adapter import ProviderAdapter
from kradle_providers.testing.harness import BackendControl, ContractHarness
from kradle_providers.webhooks.normalizer import EventNormalizer

__all__ = ["CheckNotApplicable", "ContractViolation", "Ctx", "not_applicable", "violation"]


class ContractViolation(AssertionError):
    """A contract check failed; the message says what went wrong and how to fix it."""


class CheckNotApplicable(Exception):
    """A check does not apply to this provider, for the reason its harness declares."""


def not_applicable(reason: str) -> NoReturn:
    """End the current check as skipped with ``reason`` (reported, never a pass)."""
    raise CheckNotApplicable(reason)


def violation(problem: str, fix: str) -> NoReturn:
    """Fail the current check with ``problem`` and an actionable ``fix``."""
    raise ContractViolation(f"{problem}\n  How to fix: {fix}")


@dataclass
class Ctx:
    """A provider under test for one check. ``installed`` re-validates the plugin's code."""

    provider: str
    manifest: Manifest
    harness: ContractHarness
    normalizers: Mapping[str, EventNormalizer]
    installed: Callable[[], list[ManifestFinding]] | None = None
    scratch: dict[str, Any] = field(default_factory=dict)
    """State one check keeps between its steps."""
    _adapters: list[ProviderAdapter] = field(default_factory=list)

    @property
    def backend(self) -> BackendControl:
        return self.harness.backend

    @property
    def scope(self) -> ExternalRef:
        return self.harness.scope

    async def adapter(self, **options: Any) -> ProviderAdapter:
        """The harness's (unguarded) adapter; closed when the check ends."""
        adapter = await self.harness.adapter(**options)
        self._adapters.append(adapter)
        return adapter

    def raw(self, adapter: ProviderAdapter) -> ProviderAdapter:
        """The adapter without any guard (a harness may hand out a guarded one)."""
        return adapter.adapter if isinstance(adapter, GuardedAdapter) else adapter

    def guarded(self, adapter: ProviderAdapter) -> GuardedAdapter:
        """The adapter as a host sees it: guarded by the manifest."""
        return GuardedAdapter(self.raw(adapter), self.manifest)

    def seed(self, kind: str, count: int = 1, **attrs: Any) -> list[str]:
        """Seed through the harness; a failure explains what the harness must support."""
        try:
            ids = self.backend.seed(kind, count, **attrs)
        except Exception as exc:
            violation(
                f"the {self.provider} harness could not seed {count} {kind} "
                f"({', '.join(f'{k}={v!r}' for k, v in attrs.items()) or 'no attrs'}): "
                f"{type(exc).__name__}: {exc}",
                f"make BackendControl.seed({kind!r}, ...) create objects the declared "
                f"operations can read (see kradle_providers.testing.harness)",
            )
        if len(ids) != count:
            violation(
                f"BackendControl.seed({kind!r}, {count}) returned {len(ids)} ids",
                "return one id per created object, in creation order",
            )
        return [str(i) for i in ids]

    def request_count(self) -> int:
        return len(self.backend.requests())

    async def aclose(self) -> None:
        """Close every adapter handed out, then the harness."""
        for adapter in self._adapters:
            # closing must not hide the check's own outcome
            with contextlib.suppress(Exception):
                await adapter.aclose()
        self._adapters.clear()
        await self.harness.aclose()
