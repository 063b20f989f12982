"""Three-way detection (properties), send-time merging and the SPEC §7 resolutions."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kradle_providers.errors import InvalidInput
from kradle_providers.models.richtext import RichText
from kradle_providers.plugins.selection import BindingMode
from kradle_providers.store.ordering import ApplyOutcome
from kradle_providers.sync.conflicts import (
    ConflictResolver,
    comparable_fields,
    detect,
)
from kradle_providers.sync.phases import ConflictPhase, InvalidTransition, WriteIntentPhase
from kradle_providers.sync.records import ConflictReason, ProjectionSource, Resolution
from kradle_providers.testing.memory import MemoryAdapter
from tests.test_sync_intents_support import BINDING, IT, Env, make_env

W = WriteIntentPhase

FIELDS = ["title", "body", "labels", "state"]
values = st.one_of(st.none(), st.sampled_from(["a", "b", "c"]), st.integers(0, 2))
snapshots = st.fixed_dictionaries({}, optional={f: values for f in FIELDS})


# --------------------------------------------------------------------------- detection


@given(snapshots, snapshots, snapshots)
def test_conflicts_are_exactly_the_fields_both_sides_changed_differently(
    base: dict[str, Any], local: dict[str, Any], external: dict[str, Any]
) -> None:
    three = detect(base, local, external)
    expected = {
        f
        for f in local
        if local[f] != base.get(f)
        and external.get(f) != base.get(f)
        and local[f] != external.get(f)
    }
    assert {c.field for c in three.conflicts} == expected
    for c in three.conflicts:
        assert (c.base, c.local, c.external) == (
            base.get(c.field),
            local[c.field],
            external.get(c.field),
        )


@given(snapshots, snapshots, snapshots)
def test_non_overlapping_changes_merge(
    base: dict[str, Any], local: dict[str, Any], external: dict[str, Any]
) -> None:
    three = detect(base, local, external)
    conflicting = {c.field for c in three.conflicts}
    for name, value in three.merged.items():
        if name in conflicting:
            continue
        if name in local and local[name] != base.get(name):
            assert value == local[name]  # only (or also, identically) changed here
        else:
            assert value == external.get(name)  # the provider's value stands
    assert three.to_send == {k: v for k, v in three.merged.items() if v != external.get(k)}
    assert set(three.to_send) <= three.local_changes


@given(snapshots, snapshots)
def test_one_sided_changes_never_conflict(base: dict[str, Any], other: dict[str, Any]) -> None:
    unchanged_local = {k: base.get(k) for k in other}
    assert detect(base, unchanged_local, other).clean
    assert detect(base, other, base).clean
    assert detect(base, other, base).to_send == {k: v for k, v in other.items() if v != base.get(k)}


@given(snapshots, snapshots, snapshots)
def test_detection_is_symmetric_when_local_is_complete(
    base: dict[str, Any], local: dict[str, Any], external: dict[str, Any]
) -> None:
    full_local = {f: local.get(f) for f in FIELDS}
    full_external = {f: external.get(f) for f in FIELDS}
    a = detect(base, full_local, full_external)
    b = detect(base, full_external, full_local)
    assert {c.field for c in a.conflicts} == {c.field for c in b.conflicts}


@given(snapshots, snapshots, snapshots)
def test_applying_the_merge_leaves_nothing_to_send(
    base: dict[str, Any], local: dict[str, Any], external: dict[str, Any]
) -> None:
    three = detect(base, local, external)
    again = detect(base, local, three.merged)
    # Merged is a fixed point: what was mergeable is applied, conflicts stay conflicts.
    assert again.to_send == {}
    assert {c.field for c in again.conflicts} == {c.field for c in three.conflicts}


def test_comparable_forms_of_canonical_objects() -> None:
    obj = {
        "title": "T",
        "body": RichText.from_markdown("*hi*").model_dump(mode="json"),
        "labels": ["b", "a"],
        "assignees": [{"username": "zed"}, {"username": "amy"}],
        "status": {"state": "closed", "reason": "completed"},
    }
    assert comparable_fields(obj, ["title", "body", "labels", "assignees", "state", "x"]) == {
        "title": "T",
        "body": "*hi*",
        "labels": ["a", "b"],
        "assignees": ["amy", "zed"],
        "state": "closed",
        "x": None,
    }
    assert comparable_fields(None, ["title"]) == {"title": None}


# --------------------------------------------------------------------------- send-time merge


async def _projected_issue(env: Env, title: str, body: str) -> str:
    """Seed an issue and project it, as a backfill would."""
    [number] = env.harness.backend.seed("Issue", title=title, body=body)
    issue = await env.adapter.get_issue(env.harness.scope, number)
    outcome = await env.store.projections.apply_object(
        BINDING, issue, source=ProjectionSource.BACKFILL
    )
    assert outcome is not ApplyOutcome.STALE
    return number


async def test_both_changed_is_detected_before_sending() -> None:
    env = await make_env()
    try:
        number = await _projected_issue(env, "Base title", "Base body")
        intent = await env.service.propose(
            BINDING, IT, "updateIssue", None, {"title": "Local"}, "u", object_id=number
        )
        assert intent.base == {"title": "Base title"}
        assert intent.expected_version is not None
        env.harness.backend.change("Issue", number, title="External")
        [moved] = await env.service.send_ready()
        assert moved.phase is W.CONFLICT and moved.conflict_id
        conflict = await env.store.conflicts.get(moved.conflict_id)
        assert conflict.reason is ConflictReason.BOTH_CHANGED
        [field] = conflict.fields
        assert (field.field, field.base, field.local, field.external) == (
            "title",
            "Base title",
            "Local",
            "External",
        )
        assert env.writes("updateIssue") == []  # nothing overwritten
    finally:
        await env.aclose()


async def test_non_overlapping_changes_are_merged_and_sent() -> None:
    env = await make_env()
    try:
        number = await _projected_issue(env, "Base title", "Base body")
        await env.service.propose(
            BINDING,
            IT,
            "updateIssue",
            None,
            {"title": "Local title", "body": "Base body"},
            "u",
            object_id=number,
        )
        env.harness.backend.change("Issue", number, body="External body")
        [sent] = await env.service.send_ready()
        assert sent.phase is W.AWAITING_CONFIRMATION
        assert sent.payload == {"title": "Local title"}  # the unchanged body is not re-sent
        final = await env.adapter.get_issue(env.harness.scope, number)
        assert final.title == "Local title"
        assert final.body is not None and final.body.markdown == "External body"
        [done] = await env.service.confirm_by_read_back()
        assert done.phase is W.SUCCEEDED
    finally:
        await env.aclose()


# --------------------------------------------------------------------------- resolutions


async def _conflicted(env: Env) -> tuple[str, str, str]:
    number = await _projected_issue(env, "Base", "Body")
    intent = await env.service.propose(
        BINDING, IT, "updateIssue", None, {"title": "Local"}, "u", object_id=number
    )
    env.harness.backend.change("Issue", number, title="External")
    [moved] = await env.service.send_ready()
    assert moved.conflict_id is not None
    return number, intent.id, moved.conflict_id


async def test_prefer_external_drops_the_local_write() -> None:
    env = await make_env()
    try:
        _, intent_id, conflict_id = await _conflicted(env)
        conflict, intent = await ConflictResolver(env.store, clock=env.clock).resolve(
            conflict_id, Resolution.PREFER_EXTERNAL, by="user:lead"
        )
        assert conflict.phase is ConflictPhase.RESOLVED
        assert [h.phase for h in conflict.history] == [
            ConflictPhase.OPEN,
            ConflictPhase.RESOLVING,
            ConflictPhase.RESOLVED,
        ]
        assert intent is not None and intent.id == intent_id and intent.phase is W.REJECTED
        assert await env.service.send_ready() == []
        assert env.writes("updateIssue") == []
        audit = [e for e in await env.store.audit.find() if e.action == "conflict.resolve"]
        assert audit and audit[0].details["resolution"] == "prefer_external"
    finally:
        await env.aclose()


async def test_prefer_local_resends_conditionally_on_the_external_version() -> None:
    env = await make_env()
    try:
        number, _, conflict_id = await _conflicted(env)
        _, intent = await ConflictResolver(env.store).resolve(
            conflict_id, "prefer_local", by="user:lead"
        )
        assert intent is not None and intent.phase is W.READY_TO_SEND
        [sent] = await env.service.send_ready()
        assert sent.phase is W.AWAITING_CONFIRMATION
        [call] = env.writes("updateIssue")
        assert call["expected_version"] == intent.expected_version
        final = await env.adapter.get_issue(env.harness.scope, number)
        assert final.title == "Local"
    finally:
        await env.aclose()


async def test_prefer_local_after_another_external_change_conflicts_again() -> None:
    env = await make_env()
    try:
        number, _, conflict_id = await _conflicted(env)
        await ConflictResolver(env.store).resolve(conflict_id, "prefer_local", by="user:lead")
        env.harness.backend.change("Issue", number, title="Even newer")
        [moved] = await env.service.send_ready()
        assert moved.phase is W.CONFLICT and moved.conflict_id != conflict_id
        again = await env.store.conflicts.get(moved.conflict_id or "")
        assert again.reason is ConflictReason.PRECONDITION_FAILED
    finally:
        await env.aclose()


async def test_manual_merge_sends_the_merged_values() -> None:
    env = await make_env()
    try:
        number, _, conflict_id = await _conflicted(env)
        resolver = ConflictResolver(env.store)
        with pytest.raises(InvalidInput, match="merged values"):
            await resolver.resolve(conflict_id, Resolution.MANUAL_MERGE, by="user:lead")
        assert (await env.store.conflicts.get(conflict_id)).phase is ConflictPhase.OPEN
        conflict, intent = await resolver.resolve(
            conflict_id,
            Resolution.MANUAL_MERGE,
            by="user:lead",
            values={"title": "Local + External"},
        )
        assert conflict.resolved_values == {"title": "Local + External"}
        assert intent is not None and intent.payload == {"title": "Local + External"}
        await env.service.send_ready()
        final = await env.adapter.get_issue(env.harness.scope, number)
        assert final.title == "Local + External"
    finally:
        await env.aclose()


async def test_ignore_with_warning_and_resolving_twice() -> None:
    env = await make_env()
    try:
        _, _, conflict_id = await _conflicted(env)
        resolver = ConflictResolver(env.store)
        conflict, intent = await resolver.resolve(
            conflict_id, Resolution.IGNORE_WITH_WARNING, by="user:lead", note="known drift"
        )
        assert conflict.phase is ConflictPhase.IGNORED
        assert intent is not None and intent.phase is W.REJECTED  # never sent: nothing applied
        with pytest.raises(InvalidTransition, match="already ignored"):
            await resolver.resolve(conflict_id, Resolution.PREFER_LOCAL, by="user:lead")
    finally:
        await env.aclose()


class _LossyAdapter(MemoryAdapter):
    """Memory adapter whose stored bodies lose something (as Jira's ADF conversion can)."""

    async def update_issue(self, *args: Any, **kwargs: Any) -> Any:
        issue = await super().update_issue(*args, **kwargs)
        body = RichText(markdown="flattened", warnings=["a table was flattened"])
        return issue.model_copy(update={"body": body})


async def test_lossy_write_is_a_conflict_until_the_provider_change_is_reviewed() -> None:
    from kradle_providers.auth.secret import Secret
    from kradle_providers.testing.memory_harness import MemoryHarness

    def factory(h: MemoryHarness) -> Any:
        return _LossyAdapter(h.state, token=Secret(h.credential))

    env = await make_env(BindingMode.BIDIRECTIONAL, adapter_factory=factory)
    try:
        [number] = env.harness.backend.seed("Issue", title="T")
        await env.service.propose(
            BINDING, IT, "updateIssue", None, {"body": "| a | b |"}, "u", object_id=number
        )
        [moved] = await env.service.send_ready()
        assert moved.phase is W.CONFLICT and moved.response_digest
        conflict = await env.store.conflicts.get(moved.conflict_id or "")
        assert conflict.reason is ConflictReason.LOSSY_REPRESENTATION
        assert "table was flattened" in (conflict.message or "")
        _, intent = await ConflictResolver(env.store).resolve(
            conflict.id, Resolution.REVIEWED_PROVIDER_CHANGE, by="user:lead"
        )
        assert intent is not None and intent.phase is W.SUCCEEDED
        assert intent.confirmation is not None and intent.confirmation.readback_digest
    finally:
        await env.aclose()


async def test_lossy_write_allowed_by_policy() -> None:
    from kradle_providers.auth.secret import Secret
    from kradle_providers.sync.policy import WritePolicy
    from kradle_providers.testing.memory_harness import MemoryHarness

    def factory(h: MemoryHarness) -> Any:
        return _LossyAdapter(h.state, token=Secret(h.credential))

    env = await make_env(adapter_factory=factory, policy=WritePolicy(allow_lossy=True))
    try:
        [number] = env.harness.backend.seed("Issue", title="T")
        await env.service.propose(
            BINDING, IT, "updateIssue", None, {"title": "x"}, "u", object_id=number
        )
        [sent] = await env.service.send_ready()
        assert sent.phase is W.AWAITING_CONFIRMATION
    finally:
        await env.aclose()
