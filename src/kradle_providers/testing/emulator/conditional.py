"""Conditional requests: ETag / Last-Modified validators and 304 answers.

Providers that support conditional GETs (GitHub, GitLab, Buildkite) answer a
request whose ``If-None-Match`` matches the current entity tag, or whose
``If-Modified-Since`` is not older than ``Last-Modified``, with ``304 Not
Modified`` and no body; GitHub does not charge such a request against the
primary rate limit. :class:`ConditionalPolicy` says how an emulator behaves.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime

from starlette.responses import Response

__all__ = [
    "ConditionalPolicy",
    "compute_etag",
    "etag_matches",
    "format_http_date",
    "is_not_modified",
    "not_modified",
    "parse_http_date",
]

# Headers a 304 must repeat (RFC 9110 §15.4.5) plus what clients read from it.
_KEEP_ON_304 = ("etag", "last-modified", "cache-control", "vary", "expires", "date")


@dataclass(frozen=True)
class ConditionalPolicy:
    """How an emulator handles validators.

    - ``enabled``: answer 304 at all (``False`` for providers without ETags).
    - ``auto_etag``: give every successful GET an ETag computed from the body
      when the handler set none.
    - ``weak``: emit weak tags (``W/"…"``), as GitHub does for most resources.
    - ``charge_not_modified``: whether a 304 costs rate-limit budget (GitHub: no).
    """

    enabled: bool = True
    auto_etag: bool = True
    weak: bool = False
    charge_not_modified: bool = False


def compute_etag(body: bytes, *, weak: bool = False) -> str:
    """An entity tag for ``body``: ``"<sha256 prefix>"``, or ``W/"…"`` when weak."""
    tag = f'"{hashlib.sha256(body).hexdigest()[:32]}"'
    return f"W/{tag}" if weak else tag


def _opaque(tag: str) -> str:
    tag = tag.strip()
    return tag[2:] if tag.startswith("W/") else tag


def etag_matches(if_none_match: str, etag: str) -> bool:
    """Weak comparison of an ``If-None-Match`` value against ``etag`` (RFC 9110 §13.1.2).

    ``*`` matches any tag; a comma-separated list matches when any entry does.
    """
    value = if_none_match.strip()
    if value == "*":
        return True
    wanted = _opaque(etag)
    return any(_opaque(part) == wanted for part in value.split(",") if part.strip())


def format_http_date(when: datetime) -> str:
    """RFC 9110 IMF-fixdate (``Mon, 01 Jan 2024 00:00:00 GMT``)."""
    return format_datetime(when.astimezone(UTC).replace(microsecond=0), usegmt=True)


def parse_http_date(value: str) -> datetime | None:
    """Parse an HTTP date; ``None`` when it is not one (the header is then ignored)."""
    try:
        parsed = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if parsed is None:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def is_not_modified(
    request_headers: Mapping[str, str], response_headers: Mapping[str, str]
) -> bool:
    """Whether a GET with these request headers gets 304 for this response.

    ``If-None-Match`` wins over ``If-Modified-Since`` when both are present
    (RFC 9110 §13.2.2).
    """
    inm = request_headers.get("if-none-match")
    etag = response_headers.get("etag")
    if inm is not None:
        return etag is not None and etag_matches(inm, etag)
    ims = request_headers.get("if-modified-since")
    last_modified = response_headers.get("last-modified")
    if ims is None or last_modified is None:
        return False
    since = parse_http_date(ims)
    modified = parse_http_date(last_modified)
    if since is None or modified is None:
        return False
    return modified.replace(microsecond=0) <= since


def not_modified(response: Response) -> Response:
    """A 304 carrying the validators and every non-content header of ``response``."""
    headers = {
        k: v
        for k, v in response.headers.items()
        if k in _KEEP_ON_304 or not (k.startswith("content-") or k == "transfer-encoding")
    }
    return Response(status_code=304, headers=headers)
