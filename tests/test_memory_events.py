"""Normalizers of the memory provider's change events."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from kradle_providers.models import (
    ChangeAction,
    ExternalRef,
    IssueCreate,
    NormalizeOutcome,
    ProviderRef,
    SyncEvent,
)
from kradle_providers.testing.memory import MemoryAdapter
from kradle_providers.testing.memory_backend import MemoryBackend
from kradle_providers.testing.memory_events import NORMALIZERS, normalize
from kradle_providers.webhooks.normalizer import NormalizeContext

PROVIDER = ProviderRef(type="memory", instance="test")
REF = ExternalRef(owner="acme", repository="widgets")


def _ctx(event: str, delivery: str | None = None) -> NormalizeContext:
    return NormalizeContext(provider=PROVIDER, event=event, delivery_id=delivery)


def test_every_emitted_event_of_the_demo_normalizes() -> None:
    backend = MemoryBackend()
    backend.seed_demo()
    kinds = set()
    for event in backend.events:
        result = NORMALIZERS[event["event"]](_ctx(event["event"], event["delivery_id"]), event)
        if event["event"] == "issue" and event["object"].get("pull_request"):
            assert result.outcome is NormalizeOutcome.IGNORED
            continue
        assert result.outcome is NormalizeOutcome.NORMALIZED, result.reason
        (sync,) = result.events
        assert sync.delivery_id == event["delivery_id"]
        assert sync.native_action == event["action"]
        assert sync.object is not None
        assert sync.object.external.provider == PROVIDER
        assert sync.native_id == sync.object.external.native_id
        assert sync.version.sequence == event["object"]["sequence"]
        kinds.add(sync.object_kind)
        assert SyncEvent.model_validate_json(sync.model_dump_json()) == sync
    assert len(kinds) == 19


async def test_normalized_object_equals_what_the_adapter_returns() -> None:
    backend = MemoryBackend()
    backend.seed_demo()
    adapter = MemoryAdapter(backend, instance="test")
    await adapter.create_issue(REF, IssueCreate(title="same mapping"))
    issue_event = next(
        e
        for e in reversed(backend.events)
        if e["event"] == "issue" and e["object"]["title"] == "same mapping"
    )
    result = normalize(_ctx("issue", "d-1"), issue_event)
    (sync,) = result.events
    fetched = await adapter.get_issue(REF, str(issue_event["object"]["number"]))
    assert sync.object == fetched
    assert sync.action is ChangeAction.CREATED
    assert sync.dedupe_key() == f"d-1:created:{fetched.external.native_id}"


def test_deleted_events_carry_the_last_state() -> None:
    backend = MemoryBackend()
    label = backend.seed_label("o/r", "doomed")
    backend.delete("label", label["id"])
    result = normalize(_ctx("label"), backend.events[-1])
    assert result.events[0].action is ChangeAction.DELETED
    assert result.events[0].native_id == str(label["id"])


def test_ping_is_ignored_and_unknown_events_are_explained() -> None:
    assert NORMALIZERS["ping"](_ctx("ping"), {"zen": "x"}).outcome is NormalizeOutcome.IGNORED
    unknown = normalize(_ctx("push"), {})
    assert unknown.outcome is NormalizeOutcome.UNKNOWN_EVENT
    assert unknown.reason and "push" in unknown.reason


def test_malformed_payloads_are_explained() -> None:
    cases: list[Mapping[str, Any]] = [
        {"action": "created"},
        {"action": "exploded", "object": {"id": 1}},
        {"event": "label", "action": "created", "object": {"id": 1, "name": "x"}},
        {"action": "created", "object": {"id": 1, "title": None}},
        {"action": "created", "object": {"id": 1, "title": "t", "updated_at": "yesterday"}},
    ]
    for payload in cases:
        result = NORMALIZERS["issue"](_ctx("issue"), payload)
        assert result.outcome is NormalizeOutcome.MALFORMED, payload
        assert result.reason
        assert not result.ok
    not_a_dict = NORMALIZERS["issue"](_ctx("issue"), [1, 2])  # type: ignore[arg-type]
    assert not_a_dict.outcome is NormalizeOutcome.MALFORMED


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=10),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=10,
)


@given(
    event=st.sampled_from(sorted(NORMALIZERS)),
    payload=st.dictionaries(
        st.sampled_from(["event", "action", "object", "delivery_id", "x"]), JSON, max_size=5
    ),
    obj=st.dictionaries(
        st.sampled_from(["id", "title", "name", "state", "sha", "ref", "updated_at", "labels"]),
        JSON,
        max_size=6,
    ),
)
def test_normalizers_never_raise(event: str, payload: dict[str, Any], obj: dict[str, Any]) -> None:
    for candidate in (payload, {**payload, "object": obj}, {"action": "updated", "object": obj}):
        result = NORMALIZERS[event](_ctx(event), candidate)
        assert result.outcome in set(NormalizeOutcome)
        if result.outcome is NormalizeOutcome.MALFORMED:
            assert result.reason
