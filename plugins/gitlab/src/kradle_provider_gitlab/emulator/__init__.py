"""An emulator of GitLab's REST API v4, for offline tests and demos.

``create_emulator(seed="demo")`` returns a :class:`GitLabEmulator`: an ASGI
app (``.transport()``, ``.serve()``) with GitLab's paging (offset and keyset),
rate limits, ETags, error bodies, token/OAuth authentication, project hooks
with signed deliveries, plus ``.control`` (the contract suite's backend
control).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from kradle_provider_gitlab.emulator.app import DEFAULT_TOKEN, GitLabEmulator
from kradle_provider_gitlab.emulator.control import GitLabControl
from kradle_provider_gitlab.emulator.seed import (
    DEMO_COUNTS,
    PROJECT_PATH,
    SEEDS,
    SeedClock,
    seed_base,
)

__all__ = [
    "DEFAULT_TOKEN",
    "DEMO_COUNTS",
    "PROJECT_PATH",
    "GitLabControl",
    "GitLabEmulator",
    "create_emulator",
]

#: Seeded objects are stamped from this instant on, one second apart.
SEED_EPOCH = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def create_emulator(
    seed: str | None = None,
    token: str | None = None,
    flavor: str | None = None,
    options: Mapping[str, Any] | None = None,
) -> GitLabEmulator:
    """A GitLab emulator; ``seed="demo"`` fills ``acme/platform/widgets`` (see :mod:`.seed`).

    ``flavor="self-managed"`` serves the API under ``/gitlab/api/v4`` as a
    self-managed instance behind a path prefix does. ``options``: ``base_path``,
    ``base_url``, ``clock`` (else real time after seeding), ``latency``
    (seconds), ``rate_limit`` (requests per minute); CLI strings are converted.
    """
    opts: dict[str, Any] = dict(options or {})
    if "rate_limit" in opts:
        opts["rate_limit"] = int(opts["rate_limit"])
    if "latency" in opts:
        opts["latency"] = float(opts["latency"])
    if seed is not None and seed not in SEEDS:
        raise ValueError(
            f"unknown GitLab emulator seed {seed!r}; known seeds: {', '.join(sorted(SEEDS))}"
        )
    clock = opts.pop("clock", None)
    seed_clock = SeedClock(SEED_EPOCH) if clock is None else None
    emulator = GitLabEmulator(token=token, flavor=flavor, clock=clock or seed_clock, **opts)
    seed_base(emulator)
    if seed is not None:
        SEEDS[seed](emulator)
    if seed_clock is not None:
        seed_clock.release()
    emulator.control = GitLabControl(emulator)
    return emulator
