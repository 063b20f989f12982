"""Running one check: build the context from the registry and a fresh harness, then await it."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest

from kradle_contract_tests.context import CheckNotApplicable, ContractViolation, Ctx
from kradle_contract_tests.generate import Check
from kradle_providers.plugins.registry import Registry, load_registry
from kradle_providers.testing.harness import ContractHarness

__all__ = ["as_factory", "run_check"]


def as_factory(harness: Any, provider: str) -> Callable[[], ContractHarness]:
    """Accept a harness or a zero-argument factory of one; check it quacks right."""

    def make() -> ContractHarness:
        made = harness() if callable(harness) and not hasattr(harness, "backend") else harness
        if not isinstance(made, ContractHarness):
            missing = [
                n
                for n in (
                    "provider",
                    "scope",
                    "backend",
                    "credential",
                    "adapter",
                    "webhook_fixtures",
                    "aclose",
                )
                if not hasattr(made, n)
            ]
            raise ContractViolation(
                f"the {provider} harness is a {type(made).__name__} lacking {missing}\n"
                "  How to fix: return an object implementing "
                "kradle_providers.testing.harness.ContractHarness"
            )
        return made

    return make


def run_check(
    check: Check,
    *,
    provider: str,
    harness: Callable[[], ContractHarness],
    registry: Registry | None = None,
) -> None:
    """Run ``check`` for ``provider`` on a fresh harness (closed afterwards)."""
    if check.skip:
        pytest.skip(check.skip)
    registry = registry if registry is not None else load_registry()
    manifest = registry.manifest(provider)
    normalizers = registry.normalizers(provider)

    async def main() -> None:
        ctx = Ctx(
            provider=provider,
            manifest=manifest,
            harness=harness(),
            normalizers=normalizers,
            installed=lambda: registry.validate_installed(provider),
        )
        try:
            await check.run(ctx)
        finally:
            await ctx.aclose()

    try:
        asyncio.run(main())
    except CheckNotApplicable as exc:
        pytest.skip(str(exc))
