"""The GitHub provider under the contract-test suite.

``create_harness(**options)`` builds the GitHub emulator in process (scope
``acme/widgets``), and hands the suite an adapter factory that goes through
the plugin registry's guard, the emulator's control API as backend, the
emulator's accepted token as the canary credential, and the webhook
deliveries the package ships (recorded from its emulator) with their golden
canonical outputs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from kradle_providers.auth import Secret
from kradle_providers.models.base import ExternalRef
from kradle_providers.plugins.spec import ProviderConfig
from kradle_providers.protocols.adapter import ProviderAdapter
from kradle_providers.testing.fixtures import package_webhook_fixtures
from kradle_providers.testing.harness import EmulatorHarness, Limitation, WebhookFixture

__all__ = [
    "GOLDEN_DELIVERY_ID",
    "HIDDEN_BY_DEFAULT",
    "LIMITATIONS",
    "GitHubHarness",
    "create_harness",
    "webhook_fixtures",
]

#: The X-GitHub-Delivery the shipped fixtures carry and their goldens are written with.
GOLDEN_DELIVERY_ID = "00000000-0000-4000-8000-000000000000"


def webhook_fixtures() -> list[WebhookFixture]:
    """The deliveries this package ships (``fixtures/webhooks``), with their goldens."""
    return package_webhook_fixtures("kradle_provider_github", delivery_id=GOLDEN_DELIVERY_ID)


LIMITATIONS: Mapping[str, Mapping[Limitation, str]] = {
    "IssueEvent": {
        Limitation.IMMUTABLE: "an issue event is a record of something that happened; "
        "GitHub never edits one",
    },
}
"""What GitHub objects of a kind cannot do at all (see ``ContractHarness.limitations``)."""


HIDDEN_BY_DEFAULT: Mapping[str, Sequence[Mapping[str, Any]]] = {
    "PullRequest": ({"draft": True},),
}
"""Objects GitHub's listings may leave out unless asked (see ``ContractHarness``)."""


class GitHubHarness(EmulatorHarness):
    """The contract harness over an in-process GitHub emulator."""

    provider = "github"
    limitations = LIMITATIONS
    hidden_by_default = HIDDEN_BY_DEFAULT

    def __init__(self, emulator: Any, *, via_registry: bool = True) -> None:
        super().__init__(
            emulator,
            scope=ExternalRef(owner="acme", repository="widgets"),
            credential=str(emulator.token),
            via_registry=via_registry,
        )

    def config(self, *, credential: str | None = None, **options: Any) -> ProviderConfig:
        """The ProviderConfig an adapter for this emulator uses."""
        return ProviderConfig(
            instance="contract",
            api_base_url=getattr(self.emulator, "base_url", None) or "https://api.github.com",
            auth=Secret(credential if credential is not None else self.credential),
            options=options,
            transport=self.emulator.transport(),
        )

    def direct_adapter(self, config: ProviderConfig) -> ProviderAdapter:
        from kradle_provider_github.adapter import GitHubAdapter

        return GitHubAdapter.from_config(config)

    def webhook_fixtures(self) -> Sequence[WebhookFixture]:
        """The recorded deliveries the package ships, with their golden canonical outputs."""
        return webhook_fixtures()


def create_harness(**options: Any) -> GitHubHarness:
    """The contract harness: options ``seed`` (e.g. ``"demo"``), ``flavor``, ``via_registry``."""
    from kradle_provider_github.emulator import create_emulator

    via_registry = bool(options.pop("via_registry", True))
    emulator = create_emulator(
        seed=options.pop("seed", None),
        flavor=options.pop("flavor", None),
        options=options or None,
    )
    return GitHubHarness(emulator, via_registry=via_registry)
