"""An emulator of GitHub's REST and GraphQL APIs, for offline tests and demos.

``create_emulator(seed="demo")`` returns a :class:`GitHubEmulator`: an ASGI
app (``.app``, ``.transport()``, ``.serve()``) with GitHub's pagination,
rate limits, ETags, errors, App authentication and signed webhooks, plus
``.control`` (the contract suite's backend control) and ``.counts()``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kradle_provider_github.emulator.app import GitHubEmulator
from kradle_provider_github.emulator.control import GitHubControl
from kradle_provider_github.emulator.seed import SEEDS, seed_base
from kradle_provider_github.emulator.webhooks import GitHubWebhooks, Subscription

__all__ = ["GitHubControl", "GitHubEmulator", "GitHubWebhooks", "Subscription", "create_emulator"]

_INT_OPTIONS = ("rate_limit", "secondary_limit", "app_id", "installation_id")


def create_emulator(
    seed: str | None = None,
    token: str | None = None,
    flavor: str | None = None,
    options: Mapping[str, Any] | None = None,
) -> GitHubEmulator:
    """A GitHub emulator; ``seed="demo"`` fills ``acme/widgets`` (see :mod:`.seed`).

    ``flavor="ghes"`` serves Enterprise Server paths (``/api/v3``,
    ``/api/graphql``). ``options``: ``base_path``, ``base_url``, ``clock``, ``token_scopes``,
    ``latency`` (seconds), ``rate_limit``, ``secondary_limit``, ``app_id``,
    ``installation_id``, ``private_key_pem``; CLI strings are converted.
    """
    opts: dict[str, Any] = dict(options or {})
    for name in _INT_OPTIONS:
        if name in opts:
            opts[name] = int(opts[name])
    if "latency" in opts:
        opts["latency"] = float(opts["latency"])
    if seed is not None and seed not in SEEDS:
        raise ValueError(
            f"unknown GitHub emulator seed {seed!r}; known seeds: {', '.join(sorted(SEEDS))}"
        )
    emulator = GitHubEmulator(token=token, flavor=flavor, **opts)
    seed_base(emulator)
    if seed is not None:
        SEEDS[seed](emulator)
    emulator.control = GitHubControl(emulator)
    return emulator
