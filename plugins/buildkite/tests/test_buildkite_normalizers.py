"""Normalizers: the rules of mapping deliveries, and that no payload makes one raise."""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from kradle_provider_buildkite import mapping
from kradle_provider_buildkite.harness import normalize_payload, webhook_fixtures

from kradle_providers.models import (
    ChangeAction,
    NormalizeOutcome,
    NormalizeResult,
    PipelineState,
    RunnerState,
)

_PAYLOADS = [(f.event, json.loads(f.payload.read_text())) for f in webhook_fixtures()]
_EVENTS = sorted({event for event, _ in _PAYLOADS})

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=8,
)
known_keys = st.sampled_from(["event", "build", "job", "agent", "pipeline", "sender", "id"])


def _assert_explained(result: NormalizeResult) -> None:
    assert result.provider == "buildkite"
    if result.outcome is NormalizeOutcome.MALFORMED:
        assert result.reason
    else:
        assert result.outcome in (NormalizeOutcome.NORMALIZED, NormalizeOutcome.IGNORED)
        NormalizeResult.model_validate(result.model_dump(mode="json"))


@settings(suppress_health_check=[HealthCheck.too_slow])
@given(
    event=st.sampled_from(_EVENTS),
    payload=st.dictionaries(known_keys | st.text(max_size=6), json_values, max_size=6)
    | json_values,
)
def test_arbitrary_json_never_raises(event: str, payload: Any) -> None:
    _assert_explained(normalize_payload(event, payload))


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out: list[tuple[Any, ...]] = []
    if isinstance(node, Mapping):
        for key, value in node.items():
            out.append((*prefix, key))
            out += _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for index, value in enumerate(node[:2]):
            out += _paths(value, (*prefix, index))
    return out


@settings(suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_mutated_deliveries_never_raise(data: st.DataObject) -> None:
    event, original = data.draw(st.sampled_from(_PAYLOADS))
    payload = copy.deepcopy(original)
    paths = _paths(payload)
    for _ in range(data.draw(st.integers(1, 4))):
        path = data.draw(st.sampled_from(paths))
        parent: Any = payload
        try:
            for part in path[:-1]:
                parent = parent[part]
            if data.draw(st.booleans()) and isinstance(parent, dict):
                parent.pop(path[-1], None)
            else:
                parent[path[-1]] = data.draw(json_values)
        except (KeyError, IndexError, TypeError):
            continue  # an earlier mutation removed or replaced this path
    _assert_explained(normalize_payload(event, payload))


def _delivery(event: str, case: str) -> dict[str, Any]:
    return next(
        json.loads(f.payload.read_text())
        for f in webhook_fixtures()
        if f.event == event and f.payload.name == f"{case}.json"
    )


def test_build_events_carry_the_build_then_its_pipeline() -> None:
    scheduled = normalize_payload("build.scheduled", _delivery("build.scheduled", "scheduled"))
    assert [(e.object_kind, e.action) for e in scheduled.events] == [
        ("Pipeline", ChangeAction.CREATED),
        ("PipelineDefinition", ChangeAction.UPDATED),
    ]
    build = scheduled.events[0].object
    assert build is not None and build.external.native_number
    pull = normalize_payload("build.finished", _delivery("build.finished", "pull-request"))
    obj = pull.events[0].object
    assert obj is not None
    assert obj.external.extensions.fields["pull_request"]["base"] == "main"  # type: ignore[index,call-overload]


def test_states_flags_and_kinds() -> None:
    assert mapping.build_state("passed", blocked=True).state is PipelineState.BLOCKED
    assert mapping.build_state("canceling").state is PipelineState.RUNNING
    assert mapping.build_state("not_run").state is PipelineState.SKIPPED
    assert mapping.build_state("something_new").native == "something_new"
    assert mapping.job_state("failed", soft_failed=True).state is PipelineState.NEUTRAL
    assert mapping.job_state("timed_out").state is PipelineState.TIMED_OUT
    waiter = normalize_payload("job.finished", _delivery("job.finished", "waiter")).events[0]
    assert waiter.object is not None and waiter.object.external.native_kind == "waiter"
    gate = normalize_payload("job.activated", _delivery("job.activated", "manual")).events[0]
    assert gate.object is not None and gate.object.external.native_kind == "manual"
    agent = normalize_payload("agent.lost", _delivery("agent.lost", "lost")).events[0]
    assert agent.object is not None and agent.object.state is RunnerState.OFFLINE  # type: ignore[union-attr]


def test_informational_events_are_ignored_with_a_reason() -> None:
    for event in ("ping", "agent.blocked", "cluster_token.registration_blocked"):
        result = normalize_payload(
            event, _delivery(event, "ping" if event == "ping" else "blocked")
        )
        assert result.outcome is NormalizeOutcome.IGNORED and result.reason
        assert not result.events
