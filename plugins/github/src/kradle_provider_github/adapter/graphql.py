"""GraphQL where it saves requests: bulk hydration of pull-request reviews.

Over REST, reviews are listed per pull request (``GET /pulls/{n}/reviews``):
a backfill of N pull requests costs at least N requests. One GraphQL query
returns the reviews of up to 100 pull requests, so the same backfill costs
``ceil(N / 100)`` requests (plus one REST listing for any pull request with
more than 100 reviews). ``benchmarks/backfill_peers.py`` times the shipped backfill
against PyGithub and githubkit reading every review over REST.

GraphQL review nodes are rewritten into the REST review shape so the one
native->canonical mapping (:mod:`kradle_provider_github.mapping`) serves both.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kradle_providers.errors import PermissionDenied, ProviderError
from kradle_providers.http import HttpClient

__all__ = [
    "REVIEWS_PAGE_SIZE",
    "REVIEWS_QUERY",
    "graphql_request",
    "review_node_to_rest",
]

#: The most pull requests (and reviews per pull request) one query returns.
REVIEWS_PAGE_SIZE = 100

REVIEWS_QUERY = """
query KradleReviews($owner: String!, $name: String!, $first: Int!, $after: String) {
  rateLimit { cost remaining resetAt }
  repository(owner: $owner, name: $name) {
    pullRequests(first: $first, after: $after, orderBy: {field: UPDATED_AT, direction: ASC}) {
      pageInfo { hasNextPage endCursor }
      nodes {
        number
        databaseId
        reviews(first: 100) {
          nodes {
            databaseId
            id
            state
            body
            submittedAt
            commit { oid }
            author { login }
            url
          }
        }
      }
    }
  }
}
"""


async def graphql_request(
    http: HttpClient, url: str, query: str, variables: Mapping[str, Any]
) -> Any:
    """POST a query; return ``data`` or raise a typed error naming GitHub's messages.

    GraphQL answers 200 even for failed queries; errors come in ``errors``.
    Queries are reads, so re-sending after a lost response is safe
    (``idempotency_key`` marks it resendable; no header is sent).
    """
    response = await http.request(
        "POST",
        url,
        json={"query": query, "variables": dict(variables)},
        idempotency_key="graphql-read",
        budget_scope="graphql",
    )
    body = response.json()
    if not isinstance(body, Mapping):
        raise ProviderError(
            "GitHub GraphQL returned a non-object body; check the GraphQL URL "
            "(https://HOST/api/graphql on Enterprise Server)",
            provider="github",
            status=response.status_code,
        )
    errors = body.get("errors")
    if errors:
        messages = "; ".join(
            str(e.get("message", e)) if isinstance(e, Mapping) else str(e) for e in errors
        )
        types = {e.get("type") for e in errors if isinstance(e, Mapping)}
        if "FORBIDDEN" in types or "INSUFFICIENT_SCOPES" in types:
            raise PermissionDenied(
                f"GitHub GraphQL refused the query: {messages}",
                provider="github",
                status=response.status_code,
                native=body,
            )
        raise ProviderError(
            f"GitHub GraphQL query failed: {messages}. The query or its variables are "
            "wrong for this GitHub version.",
            provider="github",
            status=response.status_code,
            native=body,
        )
    return body.get("data")


def review_node_to_rest(
    node: Mapping[str, Any], *, pull_number: int, repo_api_url: str
) -> dict[str, Any]:
    """A GraphQL ``PullRequestReview`` node in the REST review shape."""
    author = node.get("author")
    commit = node.get("commit")
    return {
        "id": node.get("databaseId"),
        "node_id": node.get("id"),
        "user": {"login": author.get("login")} if isinstance(author, Mapping) else None,
        "body": node.get("body") or "",
        "state": node.get("state"),
        "html_url": node.get("url"),
        "pull_request_url": f"{repo_api_url}/pulls/{pull_number}",
        "submitted_at": node.get("submittedAt"),
        "commit_id": commit.get("oid") if isinstance(commit, Mapping) else None,
    }
