"""An emulator of Jira's REST API, Cloud (v3 + v2) and Data Center (v2) flavours.

``create_emulator(seed="demo")`` returns a :class:`JiraEmulator`: an ASGI app
(``.app``, ``.transport()``, ``.serve()``) with Jira's paging styles, JQL,
workflow transitions, changelog, errors, 429s and signed webhooks, plus
``.control`` (the contract suite's backend control), ``.counts()``,
``.token`` and ``.flavor``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kradle_provider_jira.emulator.app import CLOUD, DATACENTER, DEFAULT_TOKEN, JiraEmulator
from kradle_provider_jira.emulator.control import JiraControl
from kradle_provider_jira.emulator.seed import SEEDS, seed_base
from kradle_provider_jira.emulator.webhooks import JiraWebhooks, Subscription

__all__ = [
    "CLOUD",
    "DATACENTER",
    "DEFAULT_TOKEN",
    "JiraControl",
    "JiraEmulator",
    "JiraWebhooks",
    "Subscription",
    "create_emulator",
]

_INT_OPTIONS = ("rate_limit",)
_FLOAT_OPTIONS = ("latency", "rate_window")


def create_emulator(
    seed: str | None = None,
    token: str | None = None,
    flavor: str | None = "cloud",
    options: Mapping[str, Any] | None = None,
) -> JiraEmulator:
    """A Jira emulator; ``seed="demo"`` fills project ``WID`` (see :mod:`.seed`).

    ``flavor``: ``cloud`` (REST v3 and v2, basic auth with any e-mail and the
    token) or ``datacenter`` (REST v2, bearer PAT or basic with the token as
    password). ``options``: ``base_url``, ``clock``, ``latency`` (seconds),
    ``rate_limit`` (requests per ``rate_window`` seconds); CLI strings are
    converted.
    """
    opts: dict[str, Any] = dict(options or {})
    for name in _INT_OPTIONS:
        if name in opts:
            opts[name] = int(opts[name])
    for name in _FLOAT_OPTIONS:
        if name in opts:
            opts[name] = float(opts[name])
    if seed is not None and seed not in SEEDS:
        raise ValueError(
            f"unknown Jira emulator seed {seed!r}; known seeds: {', '.join(sorted(SEEDS))}"
        )
    emulator = JiraEmulator(token=token, flavor=flavor, **opts)
    seed_base(emulator)
    if seed is not None:
        SEEDS[seed](emulator)
    return emulator
