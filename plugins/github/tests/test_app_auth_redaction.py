"""A canary private key and installation token never show up where they must not (App auth).

Checked surfaces: repr/str of the auth object and its token record, exception
text (including a mint error body that echoes the credentials) and captured logs
at DEBUG.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from kradle_provider_github.app_auth import GitHubAppAuth

from kradle_providers.auth import (
    FileResolver,
    Secret,
    SecretRef,
)
from kradle_providers.errors import KradleError

CANARY = "kradle-canary-5e6f1d2c9b"
INSTALLATION_CANARY = f"ghs_{CANARY}_installation"
T0 = 1_700_000_000.0


@functools.cache
def canary_private_key() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    ).decode()


def key_fragments() -> list[str]:
    """Lines of the private key's base64 body: none may appear anywhere."""
    lines = canary_private_key().splitlines()[1:-1]
    return [line for line in lines if len(line) >= 32]


def assert_clean(text: str) -> None:
    for value in [CANARY, INSTALLATION_CANARY, *key_fragments()]:
        assert value not in text, f"secret material leaked: ...{value[:6]}"


def app_auth(handler: httpx.MockTransport) -> GitHubAppAuth:
    return GitHubAppAuth(4242, Secret(canary_private_key()), 77, http=handler, clock=lambda: T0)


def minting(request: httpx.Request) -> httpx.Response:
    expires = datetime.fromtimestamp(T0 + 3600, tz=UTC).isoformat()
    return httpx.Response(201, json={"token": INSTALLATION_CANARY, "expires_at": expires})


def echoing(request: httpx.Request) -> httpx.Response:
    # A hostile or buggy server that echoes the credentials it was sent or minted (only
    # those: a value the App never held cannot be known as secret; the test once passed
    # only when another test had registered the bare canary first).
    return httpx.Response(
        500,
        json={
            "message": f"bad request with {request.headers['Authorization']} and "
            f"{INSTALLATION_CANARY}",
            "token": INSTALLATION_CANARY,
        },
    )


async def test_canary_never_leaks_from_app_auth(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    texts: list[str] = []
    # GitHub App: private key and minted installation token.
    app = app_auth(httpx.MockTransport(minting))
    request = httpx.Request("GET", "https://api.github.com/")
    await app.authorize(request)
    assert request.headers["Authorization"] == f"Bearer {INSTALLATION_CANARY}"
    assert await app.refresh_after_refusal(httpx.Response(401, request=request)) is True
    texts += [repr(app), str(app), app.credential_id, repr(app.cached_token)]
    await app.aclose()

    # Error paths: a mint error body that echoes the JWT, the token and the canary.
    broken = app_auth(httpx.MockTransport(echoing))
    with pytest.raises(KradleError) as failed:
        await broken.installation_token()
    texts += [str(failed.value), repr(failed.value), repr(getattr(failed.value, "native", ""))]
    await broken.aclose()

    texts += [record.getMessage() for record in caplog.records]
    texts.append(caplog.text)
    for text in texts:
        assert_clean(text)
    # The JWT minted for the failing request must be scrubbed too.
    assert "eyJ" not in str(failed.value)


async def test_secret_file_content_never_reaches_the_logs(
    caplog: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    caplog.set_level(logging.DEBUG)
    path = tmp_path / "key.pem"
    path.write_text(canary_private_key())
    path.chmod(0o644)  # world-readable: the warning names the file, not the content
    secret = await FileResolver().resolve(SecretRef.file(path))
    auth = GitHubAppAuth(4242, secret, 77, http=httpx.MockTransport(minting), clock=lambda: T0)
    await asyncio.gather(*(auth.installation_token() for _ in range(5)))
    await auth.aclose()
    assert "readable by every user" in caplog.text
    assert_clean(caplog.text)
