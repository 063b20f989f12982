"""Mapping HTTP error responses to the library's typed errors.

:func:`map_error_response` is the default :data:`ErrorMapper`; an adapter may
pass its own to :class:`~kradle_providers.http.HttpClient` to refine the
mapping (a vendor-specific body field, say) and fall back to this one.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import Any

from kradle_providers.errors import (
    AuthenticationError,
    Conflict,
    InvalidInput,
    KradleError,
    NotFound,
    PermissionDenied,
    PreconditionFailed,
    ProviderError,
    RateLimited,
    TransientProviderError,
)
from kradle_providers.http.clock import to_datetime
from kradle_providers.http.ratelimit import (
    SECONDARY_SCOPE,
    is_rate_limit_refusal,
    parse_rate_limit_headers,
)
from kradle_providers.http.redaction import redact_native, redact_url
from kradle_providers.http.response import Response
from kradle_providers.http.retry import parse_retry_after

__all__ = ["ErrorMapper", "ProviderRejectedInput", "map_error_response", "missing_scope_from"]

ErrorMapper = Callable[[Response, str], KradleError]


class ProviderRejectedInput(ProviderError, InvalidInput):
    """The provider rejected the request's input (400/422).

    It is both a :class:`ProviderError` (``status``, redacted ``native`` body)
    and an :class:`InvalidInput`, so hosts catching either see it.
    """

    def __init__(
        self,
        message: str,
        *,
        provider: str | None = None,
        status: int | None = 422,
        native: Any = None,
        field: str | None = None,
    ) -> None:
        super().__init__(message, provider=provider, status=status, native=native)
        self.field = field


def _split_scopes(value: str | None) -> set[str]:
    if not value:
        return set()
    return {s.strip() for s in re.split(r"[,\s]+", value) if s.strip()}


_AUTH_PARAM = re.compile(r'(\w+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]+))')


def missing_scope_from(headers: Any) -> str | None:
    """The scope a 403 says is missing, from standard headers, or None.

    Reads ``X-Accepted-OAuth-Scopes`` against ``X-OAuth-Scopes`` (any accepted
    scope suffices) and the RFC 6750 ``WWW-Authenticate: Bearer
    error="insufficient_scope", scope="..."``. A provider with its own header
    refines the error in its adapter's error mapper.
    """
    accepted = _split_scopes(headers.get("x-accepted-oauth-scopes"))
    granted = _split_scopes(headers.get("x-oauth-scopes"))
    if accepted and not accepted & granted:
        return " or ".join(sorted(accepted))
    challenge = headers.get("www-authenticate") or ""
    params = {m.group(1).lower(): m.group(2) or m.group(3) for m in _AUTH_PARAM.finditer(challenge)}
    if params.get("error") == "insufficient_scope" and params.get("scope"):
        return params["scope"]
    return None


def _snippet(native: Any) -> str:
    text = native if isinstance(native, str) else repr(native)
    text = " ".join(text.split())
    return text if len(text) <= 300 else text[:297] + "..."


def map_error_response(response: Response, provider: str) -> KradleError:
    """The typed error for a non-2xx response (bodies and URLs redacted)."""
    status = response.status_code
    native = redact_native(response.content)
    where = f"{response.method} {redact_url(response.url)} returned {status}"
    detail = f": {_snippet(native)}" if native not in (None, "") else ""
    headers = response.headers
    if status == 401:
        return AuthenticationError(
            f"{where}{detail}. The credential was refused: check that the secret the "
            "provider instance references is current, not expired or revoked.",
            provider=provider,
            status=status,
            native=native,
        )
    if is_rate_limit_refusal(status, headers, response.text):
        now = time.time()
        retry_after = parse_retry_after(headers.get("retry-after"), now)
        info = parse_rate_limit_headers(headers, now)
        reset_at = info.reset_at if info else None
        if retry_after is not None:
            reset_at = now + retry_after
        scope = SECONDARY_SCOPE if retry_after is not None else (info.scope if info else None)
        return RateLimited(
            f"{where}{detail}. The provider's rate limit is exhausted; retry after "
            "reset_at, or lower the request rate for this credential.",
            reset_at=to_datetime(reset_at) if reset_at is not None else None,
            scope=scope,
            retry_after=retry_after,
            provider=provider,
            status=status,
            native=native,
        )
    if status == 403:
        return PermissionDenied(
            f"{where}{detail}. The credential is valid but not allowed to do this",
            missing_scope=missing_scope_from(headers),
            provider=provider,
            status=status,
            native=native,
        )
    if status == 404:
        return NotFound(
            f"{where}. The object does not exist or the credential cannot see it; "
            "check the reference and the credential's access.",
            provider=provider,
            status=status,
            native=native,
        )
    if status == 409:
        return Conflict(
            f"{where}{detail}. The write conflicts with the object's current state; "
            "re-read it and decide again.",
            current_version=response.etag,
            provider=provider,
            status=status,
            native=native,
        )
    if status == 412:
        return PreconditionFailed(
            f"{where}{detail}. The object changed since it was read; re-read it "
            "(current version attached) and retry the write.",
            current_version=response.etag,
            provider=provider,
            status=status,
            native=native,
        )
    if status in (400, 422) or 400 <= status < 500:
        return ProviderRejectedInput(
            f"{where}{detail}. The provider rejected the request's input; see `native` "
            "for its explanation and correct the input.",
            provider=provider,
            status=status,
            native=native,
        )
    if status >= 500:
        return TransientProviderError(
            f"{where}{detail}. The provider failed; retry later.",
            provider=provider,
            status=status,
            native=native,
        )
    return ProviderError(f"{where}{detail}.", provider=provider, status=status, native=native)
