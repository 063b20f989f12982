"""The HTTP client every provider adapter uses.

:class:`HttpClient` puts the transport's policies in one place: credentials
(:class:`~kradle_providers.auth.scheme.AuthScheme`), retries with jittered
backoff and exact ``Retry-After``, idempotency-aware re-sending of writes, the
shared per-credential rate-limit budget, conditional GETs with an ETag cache,
typed errors, audit digests and redacted logging. It holds no vendor
knowledge: adapters give it a base URL, an auth scheme and, where they need
one, their own error mapper.
"""

from __future__ import annotations

import asyncio
import json as jsonlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Generic, Literal, TypeVar, overload

import httpx

from kradle_providers.auth import redact
from kradle_providers.auth.scheme import AuthScheme
from kradle_providers.clock import Clock, SystemClock, to_datetime
from kradle_providers.errors import (
    KradleError,
    ProviderError,
    RateLimited,
    TransientProviderError,
)
from kradle_providers.http.audit import (
    AuditHook,
    AuditOutcome,
    AuditRecord,
    call_audit_hooks,
    canonical_request_digest,
    response_digest,
)
from kradle_providers.http.conditional import (
    CachedEntry,
    CacheKey,
    ConditionalCache,
    ValidatorBackend,
)
from kradle_providers.http.errors import ErrorMapper, map_error_response
from kradle_providers.http.ratelimit import (
    SECONDARY_SCOPE,
    BudgetRegistry,
    BudgetSnapshot,
    OnExhausted,
    RateLimitBudget,
    is_rate_limit_refusal,
    parse_rate_limit_headers,
)
from kradle_providers.http.redaction import (
    redact_native,
    redact_url,
    register_request_credentials,
)
from kradle_providers.http.response import Response, StreamResponse
from kradle_providers.http.retry import RetryPolicy, is_idempotent_method, parse_retry_after
from kradle_providers.http.snapshot import current_snapshot

__all__ = ["DEFAULT_USER_AGENT", "HttpClient", "default_budget_registry"]

logger = logging.getLogger("kradle_providers.http")

T = TypeVar("T")

DEFAULT_USER_AGENT = "kradle-providers/0.1"
ANONYMOUS = "anonymous"

_default_registry = BudgetRegistry()

#: Failures that happen before the request left this process: always safe to retry.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout, httpx.UnsupportedProtocol)
#: Statuses that mean "the provider failed (or gave up) while handling it".
_TRANSIENT_STATUS = frozenset({408, 500, 502, 503, 504})


def default_budget_registry() -> BudgetRegistry:
    """The process-wide registry clients share unless given their own."""
    return _default_registry


def _log(level: int, message: str) -> None:
    if logger.isEnabledFor(level):
        logger.log(level, redact(message))


def _param_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _query_params(params: Mapping[str, Any] | None) -> list[tuple[str, str]]:
    pairs: list[tuple[str, str]] = []
    for name, value in (params or {}).items():
        if value is None:
            continue
        if isinstance(value, list | tuple):
            pairs.extend((name, _param_value(v)) for v in value if v is not None)
        else:
            pairs.append((name, _param_value(value)))
    return pairs


@dataclass
class _Recovered(Generic[T]):
    value: T


@dataclass
class _Call:
    method: str
    url: str
    headers: dict[str, str]
    content: bytes | None
    idempotency_key: str | None
    read_back: Callable[[], Awaitable[Any]] | None
    conditional: bool
    cost: int
    scope: str | None
    on_exhausted: OnExhausted
    stream: bool
    cache_key: CacheKey | None = None
    cached: CachedEntry | None = field(default=None, repr=False)

    @property
    def resendable(self) -> bool:
        """Whether re-sending after a lost response cannot duplicate a write."""
        return is_idempotent_method(self.method) or self.idempotency_key is not None


class HttpClient:
    """An async HTTP client for one provider API base URL and one credential.

    ``provider`` names the provider type in errors and audit records.
    ``transport`` replaces the network (``httpx.ASGITransport`` for in-process
    emulators, ``httpx.MockTransport`` in tests). ``budgets`` defaults to the
    process-wide registry so every client using the same credential and base
    URL shares one budget. ``cache=False`` disables conditional requests.
    ``idempotency_header`` is where ``idempotency_key`` is sent (None: the
    adapter carries the key some other way, e.g. in the body).
    ``on_exhausted`` decides what happens when the budget is at zero before
    reset: ``"wait"`` for the reset or ``"raise"`` :class:`RateLimited`.
    ``count_304=False`` refunds the budget for 304s (most providers do not
    charge them).
    """

    def __init__(
        self,
        base_url: str,
        *,
        provider: str,
        auth: AuthScheme | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        timeout: float | httpx.Timeout = 30.0,
        retry: RetryPolicy | None = None,
        budgets: BudgetRegistry | None = None,
        cache: ConditionalCache | Literal[False] | None = None,
        clock: Clock | None = None,
        audit_hooks: Sequence[AuditHook] = (),
        user_agent: str = DEFAULT_USER_AGENT,
        headers: Mapping[str, str] | None = None,
        error_mapper: ErrorMapper | None = None,
        idempotency_header: str | None = "Idempotency-Key",
        on_exhausted: OnExhausted = "wait",
        count_304: bool = False,
    ) -> None:
        if not base_url.startswith(("http://", "https://")):
            raise ValueError(
                f"base_url must be an absolute http(s) URL, got {redact_url(base_url)!r}"
            )
        self.base_url = base_url.rstrip("/")
        self.provider = provider
        self.auth = auth
        self.retry = retry or RetryPolicy()
        self.clock: Clock = clock or SystemClock()
        self.cache: ConditionalCache | None = (
            None if cache is False else (cache if cache is not None else ConditionalCache())
        )
        self.audit_hooks: list[AuditHook] = list(audit_hooks)
        self.user_agent = user_agent
        self.default_headers: dict[str, str] = dict(headers or {})
        self.error_mapper: ErrorMapper = error_mapper or map_error_response
        self.idempotency_header = idempotency_header
        self.on_exhausted: OnExhausted = on_exhausted
        self.count_304 = count_304
        self.budgets = budgets or default_budget_registry()
        self.validators: ValidatorBackend | None = None
        self._http = httpx.AsyncClient(transport=transport, timeout=timeout, follow_redirects=True)

    def share_validators_with(self, backend: ValidatorBackend | None) -> None:
        """Keep conditional-GET validators (and their bodies) in ``backend`` too.

        Lookups the in-memory cache misses go to ``backend``; every new entry is
        written through, so a later process revalidates instead of re-reading.
        ``None`` stops sharing. Has no effect when the client has no cache.
        """
        self.validators = backend

    # -- identity -------------------------------------------------------------

    @property
    def credential_id(self) -> str:
        """The non-secret id of the credential (``anonymous`` without auth)."""
        return self.auth.credential_id if self.auth is not None else ANONYMOUS

    @property
    def budget(self) -> RateLimitBudget:
        """This credential's shared rate-limit budget at this base URL."""
        return self.budgets.budget_for(self.credential_id, self.base_url)

    def budget_snapshot(self) -> list[BudgetSnapshot]:
        """What the host may show: limit, remaining, reset time per scope."""
        return self.budget.snapshot()

    def url_for(self, path_or_url: str, params: Mapping[str, Any] | None = None) -> str:
        """The absolute URL of a path (relative to ``base_url``) with ``params`` merged."""
        if path_or_url.startswith(("http://", "https://")):
            url = httpx.URL(path_or_url)
        else:
            url = httpx.URL(f"{self.base_url}/{path_or_url.lstrip('/')}")
        pairs = _query_params(params)
        if pairs:
            merged: list[tuple[str, str | int | float | bool | None]] = [
                *url.params.multi_items(),
                *pairs,
            ]
            url = url.copy_with(params=httpx.QueryParams(merged))
        return str(url)

    # -- lifecycle ------------------------------------------------------------

    async def aclose(self) -> None:
        """Close pooled connections."""
        await self._http.aclose()

    async def __aenter__(self) -> HttpClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    def __repr__(self) -> str:
        return (
            f"HttpClient(provider={self.provider!r}, base_url={redact_url(self.base_url)!r}, "
            f"credential_id={redact(self.credential_id)!r})"
        )

    # -- public API -----------------------------------------------------------

    @overload
    async def request(
        self,
        method: str,
        path_or_url: str,
        *,
        params: Mapping[str, Any] | None = ...,
        json: Any = ...,
        content: bytes | None = ...,
        headers: Mapping[str, str] | None = ...,
        idempotency_key: str | None = ...,
        read_back: None = ...,
        conditional: bool = ...,
        budget_cost: int = ...,
        budget_scope: str | None = ...,
        on_exhausted: OnExhausted | None = ...,
    ) -> Response: ...

    @overload
    async def request(
        self,
        method: str,
        path_or_url: str,
        *,
        params: Mapping[str, Any] | None = ...,
        json: Any = ...,
        content: bytes | None = ...,
        headers: Mapping[str, str] | None = ...,
        idempotency_key: str | None = ...,
        read_back: Callable[[], Awaitable[T | None]],
        conditional: bool = ...,
        budget_cost: int = ...,
        budget_scope: str | None = ...,
        on_exhausted: OnExhausted | None = ...,
    ) -> Response | T: ...

    async def request(
        self,
        method: str,
        path_or_url: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        content: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        idempotency_key: str | None = None,
        read_back: Callable[[], Awaitable[Any]] | None = None,
        conditional: bool = True,
        budget_cost: int = 1,
        budget_scope: str | None = None,
        on_exhausted: OnExhausted | None = None,
    ) -> Any:
        """Send a request with every transport policy applied; return the read response.

        Non-2xx answers raise typed errors (see :mod:`kradle_providers.http.errors`).
        POST/PATCH are re-sent after a lost response only with ``idempotency_key``
        (sent in the configured header) or ``read_back``: the latter is called
        first and, when it finds the object the lost write created, its result
        is returned instead of re-sending. ``conditional`` uses the ETag cache
        for GETs. ``budget_cost``/``budget_scope`` say what the call spends.
        """
        call = self._prepare(
            method,
            path_or_url,
            params=params,
            json=json,
            content=content,
            headers=headers,
            idempotency_key=idempotency_key,
            read_back=read_back,
            conditional=conditional,
            budget_cost=budget_cost,
            budget_scope=budget_scope,
            on_exhausted=on_exhausted,
            stream=False,
        )
        outcome, attempts = await self._exchange(call)
        if isinstance(outcome, _Recovered):
            return outcome.value
        if isinstance(outcome, Response):
            return outcome
        return Response(
            method=call.method,
            url=str(outcome.url),
            status_code=outcome.status_code,
            headers=outcome.headers,
            content=outcome.content,
            attempts=attempts,
        )

    async def get(
        self,
        path_or_url: str,
        *,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        conditional: bool = True,
        budget_cost: int = 1,
        budget_scope: str | None = None,
        max_age: float | None = None,
    ) -> Response:
        """GET (conditional by default).

        ``max_age`` (seconds) answers from the stored body while it is younger
        than that, without a request: for discovery reads (server flavour, the
        user's time zone) that change rarely and that every new process would
        otherwise repeat. Stored with the validators (see
        :meth:`share_validators_with`), so a later process reuses it too.
        Inside a :func:`~kradle_providers.http.snapshot.read_snapshot` scope,
        an identical conditional GET asked again shares the first answer (once).
        """
        snapshot = current_snapshot() if conditional else None
        key: CacheKey | None = None
        if (max_age is not None or snapshot is not None) and self.cache is not None:
            accept = next((v for k, v in (headers or {}).items() if k.lower() == "accept"), None)
            url = self.url_for(path_or_url, params)
            key = self.cache.key(self.credential_id, "GET", url, accept)
        send = partial(
            self._get, path_or_url, params, headers, conditional, budget_cost, budget_scope,
            key if max_age is not None else None, max_age,
        )  # fmt: skip
        if key is None or snapshot is None:
            return await send()
        shared = snapshot.take(key)
        if shared is not None:
            try:
                answer: Response = await asyncio.shield(shared)
                return answer
            except asyncio.CancelledError:
                if not shared.cancelled():
                    raise  # this caller was cancelled
                # The read it waited for was cancelled: read for itself.
        future = snapshot.start(key)
        try:
            response = await send()
        except BaseException as exc:
            # Whoever waits for it fails alike; a later ask sends again.
            snapshot.drop(key, future)
            if isinstance(exc, asyncio.CancelledError):
                future.cancel()
            else:
                future.set_exception(exc)
                future.exception()  # marked retrieved: no "never retrieved" warning
            raise
        future.set_result(response)
        return response

    async def _get(
        self,
        path_or_url: str,
        params: Mapping[str, Any] | None,
        headers: Mapping[str, str] | None,
        conditional: bool,
        budget_cost: int,
        budget_scope: str | None,
        key: CacheKey | None,
        max_age: float | None,
    ) -> Response:
        if key is not None and max_age is not None:
            fresh = await self._fresh(key, max_age)
            if fresh is not None:
                return fresh
        response = await self.request(
            "GET",
            path_or_url,
            params=params,
            headers=headers,
            conditional=conditional,
            budget_cost=budget_cost,
            budget_scope=budget_scope,
        )
        if key is not None and self.cache is not None and response.is_success:
            entry = CachedEntry(
                etag=response.headers.get("etag"),
                last_modified=response.headers.get("last-modified"),
                status_code=response.status_code,
                headers=tuple(response.headers.multi_items()),
                content=response.content,
                stored_at=self.clock.now(),
            )
            await self._keep(key, entry)
        return response

    async def _keep(self, key: CacheKey, entry: CachedEntry) -> None:
        """Cache ``entry`` and write it through to the shared validators, if any."""
        assert self.cache is not None
        self.cache.put(key, entry)
        if self.validators is not None:
            await self.validators.put(key, entry.storable())

    async def _fresh(self, key: CacheKey, max_age: float) -> Response | None:
        """The stored answer under ``key`` when younger than ``max_age`` seconds."""
        assert self.cache is not None
        entry = self.cache.get(key)
        if (entry is None or entry.stored_at is None) and self.validators is not None:
            entry = await self.validators.get(key)
        if entry is None or entry.stored_at is None:
            return None
        if self.clock.now() - entry.stored_at > max_age:
            return None
        self.cache.put(key, entry)
        return Response(
            method="GET",
            url=key[2],
            status_code=entry.status_code,
            headers=httpx.Headers(list(entry.headers)),
            content=entry.content,
            from_cache=True,
        )

    @overload
    async def post(
        self,
        path_or_url: str,
        *,
        json: Any = ...,
        params: Mapping[str, Any] | None = ...,
        headers: Mapping[str, str] | None = ...,
        idempotency_key: str | None = ...,
        read_back: None = ...,
        budget_cost: int = ...,
    ) -> Response: ...

    @overload
    async def post(
        self,
        path_or_url: str,
        *,
        json: Any = ...,
        params: Mapping[str, Any] | None = ...,
        headers: Mapping[str, str] | None = ...,
        idempotency_key: str | None = ...,
        read_back: Callable[[], Awaitable[T | None]],
        budget_cost: int = ...,
    ) -> Response | T: ...

    async def post(
        self,
        path_or_url: str,
        *,
        json: Any = None,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        idempotency_key: str | None = None,
        read_back: Callable[[], Awaitable[Any]] | None = None,
        budget_cost: int = 1,
    ) -> Any:
        """POST; re-sent after a lost response only with ``idempotency_key`` or ``read_back``."""
        return await self.request(
            "POST",
            path_or_url,
            json=json,
            params=params,
            headers=headers,
            idempotency_key=idempotency_key,
            read_back=read_back,
            budget_cost=budget_cost,
        )

    @overload
    async def patch(
        self,
        path_or_url: str,
        *,
        json: Any = ...,
        params: Mapping[str, Any] | None = ...,
        headers: Mapping[str, str] | None = ...,
        idempotency_key: str | None = ...,
        read_back: None = ...,
        budget_cost: int = ...,
    ) -> Response: ...

    @overload
    async def patch(
        self,
        path_or_url: str,
        *,
        json: Any = ...,
        params: Mapping[str, Any] | None = ...,
        headers: Mapping[str, str] | None = ...,
        idempotency_key: str | None = ...,
        read_back: Callable[[], Awaitable[T | None]],
        budget_cost: int = ...,
    ) -> Response | T: ...

    async def patch(
        self,
        path_or_url: str,
        *,
        json: Any = None,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        idempotency_key: str | None = None,
        read_back: Callable[[], Awaitable[Any]] | None = None,
        budget_cost: int = 1,
    ) -> Any:
        """PATCH; re-sent after a lost response only with ``idempotency_key`` or ``read_back``."""
        return await self.request(
            "PATCH",
            path_or_url,
            json=json,
            params=params,
            headers=headers,
            idempotency_key=idempotency_key,
            read_back=read_back,
            budget_cost=budget_cost,
        )

    async def put(
        self,
        path_or_url: str,
        *,
        json: Any = None,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        budget_cost: int = 1,
    ) -> Response:
        """PUT (idempotent: retried freely)."""
        return await self.request(
            "PUT", path_or_url, json=json, params=params, headers=headers, budget_cost=budget_cost
        )

    async def delete(
        self,
        path_or_url: str,
        *,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        budget_cost: int = 1,
    ) -> Response:
        """DELETE (idempotent: retried freely)."""
        return await self.request(
            "DELETE", path_or_url, params=params, headers=headers, budget_cost=budget_cost
        )

    @asynccontextmanager
    async def stream(
        self,
        method: str,
        path_or_url: str,
        *,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        json: Any = None,
        budget_cost: int = 1,
        budget_scope: str | None = None,
    ) -> AsyncIterator[StreamResponse]:
        """Open a lazily read 2xx response (job logs, artifacts).

        Retries, auth and budgets apply until the response headers arrive;
        the body is then read as the caller iterates. Errors raise as for
        :meth:`request`.
        """
        call = self._prepare(
            method,
            path_or_url,
            params=params,
            json=json,
            content=None,
            headers=headers,
            idempotency_key=None,
            read_back=None,
            conditional=False,
            budget_cost=budget_cost,
            budget_scope=budget_scope,
            on_exhausted=None,
            stream=True,
        )
        outcome, attempts = await self._exchange(call)
        if not isinstance(outcome, httpx.Response):  # pragma: no cover - conditional is off
            raise TypeError("stream() produced no open response")
        try:
            yield StreamResponse(outcome, attempts=attempts)
        finally:
            await outcome.aclose()

    # -- machinery ------------------------------------------------------------

    def _prepare(
        self,
        method: str,
        path_or_url: str,
        *,
        params: Mapping[str, Any] | None,
        json: Any,
        content: bytes | None,
        headers: Mapping[str, str] | None,
        idempotency_key: str | None,
        read_back: Callable[[], Awaitable[Any]] | None,
        conditional: bool,
        budget_cost: int,
        budget_scope: str | None,
        on_exhausted: OnExhausted | None,
        stream: bool,
    ) -> _Call:
        method = method.upper()
        merged: dict[str, str] = {"User-Agent": self.user_agent, **self.default_headers}
        merged.update(headers or {})
        body = content
        if json is not None:
            if content is not None:
                raise ValueError("pass either json= or content=, not both")
            body = jsonlib.dumps(json, separators=(",", ":")).encode()
            if not any(k.lower() == "content-type" for k in merged):
                merged["Content-Type"] = "application/json"
        if idempotency_key is not None and self.idempotency_header:
            merged[self.idempotency_header] = idempotency_key
        call = _Call(
            method=method,
            url=self.url_for(path_or_url, params),
            headers=merged,
            content=body,
            idempotency_key=idempotency_key,
            read_back=read_back,
            conditional=conditional,
            cost=budget_cost,
            scope=budget_scope,
            on_exhausted=on_exhausted or self.on_exhausted,
            stream=stream,
        )
        if self.cache is not None and conditional and method == "GET" and not stream:
            accept = next((v for k, v in merged.items() if k.lower() == "accept"), None)
            call.cache_key = self.cache.key(self.credential_id, method, call.url, accept)
        return call

    async def _build(self, call: _Call) -> httpx.Request:
        headers = dict(call.headers)
        call.cached = None
        if call.cache_key is not None and self.cache is not None:
            call.cached = self.cache.get(call.cache_key)
            if call.cached is None and self.validators is not None:
                call.cached = await self.validators.get(call.cache_key)
                if call.cached is not None:
                    self.cache.put(call.cache_key, call.cached)
            if call.cached is not None:
                headers.update(call.cached.conditional_headers())
        request = self._http.build_request(
            call.method, call.url, headers=headers, content=call.content
        )
        if self.auth is not None:
            await self.auth.authorize(request)
        register_request_credentials(call.url, request.headers.multi_items())
        return request

    async def _audit(
        self,
        call: _Call,
        request: httpx.Request,
        *,
        attempt: int,
        started_at: float,
        duration: float,
        outcome: AuditOutcome,
        status: int | None = None,
        body: bytes | None = None,
        error: str | None = None,
    ) -> None:
        if not self.audit_hooks:
            return
        record = AuditRecord(
            provider=self.provider,
            credential_id=redact(self.credential_id),
            method=call.method,
            url=redact_url(call.url),
            request_digest=canonical_request_digest(
                call.method, call.url, request.headers.multi_items(), call.content or b""
            ),
            attempt=attempt,
            started_at=started_at,
            duration_s=duration,
            outcome=outcome,
            status=status,
            response_digest=response_digest(status, body)
            if status is not None and body is not None
            else None,
            idempotency_key=redact(call.idempotency_key) if call.idempotency_key else None,
            error=redact(error) if error else None,
        )
        await call_audit_hooks(self.audit_hooks, record)

    async def _exchange(
        self, call: _Call
    ) -> tuple[httpx.Response | Response | _Recovered[Any], int]:
        """Run the attempt loop; return the outcome and the number of sends."""
        budget = self.budget
        attempt = 0
        auth_retried = False
        where = f"{call.method} {redact_url(call.url)}"
        while True:
            attempt += 1
            await budget.acquire(
                self.clock,
                cost=call.cost,
                scope=call.scope,
                on_exhausted=call.on_exhausted,
                provider=self.provider,
            )
            request = await self._build(call)
            started_at = self.clock.now()
            t0 = time.perf_counter()
            raw: httpx.Response | None = None
            try:
                raw = await self._http.send(request, stream=True)
                if not (call.stream and raw.is_success):
                    await raw.aread()
            except httpx.TransportError as exc:
                if raw is not None:
                    await raw.aclose()
                duration = time.perf_counter() - t0
                sent = not isinstance(exc, _NOT_SENT)
                reason = f"{type(exc).__name__}: {exc}"
                await self._audit(
                    call, request, attempt=attempt, started_at=started_at,
                    duration=duration, outcome="error", error=reason,
                )  # fmt: skip
                if not sent:
                    budget.refund(call.cost, call.scope)
                recovered = await self._after_lost(call, attempt, where, reason, sent=sent)
                if recovered is not None:
                    await self._audit(
                        call, request, attempt=attempt, started_at=started_at,
                        duration=time.perf_counter() - t0, outcome="recovered",
                    )  # fmt: skip
                    return recovered, attempt
                continue
            except httpx.RequestError as exc:
                # Not a network failure (too many redirects, undecodable body): not retryable.
                if raw is not None:
                    await raw.aclose()
                raise ProviderError(
                    f"{where} failed: {redact(f'{type(exc).__name__}: {exc}')}. Check the "
                    "provider's base URL and response; this is not a transient failure.",
                    provider=self.provider,
                ) from None
            duration = time.perf_counter() - t0
            status = raw.status_code
            body = b"" if call.stream and raw.is_success else raw.content
            from_cache = status == 304 and call.cached is not None
            if from_cache and not self.count_304:
                budget.refund(call.cost, call.scope)
            info = parse_rate_limit_headers(raw.headers, self.clock.now())
            if info is not None:
                budget.observe(info, scope=call.scope)
            await self._audit(
                call, request, attempt=attempt, started_at=started_at, duration=duration,
                outcome="not_modified" if from_cache else "response", status=status, body=body,
            )  # fmt: skip
            _log(
                logging.DEBUG,
                f"{where} -> {status} (attempt {attempt}, {duration * 1000:.0f} ms"
                f"{', from cache' if from_cache else ''})",
            )
            if from_cache and call.cached is not None:
                cached = call.cached
                return (
                    Response(
                        method=call.method,
                        url=str(raw.url),
                        status_code=cached.status_code,
                        headers=httpx.Headers(list(cached.headers)),
                        content=cached.content,
                        from_cache=True,
                        revalidated_status=304,
                        attempts=attempt,
                    ),
                    attempt,
                )
            if raw.is_success:
                await self._remember(call, raw)
                return raw, attempt
            if status == 401 and self.auth is not None and not auth_retried:
                auth_retried = True
                if await self.auth.refresh_after_refusal(raw):
                    _log(logging.INFO, f"{where} -> 401; credential refreshed, sending once more")
                    # The refreshed send does not use up a retry.
                    attempt -= 1
                    continue
            response = self._as_response(call, raw, attempt)
            if is_rate_limit_refusal(status, raw.headers, response.text):
                await self._wait_for_rate_limit(call, response, attempt, budget)
                continue
            if status in _TRANSIENT_STATUS:
                reason = f"the provider answered {status}"
                if call.resendable or call.read_back is not None:
                    retry_after = parse_retry_after(
                        raw.headers.get("retry-after"), self.clock.now()
                    )
                    recovered = await self._after_lost(
                        call, attempt, where, reason, sent=True, response=response,
                        server_wait=retry_after,
                    )  # fmt: skip
                    if recovered is not None:
                        await self._audit(
                            call, request, attempt=attempt, started_at=started_at,
                            duration=time.perf_counter() - t0, outcome="recovered",
                        )  # fmt: skip
                        return recovered, attempt
                    continue
                raise self._not_resent_error(call, where, reason, response)
            raise self.error_mapper(response, self.provider)

    async def _remember(self, call: _Call, raw: httpx.Response) -> None:
        if self.cache is None:
            return
        if call.cache_key is not None and not call.stream:
            etag = raw.headers.get("etag")
            last_modified = raw.headers.get("last-modified")
            if etag or last_modified:
                entry = CachedEntry(
                    etag=etag,
                    last_modified=last_modified,
                    status_code=raw.status_code,
                    headers=tuple(raw.headers.multi_items()),
                    content=raw.content,
                )
                await self._keep(call.cache_key, entry)
        elif call.method not in ("GET", "HEAD", "OPTIONS"):
            # A write makes the cached GET of the same URL stale.
            accept = next((v for k, v in call.headers.items() if k.lower() == "accept"), None)
            key = self.cache.key(self.credential_id, "GET", call.url, accept)
            self.cache.invalidate(key)
            if self.validators is not None:
                await self.validators.invalidate(key)

    @staticmethod
    def _as_response(call: _Call, raw: httpx.Response, attempt: int) -> Response:
        return Response(
            method=call.method,
            url=str(raw.url),
            status_code=raw.status_code,
            headers=raw.headers,
            content=raw.content,
            attempts=attempt,
        )

    async def _after_lost(
        self,
        call: _Call,
        attempt: int,
        where: str,
        reason: str,
        *,
        sent: bool,
        response: Response | None = None,
        server_wait: float | None = None,
    ) -> _Recovered[Any] | None:
        """Decide what follows a lost or failed attempt: recover, retry (after a wait) or raise."""
        if sent and not call.resendable and call.read_back is None:
            raise self._not_resent_error(call, where, reason, response)
        if sent and call.read_back is not None:
            found = await call.read_back()
            if found is not None:
                _log(logging.INFO, f"{where}: {reason}; read-back found the write, not re-sending")
                return _Recovered(found)
        if not self.retry.can_retry(attempt):
            native = redact_native(response.content) if response is not None else None
            raise TransientProviderError(
                f"{where} failed after {attempt} attempt(s) (last: {redact(reason)}). "
                "The provider is unreachable or failing; retry later, or raise "
                "RetryPolicy.max_attempts if this is expected.",
                provider=self.provider,
                status=response.status_code if response is not None else None,
                native=native,
            )
        wait = server_wait if server_wait is not None else self.retry.backoff(attempt)
        if wait > self.retry.max_server_wait:
            native = redact_native(response.content) if response is not None else None
            raise TransientProviderError(
                f"{where}: {redact(reason)} and the provider asked to wait {wait:.0f}s, longer "
                f"than RetryPolicy.max_server_wait ({self.retry.max_server_wait:.0f}s); "
                "retry later.",
                provider=self.provider,
                status=response.status_code if response is not None else None,
                native=native,
            )
        _log(
            logging.WARNING,
            f"{where}: {reason}; retrying in {wait:.2f}s "
            f"(attempt {attempt + 1} of {self.retry.max_attempts})",
        )
        await self.clock.sleep(wait)
        return None

    def _not_resent_error(
        self, call: _Call, where: str, reason: str, response: Response | None
    ) -> TransientProviderError:
        return TransientProviderError(
            f"{where}: the response was lost ({redact(reason)}) after the request was sent. "
            f"It was NOT re-sent because a repeated {call.method} could create a duplicate. "
            "Check whether the write happened before retrying, or pass idempotency_key= or "
            "read_back= so the client can recover safely.",
            provider=self.provider,
            status=response.status_code if response is not None else None,
            native=redact_native(response.content) if response is not None else None,
        )

    async def _wait_for_rate_limit(
        self, call: _Call, response: Response, attempt: int, budget: RateLimitBudget
    ) -> None:
        """Wait as the provider asked before re-sending a rate-limited request.

        A rate-limit refusal means the request was not processed, so even a
        POST without idempotency key may be re-sent.
        """
        now = self.clock.now()
        retry_after = parse_retry_after(response.headers.get("retry-after"), now)
        info = parse_rate_limit_headers(response.headers, now)
        if retry_after is not None:
            wait = retry_after
            scope = (
                SECONDARY_SCOPE if response.status_code == 403 else (info.scope if info else None)
            )
        elif info is not None and info.remaining == 0 and info.reset_at is not None:
            wait = max(0.0, info.reset_at - now)
            scope = info.scope
        else:
            wait = self.retry.backoff(attempt)
            scope = SECONDARY_SCOPE
        where = f"{call.method} {redact_url(call.url)}"
        give_up = (
            not self.retry.can_retry(attempt)
            or wait > self.retry.max_server_wait
            or (call.on_exhausted == "raise" and wait > 0)
        )
        if give_up:
            mapped: KradleError = self.error_mapper(response, self.provider)
            native = (
                mapped.native
                if isinstance(mapped, RateLimited)
                else redact_native(response.content)
            )
            raise RateLimited(
                f"{where} was rate limited ({response.status_code}) after {attempt} attempt(s); "
                f"the provider asks to wait {wait:.0f}s. Retry after reset_at, or lower the "
                "request rate for this credential.",
                reset_at=to_datetime(now + wait),
                scope=scope,
                retry_after=wait,
                provider=self.provider,
                status=response.status_code,
                native=native,
            ) from mapped
        # Everyone sharing the credential pauses, not just this task.
        budget.block_until(now + wait)
        _log(
            logging.WARNING,
            f"{where} -> {response.status_code} rate limited; waiting {wait:.2f}s "
            f"(attempt {attempt + 1} of {self.retry.max_attempts})",
        )
        await self.clock.sleep(wait)
