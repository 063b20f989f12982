"""What the transport returns: a fully read response, or an open stream."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx

from kradle_providers.auth import redact
from kradle_providers.http.redaction import redact_url

__all__ = ["Response", "StreamResponse"]


class Response:
    """A completed HTTP exchange with its body read.

    ``from_cache`` is True when the provider answered 304 and the body is the
    cached one (``status_code`` is then the cached status, normally 200, and
    ``revalidated_status`` is 304). ``attempts`` counts the sends it took.
    """

    __slots__ = (
        "attempts",
        "content",
        "from_cache",
        "headers",
        "method",
        "revalidated_status",
        "status_code",
        "url",
    )

    def __init__(
        self,
        *,
        method: str,
        url: str,
        status_code: int,
        headers: httpx.Headers,
        content: bytes,
        from_cache: bool = False,
        revalidated_status: int | None = None,
        attempts: int = 1,
    ) -> None:
        self.method = method
        self.url = url
        self.status_code = status_code
        self.headers = headers
        self.content = content
        self.from_cache = from_cache
        self.revalidated_status = revalidated_status
        self.attempts = attempts

    @property
    def text(self) -> str:
        """The body decoded as UTF-8 (invalid bytes replaced)."""
        return self.content.decode("utf-8", errors="replace")

    def json(self) -> Any:
        """The body parsed as JSON; an empty body is None."""
        if not self.content.strip():
            return None
        return json.loads(self.content)

    @property
    def etag(self) -> str | None:
        """The response's ``ETag`` header, if any."""
        value: str | None = self.headers.get("etag")
        return value

    @property
    def is_success(self) -> bool:
        """True for 2xx (and for cache hits)."""
        return 200 <= self.status_code < 300

    def __repr__(self) -> str:
        cached = ", from_cache=True" if self.from_cache else ""
        return f"<Response {self.method} {redact_url(self.url)} {self.status_code}{cached}>"


class StreamResponse:
    """A 2xx response whose body is read lazily (job logs, artifacts).

    Use inside ``async with client.stream(...) as resp``; the connection is
    released when the block exits. Lines can be scrubbed of known secrets as
    they stream.
    """

    def __init__(self, raw: httpx.Response, *, attempts: int = 1) -> None:
        self._raw = raw
        self.attempts = attempts

    @property
    def status_code(self) -> int:
        """The HTTP status."""
        return self._raw.status_code

    @property
    def headers(self) -> httpx.Headers:
        """The response headers."""
        return self._raw.headers

    @property
    def url(self) -> str:
        """The final URL."""
        return str(self._raw.url)

    async def aiter_bytes(self, chunk_size: int | None = None) -> AsyncIterator[bytes]:
        """The body in chunks, as they arrive (decompressed, not redacted)."""
        async for chunk in self._raw.aiter_bytes(chunk_size):
            yield chunk

    async def aiter_lines(self, *, redacted: bool = True) -> AsyncIterator[str]:
        """The body line by line; known secret values scrubbed unless ``redacted=False``."""
        async for line in self._raw.aiter_lines():
            yield redact(line) if redacted else line

    async def aread(self) -> bytes:
        """Read the rest of the body into memory."""
        return await self._raw.aread()

    def __repr__(self) -> str:
        return f"<StreamResponse {redact_url(self.url)} {self.status_code}>"
