"""What a provider plugin registers, and how an adapter is configured.

A plugin's entry-point module stays light: it registers a :class:`ProviderPlugin`
whose parts are *import strings*, so listing plugins reads manifests as package
data and imports no adapter, HTTP or crypto module until the provider is used.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import httpx

    from kradle_providers.auth.secret import Secret

__all__ = ["ProviderConfig", "ProviderPlugin"]


@dataclass(frozen=True)
class ProviderPlugin:
    """A provider as a plugin registers it.

    - ``name``: provider type (``github``); must equal the manifest's providerType.
    - ``manifest``: ``"package:relative/path.yaml"`` (package data) or a file path.
    - ``adapter``: ``"module:callable"``; ``callable(ProviderConfig)`` returns a
      :class:`~kradle_providers.protocols.ProviderAdapter`.
    - ``normalizers``: ``"module:attr"``; ``attr`` maps native event names to
      :data:`~kradle_providers.webhooks.normalizer.EventNormalizer` functions.
    - ``webhooks``: ``"module:attr"``; ``attr`` is a
      :class:`~kradle_providers.webhooks.spec.WebhookSpec` (signature scheme,
      event and delivery-id headers) that the receiver and CLI verify with.
    - ``auth_forms``: ``"module:attr"``; ``attr`` is a sequence of
      :class:`~kradle_providers.auth.forms.AuthForm`: credential forms a binding's
      ``auth:`` block may use beyond core's ``token``, ``bearer`` and ``basic``.
    - ``emulator``: ``"module:callable"``; ``callable(seed=None, token=None,
      flavor=None, options=None)`` returns the provider's emulator app (what
      ``kradle-providers emulator serve NAME`` calls).
    - ``harness``: ``"module:callable"`` for the contract-test suite.
    """

    name: str
    manifest: str
    adapter: str
    normalizers: str | None = None
    webhooks: str | None = None
    auth_forms: str | None = None
    emulator: str | None = None
    harness: str | None = None
    version: str | None = None
    distribution: str | None = None


@dataclass(frozen=True)
class ProviderConfig:
    """Everything an adapter needs to talk to one provider instance.

    ``auth`` is an auth scheme from :mod:`kradle_providers.auth`; ``transport``
    lets tests route HTTP to an in-process emulator (httpx ASGITransport).
    """

    instance: str = "default"
    api_base_url: str | None = None
    auth: Any = None
    webhook_secret: Secret | None = None
    options: Mapping[str, Any] = field(default_factory=dict)
    transport: httpx.AsyncBaseTransport | None = None

    def __repr__(self) -> str:
        # auth/webhook_secret are redacted by their own reprs; keep it short anyway.
        return (
            f"ProviderConfig(instance={self.instance!r}, api_base_url={self.api_base_url!r}, "
            f"auth={type(self.auth).__name__ if self.auth else None})"
        )
