"""Adapter pieces that need no emulator: URLs, auth, options, errors, markers, bodies."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import httpx
import pytest
from kradle_provider_github.adapter.cicd import check_run_fields
from kradle_provider_github.adapter.client import (
    GitHubOptions,
    auth_from_config,
    derive_urls,
    github_error_mapper,
    precondition,
)
from kradle_provider_github.adapter.forge import key_material, protection_body
from kradle_provider_github.adapter.graphql import review_node_to_rest

from kradle_providers.auth import (
    BearerAuth,
    OAuthUserAuth,
    PersonalTokenAuth,
    Secret,
)
from kradle_providers.errors import InvalidInput, NotFound, PermissionDenied, PreconditionFailed
from kradle_providers.http import ProviderRejectedInput, Response
from kradle_providers.models import BranchProtectionSpec, CheckInput
from kradle_providers.models.status import PipelineState

# -- base URLs ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("base", "rest", "graphql"),
    [
        (None, "https://api.github.com", "https://api.github.com/graphql"),
        ("https://api.github.com/", "https://api.github.com", "https://api.github.com/graphql"),
        (
            "https://ghe.example.com/api/v3",
            "https://ghe.example.com/api/v3",
            "https://ghe.example.com/api/graphql",
        ),
        (
            "https://ghe.example.com/api/v3/",
            "https://ghe.example.com/api/v3",
            "https://ghe.example.com/api/graphql",
        ),
        (
            "http://127.0.0.1:8080/prefix/api/v3",
            "http://127.0.0.1:8080/prefix/api/v3",
            "http://127.0.0.1:8080/prefix/api/graphql",
        ),
        ("http://emulator", "http://emulator", "http://emulator/graphql"),
    ],
)
def test_derive_urls(base: str | None, rest: str, graphql: str) -> None:
    assert derive_urls(base) == (rest, graphql)


@pytest.mark.parametrize("bad", ["ghe.example.com/api/v3", "ftp://x/api/v3", "https://"])
def test_derive_urls_refuses_non_http(bad: str) -> None:
    with pytest.raises(InvalidInput, match="api_base_url"):
        derive_urls(bad)


# -- auth -------------------------------------------------------------------------


def test_auth_from_config_token_forms() -> None:
    assert auth_from_config(None) is None
    assert isinstance(auth_from_config("ghp_abc"), PersonalTokenAuth)
    assert isinstance(auth_from_config(Secret("ghp_abc")), PersonalTokenAuth)
    oauth = OAuthUserAuth("gho_abc")
    assert auth_from_config(oauth) is oauth
    bearer = BearerAuth("x")
    assert auth_from_config(bearer) is bearer


def test_auth_from_config_refuses_other_objects() -> None:
    with pytest.raises(InvalidInput, match="auth scheme"):
        auth_from_config(42)


# -- options ------------------------------------------------------------------------


def test_options_defaults_and_validation() -> None:
    opts = GitHubOptions.from_mapping({})
    assert opts.page_size == 100
    assert opts.on_rate_limit == "wait"
    assert GitHubOptions.from_mapping({"page_size": 7, "on_rate_limit": "raise"}).page_size == 7
    with pytest.raises(InvalidInput, match="page_size"):
        GitHubOptions.from_mapping({"page_size": 101})
    with pytest.raises(InvalidInput, match="on_rate_limit"):
        GitHubOptions.from_mapping({"on_rate_limit": "sometimes"})
    with pytest.raises(InvalidInput, match="unknown GitHub option"):
        GitHubOptions.from_mapping({"pagesize": 10})


# -- errors -------------------------------------------------------------------------


def _response(status: int, body: object, method: str = "GET") -> Response:
    return Response(
        method=method,
        url="https://api.github.com/repos/acme/secret",
        status_code=status,
        headers=httpx.Headers({"content-type": "application/json"}),
        content=json.dumps(body).encode(),
    )


def test_404_explains_private_repositories() -> None:
    error = github_error_mapper(
        _response(404, {"message": "Not Found", "documentation_url": "x"}), "github"
    )
    assert isinstance(error, NotFound)
    assert "private" in str(error)


def test_403_names_the_app_permission_github_asks_for() -> None:
    response = _response(403, {"message": "Resource not accessible by integration"})
    response.headers["X-Accepted-GitHub-Permissions"] = "issues=write"
    error = github_error_mapper(response, "github")
    assert isinstance(error, PermissionDenied)
    assert error.missing_scope == "issues=write"
    assert "missing scope: issues=write" in str(error)


def test_422_names_the_field() -> None:
    body = {
        "message": "Validation Failed",
        "errors": [{"resource": "Label", "field": "name", "code": "already_exists"}],
    }
    error = github_error_mapper(_response(422, body, "POST"), "github")
    assert isinstance(error, ProviderRejectedInput)
    assert error.field == "name"
    assert "already_exists" in str(error)


# -- preconditions ------------------------------------------------------------------


def test_precondition_with_etag() -> None:
    precondition('W/"abc"', '"abc"', None, "issue #1")
    with pytest.raises(PreconditionFailed) as info:
        precondition('W/"abc"', 'W/"def"', None, "issue #1")
    assert info.value.current_version == 'W/"def"'


def test_precondition_with_updated_at() -> None:
    now = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
    precondition("2024-05-01T12:00:00Z", None, now, "issue #1")
    with pytest.raises(PreconditionFailed) as info:
        precondition("2024-05-01T11:00:00Z", None, now, "issue #1")
    assert info.value.current_version == now.isoformat()
    with pytest.raises(InvalidInput):
        precondition("yesterday", None, now, "issue #1")


# -- request bodies -----------------------------------------------------------------


def test_protection_body_is_full_and_consistent() -> None:
    body = protection_body(
        BranchProtectionSpec(
            required_approving_reviews=2,
            required_status_checks=["ci/test"],
            strict_status_checks=True,
            enforce_admins=True,
        )
    )
    assert set(body) >= {
        "required_status_checks",
        "enforce_admins",
        "required_pull_request_reviews",
        "restrictions",
    }
    assert body["required_status_checks"] == {"strict": True, "contexts": ["ci/test"]}
    assert body["required_pull_request_reviews"]["required_approving_review_count"] == 2
    empty = protection_body(BranchProtectionSpec())
    assert empty["required_status_checks"] is None
    assert empty["required_pull_request_reviews"] is None
    # A review setting without a count still needs the reviews rule.
    dismiss = protection_body(BranchProtectionSpec(dismiss_stale_reviews=True))
    assert dismiss["required_pull_request_reviews"]["required_approving_review_count"] == 0


def test_key_material_ignores_comment() -> None:
    assert key_material("ssh-ed25519 AAAAC3Nz me@host") == "ssh-ed25519 AAAAC3Nz"
    assert key_material("  ssh-rsa AAAB  ") == "ssh-rsa AAAB"


@pytest.mark.parametrize(
    ("state", "status", "conclusion"),
    [
        (PipelineState.QUEUED, "queued", None),
        (PipelineState.RUNNING, "in_progress", None),
        (PipelineState.SUCCEEDED, "completed", "success"),
        (PipelineState.FAILED, "completed", "failure"),
        (PipelineState.CANCELLED, "completed", "cancelled"),
        (PipelineState.TIMED_OUT, "completed", "timed_out"),
    ],
)
def test_check_run_fields(state: PipelineState, status: str, conclusion: str | None) -> None:
    fields = check_run_fields(CheckInput(name="lint", sha="a" * 40, state=state, summary="ok"))
    assert fields["status"] == status
    assert fields.get("conclusion") == conclusion
    assert fields["output"] == {"title": "lint", "summary": "ok"}


def test_review_node_to_rest_shape() -> None:
    rest = review_node_to_rest(
        {
            "databaseId": 7,
            "id": "PRR_x",
            "state": "APPROVED",
            "body": "lgtm",
            "submittedAt": "2024-01-01T00:00:00Z",
            "commit": {"oid": "f" * 40},
            "author": {"login": "octocat"},
            "url": "https://github.com/acme/widgets/pull/3#pullrequestreview-7",
        },
        pull_number=3,
        repo_api_url="https://api.github.com/repos/acme/widgets",
    )
    assert rest["id"] == 7
    assert rest["node_id"] == "PRR_x"
    assert rest["user"] == {"login": "octocat"}
    assert rest["commit_id"] == "f" * 40
    assert rest["pull_request_url"].endswith("/pulls/3")
