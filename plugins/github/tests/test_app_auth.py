"""GitHub App auth: JWT claims, single-flight minting, refresh, early refusal, errors."""

from __future__ import annotations

import asyncio
import functools
import json
from collections.abc import Callable
from datetime import UTC, datetime

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from kradle_provider_github.app_auth import GitHubAppAuth, app_jwt, verify_app_jwt

from kradle_providers.auth import AuthScheme, Secret
from kradle_providers.errors import (
    AuthenticationError,
    InvalidInput,
    NotFound,
    PermissionDenied,
    ProviderError,
    RateLimited,
    TransientProviderError,
)

APP_ID = 4242
INSTALLATION = 77
T0 = 1_700_000_000.0


@functools.cache
def keypair() -> tuple[str, str]:
    """A 2048-bit RSA key pair (PEM private, PEM public), generated once per session."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    ).decode()
    public = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return private, public


@functools.cache
def other_keypair() -> tuple[str, str]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return (
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode(),
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode(),
    )


class Clock:
    """A settable clock with the ``now()`` shape the transport's clocks have."""

    def __init__(self, now: float = T0) -> None:
        self.t = now

    def now(self) -> float:
        return self.t


def iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class FakeGitHub:
    """A mint endpoint that checks the App JWT like GitHub and counts mints."""

    def __init__(self, clock: Clock, *, lifetime: float = 3600.0, yields: int = 5) -> None:
        self.clock = clock
        self.lifetime = lifetime
        self.yields = yields
        self.mints = 0
        self.requests: list[httpx.Request] = []
        self.fail_with: httpx.Response | None = None

    async def handler(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        # Let other tasks run while the "network" answers, so they can pile up.
        for _ in range(self.yields):
            await asyncio.sleep(0)
        if self.fail_with is not None:
            return self.fail_with
        assert request.method == "POST"
        assert request.url.path == f"/app/installations/{INSTALLATION}/access_tokens"
        token = request.headers["Authorization"].removeprefix("Bearer ")
        try:
            verify_app_jwt(token, keypair()[1], APP_ID, self.clock.now())
        except AuthenticationError as exc:
            return httpx.Response(401, json={"message": exc.message})
        self.mints += 1
        return httpx.Response(
            201,
            json={
                "token": f"ghs_installation_token_{self.mints:04d}",
                "expires_at": iso(self.clock.now() + self.lifetime),
                "permissions": {"issues": "write"},
                "repository_selection": "selected",
            },
        )

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handler)


def make_auth(clock: Clock, github: FakeGitHub, **kwargs: object) -> GitHubAppAuth:
    return GitHubAppAuth(
        APP_ID,
        Secret(keypair()[0]),
        INSTALLATION,
        http=github.transport(),
        clock=clock,
        **kwargs,  # type: ignore[arg-type]
    )


def refused(request: httpx.Request) -> httpx.Response:
    return httpx.Response(401, json={"message": "Bad credentials"}, request=request)


async def authorized(auth: GitHubAppAuth) -> httpx.Request:
    request = httpx.Request("GET", "https://api.github.com/repos/o/r")
    await auth.authorize(request)
    return request


# --- JWT ---------------------------------------------------------------------------


def test_app_jwt_claims_and_algorithm() -> None:
    private, public = keypair()
    token = app_jwt(APP_ID, Secret(private), T0)
    assert jwt.get_unverified_header(token)["alg"] == "RS256"
    claims = jwt.decode(token, public, algorithms=["RS256"], options={"verify_exp": False})
    assert claims == {"iat": int(T0) - 60, "exp": int(T0) + 540, "iss": str(APP_ID)}
    assert claims["exp"] - claims["iat"] <= 600
    assert verify_app_jwt(token, public, APP_ID, T0) == claims


def test_app_jwt_accepts_aware_datetimes_and_escaped_pem() -> None:
    private, public = keypair()
    escaped = private.replace("\n", "\\n")
    now = datetime.fromtimestamp(T0, tz=UTC)
    token = app_jwt(str(APP_ID), escaped, now)
    assert verify_app_jwt(token, public, APP_ID, now)["iat"] == int(T0) - 60
    with pytest.raises(InvalidInput, match="aware"):
        app_jwt(APP_ID, private, datetime(2024, 1, 1))


def _encode(claims: dict[str, object], key: str | None = None, alg: str = "RS256") -> str:
    return jwt.encode(claims, key or keypair()[0], algorithm=alg)


@pytest.mark.parametrize(
    ("token", "now", "match"),
    [
        (lambda: app_jwt(APP_ID, other_keypair()[0], T0), T0, "signature"),
        (lambda: app_jwt(APP_ID + 1, keypair()[0], T0), T0, "Issuer"),
        (lambda: app_jwt(APP_ID, keypair()[0], T0), T0 + 541, "future time"),
        (lambda: app_jwt(APP_ID, keypair()[0], T0 + 120), T0, "in the past"),
        (
            lambda: _encode({"iat": int(T0) - 60, "exp": int(T0) + 601, "iss": str(APP_ID)}),
            T0,
            "too far in the future",
        ),
        (lambda: _encode({"iat": T0 - 60.5, "exp": int(T0) + 60, "iss": str(APP_ID)}), T0, "iat"),
        (lambda: _encode({"iat": int(T0) - 60, "iss": str(APP_ID)}), T0, "'exp'"),
        (
            lambda: _encode(
                {"iat": 1, "exp": 2, "iss": "x"}, "a-shared-secret-key-32-bytes-long!!", "HS256"
            ),
            T0,
            "RS256",
        ),
        (lambda: "not.a.jwt", T0, "could not be decoded"),
    ],
    ids=[
        "wrong-key",
        "wrong-iss",
        "expired",
        "iat-future",
        "exp-too-far",
        "float-iat",
        "missing-exp",
        "hs256",
        "garbage",
    ],
)
def test_verify_app_jwt_refuses_like_github(
    token: Callable[[], str], now: float, match: str
) -> None:
    with pytest.raises(AuthenticationError, match=match) as refused_:
        verify_app_jwt(token(), keypair()[1], APP_ID, now)
    assert refused_.value.status == 401


def test_verify_app_jwt_leeway_allows_clock_skew() -> None:
    token = app_jwt(APP_ID, keypair()[0], T0 + 120)
    assert verify_app_jwt(token, keypair()[1], APP_ID, T0, leeway=90)["iss"] == str(APP_ID)


def test_bad_private_key_is_explained_without_key_material() -> None:
    garbage = (
        "-----BEGIN RSA PRIVATE KEY-----\n"
        "c2VjcmV0LWtleS1tYXRlcmlhbA==\n"
        "-----END RSA PRIVATE KEY-----"
    )
    with pytest.raises(InvalidInput, match="PEM") as bad:
        app_jwt(APP_ID, Secret(garbage), T0)
    assert "c2VjcmV0LWtleS1tYXRlcmlhbA" not in str(bad.value)
    assert bad.value.__cause__ is None and bad.value.__suppress_context__


# --- minting ------------------------------------------------------------------------


async def test_first_request_mints_with_a_verifiable_jwt() -> None:
    clock = Clock()
    github = FakeGitHub(clock)
    auth = make_auth(clock, github)
    assert isinstance(auth, AuthScheme)
    request = await authorized(auth)
    assert request.headers["Authorization"] == "Bearer ghs_installation_token_0001"
    (mint,) = github.requests
    assert mint.headers["Accept"] == "application/vnd.github+json"
    assert mint.headers["X-GitHub-Api-Version"] == "2022-11-28"
    assert mint.content == b""
    record = auth.cached_token
    assert record is not None
    assert record.expires_at == T0 + 3600
    assert record.refresh_at == T0 + 3600 - 300
    assert record.permissions == {"issues": "write"}
    assert record.repository_selection == "selected"
    assert auth.credential_id == f"github-app:{APP_ID}:installation:{INSTALLATION}"


async def test_enterprise_base_url_and_narrowed_token_body() -> None:
    seen: list[httpx.Request] = []

    async def minter(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(
            201, json={"token": "ghs_narrowed_0001", "expires_at": iso(T0 + 3600)}
        )

    auth = GitHubAppAuth(
        APP_ID,
        keypair()[0],
        str(INSTALLATION),
        base_url="https://ghe.example.test/api/v3/",
        http=minter,
        clock=lambda: T0,
        repositories=["hello-world"],
        permissions={"contents": "read"},
    )
    assert (await auth.installation_token()).reveal() == "ghs_narrowed_0001"
    (request,) = seen
    assert str(request.url) == (
        f"https://ghe.example.test/api/v3/app/installations/{INSTALLATION}/access_tokens"
    )
    assert json.loads(request.content) == {
        "repositories": ["hello-world"],
        "permissions": {"contents": "read"},
    }


async def test_fifty_concurrent_tasks_cause_exactly_one_mint() -> None:
    clock = Clock()
    github = FakeGitHub(clock)
    auth = make_auth(clock, github)
    tokens = await asyncio.gather(*(auth.installation_token() for _ in range(50)))
    assert github.mints == 1 and len(github.requests) == 1
    assert {t.reveal() for t in tokens} == {"ghs_installation_token_0001"}
    await auth.installation_token()
    assert len(github.requests) == 1


async def test_token_is_refreshed_before_expiry_on_the_fake_clock() -> None:
    clock = Clock()
    github = FakeGitHub(clock)
    auth = make_auth(clock, github)
    assert (await auth.installation_token()).reveal().endswith("0001")
    clock.t = T0 + 3600 - 301
    assert (await auth.installation_token()).reveal().endswith("0001")
    assert github.mints == 1
    clock.t = T0 + 3600 - 300
    tokens = await asyncio.gather(*(auth.installation_token() for _ in range(20)))
    assert {t.reveal() for t in tokens} == {"ghs_installation_token_0002"}
    assert github.mints == 2


async def test_short_lived_tokens_refresh_at_half_their_lifetime() -> None:
    clock = Clock()
    github = FakeGitHub(clock, lifetime=120)
    auth = make_auth(clock, github, refresh_margin=300)
    await auth.installation_token()
    clock.t = T0 + 59
    await auth.installation_token()
    assert github.mints == 1
    clock.t = T0 + 60
    await auth.installation_token()
    assert github.mints == 2


async def test_missing_expiry_assumes_one_hour() -> None:
    async def minter(request: httpx.Request) -> httpx.Response:
        return httpx.Response(201, json={"token": "ghs_no_expiry_0001"})

    auth = GitHubAppAuth(APP_ID, keypair()[0], INSTALLATION, http=minter, clock=lambda: T0)
    await auth.installation_token()
    assert auth.cached_token is not None and auth.cached_token.expires_at == T0 + 3600


async def test_invalidate_forces_a_new_mint() -> None:
    clock = Clock()
    github = FakeGitHub(clock)
    auth = make_auth(clock, github)
    await auth.installation_token()
    auth.invalidate()
    assert (await auth.installation_token()).reveal().endswith("0002")


# --- early refusal ------------------------------------------------------------------


async def test_early_refusal_re_mints_once_then_gives_up() -> None:
    clock = Clock()
    github = FakeGitHub(clock)
    auth = make_auth(clock, github)
    first = await authorized(auth)
    assert await auth.refresh_after_refusal(refused(first)) is True
    assert github.mints == 2
    second = await authorized(auth)
    assert second.headers["Authorization"] == "Bearer ghs_installation_token_0002"
    # The token minted in answer to the refusal is refused too: final.
    assert await auth.refresh_after_refusal(refused(second)) is False
    assert github.mints == 2
    # Much later, a new early revocation is a new episode and earns one re-mint.
    clock.t += 120
    assert await auth.refresh_after_refusal(refused(second)) is True
    assert github.mints == 3


async def test_many_refusals_of_the_same_token_cause_one_re_mint() -> None:
    clock = Clock()
    github = FakeGitHub(clock)
    auth = make_auth(clock, github)
    requests = await asyncio.gather(*(authorized(auth) for _ in range(30)))
    answers = await asyncio.gather(*(auth.refresh_after_refusal(refused(r)) for r in requests))
    assert all(answers)
    assert github.mints == 2
    # A refusal of the already-replaced token just retries with the new one.
    assert await auth.refresh_after_refusal(refused(requests[0])) is True
    assert github.mints == 2


# --- failures ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("response", "error", "match"),
    [
        (httpx.Response(401, json={"message": "Bad credentials"}), AuthenticationError, "clock"),
        (httpx.Response(404, json={"message": "Not Found"}), NotFound, "install the App"),
        (httpx.Response(403, json={"message": "suspended"}), PermissionDenied, "suspended"),
        (
            httpx.Response(
                403, headers={"x-ratelimit-remaining": "0", "x-ratelimit-reset": "1700000600"}
            ),
            RateLimited,
            "rate limited",
        ),
        (httpx.Response(429, headers={"retry-after": "30"}), RateLimited, "rate limited"),
        (httpx.Response(502, text="bad gateway"), TransientProviderError, "retries"),
        (httpx.Response(422, json={"message": "nope"}), ProviderError, "permissions"),
        (httpx.Response(201, json={"nothing": True}), ProviderError, "no token"),
    ],
    ids=["401", "404", "403", "403-ratelimit", "429", "502", "422", "no-token"],
)
async def test_mint_failures_are_typed_and_explained(
    response: httpx.Response, error: type[ProviderError], match: str
) -> None:
    clock = Clock()
    github = FakeGitHub(clock)
    github.fail_with = response
    auth = make_auth(clock, github)
    with pytest.raises(error, match=match) as failed:
        await auth.installation_token()
    assert failed.value.provider == "github"
    if isinstance(failed.value, RateLimited) and response.status_code == 403:
        assert failed.value.reset_at == datetime.fromtimestamp(1_700_000_600, tz=UTC)
    if response.status_code == 429:
        assert isinstance(failed.value, RateLimited) and failed.value.retry_after == 30.0
    # A failure is not cached: the next call tries again.
    github.fail_with = None
    assert (await auth.installation_token()).reveal().startswith("ghs_")


async def test_network_errors_are_transient() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    auth = GitHubAppAuth(
        APP_ID, keypair()[0], INSTALLATION, http=httpx.MockTransport(handler), clock=lambda: T0
    )
    with pytest.raises(TransientProviderError, match="could not reach"):
        await auth.installation_token()
    await auth.aclose()


async def test_concurrent_callers_share_one_failed_mint() -> None:
    clock = Clock()
    github = FakeGitHub(clock)
    github.fail_with = httpx.Response(500)
    auth = make_auth(clock, github)
    results = await asyncio.gather(
        *(auth.installation_token() for _ in range(10)), return_exceptions=True
    )
    assert len(github.requests) == 1
    assert all(isinstance(r, TransientProviderError) for r in results)


async def test_a_cancelled_caller_does_not_cancel_the_shared_mint() -> None:
    clock = Clock()
    github = FakeGitHub(clock, yields=20)
    auth = make_auth(clock, github)
    first = asyncio.create_task(auth.installation_token())
    second = asyncio.create_task(auth.installation_token())
    await asyncio.sleep(0)
    first.cancel()
    assert (await second).reveal().endswith("0001")
    assert first.cancelled()
    assert github.mints == 1


# --- construction and transports -------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"app_id": "", "installation_id": 1}, "app_id"),
        ({"app_id": "4 2", "installation_id": 1}, "app_id"),
        ({"app_id": 1, "installation_id": "abc"}, "installation_id"),
    ],
)
def test_bad_ids_are_refused(kwargs: dict[str, object], field: str) -> None:
    with pytest.raises(InvalidInput) as bad:
        GitHubAppAuth(private_key=keypair()[0], **kwargs)  # type: ignore[arg-type]
    assert bad.value.field == field


def test_empty_private_key_is_refused() -> None:
    with pytest.raises(InvalidInput, match="empty"):
        GitHubAppAuth(APP_ID, Secret(""), INSTALLATION)


async def test_bad_private_key_fails_at_first_mint_without_leaking() -> None:
    calls: list[httpx.Request] = []

    async def minter(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        return httpx.Response(500)

    auth = GitHubAppAuth(APP_ID, "not-a-pem-key-at-all", INSTALLATION, http=minter)
    with pytest.raises(InvalidInput, match="private key") as bad:
        await auth.installation_token()
    assert "not-a-pem-key-at-all" not in str(bad.value)
    assert calls == []


async def test_given_async_client_is_used_and_not_closed() -> None:
    clock = Clock()
    github = FakeGitHub(clock)
    async with httpx.AsyncClient(transport=github.transport()) as client:
        async with GitHubAppAuth(
            APP_ID, keypair()[0], INSTALLATION, http=client, clock=clock.now
        ) as auth:
            await auth.installation_token()
        assert not client.is_closed
    assert github.mints == 1


async def test_owned_client_is_closed_by_aclose() -> None:
    clock = Clock()
    github = FakeGitHub(clock)
    auth = make_auth(clock, github)
    await auth.installation_token()
    client = auth._client
    assert client is not None and not client.is_closed
    await auth.aclose()
    assert client.is_closed


def test_emulator_style_verification_of_minted_jwts() -> None:
    private, public = keypair()
    for offset in (0, 300, 3600):
        token = app_jwt(APP_ID, private, T0 + offset)
        claims = verify_app_jwt(token, public.encode(), APP_ID, T0 + offset + 539)
        assert claims["iss"] == str(APP_ID)
