"""Shared fixtures for the GitHub adapter tests (imported by the test_adapter_* modules):
in-process emulators and adapters. Not a conftest: other helpers own that file."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from kradle_provider_github.adapter import GitHubAdapter

from kradle_providers.auth import Secret
from kradle_providers.http import BudgetRegistry
from kradle_providers.models import ExternalRef
from kradle_providers.plugins.spec import ProviderConfig

REPO = ExternalRef(owner="acme", repository="widgets")


def make_adapter(emulator: Any, *, token: str | None = None, **options: Any) -> GitHubAdapter:
    """An unguarded adapter bound to ``emulator`` in process, with its own budget."""
    adapter = GitHubAdapter.from_config(
        ProviderConfig(
            instance="test",
            api_base_url=getattr(emulator, "base_url", None) or "https://api.github.com",
            auth=Secret(token if token is not None else emulator.token),
            options=options,
            transport=emulator.transport(),
        )
    )
    # A private budget registry: tests must not share rate-limit state.
    adapter.http.budgets = BudgetRegistry()
    return adapter


@pytest.fixture(scope="module")
def demo() -> Iterator[Any]:
    """The seeded demo repository (read-only tests share it)."""
    from kradle_provider_github.emulator import create_emulator

    yield create_emulator(seed="demo")


@pytest.fixture
def empty() -> Iterator[Any]:
    """A fresh emulator for tests that write."""
    from kradle_provider_github.emulator import create_emulator

    yield create_emulator()


@pytest.fixture
async def demo_adapter(demo: Any) -> AsyncIterator[GitHubAdapter]:
    adapter = make_adapter(demo)
    yield adapter
    await adapter.aclose()


@pytest.fixture
async def adapter(empty: Any) -> AsyncIterator[GitHubAdapter]:
    adapter = make_adapter(empty)
    yield adapter
    await adapter.aclose()
