"""Acme proves itself with the contract suite from its own tests (the subclassing path)."""

from __future__ import annotations

import pytest
from kradle_contract_tests import IssueTrackingContract, ManifestContract
from kradle_provider_acme.harness import AcmeHarness, create_harness


class TestAcmeIssueTracking(IssueTrackingContract):
    provider = "acme"

    @pytest.fixture
    def harness(self) -> AcmeHarness:
        return create_harness()


class TestAcmeManifestAndWebhooks(ManifestContract):
    provider = "acme"

    @pytest.fixture
    def harness(self) -> AcmeHarness:
        return create_harness()
