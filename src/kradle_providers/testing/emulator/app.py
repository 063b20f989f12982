"""The emulator base: an ASGI application that behaves like a provider's API.

:class:`EmulatorApp` gives a vendor emulator everything that is not the
vendor's data model: routing, a typed in-memory store, a request log, strict
handling of unmatched routes, an authentication hook, error bodies in the
provider's format, rate-limit accounting with headers, ETag/Last-Modified and
304s, pagination, fault injection and signed webhook emission. A vendor
emulator is then mostly its handlers::

    class WidgetEmulator(EmulatorApp):
        provider = "widgets"

        def __init__(self) -> None:
            super().__init__(rate_limit=RateLimitPolicy(limit=100))
            self.widgets = self.store.collection("widgets")
            self.route("GET", "/widgets", self.list_widgets, name="listWidgets")

        async def list_widgets(self, ctx: RequestContext) -> Response:
            return ctx.paginate(self.widgets.all())

Per request the order is: latency, fault rules, route match (unmatched ->
provider 404, recorded in :attr:`EmulatorApp.unmatched`), authentication,
rate limit, handler, conditional (304, refunded), rate-limit headers, log.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any

import httpx
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from kradle_providers.auth.secret import redact
from kradle_providers.clock import Now, system_clock
from kradle_providers.testing.emulator.conditional import (
    ConditionalPolicy,
    compute_etag,
    is_not_modified,
    not_modified,
)
from kradle_providers.testing.emulator.faults import (
    SIGNAL_SCOPE_KEY,
    FaultInjector,
    FaultKind,
    FaultSignal,
    Rule,
)
from kradle_providers.testing.emulator.pagination import (
    LinkPagination,
    PaginationError,
    PaginationStyle,
)
from kradle_providers.testing.emulator.ratelimit import RateLimiter, RateLimitPolicy
from kradle_providers.testing.emulator.requestlog import (
    LoggedRequest,
    RequestLog,
    scrub_body,
    scrub_headers,
)
from kradle_providers.testing.emulator.routing import (
    EmulatorHTTPError,
    Handler,
    Principal,
    RequestContext,
    Router,
    json_bytes,
)
from kradle_providers.testing.emulator.state import Store
from kradle_providers.testing.emulator.transport import EmulatorTransport
from kradle_providers.testing.emulator.webhooks import WebhookEmitter

if TYPE_CHECKING:
    from kradle_providers.testing.emulator.server import LoopbackServer

__all__ = ["AuthHook", "AuthOutcome", "EmulatorApp", "ErrorFormatter", "Sleep"]

AuthOutcome = Principal | str | Response | None
"""What an authentication hook returns: a principal (or its credential id),
``None`` for an anonymous request, or the provider's refusal (its 401)."""

AuthHook = Callable[[RequestContext], Awaitable[AuthOutcome] | AuthOutcome]
ErrorFormatter = Callable[[int, str, Mapping[str, Any]], Any]
"""``(status, message, extra) -> body``: the provider's error body shape."""
Sleep = Callable[[float], Awaitable[None]]

_NO_ANSWER = 0  # logged status when the client got no answer and nothing ran


def default_error_body(status: int, message: str, extra: Mapping[str, Any]) -> Any:
    """``{"message": …, **extra}``: the default error body."""
    return {"message": message, **extra}


class EmulatorApp:
    """Base class (or ready-made instance) of a provider emulator.

    Parameters (all keyword):

    - ``provider``: the provider type it emulates (also a class attribute).
    - ``clock``: time source for timestamps, rate-limit windows, logs.
    - ``base_path``: prefix of every route (``/api/v3``, ``/rest/api/3``).
    - ``base_url``: the origin the in-process client uses.
    - ``error_formatter``: the provider's error body (see :data:`ErrorFormatter`);
      subclasses may override :meth:`format_error` instead.
    - ``not_found_message``: the message of the 404 for unknown routes/objects.
    - ``bad_json_message``: the 400 message for a malformed JSON body.
    - ``authenticate``: the authentication hook (or override :meth:`authenticate`).
    - ``rate_limit``: a :class:`RateLimitPolicy`; ``None`` disables accounting.
    - ``conditional``: a :class:`ConditionalPolicy`; ``None`` disables 304s.
    - ``pagination``: the default pagination style for ``ctx.paginate``.
    - ``latency``: seconds added to every request (benchmarks, demos), spent
      with ``sleep`` (injectable so tests do not wait).
    - ``flavor``: a provider variant the vendor emulator may switch on
      (``cloud``/``datacenter``, ``ghes``).
    """

    provider: str = "emulator"
    media_type: str = "application/json; charset=utf-8"

    def __init__(
        self,
        *,
        provider: str | None = None,
        clock: Now | None = None,
        base_path: str = "",
        base_url: str = "http://emulator.test",
        error_formatter: ErrorFormatter | None = None,
        not_found_message: str = "Not Found",
        bad_json_message: str = "Problems parsing JSON",
        authenticate: AuthHook | None = None,
        rate_limit: RateLimitPolicy | None = None,
        conditional: ConditionalPolicy | None = None,
        pagination: PaginationStyle | None = None,
        latency: float = 0.0,
        sleep: Sleep = asyncio.sleep,
        flavor: str | None = None,
    ) -> None:
        if provider is not None:
            self.provider = provider
        self.clock: Now = clock or system_clock
        self.base_url = base_url.rstrip("/")
        self.router = Router(base_path)
        self.store = Store(clock=self.clock)
        self.requests = RequestLog()
        self.unmatched: list[LoggedRequest] = []
        self.faults = FaultInjector()
        self.rate_limiter = RateLimiter(rate_limit, clock=self.clock) if rate_limit else None
        self.conditional = conditional if conditional is not None else ConditionalPolicy()
        self.pagination: PaginationStyle = pagination or LinkPagination()
        self.not_found_message = not_found_message
        self.bad_json_message = bad_json_message
        self.latency = latency
        self.sleep = sleep
        self.flavor = flavor
        self.webhooks = WebhookEmitter(clock=self.clock, provider=self.provider)
        self._error_formatter = error_formatter
        self._auth_hook = authenticate

    # -- registration -------------------------------------------------------

    @property
    def base_path(self) -> str:
        """The prefix of every route."""
        return self.router.base_path

    @property
    def api_base_url(self) -> str:
        """``base_url + base_path``: what an adapter is configured with in process."""
        return self.base_url + self.base_path

    def route(
        self,
        method: str,
        path: str,
        handler: Handler | None = None,
        *,
        name: str | None = None,
        cost: int = 1,
        charge: bool = True,
        public: bool = False,
    ) -> Any:
        """Register ``handler`` (or decorate one) for ``method`` ``path``.

        ``name`` is the operation name faults and the log use; ``cost`` the
        rate-limit cost; ``charge=False`` exempts the route from the budget;
        ``public=True`` skips authentication.
        """

        def register(func: Handler) -> Handler:
            self.router.add(method, path, func, name=name, cost=cost, charge=charge, public=public)
            return func

        if handler is not None:
            return register(handler)
        return register

    def get(self, path: str, **options: Any) -> Callable[[Handler], Handler]:
        """Decorator: register a GET handler."""
        decorator: Callable[[Handler], Handler] = self.route("GET", path, **options)
        return decorator

    def post(self, path: str, **options: Any) -> Callable[[Handler], Handler]:
        """Decorator: register a POST handler."""
        decorator: Callable[[Handler], Handler] = self.route("POST", path, **options)
        return decorator

    def put(self, path: str, **options: Any) -> Callable[[Handler], Handler]:
        """Decorator: register a PUT handler."""
        decorator: Callable[[Handler], Handler] = self.route("PUT", path, **options)
        return decorator

    def patch(self, path: str, **options: Any) -> Callable[[Handler], Handler]:
        """Decorator: register a PATCH handler."""
        decorator: Callable[[Handler], Handler] = self.route("PATCH", path, **options)
        return decorator

    def delete(self, path: str, **options: Any) -> Callable[[Handler], Handler]:
        """Decorator: register a DELETE handler."""
        decorator: Callable[[Handler], Handler] = self.route("DELETE", path, **options)
        return decorator

    # -- vendor hooks (override in subclasses) ------------------------------

    def format_error(self, status: int, message: str, extra: Mapping[str, Any]) -> Any:
        """The provider's error body; ``None``/``bytes``/``str`` are sent as is."""
        formatter = self._error_formatter or default_error_body
        return formatter(status, message, extra)

    async def authenticate(self, ctx: RequestContext) -> AuthOutcome:
        """Check the request's credential (default: the ``authenticate`` hook, else anonymous)."""
        if self._auth_hook is None:
            return None
        outcome = self._auth_hook(ctx)
        if inspect.isawaitable(outcome):
            return await outcome
        return outcome

    def unmatched_response(self, ctx: RequestContext, *, path_known: bool) -> Response:
        """The answer to a request no route matches (default: the provider's 404).

        ``path_known`` is true when the path exists for another method; override
        to answer 405 for providers that do.
        """
        return self.error(404, self.not_found_message)

    # -- answers ------------------------------------------------------------

    def error(
        self, status: int, message: str, *, headers: Mapping[str, str] | None = None, **extra: Any
    ) -> Response:
        """An error answer with the provider's body (see :meth:`format_error`)."""
        body = self.format_error(status, message, extra)
        if body is None:
            return Response(status_code=status, headers=dict(headers or {}))
        if isinstance(body, (bytes, str)):
            return Response(content=body, status_code=status, headers=dict(headers or {}))
        return Response(
            content=json_bytes(body),
            status_code=status,
            headers=dict(headers or {}),
            media_type=self.media_type,
        )

    # -- test helpers -------------------------------------------------------

    def assert_no_unmatched(self) -> None:
        """Fail when any request hit no route (the client called an unemulated endpoint)."""
        if self.unmatched:
            listed = "\n  ".join(str(e) for e in self.unmatched[:20])
            raise AssertionError(
                f"{len(self.unmatched)} request(s) matched no {self.provider} emulator route "
                f"(fix the client's path or add the route to the emulator):\n  {listed}"
            )

    def reset(self) -> None:
        """Forget requests, unmatched requests, fault rules and rate-limit budgets (not state)."""
        self.requests.clear()
        self.unmatched.clear()
        self.faults.clear()
        if self.rate_limiter:
            self.rate_limiter.reset()

    def transport(self, *, raise_app_exceptions: bool = True) -> EmulatorTransport:
        """An httpx transport that calls this app in process (faults included)."""
        return EmulatorTransport(self, raise_app_exceptions=raise_app_exceptions)

    def client(self, **options: Any) -> httpx.AsyncClient:
        """An ``httpx.AsyncClient`` bound to this app in process (``base_url`` preset)."""
        options.setdefault("base_url", self.base_url)
        return httpx.AsyncClient(transport=self.transport(), **options)

    def serve(self, *, host: str = "127.0.0.1", port: int = 0) -> LoopbackServer:
        """A :class:`~kradle_providers.testing.emulator.server.LoopbackServer` for this app."""
        from kradle_providers.testing.emulator.server import LoopbackServer

        return LoopbackServer(self, host=host, port=port)

    # -- ASGI ---------------------------------------------------------------

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            await send({"type": "websocket.close", "code": 1000})
            return
        arrived = self.clock()
        request = Request(scope, receive)
        body = await request.body()
        signal: FaultSignal | None = scope.get(SIGNAL_SCOPE_KEY)
        if self.latency > 0:
            await self.sleep(self.latency)

        route, params, path_known = self.router.match(request.method, request.url.path)
        ctx = RequestContext(self, request, body, route, params)
        rule = self.faults.take(ctx.method, ctx.path, ctx.operation)

        if rule is None:
            response = await self._process(ctx, path_known)
            self._log(ctx, response.status_code, response, arrived, None)
            await self._send(scope, send, response)
            return

        kind = rule.kind
        if kind in (FaultKind.STATUS, FaultKind.RATE_LIMIT, FaultKind.SECONDARY_LIMIT):
            response = self._fault_response(rule)
            self._log(ctx, response.status_code, response, arrived, rule)
            await self._send(scope, send, response)
            return

        if kind is FaultKind.TRUNCATED:
            response = self._truncate(await self._process(ctx, path_known), rule)
            self._log(ctx, response.status_code, response, arrived, rule)
            await self._send(scope, send, response)
            return

        if kind is FaultKind.TIMEOUT and signal is None:
            client_gone = await self._hold(receive, rule.delay)
            if client_gone:
                if rule.reaches_handler:
                    processed = await self._process(ctx, path_known)
                    self._log(ctx, processed.status_code, processed, arrived, rule)
                else:
                    self._log(ctx, _NO_ANSWER, None, arrived, rule)
                return
            # The client waited longer than the delay: just a slow answer.
            response = await self._process(ctx, path_known)
            self._log(ctx, response.status_code, response, arrived, rule)
            await self._send(scope, send, response)
            return

        # TIMEOUT in process, or DROPPED: the client never sees this answer.
        if rule.reaches_handler:
            response = await self._process(ctx, path_known)
            status = response.status_code
        else:
            response = Response(status_code=504)
            status = _NO_ANSWER
        self._log(ctx, status, response if status else None, arrived, rule)
        if signal is not None:
            signal.kind = kind
            signal.rule = rule
            await self._send(scope, send, response)
        else:
            await self._send_partial(send, response)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _process(self, ctx: RequestContext, path_known: bool) -> Response:
        route = ctx.route
        if route is None:
            return self.unmatched_response(ctx, path_known=path_known)
        charged = 0
        try:
            if not route.public:
                outcome = await self.authenticate(ctx)
                if isinstance(outcome, Response):
                    return outcome
                ctx.principal = Principal(outcome) if isinstance(outcome, str) else outcome
            if self.rate_limiter is not None and route.charge:
                decision = self.rate_limiter.charge(
                    ctx.credential, cost=route.cost, method=ctx.method
                )
                if not decision.allowed:
                    return self.error(
                        decision.status or 429,
                        decision.message or "rate limit exceeded",
                        headers=decision.headers,
                    )
                charged = route.cost
            result = await route.handler(ctx)
            response = result if isinstance(result, Response) else self._to_response(ctx, result)
        except EmulatorHTTPError as exc:
            response = self.error(exc.status, exc.message, headers=exc.headers, **exc.extra)
        except PaginationError as exc:
            response = self.error(400, str(exc))
        response = self._conditional(ctx, response, charged)
        if self.rate_limiter is not None:
            for name, value in self.rate_limiter.headers(ctx.credential).items():
                response.headers.setdefault(name, value)
        return response

    def _to_response(self, ctx: RequestContext, result: Any) -> Response:
        if result is None:
            return ctx.no_content()
        return ctx.json(result)

    def _conditional(self, ctx: RequestContext, response: Response, charged: int) -> Response:
        policy = self.conditional
        if (
            not policy.enabled
            or ctx.method not in ("GET", "HEAD")
            or not 200 <= response.status_code < 300
        ):
            return response
        body = getattr(response, "body", b"")
        if policy.auto_etag and "etag" not in response.headers and body:
            response.headers["etag"] = compute_etag(body, weak=policy.weak)
        if not is_not_modified(ctx.headers, response.headers):
            return response
        if charged and not policy.charge_not_modified and self.rate_limiter is not None:
            self.rate_limiter.refund(ctx.credential, cost=charged)
        return not_modified(response)

    def _fault_response(self, rule: Rule) -> Response:
        headers = dict(rule.headers)
        if rule.kind in (FaultKind.RATE_LIMIT, FaultKind.SECONDARY_LIMIT):
            headers.setdefault("retry-after", str(rule.retry_after))
        if rule.body is None:
            return self.error(rule.answer_status, rule.answer_message, headers=headers)
        if isinstance(rule.body, (bytes, str)):
            return Response(content=rule.body, status_code=rule.answer_status, headers=headers)
        return Response(
            content=json_bytes(rule.body),
            status_code=rule.answer_status,
            headers=headers,
            media_type=self.media_type,
        )

    @staticmethod
    def _truncate(response: Response, rule: Rule) -> Response:
        body = getattr(response, "body", b"")
        keep = rule.truncate_to if rule.truncate_to is not None else len(body) // 2
        cut = body[: max(0, keep)]
        truncated = Response(content=cut, status_code=response.status_code)
        truncated.raw_headers = [
            (k, v) for k, v in response.raw_headers if k.lower() != b"content-length"
        ] + [(b"content-length", str(len(cut)).encode())]
        return truncated

    @staticmethod
    async def _hold(receive: Receive, delay: float) -> bool:
        """Wait ``delay`` seconds or until the client disconnects (True)."""

        async def disconnected() -> None:
            while (await receive())["type"] != "http.disconnect":
                pass

        try:
            await asyncio.wait_for(disconnected(), timeout=delay)
        except TimeoutError:
            return False
        return True

    @staticmethod
    async def _send(scope: Scope, send: Send, response: Response) -> None:
        body = getattr(response, "body", b"")
        await send(
            {
                "type": "http.response.start",
                "status": response.status_code,
                "headers": response.raw_headers,
            }
        )
        # A HEAD answer keeps its Content-Length but sends no body.
        await send(
            {"type": "http.response.body", "body": b"" if scope["method"] == "HEAD" else body}
        )

    @staticmethod
    async def _send_partial(send: Send, response: Response) -> None:
        """Start the answer and stop mid-body: the server then closes the connection."""
        body = getattr(response, "body", b"")
        raw = [(k, v) for k, v in response.raw_headers if k.lower() != b"content-length"]
        raw.append((b"content-length", str(len(body) + 1).encode()))
        await send({"type": "http.response.start", "status": response.status_code, "headers": raw})
        await send(
            {"type": "http.response.body", "body": body[: len(body) // 2], "more_body": True}
        )

    def _log(
        self,
        ctx: RequestContext,
        status: int,
        response: Response | None,
        arrived: Any,
        rule: Rule | None,
    ) -> None:
        request = ctx.request
        entry = LoggedRequest(
            method=ctx.method,
            path=ctx.path,
            query=request.url.query,
            headers=scrub_headers(request.headers),
            body=scrub_body(ctx.body),
            status=status,
            time=arrived,
            operation=ctx.operation,
            matched=ctx.route is not None,
            credential=redact(ctx.credential) if ctx.credential else None,
            fault=rule.kind.value if rule else None,
            response_headers=scrub_headers(response.headers) if response is not None else {},
        )
        self.requests.append(entry)
        if ctx.route is None:
            self.unmatched.append(entry)
