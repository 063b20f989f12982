"""The GitLab adapter against the emulator: what GitLab does differently, end to end.

Ids vs iids, keyset paging over the whole seeded project, self-managed base
paths, PRIVATE-TOKEN and OAuth, scopes, rate limits, error bodies, cleaned and
redacted job logs with sections, and signed hook deliveries to a registered URL.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from kradle_provider_gitlab.adapter import GitLabAdapter
from kradle_provider_gitlab.emulator import DEMO_COUNTS, GitLabEmulator, create_emulator
from kradle_provider_gitlab.normalizers import NORMALIZERS
from kradle_provider_gitlab.webhooks import WEBHOOKS

from kradle_providers.auth import BearerAuth, Secret
from kradle_providers.clock import SkippingClock
from kradle_providers.errors import NotFound, PermissionDenied, RateLimited, WebhookSignatureError
from kradle_providers.http import ProviderRejectedInput
from kradle_providers.models import ExternalRef, IssueCreate, ProviderRef, RepositoryCreate
from kradle_providers.protocols.page import collect
from kradle_providers.testing.harness import Fault
from kradle_providers.webhooks.normalizer import NormalizeContext

SCOPE = ExternalRef(owner="acme/platform", repository="widgets")


def adapter_for(emulator: GitLabEmulator, auth: Any = None, **options: Any) -> GitLabAdapter:
    from kradle_providers.plugins.spec import ProviderConfig

    return GitLabAdapter.from_config(
        ProviderConfig(
            api_base_url=options.pop("api_base_url", emulator.api_base_url),
            auth=auth if auth is not None else Secret(emulator.token),
            transport=emulator.transport(),
            options={"clock": SkippingClock(), **options},
        )
    )


@pytest.fixture(scope="module")
def demo() -> GitLabEmulator:
    return create_emulator(seed="demo")


@pytest.fixture
async def gl(demo: GitLabEmulator) -> AsyncIterator[GitLabAdapter]:
    demo.reset()
    adapter = adapter_for(demo)
    yield adapter
    await adapter.aclose()


async def test_issues_page_by_keyset_and_are_addressed_by_iid(
    demo: GitLabEmulator, gl: GitLabAdapter
) -> None:
    issues = await collect(lambda c: gl.list_issues(SCOPE, cursor=c, page_size=100))
    assert len(issues) == DEMO_COUNTS["issues"]
    assert len({i.external.native_id for i in issues}) == len(issues)
    paged = [r for r in demo.requests if r.path.endswith("/issues")]
    assert paged and all("pagination=keyset" in r.query for r in paged)
    first = issues[0]
    assert first.external.native_number == "1" and first.external.native_id != "1"
    again = await gl.get_issue(SCOPE, "1")
    assert again.external.native_id == first.external.native_id
    assert {i.status.native for i in issues} == {"opened", "closed"}
    assert any(i.body is None for i in issues)
    assert any(i.external.extensions.fields.get("confidential") for i in issues)


async def test_comments_events_and_system_notes(demo: GitLabEmulator, gl: GitLabAdapter) -> None:
    closed = next(i for i in demo.state.issues if i["state"] == "closed")
    iid = str(closed["iid"])
    comments = await collect(lambda c: gl.list_comments(SCOPE, issue_id=iid, cursor=c))
    user_notes = [n for n in demo.state.notes_of(closed, "Issue") if not n["system"]]
    assert [c.external.native_id for c in comments] == [
        f"issues/{iid}/notes/{n['id']}" for n in user_notes
    ]
    events = await collect(lambda c: gl.list_issue_events(SCOPE, issue_id=iid, cursor=c))
    kinds = {e.external.native_kind for e in events}
    assert {"resource_state_event", "system_note"} <= kinds
    assert any(e.event_type == "closed" for e in events)
    edited = await gl.update_comment(SCOPE, comments[0].external.native_id, "Edited **text**")
    assert edited.body.markdown == "Edited **text**"


async def test_merge_requests_in_every_state_and_approvals(gl: GitLabAdapter) -> None:
    prs = await collect(lambda c: gl.list_pull_requests(SCOPE, cursor=c))
    assert len(prs) == DEMO_COUNTS["merge_requests"]
    assert {p.status.state for p in prs} == {"open", "draft", "closed", "merged"}
    approved = next(p for p in prs if p.external.native_number == "1")
    reviews = (await gl.list_reviews(SCOPE, "1")).items
    assert len(reviews) == 1 and reviews[0].state == "approved"
    assert reviews[0].pull_request.native_id == approved.external.native_id


async def test_job_log_is_clean_redacted_and_sectioned(
    demo: GitLabEmulator, gl: GitLabAdapter
) -> None:
    canary = Secret("glpat-canary-job-log-0001")
    pipeline = demo.state.pipelines.all()[0]
    job = demo.state.add_job(
        pipeline,
        name="leaky",
        stage="test",
        status="success",
        trace=(
            "section_start:1767225600:step_script\r\x1b[0K\x1b[36;1mStep\x1b[0;m\n"
            f"\x1b[32;1m$ curl -H 'PRIVATE-TOKEN: {canary.reveal()}'\x1b[0;m\n"
            "section_end:1767225660:step_script\r\x1b[0K\n"
            "\x1b[32;1mJob succeeded\x1b[0;m\n"
        ),
    )
    lines = [line async for line in gl.get_job_log(SCOPE, str(job["id"]))]
    text = "".join(lines)
    assert "\x1b" not in text and "section_" not in text
    assert canary.reveal() not in text and "Job succeeded" in text
    log = await gl.read_job_log(SCOPE, str(job["id"]))
    assert log.text == text
    [section] = log.sections
    assert section.name == "step_script" and (section.first_line, section.last_line) == (0, 2)
    assert section.started_at == datetime.fromtimestamp(1767225600, UTC)


async def test_artifacts_runners_and_commit_statuses(
    demo: GitLabEmulator, gl: GitLabAdapter
) -> None:
    with_archive = next(j for j in demo.state.jobs if j.get("artifacts_file"))
    artifacts = await collect(
        lambda c: gl.list_artifacts(SCOPE, str(with_archive["pipeline"]["id"]), cursor=c)
    )
    assert {a.name for a in artifacts} >= {"artifacts.zip", "metadata.gz"}
    assert all(not a.name.endswith(".log") for a in artifacts)
    runners = await collect(lambda c: gl.list_runners(SCOPE, cursor=c))
    assert len(runners) == DEMO_COUNTS["runners"] + 1
    registration = await gl.register_runner(SCOPE)
    assert registration.token.reveal().startswith("glrt-")
    assert registration.token.reveal() not in repr(registration)


async def test_refs_with_slashes_and_protected_branches(gl: GitLabAdapter) -> None:
    refs = await collect(lambda c: gl.list_refs(SCOPE, cursor=c))
    names = {r.name for r in refs}
    assert {"refs/heads/main", "refs/heads/release/1.x", "refs/tags/v1.0.0"} <= names
    protection = await gl.get_branch_protection(SCOPE, "release/1.x")
    assert protection.branch == "release/1.x"
    main = await gl.get_branch_protection(SCOPE, "main")
    assert main.required_approving_reviews == 1


async def test_self_managed_prefix_and_oauth_bearer() -> None:
    emulator = create_emulator(flavor="self-managed")
    assert emulator.base_path == "/gitlab/api/v4"
    emulator.add_token("oauth-kradle-0001", ["api"], oauth=True)
    adapter = adapter_for(
        emulator,
        auth=BearerAuth(Secret("oauth-kradle-0001")),
        api_base_url=f"{emulator.base_url}/gitlab",
    )
    repo = await adapter.get_repository(SCOPE)
    assert repo.full_name == "acme/platform/widgets"
    assert all(r.credential for r in emulator.requests)
    await adapter.aclose()


async def test_read_api_token_cannot_write_and_errors_read_as_gitlab_writes_them() -> None:
    emulator = create_emulator()
    emulator.add_token("glpat-readonly-0001", ["read_api"])
    reader = adapter_for(emulator, auth=Secret("glpat-readonly-0001"))
    await reader.list_issues(SCOPE)
    with pytest.raises(PermissionDenied):
        await reader.create_issue(SCOPE, IssueCreate(title="nope"))
    with pytest.raises(NotFound, match="Project Not Found"):
        await reader.get_repository(ExternalRef(owner="acme/platform", repository="nope"))
    writer = adapter_for(emulator)
    with pytest.raises(ProviderRejectedInput) as rejected:
        await writer.create_repository(
            ExternalRef(owner="acme/platform"),
            RepositoryCreate(name="widgets"),
        )
    assert rejected.value.field is not None
    await reader.aclose()
    await writer.aclose()


async def test_rate_limit_headers_and_429() -> None:
    emulator = create_emulator(options={"rate_limit": "2"})
    adapter = adapter_for(emulator, on_rate_limit="raise")
    for n in range(2):  # writes are never answered 304: each one is charged
        await adapter.create_issue(SCOPE, IssueCreate(title=f"Issue {n}"))
    first = emulator.requests[0].response_headers
    assert first["ratelimit-limit"] == "2" and first["ratelimit-remaining"] == "1"
    assert "ratelimit-resettime" in first
    # The adapter read RateLimit-Remaining: 0 and refuses before sending a doomed request.
    with pytest.raises(RateLimited, match="exhausted"):
        await adapter.create_issue(SCOPE, IssueCreate(title="one too many"))
    assert len(emulator.requests) == 2
    await adapter.aclose()
    # A 429 with Retry-After (GitLab's answer) is waited out and retried.
    other = create_emulator()
    other.control.inject_fault(Fault.RATE_LIMIT)
    waiting = adapter_for(other)
    assert (await waiting.get_repository(SCOPE)).name == "widgets"
    refused, answered = other.requests[0], other.requests[-1]
    assert refused.status == 429 and refused.response_headers["retry-after"] == "60"
    assert answered.status == 200
    await waiting.aclose()


async def test_hooks_registered_by_api_deliver_signed_payloads() -> None:
    emulator = create_emulator()
    received: list[httpx.Request] = []

    def receiver(request: httpx.Request) -> httpx.Response:
        received.append(request)
        return httpx.Response(200)

    emulator.webhooks.transport = httpx.MockTransport(receiver)
    async with emulator.client(headers={"PRIVATE-TOKEN": emulator.token}) as client:
        created = await client.post(
            "/api/v4/projects/acme%2Fplatform%2Fwidgets/hooks",
            json={
                "url": "https://hooks.example.com/gl",
                "token": "hook-secret-01",
                "issues_events": True,
            },
        )
        assert created.status_code == 201 and "token" not in created.json()
        listed = await client.get("/api/v4/projects/acme%2Fplatform%2Fwidgets/hooks")
        assert [h["url"] for h in listed.json()] == ["https://hooks.example.com/gl"]
        issue = await client.post(
            "/api/v4/projects/acme%2Fplatform%2Fwidgets/issues", json={"title": "Hooked"}
        )
        assert issue.status_code == 201
    await emulator.webhooks.flush()
    events = [r.headers["x-gitlab-event"] for r in received]
    assert events == ["Push Hook", "Issue Hook"] or events == ["Issue Hook"]
    delivery = received[-1]
    headers = {k.lower(): v for k, v in delivery.headers.items()}
    # Verified on the raw bytes, in constant time; a wrong token is refused.
    WEBHOOKS.scheme.verify(delivery.content, headers, [Secret("hook-secret-01")], now=0)
    with pytest.raises(WebhookSignatureError):
        WEBHOOKS.scheme.verify(delivery.content, headers, [Secret("other-secret")], now=0)
    context = NormalizeContext(
        provider=ProviderRef(type="gitlab"),
        event="Issue Hook",
        delivery_id=delivery.headers["x-gitlab-event-uuid"],
        headers={},
    )
    result = NORMALIZERS["Issue Hook"](context, json.loads(delivery.content))
    assert result.events[0].object_kind == "Issue" and result.events[0].action == "created"
