"""Keeping credentials out of what the transport logs, raises and records.

Builds on :func:`kradle_providers.auth.redact` (which scrubs every known
secret value) with HTTP-specific rules: credential headers are never shown,
and query parameters named like credentials are masked whatever their value.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from kradle_providers.auth import REDACTED, is_sensitive_header, redact, register_secret_value

__all__ = [
    "is_sensitive_header",
    "is_sensitive_param",
    "redact_native",
    "redact_url",
    "register_request_credentials",
    "safe_headers",
]

_SENSITIVE_PARAM_PARTS = (
    "token",
    "secret",
    "password",
    "passwd",
    "signature",
    "api_key",
    "apikey",
    "access_key",
    "private_key",
    "client_secret",
    "jwt",
)


def is_sensitive_param(name: str) -> bool:
    """True when a query parameter is named like a credential (``access_token`` …)."""
    lowered = name.lower()
    if "page" in lowered:
        # Pagination tokens (``nextPageToken``, ``page_token``) are cursors, not credentials.
        return False
    return any(part in lowered for part in _SENSITIVE_PARAM_PARTS)


def redact_url(url: str) -> str:
    """``url`` with credential-named query values masked and known secrets scrubbed."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return redact(url)
    netloc = parts.netloc
    if "@" in netloc:
        # user:password@host: never show the userinfo.
        netloc = f"{REDACTED}@{netloc.rsplit('@', 1)[1]}"
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        masked = [(k, REDACTED if is_sensitive_param(k) else v) for k, v in pairs]
        query = urlencode(masked, safe="*")
    return redact(urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment)))


def safe_headers(headers: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    """Headers sorted by name, without credential headers and with secrets scrubbed."""
    kept: list[tuple[str, str]] = []
    for name, value in headers:
        if is_sensitive_header(name):
            continue
        scrubbed = redact(value)
        if scrubbed != value:
            # A header that carried a known secret value is dropped entirely.
            continue
        kept.append((name.lower(), value))
    return sorted(kept)


def redact_native(content: bytes, *, limit: int = 64_000) -> Any:
    """A provider error body, secrets removed: parsed JSON if possible, else text."""
    text = redact(content[:limit].decode("utf-8", errors="replace"))
    try:
        return json.loads(text)
    except ValueError:
        return text


def register_request_credentials(url: str, headers: Iterable[tuple[str, str]]) -> None:
    """Teach the process-wide redactor the credentials a request carries.

    Credential headers (``Authorization: Bearer <token>``, ``PRIVATE-TOKEN``)
    and credential-named query parameters are registered, so a provider that
    echoes them back (in an error body, a log) is scrubbed even when the
    credential was not created as a :class:`~kradle_providers.auth.Secret`.
    """
    for name, value in headers:
        if is_sensitive_header(name) and value:
            register_secret_value(value)
            # "Bearer abc" / "token abc": the bare credential too.
            register_secret_value(value.rsplit(" ", 1)[-1])
    query = urlsplit(url).query
    if query:
        for name, value in parse_qsl(query, keep_blank_values=True):
            if is_sensitive_param(name) and value:
                register_secret_value(value)
