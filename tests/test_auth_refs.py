"""Secret references and resolvers: binding forms, environment, file, mapping, chain."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from kradle_providers.auth import (
    ChainResolver,
    EnvironmentResolver,
    FileResolver,
    InsecureSecretFile,
    MappingResolver,
    Secret,
    SecretNotFound,
    SecretRef,
    SecretResolver,
    default_resolver,
)
from kradle_providers.errors import KradleError

CANARY = "canary-ref-value-7f3a9c"

names = st.text(
    alphabet=st.characters(codec="ascii", categories=["L", "N"], include_characters="_-."),
    min_size=1,
    max_size=12,
)
keys = st.text(min_size=1, max_size=24).filter(lambda s: s.strip() == s and s)


class Binding(BaseModel):
    token: SecretRef


# --- SecretRef forms -------------------------------------------------------


def test_binding_yaml_forms_all_parse_to_the_same_model() -> None:
    assert SecretRef.model_validate({"env": "GH_TOKEN"}) == SecretRef(name="env", key="GH_TOKEN")
    assert SecretRef.model_validate({"file": "/run/s/gh.pem"}) == SecretRef.file("/run/s/gh.pem")
    assert SecretRef.model_validate({"secret": {"name": "vault", "key": "gh"}}) == SecretRef(
        name="vault", key="gh"
    )
    assert SecretRef.model_validate("env:GH_TOKEN") == SecretRef.env("GH_TOKEN")
    assert Binding.model_validate({"token": {"env": "X_TOKEN"}}).token == SecretRef.env("X_TOKEN")


@pytest.mark.parametrize(
    "bad",
    [
        "GH_TOKEN",
        ":x",
        "env:",
        {"env": ""},
        {"name": "env"},
        {"vault": "x"},
        {"name": "a", "key": "b", "c": 1},
    ],
)
def test_malformed_references_are_refused(bad: object) -> None:
    with pytest.raises(ValidationError):
        SecretRef.model_validate(bad)


@given(name=names, key=keys)
def test_every_form_round_trips(name: str, key: str) -> None:
    ref = SecretRef(name=name, key=key)
    assert SecretRef.model_validate(ref.model_dump()) == ref
    assert SecretRef.model_validate({"secret": {"name": name, "key": key}}) == ref
    assert SecretRef.model_validate(str(ref)) == ref
    assert SecretRef.model_validate_json(ref.model_dump_json()) == ref


def test_reference_is_frozen_and_hashable() -> None:
    ref = SecretRef.env("A")
    with pytest.raises(ValidationError):
        ref.key = "B"  # type: ignore[misc]
    assert {ref: 1}[SecretRef.env("A")] == 1


# --- resolvers ---------------------------------------------------------------


def test_shipped_resolvers_satisfy_the_protocol(tmp_path: Path) -> None:
    for resolver in (EnvironmentResolver({}), FileResolver(tmp_path), MappingResolver()):
        assert isinstance(resolver, SecretResolver)


async def test_environment_resolver_reads_the_variable() -> None:
    resolver = EnvironmentResolver({"GH_TOKEN": CANARY})
    secret = await resolver.resolve(SecretRef.env("GH_TOKEN"))
    assert isinstance(secret, Secret)
    assert secret.reveal() == CANARY


async def test_environment_resolver_defaults_to_os_environ(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KRADLE_TEST_SECRET_VAR", CANARY)
    secret = await EnvironmentResolver().resolve(SecretRef.env("KRADLE_TEST_SECRET_VAR"))
    assert secret.reveal() == CANARY


async def test_missing_and_empty_variables_name_the_reference_and_the_fix() -> None:
    resolver = EnvironmentResolver({"EMPTY": ""})
    with pytest.raises(SecretNotFound) as missing:
        await resolver.resolve(SecretRef.env("GH_TOKEN"))
    assert isinstance(missing.value, KradleError)
    assert missing.value.ref == SecretRef.env("GH_TOKEN")
    assert "env:GH_TOKEN" in str(missing.value)
    assert "export GH_TOKEN" in str(missing.value)
    with pytest.raises(SecretNotFound, match="set but empty"):
        await resolver.resolve(SecretRef.env("EMPTY"))


async def test_environment_resolver_refuses_other_stores() -> None:
    with pytest.raises(SecretNotFound, match="not 'vault'"):
        await EnvironmentResolver({"x": CANARY}).resolve(SecretRef(name="vault", key="x"))


async def test_file_resolver_strips_trailing_line_breaks(tmp_path: Path) -> None:
    path = tmp_path / "token"
    path.write_text(CANARY + "\r\n\n")
    path.chmod(0o600)
    secret = await FileResolver().resolve(SecretRef.file(path))
    assert secret.reveal() == CANARY


@given(body=st.text(alphabet=st.characters(codec="utf-8", exclude_characters="\x00"), min_size=1))
def test_file_content_round_trips_minus_trailing_newlines(
    tmp_path_factory: pytest.TempPathFactory, body: str
) -> None:
    import asyncio

    directory = tmp_path_factory.mktemp("secret")
    path = directory / "s"
    path.write_bytes(body.encode("utf-8"))
    path.chmod(0o600)
    expected = body.rstrip("\r\n")
    resolver = FileResolver(directory)
    if not expected:
        with pytest.raises(SecretNotFound, match="empty"):
            asyncio.run(resolver.resolve(SecretRef.file("s")))
    else:
        assert asyncio.run(resolver.resolve(SecretRef.file("s"))).reveal() == expected


async def test_file_resolver_warns_on_world_readable_file(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "token"
    path.write_text(CANARY)
    path.chmod(0o644)
    with caplog.at_level(logging.WARNING, logger="kradle_providers.auth.refs"):
        secret = await FileResolver().resolve(SecretRef.file(path))
    assert secret.reveal() == CANARY
    assert "readable by every user" in caplog.text
    assert CANARY not in caplog.text


@pytest.mark.skipif(os.name != "posix", reason="POSIX permissions")
async def test_file_resolver_can_refuse_world_readable_file(tmp_path: Path) -> None:
    path = tmp_path / "token"
    path.write_text(CANARY)
    path.chmod(0o644)
    with pytest.raises(InsecureSecretFile, match="chmod") as refused:
        await FileResolver(refuse_world_readable=True).resolve(SecretRef.file(path))
    assert CANARY not in str(refused.value)
    path.chmod(0o600)
    secret = await FileResolver(refuse_world_readable=True).resolve(SecretRef.file(path))
    assert secret.reveal() == CANARY


async def test_file_resolver_keeps_keys_inside_its_root(tmp_path: Path) -> None:
    root = tmp_path / "secrets"
    root.mkdir()
    outside = tmp_path / "outside"
    outside.write_text(CANARY)
    outside.chmod(0o600)
    (root / "link").symlink_to(outside)
    resolver = FileResolver(root)
    for key in ("../outside", str(outside), "link"):
        with pytest.raises(SecretNotFound, match="outside the secrets directory"):
            await resolver.resolve(SecretRef.file(key))


async def test_file_resolver_explains_missing_files_and_directories(tmp_path: Path) -> None:
    resolver = FileResolver(tmp_path)
    with pytest.raises(SecretNotFound, match="does not exist"):
        await resolver.resolve(SecretRef.file("nope"))
    (tmp_path / "dir").mkdir()
    with pytest.raises(SecretNotFound, match="not a regular file"):
        await resolver.resolve(SecretRef.file("dir"))


async def test_mapping_resolver_put_remove_and_misses() -> None:
    resolver = MappingResolver({"vault": {"gh": CANARY}})
    ref = SecretRef(name="vault", key="gh")
    assert (await resolver.resolve(ref)).reveal() == CANARY
    resolver.put(SecretRef(name="vault", key="other"), Secret("second-value-123"))
    assert (await resolver.resolve(SecretRef(name="vault", key="other"))).reveal() == (
        "second-value-123"
    )
    resolver.remove(ref)
    with pytest.raises(SecretNotFound, match="no key 'gh'"):
        await resolver.resolve(ref)
    with pytest.raises(SecretNotFound, match="no store 'kv'"):
        await resolver.resolve(SecretRef(name="kv", key="gh"))
    assert CANARY not in repr(resolver)


async def test_chain_resolver_returns_first_answer_and_lists_every_miss(tmp_path: Path) -> None:
    chain = ChainResolver(
        EnvironmentResolver({"GH_TOKEN": "from-env-value"}),
        FileResolver(tmp_path),
        MappingResolver({"vault": {"gh": CANARY}, "env": {"GH_TOKEN": "shadowed-value"}}),
    )
    assert (await chain.resolve(SecretRef.env("GH_TOKEN"))).reveal() == "from-env-value"
    assert (await chain.resolve(SecretRef(name="vault", key="gh"))).reveal() == CANARY
    with pytest.raises(SecretNotFound) as miss:
        await chain.resolve(SecretRef(name="kms", key="gh"))
    assert len(miss.value.misses) == 3
    assert "kms:gh" in str(miss.value)
    assert "(1)" in str(miss.value) and "(3)" in str(miss.value)
    assert "register a resolver for store 'kms'" in str(miss.value)


async def test_chain_resolver_stops_on_errors_that_are_not_misses(tmp_path: Path) -> None:
    path = tmp_path / "t"
    path.write_text(CANARY)
    path.chmod(0o644)
    chain = ChainResolver(
        FileResolver(refuse_world_readable=True), MappingResolver({"file": {str(path): "x" * 8}})
    )
    with pytest.raises(InsecureSecretFile):
        await chain.resolve(SecretRef.file(path))


def test_chain_resolver_needs_a_resolver() -> None:
    with pytest.raises(ValueError, match="at least one"):
        ChainResolver()


async def test_host_resolver_plugs_into_the_chain() -> None:
    class VaultResolver:
        async def resolve(self, ref: SecretRef) -> Secret:
            if ref.name != "vault":
                raise SecretNotFound(ref, "not a vault reference")
            return Secret(f"vault-{ref.key}-value")

    chain = ChainResolver(EnvironmentResolver({}), VaultResolver())
    assert (await chain.resolve(SecretRef(name="vault", key="gh"))).reveal() == "vault-gh-value"


async def test_default_resolver_reads_environment_then_files(tmp_path: Path) -> None:
    (tmp_path / "gh").write_text(CANARY + "\n")
    (tmp_path / "gh").chmod(0o600)
    resolver = default_resolver({"GH_TOKEN": "env-token-value"}, tmp_path)
    assert (await resolver.resolve(SecretRef.env("GH_TOKEN"))).reveal() == "env-token-value"
    assert (await resolver.resolve(SecretRef.file("gh"))).reveal() == CANARY
    with pytest.raises(SecretNotFound, match="register a resolver for store 'vault'"):
        await resolver.resolve(SecretRef(name="vault", key="gh"))
