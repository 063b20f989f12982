"""Synthetic idempotency keys for GitLab writes.

GitLab has no idempotency header for API writes. To make a create safe to
retry after a lost response, the adapter carries the caller's key inside the
object it creates, where a later read finds it: a hidden Markdown comment at
the end of an issue's or merge request's description or a note's body,
``<!-- kradle-idempotency-key: KEY -->`` (GitLab renders it invisible).
"""

from __future__ import annotations

import re

from kradle_providers.errors import InvalidInput

__all__ = ["carries_key", "marker", "with_marker"]

_KEY = re.compile(r"^[A-Za-z0-9._:/+=@-]{1,200}$")


def marker(key: str) -> str:
    """The hidden marker that carries ``key`` (InvalidInput for keys it cannot carry)."""
    if not _KEY.match(key) or "--" in key:
        raise InvalidInput(
            "idempotency keys must be 1-200 characters of letters, digits and ._:/+=@- "
            "without '--' (they travel inside an HTML comment); a UUID works",
            field="idempotency_key",
        )
    return f"<!-- kradle-idempotency-key: {key} -->"


def with_marker(body: str | None, key: str) -> str:
    """``body`` with the key's marker appended (once)."""
    mark = marker(key)
    text = body or ""
    if mark in text:
        return text
    return f"{text}\n\n{mark}" if text else mark


def carries_key(body: object, key: str) -> bool:
    """True when a GitLab text field holds ``key``'s marker."""
    return isinstance(body, str) and marker(key) in body
