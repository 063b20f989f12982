"""When and how long to wait before sending a request again.

A :class:`RetryPolicy` bounds the number of attempts and computes jittered
exponential backoff; :func:`parse_retry_after` reads ``Retry-After`` in either
of its RFC 9110 forms (delta-seconds or an HTTP-date). Whether a request *may*
be re-sent at all (idempotency) is decided here too, so the rule lives once.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime

__all__ = [
    "IDEMPOTENT_METHODS",
    "RetryPolicy",
    "is_idempotent_method",
    "parse_retry_after",
]

#: Methods that can be re-sent freely: repeating them leaves the same state.
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS", "TRACE"})


def is_idempotent_method(method: str) -> bool:
    """True for methods that may be retried without an idempotency key."""
    return method.upper() in IDEMPOTENT_METHODS


def parse_retry_after(value: str | None, now: float) -> float | None:
    """Seconds to wait per a ``Retry-After`` header value, or None if unusable.

    ``value`` is delta-seconds (``"120"``) or an HTTP-date
    (``"Wed, 21 Oct 2015 07:28:00 GMT"``); ``now`` is epoch seconds. A date in
    the past means "now" (0.0). Garbage returns None so the caller falls back
    to its own backoff.
    """
    if value is None:
        return None
    text = value.strip()
    if not text:
        return None
    try:
        seconds = float(text)
    except ValueError:
        pass
    else:
        if seconds != seconds or seconds in (float("inf"), float("-inf")):
            return None
        return max(0.0, seconds)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None or when.tzinfo is None:
        # RFC 9110 HTTP-dates are always GMT; a naive result means it was not one.
        return None
    return max(0.0, when.timestamp() - now)


@dataclass(frozen=True)
class RetryPolicy:
    """Bounded attempts with jittered exponential backoff.

    ``max_attempts`` counts every send, the first included (1 = never retry).
    Backoff for retry ``n`` (1-based) is ``base_delay * multiplier**(n-1)``,
    capped at ``max_delay``, then scaled by a random factor in
    ``[1 - jitter, 1]`` drawn from ``rng`` (inject a seeded ``random.Random``
    for reproducible tests). A server-given wait (``Retry-After``, rate-limit
    reset) is honoured exactly instead, unless it exceeds ``max_server_wait``:
    then the client gives up at once and raises
    :class:`~kradle_providers.errors.RateLimited` so the caller can reschedule.
    """

    max_attempts: int = 4
    base_delay: float = 0.5
    multiplier: float = 2.0
    max_delay: float = 30.0
    jitter: float = 0.5
    max_server_wait: float = 900.0
    rng: Callable[[], float] = field(default=random.random, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("RetryPolicy.max_attempts must be >= 1 (1 disables retries)")
        if not 0.0 <= self.jitter <= 1.0:
            raise ValueError("RetryPolicy.jitter is a fraction between 0 and 1")
        if self.base_delay < 0 or self.max_delay < 0:
            raise ValueError("RetryPolicy delays must be non-negative")

    def can_retry(self, attempt: int) -> bool:
        """True when attempt number ``attempt`` (1-based, just failed) may be followed."""
        return attempt < self.max_attempts

    def backoff(self, attempt: int) -> float:
        """Seconds to wait after failed attempt ``attempt`` (1-based)."""
        exponent = max(0, attempt - 1)
        raw = min(self.max_delay, self.base_delay * (self.multiplier**exponent))
        factor = 1.0 - self.jitter * self.rng()
        return max(0.0, raw * factor)


#: No retries at all: one attempt, errors surface at once.
NO_RETRY = RetryPolicy(max_attempts=1)
