"""The Jira provider under the contract-test suite.

``create_harness(flavor="cloud"|"datacenter", **options)`` builds the Jira
emulator in process (project ``WID``) and hands the suite: an adapter factory
that goes through the plugin registry's guard, the emulator's control API as
backend, the emulator's accepted token as the canary credential, and the
webhook deliveries the package ships (recorded from its emulator) with their
golden canonical outputs.

Credentials follow each flavour's usual form: Cloud gets HTTP basic (an email
and the token as API token), Data Center the token as a bearer personal access
token. Adapters get a :class:`SkippingClock`: the emulator keeps real time, and
a wait the adapter decides on (Retry-After, Cloud's X-RateLimit-Reset rounded
to the minute) passes at once instead of stalling the suite.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from kradle_providers.auth import BasicAuth, BearerAuth, Secret
from kradle_providers.auth.scheme import AuthScheme
from kradle_providers.clock import SkippingClock
from kradle_providers.errors import InvalidInput
from kradle_providers.models.base import ExternalRef
from kradle_providers.plugins.spec import ProviderConfig
from kradle_providers.protocols.adapter import ProviderAdapter
from kradle_providers.testing.fixtures import package_webhook_fixtures
from kradle_providers.testing.harness import EmulatorHarness, Limitation, WebhookFixture

__all__ = [
    "CONTRACT_EMAIL",
    "GOLDEN_DELIVERY_ID",
    "LIMITATIONS",
    "JiraHarness",
    "create_harness",
    "event_name",
    "webhook_fixtures",
]

#: The account email the harness sends with the Cloud API token.
CONTRACT_EMAIL = "contract@example.com"
_EMULATOR_BASE = "https://wid.atlassian.net"
#: The delivery id the goldens are written with (as Jira Cloud's X-Atlassian-Webhook-Identifier).
GOLDEN_DELIVERY_ID = "jira-golden-delivery"

#: What Jira objects of a canonical kind cannot do at all (the suite skips those checks).
LIMITATIONS: dict[str, dict[Limitation, str]] = {
    "Label": {
        Limitation.NO_NATIVE_FIELDS: "a Jira label is a bare string on issues (GET /label "
        "returns names only), so there is no provider field to keep in extensions",
    },
    "IssueEvent": {
        Limitation.IMMUTABLE: "an issue event is a changelog history entry, which Jira never "
        "edits (new changes append new histories)",
        Limitation.UNDELETABLE: "a changelog history entry stays as long as its issue; Jira "
        "deletes none on its own",
    },
}


def event_name(folder: str) -> str:
    """The Jira event a fixture folder holds: ``jira_issue_updated`` -> ``jira:issue_updated``."""
    return f"jira:{folder.removeprefix('jira_')}" if folder.startswith("jira_") else folder


def webhook_fixtures() -> list[WebhookFixture]:
    """The deliveries this package ships (``fixtures/webhooks``), with their goldens.

    Each carries :data:`GOLDEN_DELIVERY_ID` as its ``X-Atlassian-Webhook-Identifier``
    (the id the goldens were written with).
    """
    return package_webhook_fixtures(
        "kradle_provider_jira", event_of=event_name, delivery_id=GOLDEN_DELIVERY_ID
    )


class JiraHarness(EmulatorHarness):
    """The contract harness over an in-process Jira emulator of one flavour."""

    provider = "jira"
    limitations = LIMITATIONS

    def __init__(self, emulator: Any, *, flavor: str, via_registry: bool = True) -> None:
        token = emulator.token
        super().__init__(
            emulator,
            scope=ExternalRef(project="WID"),
            credential=str(token.reveal() if isinstance(token, Secret) else token),
            via_registry=via_registry,
        )
        self.flavor = flavor

    def auth(self, credential: str) -> AuthScheme:
        """The flavour's usual credential form for ``credential``."""
        if self.flavor == "cloud":
            return BasicAuth(CONTRACT_EMAIL, Secret(credential))
        return BearerAuth(Secret(credential))

    def config(self, *, credential: str | None = None, **options: Any) -> ProviderConfig:
        """The ProviderConfig an adapter for this emulator uses."""
        base = getattr(self.emulator, "base_url", None) or _EMULATOR_BASE
        return ProviderConfig(
            instance="contract",
            api_base_url=str(base),
            auth=self.auth(credential if credential is not None else self.credential),
            options={"flavor": self.flavor, "clock": SkippingClock(), **options},
            transport=self.emulator.transport(),
        )

    def direct_adapter(self, config: ProviderConfig) -> ProviderAdapter:
        from kradle_provider_jira.adapter import JiraAdapter

        return JiraAdapter.from_config(config)

    def webhook_fixtures(self) -> Sequence[WebhookFixture]:
        """The recorded deliveries the package ships, with their golden canonical outputs."""
        return webhook_fixtures()


def create_harness(flavor: str = "cloud", **options: Any) -> JiraHarness:
    """The contract harness: ``flavor`` cloud|datacenter, ``seed``, ``token``, ``via_registry``."""
    from kradle_provider_jira.emulator import create_emulator

    flavor = {"dc": "datacenter", "data-center": "datacenter"}.get(flavor, flavor)
    if flavor not in ("cloud", "datacenter"):
        raise InvalidInput(
            f"flavor must be 'cloud' or 'datacenter', got {flavor!r}", field="flavor"
        )
    via_registry = bool(options.pop("via_registry", True))
    emulator = create_emulator(
        seed=options.pop("seed", None),
        token=options.pop("token", None),
        flavor=flavor,
        options=options or None,
    )
    return JiraHarness(emulator, flavor=flavor, via_registry=via_registry)
