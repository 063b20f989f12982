"""Routes, the per-request context handed to handlers, and handler errors.

A vendor emulator registers handlers with Starlette path syntax::

    @app.get("/repos/{owner}/{repo}/issues/{number:int}", name="getIssue")
    async def get_issue(ctx: RequestContext) -> Response:
        issue = ctx.get_or_404(issues, ctx.params["number"])
        return ctx.json(issue)

A handler returns a Starlette ``Response`` or any JSON-serializable value
(answered ``200``), and raises :class:`EmulatorHTTPError` (``ctx.fail(...)``) to
answer an error in the provider's format.
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, NoReturn

from starlette.convertors import Convertor
from starlette.datastructures import Headers, QueryParams
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import compile_path

from kradle_providers.testing.emulator.conditional import format_http_date
from kradle_providers.testing.emulator.pagination import PaginationStyle

if TYPE_CHECKING:
    from kradle_providers.testing.emulator.app import EmulatorApp
    from kradle_providers.testing.emulator.state import Collection

__all__ = [
    "EmulatorHTTPError",
    "Handler",
    "Principal",
    "RequestContext",
    "Route",
    "Router",
    "json_bytes",
]


def json_bytes(data: Any) -> bytes:
    """Compact JSON as providers send it (datetimes become ISO strings)."""
    return json.dumps(data, separators=(",", ":"), default=_json_default).encode("utf-8")


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, (set, frozenset)):
        return sorted(value)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


class EmulatorHTTPError(Exception):
    """Raised by a handler to answer ``status`` with the provider's error body.

    ``extra`` goes to the error formatter (e.g. GitHub ``errors`` lists, Jira
    field ``errors``); ``headers`` are added to the answer.
    """

    def __init__(
        self,
        status: int,
        message: str,
        *,
        headers: Mapping[str, str] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(f"{status} {message}")
        self.status = status
        self.message = message
        self.headers = dict(headers or {})
        self.extra = extra


@dataclass(frozen=True)
class Principal:
    """Who a request is from, as the authentication hook decided.

    ``credential_id`` keys the rate-limit budget and the request log (never
    the secret itself); ``identity`` is whatever the vendor emulator wants
    handlers to see (a user object); ``scopes`` are checked by
    :meth:`RequestContext.require_scope`.
    """

    credential_id: str
    identity: Any = None
    scopes: frozenset[str] = frozenset()


Handler = Callable[["RequestContext"], Awaitable[Any]]


@dataclass(frozen=True)
class Route:
    """One registered endpoint.

    ``name`` is the operation name faults and the request log refer to;
    ``cost`` is its rate-limit cost, ``charge=False`` exempts it (GitHub's
    ``/rate_limit``), ``public=True`` skips authentication.
    """

    method: str
    path: str
    handler: Handler
    name: str | None = None
    cost: int = 1
    charge: bool = True
    public: bool = False
    _regex: re.Pattern[str] = field(init=False, repr=False, compare=False)
    _convertors: dict[str, Convertor[Any]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        regex, _fmt, convertors = compile_path(self.path)
        object.__setattr__(self, "_regex", regex)
        object.__setattr__(self, "_convertors", convertors)

    def match_path(self, path: str) -> dict[str, Any] | None:
        """Path parameters when ``path`` matches this route's template, else ``None``."""
        found = self._regex.match(path)
        if found is None:
            return None
        return {k: self._convertors[k].convert(v) for k, v in found.groupdict().items()}


class Router:
    """Routes in registration order; the first whose method and path match wins."""

    def __init__(self, base_path: str = "") -> None:
        self.base_path = base_path.rstrip("/")
        self.routes: list[Route] = []

    def add(
        self,
        method: str,
        path: str,
        handler: Handler,
        *,
        name: str | None = None,
        cost: int = 1,
        charge: bool = True,
        public: bool = False,
    ) -> Route:
        """Register ``handler`` for ``method`` on ``base_path + path``."""
        if not path.startswith("/"):
            raise ValueError(f"route path {path!r} must start with '/'")
        route = Route(
            method=method.upper(),
            path=self.base_path + path,
            handler=handler,
            name=name,
            cost=cost,
            charge=charge,
            public=public,
        )
        self.routes.append(route)
        return route

    def match(self, method: str, path: str) -> tuple[Route | None, dict[str, Any], bool]:
        """``(route, params, path_known)``; ``path_known`` is true when only the method differs."""
        method = method.upper()
        path_known = False
        for route in self.routes:
            params = route.match_path(path)
            if params is None:
                continue
            if route.method == method or (method == "HEAD" and route.method == "GET"):
                return route, params, True
            path_known = True
        return None, {}, path_known


class RequestContext:
    """Everything a handler needs about one request, plus answer helpers."""

    def __init__(
        self,
        app: EmulatorApp,
        request: Request,
        body: bytes,
        route: Route | None = None,
        params: Mapping[str, Any] | None = None,
    ) -> None:
        self.app = app
        self.request = request
        self.body = body
        self.route = route
        self.params: dict[str, Any] = dict(params or {})
        self.principal: Principal | None = None

    # -- request ------------------------------------------------------------

    @property
    def method(self) -> str:
        """The HTTP method (upper case)."""
        return self.request.method.upper()

    @property
    def path(self) -> str:
        """The URL path."""
        return str(self.request.url.path)

    @property
    def url(self) -> str:
        """The full request URL (pagination links are built from it)."""
        return str(self.request.url)

    @property
    def query(self) -> QueryParams:
        """Query parameters."""
        return self.request.query_params

    @property
    def headers(self) -> Headers:
        """Request headers (case-insensitive)."""
        return self.request.headers

    @property
    def operation(self) -> str | None:
        """The matched route's operation name."""
        return self.route.name if self.route else None

    @property
    def credential(self) -> str | None:
        """The authenticated credential id, or ``None`` (anonymous)."""
        return self.principal.credential_id if self.principal else None

    def json_body(self, *, required: bool = True) -> Any:
        """The body parsed as JSON; malformed (or missing, when required) is a 400."""
        if not self.body:
            if required:
                self.fail(400, self.app.bad_json_message)
            return None
        try:
            return json.loads(self.body)
        except (ValueError, UnicodeDecodeError):
            self.fail(400, self.app.bad_json_message)

    # -- answers ------------------------------------------------------------

    def json(
        self,
        data: Any,
        *,
        status: int = 200,
        headers: Mapping[str, str] | None = None,
        etag: str | None = None,
        last_modified: datetime | None = None,
    ) -> Response:
        """A JSON answer; ``etag``/``last_modified`` set validators for 304 handling."""
        response = Response(
            content=json_bytes(data),
            status_code=status,
            headers=dict(headers or {}),
            media_type=self.app.media_type,
        )
        if etag is not None:
            response.headers["etag"] = etag
        if last_modified is not None:
            response.headers["last-modified"] = format_http_date(last_modified)
        return response

    def no_content(self, *, headers: Mapping[str, str] | None = None) -> Response:
        """A ``204 No Content`` answer."""
        return Response(status_code=204, headers=dict(headers or {}))

    def error(self, status: int, message: str, **extra: Any) -> Response:
        """An error answer in the provider's format."""
        return self.app.error(status, message, **extra)

    def fail(self, status: int, message: str, **extra: Any) -> NoReturn:
        """Stop the handler and answer an error in the provider's format."""
        raise EmulatorHTTPError(status, message, **extra)

    def not_found(self, message: str | None = None) -> NoReturn:
        """Stop the handler with the provider's 404."""
        raise EmulatorHTTPError(404, message or self.app.not_found_message)

    def get_or_404(self, collection: Collection, id: Any) -> dict[str, Any]:
        """The object with ``id`` in ``collection``, or the provider's 404."""
        found = collection.get(id)
        if found is None:
            self.not_found()
        return found

    def require_scope(self, scope: str, *, message: str | None = None, status: int = 403) -> None:
        """Answer 403 unless the principal holds ``scope``."""
        if self.principal is None or scope not in self.principal.scopes:
            self.fail(status, message or f"Resource not accessible: requires the {scope} scope")

    def paginate(
        self,
        items: Sequence[Any],
        *,
        style: PaginationStyle | None = None,
        key: str | None = None,
        extra: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Response:
        """Answer one page of ``items`` (full, sorted list) in the emulator's style.

        Header styles answer a JSON array unless ``key`` is given; body-field
        styles (``startAt``, tokens) answer ``{**fields, key: items, **extra}``
        (``key`` defaults to ``values``).
        """
        chosen = style or self.app.pagination
        page = chosen.paginate(items, self.url, self.query)
        out_headers = {**page.headers, **(headers or {})}
        if key is None and not page.fields and not extra:
            return self.json(page.items, headers=out_headers)
        body = {**page.fields, key or "values": page.items, **(extra or {})}
        return self.json(body, headers=out_headers)
