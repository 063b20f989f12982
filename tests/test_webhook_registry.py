"""Normalizer registry: lookups, explained misses, crash containment, plugin loading."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kradle_providers.auth.secret import Secret
from kradle_providers.models.base import Interface
from kradle_providers.models.events import NormalizeOutcome, NormalizeResult, SyncEvent
from kradle_providers.webhooks.normalizer import NormalizeContext
from kradle_providers.webhooks.registry import NormalizerRegistry, event_key


def issue_normalizer(ctx: NormalizeContext, payload: Mapping[str, Any]) -> NormalizeResult:
    issue = payload["issue"]
    return NormalizeResult(
        provider=ctx.provider.type,
        native_event=ctx.event,
        outcome=NormalizeOutcome.NORMALIZED,
        events=[
            SyncEvent(
                provider=ctx.provider,
                interface=Interface.ISSUE_TRACKING,
                object_kind="issue",
                action="updated",
                native_event=ctx.event,
                native_action=payload.get("action"),
                native_id=str(issue["id"]),
            )
        ],
    )


@pytest.fixture
def reg() -> NormalizerRegistry:
    r = NormalizerRegistry()
    r.register_many("gh", {"issues": issue_normalizer})
    r.register("gl", "Issue Hook", issue_normalizer)
    r.declare_informational("gh", ["ping"])
    return r


BODY = json.dumps({"action": "opened", "issue": {"id": 7}}).encode()


def test_normalizes_bytes_str_and_mapping(reg: NormalizerRegistry) -> None:
    for payload in (BODY, BODY.decode(), json.loads(BODY)):
        res = reg.normalize("gh", "issues", payload)
        assert res.outcome is NormalizeOutcome.NORMALIZED
        assert [e.native_id for e in res.events] == ["7"]


def test_folded_event_names(reg: NormalizerRegistry) -> None:
    assert event_key("Issue Hook") == event_key("issue_hook") == "issue_hook"
    assert event_key("jira:issue_updated") == "jira_issue_updated"
    assert reg.normalize("gl", "issue_hook", BODY).ok
    assert reg.normalize("gl", "ISSUE HOOK", BODY).ok
    assert reg.lookup("gl", "Issue Hook") is issue_normalizer
    assert reg.events("gl") == ["Issue Hook"]
    assert reg.providers() == ["gh", "gl"]


def test_unknown_provider_and_event_explained(reg: NormalizerRegistry) -> None:
    res = reg.normalize("bitbucket", "push", BODY)
    assert res.outcome is NormalizeOutcome.UNKNOWN_EVENT
    assert "bitbucket" in (res.reason or "") and "gh, gl" in (res.reason or "")
    res = reg.normalize("gh", "star", BODY)
    assert res.outcome is NormalizeOutcome.UNKNOWN_EVENT
    assert "'star'" in (res.reason or "")


def test_informational_is_ignored_without_parsing(reg: NormalizerRegistry) -> None:
    res = reg.normalize("gh", "ping", b"{{not json")
    assert res.outcome is NormalizeOutcome.IGNORED and res.ok
    assert "informational" in (res.reason or "")


@pytest.mark.parametrize(
    ("payload", "why"),
    [(b"{oops", "not valid JSON"), (b"[1,2]", "JSON object"), (b"\xff\xfe", "not valid JSON")],
)
def test_malformed_json(reg: NormalizerRegistry, payload: bytes, why: str) -> None:
    res = reg.normalize("gh", "issues", payload)
    assert res.outcome is NormalizeOutcome.MALFORMED
    assert why in (res.reason or "")


def test_raising_normalizer_contained_and_redacted(reg: NormalizerRegistry) -> None:
    leaked = Secret("tok_leaky_value_123")

    def bad(ctx: NormalizeContext, payload: Mapping[str, Any]) -> NormalizeResult:
        raise RuntimeError(f"boom with {leaked.reveal()}")

    reg.register("gh", "bad", bad)
    res = reg.normalize("gh", "bad", BODY)
    assert res.outcome is NormalizeOutcome.MALFORMED
    assert "RuntimeError" in (res.reason or "")
    assert leaked.reveal() not in (res.reason or "") and "***" in (res.reason or "")
    # A KeyError from a missing field is contained too.
    res = reg.normalize("gh", "issues", b'{"action": "x"}')
    assert res.outcome is NormalizeOutcome.MALFORMED and "KeyError" in (res.reason or "")


def test_non_result_return_is_malformed(reg: NormalizerRegistry) -> None:
    reg.register("gh", "weird", lambda ctx, p: None)  # type: ignore[arg-type,return-value]
    res = reg.normalize("gh", "weird", BODY)
    assert res.outcome is NormalizeOutcome.MALFORMED and "NoneType" in (res.reason or "")
    with pytest.raises(TypeError):
        reg.register("gh", "x", "not callable")  # type: ignore[arg-type]


def test_delivery_id_filled_from_context(reg: NormalizerRegistry) -> None:
    from kradle_providers.models.base import ProviderRef

    ctx = NormalizeContext(provider=ProviderRef(type="gh"), event="issues", delivery_id="d-9")
    res = reg.normalize("gh", "issues", BODY, ctx)
    assert res.events[0].delivery_id == "d-9"
    assert res.events[0].dedupe_key() == "d-9:opened:7"


class FakeManifest:
    def webhook_events(self, *, include_informational: bool = True) -> list[str]:
        return ["issues", "ping"] if include_informational else ["issues"]


class FakePlugins:
    def __init__(self) -> None:
        self.loaded: list[str] = []

    def names(self) -> list[str]:
        return ["fake", "broken"]

    def manifest(self, name: str) -> Any:
        return FakeManifest()

    def normalizers(self, name: str) -> Mapping[str, Any]:
        self.loaded.append(name)
        if name == "broken":
            raise ImportError("no module named kradle_provider_broken")
        return {"issues": issue_normalizer}


def test_from_plugins_is_lazy_and_contains_failures() -> None:
    plugins = FakePlugins()
    reg = NormalizerRegistry.from_plugins(plugins)
    assert plugins.loaded == []
    assert reg.providers() == ["broken", "fake"]
    assert reg.normalize("fake", "issues", BODY).ok
    assert reg.normalize("fake", "ping", BODY).outcome is NormalizeOutcome.IGNORED
    assert reg.normalize("fake", "issues", BODY).ok
    assert plugins.loaded == ["fake"]
    res = reg.normalize("broken", "issues", BODY)
    assert res.outcome is NormalizeOutcome.UNKNOWN_EVENT
    assert "failed to load" in (res.reason or "") and "ImportError" in (res.reason or "")


def test_from_installed_plugins_memory_provider() -> None:
    pytest.importorskip("kradle_providers.plugins.registry")
    reg = NormalizerRegistry.from_plugins()
    assert isinstance(reg.providers(), list)
    res = reg.normalize("no-such-provider", "x", b"{}")
    assert res.outcome is NormalizeOutcome.UNKNOWN_EVENT


@given(st.binary(max_size=200))
def test_property_never_raises_on_any_bytes(payload: bytes) -> None:
    reg = NormalizerRegistry()
    reg.register("gh", "issues", issue_normalizer)
    res = reg.normalize("gh", "issues", payload)
    assert res.outcome in set(NormalizeOutcome)
    assert res.ok or res.reason


JSON_VALUES = st.recursive(
    st.none() | st.integers() | st.text(max_size=5),
    lambda c: st.dictionaries(st.sampled_from(["issue", "id", "action", "x"]), c, max_size=3),
    max_leaves=8,
)


@given(JSON_VALUES)
def test_property_never_raises_on_any_json(value: Any) -> None:
    reg = NormalizerRegistry()
    reg.register("gh", "issues", issue_normalizer)
    res = reg.normalize("gh", "issues", json.dumps(value))
    assert res.outcome in (NormalizeOutcome.NORMALIZED, NormalizeOutcome.MALFORMED)
