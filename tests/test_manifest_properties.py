"""Property tests: random valid manifests built from the canonical tables validate
clean and round-trip YAML -> model -> YAML -> model; random misspellings are caught."""

from __future__ import annotations

from typing import Any

import yaml
from hypothesis import given
from hypothesis import strategies as st

from kradle_providers.manifest import dump_manifest, load_manifest, validate_manifest
from kradle_providers.manifest.model import IdempotencyMode
from kradle_providers.models import kinds_of
from kradle_providers.models.base import Interface
from kradle_providers.protocols.catalogue import OPERATIONS, operations_of

_WORD = st.text(alphabet="abcdefghijklmnopqrstuvwxyz_", min_size=1, max_size=10)
# Printable text incl. YAML-significant characters and non-ASCII, never empty.
_TEXT = st.text(alphabet="aZ9 :#-'\"{}[]&*!|>%@`\u00e9\u2713", min_size=1, max_size=16)


@st.composite
def _operation(
    draw: st.DrawFn, name: str, auth_modes: list[str], events: list[str]
) -> str | dict[str, Any]:
    if draw(st.booleans()):
        return name
    info = OPERATIONS[name]
    entry: dict[str, Any] = {"operation": name}
    if draw(st.booleans()):
        entry["write"] = info.write
    if draw(st.booleans()):
        entry["native"] = draw(_WORD)
    if draw(st.booleans()):
        entry["requires"] = {
            "permissions": draw(st.lists(_WORD, max_size=2)),
            "authModes": draw(st.lists(st.sampled_from(auth_modes), max_size=2, unique=True)),
            "nativeScopes": draw(st.lists(_WORD, max_size=2)),
        }
    if draw(st.booleans()):
        entry["rateLimitCost"] = draw(
            st.one_of(st.integers(0, 100), st.dictionaries(_WORD, st.integers(0, 100), max_size=2))
        )
    if info.write:
        if draw(st.booleans()):
            entry["idempotency"] = {"mode": draw(st.sampled_from(list(IdempotencyMode))).value}
        confirm: bool = draw(st.booleans())
        if events and confirm:
            confirming = draw(st.lists(st.sampled_from(events), min_size=1, unique=True))
            entry["webhookConfirmation"] = {"events": confirming}
    if draw(st.integers(0, 5)) == 0:
        entry["supported"] = False
        entry["reason"] = draw(_TEXT)
    return entry


@st.composite
def _interface(
    draw: st.DrawFn, interface: Interface, supported: bool, auth_modes: list[str]
) -> dict[str, Any]:
    if not supported:
        return {"supported": False, "reason": draw(_TEXT)}
    events = draw(st.lists(_WORD, max_size=4, unique=True))
    webhooks: list[Any] = [
        e if draw(st.booleans()) else {"event": e, "informational": draw(st.booleans())}
        for e in events
    ]
    names = draw(
        st.lists(
            st.sampled_from([op.name for op in operations_of(interface)]),
            min_size=1,
            unique=True,
        )
    )
    kinds = draw(st.lists(st.sampled_from(kinds_of(interface)), unique=True))
    objects: list[Any] = [
        k if draw(st.booleans()) else {"kind": k, "native": draw(_WORD)} for k in kinds
    ]
    return {
        "supported": True,
        "objects": objects,
        "operations": [draw(_operation(n, auth_modes, events)) for n in names],
        "webhooks": webhooks,
    }


@st.composite
def valid_manifests(draw: st.DrawFn) -> dict[str, Any]:
    provider = draw(st.from_regex(r"[a-z][a-z0-9-]{0,12}", fullmatch=True))
    auth_modes = draw(st.lists(_WORD, min_size=1, max_size=3, unique=True))
    supported = draw(
        st.lists(st.booleans(), min_size=3, max_size=3).filter(lambda flags: any(flags))
    )
    interfaces = {
        iface.value: draw(_interface(iface, flag, auth_modes))
        for iface, flag in zip(Interface, supported, strict=True)
    }
    return {
        "apiVersion": "kradle.a5c.ai/v1alpha1",
        "kind": "ExternalProviderCapabilityManifest",
        "metadata": {"name": provider},
        "spec": {
            "providerType": provider,
            "displayName": draw(_TEXT),
            "hosting": draw(st.lists(st.sampled_from(["saas", "self-managed"]), unique=True)),
            "authModes": auth_modes,
            "api": {"rest": draw(st.booleans()), "webhook": draw(st.booleans())},
            "identity": {"nativeIdFields": ["id"], "versionFields": ["updated_at"]},
            "rateLimitModel": draw(st.one_of(st.none(), _WORD)),
            "interfaces": interfaces,
        },
    }


@given(valid_manifests())
def test_random_valid_manifests_validate_clean_and_round_trip(data: dict[str, Any]) -> None:
    assert validate_manifest(data) == []
    first = load_manifest(yaml.safe_dump(data, sort_keys=False, allow_unicode=True))
    text = dump_manifest(first)
    second = load_manifest(text)
    assert second == first
    assert dump_manifest(second) == text
    for interface, spec in first.spec.interfaces.items():
        assert spec.supported_operations() == second.interface(interface).supported_operations()


_IT_OPS = [op.name for op in operations_of(Interface.ISSUE_TRACKING)]


@given(valid_manifests(), st.sampled_from(_IT_OPS), st.integers(0, 100))
def test_dropping_a_letter_from_an_operation_is_caught(
    data: dict[str, Any], name: str, position: int
) -> None:
    index = 1 + position % (len(name) - 1)
    typo = name[:index] + name[index + 1 :]
    if typo in OPERATIONS:  # pragma: no cover - no canonical name is another minus a letter
        return
    iface = data["spec"]["interfaces"]["issueTracking"]
    iface["supported"] = True
    iface.pop("reason", None)
    iface["operations"] = [typo]
    findings = [f for f in validate_manifest(data) if f.severity == "error"]
    assert [f.path for f in findings] == ["$.spec.interfaces.issueTracking.operations[0]"]
    assert "did you mean" in findings[0].fix
