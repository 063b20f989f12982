"""The typed error hierarchy every provider raises.

Hosts catch these, never a vendor's HTTP error: a GitHub 404 and a Jira 404 are
both :class:`NotFound`. Every error's message says what went wrong and how to
fix it, and never contains a credential (messages pass through
:func:`kradle_providers.auth.redact` where they may carry provider text).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, NamedTuple

__all__ = [
    "AuthenticationError",
    "Conflict",
    "InvalidInput",
    "KradleError",
    "ManifestError",
    "ManifestFinding",
    "NotFound",
    "PermissionDenied",
    "PluginLoadError",
    "PreconditionFailed",
    "ProviderError",
    "RateLimited",
    "TransientProviderError",
    "UnsupportedOperation",
    "WebhookSignatureError",
]


class KradleError(Exception):
    """Base of every error this library raises on purpose."""


class ProviderError(KradleError):
    """An error reported by (or about) a provider instance.

    ``provider`` is the provider type (``github``), ``status`` the HTTP status
    when there was one, ``native`` the provider's own error body with secrets
    removed.
    """

    def __init__(
        self,
        message: str,
        *,
        provider: str | None = None,
        status: int | None = None,
        native: Any = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.provider = provider
        self.status = status
        self.native = native

    def __str__(self) -> str:
        prefix = f"[{self.provider}] " if self.provider else ""
        return f"{prefix}{self.message}"


class UnsupportedOperation(ProviderError):
    """The provider does not support the operation (per its manifest)."""

    def __init__(self, provider: str, operation: str, reason: str | None = None) -> None:
        self.operation = operation
        self.reason = reason or "not declared in the provider's capability manifest"
        super().__init__(
            f"{operation} is not supported: {self.reason}. "
            f"Check `kradle-providers explain {provider} {operation}` before calling it.",
            provider=provider,
        )


class ManifestFinding(NamedTuple):
    """One problem in a manifest: where it is, what is wrong, how to fix it."""

    path: str
    message: str
    fix: str
    severity: str = "error"

    def __str__(self) -> str:
        return f"{self.path}: {self.message} (fix: {self.fix})"


class ManifestError(KradleError):
    """A manifest is unreadable or invalid; ``findings`` lists every problem."""

    def __init__(self, findings: Sequence[ManifestFinding], source: str | None = None) -> None:
        self.findings = list(findings)
        self.source = source
        where = f"{source}: " if source else ""
        lines = "\n".join(f"  - {f}" for f in self.findings)
        super().__init__(f"{where}invalid manifest ({len(self.findings)} finding(s)):\n{lines}")


class PluginLoadError(KradleError):
    """A provider plugin could not be loaded; other plugins are unaffected."""


class AuthenticationError(ProviderError):
    """The credential was refused (missing, expired, revoked or malformed).

    Fix: check the secret reference the provider instance uses, and that the
    token has not expired.
    """


class PermissionDenied(ProviderError):
    """The credential is valid but lacks a permission/scope for this operation."""

    def __init__(
        self,
        message: str,
        *,
        missing_scope: str | None = None,
        provider: str | None = None,
        status: int | None = 403,
        native: Any = None,
    ) -> None:
        self.missing_scope = missing_scope
        if missing_scope:
            message = f"{message} (missing scope: {missing_scope}; grant it to the credential)"
        super().__init__(message, provider=provider, status=status, native=native)


class NotFound(ProviderError):
    """The object does not exist, or the credential may not see it."""


class RateLimited(ProviderError):
    """The provider's rate limit is exhausted.

    ``reset_at`` is when the budget refills (UTC), ``scope`` names the budget
    (``core``, ``search``, ``secondary``, ``graphql`` …).
    """

    def __init__(
        self,
        message: str,
        *,
        reset_at: datetime | None = None,
        scope: str | None = None,
        retry_after: float | None = None,
        provider: str | None = None,
        status: int | None = 429,
        native: Any = None,
    ) -> None:
        self.reset_at = reset_at
        self.scope = scope
        self.retry_after = retry_after
        super().__init__(message, provider=provider, status=status, native=native)


class PreconditionFailed(ProviderError):
    """A conditional write lost a race: the object changed since it was read.

    ``current_version`` carries the provider's current version (etag,
    updated_at …) so the caller can re-read and decide.
    """

    def __init__(
        self,
        message: str,
        *,
        current_version: Any = None,
        provider: str | None = None,
        status: int | None = 412,
        native: Any = None,
    ) -> None:
        self.current_version = current_version
        super().__init__(message, provider=provider, status=status, native=native)


class Conflict(PreconditionFailed):
    """The provider rejected a write as conflicting with its current state."""


class TransientProviderError(ProviderError):
    """A failure worth retrying later (5xx, timeout, dropped connection)."""


class WebhookSignatureError(KradleError):
    """A webhook delivery failed verification; it must never be processed."""

    def __init__(self, reason: str, *, provider: str | None = None) -> None:
        self.reason = reason
        self.provider = provider
        super().__init__(f"webhook rejected{f' ({provider})' if provider else ''}: {reason}")


class InvalidInput(KradleError):
    """The caller's input is invalid; ``field`` names the offending input."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        self.field = field
        super().__init__(f"{field}: {message}" if field else message)
