"""The Buildkite emulator behaves like Buildkite's REST API: data, paging, limits, errors, hooks."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import httpx
import pytest
from kradle_provider_buildkite.emulator import BuildkiteEmulator, create_emulator
from kradle_provider_buildkite.emulator.seed import FORGE_COMMITS, FORGE_PULL_REQUESTS
from kradle_provider_buildkite.emulator.state import BUILD_STATES
from kradle_provider_buildkite.webhooks import WEBHOOKS

from kradle_providers.auth import Secret
from kradle_providers.errors import WebhookSignatureError
from kradle_providers.testing.emulator import ManualClock

PIPE = "/v2/organizations/acme/pipelines/widgets"


@pytest.fixture(scope="module")
def demo() -> BuildkiteEmulator:
    return create_emulator(seed="demo")


def _client(em: BuildkiteEmulator, token: str | None = None) -> httpx.AsyncClient:
    return em.client(headers={"Authorization": f"Bearer {token or em.token}"})


def test_demo_seed_has_every_build_state_job_type_retry_and_agent(demo: BuildkiteEmulator) -> None:
    s = demo.state
    builds = s.builds.all()
    assert len(builds) >= 150 and len(s.pipelines) >= 3
    assert set(BUILD_STATES) <= {b["state"] for b in builds}
    assert any(b["blocked"] and b["state"] == "passed" for b in builds)
    jobs = s.jobs.all()
    assert {j["type"] for j in jobs} == {"script", "waiter", "manual", "trigger"}
    retried = [j for j in jobs if j["retried"]]
    assert retried
    for old in retried:
        new = s.jobs.get(old["retried_in_job_id"])
        assert new is not None and new["retry_source"]["job_id"] == old["id"]
    assert any(j["triggered_build_id"] for j in jobs)
    assert all("\x1b[" in j["log"] for j in jobs if j["type"] == "script" and j["started_at"])
    assert len(s.artifacts) > 100
    assert {a["connection_state"] for a in s.agents.all()} >= {"connected", "lost", "stopped"}
    assert any(a["job_id"] for a in s.agents.all())  # busy agents
    assert Counter(b["number"] for b in builds if b["pipeline_id"] == builds[0]["pipeline_id"])
    # Deterministic, whatever the clock says.
    again = create_emulator(seed="demo", options={"clock": ManualClock()})
    assert [b["id"] for b in again.state.builds.all()] == [b["id"] for b in builds]


def test_builds_record_github_commits_and_pull_requests(demo: BuildkiteEmulator) -> None:
    """Every widgets build names a commit (and PR) of GitHub's demo seed of acme/widgets."""
    widgets = demo.state.pipeline_by_slug("widgets")
    assert widgets is not None
    shas = {sha for sha, _ in FORGE_COMMITS} | {sha for _, _, sha in FORGE_PULL_REQUESTS}
    pulls = {str(n): (branch, sha) for n, branch, sha in FORGE_PULL_REQUESTS}
    builds = demo.state.builds.filter(pipeline_id=widgets["id"])
    assert {b["commit"] for b in builds} <= shas
    with_pr = [b for b in builds if b["pull_request"]]
    assert len(with_pr) > 20
    for b in with_pr:
        assert pulls[b["pull_request"]["id"]] == (b["branch"], b["commit"])
        assert b["pull_request"]["base"] == "main"
        assert b["pull_request"]["repository"] == "https://github.com/acme/widgets.git"


def test_the_pairing_table_matches_the_github_demo_seed() -> None:
    github = pytest.importorskip("kradle_provider_github.emulator")
    em = github.create_emulator(seed="demo")
    repo = em.state.repo("acme", "widgets")
    commits = {c["sha"] for c in em.state.store["commits"].filter(repo_id=repo["id"])}
    assert {sha for sha, _ in FORGE_COMMITS} <= commits
    for number, branch, sha in FORGE_PULL_REQUESTS:
        pull = em.state.pull(repo["id"], number)
        assert (pull["head_ref"], pull["head_sha"], pull["base_ref"]) == (branch, sha, "main")


async def test_link_paging_always_has_first_and_last(demo: BuildkiteEmulator) -> None:
    async with _client(demo) as c:
        first = await c.get(f"{PIPE}/builds", params={"page": 1, "per_page": 50})
        links = first.headers["link"]
        assert 'rel="first"' in links and 'rel="last"' in links and 'rel="next"' in links
        assert "page=2&per_page=50" in links
        numbers: list[int] = []
        url: str | None = f"{PIPE}/builds?per_page=50"
        while url:
            page = await c.get(url)
            numbers += [b["number"] for b in page.json()]
            nxt = [p for p in page.headers["link"].split(", ") if 'rel="next"' in p]
            url = nxt[0].split(";")[0].strip("<>") if nxt else None
        assert numbers == sorted(numbers, reverse=True) and len(set(numbers)) == len(numbers)


async def test_errors_auth_and_rate_limits_as_buildkite_answers() -> None:
    em = create_emulator(options={"rate_limit": 2, "clock": ManualClock()})
    async with _client(em, "bkua_wrong") as bad:
        refused = await bad.get("/v2/organizations/acme")
        assert refused.status_code == 401 and "API Access Token" in refused.json()["message"]
    async with _client(em) as c:
        missing = await c.get("/v2/organizations/acme/pipelines/nope")
        assert missing.status_code == 404 and missing.json() == {"message": "No pipeline found"}
        ok = await c.get("/v2/organizations/acme")
        assert ok.headers["ratelimit-limit"] == "2" and ok.headers["ratelimit-remaining"] == "0"
        assert int(ok.headers["ratelimit-reset"]) <= 60
        limited = await c.get("/v2/organizations/acme")
        assert limited.status_code == 429 and "retry-after" in limited.headers
        assert set(limited.json()) == {"message"}


async def test_logs_in_three_formats_with_ranges(demo: BuildkiteEmulator) -> None:
    build = demo.state.build_by_number(demo.state.pipeline_by_slug("widgets")["id"], 1)  # type: ignore[index]
    assert build is not None
    job = next(j for j in demo.state.jobs_of(build["id"]) if j["type"] == "script")
    path = f"{PIPE}/builds/1/jobs/{job['id']}"
    async with _client(demo) as c:
        as_json = (await c.get(f"{path}/log")).json()
        assert as_json["content"] == job["log"] and as_json["size"] == len(job["log"].encode())
        raw = await c.get(f"{path}/log.txt", headers={"Range": "bytes=0-9"})
        assert raw.status_code == 206 and raw.content == job["log"].encode()[:10]
        assert raw.headers["content-range"] == f"bytes 0-9/{len(job['log'].encode())}"
        html = await c.get(f"{path}/log", headers={"Accept": "text/html"})
        assert "term-fg32" in html.text and "\x1b" not in html.text
        waiter = next(j for j in demo.state.jobs_of(build["id"]) if j["type"] == "waiter")
        assert (await c.get(f"{PIPE}/builds/1/jobs/{waiter['id']}/log")).status_code == 404


async def test_artifact_download_redirects_to_a_signed_url(demo: BuildkiteEmulator) -> None:
    async with _client(demo) as c:
        (artifact, *_) = (await c.get(f"{PIPE}/builds/1/artifacts")).json()
        hop = await c.get(artifact["download_url"])
        assert hop.status_code == 302
        blob = await c.get(hop.headers["location"], headers={"Authorization": ""})
        assert blob.status_code == 200 and len(blob.content) == artifact["file_size"]
        forged = hop.headers["location"].rsplit("=", 1)[0] + "=0000"
        assert (await c.get(forged)).status_code == 403


async def test_cancel_rebuild_retry_and_unblock_change_state_and_notify() -> None:
    em = create_emulator(seed="demo", options={"clock": ManualClock()})
    received: list[tuple[dict[str, str], bytes]] = []

    async def receiver(scope: Any, receive: Any, send: Any) -> None:
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        received.append(({k.decode(): v.decode() for k, v in scope["headers"]}, body))
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    em.webhooks.subscribe_service(secret="sig-secret", mode="signature", app=receiver)
    em.webhooks.subscribe_service(secret="tok-secret", mode="token", app=receiver)
    widgets = em.state.pipeline_by_slug("widgets")
    assert widgets is not None
    state = em.state
    running = state.builds.filter(pipeline_id=widgets["id"], state="running")[0]
    finished = state.builds.filter(pipeline_id=widgets["id"], state="passed")[0]
    blocked = state.builds.filter(pipeline_id=widgets["id"], state="blocked")[0]
    failed = state.builds.filter(pipeline_id=widgets["id"], state="failed")[-1]
    async with _client(em) as c:
        canceled = await c.put(f"{PIPE}/builds/{running['number']}/cancel")
        assert canceled.json()["state"] == "canceled"
        again = await c.put(f"{PIPE}/builds/{finished['number']}/cancel")
        assert again.status_code == 422 and "message" in again.json()
        rebuilt = (await c.put(f"{PIPE}/builds/{finished['number']}/rebuild")).json()
        assert rebuilt["rebuilt_from"]["number"] == finished["number"]
        assert rebuilt["number"] > finished["number"] and rebuilt["commit"] == finished["commit"]
        bad = next(j for j in state.jobs_of(failed["id"]) if j["state"] == "failed")
        retry = (await c.put(f"{PIPE}/builds/{failed['number']}/jobs/{bad['id']}/retry")).json()
        assert retry["retry_source"] == {"job_id": bad["id"], "retry_type": "manual"}
        assert state.jobs.get(bad["id"])["retried_in_job_id"] == retry["id"]  # type: ignore[index]
        gate = next(j for j in state.jobs_of(blocked["id"]) if j["type"] == "manual")
        opened = await c.put(
            f"{PIPE}/builds/{blocked['number']}/jobs/{gate['id']}/unblock",
            json={"fields": {"notes": "ship it"}},
        )
        assert opened.json()["state"] == "unblocked" and opened.json()["unblocked_by"]
        assert (
            await c.put(f"{PIPE}/builds/{blocked['number']}/jobs/{gate['id']}/unblock")
        ).status_code == 422
    await em.webhooks.flush()
    events = [h["x-buildkite-event"] for h, _ in received]
    assert {"build.finished", "build.scheduled", "job.scheduled", "job.activated"} <= set(events)
    now = em.clock().timestamp()
    for headers, body in received:
        assert ("x-buildkite-signature" in headers) != ("x-buildkite-token" in headers)
        assert headers["user-agent"] == "Buildkite-Request"
        secret = "sig-secret" if "x-buildkite-signature" in headers else "tok-secret"
        WEBHOOKS.scheme.verify(body, headers, [Secret(secret)], now=now)
        with pytest.raises(WebhookSignatureError):
            WEBHOOKS.scheme.verify(body + b" ", headers, [Secret(secret)], now=now) if (
                "x-buildkite-signature" in headers
            ) else WEBHOOKS.scheme.verify(body, headers, [Secret("other")], now=now)
        assert json.loads(body)["event"] == headers["x-buildkite-event"]


async def test_webhook_service_registration_endpoint_pings() -> None:
    em = create_emulator(options={"clock": ManualClock()})
    async with _client(em) as c:
        made = await c.post(
            "/_emulator/webhooks",
            json={"url": "http://receiver.test/bk", "token": "t0k", "mode": "token"},
        )
        assert made.status_code == 201
        refused = await c.post("/_emulator/webhooks", json={"url": "x", "mode": "both"})
        assert refused.status_code == 422
    (ping,) = em.webhooks.deliveries
    assert ping.event == "ping" and ping.payload["service"]["settings"]["url"].endswith("/bk")
    assert ping.headers["x-buildkite-token"] == "t0k"
    assert "t0k" not in json.dumps(ping.safe_headers)


async def test_cluster_tokens_are_shown_once_and_kept_as_digests() -> None:
    em = create_emulator(options={"clock": ManualClock()})
    cluster = em.state.clusters.all()[0]["id"]
    async with _client(em) as c:
        made = await c.post(
            f"/v2/organizations/acme/clusters/{cluster}/tokens",
            json={"description": "ci", "expires_at": "2030-01-01T00:00:00Z"},
        )
        assert made.status_code == 201
        value = made.json()["token"]
        listed = (await c.get(f"/v2/organizations/acme/clusters/{cluster}/tokens")).json()
    assert "token" not in listed[0]
    assert value not in json.dumps(em.state.tokens.all())
