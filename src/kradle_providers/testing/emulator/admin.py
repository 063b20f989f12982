"""The admin endpoint of a served emulator: what it was asked, read from another process.

``kradle-providers emulator serve PROVIDER --admin`` wraps the emulator with
:func:`with_admin`, which answers two routes before the vendor's own (so no
vendor path is shadowed: ``/_emulator`` is not an API prefix of any provider):

- ``GET /_emulator/requests``: ``{"count", "not_modified", "budget_used",
  "by_operation", "requests": [{"method", "path", "query", "status",
  "operation"}]}``; ``budget_used`` is the rate-limit budget each credential
  id spent in the current window (304s the vendor does not charge are
  refunded, so it is what the vendor would bill).
- ``DELETE /_emulator/requests``: forget the log and the budgets (204).
- ``GET /_emulator/info``: ``{"provider", "base_path", "flavor"}`` (where the
  API lives under the served origin).

Request entries are those of :class:`~.requestlog.RequestLog` (credentials
already scrubbed); headers and bodies are not exposed.
"""

from __future__ import annotations

import json
from collections import Counter
from typing import TYPE_CHECKING, Any

from starlette.types import Receive, Scope, Send

if TYPE_CHECKING:
    from kradle_providers.testing.emulator.app import EmulatorApp

__all__ = ["ADMIN_PREFIX", "request_summary", "with_admin"]

ADMIN_PREFIX = "/_emulator"


def request_summary(app: EmulatorApp) -> dict[str, Any]:
    """The JSON body of ``GET /_emulator/requests`` for ``app``."""
    entries = list(app.requests)
    limiter = app.rate_limiter
    return {
        "count": len(entries),
        "not_modified": sum(1 for e in entries if e.status == 304),
        "budget_used": limiter.used() if limiter is not None else {},
        "by_operation": dict(Counter(e.operation or "(unmatched)" for e in entries)),
        "requests": [
            {
                "method": e.method,
                "path": e.path,
                "query": e.query,
                "status": e.status,
                "operation": e.operation,
            }
            for e in entries
        ],
    }


async def _answer(send: Send, status: int, body: Any = None) -> None:
    content = b"" if body is None else json.dumps(body).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(content))]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": content})


def with_admin(app: EmulatorApp) -> Any:
    """``app`` as an ASGI app that also answers the ``/_emulator`` admin routes."""

    async def admin(scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "") if scope["type"] == "http" else ""
        if not path.startswith(ADMIN_PREFIX + "/"):
            await app(scope, receive, send)
            return
        method = scope.get("method", "GET")
        if path.rstrip("/") == ADMIN_PREFIX + "/info" and method == "GET":
            info = {"provider": app.provider, "base_path": app.base_path, "flavor": app.flavor}
            await _answer(send, 200, info)
        elif path.rstrip("/") != ADMIN_PREFIX + "/requests":
            await _answer(send, 404, {"message": f"no admin route {path}; try /_emulator/requests"})
        elif method == "GET":
            await _answer(send, 200, request_summary(app))
        elif method == "DELETE":
            app.requests.clear()
            if app.rate_limiter is not None:
                app.rate_limiter.reset()
            await _answer(send, 204)
        else:
            await _answer(send, 405, {"message": f"{method} is not allowed; use GET or DELETE"})

    return admin
