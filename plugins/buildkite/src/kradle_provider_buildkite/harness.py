"""The Buildkite provider under the contract-test suite.

``create_harness(**options)`` builds the Buildkite emulator in process (scope
``ExternalRef(owner="acme", pipeline="widgets")``, on a manual clock so every
change is later than the last), and hands the suite an adapter factory that
goes through the plugin registry's guard, the emulator's control API as
backend, the emulator's accepted token as the canary credential, and the
webhook payloads shipped in the package (recorded from the emulator, one or
more per declared event) with their goldens.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from kradle_providers.auth import Secret
from kradle_providers.models import NormalizeResult, ProviderRef
from kradle_providers.models.base import ExternalRef
from kradle_providers.plugins.spec import ProviderConfig
from kradle_providers.protocols.adapter import ProviderAdapter
from kradle_providers.testing.fixtures import package_fixtures_dir, package_webhook_fixtures
from kradle_providers.testing.harness import EmulatorHarness, Limitation, WebhookFixture
from kradle_providers.webhooks.normalizer import NormalizeContext

__all__ = [
    "GOLDEN_DELIVERY_ID",
    "LIMITATIONS",
    "BuildkiteHarness",
    "create_harness",
    "fixtures_dir",
    "normalize_payload",
    "webhook_fixtures",
]

#: Buildkite sends no delivery id header: goldens are written with this one,
#: and the harness hands it to the suite with every fixture.
GOLDEN_DELIVERY_ID = "00000000-0000-4000-8000-00000000b001"


def fixtures_dir() -> Path:
    """``fixtures/`` of the installed package (webhooks/ and goldens/)."""
    return package_fixtures_dir("kradle_provider_buildkite")


def normalize_payload(event: str, payload: Any) -> NormalizeResult:
    """Normalize ``payload`` as the goldens are written (instance ``default``)."""
    from kradle_provider_buildkite.normalizers import NORMALIZERS

    context = NormalizeContext(
        provider=ProviderRef(type="buildkite", instance="default"),
        event=event,
        delivery_id=GOLDEN_DELIVERY_ID,
        headers={"X-Buildkite-Event": event},
    )
    normalizer = NORMALIZERS.get(event) or NORMALIZERS[event.split(".", 1)[0]]
    return normalizer(context, payload)


def webhook_fixtures() -> list[WebhookFixture]:
    """Every ``fixtures/webhooks/<event>/<case>.json`` the package ships, with its golden."""
    return package_webhook_fixtures("kradle_provider_buildkite", delivery_id=GOLDEN_DELIVERY_ID)


LIMITATIONS: Mapping[str, Mapping[Limitation, str]] = {}
"""What Buildkite objects of a kind cannot do at all: nothing the suite checks."""


class BuildkiteHarness(EmulatorHarness):
    """The contract harness over an in-process Buildkite emulator."""

    provider = "buildkite"
    limitations = LIMITATIONS

    def __init__(self, emulator: Any, *, via_registry: bool = True) -> None:
        super().__init__(
            emulator,
            scope=ExternalRef(owner="acme", pipeline="widgets"),
            credential=str(emulator.token),
            via_registry=via_registry,
        )

    def config(self, *, credential: str | None = None, **options: Any) -> ProviderConfig:
        """The ProviderConfig an adapter for this emulator uses."""
        return ProviderConfig(
            instance="contract",
            api_base_url=self.emulator.api_url,
            auth=Secret(credential if credential is not None else self.credential),
            options=options,
            transport=self.emulator.transport(),
        )

    def direct_adapter(self, config: ProviderConfig) -> ProviderAdapter:
        from kradle_provider_buildkite.adapter import BuildkiteAdapter

        return BuildkiteAdapter.from_config(config)

    def webhook_fixtures(self) -> Sequence[WebhookFixture]:
        """Deliveries recorded from the emulator, with their golden canonical outputs."""
        return webhook_fixtures()


def create_harness(**options: Any) -> BuildkiteHarness:
    """The contract harness: options ``seed`` (e.g. ``"demo"``), ``via_registry``."""
    from kradle_provider_buildkite.emulator import create_emulator
    from kradle_providers.testing.emulator import ManualClock

    via_registry = bool(options.pop("via_registry", True))
    options.setdefault("clock", ManualClock())
    emulator = create_emulator(seed=options.pop("seed", None), options=options)
    return BuildkiteHarness(emulator, via_registry=via_registry)
