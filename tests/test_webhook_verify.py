"""Webhook signature verification (all four providers) and signing round trips."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kradle_providers.auth.secret import Secret
from kradle_providers.errors import InvalidInput, WebhookSignatureError
from kradle_providers.webhooks import signing, verify
from kradle_providers.webhooks.signing import signature_headers
from kradle_providers.webhooks.verify import (
    BuildkiteVerifier,
    GitHubVerifier,
    GitLabVerifier,
    JiraVerifier,
    make_verifier,
    verify_delivery,
)

SECRET = "s3cret-webhook-value"
OLD = "old-secret-value-1"
NOW = 1_700_000_000
BODY = b'{"action":"opened","issue":{"id":1},"webhookEvent":"jira:issue_created"}'
EVENTS = {"github": "issues", "gitlab": "Issue Hook", "buildkite": "build.finished", "jira": None}
FIXTURES = Path(__file__).resolve().parents[1] / ".." / "shared" / "fixtures" / "upstream"


def headers_for(
    provider: str, body: bytes = BODY, secret: str = SECRET, **kw: Any
) -> dict[str, str]:
    kw.setdefault("event", EVENTS[provider])
    if provider == "buildkite":
        kw.setdefault("timestamp", NOW)
    return signature_headers(provider, body, secret, **kw)


def verifier(provider: str, *secrets: str | None, **opts: Any) -> verify.WebhookVerifier:
    if provider == "buildkite":
        opts.setdefault("clock", lambda: float(NOW))
    first = secrets[0] if secrets else SECRET
    second = secrets[1] if len(secrets) > 1 else None
    return make_verifier(provider, first, second, **opts)


@pytest.fixture
def no_json(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Make any JSON parse fail loudly: rejection must happen before parsing."""

    def boom(*a: Any, **k: Any) -> Any:
        raise AssertionError("JSON parser ran before the signature was verified")

    monkeypatch.setattr(json, "loads", boom)
    monkeypatch.setattr(verify, "_parse_json", boom)
    yield


PROVIDERS = ["github", "gitlab", "buildkite", "jira"]


def test_github_documented_vector() -> None:
    # The example from GitHub's "Validating webhook deliveries" documentation.
    sig = signing.hub_signature_sha256("It's a Secret to Everybody", b"Hello, World!")
    assert sig == "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"


@pytest.mark.parametrize("provider", PROVIDERS)
def test_round_trip(provider: str) -> None:
    d = verifier(provider).verify(BODY, headers_for(provider, delivery_id="d-1"))
    assert d.provider == provider
    assert d.body == BODY
    assert d.delivery_id == "d-1"
    expected = EVENTS[provider] or "jira:issue_created"
    assert d.event == expected
    assert d.body_digest == signing.body_digest(BODY)


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
    del h[SIG_HEADER[provider]]
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
    assert h["X-Hub-Signature"].startswith("sha1=")
    del h["X-Hub-Signature-256"]
    with pytest.raises(WebhookSignatureError, match="sha1 is not accepted"):
        verifier("github").verify(BODY, h)


def test_github_sha1_alongside_sha256_is_ignored() -> None:
    h = headers_for("github", sha1=True)
    assert verifier("github").verify(BODY, h).event == "issues"


def test_github_signature_format_checked(no_json: None) -> None:
    h = headers_for("github")
    h["X-Hub-Signature-256"] = h["X-Hub-Signature-256"].replace("sha256=", "md5=")
    with pytest.raises(WebhookSignatureError, match="sha256=<hex>"):
        verifier("github").verify(BODY, h)


def test_github_missing_event_header_rejected() -> None:
    h = headers_for("github")
    del h["X-GitHub-Event"]
    with pytest.raises(WebhookSignatureError, match="missing X-GitHub-Event"):
        verifier("github").verify(BODY, h)


@pytest.mark.parametrize("skew", [301, -301, 10_000])
def test_buildkite_stale_or_future_timestamp_rejected(skew: int, no_json: None) -> None:
    h = headers_for("buildkite", timestamp=NOW - skew)
    with pytest.raises(WebhookSignatureError, match="replay window"):
        verifier("buildkite").verify(BODY, h)


def test_buildkite_window_edge_and_injectable_window() -> None:
    assert verifier("buildkite").verify(BODY, headers_for("buildkite", timestamp=NOW - 300))
    v = verifier("buildkite", replay_window=10)
    with pytest.raises(WebhookSignatureError, match="10s replay window"):
        v.verify(BODY, headers_for("buildkite", timestamp=NOW - 11))


def test_buildkite_timestamp_is_signed(no_json: None) -> None:
    h = headers_for("buildkite")
    sig = h["X-Buildkite-Signature"].split("signature=")[1]
    h["X-Buildkite-Signature"] = f"timestamp={NOW + 1},signature={sig}"
    with pytest.raises(WebhookSignatureError, match="does not match"):
        verifier("buildkite").verify(BODY, h)


@pytest.mark.parametrize("value", ["garbage", "timestamp=abc,signature=00", "signature=00"])
def test_buildkite_malformed_signature_header(value: str, no_json: None) -> None:
    h = headers_for("buildkite")
    h["X-Buildkite-Signature"] = value
    with pytest.raises(WebhookSignatureError, match="timestamp=<unix>,signature=<hex>"):
        verifier("buildkite").verify(BODY, h)


def test_buildkite_token_mode() -> None:
    h = headers_for("buildkite", buildkite_mode="token", delivery_id="req-1")
    assert h["X-Buildkite-Token"] == SECRET and "X-Buildkite-Signature" not in h
    d = verifier("buildkite", mode="token").verify(BODY, h)
    assert d.delivery_id == "req-1"
    # Signature mode (the default) refuses a token-only delivery, saying why.
    with pytest.raises(WebhookSignatureError, match="expects X-Buildkite-Signature"):
        verifier("buildkite").verify(BODY, h)
    # Token mode refuses a signature-only delivery.
    with pytest.raises(WebhookSignatureError, match="missing X-Buildkite-Token"):
        verifier("buildkite", mode="token").verify(BODY, headers_for("buildkite"))
    with pytest.raises(InvalidInput):
        BuildkiteVerifier(SECRET, mode="nope")  # type: ignore[arg-type]


def test_buildkite_delivery_id_falls_back_to_body_digest() -> None:
    d = verifier("buildkite").verify(BODY, headers_for("buildkite"))
    assert d.delivery_id == signing.body_digest(BODY)
    assert d.signed_at == NOW


def test_gitlab_delivery_id_headers() -> None:
    h = headers_for("gitlab")
    del h["X-Gitlab-Event-UUID"]
    assert verifier("gitlab").verify(BODY, h).delivery_id == signing.body_digest(BODY)
    h["Idempotency-Key"] = "idem-1"
    assert verifier("gitlab").verify(BODY, h).delivery_id == "idem-1"
    h["X-Gitlab-Webhook-UUID"] = "hook-uuid"
    assert verifier("gitlab").verify(BODY, h).delivery_id == "hook-uuid"
    h["X-Gitlab-Event-UUID"] = "event-uuid"
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


def test_secret_objects_accepted_and_unknown_provider() -> None:
    s = Secret(SECRET)
    d = verify_delivery("github", BODY, signature_headers("github", BODY, s, event="x"), s)
    assert d.event == "x"
    with pytest.raises(InvalidInput, match="no webhook verifier"):
        make_verifier("bitbucket", SECRET)
    with pytest.raises(InvalidInput, match="core signs"):
        signature_headers("bitbucket", BODY, SECRET)


def test_verifier_classes_directly() -> None:
    verifiers: list[tuple[verify.WebhookVerifier, str]] = [
        (GitHubVerifier(SECRET), "github"),
        (GitLabVerifier(SECRET), "gitlab"),
        (JiraVerifier(SECRET), "jira"),
    ]
    for v, provider in verifiers:
        assert v.verify(BODY, headers_for(provider)).provider == provider


def test_real_fixtures_round_trip() -> None:
    files = sorted(FIXTURES.glob("*/*/*.json"))[::7]
    if not files:
        pytest.skip("shared fixtures not present")
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
