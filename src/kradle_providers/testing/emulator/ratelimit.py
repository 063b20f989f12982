"""Rate-limit accounting per credential, with headers in named conventions.

The conventions (who uses which is given for orientation only):

- ``X_RATELIMIT_EPOCH``: ``x-ratelimit-limit/-remaining/-used/-reset`` with the
  reset as epoch seconds and ``x-ratelimit-resource`` (GitHub). Exhaustion is a
  403 (or 429) without ``Retry-After`` by default.
- ``RATELIMIT_EPOCH``: ``RateLimit-Limit/-Remaining/-Observed/-Reset`` (epoch
  seconds) and ``RateLimit-ResetTime`` (HTTP date) (GitLab); 429 + ``Retry-After``.
- ``RATELIMIT_DELTA``: ``RateLimit-Limit/-Remaining/-Reset`` with the reset as
  seconds from now (Buildkite); 429 + ``Retry-After``.
- ``RETRY_AFTER_ONLY``: no budget headers, 429 + ``Retry-After`` when limited
  (Jira Cloud).

A primary limit is N requests per fixed window per credential; an optional
secondary limit is N requests per sliding window (GitHub's abuse limits on
bursts of writes) answered with 403/429 and ``Retry-After``. Time comes from
the emulator's injectable clock, so tests move windows without sleeping.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum

from kradle_providers.clock import Now, system_clock
from kradle_providers.testing.emulator.conditional import format_http_date

__all__ = [
    "ANONYMOUS",
    "Budget",
    "RateDecision",
    "RateLimitConvention",
    "RateLimitPolicy",
    "RateLimiter",
    "SecondaryLimit",
]

ANONYMOUS = "anonymous"
"""The budget key of requests the authentication hook did not attribute."""


class RateLimitConvention(StrEnum):
    """How budget headers are named and how the reset is expressed."""

    X_RATELIMIT_EPOCH = "x-ratelimit-epoch"
    RATELIMIT_EPOCH = "ratelimit-epoch"
    RATELIMIT_DELTA = "ratelimit-delta"
    RETRY_AFTER_ONLY = "retry-after-only"


@dataclass(frozen=True)
class SecondaryLimit:
    """At most ``max_requests`` per sliding ``window_seconds`` per credential.

    ``methods`` restricts counting to those methods (e.g. writes only).
    ``retry_after`` fixes the ``Retry-After`` value; ``None`` computes the
    seconds until the oldest counted request leaves the window.
    """

    max_requests: int
    window_seconds: float = 60.0
    status: int = 403
    retry_after: int | None = 60
    message: str = (
        "You have exceeded a secondary rate limit. Please wait a few minutes before you try again."
    )
    methods: frozenset[str] | None = None


@dataclass(frozen=True)
class RateLimitPolicy:
    """A provider's rate-limit model as the emulator enforces it.

    ``limit`` requests per ``window_seconds`` per credential (``anonymous_limit``
    for unattributed requests); ``exhausted_status`` and ``exhausted_message``
    shape the refusal (the body comes from the emulator's error formatter).
    """

    limit: int = 5000
    window_seconds: float = 3600.0
    convention: RateLimitConvention = RateLimitConvention.X_RATELIMIT_EPOCH
    exhausted_status: int = 429
    exhausted_message: str = "API rate limit exceeded"
    retry_after_when_exhausted: bool | None = None
    resource: str | None = "core"
    anonymous_limit: int | None = None
    secondary: SecondaryLimit | None = None

    @property
    def sends_retry_after(self) -> bool:
        """Whether an exhausted answer carries ``Retry-After`` (default per convention)."""
        if self.retry_after_when_exhausted is not None:
            return self.retry_after_when_exhausted
        return self.convention is not RateLimitConvention.X_RATELIMIT_EPOCH


@dataclass
class Budget:
    """One credential's primary budget in the current window."""

    limit: int
    remaining: int
    reset_at: float  # epoch seconds

    @property
    def used(self) -> int:
        """Requests charged in this window."""
        return self.limit - self.remaining


@dataclass(frozen=True)
class RateDecision:
    """The outcome of charging a request.

    When ``allowed`` is false, ``status``/``message``/``scope`` (``primary`` or
    ``secondary``) describe the refusal and ``headers`` include ``Retry-After``
    where the convention sends it.
    """

    allowed: bool
    headers: dict[str, str] = field(default_factory=dict)
    status: int | None = None
    message: str | None = None
    scope: str | None = None
    retry_after: int | None = None


class RateLimiter:
    """Charges requests against per-credential budgets and renders headers."""

    def __init__(self, policy: RateLimitPolicy, *, clock: Now = system_clock) -> None:
        self.policy = policy
        self.clock = clock
        self._budgets: dict[str, Budget] = {}
        self._recent: dict[str, deque[float]] = {}

    def _now(self) -> float:
        return self.clock().timestamp()

    def budget(self, credential: str | None) -> Budget:
        """The current budget of ``credential`` (a new window starts when the old one ended)."""
        key = credential or ANONYMOUS
        now = self._now()
        budget = self._budgets.get(key)
        if budget is None or now >= budget.reset_at:
            limit = self.policy.limit
            if key == ANONYMOUS and self.policy.anonymous_limit is not None:
                limit = self.policy.anonymous_limit
            budget = Budget(limit=limit, remaining=limit, reset_at=now + self.policy.window_seconds)
            self._budgets[key] = budget
        return budget

    def charge(self, credential: str | None, *, cost: int = 1, method: str = "GET") -> RateDecision:
        """Charge one request; refuse it when the primary or secondary limit is reached."""
        key = credential or ANONYMOUS
        budget = self.budget(key)
        now = self._now()
        if budget.remaining < cost:
            headers = self.headers(key)
            retry_after = max(1, math.ceil(budget.reset_at - now))
            if self.policy.sends_retry_after:
                headers["retry-after"] = str(retry_after)
            return RateDecision(
                allowed=False,
                headers=headers,
                status=self.policy.exhausted_status,
                message=self.policy.exhausted_message,
                scope="primary",
                retry_after=retry_after,
            )
        secondary = self.policy.secondary
        counted = secondary is not None and (
            secondary.methods is None or method.upper() in secondary.methods
        )
        if secondary is not None and counted:
            recent = self._recent.setdefault(key, deque())
            while recent and recent[0] <= now - secondary.window_seconds:
                recent.popleft()
            if len(recent) >= secondary.max_requests:
                wait = secondary.retry_after
                if wait is None:
                    wait = max(1, math.ceil(recent[0] + secondary.window_seconds - now))
                headers = self.headers(key)
                headers["retry-after"] = str(wait)
                return RateDecision(
                    allowed=False,
                    headers=headers,
                    status=secondary.status,
                    message=secondary.message,
                    scope="secondary",
                    retry_after=wait,
                )
            recent.append(now)
        budget.remaining -= cost
        return RateDecision(allowed=True, headers=self.headers(key))

    def refund(self, credential: str | None, *, cost: int = 1) -> None:
        """Give back a charge (a 304 that the provider does not count)."""
        budget = self.budget(credential)
        budget.remaining = min(budget.limit, budget.remaining + cost)

    def used(self) -> dict[str, int]:
        """Budget each credential spent in its current window (refunded 304s excluded)."""
        return {key: budget.used for key, budget in self._budgets.items()}

    def set_remaining(self, credential: str | None, remaining: int) -> None:
        """Test setup: put ``credential``'s budget at ``remaining`` (0 exhausts it)."""
        budget = self.budget(credential)
        budget.remaining = max(0, min(budget.limit, remaining))

    def reset(self) -> None:
        """Forget every budget and burst history."""
        self._budgets.clear()
        self._recent.clear()

    def headers(self, credential: str | None) -> dict[str, str]:
        """The budget headers for ``credential`` in the policy's convention."""
        budget = self.budget(credential)
        convention = self.policy.convention
        reset_epoch = math.ceil(budget.reset_at)
        if convention is RateLimitConvention.X_RATELIMIT_EPOCH:
            headers = {
                "x-ratelimit-limit": str(budget.limit),
                "x-ratelimit-remaining": str(budget.remaining),
                "x-ratelimit-used": str(budget.used),
                "x-ratelimit-reset": str(reset_epoch),
            }
            if self.policy.resource:
                headers["x-ratelimit-resource"] = self.policy.resource
            return headers
        if convention is RateLimitConvention.RATELIMIT_EPOCH:
            return {
                "ratelimit-limit": str(budget.limit),
                "ratelimit-remaining": str(budget.remaining),
                "ratelimit-observed": str(budget.used),
                "ratelimit-reset": str(reset_epoch),
                "ratelimit-resettime": format_http_date(datetime.fromtimestamp(reset_epoch, UTC)),
            }
        if convention is RateLimitConvention.RATELIMIT_DELTA:
            return {
                "ratelimit-limit": str(budget.limit),
                "ratelimit-remaining": str(budget.remaining),
                "ratelimit-reset": str(max(0, math.ceil(budget.reset_at - self._now()))),
            }
        return {}
