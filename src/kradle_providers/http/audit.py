"""Audit records: what was sent and received, as digests, never the secret.

For every attempt the client builds an :class:`AuditRecord` with a SHA-256
digest of the canonical request (method, URL with credential query values
masked, sorted non-credential headers, body with known secrets scrubbed) and of
the response (status and body), plus timing and the attempt number, and hands
it to every registered hook. Write-intent and sync layers keep these digests as
the "request/response digest" of a confirmed write.
"""

from __future__ import annotations

import hashlib
import inspect
import logging
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

from kradle_providers.auth import redact
from kradle_providers.http.redaction import redact_url, safe_headers

__all__ = [
    "AuditHook",
    "AuditOutcome",
    "AuditRecord",
    "call_audit_hooks",
    "canonical_request_digest",
    "response_digest",
]

logger = logging.getLogger("kradle_providers.http")

AuditOutcome = Literal["response", "not_modified", "error", "recovered"]


@dataclass(frozen=True)
class AuditRecord:
    """One attempt of one request, described without any secret.

    ``outcome`` is ``response`` (a status came back), ``not_modified`` (a 304
    answered from cache), ``error`` (no response: ``error`` names the failure)
    or ``recovered`` (a lost write found again by read-back).
    """

    provider: str
    credential_id: str
    method: str
    url: str
    request_digest: str
    attempt: int
    started_at: float
    duration_s: float
    outcome: AuditOutcome
    status: int | None = None
    response_digest: str | None = None
    idempotency_key: str | None = None
    error: str | None = None


AuditHook = Callable[[AuditRecord], Awaitable[None] | None]


def _sha256(parts: Iterable[bytes]) -> str:
    digest = hashlib.sha256()
    for part in parts:
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.hexdigest()


def canonical_request_digest(
    method: str, url: str, headers: Iterable[tuple[str, str]], body: bytes
) -> str:
    """SHA-256 of the request as it would be described without secrets."""
    header_text = "\n".join(f"{k}:{v}" for k, v in safe_headers(headers))
    scrubbed = redact(body.decode("utf-8", errors="surrogateescape")).encode(
        "utf-8", errors="surrogateescape"
    )
    return _sha256(
        [method.upper().encode(), redact_url(url).encode(), header_text.encode(), scrubbed]
    )


def response_digest(status: int, body: bytes) -> str:
    """SHA-256 of a response's status and body (secrets scrubbed from the body)."""
    scrubbed = redact(body.decode("utf-8", errors="surrogateescape")).encode(
        "utf-8", errors="surrogateescape"
    )
    return _sha256([str(status).encode(), scrubbed])


async def call_audit_hooks(hooks: Sequence[AuditHook], record: AuditRecord) -> None:
    """Give ``record`` to every hook; a failing hook is logged, never fatal."""
    for hook in hooks:
        try:
            result = hook(record)
            if inspect.isawaitable(result):
                await result
        except Exception as exc:
            logger.warning(redact(f"audit hook {hook!r} failed: {exc!r}"))
