"""Canonical models: round trips for every kind, tolerance, envelopes, rich text."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kradle_providers.auth.secret import Secret
from kradle_providers.models import (
    CANONICAL_KINDS,
    CanonicalObject,
    ChangeAction,
    Extensions,
    ExternalEnvelope,
    Interface,
    Issue,
    IssueState,
    NormalizeResult,
    Pipeline,
    PipelineState,
    ProviderRef,
    PullRequest,
    RichText,
    RunnerRegistration,
    SyncEvent,
    Version,
    kinds_of,
    plan_changes,
)
from tests.strategies import models

ROUND_TRIP_KINDS = [k for k in CANONICAL_KINDS if k != "RunnerRegistration"]


def _envelope(**over: Any) -> ExternalEnvelope:
    data: dict[str, Any] = {
        "provider": ProviderRef(type="acme"),
        "interface": Interface.ISSUE_TRACKING,
        "native_kind": "ticket",
        "native_id": "1",
        "extensions": Extensions(provider_type="acme"),
    }
    data.update(over)
    return ExternalEnvelope(**data)


@pytest.mark.parametrize("kind", ROUND_TRIP_KINDS)
@given(data=st.data())
def test_every_kind_round_trips_through_json(kind: str, data: st.DataObject) -> None:
    cls = CANONICAL_KINDS[kind]
    obj = data.draw(models(cls))
    again = cls.model_validate_json(obj.model_dump_json())
    assert again == obj
    # The same object also round-trips as a sync event payload (discriminated by kind).
    event = SyncEvent(
        provider=obj.external.provider,
        interface=cls.interface,
        object_kind=kind,
        action=ChangeAction.UPDATED,
        native_event="x",
        native_id=obj.external.native_id,
        object=obj,
    )
    assert SyncEvent.model_validate_json(event.model_dump_json()).object == obj


@given(obj=models(RunnerRegistration), n=st.integers(min_value=0))
def test_runner_registration_token_never_serializes(obj: RunnerRegistration, n: int) -> None:
    canary = f"CANARY-{n}-registration"
    obj = obj.model_copy(update={"token": Secret(canary)})
    dumped = obj.model_dump_json()
    assert json.loads(dumped)["token"] == "***"
    assert canary not in dumped
    assert canary not in repr(obj) and canary not in str(obj.model_dump())
    assert obj.token.reveal() == canary


def test_kinds_cover_the_spec_and_each_interface() -> None:
    assert set(kinds_of(Interface.ISSUE_TRACKING)) == {
        "Issue",
        "Comment",
        "Label",
        "Milestone",
        "IssueEvent",
        "Transition",
    }
    assert set(kinds_of(Interface.CICD)) == {
        "PipelineDefinition",
        "Pipeline",
        "Job",
        "Check",
        "Artifact",
        "LogRef",
        "Runner",
        "RunnerRegistration",
    }
    assert set(kinds_of(Interface.GIT_FORGE)) == {
        "Repository",
        "PullRequest",
        "Review",
        "Ref",
        "Commit",
        "DeployKey",
        "Collaborator",
        "BranchProtection",
    }
    for name, cls in CANONICAL_KINDS.items():
        assert issubclass(cls, CanonicalObject)
        assert cls.model_fields["kind"].default == name


def test_unknown_status_values_are_kept_as_native_not_rejected() -> None:
    issue = Issue(
        external=_envelope(),
        title="t",
        status={"state": "archived-by-robot", "native": "archived-by-robot"},
        unexpected_provider_field=1,
    )
    assert issue.status.state is IssueState.UNKNOWN
    assert issue.status.native == "archived-by-robot"
    run = Pipeline(
        external=_envelope(interface=Interface.CICD),
        status={"state": "startup_failure", "native": "startup_failure"},
    )
    assert run.status.state is PipelineState.UNKNOWN
    pr = PullRequest(external=_envelope(interface=Interface.GIT_FORGE), title="p", status={})
    assert pr.status.state.value == "open"


def test_missing_optional_fields_and_naive_times_are_tolerated() -> None:
    issue = Issue.model_validate(
        {
            "external": _envelope().model_dump(),
            "title": "t",
            "created_at": "2024-05-01T10:00:00",  # naive: taken as UTC
        }
    )
    assert issue.created_at == datetime(2024, 5, 1, 10, tzinfo=UTC)
    assert issue.body is None and issue.labels == []


def test_versions_order_by_time_then_sequence() -> None:
    t = datetime(2024, 1, 1, tzinfo=UTC)
    older, newer = Version(updated_at=t, sequence=1), Version(updated_at=t, sequence=2)
    assert newer.is_newer_than(older) and not older.is_newer_than(newer)
    assert Version(updated_at=t).is_newer_than(Version())


def test_rich_text_keeps_source_and_digest() -> None:
    adf = {"type": "doc", "version": 1, "content": [{"type": "panel", "content": []}]}
    body = RichText(markdown="", source_format="adf", source=adf, warnings=["panel dropped"])
    again = RichText.model_validate_json(body.model_dump_json())
    assert again.source == adf and again.lossy
    assert again.source_digest == body.source_digest
    assert body.source_digest.startswith("sha256:")
    md = RichText.from_markdown("**hi**")
    assert md.source == "**hi**" and md.source_format.value == "markdown"
    assert RichText(markdown="x", source_format="brand-new-format").source_format.value == "unknown"


def test_envelope_key_identifies_object_across_instances() -> None:
    a = _envelope(provider=ProviderRef(type="acme", instance="eu"))
    b = _envelope(provider=ProviderRef(type="acme", instance="us"))
    assert a.key() != b.key()
    assert a.key() == _envelope(provider=ProviderRef(type="acme", instance="eu")).key()


def test_normalize_result_ok_flags() -> None:
    assert NormalizeResult(provider="p", native_event="ping", outcome="ignored").ok
    bad = NormalizeResult(provider="p", native_event="x", outcome="malformed", reason="no id")
    assert not bad.ok


def test_plan_changes_creates_updates_keeps_and_prunes_in_current_order() -> None:
    current = {"b": {"name": "b", "color": "red"}, "a": {"name": "a", "color": "blue"}}
    desired = {"a": {"name": "a", "color": None}, "c": {"name": "c", "color": "green"}}
    plan = plan_changes(current, desired, ("color",), prune=True)
    assert [(c.action.value, c.key) for c in plan] == [
        ("unchanged", "a"),  # a desired None is "no opinion"
        ("create", "c"),
        ("delete", "b"),
    ]
    strict = plan_changes(current, desired, ("color",), prune=False, none_is_value=True)
    assert [(c.action.value, c.key, c.fields) for c in strict] == [
        ("update", "a", ["color"]),
        ("create", "c", []),
    ]
