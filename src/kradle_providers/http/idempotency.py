"""Synthetic idempotency keys: a create made safe to retry on a provider without a key header.

Most providers take no idempotency key. To make a create safe to retry after a
lost response, the adapter carries the caller's key inside the object it
creates, where a later read finds it: a hidden marker at the end of a
Markdown body or description, ``<!-- kradle-idempotency-key: KEY -->``
(invisible when rendered). Before :class:`~kradle_providers.http.HttpClient`
re-sends a create whose response was lost, it calls the adapter's
``read_back``, which lists the newest objects and returns the one carrying the
key, so the write happens once (manifest: ``idempotency: {mode: synthetic-key}``).

Adapters map the marker out of what users see with :func:`marked_rich_text`:
the canonical ``markdown`` hides it, ``source`` keeps the stored text.
"""

from __future__ import annotations

import re

from kradle_providers.errors import InvalidInput
from kradle_providers.models.richtext import RichText, SourceFormat

__all__ = [
    "IDEMPOTENCY_MARKER_PREFIX",
    "carries_idempotency_key",
    "check_idempotency_key",
    "idempotency_marker",
    "marked_rich_text",
    "with_idempotency_marker",
]

IDEMPOTENCY_MARKER_PREFIX = "<!-- kradle-idempotency-key: "
"""How every marker starts; the key and `` -->`` follow."""
_SUFFIX = " -->"
# Printable, no whitespace and no "--" so the key can never end the HTML comment early.
_KEY = re.compile(r"^[A-Za-z0-9._:/+=@-]{1,200}$")
# A marker at the very end of a stored text (where with_idempotency_marker puts it).
_TRAILING = re.compile(r"(?:\n\n)?<!-- kradle-idempotency-key: [A-Za-z0-9._:/+=@-]{1,200} -->\s*\Z")


def check_idempotency_key(key: str) -> str:
    """Return ``key`` if it can travel in a marker (or a provider's external id field).

    Raises :class:`~kradle_providers.errors.InvalidInput` otherwise.
    """
    if not _KEY.match(key) or "--" in key:
        raise InvalidInput(
            "idempotency keys must be 1-200 characters of letters, digits and ._:/+=@- "
            "without '--' (they travel inside an HTML comment); a UUID works",
            field="idempotency_key",
        )
    return key


def idempotency_marker(key: str) -> str:
    """The hidden marker that carries ``key`` in a body."""
    return f"{IDEMPOTENCY_MARKER_PREFIX}{check_idempotency_key(key)}{_SUFFIX}"


def with_idempotency_marker(body: str | None, key: str) -> str:
    """``body`` with the key's marker appended (once; an existing marker is kept)."""
    mark = idempotency_marker(key)
    text = body or ""
    if mark in text:
        return text
    return f"{text}\n\n{mark}" if text else mark


def carries_idempotency_key(body: object, key: str) -> bool:
    """True when a stored body (any JSON value) holds ``key``'s marker."""
    return isinstance(body, str) and idempotency_marker(key) in body


def strip_trailing_marker(text: str) -> str:
    """``text`` without the marker :func:`with_idempotency_marker` appended (if any)."""
    # Only the last marker can end the text, and a match starts at most two characters (the
    # blank line) before it. Searched over a whole body, the pattern (it has no fixed first
    # character) is tried at every position: ~0.1 ms per KB of body, on every webhook.
    at = text.rfind(IDEMPOTENCY_MARKER_PREFIX)
    if at < 0:
        return text
    start = max(at - 2, 0)
    return text[:start] + _TRAILING.sub("", text[start:])


def marked_rich_text(text: str) -> RichText:
    """A stored Markdown body as RichText: a trailing marker hidden from ``markdown``,
    the stored text kept in ``source``."""
    shown = strip_trailing_marker(text)
    if shown == text:
        return RichText.from_markdown(text)
    return RichText(markdown=shown, source_format=SourceFormat.MARKDOWN, source=text)
