"""HTTP status -> typed error mapping, and adapters refining it."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from kradle_providers.errors import (
    AuthenticationError,
    Conflict,
    InvalidInput,
    KradleError,
    NotFound,
    PermissionDenied,
    PreconditionFailed,
    ProviderError,
    RateLimited,
    TransientProviderError,
)
from kradle_providers.http import (
    BudgetRegistry,
    FakeClock,
    HttpClient,
    ProviderRejectedInput,
    Response,
    RetryPolicy,
    map_error_response,
    missing_scope_from,
)


def response(status: int, body: Any = None, headers: dict[str, str] | None = None) -> Response:
    content = b"" if body is None else httpx.Response(status, json=body).content
    return Response(
        method="POST",
        url="https://api.example.test/things",
        status_code=status,
        headers=httpx.Headers(headers or {}),
        content=content,
    )


@pytest.mark.parametrize("status", [400, 422])
def test_invalid_input_keeps_the_provider_body(status: int) -> None:
    error = map_error_response(response(status, {"message": "Validation Failed"}), "prov")
    assert isinstance(error, ProviderRejectedInput)
    assert isinstance(error, InvalidInput) and isinstance(error, ProviderError)
    assert error.status == status
    assert error.native == {"message": "Validation Failed"}
    assert "Validation Failed" in str(error) and str(error).startswith("[prov]")


def test_each_status_maps_to_its_type() -> None:
    cases: list[tuple[int, dict[str, str], type[KradleError]]] = [
        (401, {}, AuthenticationError),
        (403, {}, PermissionDenied),
        (403, {"Retry-After": "10"}, RateLimited),
        (404, {}, NotFound),
        (409, {}, Conflict),
        (412, {}, PreconditionFailed),
        (429, {}, RateLimited),
        (500, {}, TransientProviderError),
        (503, {}, TransientProviderError),
        (418, {}, ProviderRejectedInput),
    ]
    for status, headers, expected in cases:
        error = map_error_response(response(status, {"m": 1}, headers), "prov")
        assert type(error) is expected, status


def test_precondition_carries_current_version() -> None:
    error = map_error_response(response(412, headers={"ETag": '"abc"'}), "p")
    assert isinstance(error, PreconditionFailed)
    assert error.current_version == '"abc"'
    conflict = map_error_response(response(409, headers={"ETag": '"def"'}), "p")
    assert isinstance(conflict, Conflict) and conflict.current_version == '"def"'


def test_missing_scope_from_oauth_scope_headers() -> None:
    error = map_error_response(
        response(403, headers={"X-Accepted-OAuth-Scopes": "repo", "X-OAuth-Scopes": "read:org"}),
        "p",
    )
    assert isinstance(error, PermissionDenied)
    assert error.missing_scope == "repo"
    assert "missing scope: repo" in str(error)


def test_missing_scope_variants() -> None:
    assert (
        missing_scope_from(
            httpx.Headers(
                {"X-Accepted-OAuth-Scopes": "repo, public_repo", "X-OAuth-Scopes": "gist"}
            )
        )
        == "public_repo or repo"
    )
    # A granted accepted scope means the problem is elsewhere.
    assert (
        missing_scope_from(
            httpx.Headers({"X-Accepted-OAuth-Scopes": "repo", "X-OAuth-Scopes": "repo, gist"})
        )
        is None
    )
    assert (
        missing_scope_from(
            httpx.Headers(
                {"WWW-Authenticate": 'Bearer realm="x", error="insufficient_scope", scope="api"'}
            )
        )
        == "api"
    )
    # Vendor-specific headers are the provider plugin's to read, not core's.
    assert missing_scope_from(httpx.Headers({"X-Accepted-Acme-Permissions": "x=write"})) is None
    assert missing_scope_from(httpx.Headers()) is None


def test_rate_limited_mapping_has_reset_and_scope() -> None:
    error = map_error_response(
        response(
            403,
            {"message": "API rate limit exceeded"},
            {
                "X-RateLimit-Remaining": "0",
                "X-RateLimit-Limit": "60",
                "X-RateLimit-Reset": "1700003600",
                "X-RateLimit-Resource": "core",
            },
        ),
        "p",
    )
    assert isinstance(error, RateLimited)
    assert error.scope == "core"
    assert error.reset_at is not None and error.reset_at.timestamp() == 1700003600


async def test_adapter_mapper_refines_the_default() -> None:
    class Archived(ProviderError):
        pass

    def mapper(resp: Response, provider: str) -> KradleError:
        body = resp.json()
        if resp.status_code == 403 and isinstance(body, dict) and body.get("archived"):
            return Archived("repository is archived; unarchive it first", provider=provider)
        return map_error_response(resp, provider)

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/archived":
            return httpx.Response(403, json={"archived": True})
        return httpx.Response(404)

    client = HttpClient(
        "https://api.example.test",
        provider="p",
        transport=httpx.MockTransport(handler),
        clock=FakeClock(),
        budgets=BudgetRegistry(),
        error_mapper=mapper,
        retry=RetryPolicy(max_attempts=1),
    )
    with pytest.raises(Archived):
        await client.get("/archived")
    with pytest.raises(NotFound, match="does not exist"):
        await client.get("/gone")
