"""Adapter behaviour over a scripted transport (responses shaped per GitHub's REST docs).

These pin down transport-level behaviour exactly (which requests are sent,
in what order) independently of the emulator.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from kradle_provider_github.adapter import GitHubAdapter
from kradle_provider_github.mapping import MappingError

from kradle_providers.auth import Secret
from kradle_providers.errors import AuthenticationError, KradleError, NotFound, RateLimited
from kradle_providers.http import BudgetRegistry
from kradle_providers.models import SKIPPED, ExternalRef, IssueCreate
from kradle_providers.plugins.spec import ProviderConfig
from kradle_providers.protocols.page import collect

REPO = ExternalRef(owner="acme", repository="widgets")
CANARY = "ghp_canaryCANARYcanary0123456789abcd"


def _issue(number: int, *, pr: bool = False, body: str | None = None) -> dict[str, Any]:
    base = "https://api.github.com/repos/acme/widgets"
    item: dict[str, Any] = {
        "id": 1000 + number,
        "node_id": f"I_{number}",
        "number": number,
        "title": f"issue {number}",
        "body": body,
        "state": "open",
        "state_reason": None,
        "labels": [],
        "assignee": None,
        "assignees": [],
        "milestone": None,
        "comments": 0,
        "locked": False,
        "user": {"login": "octocat", "id": 1},
        "url": f"{base}/issues/{number}",
        "html_url": f"https://github.com/acme/widgets/issues/{number}",
        "created_at": f"2024-01-01T00:00:{number % 60:02d}Z",
        "updated_at": f"2024-01-02T00:00:{number % 60:02d}Z",
        "closed_at": None,
    }
    if pr:
        item["pull_request"] = {
            "url": f"{base}/pulls/{number}",
            "html_url": f"https://github.com/acme/widgets/pull/{number}",
        }
    return item


Handler = Callable[[httpx.Request], httpx.Response]


def _adapter(handler: Handler, **kwargs: Any) -> GitHubAdapter:
    options = kwargs.pop("options", {})
    adapter = GitHubAdapter.from_config(
        ProviderConfig(
            auth=Secret(kwargs.pop("token", CANARY)),
            transport=httpx.MockTransport(handler),
            options=options,
            **kwargs,
        )
    )
    adapter.http.budgets = BudgetRegistry()
    return adapter


async def test_list_issues_pages_per_100_and_drops_pull_requests() -> None:
    issues = [_issue(n, pr=n % 5 == 0) for n in range(1, 251)]
    seen: list[httpx.URL] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.url)
        page = int(request.url.params.get("page", "1"))
        per_page = int(request.url.params["per_page"])
        chunk = issues[(page - 1) * per_page : page * per_page]
        headers = {}
        if page * per_page < len(issues):
            nxt = request.url.copy_merge_params({"page": str(page + 1)})
            headers["Link"] = f'<{nxt}>; rel="next"'
        return httpx.Response(200, json=chunk, headers=headers)

    async with _adapter(handler) as adapter:
        got = await collect(lambda c: adapter.list_issues(REPO, cursor=c))
    assert len(seen) == 3  # ceil(250 / 100)
    assert all(u.params["per_page"] == "100" for u in seen)
    assert all(u.params["state"] == "all" for u in seen)
    numbers = [int(i.external.native_number or 0) for i in got]
    assert numbers == [n for n in range(1, 251) if n % 5 != 0]
    assert all(i.pull_request is None for i in got)


async def test_get_issue_on_pr_number_links_the_pull_request() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=_issue(10, pr=True))

    async with _adapter(handler) as adapter:
        issue = await adapter.get_issue(REPO, "10")
    assert issue.pull_request is not None
    assert issue.pull_request.kind == "PullRequest"
    assert issue.pull_request.native_number == "10"


async def test_lost_create_is_recovered_by_read_back_not_resent() -> None:
    created: list[dict[str, Any]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        if request.method == "POST":
            payload = json.loads(request.content)
            item = _issue(len(created) + 1, body=payload.get("body"))
            item["title"] = payload["title"]
            created.append(item)
            if len(created) == 1:
                # GitHub created it, but the response never arrives.
                raise httpx.RemoteProtocolError("connection dropped", request=request)
            return httpx.Response(201, json=item)
        assert request.url.params["sort"] == "created"
        assert request.url.params["direction"] == "desc"
        return httpx.Response(200, json=list(reversed(created)))

    async with _adapter(handler) as adapter:
        issue = await adapter.create_issue(
            REPO, IssueCreate(title="once", body="hello"), idempotency_key="key-1"
        )
    assert len(created) == 1
    assert issue.title == "once"
    assert issue.body is not None
    # The key travels in the stored body; hosts read the body they wrote.
    assert issue.body.source == "hello\n\n<!-- kradle-idempotency-key: key-1 -->"
    assert issue.body.markdown == "hello"


async def test_job_log_follows_redirect_streams_lazily_and_redacts() -> None:
    token = Secret("s3cr3t-deploy-token-value")
    requests: list[str] = []
    text = f"step 1\nusing {token.reveal()} now\nlast line without newline"

    def handler(request: httpx.Request) -> httpx.Response:
        requests.append(request.url.path)
        if request.url.path.endswith("/logs"):
            return httpx.Response(
                302, headers={"Location": "https://logs.example.test/job/7.txt?sig=abc"}
            )
        assert "authorization" not in request.headers  # not leaked to the download host
        return httpx.Response(200, text=text, headers={"content-type": "text/plain"})

    async with _adapter(handler) as adapter:
        stream = adapter.get_job_log(REPO, "7")
        assert requests == []  # nothing fetched before the first chunk
        lines = [line async for line in stream]
    assert requests == ["/repos/acme/widgets/actions/jobs/7/logs", "/job/7.txt"]
    assert lines[0] == "step 1\n"
    assert token.reveal() not in "".join(lines)
    assert "***" in lines[1]
    assert lines[-1] == "last line without newline"


async def test_enterprise_server_urls() -> None:
    hosts: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        hosts.append(str(request.url))
        if request.url.path == "/api/graphql":
            return httpx.Response(
                200,
                json={
                    "data": {
                        "repository": {
                            "pullRequests": {
                                "pageInfo": {"hasNextPage": False, "endCursor": None},
                                "nodes": [],
                            }
                        }
                    }
                },
            )
        return httpx.Response(200, json=_issue(1))

    async with _adapter(handler, api_base_url="https://ghe.example.com/api/v3") as adapter:
        await adapter.get_issue(REPO, "1")
        assert await adapter.hydrate_reviews(REPO) == {}
    assert hosts[0] == "https://ghe.example.com/api/v3/repos/acme/widgets/issues/1"
    assert hosts[1] == "https://ghe.example.com/api/graphql"


async def test_rate_limit_raise_mode() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            403,
            json={"message": "API rate limit exceeded for user ID 1."},
            headers={
                "X-RateLimit-Limit": "5000",
                "X-RateLimit-Remaining": "0",
                "X-RateLimit-Reset": "4102444800",
                "X-RateLimit-Resource": "core",
            },
        )

    async with _adapter(handler, options={"on_rate_limit": "raise"}) as adapter:
        with pytest.raises(RateLimited) as info:
            await adapter.get_issue(REPO, "1")
    assert info.value.reset_at is not None


async def test_canary_token_never_in_errors_or_logs(caplog: pytest.LogCaptureFixture) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        assert request.headers["authorization"] == f"token {CANARY}"
        if request.url.path.endswith("/issues/1"):
            # A hostile/buggy body echoing the credential back.
            return httpx.Response(401, json={"message": f"Bad credentials {CANARY}"})
        return httpx.Response(404, json={"message": "Not Found"})

    caplog.set_level(logging.DEBUG)
    async with _adapter(handler) as adapter:
        with pytest.raises(AuthenticationError) as auth_error:
            await adapter.get_issue(REPO, "1")
        with pytest.raises(NotFound) as not_found:
            await adapter.get_issue(REPO, "2")
        text = " ".join(
            [
                str(auth_error.value),
                repr(auth_error.value.native),
                str(not_found.value),
                repr(adapter),
                repr(adapter.config),
                caplog.text,
            ]
        )
    assert CANARY not in text
    assert "private" in str(not_found.value)


async def test_an_item_that_does_not_map_is_skipped_and_reported_not_sinking_the_page() -> None:
    old_label = {"name": "bug", "color": "d73a4a", "url": "https://api.github.com/x/labels/bug"}
    broken = _issue(2)
    broken["labels"] = "bug"  # not an array: this issue cannot be mapped
    with_old_label = _issue(3)
    with_old_label["labels"] = [old_label]

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=[_issue(1), broken, with_old_label])

    async with _adapter(handler) as adapter:
        page = await adapter.list_issues(REPO)
    assert [i.external.native_number for i in page.items] == ["1", "3"]
    (skipped,) = page.extra[SKIPPED]
    assert isinstance(skipped, MappingError) and isinstance(skipped, KradleError)
    assert skipped.field == "labels"
    assert page.items[1].labels == ["bug"]  # an old-shape label (no id) still maps


async def test_labels_without_id_list_with_a_warning() -> None:
    api = "https://api.github.com/repos/acme/widgets/labels"
    labels = [
        {"id": 7, "node_id": "LA_7", "name": "bug", "color": "d73a4a", "url": f"{api}/bug"},
        {"name": "legacy", "color": "ededed", "url": f"{api}/legacy"},
        {"id": 9, "color": "ffffff"},  # no name: nothing identifies it
    ]

    async with _adapter(lambda request: httpx.Response(200, json=labels)) as adapter:
        page = await adapter.list_labels(REPO)
    assert [(label.name, label.external.native_id) for label in page.items] == [
        ("bug", "7"),
        ("legacy", "legacy"),
    ]
    assert page.items[0].external.warnings == []
    assert [w.field for w in page.items[1].external.warnings] == ["id"]
    assert [e.field for e in page.extra[SKIPPED]] == ["name"]
