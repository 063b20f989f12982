"""How the Buildkite adapter talks HTTP: base URL, credentials, errors, paging.

Everything transport-related (retries, ``RateLimit-*`` budgets and 429 waits,
the ETag cache, redaction) is :class:`kradle_providers.http.HttpClient`'s job;
this module only describes Buildkite's conventions to it:

- REST base URL ``https://api.buildkite.com/v2``;
- credentials from :class:`~kradle_providers.plugins.spec.ProviderConfig`:
  an API access token (``Secret``/``str``) sent as ``Authorization: Bearer``,
  or any :class:`~kradle_providers.auth.scheme.AuthScheme`;
- Buildkite's error bodies (``{"message": ...}``) refined into typed errors;
- ``Link`` listings (``page``/``per_page``, at most 100) turned into canonical
  pages with opaque cursors;
- the scope: ``ExternalRef(owner=<organization slug>, pipeline=<pipeline slug>)``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, TypeVar, cast
from urllib.parse import quote, urlsplit

from kradle_providers.auth import BearerAuth, Secret
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
from kradle_providers.http.listing import link_list_page
from kradle_providers.http.redaction import redact_native, redact_url
from kradle_providers.models.base import ExternalRef
from kradle_providers.plugins.spec import ProviderConfig
from kradle_providers.protocols.adapter import ProviderAdapter
from kradle_providers.protocols.page import Page

__all__ = [
    "DEFAULT_BASE_URL",
    "MAX_PAGE_SIZE",
    "BuildkiteBase",
    "BuildkiteOptions",
    "auth_from_config",
    "buildkite_error_mapper",
]

T = TypeVar("T")

DEFAULT_BASE_URL = "https://api.buildkite.com/v2"
#: Buildkite's largest ``per_page``.
MAX_PAGE_SIZE = 100


def auth_from_config(auth: Any) -> AuthScheme | None:
    """The auth scheme for ``config.auth``: a token is sent as a Bearer token."""
    if auth is None:
        return None
    if isinstance(auth, Secret | str):
        return BearerAuth(auth)
    if isinstance(auth, AuthScheme):
        return auth
    raise InvalidInput(
        f"unsupported Buildkite credential of type {type(auth).__name__}; pass the API access "
        "token as a Secret (or a kradle_providers.auth scheme such as BearerAuth)",
        field="auth",
    )


def _message(native: Any) -> str | None:
    if isinstance(native, Mapping) and native.get("message"):
        return str(native["message"])
    return None


def buildkite_error_mapper(response: Response, provider: str) -> KradleError:
    """The core mapping, with what Buildkite's ``{"message": ...}`` bodies say."""
    error = map_error_response(response, provider)
    native = redact_native(response.content)
    where = f"{response.method} {redact_url(response.url)}"
    message = _message(native)
    if isinstance(error, NotFound):
        return NotFound(
            f"{where} returned 404 ({message or 'Not Found'}). Check the organization and "
            "pipeline slugs and the build number, and that the token's organization access "
            "includes them.",
            provider=provider,
            status=404,
            native=native,
        )
    if isinstance(error, ProviderRejectedInput) and response.status_code == 422:
        return ProviderRejectedInput(
            f"{where} was refused by Buildkite: {message or 'Unprocessable Entity'}. "
            "Correct the named field, or wait until the object is in a state that allows "
            "this (a finished build cannot be canceled, a running job cannot be retried).",
            provider=provider,
            status=422,
            native=native,
        )
    return error


@dataclass(frozen=True)
class BuildkiteOptions:
    """Adapter options from ``ProviderConfig.options``.

    ``page_size``: default items per listing page (1-100, default 100).
    ``on_rate_limit``: ``"wait"`` for the reset or ``"raise"`` RateLimited.
    ``user_agent``: name your host service.
    ``cluster``: the cluster whose agent tokens ``register_runner`` creates
    (default: the organization's first cluster).
    ``cache``: a shared :class:`ConditionalCache`; ``clock``: the transport's clock.
    """

    page_size: int = MAX_PAGE_SIZE
    on_rate_limit: Literal["wait", "raise"] = "wait"
    user_agent: str = "kradle-providers-buildkite/0.1"
    cluster: str | None = None
    cache: ConditionalCache | None = None
    clock: Clock | None = None

    @classmethod
    def from_mapping(cls, options: Mapping[str, Any]) -> BuildkiteOptions:
        """Validate ``options``; unknown keys are refused so typos are not silent."""
        known = {"page_size", "on_rate_limit", "user_agent", "cluster", "cache", "clock"}
        unknown = sorted(set(options) - known)
        if unknown:
            raise InvalidInput(
                f"unknown Buildkite option(s) {unknown}; known options are {sorted(known)}",
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
        cluster = options.get("cluster")
        return cls(
            page_size=page_size,
            on_rate_limit=cast(Literal["wait", "raise"], on_rate_limit),
            user_agent=str(options.get("user_agent", cls.user_agent)),
            cluster=None if cluster is None else str(cluster),
            cache=cache,
            clock=options.get("clock"),
        )


def _base_url(config: ProviderConfig) -> str:
    base = (config.api_base_url or DEFAULT_BASE_URL).strip().rstrip("/")
    parts = urlsplit(base)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise InvalidInput(
            f"{redact_url(base)!r} is not an absolute http(s) URL; use {DEFAULT_BASE_URL}",
            field="api_base_url",
        )
    return base


def org_path(ref: ExternalRef) -> str:
    """``/organizations/{org}`` for ``ref``; InvalidInput without an organization."""
    if not ref.owner:
        raise InvalidInput(
            f"Buildkite needs the organization slug as `owner`, got {ref.slug()!r}; pass "
            "ExternalRef(owner='acme', pipeline='widgets')",
            field="ref",
        )
    return f"/organizations/{quote(ref.owner, safe='')}"


def pipeline_path(ref: ExternalRef) -> str:
    """``/organizations/{org}/pipelines/{pipeline}``; InvalidInput without a pipeline."""
    if not ref.pipeline:
        raise InvalidInput(
            f"this Buildkite operation needs a pipeline slug in the reference, got "
            f"{ref.slug()!r}; pass ExternalRef(owner='acme', pipeline='widgets')",
            field="ref",
        )
    return f"{org_path(ref)}/pipelines/{quote(ref.pipeline, safe='')}"


class BuildkiteBase(ProviderAdapter):
    """State and helpers the CI/CD operations share."""

    provider_type = "buildkite"

    def __init__(self, config: ProviderConfig | None = None) -> None:
        config = config or ProviderConfig()
        super().__init__(instance=config.instance)
        self.config = config
        self.options = BuildkiteOptions.from_mapping(config.options)
        self.rest_url = _base_url(config)
        self.http = HttpClient(
            self.rest_url,
            provider="buildkite",
            auth=auth_from_config(config.auth),
            transport=config.transport,
            user_agent=self.options.user_agent,
            headers={"Accept": "application/json"},
            error_mapper=buildkite_error_mapper,
            # Buildkite has no idempotency header.
            idempotency_header=None,
            on_exhausted=self.options.on_rate_limit,
            cache=self.options.cache,
            clock=self.options.clock,
        )

    async def aclose(self) -> None:
        """Close the HTTP client (and nothing the caller owns)."""
        await self.http.aclose()

    def _page_size(self, page_size: int | None) -> int:
        size = page_size if page_size is not None else self.options.page_size
        if not 1 <= size <= MAX_PAGE_SIZE:
            raise InvalidInput(
                f"page_size must be from 1 to {MAX_PAGE_SIZE} on Buildkite, got {size}",
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
    ) -> tuple[Page[T], str | None]:
        """One page of a Link-paginated listing, and Buildkite's ``next`` URL."""
        return await link_list_page(
            self.http,
            path,
            params,
            cursor=cursor,
            per_page=self._page_size(page_size),
            convert=convert,
            updated=updated,
        )
