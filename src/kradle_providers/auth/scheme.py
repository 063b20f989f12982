"""The contract between credentials and the HTTP transport."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol, runtime_checkable

if TYPE_CHECKING:
    import httpx

__all__ = ["AuthScheme"]


@runtime_checkable
class AuthScheme(Protocol):
    """How a request is authorized.

    The transport calls :meth:`authorize` before every attempt and, when the
    provider refuses the credential (401), :meth:`refresh_after_refusal` once:
    ``True`` means a fresh credential was obtained and the request may be sent
    again (GitHub App tokens revoked early); ``False`` means the refusal is final.
    """

    @property
    def credential_id(self) -> str:
        """A stable, non-secret id of the credential (rate-limit budgets are keyed by it)."""
        ...

    async def authorize(self, request: httpx.Request) -> None:
        """Set the request's credential headers."""
        ...

    async def refresh_after_refusal(self, response: httpx.Response) -> bool:
        """React to a 401; return True when retrying with a new credential makes sense."""
        ...
