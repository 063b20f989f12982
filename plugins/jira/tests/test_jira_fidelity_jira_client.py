"""Fidelity: the pycontribs ``jira`` client reads the whole seeded project from both flavours.

The emulator runs on a loopback port (a background thread, since the client is
synchronous); every request the client makes must hit an emulated route.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from jira import JIRA
from kradle_provider_jira.emulator import JiraEmulator, create_emulator

from kradle_providers.testing.emulator import LoopbackServer


@pytest.fixture(scope="module", params=["cloud", "datacenter"])
def served(request: pytest.FixtureRequest) -> Iterator[tuple[JiraEmulator, str]]:
    emulator = create_emulator(seed="demo", token="T0k3n", flavor=request.param)
    with LoopbackServer(emulator) as server:
        yield emulator, server.url


def _client(emulator: JiraEmulator, url: str) -> JIRA:
    if emulator.cloud:
        # REST v3: ADF bodies and the enhanced (nextPageToken) search.
        return JIRA(
            server=url,
            basic_auth=("someone@example.com", emulator.token),
            options={"rest_api_version": "3"},
            get_server_info=True,
            max_retries=0,
        )
    return JIRA(server=url, token_auth=emulator.token, get_server_info=True, max_retries=0)


def test_server_info_tells_the_flavour(served: tuple[JiraEmulator, str]) -> None:
    emulator, url = served
    client = _client(emulator, url)
    info = client.server_info()
    assert info["deploymentType"] == ("Cloud" if emulator.cloud else "Server")
    assert client._is_cloud is emulator.cloud
    emulator.assert_no_unmatched()


def test_reads_the_whole_project_with_full_pagination(served: tuple[JiraEmulator, str]) -> None:
    emulator, url = served
    client = _client(emulator, url)
    jql = "project = WID ORDER BY key ASC"
    if emulator.cloud:
        issues = client.enhanced_search_issues(jql, maxResults=False, fields="*all")
    else:
        issues = client.search_issues(jql, maxResults=False, fields="*all")
    keys = [issue.key for issue in issues]
    expected = emulator.counts()["Issue"]
    assert len(keys) == expected == len(set(keys))
    assert keys[:3] == ["WID-1", "WID-2", "WID-3"]
    searches = [r for r in emulator.requests if r.operation in ("searchIssuesJql", "searchIssues")]
    assert len(searches) >= 4  # really paged (100 per page at most)
    statuses = {issue.fields.status.name for issue in issues}
    assert statuses == {"To Do", "In Progress", "Done"}
    done = [i for i in issues if i.fields.status.name == "Done"]
    assert all(i.fields.resolution is not None and i.fields.resolutiondate for i in done)
    # Every comment arrives embedded in the searched issues (the ``comment`` field of *all).
    embedded = {i.key: [c.id for c in i.fields.comment.comments] for i in issues}
    assert sum(len(ids) for ids in embedded.values()) == emulator.counts()["Comment"]
    # comments() per issue agrees; a sample keeps the loopback round trips few (the client
    # spends ~50 ms per call here, so all 320 issues would take over 15 s per flavour).
    for key in keys[::16]:
        assert [c.id for c in client.comments(key)] == embedded[key]
    emulator.assert_no_unmatched()


def test_issue_transitions_and_comments_round_trip(served: tuple[JiraEmulator, str]) -> None:
    emulator, url = served
    client = _client(emulator, url)
    todo = next(i for i in emulator.state.issues.all() if i["status"] == "To Do")
    issue = client.issue(todo["key"], expand="changelog")
    assert issue.key == todo["key"]
    names = {t["name"] for t in client.transitions(issue)}
    assert names == {"In Progress", "Done"}
    client.transition_issue(issue, "In Progress")
    client.transition_issue(issue, "Done", fields={"resolution": {"name": "Done"}})
    again = client.issue(todo["key"])
    assert again.fields.status.name == "Done"
    assert again.fields.resolution.name == "Done"
    assert {t["name"] for t in client.transitions(again)} == {"Reopen"}
    if emulator.cloud:
        body = {
            "type": "doc",
            "version": 1,
            "content": [{"type": "paragraph", "content": [{"type": "text", "text": "From jira"}]}],
        }
        comment = client.add_comment(todo["key"], body)  # type: ignore[arg-type]
        assert comment.raw["body"]["type"] == "doc"
    else:
        comment = client.add_comment(todo["key"], "From *jira*")
        assert comment.body == "From *jira*"
    assert comment.id in {c.id for c in client.comments(todo["key"])}
    history = client.issue(todo["key"], expand="changelog").changelog.histories
    fields = [item.field for h in history for item in h.items]
    assert "status" in fields and "resolution" in fields
    emulator.assert_no_unmatched()
