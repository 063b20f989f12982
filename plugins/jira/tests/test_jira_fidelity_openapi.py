"""Fidelity: every Cloud response the adapter relies on validates against Atlassian's OpenAPI."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from kradle_provider_jira.emulator import create_emulator

from kradle_providers.testing.fixtures import require_vendor_specs
from kradle_providers.testing.openapi import OpenApiSpec

ADF = {
    "type": "doc",
    "version": 1,
    "content": [{"type": "paragraph", "content": [{"type": "text", "text": "fidelity"}]}],
}


@pytest.fixture(scope="module")
def spec() -> OpenApiSpec:
    return OpenApiSpec.load(require_vendor_specs("jira") / "swagger-v3.v3.json")


async def test_cloud_responses_match_the_openapi_description(spec: OpenApiSpec) -> None:
    emu = create_emulator(seed="demo", flavor="cloud")
    auth = base64.b64encode(f"dev@example.com:{emu.token}".encode()).decode()
    checked: list[str] = []
    problems: list[str] = []

    async with emu.client(headers={"Authorization": f"Basic {auth}"}) as client:

        async def call(method: str, path: str, expected: int, **kwargs: Any) -> Any:
            response = await client.request(method, path, **kwargs)
            assert response.status_code == expected, (method, path, response.text)
            body = response.json() if response.content else None
            found = spec.validate_response(method, path, response.status_code, body)
            problems.extend(f"{method} {path} -> {p}" for p in found)
            checked.append(f"{method} {path} {response.status_code}")
            return body

        done = next(i for i in emu.state.issues.all() if i["status"] == "Done")["key"]
        await call("GET", "/rest/api/3/serverInfo", 200)
        await call("GET", "/rest/api/3/myself", 200)
        await call("GET", "/rest/api/3/project/WID", 200)
        await call("GET", "/rest/api/3/project/WID/versions", 200)
        await call("GET", "/rest/api/3/project/WID/version", 200, params={"maxResults": 2})
        await call("GET", "/rest/api/3/label", 200)
        page = await call(
            "GET",
            "/rest/api/3/search/jql",
            200,
            params={
                "jql": "project = WID ORDER BY updated ASC",
                "fields": "*all",
                "expand": "changelog,renderedFields,names",
                "maxResults": 100,
            },
        )
        await call(
            "GET",
            "/rest/api/3/search/jql",
            200,
            params={"jql": "project = WID", "nextPageToken": page["nextPageToken"]},
        )
        await call(
            "POST",
            "/rest/api/3/search/jql",
            200,
            json={
                "jql": 'project = WID AND updated >= "2024-01-05 00:00"',
                "fields": ["summary", "status", "updated", "labels", "fixVersions"],
                "properties": ["kradle"],
                "maxResults": 50,
            },
        )
        await call(
            "GET",
            f"/rest/api/3/issue/{done}",
            200,
            params={"expand": "changelog,renderedFields,transitions,names"},
        )
        await call("GET", f"/rest/api/3/issue/{done}/changelog", 200)
        await call(
            "GET",
            f"/rest/api/3/issue/{done}/transitions",
            200,
            params={"expand": "transitions.fields"},
        )
        comments = await call(
            "GET",
            f"/rest/api/3/issue/{done}/comment",
            200,
            params={"expand": "renderedBody,properties"},
        )
        await call(
            "POST",
            "/rest/api/3/comment/list",
            200,
            json={"ids": [int(c["id"]) for c in comments["comments"]]},
        )
        created = await call(
            "POST",
            "/rest/api/3/issue",
            201,
            json={
                "fields": {
                    "project": {"key": "WID"},
                    "summary": "Fidelity",
                    "issuetype": {"name": "Bug"},
                    "description": ADF,
                    "labels": ["fidelity"],
                    "fixVersions": [{"name": "2.0"}],
                }
            },
        )
        key = created["key"]
        await call("POST", "/rest/api/3/issue", 400, json={"fields": {"summary": ""}})
        await call(
            "PUT", f"/rest/api/3/issue/{key}", 204, json={"update": {"labels": [{"add": "more"}]}}
        )
        await call(
            "PUT",
            f"/rest/api/3/issue/{key}",
            200,
            params={"returnIssue": "true"},
            json={"fields": {"summary": "Fidelity 2"}},
        )
        await call(
            "POST",
            f"/rest/api/3/issue/{key}/transitions",
            204,
            json={"transition": {"id": "31"}, "fields": {"resolution": {"name": "Done"}}},
        )
        await call(
            "PUT", f"/rest/api/3/issue/{key}/properties/kradle", 201, json={"idempotencyKey": "k-9"}
        )
        await call("GET", f"/rest/api/3/issue/{key}/properties/kradle", 200)
        await call("GET", f"/rest/api/3/issue/{key}/properties", 200)
        comment = await call("POST", f"/rest/api/3/issue/{key}/comment", 201, json={"body": ADF})
        await call(
            "PUT", f"/rest/api/3/issue/{key}/comment/{comment['id']}", 200, json={"body": ADF}
        )
        await call("GET", f"/rest/api/3/issue/{key}/comment/{comment['id']}", 200)
        await call("DELETE", f"/rest/api/3/issue/{key}/comment/{comment['id']}", 204)
        await call("GET", "/rest/api/3/issue/WID-99999", 404)
        await call("DELETE", f"/rest/api/3/issue/{key}", 204)

    assert not problems, "\n".join(problems[:30])
    assert len(checked) == 28
    emu.assert_no_unmatched()


async def test_the_check_bites_on_data_center_shapes(spec: OpenApiSpec) -> None:
    # Data Center's serverInfo carries fields Cloud's description forbids: the check sees it.
    emu = create_emulator(flavor="datacenter")
    async with emu.client() as client:
        info = (await client.get("/rest/api/2/serverInfo")).json()
    problems = spec.validate_response("GET", "/rest/api/3/serverInfo", 200, info)
    assert any("defaultLocale" in p or "databaseBuildNumber" in p for p in problems)
