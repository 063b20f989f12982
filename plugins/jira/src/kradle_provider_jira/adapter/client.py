"""How the Jira adapter talks HTTP: base URL, credentials, flavour, errors, paging.

Transport policy (retries, ``Retry-After``, budgets, redaction) is
:class:`kradle_providers.http.HttpClient`'s job; this module only describes
Jira's conventions to it:

- the base URL is the site (``https://acme.atlassian.net``) or a Data Center
  base (``https://jira.example.com`` or ``https://host/jira``);
- credentials from :class:`~kradle_providers.plugins.spec.ProviderConfig`:
  :class:`~kradle_providers.auth.BasicAuth` (Cloud email + API token, or DC
  username + password/token), :class:`~kradle_providers.auth.BearerAuth`
  (DC personal access token, Cloud OAuth 2.0 access token), any other
  :class:`~kradle_providers.auth.scheme.AuthScheme`; a bare ``Secret``/``str``
  is sent as a bearer token;
- the flavour: Cloud speaks REST v3 (ADF bodies), Data Center REST v2 (wiki
  markup). ``options["flavor"]`` says which; otherwise the adapter asks
  ``GET /rest/api/2/serverInfo`` once (``deploymentType == "Cloud"`` -> cloud)
  and remembers the answer for :data:`DISCOVERY_AGE` (across processes when the
  client shares its validators with a store, as a backfill does);
- Jira's error bodies (``errorMessages`` + ``errors``) turned into typed errors
  that quote what Jira said.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal, cast
from urllib.parse import quote, urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from kradle_providers.auth import BasicAuth, BearerAuth, Secret
from kradle_providers.auth.scheme import AuthScheme
from kradle_providers.errors import (
    AuthenticationError,
    InvalidInput,
    KradleError,
    NotFound,
    ProviderError,
)
from kradle_providers.http import (
    Checkpoint,
    Clock,
    HttpClient,
    PageRequest,
    PaginationStrategy,
    ProviderRejectedInput,
    Response,
    RetryPolicy,
    fetch_page,
    map_error_response,
)
from kradle_providers.http.redaction import redact_native, redact_url
from kradle_providers.models.base import ExternalRef
from kradle_providers.plugins.spec import ProviderConfig
from kradle_providers.protocols.adapter import ProviderAdapter
from kradle_providers.protocols.page import decode_cursor, encode_cursor

__all__ = [
    "CLOUD_API",
    "DATACENTER_API",
    "MAX_PAGE_SIZE",
    "Flavor",
    "JiraBase",
    "JiraOptions",
    "auth_from_config",
    "flavor_from_server_info",
    "jira_error_mapper",
]

Flavor = Literal["cloud", "datacenter"]

#: REST path prefixes: Cloud v3 (ADF), Data Center v2 (wiki markup).
CLOUD_API = "/rest/api/3"
DATACENTER_API = "/rest/api/2"
#: Largest page the adapter asks for (Cloud caps full-field searches at 100).
MAX_PAGE_SIZE = 100
DEFAULT_PAGE_SIZE = 50

_FLAVOR_ALIASES: Mapping[str, Flavor] = {
    "cloud": "cloud",
    "datacenter": "datacenter",
    "data-center": "datacenter",
    "dc": "datacenter",
    "server": "datacenter",
}


def flavor_from_server_info(info: Any) -> Flavor:
    """The flavour a ``serverInfo`` body describes: ``Cloud`` -> cloud, else datacenter."""
    deployment = info.get("deploymentType") if isinstance(info, Mapping) else None
    return (
        "cloud" if isinstance(deployment, str) and deployment.lower() == "cloud" else "datacenter"
    )


DISCOVERY_AGE = 24 * 3600.0
"""Seconds a serverInfo / myself answer is reused (also by later processes sharing the
store's validators) before it is asked again: a site's flavour and a user's zone rarely move."""


def auth_from_config(auth: Any) -> AuthScheme | None:
    """The auth scheme for ``config.auth``.

    An :class:`AuthScheme` is used as is; a ``Secret``/``str`` is a bearer token
    (DC personal access token or Cloud OAuth access token); a mapping with
    ``email``/``username`` and ``token``/``password`` is HTTP basic (Cloud email
    + API token, DC username + password); ``None`` is anonymous.
    """
    if auth is None:
        return None
    if isinstance(auth, Secret | str):
        return BearerAuth(auth)
    if isinstance(auth, AuthScheme):
        return auth
    if isinstance(auth, Mapping):
        user = auth.get("email") or auth.get("username")
        password = auth.get("token") or auth.get("api_token") or auth.get("password")
        if isinstance(user, str) and isinstance(password, Secret | str):
            return BasicAuth(user, password)
    raise InvalidInput(
        f"unsupported Jira credential of type {type(auth).__name__}; pass BasicAuth(email, "
        "api_token) for Cloud, BearerAuth(personal_access_token) for Data Center, or a token "
        "as Secret",
        field="auth",
    )


def _jira_messages(native: Any) -> tuple[list[str], dict[str, str]]:
    messages: list[str] = []
    fields: dict[str, str] = {}
    if isinstance(native, Mapping):
        raw_messages = native.get("errorMessages")
        if isinstance(raw_messages, list):
            messages = [str(m) for m in raw_messages if m]
        raw_fields = native.get("errors")
        if isinstance(raw_fields, Mapping):
            fields = {str(k): str(v) for k, v in raw_fields.items()}
        if not messages and isinstance(native.get("message"), str):
            messages = [native["message"]]
    return messages, fields


def jira_error_mapper(response: Response, provider: str) -> KradleError:
    """The core mapping, refined with what Jira's ``errorMessages``/``errors`` say."""
    error = map_error_response(response, provider)
    native = redact_native(response.content)
    messages, fields = _jira_messages(native)
    said = "; ".join(messages + [f"{k}: {v}" for k, v in fields.items()])
    where = f"{response.method} {redact_url(response.url)} returned {response.status_code}"
    if isinstance(error, AuthenticationError):
        reason = response.headers.get("x-seraph-loginreason")
        return AuthenticationError(
            f"{where}{f' ({reason})' if reason else ''}{f': {said}' if said else ''}. Jira "
            "refused the credential: on Cloud use BasicAuth(account email, API token) or an "
            "OAuth 2.0 bearer token; on Data Center a personal access token as BearerAuth, or "
            "BasicAuth(username, password). Check the token has not expired or been revoked.",
            provider=provider,
            status=response.status_code,
            native=native,
        )
    if isinstance(error, NotFound):
        return NotFound(
            f"{where}: {said or 'not found'}. The issue, comment or project does not exist, "
            "or this credential may not browse it: check the key and the project permissions.",
            provider=provider,
            status=404,
            native=native,
        )
    if isinstance(error, ProviderRejectedInput) and said:
        return ProviderRejectedInput(
            f"{where}: Jira rejected the request: {said}. Correct the named field or value "
            "(fields must be on the issue's create/edit screen) and retry.",
            provider=provider,
            status=response.status_code,
            native=native,
            field=next(iter(fields), None),
        )
    return error


def _int_option(options: Mapping[str, Any], name: str, default: int) -> int:
    value = options.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_PAGE_SIZE:
        raise InvalidInput(
            f"{name} must be an integer from 1 to {MAX_PAGE_SIZE}, got {value!r}",
            field=f"options.{name}",
        )
    return value


@dataclass(frozen=True)
class JiraOptions:
    """Adapter options from ``ProviderConfig.options``.

    ``flavor``: ``cloud`` or ``datacenter`` (None: detect from serverInfo).
    ``page_size``: default items per listing page (1-100, default 50).
    ``on_rate_limit``: ``"wait"`` for the reset or ``"raise"`` RateLimited.
    ``site``: the web base for browse links when it differs from the API base
    (OAuth 2.0 via ``api.atlassian.com``).
    ``time_zone``: the IANA zone JQL times are read in (Jira uses the user's
    profile zone); None: ask ``GET /myself`` once, UTC if it does not say.
    ``issue_type``: the issue type created when the caller names none (``Task``).
    ``clock``/``retry``: transport clock and retry policy (tests inject fakes).
    """

    flavor: Flavor | None = None
    page_size: int = DEFAULT_PAGE_SIZE
    on_rate_limit: Literal["wait", "raise"] = "wait"
    site: str | None = None
    time_zone: str | None = None
    issue_type: str = "Task"
    clock: Clock | None = None
    retry: RetryPolicy | None = None

    @classmethod
    def from_mapping(cls, options: Mapping[str, Any]) -> JiraOptions:
        """Validate ``options``; unknown keys are refused so typos are not silent."""
        known = {
            "flavor",
            "page_size",
            "on_rate_limit",
            "site",
            "time_zone",
            "issue_type",
            "clock",
            "retry",
        }
        unknown = sorted(set(options) - known)
        if unknown:
            raise InvalidInput(
                f"unknown Jira option(s) {unknown}; known options are {sorted(known)}",
                field="options",
            )
        raw_flavor = options.get("flavor")
        flavor: Flavor | None = None
        if raw_flavor is not None:
            if not isinstance(raw_flavor, str) or raw_flavor.lower() not in _FLAVOR_ALIASES:
                raise InvalidInput(
                    f"flavor must be 'cloud' or 'datacenter' (or omitted to detect it), got "
                    f"{raw_flavor!r}",
                    field="options.flavor",
                )
            flavor = _FLAVOR_ALIASES[raw_flavor.lower()]
        on_rate_limit = options.get("on_rate_limit", "wait")
        if on_rate_limit not in ("wait", "raise"):
            raise InvalidInput(
                f"on_rate_limit must be 'wait' or 'raise', got {on_rate_limit!r}",
                field="options.on_rate_limit",
            )
        time_zone = options.get("time_zone")
        if time_zone is not None:
            _zone(time_zone, field="options.time_zone")
        issue_type = options.get("issue_type", "Task")
        if not isinstance(issue_type, str) or not issue_type:
            raise InvalidInput("issue_type must be a non-empty string", field="options.issue_type")
        site = options.get("site")
        if site is not None and not (isinstance(site, str) and site.startswith("http")):
            raise InvalidInput("site must be an absolute http(s) URL", field="options.site")
        retry = options.get("retry")
        if retry is not None and not isinstance(retry, RetryPolicy):
            raise InvalidInput("retry must be a RetryPolicy", field="options.retry")
        return cls(
            flavor=flavor,
            page_size=_int_option(options, "page_size", DEFAULT_PAGE_SIZE),
            on_rate_limit=cast(Literal["wait", "raise"], on_rate_limit),
            site=site.rstrip("/") if isinstance(site, str) else None,
            time_zone=time_zone,
            issue_type=issue_type,
            clock=options.get("clock"),
            retry=retry,
        )


def _zone(name: Any, *, field: str) -> ZoneInfo:
    try:
        return ZoneInfo(str(name))
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise InvalidInput(
            f"{name!r} is not an IANA time zone (e.g. 'UTC', 'Europe/Berlin')", field=field
        ) from exc


def _base_url(config: ProviderConfig) -> str:
    base = (config.api_base_url or "").strip().rstrip("/")
    parts = urlsplit(base)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise InvalidInput(
            "Jira needs the site as api_base_url: https://YOUR-SITE.atlassian.net for Cloud "
            "or your Data Center base URL (https://jira.example.com)"
            + (f"; got {redact_url(base)!r}" if base else ""),
            field="api_base_url",
        )
    return base


class JiraBase(ProviderAdapter):
    """State and helpers shared by the issue and comment operations."""

    provider_type = "jira"

    def __init__(self, config: ProviderConfig | None = None) -> None:
        config = config or ProviderConfig()
        super().__init__(instance=config.instance)
        self.config = config
        self.options = JiraOptions.from_mapping(config.options)
        self.base_url = _base_url(config)
        self.http = HttpClient(
            self.base_url,
            provider="jira",
            auth=auth_from_config(config.auth),
            transport=config.transport,
            clock=self.options.clock,
            retry=self.options.retry,
            headers={"Accept": "application/json"},
            error_mapper=jira_error_mapper,
            # Jira has no idempotency header: keys travel as issue/comment properties.
            idempotency_header=None,
            on_exhausted=self.options.on_rate_limit,
        )
        self._flavor: Flavor | None = self.options.flavor
        self._zone: ZoneInfo | None = (
            _zone(self.options.time_zone, field="options.time_zone")
            if self.options.time_zone
            else None
        )
        self._lock = asyncio.Lock()

    async def aclose(self) -> None:
        """Close the HTTP client (not the caller's auth scheme)."""
        await self.http.aclose()

    # -- discovery ------------------------------------------------------------

    async def flavor(self) -> Flavor:
        """``cloud`` or ``datacenter``: configured, else detected once from serverInfo."""
        if self._flavor is None:
            async with self._lock:
                if self._flavor is None:
                    # v2 serverInfo exists on both Cloud and Data Center.
                    info = (
                        await self.http.get(f"{DATACENTER_API}/serverInfo", max_age=DISCOVERY_AGE)
                    ).json()
                    self._flavor = flavor_from_server_info(info)
        return self._flavor

    async def api(self) -> str:
        """The REST prefix for this flavour (``/rest/api/3`` or ``/rest/api/2``)."""
        return CLOUD_API if await self.flavor() == "cloud" else DATACENTER_API

    async def time_zone(self) -> ZoneInfo:
        """The zone Jira reads JQL times in: the user's profile zone (``/myself``), else UTC."""
        if self._zone is None:
            zone = ZoneInfo("UTC")
            try:
                me = (
                    await self.http.get(f"{await self.api()}/myself", max_age=DISCOVERY_AGE)
                ).json()
            except (NotFound, ProviderRejectedInput):
                me = None
            name = me.get("timeZone") if isinstance(me, Mapping) else None
            if isinstance(name, str) and name:
                try:
                    zone = ZoneInfo(name)
                except (ZoneInfoNotFoundError, ValueError):
                    zone = ZoneInfo("UTC")
            self._zone = zone
        return self._zone

    @property
    def site(self) -> str | None:
        """The web base for browse links (None: derived from each object's ``self``)."""
        return self.options.site

    # -- small helpers --------------------------------------------------------

    def _project(self, ref: ExternalRef) -> str:
        if not ref.project:
            raise InvalidInput(
                f"Jira needs a project key in the reference, got {ref.slug()!r}; pass "
                "ExternalRef(project='WID')",
                field="ref",
            )
        return ref.project

    @staticmethod
    def _path_id(value: str, what: str) -> str:
        value = str(value).strip()
        if not value:
            raise InvalidInput(f"the {what} is empty; pass a key like WID-42 or an id", field=what)
        return quote(value, safe="")

    def _page_size(self, page_size: int | None) -> int:
        size = page_size if page_size is not None else self.options.page_size
        if not 1 <= size <= MAX_PAGE_SIZE:
            raise InvalidInput(
                f"page_size must be from 1 to {MAX_PAGE_SIZE} on Jira, got {size}",
                field="page_size",
            )
        return size

    async def _one_page(
        self,
        strategy: PaginationStrategy,
        request: PageRequest,
        checkpoint: Mapping[str, Any] | None,
    ) -> tuple[list[Any], dict[str, Any] | None]:
        """One native page through the shared pagination driver, and the next checkpoint."""
        resume = Checkpoint.from_dict(checkpoint) if checkpoint else None
        result = await fetch_page(self.http, strategy, request, checkpoint=resume)
        return result.items, (result.checkpoint.to_dict() if result.checkpoint else None)

    @staticmethod
    def _cursor(kind: str, state: Mapping[str, Any]) -> str:
        return encode_cursor({"kind": kind, **state})

    @staticmethod
    def _decode(kind: str, cursor: str) -> dict[str, Any]:
        state = decode_cursor(cursor)
        if state.get("kind") != kind:
            raise InvalidInput(
                f"this cursor belongs to another listing, not {kind}; pass back the "
                "`next_cursor` of the same listing unchanged",
                field="cursor",
            )
        return state


def require_mapping(body: Any, what: str) -> Mapping[str, Any]:
    """``body`` as a mapping, or a ProviderError naming what Jira returned instead."""
    if not isinstance(body, Mapping):
        raise ProviderError(
            f"Jira returned {type(body).__name__} for {what}, expected a JSON object; check "
            "that api_base_url points at the Jira site, not at a proxy or login page",
            provider="jira",
        )
    return body
