"""How the GitHub adapter talks HTTP: base URLs, credentials, errors, paging.

Everything transport-related (retries, budgets, the ETag cache, redaction) is
:class:`kradle_providers.http.HttpClient`'s job; this module only describes
GitHub's conventions to it:

- REST base URL ``https://api.github.com``, or ``https://HOST/api/v3`` on
  Enterprise Server, whose GraphQL endpoint is then ``https://HOST/api/graphql``
  (github.com's is ``https://api.github.com/graphql``);
- credentials from :class:`~kradle_providers.plugins.spec.ProviderConfig`:
  any :class:`~kradle_providers.auth.scheme.AuthScheme`, or a bare token
  (``Secret``/``str``) used as a personal access token;
- GitHub's error bodies refined into typed errors (404 also means "private
  and invisible to this credential"; 422 names the rejected field);
- Link-header listings turned into canonical pages with opaque cursors.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, TypeVar, cast
from urllib.parse import urlsplit, urlunsplit

from kradle_providers.auth import PersonalTokenAuth, Secret
from kradle_providers.auth.scheme import AuthScheme
from kradle_providers.clock import Clock
from kradle_providers.errors import (
    InvalidInput,
    KradleError,
    NotFound,
    PermissionDenied,
    PreconditionFailed,
)
from kradle_providers.http import (
    Checkpoint,
    ConditionalCache,
    HttpClient,
    LinkHeaderPagination,
    PageRequest,
    ProviderRejectedInput,
    Response,
    fetch_page,
    map_error_response,
)
from kradle_providers.http.listing import drop_repeated
from kradle_providers.http.redaction import redact_native, redact_url
from kradle_providers.models.base import ExternalRef
from kradle_providers.models.tolerance import SKIPPED, map_each
from kradle_providers.plugins.spec import ProviderConfig
from kradle_providers.protocols.adapter import ProviderAdapter
from kradle_providers.protocols.page import Page, decode_cursor, encode_cursor

__all__ = [
    "API_VERSION",
    "DEFAULT_BASE_URL",
    "MAX_PAGE_SIZE",
    "GitHubBase",
    "GitHubOptions",
    "auth_from_config",
    "derive_urls",
    "github_error_mapper",
]

T = TypeVar("T")

DEFAULT_BASE_URL = "https://api.github.com"
#: The REST API version the adapter is written against (sent on every request).
API_VERSION = "2022-11-28"
#: GitHub's largest ``per_page``.
MAX_PAGE_SIZE = 100
_ACCEPT = "application/vnd.github+json"


def derive_urls(api_base_url: str | None) -> tuple[str, str]:
    """REST base URL and GraphQL URL for ``api_base_url`` (None: github.com).

    An Enterprise Server REST base ``https://HOST/api/v3`` maps to
    ``https://HOST/api/graphql``; any other base gets ``/graphql`` appended
    (github.com, or an emulator served at its root).
    """
    base = (api_base_url or DEFAULT_BASE_URL).strip().rstrip("/")
    parts = urlsplit(base)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise InvalidInput(
            f"{redact_url(base)!r} is not an absolute http(s) URL; use "
            "https://api.github.com or https://HOST/api/v3 for Enterprise Server",
            field="api_base_url",
        )
    path = parts.path.rstrip("/")
    if path.endswith("/api/v3"):
        graphql_path = path[: -len("/v3")] + "/graphql"
    else:
        graphql_path = path + "/graphql"
    graphql = urlunsplit((parts.scheme, parts.netloc, graphql_path, "", ""))
    return base, graphql


def auth_from_config(auth: Any) -> AuthScheme | None:
    """The auth scheme for ``config.auth``.

    An :class:`AuthScheme` (``GitHubAppAuth``, ``OAuthUserAuth``,
    ``PersonalTokenAuth``, ``TokenAuth``, ``BearerAuth``…) is used as is; a
    ``Secret`` or ``str`` is a personal access token; ``None`` is anonymous.
    """
    if auth is None:
        return None
    if isinstance(auth, Secret | str):
        return PersonalTokenAuth(auth)
    if isinstance(auth, AuthScheme):
        return auth
    raise InvalidInput(
        f"unsupported GitHub credential of type {type(auth).__name__}; pass an auth scheme "
        "(kradle_provider_github.app_auth.GitHubAppAuth, or OAuthUserAuth/PersonalTokenAuth "
        "from kradle_providers.auth) or a token as Secret",
        field="auth",
    )


def _native_message(native: Any) -> str | None:
    if isinstance(native, Mapping):
        message = native.get("message")
        return str(message) if message else None
    return None


def github_error_mapper(response: Response, provider: str) -> KradleError:
    """The core mapping, refined with what GitHub's error bodies say."""
    error = map_error_response(response, provider)
    native = redact_native(response.content)
    where = f"{response.method} {redact_url(response.url)}"
    if isinstance(error, NotFound):
        # GitHub hides private resources behind 404, never 403.
        return NotFound(
            f"{where} returned 404 ({_native_message(native) or 'Not Found'}). The object "
            "does not exist, or it is private and this credential cannot see it: check the "
            "owner/repository/number and that the token or App installation has access.",
            provider=provider,
            status=404,
            native=native,
        )
    permissions = response.headers.get("x-accepted-github-permissions")
    if isinstance(error, PermissionDenied) and error.missing_scope is None and permissions:
        # An App installation names the permission it lacks in its own header.
        return PermissionDenied(
            error.message,
            missing_scope=permissions,
            provider=provider,
            status=error.status,
            native=error.native,
        )
    if isinstance(error, ProviderRejectedInput) and response.status_code == 422:
        field: str | None = None
        details: list[str] = []
        errors = native.get("errors") if isinstance(native, Mapping) else None
        if isinstance(errors, list):
            for item in errors:
                if isinstance(item, Mapping):
                    field = field or (str(item["field"]) if item.get("field") else None)
                    details.append(
                        " ".join(str(item[k]) for k in ("resource", "field", "code") if item.get(k))
                        + (f" ({item['message']})" if item.get("message") else "")
                    )
                elif isinstance(item, str):
                    details.append(item)
        summary = "; ".join(d for d in details if d) or "no details"
        return ProviderRejectedInput(
            f"{where} was rejected by GitHub: {_native_message(native) or 'Validation Failed'}"
            f" [{summary}]. Correct the named field and retry.",
            provider=provider,
            status=422,
            native=native,
            field=field,
        )
    return error


@dataclass(frozen=True)
class GitHubOptions:
    """Adapter options from ``ProviderConfig.options``.

    ``page_size``: default items per listing page (1-100, default 100).
    ``on_rate_limit``: ``"wait"`` for the reset or ``"raise"`` RateLimited.
    ``user_agent``: GitHub requires one; name your host service.
    ``cache``: a shared :class:`ConditionalCache` (e.g. to keep ETags across adapters).
    ``clock``: the transport's clock (tests pass one that skips rate-limit waits).
    """

    page_size: int = MAX_PAGE_SIZE
    on_rate_limit: Literal["wait", "raise"] = "wait"
    user_agent: str = "kradle-providers-github/0.1"
    cache: ConditionalCache | None = None
    clock: Clock | None = None

    @classmethod
    def from_mapping(cls, options: Mapping[str, Any]) -> GitHubOptions:
        """Validate ``options``; unknown keys are refused so typos are not silent."""
        known = {"page_size", "on_rate_limit", "user_agent", "cache", "clock"}
        unknown = sorted(set(options) - known)
        if unknown:
            raise InvalidInput(
                f"unknown GitHub option(s) {unknown}; known options are {sorted(known)}",
                field="options",
            )
        page_size = options.get("page_size", MAX_PAGE_SIZE)
        if not isinstance(page_size, int) or not 1 <= page_size <= MAX_PAGE_SIZE:
            raise InvalidInput(
                f"page_size must be an integer from 1 to {MAX_PAGE_SIZE}, got {page_size!r}",
                field="options.page_size",
            )
        on_rate_limit = options.get("on_rate_limit", "wait")
        if on_rate_limit not in ("wait", "raise"):
            raise InvalidInput(
                f"on_rate_limit must be 'wait' or 'raise', got {on_rate_limit!r}",
                field="options.on_rate_limit",
            )
        user_agent = options.get("user_agent", cls.user_agent)
        if not isinstance(user_agent, str) or not user_agent.strip():
            raise InvalidInput("user_agent must be a non-empty string", field="options.user_agent")
        cache = options.get("cache")
        if cache is not None and not isinstance(cache, ConditionalCache):
            raise InvalidInput(
                "cache must be a kradle_providers.http.ConditionalCache", field="options.cache"
            )
        return cls(
            page_size=page_size,
            on_rate_limit=cast(Literal["wait", "raise"], on_rate_limit),
            user_agent=user_agent,
            cache=cache,
            clock=options.get("clock"),
        )


def build_http_client(config: ProviderConfig, options: GitHubOptions) -> HttpClient:
    """The HttpClient for ``config`` (REST base URL; GraphQL is reached by absolute URL)."""
    rest, _ = derive_urls(config.api_base_url)
    return HttpClient(
        rest,
        provider="github",
        auth=auth_from_config(config.auth),
        transport=config.transport,
        user_agent=options.user_agent,
        headers={"Accept": _ACCEPT, "X-GitHub-Api-Version": API_VERSION},
        error_mapper=github_error_mapper,
        # GitHub has no idempotency header: keys travel as body markers / external_id.
        idempotency_header=None,
        on_exhausted=options.on_rate_limit,
        cache=options.cache,
        clock=options.clock,
    )


def repo_path(ref: ExternalRef) -> str:
    """``/repos/{owner}/{repo}`` for ``ref``; InvalidInput if either part is missing."""
    if not ref.owner or not ref.repository:
        raise InvalidInput(
            f"GitHub needs owner and repository in the reference, got {ref.slug()!r}; "
            "pass ExternalRef(owner='acme', repository='widgets')",
            field="ref",
        )
    return f"/repos/{ref.owner}/{ref.repository}"


class GitHubBase(ProviderAdapter):
    """State and helpers shared by the issue, CI/CD and forge operations."""

    provider_type = "github"

    def __init__(self, config: ProviderConfig | None = None) -> None:
        config = config or ProviderConfig()
        super().__init__(instance=config.instance)
        self.config = config
        self.options = GitHubOptions.from_mapping(config.options)
        self.rest_url, self.graphql_url = derive_urls(config.api_base_url)
        self.http = build_http_client(config, self.options)

    async def aclose(self) -> None:
        """Close the HTTP client (and nothing the caller owns, such as the auth scheme)."""
        await self.http.aclose()

    def _page_size(self, page_size: int | None) -> int:
        size = page_size if page_size is not None else self.options.page_size
        if not 1 <= size <= MAX_PAGE_SIZE:
            raise InvalidInput(
                f"page_size must be from 1 to {MAX_PAGE_SIZE} on GitHub, got {size}",
                field="page_size",
            )
        return size

    async def _list_page(
        self,
        path: str,
        params: Mapping[str, Any],
        *,
        cursor: str | None,
        page_size: int | None,
        convert: Callable[[Any], T | None],
        items_key: str | None = None,
        updated: Callable[[T], datetime | None] | None = None,
    ) -> Page[T]:
        """One page of a Link-paginated listing.

        The cursor carries GitHub's ``next`` URL, which already holds every
        parameter. ``convert`` returns None for items to skip (PR-backed issues
        in the issue listing). ``items_key`` is where the list sits in an
        object body (``workflow_runs``); None for a bare array. An item that
        does not map is skipped and its error listed in ``extra["skipped"]``.
        """
        strategy = LinkHeaderPagination(
            max_page_size=MAX_PAGE_SIZE,
            page_size=self._page_size(page_size),
            items=items_key or "",
            base_url=self.rest_url,
        )
        resume = Checkpoint(strategy.name, decode_cursor(cursor)) if cursor is not None else None
        page = await fetch_page(
            self.http, strategy, PageRequest(path, params=dict(params)), checkpoint=resume
        )
        skipped: list[KradleError] = []
        items = map_each(page.items, convert, skipped=skipped, what=f"GitHub item of {path}")
        hwm: datetime | None = None
        if updated is not None:
            stamps = [s for s in (updated(i) for i in items) if s is not None]
            hwm = max(stamps) if stamps else None
        following = page.checkpoint
        listed = Page(
            items=items,
            next_cursor=encode_cursor(dict(following.state)) if following else None,
            high_water_mark=hwm,
            extra={
                "etag": page.response.etag,
                "from_cache": page.response.from_cache,
                SKIPPED: skipped,
            },
        )
        return drop_repeated(listed, cursor)

    async def _get_json(self, path: str, params: Mapping[str, Any] | None = None) -> Any:
        response = await self.http.get(path, params=params)
        return response.json()


def precondition(
    expected: str, current_etag: str | None, current_updated: datetime | None, what: str
) -> None:
    """Raise PreconditionFailed unless ``expected`` matches the current version.

    ``expected`` is an ETag (``W/"…"`` or ``"…"``) or an ISO-8601 ``updated_at``.
    """
    if expected.startswith(('W/"', '"')):
        ok = current_etag is not None and _weak(expected) == _weak(current_etag)
        current: Any = current_etag
    else:
        try:
            wanted = datetime.fromisoformat(expected.replace("Z", "+00:00"))
        except ValueError as exc:
            raise InvalidInput(
                f"expected_version {expected!r} is neither an ETag nor an ISO-8601 "
                "updated_at; pass the version you read",
                field="expected_version",
            ) from exc
        ok = current_updated is not None and _same_instant(wanted, current_updated)
        current = current_updated.isoformat() if current_updated else None
    if not ok:
        raise PreconditionFailed(
            f"{what} changed since version {expected!r} was read (now {current!r}); "
            "re-read it and apply the change again.",
            current_version=current,
            provider="github",
            status=412,
        )


def _weak(etag: str) -> str:
    return etag[2:] if etag.startswith("W/") else etag


def _same_instant(a: datetime, b: datetime) -> bool:
    from datetime import UTC

    def utc(d: datetime) -> datetime:
        return d.replace(tzinfo=UTC) if d.tzinfo is None else d.astimezone(UTC)

    return utc(a).replace(microsecond=0) == utc(b).replace(microsecond=0)
