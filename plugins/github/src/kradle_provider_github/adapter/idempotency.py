"""Synthetic idempotency keys for GitHub writes.

GitHub has no idempotency header. To make "create" safe to retry after a lost
response, the adapter carries the caller's key inside the object it creates,
where a later read can find it again:

- issues, comments and pull requests: a hidden HTML comment at the end of the
  body, ``<!-- kradle-idempotency-key: KEY -->`` (invisible when rendered);
- check runs: the ``external_id`` field, which GitHub stores and returns.

Before re-sending a create whose response was lost, the transport calls the
adapter's read-back, which lists the newest objects and returns the one that
carries the key, so the write happens once.
"""

from __future__ import annotations

import re

from kradle_providers.errors import InvalidInput

__all__ = ["MARKER_PREFIX", "carries_key", "check_key", "marker", "with_marker"]

MARKER_PREFIX = "<!-- kradle-idempotency-key: "
_MARKER_SUFFIX = " -->"
# Printable, no whitespace and no "--" so the key can never end the HTML comment early.
_KEY = re.compile(r"^[A-Za-z0-9._:/+=@-]{1,200}$")


def check_key(key: str) -> str:
    """Return ``key`` if it can travel in a marker/external_id, else raise InvalidInput."""
    if not _KEY.match(key) or "--" in key:
        raise InvalidInput(
            "idempotency keys must be 1-200 characters of letters, digits and ._:/+=@- "
            "without '--' (they are stored inside an HTML comment on GitHub); "
            "a UUID works",
            field="idempotency_key",
        )
    return key


def marker(key: str) -> str:
    """The hidden marker that carries ``key`` in a body."""
    return f"{MARKER_PREFIX}{check_key(key)}{_MARKER_SUFFIX}"


def with_marker(body: str | None, key: str) -> str:
    """``body`` with the key's marker appended (once; an existing marker is kept)."""
    mark = marker(key)
    text = body or ""
    if mark in text:
        return text
    return f"{text}\n\n{mark}" if text else mark


def carries_key(body: object, key: str) -> bool:
    """True when a GitHub body (any JSON value) holds ``key``'s marker."""
    return isinstance(body, str) and marker(key) in body
