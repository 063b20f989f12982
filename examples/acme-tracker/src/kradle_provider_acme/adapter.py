"""The Acme adapter: issue-tracking reads and ``createComment`` over
:class:`kradle_providers.http.HttpClient`.

Acme has no idempotency header, so ``createComment`` is made safe to retry
with a *synthetic key* (manifest: ``idempotency: {mode: synthetic-key}``): the
caller's key travels in the comment body as a hidden marker,
``<!-- kradle-idempotency-key: KEY -->`` (core's
:mod:`kradle_providers.http.idempotency`), and when a response is lost the
HTTP client first calls the adapter's read-back, which looks for a comment
carrying that marker and returns it instead of posting again.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from kradle_providers.auth.schemes import BearerAuth
from kradle_providers.clock import Clock
from kradle_providers.http import (
    HttpClient,
    Link,
    idempotency_marker,
    marked_rich_text,
    parse_link_header,
    with_idempotency_marker,
)
from kradle_providers.models import (
    Actor,
    Comment,
    Extensions,
    ExternalEnvelope,
    ExternalRef,
    Interface,
    Issue,
    IssueStatus,
    Label,
    ObjectRef,
    RichText,
    Version,
)
from kradle_providers.plugins.spec import ProviderConfig
from kradle_providers.protocols.adapter import ProviderAdapter
from kradle_providers.protocols.page import Page

__all__ = ["AcmeAdapter"]

# Native fields each kind maps; the rest goes to extensions (built once, not per object).
_MAPPED = frozenset({"id", "number", "project", "html_url", "url", "updated_at", "created_at"})
_TICKET_MAPPED = _MAPPED | {"title", "body", "state", "labels", "assignee", "reporter"}
_COMMENT_MAPPED = _MAPPED | {"ticket", "body", "author"}
_LABEL_MAPPED = _MAPPED | {"name", "color", "description"}


def _time(value: Any) -> datetime | None:
    return datetime.fromisoformat(value.replace("Z", "+00:00")) if value else None


class AcmeAdapter(ProviderAdapter):
    """Lists and reads Acme tickets, comments and labels; adds comments (once per key)."""

    provider_type = "acme"

    def __init__(self, http: HttpClient, *, instance: str = "default") -> None:
        super().__init__(instance=instance)
        self.http = http

    @classmethod
    def from_config(cls, config: ProviderConfig, *, clock: Clock | None = None) -> AcmeAdapter:
        """Build from ``config``: ``auth`` is a BearerAuth (or token), base URL defaults to SaaS."""
        auth = config.auth if config.auth is None or hasattr(config.auth, "authorize") else None
        if auth is None and config.auth is not None:
            auth = BearerAuth(config.auth)
        http = HttpClient(
            config.api_base_url or "https://api.acme.example/api/v1",
            provider="acme",
            auth=auth,
            transport=config.transport,
            clock=clock,
            idempotency_header=None,
        )
        return cls(http, instance=config.instance)

    async def aclose(self) -> None:
        await self.http.aclose()

    # --- mapping ---------------------------------------------------------------

    def _envelope(
        self, kind: str, native: Mapping[str, Any], mapped: frozenset[str]
    ) -> ExternalEnvelope:
        rest = {k: v for k, v in native.items() if k not in mapped}
        number = native.get("number")
        return ExternalEnvelope(
            provider=self.provider_ref,
            interface=Interface.ISSUE_TRACKING,
            native_kind=kind,
            native_id=str(native["id"]),
            native_number=str(number) if number is not None else None,
            url=native.get("html_url"),
            api_url=native.get("url"),
            version=Version(updated_at=_time(native.get("updated_at"))),
            extensions=Extensions(provider_type="acme", fields=rest),
        )

    def ticket(self, native: Mapping[str, Any]) -> Issue:
        """An Acme ticket as a canonical Issue."""
        state = native.get("state", "open")
        external = self._envelope("ticket", native, _TICKET_MAPPED)
        return Issue(
            external=external,
            title=native["title"],
            body=RichText.from_markdown(native["body"]) if native.get("body") else None,
            status=IssueStatus(state="closed" if state == "done" else "open", native=state),
            labels=list(native.get("labels", [])),
            assignees=[Actor(username=native["assignee"])] if native.get("assignee") else [],
            author=Actor(username=native["reporter"]) if native.get("reporter") else None,
            created_at=_time(native.get("created_at")),
            updated_at=external.version.updated_at,
        )

    def comment(self, native: Mapping[str, Any]) -> Comment:
        """An Acme comment as a canonical Comment."""
        external = self._envelope("comment", native, _COMMENT_MAPPED)
        return Comment(
            external=external,
            issue=ObjectRef(kind="Issue", native_id=str(native["ticket"])),
            body=marked_rich_text(native.get("body") or ""),
            author=Actor(username=native["author"]) if native.get("author") else None,
            created_at=_time(native.get("created_at")),
            updated_at=external.version.updated_at,
        )

    def label(self, native: Mapping[str, Any]) -> Label:
        """An Acme label as a canonical Label."""
        return Label(
            external=self._envelope("label", native, _LABEL_MAPPED),
            name=native["name"],
            color=native.get("color"),
            description=native.get("description"),
        )

    # --- paging ------------------------------------------------------------------

    async def _page(
        self,
        path: str,
        params: dict[str, Any],
        cursor: str | None,
        page_size: int | None,
        since: datetime | None,
    ) -> tuple[list[dict[str, Any]], str | None, datetime | None]:
        if cursor is not None:
            response = await self.http.get(cursor)
        else:
            params = {**params, "per_page": page_size or 100}
            if since is not None:
                moment = since if since.tzinfo else since.replace(tzinfo=UTC)
                params["updated_since"] = moment.isoformat()
            response = await self.http.get(path, params=params)
        links = parse_link_header(response.headers.get("link", ""))
        now = response.headers.get("x-acme-now")
        mark = _time(now) if now else None
        if mark is not None and mark.tzinfo is None:
            mark = mark.replace(tzinfo=UTC)
        return list(response.json()), _next(links), mark

    async def list_issues(
        self,
        ref: ExternalRef,
        *,
        since: datetime | None = None,
        state: str | None = None,
        cursor: str | None = None,
        page_size: int | None = None,
    ) -> Page[Issue]:
        """Tickets of ``ref.project`` in every state, oldest first; ``since`` filters by
        updated_at."""
        rows, nxt, mark = await self._page(
            f"/projects/{ref.project}/tickets", {"state": "all"}, cursor, page_size, since
        )
        return Page([self.ticket(r) for r in rows], nxt, mark)

    async def get_issue(self, ref: ExternalRef, issue_id: str) -> Issue:
        """One ticket by number."""
        response = await self.http.get(f"/projects/{ref.project}/tickets/{issue_id}")
        return self.ticket(response.json())

    async def list_comments(
        self,
        ref: ExternalRef,
        *,
        issue_id: str | None = None,
        since: datetime | None = None,
        cursor: str | None = None,
        page_size: int | None = None,
    ) -> Page[Comment]:
        """Comments of the project, or of one ticket."""
        params = {"ticket": issue_id} if issue_id else {}
        rows, nxt, mark = await self._page(
            f"/projects/{ref.project}/comments", params, cursor, page_size, since
        )
        return Page([self.comment(r) for r in rows], nxt, mark)

    async def create_comment(
        self, ref: ExternalRef, issue_id: str, body: str, *, idempotency_key: str | None = None
    ) -> Comment:
        """Comment on a ticket; with ``idempotency_key`` it is created once, even when retried."""
        path = f"/projects/{ref.project}/tickets/{issue_id}/comments"
        if idempotency_key is None:
            response = await self.http.post(path, json={"body": body})
            return self.comment(response.json())
        mark = idempotency_marker(idempotency_key)
        marked = with_idempotency_marker(body, idempotency_key)

        async def read_back() -> Comment | None:
            # Called by the HTTP client before it re-sends a POST whose response was lost.
            cursor: str | None = None
            while True:
                page = await self.list_comments(ref, issue_id=issue_id, cursor=cursor)
                for comment in page.items:
                    source = comment.body.source if comment.body is not None else None
                    if isinstance(source, str) and mark in source:
                        return comment
                cursor = page.next_cursor
                if cursor is None:
                    return None

        result = await self.http.post(path, json={"body": marked}, read_back=read_back)
        return result if isinstance(result, Comment) else self.comment(result.json())

    async def list_labels(
        self, ref: ExternalRef, *, cursor: str | None = None, page_size: int | None = None
    ) -> Page[Label]:
        """Labels of the project."""
        rows, nxt, _ = await self._page(
            f"/projects/{ref.project}/labels", {}, cursor, page_size, None
        )
        return Page([self.label(r) for r in rows], nxt)


def _next(links: list[Link]) -> str | None:
    return next((link.url for link in links if "next" in link.rels), None)
