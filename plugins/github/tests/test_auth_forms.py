"""GitHub's credential forms in bindings: allowed forms named, App form validated and built."""

from __future__ import annotations

import pytest
from kradle_provider_github.emulator import create_emulator

from kradle_providers.auth import MappingResolver, Secret
from kradle_providers.plugins.registry import load_registry
from kradle_providers.plugins.selection import BindingRefused
from kradle_providers.sync.binding import parse_binding
from kradle_providers.sync.runtime import BoundBinding, ProviderOverride

BINDING = """\
apiVersion: kradle.a5c.ai/v1alpha1
kind: ExternalBackendBinding
metadata: {name: widgets}
spec:
  target: {kind: Repository, name: widgets}
  providers:
    gh: {type: github, apiBaseUrl: "http://github.test", auth: AUTH}
  interfaces:
    gitForge: {provider: gh, mode: read-only, externalRef: {owner: acme, repository: widgets}}
"""
APP = "{githubApp: {appId: 1, installationId: 2, privateKey: {env: GH_KEY}}}"


def binding(auth: str) -> str:
    return BINDING.replace("AUTH", auth)


def test_a_form_github_does_not_take_is_refused_naming_the_allowed_ones() -> None:
    text = binding("{basic: {username: u, password: {env: P}}}")
    with pytest.raises(BindingRefused) as info:
        parse_binding(text, environ={}).validate_against(load_registry())
    message = str(info.value)
    assert "github does not take a 'basic' credential" in message
    assert "token (personal-access-token), bearer (oauth-user), githubApp (github-app)" in message


def test_app_form_value_is_validated_with_its_path() -> None:
    text = binding("{githubApp: {appId: 1, privateKey: {env: GH_KEY}}}")
    with pytest.raises(
        BindingRefused, match=r"spec\.providers\.gh\.auth\.githubApp\.installationId"
    ):
        parse_binding(text, environ={}).validate_against(load_registry())


async def test_app_form_builds_app_auth_that_mints_from_the_emulator() -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    emulator = create_emulator(
        seed="demo", options={"app_id": 1, "installation_id": 2, "private_key_pem": pem}
    )
    resolver = MappingResolver({"env": {"GH_KEY": Secret(pem)}})
    override = ProviderOverride(transport=emulator.transport())
    parsed = parse_binding(binding(APP), environ={})
    async with await BoundBinding.open(
        parsed, resolver=resolver, overrides={"gh": override}
    ) as bound:
        repo = await bound.adapter_for("gitForge").get_repository(
            parsed.interface("gitForge").external_ref
        )
        assert repo.full_name == "acme/widgets"
    # The App form minted an installation token with a JWT before reading the repository.
    paths = [(r.method, r.path) for r in emulator.control.requests()]
    assert ("POST", "/app/installations/2/access_tokens") in paths
