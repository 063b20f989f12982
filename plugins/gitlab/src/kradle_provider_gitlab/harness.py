"""The GitLab provider under the contract-test suite.

``create_harness(**options)`` builds the GitLab emulator in process (scope
``acme/platform/widgets``, a manual clock) and hands the suite an adapter
factory that goes through the plugin registry's guard, the emulator's control
API as backend, the emulator's accepted token as the canary credential, and
the webhook fixtures shipped in this package with their goldens.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from kradle_providers.auth import Secret
from kradle_providers.models.base import ExternalRef
from kradle_providers.plugins.spec import ProviderConfig
from kradle_providers.protocols.adapter import ProviderAdapter
from kradle_providers.testing.emulator import ManualClock
from kradle_providers.testing.fixtures import package_webhook_fixtures
from kradle_providers.testing.harness import EmulatorHarness, Limitation, WebhookFixture

__all__ = [
    "GOLDEN_DELIVERY_ID",
    "HIDDEN_BY_DEFAULT",
    "LIMITATIONS",
    "GitLabHarness",
    "create_harness",
    "event_of_folder",
    "webhook_fixtures",
]

#: The X-Gitlab-Event-UUID the goldens are written with (tests/test_gitlab_golden.py).
GOLDEN_DELIVERY_ID = "00000000-0000-4000-8000-000000000000"


def event_of_folder(folder: str) -> str:
    """The ``X-Gitlab-Event`` of a fixture folder (``note_hook`` -> ``Note Hook``)."""
    return folder.replace("_", " ").title()


def webhook_fixtures() -> list[WebhookFixture]:
    """The deliveries shipped in ``kradle_provider_gitlab/fixtures`` with their goldens."""
    return package_webhook_fixtures(
        "kradle_provider_gitlab",
        event_of=event_of_folder,
        headers={"X-Gitlab-Event-UUID": GOLDEN_DELIVERY_ID},
        delivery_id=GOLDEN_DELIVERY_ID,
    )


LIMITATIONS: Mapping[str, Mapping[Limitation, str]] = {
    "IssueEvent": {
        Limitation.IMMUTABLE: "a resource event or system note records something that "
        "happened; GitLab never edits one",
    },
    "Review": {
        Limitation.IMMUTABLE: "an approval is a user and a time; it is given or revoked, "
        "never edited",
        Limitation.NO_NATIVE_FIELDS: "an approval is an entry of the merge request's "
        "approved_by list with no fields of its own",
    },
    "Artifact": {
        Limitation.IMMUTABLE: "a job's artifact file is never edited; a retried job makes new ones",
    },
}
"""What GitLab objects of a kind cannot do at all (see ``ContractHarness.limitations``)."""


HIDDEN_BY_DEFAULT: Mapping[str, Sequence[Mapping[str, Any]]] = {
    "Issue": ({"confidential": True},),
    "PullRequest": ({"draft": True},),
}
"""Objects GitLab's listings may leave out unless asked (see ``ContractHarness``)."""


class GitLabHarness(EmulatorHarness):
    """The contract harness over an in-process GitLab emulator."""

    provider = "gitlab"
    limitations = LIMITATIONS
    hidden_by_default = HIDDEN_BY_DEFAULT

    def __init__(self, emulator: Any, *, via_registry: bool = True) -> None:
        super().__init__(
            emulator,
            scope=ExternalRef(owner="acme/platform", repository="widgets"),
            credential=str(emulator.token),
            via_registry=via_registry,
        )

    def config(self, *, credential: str | None = None, **options: Any) -> ProviderConfig:
        """The ProviderConfig an adapter for this emulator uses."""
        return ProviderConfig(
            instance="contract",
            api_base_url=self.emulator.api_base_url,
            auth=Secret(credential if credential is not None else self.credential),
            options=options,
            transport=self.emulator.transport(),
        )

    def direct_adapter(self, config: ProviderConfig) -> ProviderAdapter:
        from kradle_provider_gitlab.adapter import GitLabAdapter

        return GitLabAdapter.from_config(config)

    def webhook_fixtures(self) -> Sequence[WebhookFixture]:
        """GitLab deliveries shipped with the plugin, with their golden outputs."""
        return webhook_fixtures()


def create_harness(**options: Any) -> GitLabHarness:
    """The contract harness: options ``seed`` (e.g. ``"demo"``), ``flavor``, ``via_registry``."""
    from kradle_provider_gitlab.emulator import create_emulator

    via_registry = bool(options.pop("via_registry", True))
    opts = dict(options)
    opts.setdefault("clock", ManualClock(datetime(2026, 2, 2, 9, 0, tzinfo=UTC)))
    emulator = create_emulator(
        seed=opts.pop("seed", None), flavor=opts.pop("flavor", None), options=opts
    )
    return GitLabHarness(emulator, via_registry=via_registry)
