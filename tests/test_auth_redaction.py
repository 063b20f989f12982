"""A canary secret used by every auth mode never shows up where it must not.

Checked surfaces: repr/str of auth objects and token records, exception text
(including provider error bodies that echo credentials), captured logs at
DEBUG, and pydantic dumps/schemas of models that embed references or secrets.
"""

from __future__ import annotations

import base64
import logging
from pathlib import Path

import httpx
import pytest
from pydantic import BaseModel

from kradle_providers.auth import (
    AuthScheme,
    BasicAuth,
    BearerAuth,
    EnvironmentResolver,
    FileResolver,
    OAuthUserAuth,
    PersonalTokenAuth,
    Secret,
    SecretNotFound,
    SecretRef,
    TokenAuth,
)

CANARY = "kradle-canary-5e6f1d2c9b"
INSTALLATION_CANARY = f"ghs_{CANARY}_installation"
T0 = 1_700_000_000.0


def forbidden() -> list[str]:
    encoded = base64.b64encode(f"me@example.com:{CANARY}".encode()).decode()
    return [CANARY, encoded]


def assert_clean(text: str) -> None:
    for value in forbidden():
        assert value not in text, f"secret material leaked: ...{value[:6]}"


class Binding(BaseModel):
    """A binding-like model embedding references and a secret."""

    token: SecretRef
    key: SecretRef
    inline: Secret


async def test_canary_never_leaks_from_any_auth_mode(
    caplog: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    caplog.set_level(logging.DEBUG)
    texts: list[str] = []

    static: list[AuthScheme] = [
        BearerAuth(Secret(CANARY)),
        OAuthUserAuth(Secret(CANARY)),
        TokenAuth(Secret(CANARY)),
        TokenAuth(Secret(CANARY), header="PRIVATE-TOKEN"),
        PersonalTokenAuth(Secret(CANARY)),
        BasicAuth("me@example.com", Secret(CANARY)),
    ]
    for auth in static:
        request = httpx.Request("GET", "https://api.example.test/")
        await auth.authorize(request)
        texts += [repr(auth), str(auth), auth.credential_id]
        await auth.refresh_after_refusal(httpx.Response(401, request=request))

    # Resolver errors: a secret file that is not text, a store that has no entry.
    bad_file = tmp_path / "bad"
    bad_file.write_bytes(b"\xff\xfe" + CANARY.encode())
    bad_file.chmod(0o600)
    with pytest.raises(SecretNotFound) as unreadable:
        await FileResolver().resolve(SecretRef.file(bad_file))
    texts.append(str(unreadable.value))
    with pytest.raises(SecretNotFound) as missing:
        await EnvironmentResolver({"OTHER": CANARY}).resolve(SecretRef.env("GH_TOKEN"))
    texts.append(str(missing.value))

    # Models embedding references and secrets.
    resolved = await EnvironmentResolver({"GH_TOKEN": CANARY}).resolve(SecretRef.env("GH_TOKEN"))
    binding = Binding(
        token=SecretRef.env("GH_TOKEN"), key=SecretRef.file("/k.pem"), inline=resolved
    )
    texts += [
        repr(binding),
        str(binding.model_dump()),
        binding.model_dump_json(),
        str(Binding.model_json_schema()),
        repr(resolved),
        f"{resolved}",
    ]

    texts += [record.getMessage() for record in caplog.records]
    texts.append(caplog.text)
    for text in texts:
        assert_clean(text)
