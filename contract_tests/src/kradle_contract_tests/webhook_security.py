"""Webhook security under the plugin's declared scheme (``ProviderPlugin.webhooks``).

With a canary secret, every webhook fixture the harness ships is signed the
way the plugin says its provider signs, then:

- the genuine delivery verifies and keeps its bytes;
- signed with another secret, it is rejected;
- without the scheme's credential headers (unsigned), it is rejected;
- with its body changed after signing (tampered), it is rejected where the
  scheme binds the body (a shared-token scheme cannot, and says so by passing);
- signed long ago (stale), it is rejected where the scheme carries a timestamp;
- with its timestamp changed after signing, it is rejected;
- the canary never appears in a rejection or in the verified delivery's repr.
"""

from __future__ import annotations

import dataclasses
import secrets
import time

from kradle_contract_tests.context import Ctx, not_applicable, violation
from kradle_providers.errors import WebhookSignatureError
from kradle_providers.plugins.registry import load_registry
from kradle_providers.testing.harness import WebhookFixture
from kradle_providers.webhooks.schemes import OneOf
from kradle_providers.webhooks.spec import WebhookSpec
from kradle_providers.webhooks.verify import Verifier

__all__ = ["webhook_security"]

STALE_SECONDS = 10 * 24 * 3600


def _spec(ctx: Ctx) -> WebhookSpec:
    registry = load_registry()
    spec = registry.webhook_spec(ctx.provider) if ctx.provider in registry else None
    if spec is None:
        violation(
            f"{ctx.provider} declares webhook events but its plugin declares no webhook "
            "signature scheme, so no delivery can be verified",
            "set ProviderPlugin.webhooks to a WebhookSpec (kradle_providers.webhooks.schemes "
            "has HmacSignature, SharedToken, TimestampedHmacSignature, OneOf)",
        )
    return spec


def _rejected(verifier: Verifier, body: bytes, headers: dict[str, str], canary: str) -> bool:
    try:
        verifier.verify(body, headers)
    except WebhookSignatureError as exc:
        if canary in str(exc) or canary in repr(exc):
            violation(
                "a webhook rejection message contains the webhook secret",
                "never put the secret (or the expected signature) into error reasons",
            )
        return True
    return False


async def webhook_security(ctx: Ctx) -> None:
    """Genuine deliveries verify; forged, unsigned, tampered and stale ones do not (under
    every alternative of a ``OneOf`` scheme)."""
    spec = _spec(ctx)
    fixtures = list(ctx.harness.webhook_fixtures())
    if not fixtures:
        not_applicable("the harness ships no webhook fixtures to sign")
    canary = f"kradle-webhook-canary-{secrets.token_hex(8)}"
    now = int(time.time())
    verifier = Verifier(ctx.provider, spec, canary, clock=lambda: float(now))
    credential_headers = {h.lower() for h in spec.scheme.headers}
    signers = spec.scheme.schemes if isinstance(spec.scheme, OneOf) else (spec.scheme,)
    for signer in signers:
        via = f" sent with {', '.join(signer.headers)}" if len(signers) > 1 else ""
        _deliveries(ctx, fixtures, dataclasses.replace(spec, scheme=signer), verifier,
                    credential_headers, canary, now, via)  # fmt: skip


def _deliveries(
    ctx: Ctx,
    fixtures: list[WebhookFixture],
    spec: WebhookSpec,
    verifier: Verifier,
    credential_headers: set[str],
    canary: str,
    now: int,
    via: str,
) -> None:
    """Every check on every fixture, signed by ``spec`` (one scheme), verified by ``verifier``."""
    # A shared token does not depend on the body, so it cannot detect tampering.
    binds_body = spec.scheme.sign(b"a", canary, timestamp=now) != spec.scheme.sign(
        b"b", canary, timestamp=now
    )
    for fixture in fixtures:
        body = fixture.payload.read_bytes()
        where = f"fixture {fixture.payload.name} ({fixture.event}){via}"
        headers = spec.headers_for(body, canary, event=fixture.event, timestamp=now)
        try:
            delivery = verifier.verify(body, headers)
        except WebhookSignatureError as exc:
            violation(
                f"a genuine delivery of {where}, signed with the plugin's own scheme, was "
                f"rejected: {exc.reason}",
                "make WebhookSpec.headers_for and the scheme's verify agree (same header, "
                "prefix, encoding and signed bytes)",
            )
        if delivery.body != body or canary in repr(delivery):
            violation(
                f"the verified delivery of {where} changed the body or shows the secret",
                "keep the raw bytes as received and never the secret in VerifiedDelivery",
            )
        forged = spec.headers_for(body, canary + "-forged", event=fixture.event, timestamp=now)
        if not _rejected(verifier, body, forged, canary):
            violation(
                f"a delivery of {where} signed with another secret was accepted",
                "compare the signature (or token) with the configured secret, in constant time",
            )
        unsigned = {k: v for k, v in headers.items() if k.lower() not in credential_headers}
        if not _rejected(verifier, body, unsigned, canary):
            violation(
                f"a delivery of {where} without {', '.join(sorted(credential_headers))} was "
                "accepted",
                "fail closed: a delivery without the scheme's header must be rejected",
            )
        if binds_body and not _rejected(verifier, body + b" ", headers, canary):
            violation(
                f"a delivery of {where} whose body changed after signing was accepted",
                "verify the signature over the raw body bytes exactly as received",
            )
        if delivery.signed_at is not None:
            stale = spec.headers_for(
                body, canary, event=fixture.event, timestamp=now - STALE_SECONDS
            )
            if not _rejected(verifier, body, stale, canary):
                violation(
                    f"a delivery of {where} signed {STALE_SECONDS // 86400} days ago was accepted",
                    "enforce the scheme's replay window on the signed timestamp",
                )
            # the timestamp moved after signing (a replay dressed up as fresh)
            moved = {k: v.replace(str(now), str(now - 60)) for k, v in headers.items()}
            if moved != headers and not _rejected(verifier, body, moved, canary):
                violation(
                    f"a delivery of {where} whose timestamp changed after signing was accepted",
                    "sign the timestamp together with the body and verify both",
                )
