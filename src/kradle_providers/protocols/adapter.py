"""The base class every provider adapter subclasses."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from kradle_providers.auth.secret import Secret
from kradle_providers.models.base import ExternalRef, ProviderRef
from kradle_providers.protocols.credentials import CredentialReport
from kradle_providers.protocols.hooks import HookDelivery, HookRegistration
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

    async def list_hooks(self, ref: ExternalRef) -> list[HookRegistration] | None:
        """The provider-side webhooks of ``ref``; ``None``: no API for them (the default)."""
        return None

    async def ensure_hook(
        self, ref: ExternalRef, url: str, secret: Secret, events: Sequence[str]
    ) -> HookRegistration | None:
        """A webhook of ``ref`` to ``url`` sending exactly ``events``, with ``secret``.

        Created when none points at ``url``, else updated in place; ``None``
        (the default) when the provider has no API for it: register it by hand.
        """
        return None

    async def list_hook_deliveries(
        self, ref: ExternalRef, hook_id: str
    ) -> list[HookDelivery] | None:
        """The provider's delivery log of one hook, newest first; ``None``: no log."""
        return None

    async def redeliver_hook_delivery(
        self, ref: ExternalRef, hook_id: str, delivery_id: str
    ) -> bool:
        """Ask the provider to send a logged delivery again; False when it cannot."""
        return False

    async def aclose(self) -> None:
        """Release connections; the default holds none."""

    async def __aenter__(self) -> ProviderAdapter:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    def __repr__(self) -> str:
        return f"{type(self).__name__}(provider={self.provider_type!r}, instance={self.instance!r})"
