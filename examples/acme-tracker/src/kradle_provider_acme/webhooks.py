"""How Acme signs its webhook deliveries: a scheme of its own, written in this plugin.

Acme sends the signing time in one header and the signature in another::

    X-Acme-Timestamp: 1733300000
    X-Acme-Signature: v1=<hex HMAC-SHA256(secret, "<timestamp>:" + raw body)>

and refuses deliveries signed more than five minutes from now (replays). Core's
generic schemes (:mod:`kradle_providers.webhooks.schemes`) carry a timestamp
only inside the signature header, so Acme brings its own class with the
:class:`~kradle_providers.webhooks.schemes.SignatureScheme` shape: ``headers``,
``verify`` and ``sign``. The event is in ``X-Acme-Event``, the delivery id in
``X-Acme-Delivery``.
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from kradle_providers.auth import Secret
from kradle_providers.errors import WebhookSignatureError
from kradle_providers.webhooks.schemes import SecretLike
from kradle_providers.webhooks.spec import WebhookSpec

__all__ = ["WEBHOOKS", "AcmeSignature"]

_TIMESTAMP = "x-acme-timestamp"
_SIGNATURE = "x-acme-signature"
_VERSION = "v1="


def _mac(secret: SecretLike, timestamp: str, body: bytes) -> str:
    key = (secret.reveal() if isinstance(secret, Secret) else secret).encode("utf-8")
    return hmac.digest(key, timestamp.encode("ascii") + b":" + body, "sha256").hex()


@dataclass(frozen=True)
class AcmeSignature:
    """Acme's two-header, timestamped HMAC-SHA256 (``replay_window`` seconds either way)."""

    replay_window: float = 300.0

    @property
    def headers(self) -> tuple[str, ...]:
        """The headers that carry the signature (never logged with their values)."""
        return (_TIMESTAMP, _SIGNATURE)

    def verify(
        self, body: bytes, headers: Mapping[str, str], secrets: Sequence[Secret], *, now: float
    ) -> int | None:
        """Check the raw ``body``: timestamp in the window, then the HMAC with every secret."""
        if not secrets:  # fail closed
            raise WebhookSignatureError("no webhook secret is configured for this Acme instance")
        timestamp = headers.get(_TIMESTAMP, "")
        signature = headers.get(_SIGNATURE, "")
        if not timestamp.isdigit() or len(timestamp) > 12:
            raise WebhookSignatureError("missing or malformed X-Acme-Timestamp header")
        if not signature.startswith(_VERSION):
            raise WebhookSignatureError("missing X-Acme-Signature header, or not 'v1=<hex>'")
        skew = now - int(timestamp)
        if abs(skew) > self.replay_window:
            raise WebhookSignatureError(
                f"X-Acme-Timestamp is {abs(int(skew))}s from now, outside the "
                f"{int(self.replay_window)}s replay window (replayed delivery or clock skew)"
            )
        given = signature.removeprefix(_VERSION).lower().encode("ascii", "replace")
        matched = False
        for secret in secrets:  # no early exit: timing must not tell which secret matched
            matched |= hmac.compare_digest(_mac(secret, timestamp, body).encode("ascii"), given)
        if not matched:
            raise WebhookSignatureError(
                "X-Acme-Signature does not match the body (wrong secret or altered body/timestamp)"
            )
        return int(timestamp)

    def sign(self, body: bytes, secret: SecretLike, *, timestamp: int) -> dict[str, str]:
        """The two headers Acme sends with ``body`` signed at ``timestamp`` (lower-case names,
        as :attr:`headers` and every core scheme use)."""
        return {
            _TIMESTAMP: str(timestamp),
            _SIGNATURE: _VERSION + _mac(secret, str(timestamp), body),
        }


WEBHOOKS = WebhookSpec(
    scheme=AcmeSignature(),
    event_header="X-Acme-Event",
    delivery_id_headers=("X-Acme-Delivery",),
)
"""Acme's webhook declaration (``ProviderPlugin.webhooks``)."""
