"""Behaviour of the GitHub emulator: pagination, limits, ETags, errors, auth, faults, hooks."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import httpx
import jwt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from kradle_provider_github.emulator import GitHubEmulator, create_emulator
from kradle_provider_github.webhooks import WEBHOOKS

from kradle_providers.testing.emulator import ManualClock
from kradle_providers.testing.harness import BackendControl, Fault
from kradle_providers.webhooks.verify import Verifier

R = "/repos/acme/widgets"


@pytest.fixture(scope="module")
def demo() -> GitHubEmulator:
    return create_emulator(seed="demo")


def auth(em: GitHubEmulator) -> dict[str, str]:
    return {"authorization": f"Bearer {em.token}"}


def test_demo_seed_has_the_promised_contents(demo: GitHubEmulator) -> None:
    counts = demo.counts()
    assert counts["Issue"] + counts["PullRequest"] == 300
    assert counts["PullRequest"] == 60
    assert counts["Comment"] == 800
    assert counts["Label"] == 12
    assert counts["Milestone"] == 3
    assert counts["PipelineDefinition"] == 2
    assert counts["Pipeline"] == 120
    assert counts["Job"] > 120
    assert counts["Check"] > 0
    assert counts["DeployKey"] == 2
    assert counts["BranchProtection"] == 1
    assert isinstance(demo.control, BackendControl)


def test_seed_is_deterministic_and_fast() -> None:
    started = time.perf_counter()
    first = create_emulator(seed="demo")
    elapsed = time.perf_counter() - started
    second = create_emulator(seed="demo")
    assert first.state.issues.all() == second.state.issues.all()
    assert first.state.comments.all() == second.state.comments.all()
    assert elapsed < 3.0  # < 2 s on an idle machine; shared CI cores get some slack


def test_unknown_seed_is_explained() -> None:
    with pytest.raises(ValueError, match="known seeds: demo"):
        create_emulator(seed="nope")


async def test_link_pagination_defaults_and_caps(demo: GitHubEmulator) -> None:
    async with demo.client(headers=auth(demo)) as client:
        first = await client.get(f"{R}/issues", params={"state": "all"})
        assert len(first.json()) == 30
        assert first.links["next"]["url"].endswith("page=2")
        assert "page=10" in first.links["last"]["url"]
        capped = await client.get(f"{R}/issues", params={"state": "all", "per_page": 500})
        assert len(capped.json()) == 100
        last = await client.get(f"{R}/issues", params={"state": "all", "per_page": 100, "page": 3})
        assert "next" not in last.links and last.links["prev"]["url"]


async def test_issue_listing_includes_pull_requests_and_filters(demo: GitHubEmulator) -> None:
    async with demo.client(headers=auth(demo)) as client:
        everything = []
        url: str | None = f"{R}/issues?state=all&per_page=100&sort=updated&direction=asc"
        while url:
            page = await client.get(url)
            everything += page.json()
            url = page.links.get("next", {}).get("url")
        assert len(everything) == 300
        assert sum("pull_request" in i for i in everything) == 60
        stamps = [i["updated_at"] for i in everything]
        assert stamps == sorted(stamps)
        since = stamps[200]
        recent = (
            await client.get(
                f"{R}/issues", params={"state": "all", "since": since, "per_page": 100}
            )
        ).json()
        assert recent and all(i["updated_at"] >= since for i in recent)
        open_only = (await client.get(f"{R}/issues", params={"per_page": 100})).json()
        assert all(i["state"] == "open" for i in open_only)
        bad = await client.get(f"{R}/issues", params={"state": "weird"})
        assert bad.status_code == 422 and bad.json()["message"] == "Validation Failed"


@settings(max_examples=25, deadline=None)
@given(per_page=st.integers(min_value=-5, max_value=150))
def test_pagination_covers_each_comment_exactly_once(demo: GitHubEmulator, per_page: int) -> None:
    import asyncio

    async def walk() -> list[int]:
        seen: list[int] = []
        async with demo.client(headers=auth(demo)) as client:
            url: str | None = f"{R}/issues/comments?per_page={per_page}"
            while url:
                page = await client.get(url)
                seen += [c["id"] for c in page.json()]
                url = page.links.get("next", {}).get("url")
        return seen

    ids = asyncio.run(walk())
    assert len(ids) == 800 and len(set(ids)) == 800


async def test_etag_304_is_free_and_headers_count() -> None:
    em = create_emulator()
    async with em.client(headers=auth(em)) as client:
        first = await client.get(f"{R}/labels")
        assert first.headers["etag"].startswith('W/"')
        assert first.headers["x-ratelimit-limit"] == "5000"
        remaining = int(first.headers["x-ratelimit-remaining"])
        again = await client.get(f"{R}/labels", headers={"if-none-match": first.headers["etag"]})
        assert again.status_code == 304
        assert int(again.headers["x-ratelimit-remaining"]) == remaining
        assert again.headers["x-ratelimit-resource"] == "core"


async def test_primary_and_secondary_limits() -> None:
    em = create_emulator(options={"rate_limit": 3, "secondary_limit": 2})
    async with em.client(headers=auth(em)) as client:
        for _ in range(3):
            assert (await client.get(R)).status_code == 200
        refused = await client.get(R)
        assert refused.status_code == 403
        assert refused.headers["x-ratelimit-remaining"] == "0"
        assert "rate limit" in refused.json()["message"]
    em = create_emulator(options={"secondary_limit": 2})
    async with em.client(headers=auth(em)) as client:
        for n in range(2):
            assert (await client.post(f"{R}/labels", json={"name": f"l{n}"})).status_code == 201
        burst = await client.post(f"{R}/labels", json={"name": "l3"})
        assert burst.status_code == 403
        assert "secondary rate limit" in burst.json()["message"]
        assert burst.headers["retry-after"] == "60"


async def test_error_bodies_as_github_sends_them() -> None:
    em = create_emulator()
    async with em.client() as client:
        bad = await client.get(R, headers={"authorization": "token ghp_wrong"})
        assert bad.status_code == 401
        assert bad.json() == {
            "message": "Bad credentials",
            "documentation_url": "https://docs.github.com/rest",
            "status": "401",
        }
        missing = await client.get("/repos/acme/nothing", headers=auth(em))
        assert missing.status_code == 404 and missing.json()["status"] == "404"
        invalid = await client.post(f"{R}/issues", json={}, headers=auth(em))
        assert invalid.status_code == 422
        assert invalid.json()["errors"] == [
            {"resource": "Issue", "field": "title", "code": "missing_field"}
        ]
        anonymous_write = await client.post(f"{R}/issues", json={"title": "x"})
        assert anonymous_write.status_code == 401


def _app_jwt(em: GitHubEmulator, now: datetime) -> str:
    iat = int(now.timestamp()) - 60
    return jwt.encode(
        {"iat": iat, "exp": iat + 540, "iss": str(em.app_id)},
        em.app_private_key_pem,
        algorithm="RS256",
    )


async def test_app_jwt_mints_hour_long_installation_tokens() -> None:
    clock = ManualClock(datetime(2024, 7, 1, tzinfo=UTC))
    em = create_emulator(options={"clock": clock})
    async with em.client() as client:
        bearer = {"authorization": f"Bearer {_app_jwt(em, clock())}"}
        app = await client.get("/app", headers=bearer)
        assert app.status_code == 200 and app.json()["id"] == em.app_id
        minted = await client.post(
            f"/app/installations/{em.installation_id}/access_tokens", headers=bearer
        )
        assert minted.status_code == 201
        body = minted.json()
        assert body["token"].startswith("ghs_") and body["expires_at"] == "2024-07-01T01:00:00Z"
        token = {"authorization": f"token {body['token']}"}
        assert (await client.get(R, headers=token)).status_code == 200
        assert (await client.get("/user", headers=token)).status_code == 403
        assert (await client.get(R, headers=bearer)).status_code == 403
        assert (await client.get("/app", headers=auth(em))).status_code == 401
        clock.advance(3601)
        assert (await client.get(R, headers=token)).status_code == 401
        stale = {"authorization": f"Bearer {_app_jwt(em, datetime(2024, 6, 1, tzinfo=UTC))}"}
        assert (await client.get("/app", headers=stale)).status_code == 401
        unknown = await client.post(
            "/app/installations/1/access_tokens",
            headers={"authorization": f"Bearer {_app_jwt(em, clock())}"},
        )
        assert unknown.status_code == 404


async def test_faults_through_the_transport() -> None:
    em = create_emulator()
    em.control.inject_fault(Fault.SERVER_ERROR, times=1, method="GET")
    em.control.inject_fault(Fault.RATE_LIMIT, times=1, method="GET")
    em.control.inject_fault(Fault.LOST_RESPONSE, times=1, method="POST")
    async with em.client(headers=auth(em)) as client:
        assert (await client.get(R)).status_code == 502
        limited = await client.get(R)
        assert limited.status_code == 403 and limited.headers["x-ratelimit-remaining"] == "0"
        with pytest.raises(httpx.RemoteProtocolError):
            await client.post(f"{R}/issues", json={"title": "lost but made"})
        titles = [i["title"] for i in (await client.get(f"{R}/issues")).json()]
        assert "lost but made" in titles
    assert [r.operation for r in em.control.requests()][:2] == ["getRepository", "getRepository"]


async def test_webhooks_are_signed_and_verifiable() -> None:
    em = create_emulator()
    received: list[tuple[bytes, dict[str, str]]] = []

    async def receiver(scope, receive, send):  # type: ignore[no-untyped-def]
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        received.append((body, {k.decode(): v.decode() for k, v in scope["headers"]}))
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    em.webhooks.subscribe("http://hooks.test/github", "topsecret", app=receiver)
    em.control.seed("Issue")
    await em.webhooks.flush()
    assert len(received) == 1
    body, headers = received[0]
    verified = Verifier("github", WEBHOOKS, "topsecret").verify(body, headers)
    assert verified.event == "issues"
    assert headers["x-hub-signature"].startswith("sha1=")
    assert headers["x-github-delivery"] and headers["x-github-hook-id"] == "1"
    with pytest.raises(Exception, match="does not match"):
        Verifier("github", WEBHOOKS, "other").verify(body, headers)


async def test_job_logs_redirect_to_plain_text(demo: GitHubEmulator) -> None:
    job = demo.state.jobs.all()[0]
    async with demo.client(headers=auth(demo)) as client:
        redirect = await client.get(f"{R}/actions/jobs/{job['id']}/logs")
        assert redirect.status_code == 302
        log = await client.get(redirect.headers["location"])
        assert log.status_code == 200 and log.headers["content-type"].startswith("text/plain")
        assert job["name"] in log.text
        forged = await client.get(f"/_emulator/logs/{job['id']}?sig=nope")
        assert forged.status_code == 404


async def test_runs_created_filter_and_actions_writes() -> None:
    em = create_emulator(seed="demo")
    async with em.client(headers=auth(em)) as client:
        recent = (
            await client.get(
                f"{R}/actions/runs", params={"created": ">=2024-06-01T00:00:00Z", "per_page": 100}
            )
        ).json()
        assert recent["workflow_runs"]
        assert all(r["created_at"] >= "2024-06-01T00:00:00Z" for r in recent["workflow_runs"])
        assert recent["total_count"] == len(recent["workflow_runs"])
        running = next(r for r in em.state.runs.all() if r["status"] != "completed")
        done = next(r for r in em.state.runs.all() if r["status"] == "completed")
        assert (await client.post(f"{R}/actions/runs/{running['id']}/cancel")).status_code == 202
        assert (await client.post(f"{R}/actions/runs/{done['id']}/cancel")).status_code == 409
        assert (await client.post(f"{R}/actions/runs/{done['id']}/rerun")).status_code == 201
        token = await client.post(f"{R}/actions/runners/registration-token")
        assert token.status_code == 201 and set(token.json()) == {"token", "expires_at"}
        sha = (await client.get(f"{R}/commits/main")).json()["sha"]
        check = await client.post(
            f"{R}/check-runs", json={"name": "lint", "head_sha": sha, "external_id": "intent-7"}
        )
        assert check.status_code == 201 and check.json()["external_id"] == "intent-7"


async def test_graphql_review_hydration_pages_and_errors(demo: GitHubEmulator) -> None:
    query = """query($cursor: String) { repository(owner: "acme", name: "widgets") {
      pullRequests(first: 25, after: $cursor, orderBy: {field: UPDATED_AT, direction: ASC}) {
        pageInfo { hasNextPage endCursor } nodes { number reviews(first: 100) { totalCount } } } }
      rateLimit { cost remaining resetAt } }"""
    async with demo.client(headers=auth(demo)) as client:
        numbers: list[int] = []
        cursor = None
        while True:
            body = (
                await client.post(
                    "/graphql", json={"query": query, "variables": {"cursor": cursor}}
                )
            ).json()
            connection = body["data"]["repository"]["pullRequests"]
            numbers += [n["number"] for n in connection["nodes"]]
            if not connection["pageInfo"]["hasNextPage"]:
                break
            cursor = connection["pageInfo"]["endCursor"]
        assert len(numbers) == 60 and len(set(numbers)) == 60
        too_many = await client.post(
            "/graphql", json={"query": query.replace("first: 25", "first: 101")}
        )
        assert "exceeds the `first` limit of 100" in too_many.json()["errors"][0]["message"]
        anonymous = await client.post(
            "/graphql", json={"query": "{ viewer { login } }"}, headers={"authorization": ""}
        )
        assert anonymous.status_code == 401


async def test_enterprise_server_paths() -> None:
    em = create_emulator(flavor="ghes")
    async with em.client(headers=auth(em)) as client:
        assert (await client.get(f"/api/v3{R}")).status_code == 200
        assert (await client.get(R)).status_code == 404
        viewer = await client.post("/api/graphql", json={"query": "{ viewer { login } }"})
        assert viewer.json()["data"]["viewer"]["login"] == em.viewer_login


async def test_control_seeds_changes_and_deletes() -> None:
    em = create_emulator()
    control = em.control
    [number] = control.seed("Issue", title="From control")
    [pr] = control.seed("Issue", pull_request=True)
    [comment] = control.seed("Comment", issue=int(number))
    control.change("Issue", number, state="closed")
    control.set_native_field("Issue", number, "performed_via_github_app", None)
    async with em.client(headers=auth(em)) as client:
        issue = (await client.get(f"{R}/issues/{number}")).json()
        assert issue["state"] == "closed" and issue["comments"] == 1
        assert "pull_request" in (await client.get(f"{R}/issues/{pr}")).json()
        control.delete("Comment", comment)
        assert (await client.get(f"{R}/issues/comments/{comment}")).status_code == 404
        [key] = control.seed("DeployKey")
        control.delete("DeployKey", key)
        assert (await client.get(f"{R}/keys/{key}")).status_code == 404
    assert em.counts()["PullRequest"] == 1
    with pytest.raises(KeyError, match="unknown kind"):
        control.seed("Widget")


async def test_graphql_has_its_own_budget_apart_from_rest() -> None:
    em = create_emulator()
    async with em.client(headers=auth(em)) as client:
        rest = await client.get(f"{R}/labels")
        core_left = int(rest.headers["x-ratelimit-remaining"])
        query = {"query": "{ rateLimit { cost remaining } viewer { login } }"}
        answer = await client.post("/graphql", json=query)
        assert answer.status_code == 200
        assert answer.headers["x-ratelimit-resource"] == "graphql"
        graphql_left = int(answer.headers["x-ratelimit-remaining"])
        assert graphql_left == 4999
        assert answer.json()["data"]["rateLimit"]["remaining"] == graphql_left
        again = await client.get(f"{R}/milestones")
        # The GraphQL call did not touch the REST budget.
        assert int(again.headers["x-ratelimit-remaining"]) == core_left - 1
        assert again.headers["x-ratelimit-resource"] == "core"

    small = create_emulator(options={"rate_limit": 3})
    async with small.client(headers=auth(small)) as client:
        for _ in range(3):
            assert (await client.post("/graphql", json=query)).status_code == 200
        refused = await client.post("/graphql", json=query)
        assert refused.status_code == 403
        assert refused.headers["x-ratelimit-remaining"] == "0"
        assert refused.headers["x-ratelimit-resource"] == "graphql"
        # REST still has its whole budget.
        assert (await client.get(f"{R}/labels")).headers["x-ratelimit-remaining"] == "2"


async def test_check_runs_need_a_full_existing_head_sha() -> None:
    em = create_emulator(seed="demo")
    async with em.client() as client:
        main = (await client.get("/repos/acme/widgets/branches/main", headers=auth(em))).json()
        sha = main["commit"]["sha"]
        for bad in ("main", sha[:7], "f" * 40):
            refused = await client.post(
                "/repos/acme/widgets/check-runs",
                json={"name": "lint", "head_sha": bad},
                headers=auth(em),
            )
            assert refused.status_code == 422, bad
            assert refused.json()["message"] == "Validation Failed"
        made = await client.post(
            "/repos/acme/widgets/check-runs",
            json={"name": "lint", "head_sha": sha},
            headers=auth(em),
        )
        assert made.status_code == 201 and made.json()["head_sha"] == sha
