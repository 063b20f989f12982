"""The Jira emulator's REST behaviour: seed, paging, JQL, transitions, errors, 429, control."""

from __future__ import annotations

import base64
import re
from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from kradle_provider_jira.emulator import JiraEmulator, create_emulator
from kradle_provider_jira.emulator.objects import parse_jira_time
from kradle_provider_jira.emulator.seed import CLUSTER_MINUTES

from kradle_providers.testing.emulator import ManualClock
from kradle_providers.testing.harness import BackendControl, Fault

ADF = {
    "type": "doc",
    "version": 1,
    "content": [{"type": "paragraph", "content": [{"type": "text", "text": "hello"}]}],
}


def basic(user: str, password: str) -> dict[str, str]:
    raw = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": f"Basic {raw}"}


def client_for(emu: JiraEmulator) -> httpx.AsyncClient:
    if emu.cloud:
        return emu.client(headers=basic("dev@example.com", emu.token))
    return emu.client(headers={"Authorization": f"Bearer {emu.token}"})


def api(emu: JiraEmulator) -> str:
    return "/rest/api/3" if emu.cloud else "/rest/api/2"


@pytest.fixture(scope="module")
def demo_cloud() -> JiraEmulator:
    return create_emulator(seed="demo", flavor="cloud")


@pytest.fixture(scope="module")
def demo_dc() -> JiraEmulator:
    return create_emulator(seed="demo", flavor="datacenter")


@pytest.fixture(params=["cloud", "datacenter"])
async def fresh(request: pytest.FixtureRequest) -> AsyncIterator[JiraEmulator]:
    clock = ManualClock(datetime(2024, 5, 1, 9, 0, tzinfo=UTC))
    yield create_emulator(seed="empty", flavor=request.param, options={"clock": clock})


# -- seed --------------------------------------------------------------------------


def test_demo_seed_has_the_promised_project(demo_cloud: JiraEmulator) -> None:
    counts = demo_cloud.counts()
    assert counts["Issue"] >= 300 and counts["Comment"] >= 900 and counts["Milestone"] == 3
    issues = demo_cloud.state.issues.all()
    states = Counter(i["status"] for i in issues)
    assert set(states) == {"To Do", "In Progress", "Done"}
    assert all((i["status"] == "Done") == (i["resolution"] is not None) for i in issues)
    minutes = Counter(i["updated"].replace(second=0, microsecond=0) for i in issues)
    for minute in CLUSTER_MINUTES:
        assert minutes[minute] >= 5
    seconds = Counter(i["updated"] for i in issues)
    assert max(seconds.values()) >= 2  # two issues in the very same second


def test_demo_seed_is_deterministic(demo_cloud: JiraEmulator, demo_dc: JiraEmulator) -> None:
    def fingerprint(emu: JiraEmulator) -> list[tuple[str, str, datetime, list[str]]]:
        return [(i["key"], i["status"], i["updated"], i["labels"]) for i in emu.state.issues.all()]

    assert fingerprint(demo_cloud) == fingerprint(demo_dc)


def test_unknown_seed_and_flavour_are_explained() -> None:
    with pytest.raises(ValueError, match="known seeds: demo, empty"):
        create_emulator(seed="nope")
    with pytest.raises(ValueError, match="use 'cloud' or 'datacenter'"):
        create_emulator(flavor="mainframe")


# -- paging ------------------------------------------------------------------------

_PAGED: dict[str, JiraEmulator] = {}


def paged(flavor: str) -> JiraEmulator:
    if flavor not in _PAGED:
        emu = create_emulator(seed="empty", flavor=flavor)
        emu.control.seed("Issue", 23)
        _PAGED[flavor] = emu
    return _PAGED[flavor]


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture], max_examples=25)
@given(size=st.integers(min_value=1, max_value=30), post=st.booleans())
async def test_token_paging_returns_every_issue_once(size: int, post: bool) -> None:
    emu = paged("cloud")
    seen: list[str] = []
    token: str | None = None
    async with client_for(emu) as client:
        for _ in range(100):
            params: dict[str, object] = {
                "jql": "project = WID ORDER BY updated DESC",
                "maxResults": size,
                "fields": "key",
            }
            if token:
                params["nextPageToken"] = token
            if post:
                params["fields"] = ["key"]
                response = await client.post("/rest/api/3/search/jql", json=params)
            else:
                response = await client.get("/rest/api/3/search/jql", params=params)  # type: ignore[arg-type]
            assert response.status_code == 200, response.text
            body = response.json()
            assert len(body["issues"]) <= size
            seen.extend(i["key"] for i in body["issues"])
            token = body.get("nextPageToken")
            assert body["isLast"] is (token is None)
            if token is None:
                break
    assert sorted(seen) == sorted(i["key"] for i in emu.state.issues.all())
    assert len(seen) == len(set(seen))


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture], max_examples=25)
@given(size=st.integers(min_value=1, max_value=30))
async def test_start_at_paging_returns_every_issue_once(size: int) -> None:
    emu = paged("datacenter")
    seen: list[str] = []
    async with client_for(emu) as client:
        start = 0
        while True:
            response = await client.get(
                "/rest/api/2/search",
                params={
                    "jql": "project = WID ORDER BY key ASC",
                    "startAt": start,
                    "maxResults": size,
                    "fields": "summary",
                },
            )
            body = response.json()
            assert body["maxResults"] == size and body["startAt"] == start
            assert body["total"] == 23
            seen.extend(i["key"] for i in body["issues"])
            start += len(body["issues"])
            if start >= body["total"]:
                break
    assert seen == [f"WID-{n}" for n in range(1, 24)]


async def test_page_size_caps(demo_cloud: JiraEmulator, demo_dc: JiraEmulator) -> None:
    async with client_for(demo_dc) as client:
        body = (
            await client.get("/rest/api/2/search", params={"jql": "", "maxResults": 5000})
        ).json()
        assert body["maxResults"] == 100 and len(body["issues"]) == 100
    async with client_for(demo_cloud) as client:
        full = await client.get(
            "/rest/api/3/search/jql",
            params={"jql": "project = WID", "maxResults": 5000, "fields": "*all"},
        )
        assert len(full.json()["issues"]) == 100
        light = await client.get(
            "/rest/api/3/search/jql", params={"jql": "project = WID", "maxResults": 5000}
        )
        issues = light.json()["issues"]
        assert len(issues) == 320 and set(issues[0]) == {"id"}  # default fields: id only


# -- JQL over HTTP -------------------------------------------------------------------


async def test_updated_window_is_minute_granular(demo_cloud: JiraEmulator) -> None:
    minute = CLUSTER_MINUTES[0]
    expected = sorted(
        (i for i in demo_cloud.state.issues.all() if i["updated"] >= minute),
        key=lambda i: (i["updated"], i["number"]),
    )
    async with client_for(demo_cloud) as client:
        response = await client.post(
            "/rest/api/3/search/jql",
            json={
                "jql": f'project = WID AND updated >= "{minute:%Y-%m-%d %H:%M}" '
                "ORDER BY updated ASC, key ASC",
                "fields": ["updated"],
                "maxResults": 100,
            },
        )
    issues = response.json()["issues"]
    assert [i["key"] for i in issues] == [i["key"] for i in expected]
    first = parse_jira_time(issues[0]["fields"]["updated"])
    assert first > minute  # later seconds of the bound minute are included


async def test_jql_filters_by_status_label_version_and_key(demo_dc: JiraEmulator) -> None:
    state = demo_dc.state
    v1 = state.version("1.0")
    assert v1 is not None
    cases = {
        'status = "Done"': [i for i in state.issues.all() if i["status"] == "Done"],
        "labels = backend": [i for i in state.issues.all() if "backend" in i["labels"]],
        'fixVersion = "1.0"': [i for i in state.issues.all() if v1["id"] in i["fix_versions"]],
        "key in (WID-3, WID-5)": [i for i in state.issues.all() if i["key"] in ("WID-3", "WID-5")],
        'resolution = "Won\'t Do"': [
            i for i in state.issues.all() if i["resolution"] == "Won't Do"
        ],
    }
    async with client_for(demo_dc) as client:
        for text, expected in cases.items():
            response = await client.post("/rest/api/2/search", json={"jql": text, "maxResults": 0})
            assert response.status_code == 200, (text, response.text)
            assert response.json()["total"] == len(expected), text


@pytest.mark.parametrize(
    ("jql", "message"),
    [
        ("project = NOPE", "The value 'NOPE' does not exist for the field 'project'."),
        ("key = WID-99999", "An issue with key 'WID-99999' does not exist for field 'key'."),
        ("project = WID AND", "Expecting either a value, list or function"),
        ("bogus = 1", "Field 'bogus' does not exist or you do not have permission to view it."),
    ],
)
async def test_bad_jql_is_a_400_with_error_messages(
    demo_dc: JiraEmulator, jql: str, message: str
) -> None:
    async with client_for(demo_dc) as client:
        response = await client.get("/rest/api/2/search", params={"jql": jql})
    assert response.status_code == 400
    body = response.json()
    assert body["errors"] == {}
    assert message in body["errorMessages"][0]


async def test_cloud_search_rules(demo_cloud: JiraEmulator) -> None:
    async with client_for(demo_cloud) as client:
        unbounded = await client.get("/rest/api/3/search/jql", params={"jql": "ORDER BY key"})
        assert unbounded.status_code == 400
        assert "Unbounded JQL" in unbounded.json()["errorMessages"][0]
        retired = await client.get("/rest/api/3/search", params={"jql": "project = WID"})
        assert retired.status_code == 410
        bad_token = await client.get(
            "/rest/api/3/search/jql", params={"jql": "project = WID", "nextPageToken": "zzz"}
        )
        assert bad_token.status_code == 400


# -- issues, transitions, changelog -----------------------------------------------------


async def test_create_edit_transition_and_changelog(fresh: JiraEmulator) -> None:
    emu, base = fresh, api(fresh)
    body = ADF if emu.cloud else "hello *world*"
    async with client_for(emu) as client:
        created = await client.post(
            f"{base}/issue",
            json={
                "fields": {
                    "project": {"key": "WID"},
                    "summary": "First",
                    "issuetype": {"name": "Task"},
                    "description": body,
                    "labels": ["a"],
                },
                "properties": [{"key": "kradle", "value": {"idempotencyKey": "k-1"}}],
            },
        )
        assert created.status_code == 201, created.text
        key = created.json()["key"]
        assert key == "WID-1" and created.json()["self"].endswith(f"/issue/{created.json()['id']}")
        issue = (await client.get(f"{base}/issue/{key}")).json()
        assert issue["fields"]["description"] == body
        assert issue["fields"]["status"]["statusCategory"]["key"] == "new"
        assert re.fullmatch(
            r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+0000", issue["fields"]["created"]
        )

        status_patch = await client.put(f"{base}/issue/{key}", json={"fields": {"status": "Done"}})
        assert status_patch.status_code == 400
        assert status_patch.json()["errors"] == {
            "status": "Field 'status' cannot be set. "
            "It is not on the appropriate screen, or unknown."
        }

        emu.clock.advance(90)  # type: ignore[attr-defined]
        edited = await client.put(
            f"{base}/issue/{key}",
            json={
                "fields": {"summary": "Renamed"},
                "update": {"labels": [{"add": "b"}, {"remove": "a"}]},
            },
        )
        assert edited.status_code == 204
        bad = await client.post(
            f"{base}/issue/{key}/transitions", json={"transition": {"id": "41"}}
        )
        assert bad.status_code == 400
        assert bad.json()["errorMessages"] == ["Transition id '41' is not valid for this issue."]
        wrong_field = await client.post(
            f"{base}/issue/{key}/transitions",
            json={"transition": {"id": "21"}, "fields": {"resolution": {"name": "Done"}}},
        )
        assert wrong_field.status_code == 400 and "resolution" in wrong_field.json()["errors"]
        for transition in ("21", "31"):
            emu.clock.advance(30)  # type: ignore[attr-defined]
            fields = {"resolution": {"name": "Done"}} if transition == "31" else {}
            done = await client.post(
                f"{base}/issue/{key}/transitions",
                json={"transition": {"id": int(transition)}, "fields": fields},
            )
            assert done.status_code == 204, done.text
        closed = (await client.get(f"{base}/issue/{key}", params={"expand": "changelog"})).json()
        assert closed["fields"]["resolution"]["name"] == "Done"
        assert closed["fields"]["resolutiondate"] == closed["fields"]["updated"]
        transitions = (await client.get(f"{base}/issue/{key}/transitions")).json()["transitions"]
        assert [t["name"] for t in transitions] == ["Reopen"]
        await client.post(f"{base}/issue/{key}/transitions", json={"transition": {"id": "41"}})
        reopened = (await client.get(f"{base}/issue/{key}", params={"expand": "changelog"})).json()
        assert reopened["fields"]["resolution"] is None
        histories = reopened["changelog"]["histories"]
        changed = [[item["field"] for item in h["items"]] for h in histories]
        assert changed == [
            ["summary", "labels"],
            ["status"],
            ["resolution", "status"],
            ["resolution", "status"],
        ]
        found = await client.post(
            f"{base}/search/jql" if emu.cloud else f"{base}/search",
            json={"jql": 'issue.property[kradle].idempotencyKey = "k-1"', "fields": ["key"]},
        )
        assert [i["key"] for i in found.json()["issues"]] == [key]
        if emu.cloud:
            page = (
                await client.get(f"{base}/issue/{key}/changelog", params={"maxResults": 2})
            ).json()
            assert page["total"] == 4 and len(page["values"]) == 2 and page["isLast"] is False


async def test_description_must_match_the_api_version(fresh: JiraEmulator) -> None:
    emu, base = fresh, api(fresh)
    wrong = "plain string" if emu.cloud else ADF
    async with client_for(emu) as client:
        response = await client.post(
            f"{base}/issue",
            json={
                "fields": {
                    "project": {"key": "WID"},
                    "summary": "x",
                    "issuetype": {"name": "Task"},
                    "description": wrong,
                }
            },
        )
        assert response.status_code == 400
        assert "description" in response.json()["errors"]
        missing = await client.post(f"{base}/issue", json={"fields": {"project": {"key": "WID"}}})
        assert set(missing.json()["errors"]) >= {"summary", "issuetype"}


async def test_comments_and_properties(fresh: JiraEmulator) -> None:
    emu, base = fresh, api(fresh)
    [key] = emu.control.seed("Issue")
    body = ADF if emu.cloud else "a *wiki* body"
    async with client_for(emu) as client:
        created = await client.post(
            f"{base}/issue/{key}/comment",
            json={"body": body, "properties": [{"key": "kradle", "value": {"k": "c-1"}}]},
        )
        assert created.status_code == 201
        comment_id = created.json()["id"]
        listed = (
            await client.get(f"{base}/issue/{key}/comment", params={"expand": "properties"})
        ).json()
        assert listed["total"] == 1
        assert listed["comments"][0]["properties"] == [{"key": "kradle", "value": {"k": "c-1"}}]
        assert listed["comments"][0]["body"] == body
        updated = await client.put(f"{base}/issue/{key}/comment/{comment_id}", json={"body": body})
        assert updated.status_code == 200
        gone = await client.delete(f"{base}/issue/{key}/comment/{comment_id}")
        assert gone.status_code == 204
        missing = await client.get(f"{base}/issue/{key}/comment/{comment_id}")
        assert missing.status_code == 404
        put = await client.put(f"{base}/issue/{key}/properties/kradle", json={"a": 1})
        assert put.status_code == 201
        again = await client.put(f"{base}/issue/{key}/properties/kradle", json={"a": 2})
        assert again.status_code == 200
        got = (await client.get(f"{base}/issue/{key}/properties/kradle")).json()
        assert got == {"key": "kradle", "value": {"a": 2}}
        absent = await client.get(f"{base}/issue/{key}/properties/nope")
        assert absent.status_code == 404
        assert absent.json()["errorMessages"] == ["The property with key 'nope' does not exist."]


# -- auth, errors, rate limits --------------------------------------------------------


async def test_authentication_per_flavour(fresh: JiraEmulator) -> None:
    emu, base = fresh, api(fresh)
    async with emu.client() as client:
        anonymous_info = await client.get(f"{base}/serverInfo")
        assert anonymous_info.status_code == 200
        assert (await client.get(f"{base}/myself")).status_code == 401
        wrong = await client.get(f"{base}/myself", headers=basic("x@example.com", "nope"))
        assert wrong.status_code == 401
        assert wrong.headers["x-seraph-loginreason"] == "AUTHENTICATED_FAILED"
        assert wrong.json()["errorMessages"]
        good_basic = await client.get(f"{base}/myself", headers=basic("anyone@x.io", emu.token))
        assert good_basic.status_code == 200
        bearer = await client.get(
            f"{base}/myself", headers={"Authorization": f"Bearer {emu.token}"}
        )
        # Cloud API tokens are not bearer tokens; Data Center PATs are.
        assert bearer.status_code == (401 if emu.cloud else 200)
        me = good_basic.json()
        assert ("accountId" in me) is emu.cloud and ("name" in me) is (not emu.cloud)
        assert good_basic.headers["x-arequestid"]
    assert emu.token not in repr(list(emu.requests))


async def test_versions_and_unknown_objects(fresh: JiraEmulator) -> None:
    emu, base = fresh, api(fresh)
    emu.control.seed("Milestone", 3)
    async with client_for(emu) as client:
        versions = (await client.get(f"{base}/project/WID/versions")).json()
        assert [v["name"] for v in versions] == ["Milestone 1", "Milestone 2", "Milestone 3"]
        paged_versions = await client.get(f"{base}/project/WID/version", params={"maxResults": 2})
        if emu.cloud:
            assert paged_versions.json()["total"] == 3 and paged_versions.json()["isLast"] is False
        else:
            assert paged_versions.status_code == 404
        no_project = await client.get(f"{base}/project/NOPE")
        assert no_project.status_code == 404
        assert no_project.json() == {
            "errorMessages": ["No project could be found with key 'NOPE'."],
            "errors": {},
        }
        no_issue = await client.get(f"{base}/issue/WID-999")
        assert no_issue.json()["errorMessages"] == [
            "Issue does not exist or you do not have permission to see it."
        ]
        v3 = await client.get("/rest/api/3/serverInfo")
        assert v3.status_code == (200 if emu.cloud else 404)


async def test_rate_limit_answers_429_with_retry_after(fresh: JiraEmulator) -> None:
    emu, base = fresh, api(fresh)
    async with client_for(emu) as client:
        emu.control.inject_fault(Fault.RATE_LIMIT, method="GET")
        limited = await client.get(f"{base}/myself")
        assert limited.status_code == 429
        assert limited.headers["retry-after"] == "1"
        assert limited.json()["errorMessages"] == ["Rate limit exceeded."]
        if emu.cloud:
            assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\dZ", limited.headers["x-ratelimit-reset"])
            assert limited.headers["x-ratelimit-reset"] == "2024-05-01T09:01Z"
        else:
            assert limited.headers["x-ratelimit-interval-seconds"] == "60"
        assert (await client.get(f"{base}/myself")).status_code == 200
        assert emu.rate_limiter is not None
        emu.rate_limiter.set_remaining(emu.requests[-1].credential, 0)
        exhausted = await client.get(f"{base}/myself")
        assert exhausted.status_code == 429
        assert int(exhausted.headers["retry-after"]) > 0
        emu.clock.advance(61)  # type: ignore[attr-defined]
        assert (await client.get(f"{base}/myself")).status_code == 200


# -- control API ------------------------------------------------------------------------


def test_control_is_a_backend_control(fresh: JiraEmulator) -> None:
    control = fresh.control
    assert isinstance(control, BackendControl)
    keys = control.seed("Issue", 2, status="Done", labels=["x"], fix_version="3.0")
    issue = fresh.state.issue(keys[0])
    assert issue is not None and issue["status"] == "Done" and issue["resolution"] == "Done"
    before = issue["updated"]
    fresh.clock.advance(60)  # type: ignore[attr-defined]
    control.change("Issue", keys[0], status="In Progress", title="Changed")
    after = fresh.state.issue(keys[0])
    assert after is not None and after["updated"] > before and after["status"] == "In Progress"
    assert after["resolution"] is None and after["summary"] == "Changed"
    events = control.seed("IssueEvent", issue=keys[1])
    second = fresh.state.issue(keys[1])
    assert second is not None
    # The adapter's IssueEvent id: <historyId>:<eventType> (a summary edit is "renamed").
    history_id, event_type = events[0].split(":")
    assert event_type == "renamed"
    assert history_id in {h["id"] for h in fresh.state.issue_histories(second["id"])}
    control.set_native_field("IssueEvent", events[0], "historyMetadata", {"type": "x"})
    assert fresh.state.histories.get(history_id)["native"] == {"historyMetadata": {"type": "x"}}  # type: ignore[index]
    with pytest.raises(ValueError, match="never edits a changelog history"):
        control.change("IssueEvent", events[0])
    assert control.seed("Transition", issue=keys[1]) == ["41"]
    [comment] = control.seed("Comment", issue=keys[1], body="hi")
    control.change("Comment", comment, body="edited")
    control.set_native_field("Issue", keys[1], "customfield_10042", "gold")
    assert fresh.state.issue(keys[1])["native"]["customfield_10042"] == "gold"  # type: ignore[index]
    assert control.seed("Label", issue=keys[1], name="extra") == ["extra"]
    # Changing a label puts it on another issue (a label has no fields of its own).
    control.change("Label", "extra", issue=keys[0])
    assert "extra" in fresh.state.issue(keys[0])["labels"]  # type: ignore[index]
    with pytest.raises(ValueError, match="bare string"):
        control.set_native_field("Label", "extra", "color", "red")
    control.delete("Label", "extra")
    control.delete("Comment", comment)
    control.delete("Issue", keys[1])
    assert fresh.state.issue(keys[1]) is None
    assert fresh.counts()["Milestone"] == 1
    with pytest.raises(ValueError, match="supports Issue, Comment"):
        control.seed("Pipeline")
