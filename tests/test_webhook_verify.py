"""Webhook verification with core's generic schemes, in four real providers' shapes."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from webhook_specs import BK_SIGNATURE, SPECS, signature_headers
from webhook_specs import verifier as sample_verifier

from kradle_providers.auth.secret import Secret
from kradle_providers.errors import InvalidInput, WebhookSignatureError
from kradle_providers.plugins.registry import Registry
from kradle_providers.webhooks import schemes, verify
from kradle_providers.webhooks.schemes import (
    HmacSignature,
    SharedToken,
    TimestampedHmacSignature,
    body_digest,
)
from kradle_providers.webhooks.spec import WebhookSpec
from kradle_providers.webhooks.verify import make_verifier, verify_delivery

SECRET = "s3cret-webhook-value"
OLD = "old-secret-value-1"
NOW = 1_700_000_000
BODY = b'{"action":"opened","issue":{"id":1},"webhookEvent":"jira:issue_created"}'
EVENTS = {"github": "issues", "gitlab": "Issue Hook", "buildkite": "build.finished", "jira": None}
UPSTREAM = os.environ.get("KRADLE_UPSTREAM_FIXTURES")


def headers_for(
    provider: str, body: bytes = BODY, secret: str = SECRET, **kw: Any
) -> dict[str, str]:
    kw.setdefault("event", EVENTS[provider])
    if provider == "buildkite":
        kw.setdefault("timestamp", NOW)
    return signature_headers(provider, body, secret, **kw)


def verifier(
    provider: str, *secrets: str | None, spec: WebhookSpec | None = None
) -> verify.Verifier:
    first = secrets[0] if secrets else SECRET
    second = secrets[1] if len(secrets) > 1 else None
    return sample_verifier(provider, first, second, clock=lambda: float(NOW), spec=spec)


@pytest.fixture
def no_json(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Make any JSON parse fail loudly: rejection must happen before parsing."""

    def boom(*a: Any, **k: Any) -> Any:
        raise AssertionError("JSON parser ran before the signature was verified")

    monkeypatch.setattr(json, "loads", boom)
    yield


PROVIDERS = ["github", "gitlab", "buildkite", "jira"]


def test_github_documented_vector() -> None:
    # The example from GitHub's "Validating webhook deliveries" documentation.
    scheme = HmacSignature("X-Hub-Signature-256")
    sig = scheme.digest("It's a Secret to Everybody", b"Hello, World!")
    assert sig == "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"


@pytest.mark.parametrize("provider", PROVIDERS)
def test_round_trip(provider: str) -> None:
    d = verifier(provider).verify(BODY, headers_for(provider, delivery_id="d-1"))
    assert d.provider == provider
    assert d.body == BODY
    assert d.delivery_id == "d-1"
    expected = EVENTS[provider] or "jira:issue_created"
    assert d.event == expected
    assert d.body_digest == body_digest(BODY)


@pytest.mark.parametrize("provider", ["github", "buildkite", "jira"])
def test_tampered_body_rejected_before_parsing(provider: str, no_json: None) -> None:
    h = headers_for(provider)
    with pytest.raises(WebhookSignatureError, match="does not match"):
        verifier(provider).verify(BODY + b" ", h)


@pytest.mark.parametrize("provider", PROVIDERS)
def test_wrong_secret_rejected_before_parsing(provider: str, no_json: None) -> None:
    h = headers_for(provider, secret="not-the-secret")
    with pytest.raises(WebhookSignatureError, match="does not match") as info:
        verifier(provider).verify(BODY, h)
    assert SECRET not in str(info.value) and "not-the-secret" not in str(info.value)
    assert info.value.provider == provider


SIG_HEADER = {
    "github": "X-Hub-Signature-256",
    "gitlab": "X-Gitlab-Token",
    "buildkite": "X-Buildkite-Signature",
    "jira": "X-Hub-Signature",
}


@pytest.mark.parametrize("provider", PROVIDERS)
def test_missing_signature_header_rejected(provider: str, no_json: None) -> None:
    h = headers_for(provider)
    del h[SIG_HEADER[provider].lower()]
    with pytest.raises(WebhookSignatureError, match=f"missing {SIG_HEADER[provider]}"):
        verifier(provider).verify(BODY, h)


@pytest.mark.parametrize("provider", PROVIDERS)
@pytest.mark.parametrize("unset", [None, ""])
def test_unset_secret_fails_closed(provider: str, unset: str | None, no_json: None) -> None:
    h = headers_for(provider)
    with pytest.raises(WebhookSignatureError, match="no webhook secret is configured"):
        verifier(provider, unset, unset).verify(BODY, h)


def test_github_sha1_only_refused(no_json: None) -> None:
    h = headers_for("github", sha1=True)
    assert h["x-hub-signature"].startswith("sha1=")
    del h["x-hub-signature-256"]
    with pytest.raises(WebhookSignatureError, match="sha1 is not accepted"):
        verifier("github").verify(BODY, h)


def test_github_sha1_alongside_sha256_is_ignored() -> None:
    h = headers_for("github", sha1=True)
    assert verifier("github").verify(BODY, h).event == "issues"


def test_github_signature_format_checked(no_json: None) -> None:
    h = headers_for("github")
    h["x-hub-signature-256"] = h["x-hub-signature-256"].replace("sha256=", "md5=")
    with pytest.raises(WebhookSignatureError, match="sha256=<hex>"):
        verifier("github").verify(BODY, h)


def test_github_missing_event_header_rejected() -> None:
    h = headers_for("github")
    del h["x-github-event"]
    with pytest.raises(WebhookSignatureError, match="missing x-github-event"):
        verifier("github").verify(BODY, h)


@pytest.mark.parametrize("skew", [301, -301, 10_000])
def test_buildkite_stale_or_future_timestamp_rejected(skew: int, no_json: None) -> None:
    h = headers_for("buildkite", timestamp=NOW - skew)
    with pytest.raises(WebhookSignatureError, match="replay window"):
        verifier("buildkite").verify(BODY, h)


def test_buildkite_window_edge_and_injectable_window() -> None:
    assert verifier("buildkite").verify(BODY, headers_for("buildkite", timestamp=NOW - 300))
    short = WebhookSpec(TimestampedHmacSignature("X-Buildkite-Signature", replay_window=10))
    v = verifier("buildkite", spec=short)
    with pytest.raises(WebhookSignatureError, match="10s replay window"):
        v.verify(BODY, headers_for("buildkite", timestamp=NOW - 11))


def test_buildkite_timestamp_is_signed(no_json: None) -> None:
    h = headers_for("buildkite")
    sig = h["x-buildkite-signature"].split("signature=")[1]
    h["x-buildkite-signature"] = f"timestamp={NOW + 1},signature={sig}"
    with pytest.raises(WebhookSignatureError, match="does not match"):
        verifier("buildkite").verify(BODY, h)


@pytest.mark.parametrize("value", ["garbage", "timestamp=abc,signature=00", "signature=00"])
def test_buildkite_malformed_signature_header(value: str, no_json: None) -> None:
    h = headers_for("buildkite")
    h["x-buildkite-signature"] = value
    with pytest.raises(WebhookSignatureError, match=r"timestamp=\{timestamp\},signature="):
        verifier("buildkite").verify(BODY, h)


def test_buildkite_token_or_signature() -> None:
    h = headers_for("buildkite", token=True, delivery_id="req-1")
    assert h["x-buildkite-token"] == SECRET and "x-buildkite-signature" not in h
    d = verifier("buildkite").verify(BODY, h)
    assert d.delivery_id == "req-1" and d.signed_at is None
    # A spec that accepts only signatures refuses a token-only delivery.
    signature_only = WebhookSpec(BK_SIGNATURE, event_header="X-Buildkite-Event")
    with pytest.raises(WebhookSignatureError, match="missing X-Buildkite-Signature"):
        verifier("buildkite", spec=signature_only).verify(BODY, h)
    token_only = WebhookSpec(SharedToken("X-Buildkite-Token"), event_header="X-Buildkite-Event")
    with pytest.raises(WebhookSignatureError, match="missing X-Buildkite-Token"):
        verifier("buildkite", spec=token_only).verify(BODY, headers_for("buildkite"))
    del h["x-buildkite-token"]
    with pytest.raises(
        WebhookSignatureError, match="missing X-Buildkite-Signature or X-Buildkite-Token"
    ):
        verifier("buildkite").verify(BODY, h)


def test_scheme_arguments_are_checked() -> None:
    with pytest.raises(InvalidInput, match="signed_payload"):
        TimestampedHmacSignature("X-Sig", signed_payload="{body}")
    with pytest.raises(InvalidInput, match="replay_window"):
        TimestampedHmacSignature("X-Sig", replay_window=0)
    with pytest.raises(InvalidInput, match="at least one"):
        schemes.OneOf()


def test_base64_hmac_scheme() -> None:
    spec = WebhookSpec(HmacSignature("X-Sig", prefix="", encoding="base64"), event_header="X-Ev")
    h = spec.headers_for(BODY, SECRET, event="e")
    assert h["x-sig"].endswith("=")
    assert verifier("x", spec=spec).verify(BODY, h).event == "e"
    with pytest.raises(WebhookSignatureError, match="does not match"):
        verifier("x", spec=spec).verify(BODY + b"!", h)


def test_buildkite_delivery_id_falls_back_to_body_digest() -> None:
    d = verifier("buildkite").verify(BODY, headers_for("buildkite"))
    assert d.delivery_id == body_digest(BODY)
    assert d.signed_at == NOW


def test_gitlab_delivery_id_headers() -> None:
    h = headers_for("gitlab")
    del h["x-gitlab-event-uuid"]
    assert verifier("gitlab").verify(BODY, h).delivery_id == body_digest(BODY)
    h["idempotency-key"] = "idem-1"
    assert verifier("gitlab").verify(BODY, h).delivery_id == "idem-1"
    h["x-gitlab-webhook-uuid"] = "hook-uuid"
    assert verifier("gitlab").verify(BODY, h).delivery_id == "hook-uuid"
    h["x-gitlab-event-uuid"] = "event-uuid"
    assert verifier("gitlab").verify(BODY, h).delivery_id == "event-uuid"


def test_jira_event_from_payload_after_verification() -> None:
    d = verifier("jira").verify(BODY, headers_for("jira", delivery_id="atl-1"))
    assert (d.event, d.delivery_id) == ("jira:issue_created", "atl-1")
    body = b"not json"
    d = verifier("jira").verify(body, headers_for("jira", body=body))
    assert d.event == "unknown"


def test_valid_github_delivery_never_parses(no_json: None) -> None:
    assert verifier("github").verify(BODY, headers_for("github")).event == "issues"


@pytest.mark.parametrize("provider", PROVIDERS)
def test_rotation_accepts_both_secrets(provider: str) -> None:
    v = verifier(provider, SECRET, OLD)
    assert v.verify(BODY, headers_for(provider, secret=SECRET))
    assert v.verify(BODY, headers_for(provider, secret=OLD))
    with pytest.raises(WebhookSignatureError):
        v.verify(BODY, headers_for(provider, secret="a-third-secret"))
    # Only the previous one configured (current unset) still works.
    assert verifier(provider, None, OLD).verify(BODY, headers_for(provider, secret=OLD))


@pytest.mark.parametrize("provider", PROVIDERS)
def test_headers_are_case_insensitive(provider: str) -> None:
    h = {k.upper(): v for k, v in headers_for(provider).items()}
    assert verifier(provider).verify(BODY, h).provider == provider
    h = {k.lower(): v for k, v in headers_for(provider).items()}
    assert verifier(provider).verify(BODY, h).provider == provider


def test_secret_objects_accepted_and_spec_from_the_registry() -> None:
    s = Secret(SECRET)
    h = signature_headers("github", BODY, s, event="x")
    assert verify_delivery("github", BODY, h, s, spec=SPECS["github"]).event == "x"
    # Without a spec the verifier takes the installed plugin's declaration.
    reg = Registry()
    with pytest.raises(InvalidInput, match="no such provider plugin is installed"):
        make_verifier("bitbucket", SECRET, registry=reg)


def test_upstream_payloads_round_trip() -> None:
    """Real payloads (when the upstream corpus is there) sign and verify byte for byte."""
    if not UPSTREAM or not Path(UPSTREAM).is_dir():
        pytest.skip("upstream corpus not available (set KRADLE_UPSTREAM_FIXTURES)")
    files = sorted(Path(UPSTREAM).glob("*/*/*.json"))[::7]
    assert files
    for f in files:
        provider = f.parts[-3]
        body = f.read_bytes()
        h = headers_for(provider, body=body, event="e" if provider != "jira" else None)
        assert verifier(provider).verify(body, h).body == body
        if provider != "gitlab":
            with pytest.raises(WebhookSignatureError):
                verifier(provider).verify(body[:-1], h)


SIGNED = ["github", "buildkite", "jira"]


@given(
    provider=st.sampled_from(SIGNED),
    body=st.binary(min_size=1, max_size=512),
    secret=st.text(min_size=1, max_size=40),
    data=st.data(),
)
def test_property_signed_verifies_and_any_byte_change_fails(
    provider: str, body: bytes, secret: str, data: st.DataObject
) -> None:
    h = headers_for(provider, body=body, secret=secret, event="e")
    assert verifier(provider, secret).verify(body, h).body == body
    i = data.draw(st.integers(0, len(body) - 1))
    delta = data.draw(st.integers(1, 255))
    changed = bytearray(body)
    changed[i] = (changed[i] + delta) % 256
    with pytest.raises(WebhookSignatureError):
        verifier(provider, secret).verify(bytes(changed), h)


# Tokens travel in a header: printable ASCII without surrounding whitespace.
TOKENS = st.text(st.characters(min_codepoint=33, max_codepoint=126), min_size=1, max_size=40)


@given(body=st.binary(max_size=256), secret=TOKENS)
def test_property_gitlab_token_round_trip(body: bytes, secret: str) -> None:
    h = headers_for("gitlab", body=body, secret=secret)
    assert verifier("gitlab", secret).verify(body, h).body == body
    with pytest.raises(WebhookSignatureError):
        verifier("gitlab", secret + "x").verify(body, h)
