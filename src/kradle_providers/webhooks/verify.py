"""Webhook signature verification for GitHub, GitLab, Buildkite and Jira.

Every verifier works on the raw body bytes exactly as received and finishes its
check before anything parses them as JSON: a forged or tampered delivery never
reaches a parser. Comparisons are constant time (:func:`hmac.compare_digest`).
A verifier with no secret configured refuses everything (fail closed). Two
secrets may be configured during rotation; a delivery signed with either passes.

Signatures are computed by :mod:`kradle_providers.webhooks.signing`, the same
code provider emulators use to sign what they send.
"""

from __future__ import annotations

import hmac
import json
import re
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from kradle_providers.auth.secret import Secret
from kradle_providers.errors import InvalidInput, WebhookSignatureError
from kradle_providers.webhooks import signing
from kradle_providers.webhooks.signing import SecretLike

__all__ = [
    "EVENT_HEADERS",
    "BuildkiteVerifier",
    "GitHubVerifier",
    "GitLabVerifier",
    "JiraVerifier",
    "VerifiedDelivery",
    "WebhookVerifier",
    "lower_headers",
    "make_verifier",
    "verify_delivery",
]

EVENT_HEADERS: Mapping[str, str] = {
    "github": "x-github-event",
    "gitlab": "x-gitlab-event",
    "buildkite": "x-buildkite-event",
}
"""The (lower-case) header that names the event, per provider (Jira has none)."""


@dataclass(frozen=True)
class VerifiedDelivery:
    """A delivery whose signature checked out: safe to parse and process."""

    provider: str
    event: str
    delivery_id: str
    body: bytes = field(repr=False)
    signed_at: int | None = None

    @property
    def body_digest(self) -> str:
        """``sha256:<hex>`` of the raw body."""
        return signing.body_digest(self.body)


class WebhookVerifier(Protocol):
    """Checks one delivery; raises :class:`WebhookSignatureError` with a reason."""

    provider: str

    def verify(self, body: bytes, headers: Mapping[str, str]) -> VerifiedDelivery: ...


def lower_headers(headers: Mapping[str, str] | Iterable[tuple[str, str]]) -> dict[str, str]:
    """Headers with lower-case names (HTTP header names are case-insensitive)."""
    items = headers.items() if isinstance(headers, Mapping) else headers
    return {str(k).lower(): str(v) for k, v in items}


def _secrets(secrets: Iterable[SecretLike | None]) -> tuple[Secret, ...]:
    # Secret() registers each value with the redactor, so it never leaks in text.
    return tuple(Secret(s) if isinstance(s, str) else s for s in secrets if s)


def _require_secret(provider: str, secrets: tuple[Secret, ...]) -> None:
    if not secrets:
        raise WebhookSignatureError(
            "no webhook secret is configured for this provider instance, so nothing can "
            "be verified; set the webhook secret (fail closed)",
            provider=provider,
        )


def _matches_any(
    expected: Callable[[Secret], str], given: str, secrets: tuple[Secret, ...]
) -> bool:
    # Check every secret (no early exit) so timing does not tell which one matched.
    given_b = given.encode("utf-8", "surrogateescape")
    matched = False
    for secret in secrets:
        matched |= hmac.compare_digest(expected(secret).encode("utf-8"), given_b)
    return matched


def _header(h: Mapping[str, str], name: str, provider: str) -> str:
    value = h.get(name)
    if value is None or not value.strip():
        raise WebhookSignatureError(f"missing {_title(name)} header", provider=provider)
    # Not stripped: a token is compared exactly as received.
    return value


def _title(name: str) -> str:
    return "-".join(p.capitalize() for p in name.split("-")).replace("Github", "GitHub")


def _sha256_header(h: Mapping[str, str], name: str, provider: str) -> str:
    value = _header(h, name, provider)
    algo, _, hexsig = value.partition("=")
    if algo.lower() != "sha256" or not hexsig:
        raise WebhookSignatureError(
            f"{_title(name)} must be 'sha256=<hex>'; got an unsupported format", provider=provider
        )
    return "sha256=" + hexsig.lower()


class GitHubVerifier:
    """GitHub: ``X-Hub-Signature-256`` only; the sha1 ``X-Hub-Signature`` is refused."""

    provider = "github"

    def __init__(self, secret: SecretLike | None, previous_secret: SecretLike | None = None):
        self._secrets = _secrets((secret, previous_secret))

    def verify(self, body: bytes, headers: Mapping[str, str]) -> VerifiedDelivery:
        """Verify ``body`` against the signature in ``headers``."""
        _require_secret(self.provider, self._secrets)
        h = lower_headers(headers)
        if "x-hub-signature-256" not in h and "x-hub-signature" in h:
            raise WebhookSignatureError(
                "only a sha1 X-Hub-Signature was sent; sha1 is not accepted, "
                "GitHub must send X-Hub-Signature-256 (set a webhook secret on the hook)",
                provider=self.provider,
            )
        given = _sha256_header(h, "x-hub-signature-256", self.provider)
        if not _matches_any(lambda s: signing.hub_signature_sha256(s, body), given, self._secrets):
            raise WebhookSignatureError(
                "X-Hub-Signature-256 does not match the body (wrong secret or altered body)",
                provider=self.provider,
            )
        event = _header(h, "x-github-event", self.provider)
        delivery = h.get("x-github-delivery") or signing.body_digest(body)
        return VerifiedDelivery(self.provider, event, delivery, body)


class GitLabVerifier:
    """GitLab: ``X-Gitlab-Token`` must equal the configured secret."""

    provider = "gitlab"
    _ID_HEADERS = ("x-gitlab-event-uuid", "x-gitlab-webhook-uuid", "idempotency-key")

    def __init__(self, secret: SecretLike | None, previous_secret: SecretLike | None = None):
        self._secrets = _secrets((secret, previous_secret))

    def verify(self, body: bytes, headers: Mapping[str, str]) -> VerifiedDelivery:
        """Verify the token in ``headers``; GitLab does not sign the body."""
        _require_secret(self.provider, self._secrets)
        h = lower_headers(headers)
        given = _header(h, "x-gitlab-token", self.provider)
        if not _matches_any(lambda s: s.reveal(), given, self._secrets):
            raise WebhookSignatureError(
                "X-Gitlab-Token does not match the configured secret token",
                provider=self.provider,
            )
        event = _header(h, "x-gitlab-event", self.provider)
        delivery = next((h[k] for k in self._ID_HEADERS if h.get(k)), None)
        return VerifiedDelivery(self.provider, event, delivery or signing.body_digest(body), body)


_BK_SIG = re.compile(r"^timestamp=(?P<ts>\d{1,12}),signature=(?P<sig>[0-9a-fA-F]+)$")


class BuildkiteVerifier:
    """Buildkite: ``X-Buildkite-Signature`` with a replay window, or ``X-Buildkite-Token``.

    ``mode="signature"`` (the default, and the more secure) accepts only signed
    deliveries no older (or newer) than ``replay_window`` seconds by ``clock``;
    ``mode="token"`` accepts only the plain token.
    """

    provider = "buildkite"

    def __init__(
        self,
        secret: SecretLike | None,
        previous_secret: SecretLike | None = None,
        *,
        mode: Literal["signature", "token"] = "signature",
        replay_window: float = 300.0,
        clock: Callable[[], float] = time.time,
    ):
        if mode not in ("signature", "token"):
            raise InvalidInput("must be 'signature' or 'token'", field="mode")
        self._secrets = _secrets((secret, previous_secret))
        self.mode = mode
        self.replay_window = replay_window
        self._clock = clock

    def verify(self, body: bytes, headers: Mapping[str, str]) -> VerifiedDelivery:
        """Verify ``body`` by signature (and timestamp) or token, per ``mode``."""
        _require_secret(self.provider, self._secrets)
        h = lower_headers(headers)
        signed_at: int | None = None
        if self.mode == "signature":
            if "x-buildkite-signature" not in h and "x-buildkite-token" in h:
                raise WebhookSignatureError(
                    "got X-Buildkite-Token but this instance expects X-Buildkite-Signature; "
                    "switch the webhook to signature mode or configure token mode",
                    provider=self.provider,
                )
            match = _BK_SIG.match(_header(h, "x-buildkite-signature", self.provider))
            if match is None:
                raise WebhookSignatureError(
                    "X-Buildkite-Signature must be 'timestamp=<unix>,signature=<hex>'",
                    provider=self.provider,
                )
            signed_at = int(match["ts"])
            skew = self._clock() - signed_at
            if abs(skew) > self.replay_window:
                when = "old" if skew > 0 else "far in the future"
                raise WebhookSignatureError(
                    f"X-Buildkite-Signature timestamp is {abs(int(skew))}s {when}, outside the "
                    f"{int(self.replay_window)}s replay window (replayed delivery or clock skew)",
                    provider=self.provider,
                )
            ts = match["ts"]
            given = match["sig"].lower()
            payload = signing.buildkite_signed_payload(ts, body)
            if not _matches_any(
                lambda s: signing.hmac_sha256_hex(s, payload), given, self._secrets
            ):
                raise WebhookSignatureError(
                    "X-Buildkite-Signature does not match the body "
                    "(wrong secret or altered body/timestamp)",
                    provider=self.provider,
                )
        else:
            given = _header(h, "x-buildkite-token", self.provider)
            if not _matches_any(lambda s: s.reveal(), given, self._secrets):
                raise WebhookSignatureError(
                    "X-Buildkite-Token does not match the configured token",
                    provider=self.provider,
                )
        event = _header(h, "x-buildkite-event", self.provider)
        delivery = h.get("x-buildkite-request") or signing.body_digest(body)
        return VerifiedDelivery(self.provider, event, delivery, body, signed_at=signed_at)


def _parse_json(body: bytes) -> Any:
    """Parse a body; only ever called on a verified one."""
    return json.loads(body)


class JiraVerifier:
    """Jira Cloud: ``X-Hub-Signature: sha256=<hex>``; the event is the payload's ``webhookEvent``.

    Jira sends no event header, so the body is parsed, after verification only,
    to read ``webhookEvent`` (``unknown`` when absent or unparsable).
    """

    provider = "jira"

    def __init__(self, secret: SecretLike | None, previous_secret: SecretLike | None = None):
        self._secrets = _secrets((secret, previous_secret))

    def verify(self, body: bytes, headers: Mapping[str, str]) -> VerifiedDelivery:
        """Verify ``body`` against ``X-Hub-Signature``, then read its event name."""
        _require_secret(self.provider, self._secrets)
        h = lower_headers(headers)
        given = _sha256_header(h, "x-hub-signature", self.provider)
        if not _matches_any(lambda s: signing.hub_signature_sha256(s, body), given, self._secrets):
            raise WebhookSignatureError(
                "X-Hub-Signature does not match the body (wrong secret or altered body)",
                provider=self.provider,
            )
        event = "unknown"
        try:
            payload = _parse_json(body)
        except ValueError:
            payload = None
        if isinstance(payload, dict) and isinstance(payload.get("webhookEvent"), str):
            event = payload["webhookEvent"]
        delivery = h.get("x-atlassian-webhook-identifier") or signing.body_digest(body)
        return VerifiedDelivery(self.provider, event, delivery, body)


_VERIFIERS: Mapping[str, Any] = {
    "github": GitHubVerifier,
    "gitlab": GitLabVerifier,
    "buildkite": BuildkiteVerifier,
    "jira": JiraVerifier,
}


def make_verifier(
    provider: str,
    secret: SecretLike | None,
    previous_secret: SecretLike | None = None,
    **options: Any,
) -> WebhookVerifier:
    """The verifier for ``provider`` with one or two (rotation) secrets.

    ``options`` go to the provider's verifier (Buildkite: ``mode``,
    ``replay_window``, ``clock``).
    """
    cls = _VERIFIERS.get(provider)
    if cls is None:
        raise InvalidInput(
            f"no webhook verifier for {provider!r}; core verifies {', '.join(_VERIFIERS)}",
            field="provider",
        )
    verifier: WebhookVerifier = cls(secret, previous_secret, **options)
    return verifier


def verify_delivery(
    provider: str,
    body: bytes,
    headers: Mapping[str, str],
    secret: SecretLike | None,
    previous_secret: SecretLike | None = None,
    **options: Any,
) -> VerifiedDelivery:
    """Verify one delivery in one call (see :func:`make_verifier`)."""
    return make_verifier(provider, secret, previous_secret, **options).verify(body, headers)
