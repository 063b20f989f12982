"""Webhook verification with the scheme the provider's plugin declares.

A :class:`Verifier` checks one provider instance's deliveries with that
provider's :class:`~kradle_providers.webhooks.spec.WebhookSpec`: the signature
scheme runs on the raw body bytes exactly as received and finishes before
anything parses them, compares in constant time, and refuses everything when
no secret is configured (fail closed). Two secrets may be configured during
rotation; a delivery signed with either passes. :func:`make_verifier` finds the
spec of any installed provider through the plugin registry.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from kradle_providers.auth.secret import Secret
from kradle_providers.errors import InvalidInput, WebhookSignatureError
from kradle_providers.webhooks.registry import parse_json
from kradle_providers.webhooks.schemes import SecretLike, body_digest
from kradle_providers.webhooks.spec import WebhookSpec

if TYPE_CHECKING:
    from kradle_providers.plugins.registry import Registry

__all__ = [
    "VerifiedDelivery",
    "Verifier",
    "WebhookVerifier",
    "lower_headers",
    "make_verifier",
    "verify_delivery",
    "webhook_spec",
]


@dataclass(frozen=True)
class VerifiedDelivery:
    """A delivery whose signature checked out: safe to parse and process."""

    provider: str
    event: str
    delivery_id: str
    body: bytes = field(repr=False)
    signed_at: int | None = None
    parsed: Mapping[str, Any] | None = field(default=None, repr=False, compare=False)
    """The body as JSON when verification had to parse it (to read the event), else None."""

    @property
    def body_digest(self) -> str:
        """``sha256:<hex>`` of the raw body."""
        return body_digest(self.body)

    def payload(self) -> bytes | Mapping[str, Any]:
        """What to hand :meth:`NormalizerRegistry.normalize`: the parsed body when
        verification parsed it already, else the raw bytes (so the body is parsed once)."""
        return self.parsed if self.parsed is not None else self.body


class WebhookVerifier(Protocol):
    """Checks one delivery; raises :class:`WebhookSignatureError` with a reason."""

    provider: str

    def verify(self, body: bytes, headers: Mapping[str, str]) -> VerifiedDelivery: ...


def lower_headers(headers: Mapping[str, str] | Iterable[tuple[str, str]]) -> dict[str, str]:
    """Headers with lower-case names (HTTP header names are case-insensitive)."""
    items = headers.items() if type(headers) is dict or isinstance(headers, Mapping) else headers
    return {str(k).lower(): str(v) for k, v in items}


class Verifier:
    """Verifies deliveries of one provider instance with its plugin's :class:`WebhookSpec`."""

    def __init__(
        self,
        provider: str,
        spec: WebhookSpec,
        secret: SecretLike | None,
        previous_secret: SecretLike | None = None,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.provider = provider
        self.spec = spec
        # Secret() registers each value with the redactor, so it never leaks in text.
        self._secrets = tuple(
            Secret(s) if isinstance(s, str) else s for s in (secret, previous_secret) if s
        )
        self._clock = clock

    def verify(self, body: bytes, headers: Mapping[str, str]) -> VerifiedDelivery:
        """Verify ``body`` against ``headers``, then read the event and delivery id."""
        h = lower_headers(headers)
        spec = self.spec
        try:
            signed_at = spec.scheme.verify(body, h, self._secrets, now=self._clock())
        except WebhookSignatureError as exc:
            raise WebhookSignatureError(exc.reason, provider=self.provider) from None
        event: str | None = None
        parsed: Any = None
        if spec.event_header is not None:
            event = h.get(spec.event_header)
            if not event:
                raise WebhookSignatureError(
                    f"missing {spec.event_header} header", provider=self.provider
                )
        elif spec.event_from_payload is not None:
            # Parsed only now, after the signature checked out.
            try:
                parsed = parse_json(body)
                event = spec.event_from_payload(parsed)
            except ValueError:
                event = None
        return VerifiedDelivery(
            self.provider,
            event or "unknown",
            spec.delivery_id(h, body),
            body,
            signed_at=signed_at,
            parsed=parsed if parsed is not None and isinstance(parsed, Mapping) else None,
        )

    def __repr__(self) -> str:
        return f"Verifier(provider={self.provider!r}, secrets={len(self._secrets)})"


def webhook_spec(provider: str, registry: Registry | None = None) -> WebhookSpec:
    """The installed ``provider`` plugin's webhook declaration.

    Raises :class:`InvalidInput` when the provider is not installed or declares
    no webhooks, naming the installed providers that do.
    """
    from kradle_providers.plugins.registry import load_registry

    reg = registry if registry is not None else load_registry()
    spec = reg.webhook_spec(provider) if provider in reg else None
    if spec is None:
        with_hooks = [n for n in reg.names() if reg.plugin(n).webhooks]
        raise InvalidInput(
            f"no webhook verification for {provider!r}: "
            + (
                "its plugin declares no webhooks (ProviderPlugin.webhooks)"
                if provider in reg
                else "no such provider plugin is installed"
            )
            + f"; providers with webhooks: {', '.join(with_hooks) or 'none'}",
            field="provider",
        )
    return spec


def make_verifier(
    provider: str,
    secret: SecretLike | None,
    previous_secret: SecretLike | None = None,
    *,
    spec: WebhookSpec | None = None,
    registry: Registry | None = None,
    clock: Callable[[], float] = time.time,
) -> Verifier:
    """The verifier for an instance of ``provider`` with one or two (rotation) secrets.

    ``spec`` defaults to the installed plugin's declaration (:func:`webhook_spec`).
    """
    chosen = spec if spec is not None else webhook_spec(provider, registry)
    return Verifier(provider, chosen, secret, previous_secret, clock=clock)


def verify_delivery(
    provider: str,
    body: bytes,
    headers: Mapping[str, str],
    secret: SecretLike | None,
    previous_secret: SecretLike | None = None,
    *,
    spec: WebhookSpec | None = None,
    clock: Callable[[], float] = time.time,
) -> VerifiedDelivery:
    """Verify one delivery in one call (see :func:`make_verifier`)."""
    verifier = make_verifier(provider, secret, previous_secret, spec=spec, clock=clock)
    return verifier.verify(body, headers)
