"""The GitLab emulator application: authentication, errors, limits, paging, addressing.

:class:`GitLabEmulator` is an :class:`~kradle_providers.testing.emulator.EmulatorApp`
configured the way GitLab's REST API v4 behaves:

- routes under ``/api/v4`` (self-managed instances may add a path prefix:
  ``flavor="self-managed"`` serves ``/gitlab/api/v4``);
- ``PRIVATE-TOKEN`` (personal, project and group access tokens) or
  ``Authorization: Bearer`` (OAuth) credentials; a bad one is
  ``401 {"message": "401 Unauthorized"}``; a ``read_api`` token writing is
  ``403 {"error": "insufficient_scope", …}``;
- error bodies ``{"message": …}`` (``404 Project Not Found``,
  ``400 {"message": {"title": ["can't be blank"]}}``) and ``{"error": …}``
  (``405`` keyset pagination unavailable, scopes);
- ``RateLimit-*`` headers, ``429`` + ``Retry-After`` when exhausted;
- offset paging (``page``/``per_page`` up to 100, ``X-Next-Page``,
  ``X-Total`` omitted past 10,000, ``Link``) and keyset paging
  (``pagination=keyset``: ``Link rel="next"`` only) where GitLab offers it;
- projects, branches and tags addressed by id or URL-encoded path
  (``acme%2Fplatform%2Fwidgets``).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlencode, urlsplit, urlunsplit

from starlette.types import Receive, Scope, Send

from kradle_provider_gitlab.emulator.webhooks import GitLabWebhooks
from kradle_providers.testing.emulator import (
    AuthOutcome,
    ConditionalPolicy,
    EmulatorApp,
    Now,
    OffsetHeaderPagination,
    PageSlice,
    PaginationError,
    Principal,
    RateLimitConvention,
    RateLimitPolicy,
    RequestContext,
    format_link_header,
    system_clock,
)

__all__ = ["DEFAULT_TOKEN", "GitLabEmulator", "KeysetPagination"]

DEFAULT_TOKEN = "glpat-kradleEmulatorToken00001"
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_SLASH = "%2F"


def _gitlab_error(status: int, message: str, extra: Mapping[str, Any]) -> Any:
    if "error" in extra:
        return dict(extra)
    if "body" in extra:
        return extra["body"]
    return {"message": message if message.startswith(str(status)) else f"{status} {message}"}


def _encode_cursor(last_id: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"id": last_id}).encode()).decode().rstrip("=")


def _decode_cursor(token: str) -> int:
    try:
        padded = token + "=" * (-len(token) % 4)
        value = json.loads(base64.urlsafe_b64decode(padded))["id"]
    except (ValueError, KeyError, TypeError):
        raise PaginationError("cursor", "is not a cursor this API issued") from None
    if not isinstance(value, int):
        raise PaginationError("cursor", "is not a cursor this API issued")
    return int(value)


@dataclass(frozen=True)
class KeysetPagination:
    """GitLab's keyset paging (``pagination=keyset``): ascending ids, ``Link rel="next"`` only.

    ``param`` is ``cursor`` (issues, jobs) or ``id_after`` (projects).
    Items must be sorted by ``id`` ascending.
    """

    param: str = "cursor"
    default_per_page: int = 20
    max_per_page: int = 100

    def paginate(self, items: Sequence[Any], url: str, query: Mapping[str, str]) -> PageSlice[Any]:
        """The page after the cursor, with a ``next`` link when more follow."""
        raw_size = query.get("per_page")
        size = int(raw_size) if raw_size and raw_size.isdigit() else self.default_per_page
        size = max(1, min(size, self.max_per_page))
        token = query.get(self.param)
        after: int | None = None
        if token:
            after = int(token) if self.param == "id_after" and token.isdigit() else None
            if after is None:
                after = _decode_cursor(token)
        rest = [i for i in items if after is None or int(i["id"]) > after]
        chunk = list(rest[:size])
        headers: dict[str, str] = {}
        if len(rest) > size:
            last = int(chunk[-1]["id"])
            value = str(last) if self.param == "id_after" else _encode_cursor(last)
            parts = urlsplit(url)
            # Repeated parameters (``scope[]=a&scope[]=b``) survive where the query has them.
            pairs = getattr(query, "multi_items", query.items)()
            params = [(k, v) for k, v in pairs if k != self.param]
            params.append((self.param, value))
            nxt = urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(params), ""))
            headers["link"] = format_link_header({"next": nxt})
        return PageSlice(items=chunk, headers=headers)


def _encoded_path(scope: Scope) -> str | None:
    """The request path with ``%2F`` kept inside segments (project and ref names)."""
    raw = scope.get("raw_path")
    if not isinstance(raw, bytes | bytearray):
        return None
    text = bytes(raw).split(b"?", 1)[0].decode("latin-1")
    if "%2f" not in text.lower():
        return None
    segments = [unquote(s.replace("%2f", _SLASH).replace(_SLASH, "\x00")) for s in text.split("/")]
    return "/".join(s.replace("\x00", _SLASH) for s in segments)


class GitLabEmulator(EmulatorApp):
    """A stateful emulator of GitLab's REST API v4 (see the module notes)."""

    provider = "gitlab"

    def __init__(
        self,
        *,
        token: str | None = None,
        flavor: str | None = None,
        clock: Now | None = None,
        base_path: str | None = None,
        base_url: str = "http://gitlab.test",
        rate_limit: int = 2000,
        latency: float = 0.0,
    ) -> None:
        if base_path is None:
            base_path = "/gitlab/api/v4" if flavor == "self-managed" else "/api/v4"
        super().__init__(
            clock=clock or system_clock,
            base_path=base_path,
            base_url=base_url,
            error_formatter=_gitlab_error,
            not_found_message="404 Not Found",
            bad_json_message="400 Bad request - Invalid JSON",
            rate_limit=RateLimitPolicy(
                limit=rate_limit,
                window_seconds=60.0,
                convention=RateLimitConvention.RATELIMIT_EPOCH,
                exhausted_status=429,
                exhausted_message="Retry later",
                resource=None,
            ),
            conditional=ConditionalPolicy(weak=True),
            pagination=OffsetHeaderPagination(default_per_page=20, max_per_page=100),
            latency=latency,
            flavor=flavor,
        )
        self.token = token or DEFAULT_TOKEN
        # token -> scopes; OAuth tokens are sent as Bearer, the others as PRIVATE-TOKEN.
        self.tokens: dict[str, frozenset[str]] = {self.token: frozenset({"api", "read_api"})}
        self.oauth_tokens: dict[str, frozenset[str]] = {}
        self.webhooks: GitLabWebhooks = GitLabWebhooks(clock=self.clock)
        from kradle_provider_gitlab.emulator.state import GitLabState

        self.state = GitLabState(self)
        self.control: Any = None
        self._install_routes()

    def _install_routes(self) -> None:
        from kradle_provider_gitlab.emulator import routes_ci, routes_issues, routes_repos

        routes_issues.register(self)
        routes_ci.register(self)
        routes_repos.register(self)

    @property
    def app(self) -> GitLabEmulator:
        """The ASGI application (this object)."""
        return self

    @property
    def web_url(self) -> str:
        """The instance's web root (the API base without ``/api/v4``)."""
        return self.base_url + self.base_path.removesuffix("/api/v4")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope.get("type") == "http":
            encoded = _encoded_path(scope)
            if encoded is not None:
                scope = {**scope, "path": encoded}
        await super().__call__(scope, receive, send)

    # -- authentication -----------------------------------------------------

    def add_token(self, token: str, scopes: Sequence[str], *, oauth: bool = False) -> None:
        """Accept another credential (a ``read_api`` token, an OAuth token)."""
        (self.oauth_tokens if oauth else self.tokens)[token] = frozenset(scopes)

    async def authenticate(self, ctx: RequestContext) -> AuthOutcome:
        """``PRIVATE-TOKEN`` or ``Authorization: Bearer``; scopes gate writes."""
        private = ctx.headers.get("private-token")
        bearer = ctx.headers.get("authorization", "")
        scopes: frozenset[str] | None
        if private:
            scopes = self.tokens.get(private.strip())
            credential = private.strip()
        elif bearer.lower().startswith("bearer "):
            credential = bearer[7:].strip()
            scopes = self.oauth_tokens.get(credential) or self.tokens.get(credential)
        else:
            return self.error(401, "401 Unauthorized")
        if scopes is None:
            return self.error(401, "401 Unauthorized")
        if ctx.method in WRITE_METHODS and "api" not in scopes:
            route = ctx.route.path if ctx.route else ""
            if not route.endswith("/user/runners") or "create_runner" not in scopes:
                return self.error(
                    403,
                    "insufficient_scope",
                    error="insufficient_scope",
                    error_description=(
                        "The request requires higher privileges than provided by the access token."
                    ),
                    scope="api",
                )
        return Principal(credential, scopes=scopes)

    # -- paging ---------------------------------------------------------------

    def page(
        self,
        ctx: RequestContext,
        items: Sequence[Mapping[str, Any]],
        *,
        keyset: str | None = None,
        render: Callable[[Mapping[str, Any]], Any] | None = None,
    ) -> Any:
        """One page of ``items`` (already filtered and ordered) as GitLab pages them.

        ``keyset`` names the keyset cursor parameter where GitLab offers keyset
        paging on this endpoint; ``pagination=keyset`` elsewhere is a 405.
        """
        if ctx.query.get("pagination") == "keyset":
            if keyset is None:
                ctx.fail(
                    405,
                    "Keyset pagination is not yet available for this type of request",
                    error="Keyset pagination is not yet available for this type of request",
                )
            if ctx.query.get("order_by", "id") != "id":
                ctx.fail(
                    405,
                    "Keyset pagination is not yet available for this type of request",
                    error="Keyset pagination is not yet available for this type of request",
                )
            ordered = sorted(items, key=lambda i: int(i["id"]))
            if ctx.query.get("sort") == "desc":
                ctx.fail(400, "sort does not have a valid value", error="sort is invalid")
            sliced = KeysetPagination(param=keyset).paginate(ordered, ctx.url, ctx.query)
        else:
            sliced = self.pagination.paginate(items, ctx.url, ctx.query)
        body = [render(i) if render else i for i in sliced.items]
        return ctx.json(body, headers=sliced.headers)

    @staticmethod
    def order(
        ctx: RequestContext,
        items: list[dict[str, Any]],
        *,
        default: str = "created_at",
        allowed: Sequence[str] = ("id", "created_at", "updated_at"),
    ) -> list[dict[str, Any]]:
        """Sort by ``order_by``/``sort`` (GitLab's default: newest first)."""
        order_by = ctx.query.get("order_by", default)
        if order_by not in allowed:
            ctx.fail(400, "order_by does not have a valid value", error="order_by is invalid")
        sort = ctx.query.get("sort", "desc")
        if sort not in ("asc", "desc"):
            ctx.fail(400, "sort does not have a valid value", error="sort is invalid")
        return sorted(
            items,
            key=lambda i: (str(i.get(order_by) or "") if order_by != "id" else 0, int(i["id"])),
            reverse=sort == "desc",
        )

    # -- addressing -------------------------------------------------------------

    def project_or_404(self, ctx: RequestContext) -> dict[str, Any]:
        """The project the ``{project}`` path parameter names (id or URL-encoded path)."""
        ref = unquote(str(ctx.params.get("project", "")))
        found = self.state.find_project(ref)
        if found is None:
            ctx.fail(404, "404 Project Not Found")
        return found

    @staticmethod
    def segment(ctx: RequestContext, name: str) -> str:
        """A path parameter that may hold an encoded ``/`` (branch and tag names)."""
        return unquote(str(ctx.params.get(name, "")))

    def api_url(self, path: str) -> str:
        """An absolute API URL for ``path`` (``/projects/1``)."""
        return f"{self.api_base_url}{path}"

    def project_api(self, project: Mapping[str, Any]) -> str:
        """``…/api/v4/projects/:id``."""
        return self.api_url(f"/projects/{project['id']}")
