"""Jira webhook normalizers: dispatch, events, malformed payloads, and never raising."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from kradle_provider_jira.harness import webhook_fixtures
from kradle_provider_jira.normalizers import (
    INTERNAL_ERROR_PREFIX,
    NORMALIZERS,
    comment_action,
    normalize,
)

from kradle_providers.cli import main
from kradle_providers.models import (
    ChangeAction,
    IssueEventType,
    NormalizeOutcome,
    NormalizeResult,
    ProviderRef,
)
from kradle_providers.testing.fixtures import require_upstream, upstream_files
from kradle_providers.webhooks.normalizer import NormalizeContext

SITE = "https://acme.atlassian.net"


def ctx(event: str, delivery: str | None = "d-1", **headers: str) -> NormalizeContext:
    return NormalizeContext(
        provider=ProviderRef(type="jira", instance="acme"),
        event=event,
        delivery_id=delivery,
        headers=headers,
    )


def issue(category: str = "new", **fields: Any) -> dict[str, Any]:
    return {
        "id": "10042",
        "key": "WID-42",
        "self": f"{SITE}/rest/api/2/issue/10042",
        "fields": {
            "summary": "Widgets wobble",
            "status": {"name": "S", "statusCategory": {"key": category}},
            "updated": "2024-01-02T03:04:05.000+0000",
            **fields,
        },
    }


def updated_payload(**extra: Any) -> dict[str, Any]:
    return {
        "timestamp": 1704164645000,
        "webhookEvent": "jira:issue_updated",
        "issue_event_type_name": "issue_generic",
        "user": {"accountId": "u1", "displayName": "Ann"},
        "issue": issue("done", resolution={"name": "Fixed"}),
        "changelog": {
            "id": "900",
            "items": [
                {"field": "resolution", "fromString": None, "toString": "Fixed"},
                {"field": "status", "fromString": "In Progress", "toString": "Done"},
            ],
        },
        **extra,
    }


def comment(
    cid: str = "7", created: str = "2024-01-02T03:04:05.000+0000", updated: str | None = None
) -> dict[str, Any]:
    return {
        "id": cid,
        "self": f"{SITE}/rest/api/2/issue/10042/comment/{cid}",
        "body": "hello",
        "created": created,
        "updated": updated or created,
    }


# --- dispatch -----------------------------------------------------------------------------


def test_both_event_name_forms_are_registered_to_one_normalizer() -> None:
    assert NORMALIZERS["jira:issue_updated"] is NORMALIZERS["jira_issue_updated"] is normalize
    a = NORMALIZERS["jira:issue_updated"](ctx("jira:issue_updated"), updated_payload())
    b = NORMALIZERS["jira_issue_updated"](ctx("jira_issue_updated"), updated_payload())
    assert a == b
    assert a.native_event == "jira:issue_updated"


def test_payload_webhook_event_wins_over_the_called_name() -> None:
    payload = {"timestamp": 1, "webhookEvent": "comment_created", "comment": comment()}
    result = normalize(ctx("jira:issue_updated"), payload)
    assert result.native_event == "comment_created"
    assert [(e.object_kind, e.action) for e in result.events] == [("Comment", ChangeAction.CREATED)]


def test_called_name_is_used_when_the_payload_names_no_known_event() -> None:
    payload = updated_payload()
    del payload["webhookEvent"]
    result = normalize(ctx("jira_issue_updated"), payload)
    assert result.outcome is NormalizeOutcome.NORMALIZED
    assert result.native_event == "jira:issue_updated"


def test_unknown_event_is_explained() -> None:
    result = normalize(ctx("board_created"), {"webhookEvent": "board_created"})
    assert result.outcome is NormalizeOutcome.UNKNOWN_EVENT
    assert result.reason is not None and "board_created" in result.reason


@pytest.mark.parametrize(
    "event",
    [
        "worklog_created",
        "worklog_updated",
        "worklog_deleted",
        "jira:worklog_updated",
        "attachment_created",
    ],
)
def test_informational_events_are_ignored_with_reason(event: str) -> None:
    result = normalize(ctx(event), {"webhookEvent": event, "timestamp": 1})
    assert result.outcome is NormalizeOutcome.IGNORED
    assert result.events == []
    assert result.reason is not None and "informational" in result.reason


# --- issue events ---------------------------------------------------------------------------


def test_issue_updated_with_transition() -> None:
    result = normalize(ctx("jira:issue_updated"), updated_payload())
    assert result.outcome is NormalizeOutcome.NORMALIZED
    issue_event, history_event = result.events
    assert (issue_event.object_kind, issue_event.action, issue_event.native_id) == (
        "Issue",
        ChangeAction.UPDATED,
        "10042",
    )
    assert [(c.field, c.from_value, c.to_value) for c in issue_event.changes] == [
        ("resolution", None, "Fixed"),
        ("status", "In Progress", "Done"),
    ]
    assert issue_event.version.sequence == 1704164645000
    assert issue_event.delivery_id == "d-1"
    assert issue_event.native_action == "issue_generic"
    assert issue_event.dedupe_key() == "d-1:issue_generic:10042"
    assert (history_event.object_kind, history_event.action, history_event.native_id) == (
        "IssueEvent",
        ChangeAction.CREATED,
        "900:transitioned",
    )
    obj = history_event.object
    assert obj is not None and obj.kind == "IssueEvent"
    assert obj.event_type is IssueEventType.TRANSITIONED
    assert obj.actor is not None and obj.actor.native_id == "u1"


def test_changelog_only_update_still_yields_the_issue_event() -> None:
    payload = updated_payload(
        changelog={"id": "901", "items": [{"field": "summary", "fromString": "a", "toString": "b"}]}
    )
    result = normalize(ctx("jira:issue_updated"), payload)
    assert [e.object_kind for e in result.events] == ["Issue", "IssueEvent"]
    assert [c.field for c in result.events[0].changes] == ["title"]
    assert result.events[1].native_id == "901:renamed"


def test_issue_created_and_deleted() -> None:
    created = normalize(
        ctx("jira:issue_created"),
        {"timestamp": 5, "webhookEvent": "jira:issue_created", "issue": issue()},
    )
    assert [(e.object_kind, e.action) for e in created.events] == [("Issue", ChangeAction.CREATED)]
    deleted = normalize(
        ctx("jira:issue_deleted"),
        {"timestamp": 6, "webhookEvent": "jira:issue_deleted", "issue": issue()},
    )
    (event,) = deleted.events
    assert (event.action, event.native_id) == (ChangeAction.DELETED, "10042")
    assert event.object is not None  # the payload carries the issue


@pytest.mark.parametrize(
    ("event_type", "stamps", "expected"),
    [
        ("issue_commented", ("t1", "t1"), ChangeAction.CREATED),
        ("issue_comment_edited", ("t1", "t2"), ChangeAction.UPDATED),
        ("issue_comment_deleted", ("t1", "t1"), ChangeAction.DELETED),
        (None, ("t1", "t1"), ChangeAction.CREATED),
        (None, ("t1", "t2"), ChangeAction.UPDATED),
    ],
)
def test_comment_action(
    event_type: str | None, stamps: tuple[str, str], expected: ChangeAction
) -> None:
    assert comment_action(event_type, {"created": stamps[0], "updated": stamps[1]}) is expected


def test_comment_inside_issue_updated() -> None:
    payload = updated_payload(
        issue_event_type_name="issue_comment_edited",
        comment=comment(updated="2024-01-03T00:00:00.000+0000"),
    )
    del payload["changelog"]
    result = normalize(ctx("jira:issue_updated"), payload)
    assert [(e.object_kind, e.action) for e in result.events] == [
        ("Issue", ChangeAction.UPDATED),
        ("Comment", ChangeAction.UPDATED),
    ]
    obj = result.events[1].object
    assert obj is not None and obj.kind == "Comment"
    assert obj.issue.native_number == "WID-42"
    assert obj.external.url == f"{SITE}/browse/WID-42?focusedCommentId=7"


# --- comment events ----------------------------------------------------------------------------


def test_comment_events_take_the_issue_from_the_payload_or_the_self_url() -> None:
    cloud = normalize(
        ctx("comment_updated"),
        {"timestamp": 9, "webhookEvent": "comment_updated", "comment": comment(), "issue": issue()},
    )
    (event,) = cloud.events
    assert (event.action, event.native_id, event.version.sequence) == (ChangeAction.UPDATED, "7", 9)
    assert event.object is not None and event.object.kind == "Comment"
    assert event.object.issue.native_number == "WID-42"
    dc = normalize(
        ctx("comment_deleted"), {"webhookEvent": "comment_deleted", "comment": comment()}
    )
    (event,) = dc.events
    assert event.action is ChangeAction.DELETED
    assert event.object is not None and event.object.kind == "Comment"
    assert event.object.issue.native_id == "10042"
    assert event.version.sequence is None  # no timestamp: ordered by updated_at alone


def test_delivery_id_falls_back_to_the_atlassian_header() -> None:
    context = ctx("jira:issue_updated", delivery=None, **{"X-Atlassian-Webhook-Identifier": "abc"})
    result = normalize(context, updated_payload())
    assert {e.delivery_id for e in result.events} == {"abc"}


# --- malformed ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("event", "payload", "needle"),
    [
        ("jira:issue_updated", {"webhookEvent": "jira:issue_updated"}, "`issue` object"),
        ("jira:issue_updated", {"issue": "WID-1"}, "`issue` object"),
        ("jira:issue_created", {"issue": {"key": "WID-1", "fields": {}}}, "no `id`"),
        ("jira:issue_created", {"issue": {"id": "1", "fields": []}}, "fields"),
        ("comment_created", {"comment": {"id": "1", "body": "x"}}, "names no issue"),
        ("comment_created", {"issue": issue()}, "`comment` object"),
        (
            "jira:issue_created",
            {"issue": {"id": "1", "fields": {"labels": [1, {"a": 2}], "summary": 3}}},
            None,
        ),
    ],
)
def test_malformed_payloads_are_explained(
    event: str, payload: dict[str, Any], needle: str | None
) -> None:
    result = normalize(ctx(event), payload)
    if needle is None:  # odd values are tolerated, not fatal
        assert result.outcome is NormalizeOutcome.NORMALIZED
        return
    assert result.outcome is NormalizeOutcome.MALFORMED
    assert result.reason is not None and needle in result.reason
    assert not result.reason.startswith(INTERNAL_ERROR_PREFIX)


def test_non_object_payload_is_malformed() -> None:
    result = normalize(ctx("jira:issue_updated"), ["not", "an", "object"])  # type: ignore[arg-type]
    assert result.outcome is NormalizeOutcome.MALFORMED


# --- never raises ---------------------------------------------------------------------

# The shipped recordings always; the vendor's own payloads too when the corpus is present.
_PAYLOADS = [
    (f.payload.parent.name, json.loads(f.payload.read_text())) for f in webhook_fixtures()
] + [(p.parent.name, json.loads(p.read_text())) for p in upstream_files("jira")]
_DELETE = object()

json_scalars = (
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=10)
)
json_values = st.recursive(
    json_scalars,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=10,
)


def _paths(node: Any, prefix: tuple[Any, ...] = (), depth: int = 0) -> list[tuple[Any, ...]]:
    out: list[tuple[Any, ...]] = []
    if depth > 4:
        return out
    if isinstance(node, dict):
        for key, value in node.items():
            out.append((*prefix, key))
            out += _paths(value, (*prefix, key), depth + 1)
    elif isinstance(node, list):
        for index, value in enumerate(node[:3]):
            out.append((*prefix, index))
            out += _paths(value, (*prefix, index), depth + 1)
    return out


def _mutate(payload: Any, path: tuple[Any, ...], value: Any) -> None:
    node = payload
    for part in path[:-1]:
        try:
            node = node[part]
        except (KeyError, IndexError, TypeError):
            return
    try:
        if value is _DELETE:
            del node[path[-1]]
        else:
            node[path[-1]] = value
    except (KeyError, IndexError, TypeError):
        return


@st.composite
def mutilated(draw: st.DrawFn) -> tuple[str, dict[str, Any]]:
    event, original = draw(st.sampled_from(_PAYLOADS))
    payload = copy.deepcopy(original)
    paths = _paths(payload)
    for path in draw(st.lists(st.sampled_from(paths), min_size=1, max_size=4)):
        _mutate(payload, path, draw(st.just(_DELETE) | json_values))
    return event, payload


def _check(result: NormalizeResult) -> None:
    assert isinstance(result, NormalizeResult)
    assert result.outcome is not NormalizeOutcome.MALFORMED or result.reason
    assert not (result.reason or "").startswith(INTERNAL_ERROR_PREFIX), result.reason
    # whatever came out serializes and loads back
    NormalizeResult.model_validate_json(result.model_dump_json())


@settings(suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(mutilated())
def test_mutilated_fixtures_never_raise(sample: tuple[str, dict[str, Any]]) -> None:
    event, payload = sample
    _check(normalize(ctx(event), payload))


@given(
    st.sampled_from(sorted(NORMALIZERS)),
    st.dictionaries(
        st.sampled_from(
            [
                "webhookEvent",
                "issue",
                "comment",
                "changelog",
                "timestamp",
                "user",
                "issue_event_type_name",
                "worklog",
            ]
        ),
        json_values,
        max_size=6,
    ),
)
def test_arbitrary_payloads_never_raise(event: str, payload: dict[str, Any]) -> None:
    _check(NORMALIZERS[event](ctx(event), payload))


# --- CLI ------------------------------------------------------------------------------


def test_cli_webhook_normalize(capsys: pytest.CaptureFixture[str]) -> None:
    fixture = require_upstream("jira") / "jira_issue_updated"
    fixture /= "mattermost.webhook-issue-updated-resolved.json"
    code = main(
        [
            "webhook",
            "normalize",
            "--provider",
            "jira",
            "--event",
            "jira:issue_updated",
            "--file",
            str(fixture),
            "--json",
        ]
    )
    assert code == 0
    out = json.loads(capsys.readouterr().out)
    assert out["outcome"] == "normalized"
    assert [e["object_kind"] for e in out["events"]] == ["Issue", "IssueEvent"]
    assert out["events"][1]["object"]["event_type"] == "transitioned"
