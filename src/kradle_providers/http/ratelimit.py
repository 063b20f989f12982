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

Replicas sharing a credential share its budget through a
:class:`BudgetBackend` (``BudgetRegistry(backend=...)``): the state store's
``budgets`` (SQLite or PostgreSQL) or an :class:`InMemoryBudgetBackend`. Each
reservation is then one atomic read-modify-write of the shared state, so N
replicas together never reserve more than the provider's remaining budget;
what a replica observes in responses (remaining, reset, Retry-After blocks) is
merged into the shared state with its next reservation.
"""

from __future__ import annotations

import copy
import json
import threading
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime
from email.utils import parsedate_to_datetime
from typing import Any, Literal, Protocol, TypeVar

from kradle_providers.errors import RateLimited
from kradle_providers.http.clock import Clock, to_datetime

__all__ = [
    "BudgetBackend",
    "BudgetRegistry",
    "BudgetSnapshot",
    "BudgetState",
    "InMemoryBudgetBackend",
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


@dataclass
class _ScopeState:
    limit: int | None = None
    remaining: int | None = None
    used: int | None = None
    reset_at: float | None = None
    convention: str | None = None
    # Earliest time the next paced request may start.
    next_slot: float = 0.0


@dataclass
class BudgetState:
    """Everything one budget knows: per-scope numbers, the default scope, a block.

    Kept by a :class:`BudgetBackend` as JSON (:meth:`to_json`) when shared.
    """

    scopes: dict[str, _ScopeState] = field(default_factory=dict)
    default_alias: str | None = None
    blocked_until: float = 0.0

    def to_json(self) -> str:
        """The stored form."""
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str | None) -> BudgetState:
        """Read the stored form (``None`` or ``""``: a new, empty state)."""
        if not text:
            return cls()
        data: dict[str, Any] = json.loads(text)
        scopes = {name: _ScopeState(**raw) for name, raw in data.get("scopes", {}).items()}
        return cls(
            scopes=scopes,
            default_alias=data.get("default_alias"),
            blocked_until=float(data.get("blocked_until", 0.0)),
        )


T = TypeVar("T")
_Op = Callable[[BudgetState], None]


class BudgetBackend(Protocol):
    """Where budgets shared by several processes live.

    ``transact`` reads the state stored under ``key`` (a new
    :class:`BudgetState` if none), calls ``fn`` on it (``fn`` changes it in
    place and never raises), stores the result and returns what ``fn``
    returned: all atomically with respect to every other ``transact`` on the
    key, in any process using the backend.
    """

    def transact(self, key: str, fn: Callable[[BudgetState], T]) -> Awaitable[T]: ...


class InMemoryBudgetBackend:
    """A :class:`BudgetBackend` in this process (several registries sharing budgets)."""

    def __init__(self) -> None:
        self._states: dict[str, str] = {}
        self._lock = threading.Lock()

    async def transact(self, key: str, fn: Callable[[BudgetState], T]) -> T:
        """Apply ``fn`` to the state under ``key`` atomically."""
        with self._lock:
            state = BudgetState.from_json(self._states.get(key))
            result = fn(state)
            self._states[key] = state.to_json()
            return result


class RateLimitBudget:
    """One credential's budget at one API base URL, shared by all its users.

    ``slow_down_below`` is the remaining fraction under which requests are
    spaced out evenly over the time left until reset. The budget is safe to
    share between asyncio tasks, event loops and threads; with a ``backend``
    it is shared with every process using that backend (see the module doc).
    """

    def __init__(
        self,
        key: str,
        *,
        slow_down_below: float = 0.1,
        backend: BudgetBackend | None = None,
    ) -> None:
        if not 0.0 <= slow_down_below <= 1.0:
            raise ValueError("slow_down_below is a fraction between 0 and 1")
        self.key = key
        self.slow_down_below = slow_down_below
        self.backend = backend
        self._local = BudgetState()
        # Changes made since the last exchange with the backend, replayed into it.
        self._pending: list[_Op] = []
        # Held only around synchronous bookkeeping (never across an await), so a
        # thread lock is enough and the budget may be shared between event loops.
        self._lock = threading.Lock()

    def _apply(self, op: _Op) -> None:
        """Apply a change locally now and, when shared, to the backend with the next reservation."""
        with self._lock:
            op(self._local)
            if self.backend is not None:
                self._pending.append(op)

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
            now = clock.now()
            outcome = await self._decide(now, cost, scope, on_exhausted, provider)
            if isinstance(outcome, RateLimited):
                raise outcome
            if outcome is None:
                return
            if outcome >= 0:
                # Reserved, but paced: the slot starts after this delay.
                await clock.sleep(outcome)
                return
            # Exhausted or blocked: wait, then look again.
            await clock.sleep(-outcome)

    async def _decide(
        self,
        now: float,
        cost: int,
        scope: str | None,
        on_exhausted: OnExhausted,
        provider: str | None,
    ) -> float | RateLimited | None:
        def decide(state: BudgetState) -> float | RateLimited | None:
            return _reserve(state, now, cost, scope, on_exhausted, provider, self.slow_down_below)

        if self.backend is None:
            with self._lock:
                return decide(self._local)
        with self._lock:
            pending, self._pending = self._pending, []

        def shared(state: BudgetState) -> tuple[float | RateLimited | None, BudgetState]:
            for op in pending:
                op(state)
            return decide(state), copy.deepcopy(state)

        try:
            outcome, seen = await self.backend.transact(self.key, shared)
        except BaseException:
            with self._lock:
                self._pending[:0] = pending  # not stored: replay with the next exchange
            raise
        with self._lock:
            # The shared view, plus what happened here meanwhile.
            for op in self._pending:
                op(seen)
            self._local = seen
        return outcome

    def refund(self, cost: int, scope: str | None = None) -> None:
        """Give back a reservation the provider did not charge (e.g. a 304)."""
        self._apply(lambda state: _refund(state, cost, scope))

    def observe(self, info: RateLimitInfo, *, scope: str | None = None) -> None:
        """Record what a response said; the provider's numbers win over estimates."""
        self._apply(lambda state: _observe(state, info, scope))

    def block_until(self, until: float) -> None:
        """Pause every user of this budget until ``until`` (epoch seconds)."""

        def block(state: BudgetState) -> None:
            state.blocked_until = max(state.blocked_until, until)

        self._apply(block)

    def snapshot(self) -> list[BudgetSnapshot]:
        """The current view of every scope seen so far (shared: as of the last reservation)."""
        with self._lock:
            local = copy.deepcopy(self._local)
        blocked = to_datetime(local.blocked_until) if local.blocked_until else None
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
            for name, s in sorted(local.scopes.items())
        ]

    def current(self, scope: str | None = None) -> BudgetSnapshot | None:
        """The view of one scope (the default one when ``scope`` is None)."""
        name = _resolve(self._local, scope)
        return next((s for s in self.snapshot() if s.scope == name), None)

    def __repr__(self) -> str:
        scopes = sorted(self._local.scopes.items())
        parts = ", ".join(f"{n}={s.remaining}/{s.limit}" for n, s in scopes)
        return f"RateLimitBudget({self.key!r}, {parts})"


def _resolve(state: BudgetState, scope: str | None) -> str:
    return scope or state.default_alias or DEFAULT_SCOPE


def _scope(state: BudgetState, scope: str | None) -> _ScopeState:
    name = _resolve(state, scope)
    found = state.scopes.get(name)
    if found is None:
        found = state.scopes[name] = _ScopeState()
    return found


def _reserve(
    budget: BudgetState,
    now: float,
    cost: int,
    scope: str | None,
    on_exhausted: OnExhausted,
    provider: str | None,
    slow_down_below: float,
) -> float | RateLimited | None:
    """Reserve ``cost``. None: go now; >=0: go after that pacing delay; <0: exhausted or
    blocked, wait ``-value`` then re-check; RateLimited: raise it (``on_exhausted="raise"``)."""
    if budget.blocked_until > now:
        wait = budget.blocked_until - now
        if on_exhausted == "raise":
            return RateLimited(
                f"the provider asked to pause requests for {wait:.0f}s "
                "(secondary rate limit); retry after reset_at or use "
                'on_exhausted="wait"',
                reset_at=to_datetime(budget.blocked_until),
                scope=SECONDARY_SCOPE,
                retry_after=wait,
                provider=provider,
                status=None,
            )
        return -wait
    state = _scope(budget, scope)
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
            return RateLimited(
                f"rate-limit budget {_resolve(budget, scope)!r} is exhausted until "
                f"{to_datetime(state.reset_at).isoformat()}; retry after reset_at, or "
                'construct the client with on_exhausted="wait"',
                reset_at=to_datetime(state.reset_at),
                scope=_resolve(budget, scope),
                retry_after=state.reset_at - now,
                provider=provider,
                status=None,
            )
        return -max(state.reset_at - now, 0.0)
    delay = 0.0
    if (
        state.limit
        and state.reset_at is not None
        and state.remaining / state.limit < slow_down_below
    ):
        interval = (state.reset_at - now) / max(state.remaining, 1) * cost
        start = max(now, state.next_slot)
        state.next_slot = start + interval
        delay = start - now
    state.remaining -= cost
    return delay if delay > 0 else None


def _refund(budget: BudgetState, cost: int, scope: str | None) -> None:
    state = _scope(budget, scope)
    if state.remaining is not None:
        state.remaining = (
            min(state.limit, state.remaining + cost)
            if state.limit is not None
            else state.remaining + cost
        )


def _observe(budget: BudgetState, info: RateLimitInfo, scope: str | None) -> None:
    if scope is None and info.scope and budget.default_alias is None:
        # Unscoped requests spend the provider's default budget (e.g. "core").
        budget.default_alias = info.scope
        placeholder = budget.scopes.get(DEFAULT_SCOPE)
        if placeholder is not None and placeholder.limit is None:
            del budget.scopes[DEFAULT_SCOPE]
    state = _scope(budget, info.scope or scope)
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


class BudgetRegistry:
    """Budgets keyed by (credential id, base URL); share one per process or host.

    With a ``backend`` every budget is shared with the other processes using
    that backend (:meth:`share_with` switches an existing registry over).
    """

    def __init__(
        self, *, slow_down_below: float = 0.1, backend: BudgetBackend | None = None
    ) -> None:
        self.slow_down_below = slow_down_below
        self.backend = backend
        self._budgets: dict[str, RateLimitBudget] = {}
        self._lock = threading.Lock()

    def share_with(self, backend: BudgetBackend | None) -> None:
        """Share every budget (existing and future) through ``backend`` (``None``: stop)."""
        with self._lock:
            self.backend = backend
            for budget in self._budgets.values():
                budget.backend = backend

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
                    key, slow_down_below=self.slow_down_below, backend=self.backend
                )
            return budget

    def snapshot(self) -> dict[str, list[BudgetSnapshot]]:
        """Every budget's view, by key (for host dashboards and health checks)."""
        with self._lock:
            budgets = list(self._budgets.values())
        return {b.key: b.snapshot() for b in budgets}
