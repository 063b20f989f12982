"""The in-process httpx transport to an emulator, able to break connections.

``httpx.ASGITransport`` always delivers the app's response. This wrapper lets
the emulator's ``TIMEOUT`` and ``DROPPED`` faults surface exactly as they
would on a network: after the app ran (or decided not to run) the handler, the
client gets ``httpx.ReadTimeout`` or ``httpx.RemoteProtocolError`` instead of
the response, immediately (no waiting on a real clock).
"""

from __future__ import annotations

from typing import Any

import httpx

from kradle_providers.testing.emulator.faults import SIGNAL_SCOPE_KEY, FaultKind, FaultSignal

__all__ = ["EmulatorTransport"]

ASGIApp = Any  # Callable[[Scope, Receive, Send], Awaitable[None]]


class EmulatorTransport(httpx.AsyncBaseTransport):
    """An httpx transport that calls an ASGI emulator app in process.

    ``raise_app_exceptions=True`` (default) lets a bug in a handler surface in
    the test as the original exception rather than as a 500.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        raise_app_exceptions: bool = True,
        client: tuple[str, int] = ("127.0.0.1", 50000),
    ) -> None:
        self.app = app
        self.raise_app_exceptions = raise_app_exceptions
        self.client = client

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Run the app; turn a timeout/dropped fault into the matching httpx error."""
        signal = FaultSignal()
        app = self.app

        async def with_signal(scope: Any, receive: Any, send: Any) -> None:
            scope = {**scope, SIGNAL_SCOPE_KEY: signal}
            await app(scope, receive, send)

        inner = httpx.ASGITransport(
            app=with_signal,
            raise_app_exceptions=self.raise_app_exceptions,
            client=self.client,
        )
        response = await inner.handle_async_request(request)
        if signal.kind is FaultKind.TIMEOUT:
            await response.aclose()
            raise httpx.ReadTimeout(
                "emulated timeout: the emulator held the response beyond the client timeout",
                request=request,
            )
        if signal.kind is FaultKind.DROPPED:
            await response.aclose()
            raise httpx.RemoteProtocolError(
                "emulated dropped connection: server disconnected without sending a response",
                request=request,
            )
        return response
