"""The record of every request an emulator received, to assert against.

Credential-bearing headers are kept with their value replaced by ``***`` (so a
test can still see that one was sent), and bodies pass through
:func:`kradle_providers.auth.secret.redact`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, overload
from urllib.parse import parse_qsl

from kradle_providers.auth.secret import REDACTED, is_sensitive_header, redact

__all__ = ["LoggedRequest", "RequestLog", "scrub_headers"]


def scrub_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """Lower-cased headers with credential values replaced by ``***``."""
    return {
        k.lower(): (REDACTED if is_sensitive_header(k) else redact(v)) for k, v in headers.items()
    }


def scrub_body(body: bytes) -> bytes:
    """``body`` with known secret values removed (binary bodies are kept as is)."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return body
    return redact(text).encode("utf-8")


@dataclass(frozen=True)
class LoggedRequest:
    """One request and what the emulator answered.

    ``operation`` is the matched route's name (``None`` when unmatched),
    ``credential`` the id the authentication hook gave, ``fault`` the kind of
    fault injected, if any.
    """

    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: bytes
    status: int
    time: datetime
    operation: str | None = None
    matched: bool = True
    credential: str | None = None
    fault: str | None = None
    response_headers: dict[str, str] = field(default_factory=dict)

    @property
    def params(self) -> dict[str, str]:
        """The query string as a dict (last value wins)."""
        return dict(parse_qsl(self.query, keep_blank_values=True))

    def json(self) -> Any:
        """The body parsed as JSON (``None`` when empty)."""
        return json.loads(self.body) if self.body else None

    def __str__(self) -> str:
        query = f"?{self.query}" if self.query else ""
        op = f" [{self.operation}]" if self.operation else ""
        return f"{self.method} {self.path}{query} -> {self.status}{op}"


class RequestLog(Sequence[LoggedRequest]):
    """Every request in arrival order, with filters for assertions."""

    def __init__(self) -> None:
        self._entries: list[LoggedRequest] = []

    def append(self, entry: LoggedRequest) -> None:
        """Record one request."""
        self._entries.append(entry)

    def clear(self) -> None:
        """Forget every request."""
        self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)

    @overload
    def __getitem__(self, index: int) -> LoggedRequest: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[LoggedRequest]: ...
    def __getitem__(self, index: int | slice) -> LoggedRequest | Sequence[LoggedRequest]:
        return self._entries[index]

    def __iter__(self) -> Iterator[LoggedRequest]:
        return iter(list(self._entries))

    @property
    def last(self) -> LoggedRequest | None:
        """The most recent request, or ``None``."""
        return self._entries[-1] if self._entries else None

    def filter(
        self,
        *,
        method: str | None = None,
        path: str | None = None,
        operation: str | None = None,
        status: int | None = None,
    ) -> list[LoggedRequest]:
        """Requests matching all given criteria; ``path`` is a regex searched in the path."""
        path_re = re.compile(path) if path else None
        return [
            e
            for e in self._entries
            if (method is None or e.method == method.upper())
            and (path_re is None or path_re.search(e.path))
            and (operation is None or e.operation == operation)
            and (status is None or e.status == status)
        ]

    def count(self, *args: Any, **criteria: Any) -> int:
        """How many requests match (same criteria as :meth:`filter`)."""
        if args:
            return self._entries.count(args[0])
        return len(self.filter(**criteria))

    def assert_none(self, **criteria: Any) -> None:
        """Fail when any request matches (``assert_none()``: no request at all)."""
        found = self.filter(**criteria)
        if found:
            listed = "\n  ".join(str(e) for e in found[:20])
            raise AssertionError(f"expected no matching request, got {len(found)}:\n  {listed}")
