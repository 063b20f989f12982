"""``POST /graphql``: a subset of GitHub's GraphQL schema, executed with graphql-core.

The subset covers what bulk hydration needs (repository -> pullRequests ->
reviews, ``rateLimit``, ``viewer``), with GitHub's names, connection shapes,
cursor pagination (``first``/``after``, at most 100 per page) and error
wording, so any well-formed query over these fields works.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from graphql import GraphQLError, build_schema, graphql
from starlette.responses import Response

from kradle_provider_github.emulator.state import node_id
from kradle_providers.testing.emulator import RequestContext, Route

if TYPE_CHECKING:
    from kradle_provider_github.emulator.app import GitHubEmulator
    from kradle_provider_github.emulator.objects import Renderer

__all__ = ["SDL", "register"]

SDL = """
scalar DateTime
scalar URI
scalar GitObjectID

enum OrderDirection { ASC DESC }
enum IssueOrderField { CREATED_AT UPDATED_AT COMMENTS }
enum PullRequestState { OPEN CLOSED MERGED }
enum PullRequestReviewState { PENDING COMMENTED APPROVED CHANGES_REQUESTED DISMISSED }

input IssueOrder { field: IssueOrderField! direction: OrderDirection! }

interface Node { id: ID! }
interface Actor { login: String! avatarUrl(size: Int): URI! url: URI! }

type User implements Node & Actor {
  id: ID!
  databaseId: Int
  login: String!
  name: String
  avatarUrl(size: Int): URI!
  url: URI!
}

type Organization implements Node & Actor {
  id: ID!
  databaseId: Int
  login: String!
  name: String
  avatarUrl(size: Int): URI!
  url: URI!
}

type PageInfo {
  hasNextPage: Boolean!
  hasPreviousPage: Boolean!
  startCursor: String
  endCursor: String
}

type RateLimit {
  cost: Int!
  limit: Int!
  nodeCount: Int!
  remaining: Int!
  resetAt: DateTime!
  used: Int!
}

type Commit implements Node { id: ID! oid: GitObjectID! abbreviatedOid: String! url: URI! }

type PullRequestReview implements Node {
  id: ID!
  databaseId: Int
  state: PullRequestReviewState!
  body: String!
  submittedAt: DateTime
  createdAt: DateTime!
  updatedAt: DateTime!
  commit: Commit
  author: Actor
  url: URI!
}

type PullRequestReviewEdge { cursor: String! node: PullRequestReview }
type PullRequestReviewConnection {
  nodes: [PullRequestReview]
  edges: [PullRequestReviewEdge]
  pageInfo: PageInfo!
  totalCount: Int!
}

type PullRequest implements Node {
  id: ID!
  databaseId: Int
  number: Int!
  title: String!
  body: String!
  state: PullRequestState!
  isDraft: Boolean!
  merged: Boolean!
  mergedAt: DateTime
  closedAt: DateTime
  createdAt: DateTime!
  updatedAt: DateTime!
  url: URI!
  headRefName: String!
  baseRefName: String!
  headRefOid: GitObjectID!
  author: Actor
  reviews(first: Int, after: String, last: Int, before: String,
          states: [PullRequestReviewState!]): PullRequestReviewConnection
}

type PullRequestEdge { cursor: String! node: PullRequest }
type PullRequestConnection {
  nodes: [PullRequest]
  edges: [PullRequestEdge]
  pageInfo: PageInfo!
  totalCount: Int!
}

type Repository implements Node {
  id: ID!
  databaseId: Int
  name: String!
  nameWithOwner: String!
  url: URI!
  owner: Actor!
  pullRequest(number: Int!): PullRequest
  pullRequests(first: Int, after: String, last: Int, before: String,
               states: [PullRequestState!], orderBy: IssueOrder,
               baseRefName: String, headRefName: String): PullRequestConnection!
}

type Query {
  repository(owner: String!, name: String!, followRenames: Boolean = true): Repository
  rateLimit(dryRun: Boolean = false): RateLimit
  viewer: User!
}
"""

_SCHEMA = build_schema(SDL)
_MAX_PAGE = 100


def _cursor(offset: int) -> str:
    return base64.b64encode(f"cursor:v2:{offset}".encode()).decode()


def _offset(cursor: str | None, connection: str) -> int:
    if cursor is None:
        return 0
    try:
        raw = base64.b64decode(cursor.encode(), validate=True).decode()
        prefix, _, number = raw.rpartition(":")
        if prefix != "cursor:v2":
            raise ValueError(raw)
        return int(number) + 1
    except (ValueError, UnicodeDecodeError):
        raise GraphQLError(
            f"`{cursor}` does not appear to be a valid cursor.",
            extensions={"type": "INVALID_CURSOR_ARGUMENTS"},
        ) from None


def _connection(
    items: Sequence[Any],
    name: str,
    args: dict[str, Any],
    node: Callable[[Any], dict[str, Any]],
) -> dict[str, Any]:
    first, last = args.get("first"), args.get("last")
    if first is None and last is None:
        raise GraphQLError(
            "You must provide a `first` or `last` value to properly paginate "
            f"the `{name}` connection."
        )
    for label, value in (("first", first), ("last", last)):
        if value is not None and value > _MAX_PAGE:
            raise GraphQLError(
                f"Requesting {value} records on the `{name}` connection exceeds the "
                f"`{label}` limit of {_MAX_PAGE} records."
            )
        if value is not None and value < 0:
            raise GraphQLError(f"`{label}` on the `{name}` connection cannot be less than zero.")
    start = _offset(args.get("after"), name)
    end = len(items)
    if args.get("before") is not None:
        end = min(end, _offset(args["before"], name) - 1)
    window = list(range(start, end))
    if first is not None:
        window = window[:first]
    if last is not None:
        window = window[-last:] if last else []
    nodes = [node(items[i]) for i in window]
    return {
        "nodes": nodes,
        "edges": [{"cursor": _cursor(i), "node": n} for i, n in zip(window, nodes, strict=True)],
        "totalCount": len(items),
        "pageInfo": {
            "hasNextPage": bool(window) and window[-1] < end - 1,
            "hasPreviousPage": bool(window) and window[0] > 0,
            "startCursor": _cursor(window[0]) if window else None,
            "endCursor": _cursor(window[-1]) if window else None,
        },
    }


class GraphQLResolver:
    """Builds the lazily resolved object graph for one request."""

    def __init__(self, em: GitHubEmulator, render: Renderer) -> None:
        self.em = em
        self.state = em.state
        self.r = render
        self.node_count = 0

    def actor(self, login: str | None) -> dict[str, Any] | None:
        record = self.state.user(login) if login else None
        if record is None:
            return None
        return {
            "__typename": "Organization" if record["type"] == "Organization" else "User",
            "id": node_id("O" if record["type"] == "Organization" else "U", record["id"]),
            "databaseId": record["id"],
            "login": record["login"],
            "name": record.get("name"),
            "avatarUrl": f"{self.r.web}/avatars/u/{record['id']}?v=4",
            "url": f"{self.r.web}/{record['login']}",
        }

    def review(self, rv: dict[str, Any]) -> dict[str, Any]:
        self.node_count += 1
        web = self.r.repo_web(rv["repo_id"])
        sha = rv.get("commit_id")
        return {
            "id": node_id("PRR", rv["id"]),
            "databaseId": rv["id"],
            "state": rv["state"],
            "body": rv.get("body", ""),
            "submittedAt": rv.get("submitted_at"),
            "createdAt": rv.get("submitted_at"),
            "updatedAt": rv.get("submitted_at"),
            "commit": (
                {
                    "id": node_id("C", 0),
                    "oid": sha,
                    "abbreviatedOid": sha[:7],
                    "url": f"{web}/commit/{sha}",
                }
                if sha
                else None
            ),
            "author": self.actor(rv["user"]),
            "url": f"{web}/pull/{rv['pull_number']}#pullrequestreview-{rv['id']}",
        }

    def pull(self, p: dict[str, Any]) -> dict[str, Any]:
        self.node_count += 1
        issue = self.state.issue(p["repo_id"], p["number"]) or {}
        merged = p.get("merged_at") is not None
        state = "MERGED" if merged else ("CLOSED" if issue.get("state") == "closed" else "OPEN")

        def reviews(info: Any, **args: Any) -> dict[str, Any]:
            found = sorted(
                self.state.reviews.filter(repo_id=p["repo_id"], pull_number=p["number"]),
                key=lambda r: r["id"],
            )
            if args.get("states"):
                found = [r for r in found if r["state"] in args["states"]]
            return _connection(found, "reviews", args, self.review)

        return {
            "id": node_id("PR", p["id"]),
            "databaseId": p["id"],
            "number": p["number"],
            "title": issue.get("title", ""),
            "body": issue.get("body") or "",
            "state": state,
            "isDraft": bool(p.get("draft")),
            "merged": merged,
            "mergedAt": p.get("merged_at"),
            "closedAt": issue.get("closed_at"),
            "createdAt": issue.get("created_at", p["created_at"]),
            "updatedAt": issue.get("updated_at", p["updated_at"]),
            "url": f"{self.r.repo_web(p['repo_id'])}/pull/{p['number']}",
            "headRefName": p["head_ref"],
            "baseRefName": p["base_ref"],
            "headRefOid": p["head_sha"],
            "author": self.actor(issue.get("user")),
            "reviews": reviews,
        }

    def repository(self, info: Any, owner: str, name: str, **_: Any) -> dict[str, Any] | None:
        repo = self.state.repo(owner, name)
        if repo is None:
            raise GraphQLError(
                f"Could not resolve to a Repository with the name '{owner}/{name}'.",
                extensions={"type": "NOT_FOUND"},
            )
        self.node_count += 1

        def pulls(info: Any, **args: Any) -> dict[str, Any]:
            issues = {
                i["number"]: i for i in self.state.issues.filter(repo_id=repo["id"], is_pull=True)
            }
            found = self.state.pulls.filter(repo_id=repo["id"])
            states = args.get("states")
            if states:

                def state_of(p: dict[str, Any]) -> str:
                    if p.get("merged_at"):
                        return "MERGED"
                    return "CLOSED" if issues[p["number"]]["state"] == "closed" else "OPEN"

                found = [p for p in found if state_of(p) in states]
            for key, field in (("baseRefName", "base_ref"), ("headRefName", "head_ref")):
                if args.get(key):
                    found = [p for p in found if p[field] == args[key]]
            order = args.get("orderBy") or {"field": "CREATED_AT", "direction": "ASC"}
            field = order["field"]

            def sort_key(p: dict[str, Any]) -> tuple[Any, int]:
                issue = issues.get(p["number"], {})
                if field == "UPDATED_AT":
                    return issue.get("updated_at", ""), p["number"]
                if field == "COMMENTS":
                    return issue.get("comments", 0), p["number"]
                return issue.get("created_at", ""), p["number"]

            found.sort(key=sort_key, reverse=order["direction"] == "DESC")
            return _connection(found, "pullRequests", args, self.pull)

        def pull_request(info: Any, number: int) -> dict[str, Any] | None:
            found = self.state.pull(repo["id"], number)
            return self.pull(found) if found else None

        return {
            "id": node_id("R", repo["id"]),
            "databaseId": repo["id"],
            "name": repo["name"],
            "nameWithOwner": repo["full_name"],
            "url": f"{self.r.web}/{repo['full_name']}",
            "owner": self.actor(repo["owner"]),
            "pullRequests": pulls,
            "pullRequest": pull_request,
        }

    def rate_limit(self, info: Any, **_: Any) -> dict[str, Any]:
        budget = self.em.graphql_rate_limiter.budget(info.context["credential"])
        from datetime import UTC, datetime

        from kradle_providers.testing.emulator import iso_z

        return {
            "cost": 1,
            "limit": budget.limit,
            "nodeCount": self.node_count,
            "remaining": budget.remaining,
            "resetAt": iso_z(datetime.fromtimestamp(budget.reset_at, UTC)),
            "used": budget.used,
        }

    def viewer(self, info: Any) -> dict[str, Any] | None:
        return self.actor(info.context["login"])


def _type_resolver(value: Any, info: Any, abstract: Any) -> str:
    return str(value.get("__typename", "User")) if isinstance(value, dict) else "User"


for _name in ("Actor", "Node"):
    _SCHEMA.get_type(_name).resolve_type = _type_resolver  # type: ignore[union-attr]


async def handle_graphql(em: GitHubEmulator, ctx: RequestContext) -> Response:
    """Execute one GraphQL request (GitHub answers errors with 200 and an ``errors`` list)."""
    if ctx.principal is None:
        return em.error(
            401,
            "This endpoint requires you to be authenticated.",
            documentation_url="https://docs.github.com/graphql/guides/forming-calls-with-graphql#authenticating-with-graphql",
        )
    # GraphQL is charged to its own budget, not REST's (the route is exempt there).
    limiter = em.graphql_rate_limiter
    decision = limiter.charge(ctx.credential, method=ctx.method)
    if not decision.allowed:
        return em.error(
            decision.status or 403,
            decision.message or "API rate limit exceeded",
            headers=decision.headers,
        )
    payload = em.body(ctx)
    query = payload.get("query")
    if not isinstance(query, str) or not query.strip():
        return ctx.json(
            {"errors": [{"message": "A query attribute must be specified and must be a string."}]}
        )
    resolver = GraphQLResolver(em, em.render(ctx))
    root = {
        "repository": resolver.repository,
        "rateLimit": resolver.rate_limit,
        "viewer": resolver.viewer,
    }
    identity = ctx.principal.identity or {}
    result = await graphql(
        _SCHEMA,
        query,
        root_value=root,
        context_value={
            "credential": ctx.credential,
            "login": identity.get("login", em.viewer_login),
        },
        variable_values=payload.get("variables") or None,
        operation_name=payload.get("operationName"),
    )
    body: dict[str, Any] = {}
    if result.errors:
        body["errors"] = [
            {
                **(
                    {"type": e.extensions["type"]}
                    if e.extensions and "type" in e.extensions
                    else {}
                ),
                "path": e.path,
                "locations": [
                    {"line": loc.line, "column": loc.column} for loc in e.locations or []
                ],
                "message": e.message,
            }
            for e in result.errors
        ]
    if result.data is not None or not result.errors:
        body["data"] = result.data
    response = ctx.json(body)
    response.headers.update(limiter.headers(ctx.credential))
    return response


def register(em: GitHubEmulator) -> None:
    """Register ``POST /graphql`` (``/api/graphql`` on Enterprise Server)."""

    async def handler(ctx: RequestContext) -> Response:
        return await handle_graphql(em, ctx)

    # Outside the REST base path on Enterprise Server, so added to the router directly.
    em.router.routes.append(
        Route(method="POST", path=em.graphql_path, handler=handler, name="graphql", charge=False)
    )
