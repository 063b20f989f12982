"""An emulator of Buildkite's REST API v2, for offline tests and demos.

``create_emulator(seed="demo")`` returns a :class:`BuildkiteEmulator`: an ASGI
app (``.app``, ``.transport()``, ``.serve()``; the REST root is ``.api_url``)
with Buildkite's Link paging, rate limits, ETags, error bodies, Bearer token
authentication and webhook notification services signed in both modes, plus
``.control`` (the contract suite's backend control) and ``.counts()``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kradle_provider_buildkite.emulator.app import API_PREFIX, BuildkiteEmulator
from kradle_provider_buildkite.emulator.control import BuildkiteControl
from kradle_provider_buildkite.emulator.seed import SEEDS, seed_base
from kradle_provider_buildkite.emulator.webhooks import BuildkiteWebhooks, Subscription

__all__ = [
    "API_PREFIX",
    "BuildkiteControl",
    "BuildkiteEmulator",
    "BuildkiteWebhooks",
    "Subscription",
    "create_emulator",
]


def create_emulator(
    seed: str | None = None,
    token: str | None = None,
    flavor: str | None = None,
    options: Mapping[str, Any] | None = None,
) -> BuildkiteEmulator:
    """A Buildkite emulator; ``seed="demo"`` fills organization ``acme`` (see :mod:`.seed`).

    ``options``: ``base_url``, ``clock``, ``latency`` (seconds), ``rate_limit``
    (requests per minute), ``org``; CLI strings are converted.
    """
    opts: dict[str, Any] = dict(options or {})
    if "rate_limit" in opts:
        opts["rate_limit"] = int(opts["rate_limit"])
    if "latency" in opts:
        opts["latency"] = float(opts["latency"])
    if seed is not None and seed not in SEEDS:
        raise ValueError(
            f"unknown Buildkite emulator seed {seed!r}; known seeds: {', '.join(sorted(SEEDS))}"
        )
    emulator = BuildkiteEmulator(token=token, flavor=flavor, **opts)
    seed_base(emulator)
    if seed is not None:
        SEEDS[seed](emulator)
    # Seeding sends no webhooks; from now on every change does.
    emulator.state.emit = emulator.emit_event
    emulator.control = BuildkiteControl(emulator)
    return emulator
