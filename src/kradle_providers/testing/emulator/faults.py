"""Fault injection by rule.

``app.faults.add(Rule(kind=FaultKind.STATUS, match="POST /widgets", status=502))``
makes the next matching request fail. A rule matches on method, a path regex
(searched; anchor it with ``^…$``) and/or the route's operation name; ``match``
is a shorthand (``"POST ^/widgets$"``, ``"/widgets"``, ``"createWidget"``).
``times`` limits how often it fires (``None``: always), ``skip`` lets the first
matching requests through (``skip=2``: the third one fails).

Kinds and where they work:

========================  =========  ===========================================
kind                      processed  in-process transport / loopback port
========================  =========  ===========================================
``STATUS`` (5xx…)         no         both: the status and body are answered
``RATE_LIMIT``            no         both: 429 + ``Retry-After``
``SECONDARY_LIMIT``       no         both: 403 (or ``status``) + ``Retry-After``
``TIMEOUT``               opt.       in-process: ``httpx.ReadTimeout`` at once;
                                     loopback: the answer waits ``delay`` seconds
                                     (or until the client gives up)
``DROPPED``               yes        in-process: ``httpx.RemoteProtocolError``
                                     after the handler ran; loopback: the
                                     connection closes mid-response
``TRUNCATED``             yes        both: the body is cut to ``truncate_to``
                                     bytes (default half) with a matching
                                     ``Content-Length``, so parsing fails
========================  =========  ===========================================

"processed" says whether the handler ran, i.e. whether state changed: a
``DROPPED`` POST created its object although the client saw no response,
which is how tests prove a retried write is not duplicated.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

__all__ = ["FaultInjector", "FaultKind", "FaultSignal", "Rule"]

_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


class FaultKind(StrEnum):
    """What goes wrong."""

    STATUS = "status"
    RATE_LIMIT = "rate_limit"
    SECONDARY_LIMIT = "secondary_limit"
    TIMEOUT = "timeout"
    DROPPED = "dropped"
    TRUNCATED = "truncated"


_DEFAULT_STATUS = {
    FaultKind.STATUS: 500,
    FaultKind.RATE_LIMIT: 429,
    FaultKind.SECONDARY_LIMIT: 403,
}

_DEFAULT_MESSAGE = {
    FaultKind.STATUS: "Server Error",
    FaultKind.RATE_LIMIT: "API rate limit exceeded",
    FaultKind.SECONDARY_LIMIT: (
        "You have exceeded a secondary rate limit. Please wait a few minutes before you try again."
    ),
}


@dataclass(eq=False)
class Rule:
    """One fault: which requests it hits, how often, and what happens.

    - ``status``/``message``/``body``/``headers``: the answer of ``STATUS`` and
      limit kinds (``body=None`` uses the emulator's error formatter with
      ``message``).
    - ``retry_after``: seconds in ``Retry-After`` for the limit kinds.
    - ``delay``: how long a ``TIMEOUT`` holds the answer on a loopback port.
    - ``processed``: whether a ``TIMEOUT``/``DROPPED`` request still reaches the
      handler (defaults: timeout no, dropped yes).
    - ``truncate_to``: bytes of body a ``TRUNCATED`` answer keeps.
    """

    kind: FaultKind = FaultKind.STATUS
    match: str | None = None
    method: str | None = None
    path: str | None = None
    operation: str | None = None
    times: int | None = 1
    skip: int = 0
    status: int | None = None
    message: str | None = None
    body: Any = None
    headers: Mapping[str, str] = field(default_factory=dict)
    retry_after: int = 60
    delay: float = 30.0
    processed: bool | None = None
    truncate_to: int | None = None
    seen: int = field(default=0, init=False)
    fired: int = field(default=0, init=False)

    def __post_init__(self) -> None:
        self.kind = FaultKind(self.kind)
        if self.match:
            self._apply_shorthand(self.match)
        if self.method:
            self.method = self.method.upper()
        self._path_re = re.compile(self.path) if self.path else None
        if self.times is not None and self.times < 1:
            raise ValueError("Rule.times must be at least 1 (or None for every request)")

    def _apply_shorthand(self, match: str) -> None:
        head, _, rest = match.strip().partition(" ")
        if head.upper() in _METHODS:
            self.method = self.method or head.upper()
            target = rest.strip()
        else:
            target = match.strip()
        if not target:
            return
        if target.startswith(("/", "^")):
            self.path = self.path or target
        else:
            self.operation = self.operation or target

    @property
    def answer_status(self) -> int:
        """The status a ``STATUS``/limit fault answers with."""
        return self.status or _DEFAULT_STATUS.get(self.kind, 500)

    @property
    def answer_message(self) -> str:
        """The message given to the error formatter."""
        return self.message or _DEFAULT_MESSAGE.get(self.kind, "Server Error")

    @property
    def reaches_handler(self) -> bool:
        """Whether the request is still processed (state changes) under this fault."""
        if self.kind is FaultKind.TRUNCATED:
            return True
        if self.kind is FaultKind.DROPPED:
            return self.processed is not False
        if self.kind is FaultKind.TIMEOUT:
            return bool(self.processed)
        return False

    @property
    def exhausted(self) -> bool:
        """True once the rule fired ``times`` times."""
        return self.times is not None and self.fired >= self.times

    def matches(self, method: str, path: str, operation: str | None) -> bool:
        """Whether the rule applies to this request (ignoring its counters)."""
        if self.method and self.method != method.upper():
            return False
        if self._path_re is not None and not self._path_re.search(path):
            return False
        return not (self.operation and self.operation != operation)


@dataclass
class FaultSignal:
    """Set by the app for the in-process transport: how to break the response."""

    kind: FaultKind | None = None
    rule: Rule | None = None


SIGNAL_SCOPE_KEY = "kradle.emulator.fault_signal"
"""ASGI scope key under which the in-process transport passes a FaultSignal."""


class FaultInjector:
    """The rules of one emulator, consulted once per request in order of addition."""

    def __init__(self) -> None:
        self.rules: list[Rule] = []
        self.history: list[tuple[Rule, str, str]] = []

    def add(self, rule: Rule | None = None, /, **fields: Any) -> Rule:
        """Add ``rule`` (or ``Rule(**fields)``) and return it."""
        if rule is None:
            rule = Rule(**fields)
        elif fields:
            raise TypeError("pass either a Rule or its fields, not both")
        self.rules.append(rule)
        return rule

    def take(self, method: str, path: str, operation: str | None) -> Rule | None:
        """The rule that fires for this request, if any (counts it as fired)."""
        for rule in self.rules:
            if rule.exhausted or not rule.matches(method, path, operation):
                continue
            rule.seen += 1
            if rule.seen <= rule.skip:
                continue
            rule.fired += 1
            self.history.append((rule, method.upper(), path))
            return rule
        return None

    @property
    def pending(self) -> list[Rule]:
        """Rules that can still fire."""
        return [r for r in self.rules if not r.exhausted]

    def clear(self) -> None:
        """Remove every rule and forget the history."""
        self.rules.clear()
        self.history.clear()

    def assert_all_fired(self) -> None:
        """Fail when a finite rule did not fire as often as it should have."""
        unfired = [r for r in self.rules if r.times is not None and not r.exhausted]
        if unfired:
            described = "; ".join(
                f"{r.kind} method={r.method} path={r.path} operation={r.operation} "
                f"fired {r.fired}/{r.times}"
                for r in unfired
            )
            raise AssertionError(f"fault rules did not fire: {described}")
