"""How the GitLab adapter talks HTTP: base URLs, credentials, errors, addressing, paging.

Retries, budgets (``RateLimit-*``, ``Retry-After``), the ETag cache and
redaction are :class:`kradle_providers.http.HttpClient`'s job; this module
describes GitLab's conventions to it:

- base URL ``https://gitlab.com/api/v4``, or a self-managed instance's
  ``https://HOST[/PREFIX]/api/v4`` (a bare ``https://HOST[/PREFIX]`` gets
  ``/api/v4`` appended);
- credentials: a ``Secret``/``str`` is a personal, project or group access
  token sent as ``PRIVATE-TOKEN``; an :class:`AuthScheme` (``BearerAuth`` for
  OAuth) is used as is;
- projects addressed by URL-encoded full path (``acme%2Fplatform%2Fwidgets``)
  from ``ExternalRef(owner="acme/platform", repository="widgets")``, or by
  ``ExternalRef(project=<id or full path>)``;
- GitLab's error bodies (``{"message": …}``, ``{"error": …}``) refined into
  typed errors;
- listings paged by the ``Link`` header (offset or keyset), cursors carrying
  GitLab's own ``next`` URL.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, TypeVar, cast
from urllib.parse import quote, urlsplit

from kradle_providers.auth import Secret, TokenAuth
from kradle_providers.auth.scheme import AuthScheme
from kradle_providers.clock import Clock
from kradle_providers.errors import InvalidInput, KradleError, NotFound
from kradle_providers.http import (
    ConditionalCache,
    HttpClient,
    ProviderRejectedInput,
    Response,
    map_error_response,
)
from kradle_providers.http.idempotency import carries_idempotency_key
from kradle_providers.http.listing import link_list_page, next_link
from kradle_providers.http.redaction import redact_native, redact_url
from kradle_providers.models.base import ExternalRef
from kradle_providers.plugins.spec import ProviderConfig
from kradle_providers.protocols.adapter import ProviderAdapter
from kradle_providers.protocols.page import Page

__all__ = [
    "DEFAULT_BASE_URL",
    "MAX_PAGE_SIZE",
    "GitLabBase",
    "GitLabOptions",
    "api_base_url",
    "as_number",
    "auth_from_config",
    "full_path",
    "gitlab_error_mapper",
    "next_link",
    "project_path",
]

T = TypeVar("T")

#: How many newest pages a read-back searches for a lost create.
READ_BACK_PAGES = 3

DEFAULT_BASE_URL = "https://gitlab.com/api/v4"
#: GitLab's largest ``per_page``.
MAX_PAGE_SIZE = 100


def api_base_url(configured: str | None) -> str:
    """The REST v4 base for ``configured`` (None: gitlab.com); ``/api/v4`` appended if missing."""
    base = (configured or DEFAULT_BASE_URL).strip().rstrip("/")
    parts = urlsplit(base)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise InvalidInput(
            f"{redact_url(base)!r} is not an absolute http(s) URL; use https://gitlab.com/api/v4 "
            "or https://HOST[/PREFIX]/api/v4 for a self-managed instance",
            field="api_base_url",
        )
    return base if parts.path.endswith("/api/v4") else base + "/api/v4"


def auth_from_config(auth: Any) -> AuthScheme | None:
    """``PRIVATE-TOKEN`` for a bare token (``Secret``/``str``); an AuthScheme as is."""
    if auth is None:
        return None
    if isinstance(auth, Secret | str):
        return TokenAuth(auth, header="PRIVATE-TOKEN")
    if isinstance(auth, AuthScheme):
        return auth
    raise InvalidInput(
        f"unsupported GitLab credential of type {type(auth).__name__}; pass an access token "
        "as Secret (sent as PRIVATE-TOKEN) or an auth scheme such as BearerAuth (OAuth)",
        field="auth",
    )


def _message(native: Any) -> str | None:
    if isinstance(native, Mapping):
        for key in ("message", "error_description", "error"):
            value = native.get(key)
            if value:
                return value if isinstance(value, str) else str(value)
    return None


def gitlab_error_mapper(response: Response, provider: str) -> KradleError:
    """The core mapping, refined with what GitLab's error bodies say."""
    error = map_error_response(response, provider)
    native = redact_native(response.content)
    where = f"{response.method} {redact_url(response.url)}"
    said = _message(native)
    if isinstance(error, NotFound):
        return NotFound(
            f"{where} returned 404 ({said or '404 Not Found'}). The object does not exist, "
            "or the token cannot see it: check the project path, the iid and that the token "
            "has read_api on the project.",
            provider=provider,
            status=404,
            native=native,
        )
    if isinstance(error, ProviderRejectedInput) and response.status_code == 400:
        field = None
        message = native.get("message") if isinstance(native, Mapping) else None
        if isinstance(message, Mapping) and message:
            field = str(next(iter(message)))
        return ProviderRejectedInput(
            f"{where} was rejected by GitLab: {said or 'Bad request'}. Correct the named field "
            "and retry.",
            provider=provider,
            status=400,
            native=native,
            field=field,
        )
    return error


@dataclass(frozen=True)
class GitLabOptions:
    """Adapter options from ``ProviderConfig.options``.

    ``page_size`` (1-100, default 100), ``on_rate_limit`` (``wait``/``raise``),
    ``user_agent``, ``cache`` (a shared :class:`ConditionalCache`), ``clock``.
    """

    page_size: int = MAX_PAGE_SIZE
    on_rate_limit: Literal["wait", "raise"] = "wait"
    user_agent: str = "kradle-providers-gitlab/0.1"
    cache: ConditionalCache | None = None
    clock: Clock | None = None

    @classmethod
    def from_mapping(cls, options: Mapping[str, Any]) -> GitLabOptions:
        """Validate ``options``; unknown keys are refused so typos are not silent."""
        known = {"page_size", "on_rate_limit", "user_agent", "cache", "clock"}
        unknown = sorted(set(options) - known)
        if unknown:
            raise InvalidInput(
                f"unknown GitLab option(s) {unknown}; known options are {sorted(known)}",
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
        cache = options.get("cache")
        if cache is not None and not isinstance(cache, ConditionalCache):
            raise InvalidInput(
                "cache must be a kradle_providers.http.ConditionalCache", field="options.cache"
            )
        return cls(
            page_size=page_size,
            on_rate_limit=cast(Literal["wait", "raise"], on_rate_limit),
            user_agent=str(options.get("user_agent", cls.user_agent)),
            cache=cache,
            clock=options.get("clock"),
        )


def project_path(ref: ExternalRef) -> str:
    """``/projects/<encoded full path or id>`` for ``ref``."""
    if ref.project:
        ident = ref.project
    elif ref.owner and ref.repository:
        ident = f"{ref.owner}/{ref.repository}"
    else:
        raise InvalidInput(
            f"GitLab needs a project in the reference, got {ref.slug()!r}; pass "
            "ExternalRef(owner='acme/platform', repository='widgets') or "
            "ExternalRef(project='acme/platform/widgets')",
            field="ref",
        )
    return f"/projects/{quote(ident, safe='')}"


def full_path(ref: ExternalRef) -> str:
    """The project's full path (``acme/platform/widgets``) as ids and refs use it."""
    if ref.project:
        return ref.project
    return f"{ref.owner}/{ref.repository}"


def as_number(value: str, what: str) -> str:
    """A positive integer id/iid as a string, else InvalidInput naming ``what``."""
    text = str(value).strip().lstrip("#!")
    if not text.isdigit() or int(text) < 1:
        raise InvalidInput(f"{what} must be a positive integer, got {value!r}", field=what)
    return text


class GitLabBase(ProviderAdapter):
    """State and helpers shared by the issue, CI/CD and forge operations."""

    provider_type = "gitlab"

    def __init__(self, config: ProviderConfig | None = None) -> None:
        config = config or ProviderConfig()
        super().__init__(instance=config.instance)
        self.config = config
        self.options = GitLabOptions.from_mapping(config.options)
        self.rest_url = api_base_url(config.api_base_url)
        self.http = HttpClient(
            self.rest_url,
            provider="gitlab",
            auth=auth_from_config(config.auth),
            transport=config.transport,
            user_agent=self.options.user_agent,
            headers={"Accept": "application/json"},
            error_mapper=gitlab_error_mapper,
            # GitLab has no idempotency header: keys travel as description markers.
            idempotency_header=None,
            on_exhausted=self.options.on_rate_limit,
            cache=self.options.cache,
            clock=self.options.clock,
        )

    async def aclose(self) -> None:
        """Close the HTTP client."""
        await self.http.aclose()

    def _page_size(self, page_size: int | None) -> int:
        size = page_size if page_size is not None else self.options.page_size
        if not 1 <= size <= MAX_PAGE_SIZE:
            raise InvalidInput(
                f"page_size must be from 1 to {MAX_PAGE_SIZE} on GitLab, got {size}",
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
        updated: Callable[[T], datetime | None] | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> Page[T]:
        """One page of a Link-paginated listing; the cursor carries GitLab's ``next`` URL."""
        page, _ = await link_list_page(
            self.http,
            path,
            params,
            cursor=cursor,
            per_page=self._page_size(page_size),
            convert=convert,
            updated=updated,
            extra=extra,
        )
        return page

    async def _newest_with_marker(
        self, path: str, key: str, field: str, params: Mapping[str, Any] | None = None
    ) -> dict[str, Any] | None:
        """The newest object at ``path`` whose ``field`` carries ``key``'s marker."""
        url: str | None = path
        query: dict[str, Any] | None = {
            "order_by": "created_at",
            "sort": "desc",
            "per_page": 100,
            **(params or {}),
        }
        for _ in range(READ_BACK_PAGES):
            if url is None:
                return None
            response = await self.http.get(url, params=query, conditional=False)
            for native in response.json() or []:
                if carries_idempotency_key(native.get(field), key):
                    return dict(native)
            url, query = next_link(response), None
        return None

    async def _get_json(self, path: str, params: Mapping[str, Any] | None = None) -> Any:
        response = await self.http.get(path, params=params)
        return response.json()
