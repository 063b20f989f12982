"""Serve an emulator on a loopback port with uvicorn.

Two ways, both on ``127.0.0.1`` and a free port by default:

- ``async with LoopbackServer(app) as server: server.url`` runs in the
  current event loop (tests);
- ``with LoopbackServer(app) as server: …`` runs in a background thread with
  its own loop (synchronous code, other processes' clients).

:func:`serve_forever` blocks until SIGINT/SIGTERM (the CLI).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import socket
import threading
import time
from collections.abc import Callable, Iterator
from types import FrameType, TracebackType
from typing import Any

__all__ = ["LoopbackServer", "bind_socket", "serve_forever"]

_START_TIMEOUT = 10.0


def bind_socket(host: str = "127.0.0.1", port: int = 0) -> socket.socket:
    """A listening TCP socket on ``host:port`` (``port=0``: a free port)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP explicitly: asyncio sets TCP_NODELAY on accepted sockets only when
    # their proto says TCP; with proto 0, Nagle + delayed ACK add ~40 ms per keep-alive request.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
        sock.listen(128)
    except OSError:
        sock.close()
        raise
    sock.set_inheritable(True)
    return sock


def _url_of(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}"


class _IntendedDropFilter(logging.Filter):
    """Hide uvicorn's complaint about the responses a DROPPED fault cuts on purpose."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "returned without completing response" not in record.getMessage()


_DROP_FILTER = _IntendedDropFilter()


def _make_server(app: Any, log_level: str) -> Any:
    from kradle_providers.extras import require_extra

    require_extra("uvicorn", "server", purpose="serving on a port")
    import uvicorn

    class _EmbeddedServer(uvicorn.Server):
        # Signals belong to whoever embeds the server (pytest, the CLI).
        @contextlib.contextmanager
        def capture_signals(self) -> Iterator[None]:
            yield

    config = uvicorn.Config(
        app,
        lifespan="off",
        log_level=log_level,
        interface="asgi3",
        access_log=False,
        timeout_graceful_shutdown=2,
    )
    error_log = logging.getLogger("uvicorn.error")
    if _DROP_FILTER not in error_log.filters:
        error_log.addFilter(_DROP_FILTER)
    return _EmbeddedServer(config)


class LoopbackServer:
    """An emulator served on a real port; stops cleanly on exit.

    ``url`` is the base URL (``http://127.0.0.1:PORT``), known as soon as the
    object exists because the socket is bound up front.
    """

    def __init__(
        self,
        app: Any,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        log_level: str = "warning",
    ) -> None:
        self.app = app
        self._sock = bind_socket(host, port)
        self.url = _url_of(self._sock)
        self.port: int = self._sock.getsockname()[1]
        self._server = _make_server(app, log_level)
        self._task: asyncio.Task[None] | None = None
        self._thread: threading.Thread | None = None

    @property
    def started(self) -> bool:
        """Whether uvicorn finished starting."""
        return bool(self._server.started)

    # -- in the current loop -------------------------------------------------

    async def __aenter__(self) -> LoopbackServer:
        self._task = asyncio.create_task(self._server.serve(sockets=[self._sock]))
        deadline = time.monotonic() + _START_TIMEOUT
        while not self._server.started:
            if self._task.done():
                self._task.result()  # re-raise the startup failure
                raise RuntimeError("the emulator server stopped during startup")
            if time.monotonic() > deadline:
                raise RuntimeError("the emulator server did not start within 10 s")
            await asyncio.sleep(0.005)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._server.should_exit = True
        if self._task is not None:
            await self._task
        self._sock.close()

    # -- in a background thread ---------------------------------------------

    def start(self) -> LoopbackServer:
        """Serve from a background thread; returns once the server accepts requests."""
        self._thread = threading.Thread(
            target=lambda: asyncio.run(self._server.serve(sockets=[self._sock])),
            name=f"emulator-{self.port}",
            daemon=True,
        )
        self._thread.start()
        deadline = time.monotonic() + _START_TIMEOUT
        while not self._server.started:
            if not self._thread.is_alive():
                raise RuntimeError("the emulator server stopped during startup")
            if time.monotonic() > deadline:
                raise RuntimeError("the emulator server did not start within 10 s")
            time.sleep(0.005)
        return self

    def stop(self) -> None:
        """Stop the background server and wait for its thread."""
        self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=_START_TIMEOUT)
            self._thread = None
        self._sock.close()

    def __enter__(self) -> LoopbackServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def serve_forever(
    app: Any,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    on_ready: Callable[[str], None] | None = None,
    log_level: str = "warning",
) -> None:
    """Serve ``app`` until SIGINT/SIGTERM; ``on_ready(url)`` runs once the port is bound."""
    sock = bind_socket(host, port)
    server = _make_server(app, log_level)

    def stop(signum: int, frame: FrameType | None) -> None:
        server.should_exit = True

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        if on_ready is not None:
            on_ready(_url_of(sock))
        asyncio.run(server.serve(sockets=[sock]))
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        sock.close()
