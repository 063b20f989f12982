"""The base class every provider adapter subclasses."""

from __future__ import annotations

from typing import Any

from kradle_providers.models.base import ProviderRef
from kradle_providers.protocols.credentials import CredentialReport
from kradle_providers.protocols.interfaces import CiCd, GitForge, IssueTracking

__all__ = ["ProviderAdapter"]


class ProviderAdapter(IssueTracking, CiCd, GitForge):
    """All three protocols with every operation unsupported by default.

    A provider overrides the operations its manifest declares. Hosts do not
    call an adapter directly: the registry wraps it in a guard that refuses
    undeclared operations before any adapter code runs.
    """

    provider_type: str = "abstract"

    def __init__(self, *, instance: str = "default", **_: Any) -> None:
        self.instance = instance

    @property
    def provider_ref(self) -> ProviderRef:
        return ProviderRef(type=self.provider_type, instance=self.instance)

    async def check_credentials(self) -> CredentialReport | None:
        """Authenticate and report who the credential is and what it may do.

        Raises :class:`~kradle_providers.errors.AuthenticationError` when the
        credential is refused and a transport error when the provider cannot be
        reached. The default returns ``None``: the adapter cannot tell, and
        ``sync check`` authenticates with a read of the binding's target instead.
        """
        return None

    async def aclose(self) -> None:
        """Release connections; the default holds none."""

    async def __aenter__(self) -> ProviderAdapter:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    def __repr__(self) -> str:
        return f"{type(self).__name__}(provider={self.provider_type!r}, instance={self.instance!r})"
