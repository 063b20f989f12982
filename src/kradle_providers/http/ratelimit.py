"""Rate-limit budgets shared by everything that uses one credential.

Providers report their budget in response headers. Two header conventions
cover the first-wave providers; the parsers are named by convention and the
right one is detected from the headers present:

``X-RateLimit-*`` (:func:`parse_x_ratelimit_headers`)
    ``Limit``, ``Remaining``, ``Reset`` and optionally ``Used`` and ``Resource``.
    GitHub sends ``Reset`` as epoch seconds plus ``Used``/``Resource`` (the
    budget's scope: ``core``, ``search``, ``graphql``); Jira sends ``Reset`` as
    an ISO-8601 timestamp.
``RateLimit-*`` (:func:`parse_ratelimit_headers`)
    ``Limit``, ``Remaining``, ``Reset`` and optionally ``ResetTime``. GitLab
    sends ``Reset`` as epoch seconds (and ``ResetTime`` as an HTTP-date);
    Buildkite (and the IETF draft) send ``Reset`` as seconds *until* reset.

A reset value is read the same way everywhere (:func:`parse_reset`): a number
of at least 10**9 is an epoch timestamp, a smaller one a delay; anything else
is tried as ISO-8601, then as an HTTP-date. ``Retry-After`` (all four vendors,
GitHub secondary limits, Jira) is handled by the retry logic and recorded here
as a temporary block (:meth:`RateLimitBudget.block_until`).

A :class:`RateLimitBudget` is keyed by credential id and base URL in a
:class:`BudgetRegistry`, so every task and client using that credential sees
and spends the same budget. Before each request, :meth:`RateLimitBudget.acquire`
spaces requests out once the remaining fraction falls below a threshold (so the
budget lasts until reset) and, at zero, waits for the reset or raises
:class:`~kradle_providers.errors.RateLimited`, as the caller chose.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from email.utils import parsedate_to_datetime
from typing import Literal

from kradle_providers.clock import Clock, to_datetime
from kradle_providers.errors import RateLimited

__all__ = [
    "BudgetRegistry",
    "BudgetSnapshot",
    "OnExhausted",
    "RateLimitBudget",
    "RateLimitInfo",
    "is_rate_limit_refusal",
    "parse_rate_limit_headers",
    "parse_ratelimit_headers",
    "parse_reset",
    "parse_x_ratelimit_headers",
]

OnExhausted = Literal["wait", "raise"]

#: Values at or above this are epoch timestamps; below, seconds from now.
_EPOCH_THRESHOLD = 1_000_000_000
#: The scope used when neither the provider nor the caller names one.
DEFAULT_SCOPE = "default"
SECONDARY_SCOPE = "secondary"


@dataclass(frozen=True)
class RateLimitInfo:
    """What one response said about the budget (epoch seconds for ``reset_at``)."""

    convention: str
    limit: int | None = None
    remaining: int | None = None
    reset_at: float | None = None
    used: int | None = None
    scope: str | None = None


def _int(value: str | None) -> int | None:
    if value is None:
        return None
    try:
        return int(float(value.strip()))
    except ValueError:
        return None


def parse_reset(value: str | None, now: float) -> float | None:
    """Epoch seconds of a reset header value in any convention, or None."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        number = float(text)
    except ValueError:
        pass
    else:
        if number != number or number < 0:
            return None
        return number if number >= _EPOCH_THRESHOLD else now + number
    try:
        iso = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        iso = None
    if iso is not None:
        if iso.tzinfo is None:
            return None
        return iso.timestamp()
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None or when.tzinfo is None:
        return None
    return when.timestamp()


def parse_x_ratelimit_headers(headers: Mapping[str, str], now: float) -> RateLimitInfo | None:
    """Parse the ``X-RateLimit-*`` convention (GitHub, Jira); None when absent."""
    limit = _int(headers.get("x-ratelimit-limit"))
    remaining = _int(headers.get("x-ratelimit-remaining"))
    if limit is None and remaining is None:
        return None
    return RateLimitInfo(
        convention="x-ratelimit",
        limit=limit,
        remaining=remaining,
        reset_at=parse_reset(headers.get("x-ratelimit-reset"), now),
        used=_int(headers.get("x-ratelimit-used")),
        scope=(headers.get("x-ratelimit-resource") or None),
    )


def parse_ratelimit_headers(headers: Mapping[str, str], now: float) -> RateLimitInfo | None:
    """Parse the ``RateLimit-*`` convention (GitLab, Buildkite); None when absent."""
    limit = _int(headers.get("ratelimit-limit"))
    remaining = _int(headers.get("ratelimit-remaining"))
    if limit is None and remaining is None:
        return None
    reset_at = parse_reset(headers.get("ratelimit-reset"), now)
    if reset_at is None:
        reset_at = parse_reset(headers.get("ratelimit-resettime"), now)
    used = _int(headers.get("ratelimit-observed"))
    return RateLimitInfo(
        convention="ratelimit",
        limit=limit,
        remaining=remaining,
        reset_at=reset_at,
        used=used,
    )


def parse_rate_limit_headers(headers: Mapping[str, str], now: float) -> RateLimitInfo | None:
    """Detect the convention from the headers present and parse it; None if neither."""
    return parse_x_ratelimit_headers(headers, now) or parse_ratelimit_headers(headers, now)


def is_rate_limit_refusal(status: int, headers: Mapping[str, str], body_text: str) -> bool:
    """True when a response refuses the request because of a rate limit.

    Every 429; and a 403 that carries ``Retry-After``, reports zero remaining,
    or says "rate limit" in its body (GitHub primary and secondary limits).
    """
    if status == 429:
        return True
    if status != 403:
        return False
    if headers.get("retry-after") is not None:
        return True
    remaining = _int(headers.get("x-ratelimit-remaining") or headers.get("ratelimit-remaining"))
    if remaining == 0:
        return True
    return "rate limit" in body_text.lower()


@dataclass(frozen=True)
class BudgetSnapshot:
    """A host-readable view of one scope of one credential's budget."""

    key: str
    scope: str
    limit: int | None
    remaining: int | None
    used: int | None
    reset_at: datetime | None
    blocked_until: datetime | None
    convention: str | None


class _ScopeState:
    __slots__ = ("convention", "limit", "next_slot", "remaining", "reset_at", "used")

    def __init__(self) -> None:
        self.limit: int | None = None
        self.remaining: int | None = None
        self.used: int | None = None
        self.reset_at: float | None = None
        self.convention: str | None = None
        # Earliest time the next paced request may start.
        self.next_slot: float = 0.0


class RateLimitBudget:
    """One credential's budget at one API base URL, shared by all its users.

    ``slow_down_below`` is the remaining fraction under which requests are
    spaced out evenly over the time left until reset. The budget is safe to
    share between asyncio tasks, event loops and threads.
    """

    def __init__(self, key: str, *, slow_down_below: float = 0.1) -> None:
        if not 0.0 <= slow_down_below <= 1.0:
            raise ValueError("slow_down_below is a fraction between 0 and 1")
        self.key = key
        self.slow_down_below = slow_down_below
        self._scopes: dict[str, _ScopeState] = {}
        self._default_alias: str | None = None
        self._blocked_until = 0.0
        # Held only around synchronous bookkeeping (never across an await), so a
        # thread lock is enough and the budget may be shared between event loops.
        self._lock = threading.Lock()

    def _resolve(self, scope: str | None) -> str:
        return scope or self._default_alias or DEFAULT_SCOPE

    def _state(self, scope: str | None) -> _ScopeState:
        name = self._resolve(scope)
        state = self._scopes.get(name)
        if state is None:
            state = self._scopes[name] = _ScopeState()
        return state

    async def acquire(
        self,
        clock: Clock,
        *,
        cost: int = 1,
        scope: str | None = None,
        on_exhausted: OnExhausted = "wait",
        provider: str | None = None,
    ) -> None:
        """Wait until a request costing ``cost`` may be sent, then reserve it.

        Raises :class:`RateLimited` instead of waiting when the budget is
        exhausted (or blocked by a Retry-After) and ``on_exhausted="raise"``.
        """
        while True:
            with self._lock:
                now = clock.now()
                if self._blocked_until > now:
                    wait = self._blocked_until - now
                    if on_exhausted == "raise":
                        raise RateLimited(
                            f"the provider asked to pause requests for {wait:.0f}s "
                            "(secondary rate limit); retry after reset_at or use "
                            'on_exhausted="wait"',
                            reset_at=to_datetime(self._blocked_until),
                            scope=SECONDARY_SCOPE,
                            retry_after=wait,
                            provider=provider,
                            status=None,
                        )
                else:
                    outcome = self._reserve(now, cost, scope, on_exhausted, provider)
                    if outcome is None:
                        return
                    if outcome >= 0:
                        pacing = outcome
                        break
                    wait = -outcome
            # Exhausted or blocked: wait outside the lock, then look again.
            await clock.sleep(wait)
        # Reserved, but paced: the slot starts after this delay.
        await clock.sleep(pacing)

    def _reserve(
        self,
        now: float,
        cost: int,
        scope: str | None,
        on_exhausted: OnExhausted,
        provider: str | None,
    ) -> float | None:
        """Reserve ``cost``. None: go now; >=0: go after that pacing delay;
        <0: exhausted, wait ``-value`` then re-check."""
        state = self._state(scope)
        if state.reset_at is not None and now >= state.reset_at:
            # The window rolled over; assume a full budget until told otherwise.
            state.remaining = state.limit
            state.reset_at = None
            state.next_slot = 0.0
        if state.remaining is None:
            return None
        if state.remaining < cost:
            if state.reset_at is None:
                # No known reset: let the request go; the provider will answer.
                return None
            if on_exhausted == "raise":
                raise RateLimited(
                    f"rate-limit budget {self._resolve(scope)!r} is exhausted until "
                    f"{to_datetime(state.reset_at).isoformat()}; retry after reset_at, or "
                    'construct the client with on_exhausted="wait"',
                    reset_at=to_datetime(state.reset_at),
                    scope=self._resolve(scope),
                    retry_after=state.reset_at - now,
                    provider=provider,
                    status=None,
                )
            return -max(state.reset_at - now, 0.0)
        delay = 0.0
        if (
            state.limit
            and state.reset_at is not None
            and state.remaining / state.limit < self.slow_down_below
        ):
            interval = (state.reset_at - now) / max(state.remaining, 1) * cost
            start = max(now, state.next_slot)
            state.next_slot = start + interval
            delay = start - now
        state.remaining -= cost
        return delay if delay > 0 else None

    def refund(self, cost: int, scope: str | None = None) -> None:
        """Give back a reservation the provider did not charge (e.g. a 304)."""
        with self._lock:
            state = self._state(scope)
            if state.remaining is not None:
                state.remaining = (
                    min(state.limit, state.remaining + cost)
                    if state.limit is not None
                    else state.remaining + cost
                )

    def observe(self, info: RateLimitInfo, *, scope: str | None = None) -> None:
        """Record what a response said; the provider's numbers win over estimates."""
        with self._lock:
            if scope is None and info.scope and self._default_alias is None:
                # Unscoped requests spend the provider's default budget (e.g. "core").
                self._default_alias = info.scope
                placeholder = self._scopes.get(DEFAULT_SCOPE)
                if placeholder is not None and placeholder.limit is None:
                    del self._scopes[DEFAULT_SCOPE]
            state = self._state(info.scope or scope)
            same_window = info.reset_at is not None and state.reset_at == info.reset_at
            if info.limit is not None:
                state.limit = info.limit
            if info.remaining is not None:
                if same_window and state.remaining is not None:
                    # In-flight reservations are not in the provider's count yet.
                    state.remaining = min(state.remaining, info.remaining)
                else:
                    state.remaining = info.remaining
            if info.used is not None:
                state.used = info.used
            if info.reset_at is not None and not same_window:
                state.reset_at = info.reset_at
                state.next_slot = 0.0
            state.convention = info.convention

    def block_until(self, until: float) -> None:
        """Pause every user of this budget until ``until`` (epoch seconds)."""
        with self._lock:
            self._blocked_until = max(self._blocked_until, until)

    def snapshot(self) -> list[BudgetSnapshot]:
        """The current view of every scope seen so far."""
        blocked = to_datetime(self._blocked_until) if self._blocked_until else None
        return [
            BudgetSnapshot(
                key=self.key,
                scope=name,
                limit=s.limit,
                remaining=s.remaining,
                used=s.used,
                reset_at=to_datetime(s.reset_at) if s.reset_at is not None else None,
                blocked_until=blocked,
                convention=s.convention,
            )
            for name, s in sorted(self._scopes.items())
        ]

    def current(self, scope: str | None = None) -> BudgetSnapshot | None:
        """The view of one scope (the default one when ``scope`` is None)."""
        name = self._resolve(scope)
        return next((s for s in self.snapshot() if s.scope == name), None)

    def __repr__(self) -> str:
        parts = ", ".join(f"{n}={s.remaining}/{s.limit}" for n, s in sorted(self._scopes.items()))
        return f"RateLimitBudget({self.key!r}, {parts})"


class BudgetRegistry:
    """Budgets keyed by (credential id, base URL); share one per process or host."""

    def __init__(self, *, slow_down_below: float = 0.1) -> None:
        self.slow_down_below = slow_down_below
        self._budgets: dict[str, RateLimitBudget] = {}
        self._lock = threading.Lock()

    @staticmethod
    def key(credential_id: str, base_url: str) -> str:
        """The registry key of a credential at a base URL."""
        return f"{credential_id}@{base_url.rstrip('/')}"

    def budget_for(self, credential_id: str, base_url: str) -> RateLimitBudget:
        """The shared budget for this credential at this base URL (created on first use)."""
        key = self.key(credential_id, base_url)
        with self._lock:
            budget = self._budgets.get(key)
            if budget is None:
                budget = self._budgets[key] = RateLimitBudget(
                    key, slow_down_below=self.slow_down_below
                )
            return budget

    def snapshot(self) -> dict[str, list[BudgetSnapshot]]:
        """Every budget's view, by key (for host dashboards and health checks)."""
        with self._lock:
            budgets = list(self._budgets.values())
        return {b.key: b.snapshot() for b in budgets}
