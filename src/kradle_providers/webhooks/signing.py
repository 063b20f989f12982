"""Webhook signatures exactly as each provider computes and sends them.

This module is the single implementation of every provider's signature
algorithm: :mod:`kradle_providers.webhooks.verify` checks deliveries with the
same functions, and provider emulators sign the deliveries they send with
:func:`signature_headers`. The algorithms:

- GitHub: ``X-Hub-Signature-256: sha256=<hex HMAC-SHA256(secret, body)>``
  (plus the legacy ``X-Hub-Signature: sha1=…`` only when asked);
- GitLab: the secret itself in ``X-Gitlab-Token`` (no signature);
- Buildkite: ``X-Buildkite-Signature: timestamp=<unix>,signature=<hex
  HMAC-SHA256(secret, "<timestamp>.<body>")>``, or the token in ``X-Buildkite-Token``;
- Jira Cloud: ``X-Hub-Signature: sha256=<hex HMAC-SHA256(secret, body)>`` (WebSub style).
"""

from __future__ import annotations

import hashlib
import hmac
import time
import uuid
from typing import Literal

from kradle_providers.auth.secret import Secret
from kradle_providers.errors import InvalidInput

__all__ = [
    "PROVIDERS",
    "SecretLike",
    "body_digest",
    "buildkite_signature",
    "buildkite_signed_payload",
    "hmac_sha1_hex",
    "hmac_sha256_hex",
    "hub_signature_sha1",
    "hub_signature_sha256",
    "secret_bytes",
    "signature_headers",
]

SecretLike = str | Secret
"""A webhook secret given as a plain string or a :class:`Secret`."""

PROVIDERS = ("github", "gitlab", "buildkite", "jira")
"""Providers whose webhook signatures core knows."""


def secret_bytes(secret: SecretLike) -> bytes:
    """The secret's value as UTF-8 bytes (the HMAC key every provider uses)."""
    value = secret.reveal() if isinstance(secret, Secret) else secret
    return value.encode("utf-8")


def hmac_sha256_hex(secret: SecretLike, message: bytes) -> str:
    """Hex HMAC-SHA256 of ``message`` keyed with ``secret``."""
    return hmac.new(secret_bytes(secret), message, hashlib.sha256).hexdigest()


def hmac_sha1_hex(secret: SecretLike, message: bytes) -> str:
    """Hex HMAC-SHA1 (GitHub's legacy ``X-Hub-Signature``; produced, never accepted)."""
    return hmac.new(secret_bytes(secret), message, hashlib.sha1).hexdigest()


def hub_signature_sha256(secret: SecretLike, body: bytes) -> str:
    """``sha256=<hex>``: GitHub's ``X-Hub-Signature-256`` and Jira's ``X-Hub-Signature``."""
    return "sha256=" + hmac_sha256_hex(secret, body)


def hub_signature_sha1(secret: SecretLike, body: bytes) -> str:
    """``sha1=<hex>``: GitHub's legacy ``X-Hub-Signature``."""
    return "sha1=" + hmac_sha1_hex(secret, body)


def buildkite_signed_payload(timestamp: int | str, body: bytes) -> bytes:
    """The bytes Buildkite signs: ``"<timestamp>.<body>"``."""
    return f"{timestamp}.".encode("ascii") + body


def buildkite_signature(secret: SecretLike, body: bytes, timestamp: int) -> str:
    """The ``X-Buildkite-Signature`` header value for ``body`` sent at ``timestamp``."""
    sig = hmac_sha256_hex(secret, buildkite_signed_payload(timestamp, body))
    return f"timestamp={timestamp},signature={sig}"


def body_digest(body: bytes) -> str:
    """``sha256:<hex>`` of a raw body: delivery id fallback and stored fingerprint."""
    return "sha256:" + hashlib.sha256(body).hexdigest()


def signature_headers(
    provider: str,
    body: bytes,
    secret: SecretLike,
    *,
    timestamp: int | None = None,
    event: str | None = None,
    delivery_id: str | None = None,
    sha1: bool = False,
    buildkite_mode: Literal["signature", "token"] = "signature",
) -> dict[str, str]:
    """The headers ``provider`` sends with a delivery of ``body`` signed by ``secret``.

    ``event`` is the native event name (GitHub ``issues``, GitLab ``Issue Hook``,
    Buildkite ``build.finished``); its header is omitted when not given, and
    Jira never sends one. ``delivery_id`` defaults to a fresh UUID where the
    provider always sends one (GitHub, GitLab). ``timestamp`` (Buildkite)
    defaults to now. ``sha1`` adds GitHub's legacy header; ``buildkite_mode``
    chooses between the signature and the plain token.
    """
    headers: dict[str, str] = {"Content-Type": "application/json"}
    if provider == "github":
        headers["X-Hub-Signature-256"] = hub_signature_sha256(secret, body)
        if sha1:
            headers["X-Hub-Signature"] = hub_signature_sha1(secret, body)
        if event is not None:
            headers["X-GitHub-Event"] = event
        headers["X-GitHub-Delivery"] = delivery_id or str(uuid.uuid4())
    elif provider == "gitlab":
        headers["X-Gitlab-Token"] = secret.reveal() if isinstance(secret, Secret) else secret
        if event is not None:
            headers["X-Gitlab-Event"] = event
        headers["X-Gitlab-Event-UUID"] = delivery_id or str(uuid.uuid4())
    elif provider == "buildkite":
        if buildkite_mode == "token":
            headers["X-Buildkite-Token"] = secret.reveal() if isinstance(secret, Secret) else secret
        else:
            ts = int(time.time()) if timestamp is None else timestamp
            headers["X-Buildkite-Signature"] = buildkite_signature(secret, body, ts)
        if event is not None:
            headers["X-Buildkite-Event"] = event
        if delivery_id is not None:
            headers["X-Buildkite-Request"] = delivery_id
    elif provider == "jira":
        headers["X-Hub-Signature"] = hub_signature_sha256(secret, body)
        if delivery_id is not None:
            headers["X-Atlassian-Webhook-Identifier"] = delivery_id
    else:
        raise InvalidInput(
            f"unknown webhook provider {provider!r}; core signs {', '.join(PROVIDERS)}",
            field="provider",
        )
    return headers
