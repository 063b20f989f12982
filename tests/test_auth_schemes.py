"""Static auth schemes: header forms, fingerprints, refusal handling, input checks."""

from __future__ import annotations

import base64

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from kradle_providers.auth import (
    AuthScheme,
    BasicAuth,
    BearerAuth,
    OAuthUserAuth,
    PersonalTokenAuth,
    Secret,
    TokenAuth,
    redact,
)
from kradle_providers.errors import InvalidInput

TOKEN = "tok-scheme-canary-0123456789"


def _request() -> httpx.Request:
    return httpx.Request("GET", "https://api.example.test/x")


async def test_bearer_sets_authorization_header() -> None:
    request = _request()
    await BearerAuth(Secret(TOKEN)).authorize(request)
    assert request.headers["Authorization"] == f"Bearer {TOKEN}"


async def test_token_auth_defaults_to_github_token_form() -> None:
    request = _request()
    await TokenAuth(Secret(TOKEN)).authorize(request)
    assert request.headers["Authorization"] == f"token {TOKEN}"


async def test_token_auth_custom_header_sends_bare_token() -> None:
    request = _request()
    auth = TokenAuth(Secret(TOKEN), header="PRIVATE-TOKEN")
    await auth.authorize(request)
    assert request.headers["PRIVATE-TOKEN"] == TOKEN
    assert "Authorization" not in request.headers
    assert auth.prefix is None


async def test_token_auth_explicit_prefix_and_none() -> None:
    request = _request()
    await TokenAuth(Secret(TOKEN), prefix="Bearer").authorize(request)
    assert request.headers["Authorization"] == f"Bearer {TOKEN}"
    request = _request()
    await TokenAuth(Secret(TOKEN), prefix=None).authorize(request)
    assert request.headers["Authorization"] == TOKEN


async def test_basic_auth_encodes_username_and_password() -> None:
    request = _request()
    await BasicAuth("me@example.com", Secret(TOKEN)).authorize(request)
    scheme, _, encoded = request.headers["Authorization"].partition(" ")
    assert scheme == "Basic"
    assert base64.b64decode(encoded).decode() == f"me@example.com:{TOKEN}"


async def test_basic_auth_registers_the_encoded_header_for_redaction() -> None:
    auth = BasicAuth("me@example.com", Secret(TOKEN))
    request = _request()
    await auth.authorize(request)
    encoded = request.headers["Authorization"].removeprefix("Basic ")
    assert encoded not in redact(f"echoed credentials: {encoded}")


async def test_aliases_keep_the_wire_form() -> None:
    for auth, expected in (
        (OAuthUserAuth(Secret(TOKEN)), f"Bearer {TOKEN}"),
        (PersonalTokenAuth(Secret(TOKEN)), f"token {TOKEN}"),
    ):
        request = _request()
        await auth.authorize(request)
        assert request.headers["Authorization"] == expected
        assert type(auth).__name__ in repr(auth)


@pytest.mark.parametrize(
    "auth",
    [
        BearerAuth(Secret(TOKEN)),
        TokenAuth(Secret(TOKEN)),
        BasicAuth("u", Secret(TOKEN)),
        OAuthUserAuth(Secret(TOKEN)),
        PersonalTokenAuth(Secret(TOKEN), header="PRIVATE-TOKEN"),
    ],
    ids=lambda a: type(a).__name__,
)
async def test_static_schemes_implement_the_contract(auth: AuthScheme) -> None:
    assert isinstance(auth, AuthScheme)
    response = httpx.Response(401, request=_request())
    assert await auth.refresh_after_refusal(response) is False
    assert TOKEN not in repr(auth) and TOKEN not in str(auth)
    assert TOKEN not in auth.credential_id


def test_credential_id_is_stable_and_distinguishes_credentials() -> None:
    assert BearerAuth(Secret(TOKEN)).credential_id == BearerAuth(TOKEN).credential_id
    assert BearerAuth(Secret(TOKEN)).credential_id == Secret(TOKEN).digest()
    assert BearerAuth(Secret(TOKEN)).credential_id != BearerAuth(TOKEN + "x").credential_id
    assert BasicAuth("a", TOKEN).credential_id == BasicAuth("a", Secret(TOKEN)).credential_id
    assert BasicAuth("a", TOKEN).credential_id != BasicAuth("b", TOKEN).credential_id


@given(
    token=st.text(
        alphabet=st.characters(codec="ascii", categories=["L", "N", "P"]), min_size=1, max_size=64
    )
)
async def test_any_printable_token_round_trips_through_the_header(token: str) -> None:
    request = _request()
    await BearerAuth(token).authorize(request)
    assert request.headers["Authorization"] == f"Bearer {token}"


@pytest.mark.parametrize("bad", ["", "abc\r\nX-Evil: 1", "a\nb", "a\x00b"])
def test_empty_or_header_injecting_tokens_are_refused(bad: str) -> None:
    with pytest.raises(InvalidInput, match="token"):
        BearerAuth(bad)
    with pytest.raises(InvalidInput, match="password"):
        BasicAuth("user", bad)


def test_bad_header_prefix_and_username_are_refused() -> None:
    with pytest.raises(InvalidInput, match="header name"):
        TokenAuth(TOKEN, header="Bad Header")
    with pytest.raises(InvalidInput, match="scheme word"):
        TokenAuth(TOKEN, prefix="to ken")
    with pytest.raises(InvalidInput, match="':'"):
        BasicAuth("a:b", TOKEN)
    with pytest.raises(InvalidInput, match="non-empty"):
        BasicAuth("", TOKEN)
