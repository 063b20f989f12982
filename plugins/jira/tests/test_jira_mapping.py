"""Jira JSON -> canonical objects: the mapping the adapter and the normalizers share."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from kradle_provider_jira import mapping
from kradle_provider_jira.harness import webhook_fixtures
from kradle_provider_jira.mapping import MappingError

from kradle_providers.errors import KradleError
from kradle_providers.models import (
    IssueEventType,
    IssueState,
    MilestoneState,
    ObjectRef,
    ProviderRef,
    SourceFormat,
    StatusCategory,
)

P = ProviderRef(type="jira", instance="acme")
SITE = "https://acme.atlassian.net"


def status(name: str, category: str | None) -> dict[str, Any]:
    out: dict[str, Any] = {"id": "3", "name": name}
    if category is not None:
        out["statusCategory"] = {"id": 4, "key": category, "name": category}
    return out


def issue(**fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "summary": "Widgets wobble",
        "status": status("To Do", "new"),
        "updated": "2024-01-02T03:04:05.000+0000",
        "created": "2024-01-01T00:00:00.000+0000",
    }
    base.update(fields)
    return {
        "id": "10042",
        "key": "WID-42",
        "self": f"{SITE}/rest/api/3/issue/10042",
        "fields": base,
    }


# --- timestamps ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-01-02T03:04:05.000+0000", datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)),
        ("2019-02-15T19:15:40.470-0800", datetime(2019, 2, 16, 3, 15, 40, 470000, tzinfo=UTC)),
        ("2024-01-02T03:04:05.123+05:30", datetime(2024, 1, 1, 21, 34, 5, 123000, tzinfo=UTC)),
        ("2024-01-02T03:04:05Z", datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)),
        ("2024-01-02T03:04:05.123456789+0000", datetime(2024, 1, 2, 3, 4, 5, 123456, tzinfo=UTC)),
        ("2024-01-02 03:04:05", datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)),
        (1550286940507, datetime(2019, 2, 16, 3, 15, 40, 507000, tzinfo=UTC)),
    ],
)
def test_parse_datetime_forms(text: Any, expected: datetime) -> None:
    assert mapping.parse_datetime(text) == expected


@pytest.mark.parametrize("bad", [None, "", "yesterday", "15/Feb/19 7:15 PM", True, [], {}])
def test_parse_datetime_unreadable_is_none(bad: Any) -> None:
    assert mapping.parse_datetime(bad) is None


@given(
    st.datetimes(
        min_value=datetime(1971, 1, 1),
        max_value=datetime(2200, 1, 1),
        timezones=st.sampled_from(
            [UTC, timezone(timedelta(hours=-8)), timezone(timedelta(hours=5, minutes=30))]
        ),
    )
)
def test_parse_datetime_round_trips_jira_format(moment: datetime) -> None:
    moment = moment.replace(microsecond=moment.microsecond // 1000 * 1000)
    offset = moment.strftime("%z")  # Jira's +0000 form, no colon
    text = moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}" + offset
    parsed = mapping.parse_datetime(text)
    assert parsed == moment
    assert parsed is not None and parsed.tzinfo is UTC


@given(st.text(max_size=40))
def test_parse_datetime_never_raises(text: str) -> None:
    result = mapping.parse_datetime(text)
    assert result is None or result.tzinfo is UTC


def test_site_and_browse_urls() -> None:
    assert mapping.site_url(f"{SITE}/rest/api/2/issue/1") == SITE
    assert mapping.site_url("http://host:8080/jira/rest/api/2/issue/1") == "http://host:8080/jira"
    assert mapping.site_url("not a url") is None
    assert mapping.site_url(None) is None
    assert mapping.browse_url(SITE, "WID-42") == f"{SITE}/browse/WID-42"
    assert mapping.browse_url(None, "WID-42") is None


# --- people -------------------------------------------------------------------------------


def test_actor_cloud_and_data_center() -> None:
    cloud = mapping.actor_from_user(
        {"accountId": "5c5f", "displayName": "Ann", "emailAddress": '"?"', "accountType": "app"}
    )
    assert cloud is not None
    assert (cloud.native_id, cloud.username, cloud.email, cloud.is_bot) == (
        "5c5f",
        None,
        None,
        True,
    )
    dc = mapping.actor_from_user(
        {"name": "ann", "key": "JIRAUSER1", "displayName": "Ann", "emailAddress": "a@x.io"}
    )
    assert dc is not None
    assert (dc.native_id, dc.username, dc.email) == ("JIRAUSER1", "ann", "a@x.io")
    assert mapping.actor_from_user(None) is None
    assert mapping.actor_from_user({}) is None


# --- issues ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("category", "resolution", "state", "cat", "reason"),
    [
        ("new", None, IssueState.OPEN, StatusCategory.TODO, None),
        ("indeterminate", None, IssueState.OPEN, StatusCategory.IN_PROGRESS, None),
        ("done", {"name": "Won't Do"}, IssueState.CLOSED, StatusCategory.DONE, "Won't Do"),
        ("done", None, IssueState.CLOSED, StatusCategory.DONE, None),
        (None, {"name": "Fixed"}, IssueState.CLOSED, StatusCategory.UNKNOWN, "Fixed"),
        ("undefined", None, IssueState.OPEN, StatusCategory.UNKNOWN, None),
    ],
)
def test_issue_status(
    category: str | None,
    resolution: Any,
    state: IssueState,
    cat: StatusCategory,
    reason: str | None,
) -> None:
    got = mapping.issue_status(status("Custom", category), resolution)
    assert (got.state, got.category, got.reason, got.native) == (state, cat, reason, "Custom")


def test_issue_envelope_and_fields() -> None:
    raw = issue(
        labels=["ui", "bug"],
        assignee={"accountId": "a1", "displayName": "Ann"},
        creator={"accountId": "c1", "displayName": "Cid"},
        reporter={"accountId": "r1", "displayName": "Rae"},
        fixVersions=[{"id": "10000", "name": "v1"}],
        issuetype={"id": "1", "name": "Bug"},
        priority={"id": "2", "name": "High"},
        project={"id": "1", "key": "WID"},
        customfield_10020="sprint",
        comment={"comments": [], "total": 3},
    )
    raw["expand"] = "renderedFields"
    got = mapping.issue_from_jira(raw, P)
    ext = got.external
    assert (ext.native_kind, ext.native_id, ext.native_number) == ("issue", "10042", "WID-42")
    assert ext.url == f"{SITE}/browse/WID-42"
    assert ext.api_url == f"{SITE}/rest/api/3/issue/10042"
    assert ext.provider == P
    assert ext.version.updated_at == datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert got.title == "Widgets wobble"
    assert got.labels == ["ui", "bug"]
    assert [a.native_id for a in got.assignees] == ["a1"]
    assert got.author is not None and got.author.native_id == "c1"
    assert got.milestone == ObjectRef(kind="Milestone", native_id="10000")
    assert (got.issue_type, got.priority, got.comments_count) == ("Bug", "High", 3)
    assert got.status.state is IssueState.OPEN
    fields = ext.extensions.fields
    # unmapped fields (custom ones too) and top-level keys are kept; mapped ones are not
    assert fields["customfield_10020"] == "sprint"
    assert fields["project"] == {"id": "1", "key": "WID"}
    assert fields["reporter"] == {"accountId": "r1", "displayName": "Rae"}
    assert fields["expand"] == "renderedFields"
    assert fields["comment"] == {"comments": [], "total": 3}
    for mapped in ("summary", "status", "labels", "assignee", "fixVersions", "updated", "id"):
        assert mapped not in fields


def test_issue_keeps_extra_fix_versions_and_open_resolution() -> None:
    versions = [{"id": "1", "name": "v1"}, {"id": "2", "name": "v2"}]
    got = mapping.issue_from_jira(issue(fixVersions=versions, resolution={"name": "Odd"}), P)
    assert got.milestone is not None and got.milestone.native_id == "1"
    assert got.external.extensions.fields["fixVersions"] == versions
    # an open issue with a resolution: the resolution is not a reason, so it is kept
    assert got.status.reason is None
    assert got.external.extensions.fields["resolution"] == {"name": "Odd"}


def test_issue_closed_carries_resolution_and_closed_at() -> None:
    got = mapping.issue_from_jira(
        issue(
            status=status("Done", "done"),
            resolution={"id": "1", "name": "Fixed"},
            resolutiondate="2024-01-03T00:00:00.000+0000",
        ),
        P,
    )
    assert (got.status.state, got.status.reason) == (IssueState.CLOSED, "Fixed")
    assert got.closed_at == datetime(2024, 1, 3, tzinfo=UTC)
    assert "resolution" not in got.external.extensions.fields


def test_issue_bodies_by_json_type() -> None:
    adf = {
        "type": "doc",
        "version": 1,
        "content": [{"type": "paragraph", "content": [{"type": "text", "text": "Hello"}]}],
    }
    cloud = mapping.issue_from_jira(issue(description=adf), P)
    assert cloud.body is not None
    assert (cloud.body.source_format, cloud.body.source) == (SourceFormat.ADF, adf)
    assert cloud.body.markdown.strip() == "Hello"
    dc = mapping.issue_from_jira(issue(description="*Hello*"), P)
    assert dc.body is not None
    assert (dc.body.source_format, dc.body.source) == (SourceFormat.WIKI, "*Hello*")
    assert dc.body.markdown.strip() == "**Hello**"
    assert mapping.issue_from_jira(issue(description=None), P).body is None


def test_issue_site_override_and_unreadable_dates_kept() -> None:
    raw = issue(updated="last tuesday")
    raw["self"] = "https://api.atlassian.com/ex/jira/abc/rest/api/3/issue/10042"
    got = mapping.issue_from_jira(raw, P, site=SITE)
    assert got.external.url == f"{SITE}/browse/WID-42"
    assert got.updated_at is None
    assert got.external.extensions.fields["updated"] == "last tuesday"


@pytest.mark.parametrize("bad", [{"key": "WID-1"}, {"id": "1", "fields": "x"}, [], "issue"])
def test_issue_without_shape_raises_mapping_error(bad: Any) -> None:
    with pytest.raises(MappingError):
        mapping.issue_from_jira(bad, P)


json_scalars = st.none() | st.booleans() | st.integers() | st.text(max_size=8)
json_values = st.recursive(
    json_scalars,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=8,
)
field_names = st.sampled_from(
    [
        "summary",
        "status",
        "labels",
        "assignee",
        "creator",
        "reporter",
        "fixVersions",
        "priority",
        "issuetype",
        "created",
        "updated",
        "resolutiondate",
        "resolution",
        "description",
        "comment",
        "customfield_10001",
        "project",
        "duedate",
    ]
)


@given(
    st.dictionaries(field_names, json_values, max_size=8),
    st.dictionaries(
        st.sampled_from(["expand", "renderedFields", "names", "changelog"]), json_values, max_size=2
    ),
)
def test_issue_mapping_drops_nothing(fields: dict[str, Any], top: dict[str, Any]) -> None:
    """Any field that the model did not take in full is in extensions."""
    raw = {"id": "1", "key": "X-1", "self": f"{SITE}/rest/api/2/issue/1", "fields": fields, **top}
    got = mapping.issue_from_jira(raw, P)
    ext = got.external.extensions.fields
    for key in top:
        assert ext[key] == top[key]
    if "customfield_10001" in fields:
        assert ext["customfield_10001"] == fields["customfield_10001"]
    if "project" in fields:
        assert ext["project"] == fields["project"]
    labels = fields.get("labels")
    if isinstance(labels, list):
        assert got.labels == [x for x in labels if isinstance(x, str)]
        if got.labels != labels:
            assert ext["labels"] == labels
    versions = fields.get("fixVersions")
    if isinstance(versions, list) and len(versions) > 1:
        assert ext["fixVersions"] == versions


# --- comments, versions, transitions, labels -------------------------------------------


def test_comment_with_issue_ref_and_from_self_url() -> None:
    raw = {
        "id": "10082",
        "self": "http://jira:8080/rest/api/2/issue/10013/comment/10082",
        "body": "hi _there_",
        "author": {"name": "lev", "key": "lev", "displayName": "Lev"},
        "updateAuthor": {"name": "lev"},
        "created": "2019-06-04T00:15:17.234+0000",
        "updated": "2019-06-04T00:16:17.234+0000",
    }
    bare = mapping.comment_from_jira(raw, P)
    assert bare.issue == ObjectRef(kind="Issue", native_id="10013")
    assert bare.external.url is None  # no issue key, no browse link
    assert bare.body.source_format is SourceFormat.WIKI
    assert bare.external.extensions.fields == {"updateAuthor": {"name": "lev"}}
    assert bare.external.version.updated_at == datetime(2019, 6, 4, 0, 16, 17, 234000, tzinfo=UTC)
    ref = mapping.issue_ref(
        {"id": "10013", "key": "WID-1", "self": "http://jira:8080/rest/api/2/issue/10013"}
    )
    full = mapping.comment_from_jira(raw, P, ref)
    assert full.external.url == "http://jira:8080/browse/WID-1?focusedCommentId=10082"
    by_key = mapping.comment_issue_ref({"self": f"{SITE}/rest/api/3/issue/WID-7/comment/1"})
    assert by_key == ObjectRef(kind="Issue", native_number="WID-7", url=f"{SITE}/browse/WID-7")


def test_comment_without_issue_is_a_mapping_error() -> None:
    with pytest.raises(MappingError, match="names no issue"):
        mapping.comment_from_jira({"id": "1", "body": "x"}, P)


def test_version_to_milestone() -> None:
    raw = {
        "id": "10000",
        "self": f"{SITE}/rest/api/3/version/10000",
        "name": "1.0",
        "description": "First",
        "released": True,
        "archived": False,
        "releaseDate": "2024-02-01",
        "projectId": 1,
    }
    got = mapping.milestone_from_version(raw, P, project_key="WID")
    assert (got.title, got.state, got.native_state, got.due_on) == (
        "1.0",
        MilestoneState.CLOSED,
        "released",
        date(2024, 2, 1),
    )
    assert got.external.native_kind == "version"
    assert got.external.url == f"{SITE}/projects/WID/versions/10000"
    assert got.external.extensions.fields == {"archived": False, "projectId": 1}
    unreleased = mapping.milestone_from_version({"id": "2", "name": "2.0", "released": False}, P)
    assert (unreleased.state, unreleased.due_on, unreleased.external.url) == (
        MilestoneState.OPEN,
        None,
        None,
    )


def test_transition() -> None:
    raw = {"id": "31", "name": "Done", "to": status("Done", "done"), "hasScreen": False}
    got = mapping.transition_from_jira(raw, P)
    assert (got.name, got.external.native_id, got.external.native_kind) == (
        "Done",
        "31",
        "transition",
    )
    assert (got.to_status.state, got.to_status.native) == (IssueState.CLOSED, "Done")
    assert got.external.extensions.fields == {"hasScreen": False, "toStatusId": "3"}


def test_label() -> None:
    got = mapping.label_from_jira("needs-triage", P, site=SITE)
    assert (got.name, got.external.native_id, got.external.native_kind) == (
        "needs-triage",
        "needs-triage",
        "label",
    )
    assert got.external.url is not None and "needs-triage" in got.external.url


# --- changelogs ------------------------------------------------------------------------------


def item(field: str, before: str | None, after: str | None, **extra: Any) -> dict[str, Any]:
    return {"field": field, "fromString": before, "toString": after, **extra}


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        (item("status", "To Do", "Done"), IssueEventType.TRANSITIONED),
        (item("Status", None, "To Do"), IssueEventType.TRANSITIONED),
        (item("labels", "a", "a b"), IssueEventType.LABELED),
        (item("labels", "a b", "a c"), IssueEventType.LABELED),
        (item("labels", "a b", "b"), IssueEventType.UNLABELED),
        (item("assignee", None, "Ann", to="a1"), IssueEventType.ASSIGNED),
        (item("assignee", "Ann", None, **{"from": "a1", "to": None}), IssueEventType.UNASSIGNED),
        (item("summary", "old", "new"), IssueEventType.RENAMED),
        (item("Fix Version", None, "v1", to="1"), IssueEventType.MILESTONED),
        (item("Fix Version", "v1", None, **{"from": "1"}), IssueEventType.DEMILESTONED),
        (item("Field", "1", "2", fieldId="customfield_1"), IssueEventType.EDITED),
        (item("priority", "Low", "High"), IssueEventType.EDITED),
    ],
)
def test_changelog_event_type(entry: dict[str, Any], expected: IssueEventType) -> None:
    assert mapping.changelog_event_type(entry) is expected


def test_field_changes_use_canonical_names_where_there_are_some() -> None:
    changes = mapping.field_changes(
        [
            item("summary", "old", "new"),
            item("Fix Version", "v1", "v2", fieldId="fixVersions"),
            item("labels", '"a b"', "b"),
            item("Rank", "", "ranked higher"),
            item("QA Steps", None, "x", fieldId="customfield_10072"),
            "not an item",
        ]
    )
    assert [(c.field, c.from_value, c.to_value) for c in changes] == [
        ("title", "old", "new"),
        ("milestone", "v1", "v2"),
        ("labels", ['"a', 'b"'], ["b"]),
        ("Rank", "", "ranked higher"),
        ("customfield_10072", None, "x"),
    ]


def test_history_groups_by_kind_with_stable_ids() -> None:
    history = {
        "id": "500",
        "author": {"accountId": "a1", "displayName": "Ann"},
        "created": "2024-01-02T03:04:05.000+0000",
        "items": [
            item("resolution", None, "Done"),
            item("status", "In Progress", "Done"),
            item("assignee", None, "Bob", to="b1"),
            item("priority", "Low", "High"),
            item("Team", None, "Core", fieldId="customfield_2"),
        ],
        "historyMetadata": {"type": "x"},
    }
    ref = ObjectRef(kind="Issue", native_id="10042", native_number="WID-42")
    events = mapping.issue_events_from_changelog(history, P, ref)
    assert [(e.external.native_id, e.event_type) for e in events] == [
        ("500:transitioned", IssueEventType.TRANSITIONED),
        ("500:assigned", IssueEventType.ASSIGNED),
        ("500:edited", IssueEventType.EDITED),
    ]
    transitioned, _, edited = events
    assert [c.field for c in transitioned.changes] == ["resolution", "status"]
    assert [c.field for c in edited.changes] == ["priority", "customfield_2"]
    assert transitioned.issue == ref
    assert transitioned.actor is not None and transitioned.actor.native_id == "a1"
    assert transitioned.created_at == datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert transitioned.external.native_kind == "changelog"
    assert transitioned.external.extensions.fields["historyMetadata"] == {"type": "x"}
    assert transitioned.external.extensions.fields["historyId"] == "500"
    assert mapping.issue_events_from_changelog({"id": "1", "items": []}, P, ref) == []


def test_history_resolution_alone_is_an_edit() -> None:
    ref = ObjectRef(kind="Issue", native_id="1")
    (event,) = mapping.issue_events_from_changelog(
        {"id": "7", "items": [item("resolution", "Done", None)]}, P, ref
    )
    assert event.event_type is IssueEventType.EDITED


# --- old and partial shapes: map with a warning, never fail ------------------------


def _recorded_issue() -> dict[str, Any]:
    (found,) = [
        f
        for f in webhook_fixtures()
        if f.event == "jira:issue_created" and f.payload.stem == "issue_created"
    ]
    issue: dict[str, Any] = json.loads(found.payload.read_text())["issue"]
    return issue


def test_an_issue_without_key_or_summary_maps_with_warnings() -> None:
    raw = _recorded_issue()
    del raw["key"]
    del raw["fields"]["summary"]
    issue = mapping.issue_from_jira(raw, P)
    assert issue.external.native_id == raw["id"]
    assert issue.external.native_number is None and issue.title == ""
    assert [w.field for w in issue.external.warnings] == ["key", "fields.summary"]
    assert mapping.issue_from_jira(_recorded_issue(), P).external.warnings == []


def test_jira_mapping_errors_are_kradle_errors() -> None:
    with pytest.raises(KradleError):
        mapping.issue_from_jira({"key": "WID-1"}, P)


@given(data=st.data())
def test_deleting_any_key_but_the_id_from_a_real_issue_never_raises(data: st.DataObject) -> None:
    raw = _recorded_issue()
    for name in data.draw(st.lists(st.sampled_from(sorted(set(raw) - {"id"})), unique=True)):
        del raw[name]
    fields = raw.get("fields")
    if isinstance(fields, dict):
        for name in data.draw(st.lists(st.sampled_from(sorted(fields)), unique=True)):
            del fields[name]
    assert mapping.issue_from_jira(raw, P).external.native_id == raw["id"]
