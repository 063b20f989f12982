"""Base classes for running the suite from an author's own test module.

::

    from kradle_contract_tests import IssueTrackingContract

    class TestAcme(IssueTrackingContract):
        provider = "acme"

        @pytest.fixture
        def harness(self):
            return create_harness()

The class generates one test per check of its part of the suite, with ids
like ``issueTracking::listIssues::pages``. The harness fixture returns a fresh
harness (or a zero-argument factory of one); the suite closes it after each test.
"""

from __future__ import annotations

from typing import Any, ClassVar

import pytest

from kradle_contract_tests.generate import GROUPS, Check, checks_for
from kradle_contract_tests.runner import as_factory, run_check
from kradle_providers.plugins.registry import load_registry

__all__ = [
    "CiCdContract",
    "ContractSuite",
    "GitForgeContract",
    "IssueTrackingContract",
    "ManifestContract",
]


class ContractSuite:
    """The whole suite for ``provider``; subclasses narrow it with ``groups``."""

    provider: ClassVar[str] = ""
    groups: ClassVar[tuple[str, ...]] = (*GROUPS, "issueTracking", "cicd", "gitForge")

    def pytest_generate_tests(self, metafunc: pytest.Metafunc) -> None:
        if "kradle_check" not in metafunc.fixturenames:
            return
        if not self.provider:
            raise pytest.UsageError(
                f"{type(self).__name__} must set `provider = '<name>'` (an installed provider)"
            )
        checks = [c for c in checks_for(load_registry().manifest(self.provider))
                  if c.group in self.groups]  # fmt: skip
        metafunc.parametrize("kradle_check", checks, ids=[c.name for c in checks])

    def test_contract(self, harness: Any, kradle_check: Check) -> None:
        """Run one generated contract check on the author's harness."""
        run_check(kradle_check, provider=self.provider, harness=as_factory(harness, self.provider))


class ManifestContract(ContractSuite):
    """Manifest validity, implementation, webhooks and the no-leak check."""

    groups = GROUPS


class IssueTrackingContract(ContractSuite):
    """The issue-tracking part of the suite."""

    groups = ("issueTracking",)


class CiCdContract(ContractSuite):
    """The CI/CD part of the suite."""

    groups = ("cicd",)


class GitForgeContract(ContractSuite):
    """The git-forge part of the suite."""

    groups = ("gitForge",)
