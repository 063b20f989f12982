"""Shared test configuration: hypothesis profiles (bounded in CI, thorough on demand)."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, is_hypothesis_test, settings

from kradle_providers.auth.secret import forgetting_new_secret_values

settings.register_profile("ci", max_examples=60, deadline=None, derandomize=True)
settings.register_profile("dev", max_examples=100, deadline=None)
settings.register_profile(
    "thorough", max_examples=2000, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))


@pytest.fixture(autouse=True)
def _property_tests_forget_their_secrets(request: pytest.FixtureRequest) -> Iterator[None]:
    """A property test's made-up secrets (often code constants) must not redact later text."""
    if is_hypothesis_test(request.function):
        with forgetting_new_secret_values():
            yield
    else:
        yield
