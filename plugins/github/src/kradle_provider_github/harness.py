"""The GitHub provider under the contract-test suite.

``create_harness(**options)`` builds the GitHub emulator in process (scope
``acme/widgets``), and hands the suite an adapter factory that goes through
the plugin registry's guard, the emulator's control API as backend, the
emulator's accepted token as the canary credential, and every upstream
webhook payload with the golden canonical output checked in beside the
plugin's tests.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from kradle_providers.auth import Secret
from kradle_providers.models.base import ExternalRef
from kradle_providers.plugins.spec import ProviderConfig
from kradle_providers.protocols.adapter import ProviderAdapter
from kradle_providers.testing.harness import EmulatorHarness, Limitation, WebhookFixture

__all__ = [
    "GOLDEN_DELIVERY_ID",
    "LIMITATIONS",
    "GitHubHarness",
    "create_harness",
    "shared_dir",
    "webhook_fixtures",
]

_HERE = Path(__file__).resolve()
#: plugins/github/src/kradle_provider_github/harness.py -> the repository root.
_REPO_ROOT = _HERE.parents[4]
_GOLDEN_DIR = _HERE.parents[2] / "tests" / "golden"
#: The X-GitHub-Delivery the goldens are written with (tests/test_github_golden.py).
GOLDEN_DELIVERY_ID = "00000000-0000-4000-8000-000000000000"


def shared_dir() -> Path:
    """The project's shared folder (specs, upstream fixtures).

    ``$KRADLE_SHARED_DIR`` wins; otherwise ``../shared`` beside the repository.
    """
    env = os.environ.get("KRADLE_SHARED_DIR")
    return Path(env) if env else _REPO_ROOT.parent / "shared"


def webhook_fixtures(
    root: Path | None = None, golden_root: Path | None = None
) -> list[WebhookFixture]:
    """Every payload under ``fixtures/upstream/github/<event>/``, with its golden if present."""
    base = (root or shared_dir()) / "fixtures" / "upstream" / "github"
    goldens = golden_root or _GOLDEN_DIR
    fixtures: list[WebhookFixture] = []
    if not base.is_dir():
        return fixtures
    for event_dir in sorted(p for p in base.iterdir() if p.is_dir()):
        for payload in sorted(event_dir.glob("*.json")):
            golden = goldens / event_dir.name / f"{payload.name.removesuffix('.json')}.golden.json"
            fixtures.append(
                WebhookFixture(
                    event=event_dir.name,
                    payload=payload,
                    golden=golden if golden.is_file() else None,
                    headers={
                        "X-GitHub-Event": event_dir.name,
                        "X-GitHub-Delivery": GOLDEN_DELIVERY_ID,
                    },
                    delivery_id=GOLDEN_DELIVERY_ID,
                )
            )
    return fixtures


LIMITATIONS: Mapping[str, Mapping[Limitation, str]] = {
    "IssueEvent": {
        Limitation.IMMUTABLE: "an issue event is a record of something that happened; "
        "GitHub never edits one",
    },
}
"""What GitHub objects of a kind cannot do at all (see ``ContractHarness.limitations``)."""


class GitHubHarness(EmulatorHarness):
    """The contract harness over an in-process GitHub emulator."""

    provider = "github"
    limitations = LIMITATIONS

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
        """Real GitHub payloads with their golden canonical outputs."""
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
