"""GitHub webhook normalizers: actions, PR-backed issues, push/ref events, malformed input."""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from kradle_provider_github.harness import webhook_fixtures
from kradle_provider_github.normalizers import (
    NORMALIZERS,
    change_action,
    payload_changes,
)

from kradle_providers.models import (
    ChangeAction,
    NormalizeOutcome,
    NormalizeResult,
    ProviderRef,
)
from kradle_providers.testing.fixtures import require_upstream, upstream_files
from kradle_providers.webhooks.normalizer import NormalizeContext


def fixture(path: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((require_upstream("github") / path).read_text())
    return data


def run(event: str, payload: Any, delivery: str | None = "d-1") -> NormalizeResult:
    context = NormalizeContext(
        provider=ProviderRef(type="github", instance="acme"), event=event, delivery_id=delivery
    )
    return NORMALIZERS[event](context, payload)


@pytest.mark.parametrize(
    ("event", "action", "expected"),
    [
        ("issues", "opened", ChangeAction.CREATED),
        ("label", "created", ChangeAction.CREATED),
        ("issues", "deleted", ChangeAction.DELETED),
        ("issues", "closed", ChangeAction.UPDATED),
        ("issues", "transferred", ChangeAction.DELETED),
        ("repository", "transferred", ChangeAction.UPDATED),
        ("workflow_run", "requested", ChangeAction.CREATED),
        ("workflow_run", "completed", ChangeAction.UPDATED),
        ("check_suite", "requested", ChangeAction.CREATED),
        ("workflow_job", "queued", ChangeAction.CREATED),
        ("pull_request_review", "submitted", ChangeAction.CREATED),
        ("pull_request", "synchronize", ChangeAction.UPDATED),
        ("push", None, ChangeAction.UPDATED),
    ],
)
def test_change_action(event: str, action: str | None, expected: ChangeAction) -> None:
    assert change_action(event, action) is expected


def test_event_carries_context_and_version() -> None:
    result = run("issues", fixture("issues/edited.payload.json"), delivery="abc")
    assert result.outcome is NormalizeOutcome.NORMALIZED
    (event,) = result.events
    assert event.provider == ProviderRef(type="github", instance="acme")
    assert event.object is not None and event.object.external.provider.instance == "acme"
    assert event.delivery_id == "abc"
    assert event.native_action == "edited"
    assert event.native_id == "444500041"
    assert event.version.updated_at is not None
    assert event.occurred_at == event.version.updated_at
    assert event.dedupe_key() == "abc:edited:444500041"


def test_pr_backed_issue_event_is_an_issue_event_of_the_pr_not_a_second_work_item() -> None:
    payload = fixture("issues/milestoned.payload.json")
    result = run("issues", payload)
    assert result.outcome is NormalizeOutcome.NORMALIZED
    (event,) = result.events
    assert event.object_kind == "IssueEvent" and event.action == ChangeAction.CREATED
    assert event.object is not None and event.object.kind == "IssueEvent"
    assert event.object.issue.kind == "PullRequest"
    assert event.object.issue.native_number == str(payload["issue"]["number"])
    assert event.object.event_type == "milestoned"
    assert [(c.field, c.to_value) for c in event.object.changes] == [
        ("milestone", payload["milestone"]["title"])
    ]
    # Redelivered, the same event gets the same identity (dedupe works).
    assert run("issues", payload).events[0].dedupe_key() == event.dedupe_key()
    assert not any(e.object_kind == "Issue" for e in result.events)


def test_comment_on_pull_request_conversation_links_the_pr() -> None:
    payload = copy.deepcopy(fixture("issue_comment/created.payload.json"))
    payload["issue"]["pull_request"] = {
        "url": "https://api.github.com/repos/Codertocat/Hello-World/pulls/1",
        "html_url": "https://github.com/Codertocat/Hello-World/pull/1",
    }
    (event,) = run("issue_comment", payload).events
    assert event.object_kind == "Comment"
    assert event.object is not None and event.object.kind == "Comment"
    assert event.object.issue.kind == "PullRequest"
    assert event.object.issue.url == "https://github.com/Codertocat/Hello-World/pull/1"


def test_changes_from_payload_and_actions() -> None:
    (edited,) = run("label", fixture("label/edited.payload.json")).events
    assert [(c.field, c.from_value, c.to_value) for c in edited.changes] == [
        ("color", "cb1f00", "cceeaa")
    ]
    (renamed,) = run("repository", fixture("repository/renamed.payload.json")).events
    assert [c.field for c in renamed.changes] == ["repository.name"]
    (labeled,) = run("pull_request", fixture("pull_request/labeled.payload.json")).events
    assert [(c.field, c.to_value) for c in labeled.changes] == [("labels", "bug")]
    (sync,) = run("pull_request", fixture("pull_request/synchronize.payload.json")).events
    assert sync.changes[0].field == "head_sha"
    nested = payload_changes(
        {"changes": {"a": {"b": {"from": 1}}, "old_issue": {"id": 9, "html_url": "h"}}},
        {"a": {"b": 2}},
    )
    assert [(c.field, c.from_value, c.to_value) for c in nested] == [
        ("a.b", 1, 2),
        ("old_issue", "h", None),
    ]


def test_transferred_issue_is_deleted_here_and_names_its_target() -> None:
    (event,) = run("issues", fixture("issues/transferred.payload.json")).events
    assert event.action is ChangeAction.DELETED
    assert event.occurred_at is None
    assert {c.field for c in event.changes} == {"new_issue", "new_repository"}


def test_push_new_branch_emits_ref_then_commits() -> None:
    result = run("push", fixture("push/with-new-branch.payload.json"))
    kinds = [(e.object_kind, e.action) for e in result.events]
    assert kinds == [("Ref", ChangeAction.CREATED), ("Commit", ChangeAction.CREATED)]
    ref = result.events[0].object
    assert ref is not None and ref.kind == "Ref"
    assert ref.name == "refs/heads/master" and ref.sha.startswith("6113728f")
    assert result.events[0].native_id == "Codertocat/Hello-World:refs/heads/master"


def test_push_update_and_delete() -> None:
    payload = copy.deepcopy(fixture("push/with-new-branch.payload.json"))
    payload.update(created=False, before="a" * 40)
    (ref_event, _commit) = run("push", payload).events
    assert ref_event.action is ChangeAction.UPDATED
    assert (ref_event.changes[0].from_value, ref_event.changes[0].to_value) == (
        "a" * 40,
        payload["after"],
    )
    deleted = run("push", fixture("push/payload.json")).events
    assert [(e.object_kind, e.action) for e in deleted] == [("Ref", ChangeAction.DELETED)]


def test_create_and_delete_refs_have_no_object() -> None:
    (created,) = run("create", fixture("create/payload.json")).events
    assert (created.action, created.object) == (ChangeAction.CREATED, None)
    assert created.native_id == "Codertocat/Hello-World:refs/tags/simple-tag"
    (deleted,) = run("delete", fixture("delete/payload.json")).events
    assert deleted.action is ChangeAction.DELETED
    assert deleted.native_id == created.native_id


def test_workflow_run_emits_pipeline_and_definition() -> None:
    events = run("workflow_run", fixture("workflow_run/requested.payload.json")).events
    assert [(e.object_kind, e.action) for e in events] == [
        ("Pipeline", ChangeAction.CREATED),
        ("PipelineDefinition", ChangeAction.UPDATED),
    ]


@pytest.mark.parametrize("event", ["ping", "installation"])
def test_informational_events_are_ignored_with_reason(event: str) -> None:
    payload = fixture(
        f"{event}/payload.json" if event == "ping" else "installation/created.payload.json"
    )
    result = run(event, payload)
    assert result.outcome is NormalizeOutcome.IGNORED
    assert result.reason and "informational" in result.reason
    assert result.ok


@pytest.mark.parametrize(
    ("event", "payload", "fragment"),
    [
        ("issues", {"action": "opened"}, "`issue`"),
        ("issues", {"action": "opened", "issue": []}, "`issue`"),
        ("issues", {"issue": {"id": 1, "title": "t"}}, "`action`"),
        ("issues", {"action": "opened", "issue": {"id": 1}}, "issue.title"),
        ("pull_request", {"action": "opened", "pull_request": {"id": "x", "title": 3}}, "title"),
        ("push", {"ref": "refs/heads/x"}, "repository"),
        (
            "create",
            {"ref": "x", "ref_type": "wiki", "repository": {"full_name": "o/r"}},
            "ref_type",
        ),
        ("status", {"sha": 5}, "sha"),
        ("workflow_job", {"action": "queued", "workflow_job": {"id": 1, "name": "n"}}, "run_id"),
        ("issues", ["not", "an", "object"], "JSON object"),
    ],
)
def test_malformed_payloads_are_explained(event: str, payload: Any, fragment: str) -> None:
    result = run(event, payload)
    assert result.outcome is NormalizeOutcome.MALFORMED
    assert result.reason is not None and fragment in result.reason
    assert not result.ok


# --- properties: normalizers never raise ----------------------------------------------

json_scalars = (
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8)
)
json_values = st.recursive(
    json_scalars,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=12,
)
known_keys = st.sampled_from(
    [
        "action",
        "issue",
        "comment",
        "label",
        "milestone",
        "pull_request",
        "review",
        "ref",
        "ref_type",
        "repository",
        "workflow_run",
        "workflow",
        "workflow_job",
        "check_run",
        "check_suite",
        "sha",
        "state",
        "context",
        "key",
        "rule",
        "commits",
        "head_commit",
        "before",
        "after",
        "created",
        "deleted",
        "changes",
        "id",
        "title",
        "name",
    ]
)


def _assert_explained(result: NormalizeResult) -> None:
    assert result.provider == "github"
    if result.outcome is NormalizeOutcome.MALFORMED:
        assert result.reason
    else:
        assert result.outcome in (NormalizeOutcome.NORMALIZED, NormalizeOutcome.IGNORED)
        NormalizeResult.model_validate(result.model_dump(mode="json"))


@settings(suppress_health_check=[HealthCheck.too_slow])
@given(
    event=st.sampled_from(sorted(NORMALIZERS)),
    payload=st.dictionaries(known_keys | st.text(max_size=6), json_values, max_size=6)
    | json_values,
)
def test_arbitrary_json_never_raises(event: str, payload: Any) -> None:
    _assert_explained(run(event, payload))


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


# The shipped recordings always; the vendor's own payloads too when the corpus is present.
_PAYLOADS = [(f.event, json.loads(f.payload.read_text())) for f in webhook_fixtures()] + [
    (p.parent.name, json.loads(p.read_text())) for p in upstream_files("github")
]


@settings(suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_mutated_fixtures_never_raise(data: st.DataObject) -> None:
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
    _assert_explained(run(event, payload))
