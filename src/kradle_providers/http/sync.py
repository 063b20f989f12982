"""Using the async transport from synchronous code.

Two ways, documented here once:

* :func:`run_sync` runs one coroutine to completion from code that has no
  event loop (scripts, the CLI). Each call gets a fresh loop, so create the
  :class:`~kradle_providers.http.HttpClient` inside the coroutine.
* :class:`SyncHttpClient` keeps an ``HttpClient`` and a private event loop on a
  background thread, so connections are pooled across blocking calls.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine, Mapping
from typing import Any, TypeVar

from kradle_providers.http.client import HttpClient
from kradle_providers.http.response import Response

__all__ = ["SyncHttpClient", "run_sync"]

T = TypeVar("T")


def run_sync(coro: Coroutine[Any, Any, T]) -> T:
    """Run ``coro`` to completion from synchronous code and return its result.

    Raises RuntimeError when called from inside a running event loop (there,
    ``await`` the coroutine instead).
    """
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    coro.close()
    raise RuntimeError(
        "run_sync() was called from inside a running event loop; await the coroutine instead"
    )


class SyncHttpClient:
    """A blocking facade over :class:`HttpClient` (same arguments).

    The async client lives on a private event loop in a daemon thread; each
    method blocks until the call finishes. Close it (or use ``with``) to stop
    the thread. Read-back recovery and streaming need the async client.
    """

    def __init__(self, base_url: str, **options: Any) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="kradle-http-sync", daemon=True
        )
        self._thread.start()
        self.client = HttpClient(base_url, **options)
        self._closed = False

    def _run(self, coro: Coroutine[Any, Any, T]) -> T:
        if self._closed:
            coro.close()
            raise RuntimeError("SyncHttpClient is closed; create a new one")
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result()

    def request(
        self,
        method: str,
        path_or_url: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        headers: Mapping[str, str] | None = None,
        idempotency_key: str | None = None,
        conditional: bool = True,
        budget_cost: int = 1,
    ) -> Response:
        """Blocking :meth:`HttpClient.request`."""
        return self._run(
            self.client.request(
                method,
                path_or_url,
                params=params,
                json=json,
                headers=headers,
                idempotency_key=idempotency_key,
                conditional=conditional,
                budget_cost=budget_cost,
            )
        )

    def get(self, path_or_url: str, *, params: Mapping[str, Any] | None = None) -> Response:
        """Blocking GET."""
        return self.request("GET", path_or_url, params=params)

    def post(
        self, path_or_url: str, *, json: Any = None, idempotency_key: str | None = None
    ) -> Response:
        """Blocking POST (re-sent after a lost response only with ``idempotency_key``)."""
        return self.request("POST", path_or_url, json=json, idempotency_key=idempotency_key)

    def patch(
        self, path_or_url: str, *, json: Any = None, idempotency_key: str | None = None
    ) -> Response:
        """Blocking PATCH."""
        return self.request("PATCH", path_or_url, json=json, idempotency_key=idempotency_key)

    def put(self, path_or_url: str, *, json: Any = None) -> Response:
        """Blocking PUT."""
        return self.request("PUT", path_or_url, json=json)

    def delete(self, path_or_url: str) -> Response:
        """Blocking DELETE."""
        return self.request("DELETE", path_or_url)

    def close(self) -> None:
        """Close the client's connections and stop the background loop."""
        if self._closed:
            return
        self._run(self.client.aclose())
        self._closed = True
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)
        self._loop.close()

    def __enter__(self) -> SyncHttpClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"SyncHttpClient({self.client!r})"
