"""Comments on Jira issues: list (one issue or the whole project), create, update.

Jira's comment endpoints hang under the issue (``/issue/{key}/comment/{id}``).
``update_comment`` accepts ``"WID-42/10001"`` or a bare comment id; a bare id
is resolved from comments this adapter has listed or created, else through
``POST /comment/list``.

``list_comments(issue_id=None)`` lists the comments of every issue changed
since ``since`` (adding or editing a comment bumps the issue's ``updated``):
a JQL search (minute-granular window, as for issues) finds the issues with
their ``comment`` field, which carries every comment of an issue when its
``total`` is not above what it embeds; only issues with more comments than
that are read one by one. Comments older than ``since`` are dropped. The
cursor carries the search position and the issue being read.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from functools import partial
from typing import Any

from kradle_provider_jira import mapping
from kradle_provider_jira.adapter.client import JiraBase
from kradle_provider_jira.adapter.idempotency import carries_key, check_key, property_entry
from kradle_provider_jira.adapter.jql import search_jql
from kradle_provider_jira.adapter.search import SearchOperations
from kradle_provider_jira.richtext import adf_from_markdown, wiki_from_markdown
from kradle_providers.errors import InvalidInput, KradleError, NotFound
from kradle_providers.http import OffsetPagination, PageRequest, Response
from kradle_providers.models import Comment, ExternalRef, ObjectRef
from kradle_providers.models.tolerance import SKIPPED, map_each
from kradle_providers.protocols.page import Page

__all__ = ["CommentOperations"]

#: How many of the newest comments a read-back inspects for an idempotency key.
READ_BACK_SCAN = 50
#: Requests one scope-wide comment page may spend looking for a non-empty page.
_SCOPE_BUDGET = 20


class CommentOperations(SearchOperations):
    """The comment operations (both flavours)."""

    _comment_issue: dict[str, str]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._comment_issue = {}

    def _comment(self, raw: Any, issue_key: str) -> Comment:
        comment = mapping.comment_from_jira(
            raw, self.provider_ref, _issue_ref_with_site(self, issue_key), site=self.site
        )
        self._comment_issue[comment.external.native_id] = issue_key
        return comment

    async def _comment_body(self, markdown: str) -> tuple[Any, list[str]]:
        if await self.flavor() == "cloud":
            return adf_from_markdown(markdown)
        return wiki_from_markdown(markdown)

    def _strategy(self, size: int) -> OffsetPagination:
        return OffsetPagination(items="comments", max_page_size=100, page_size=size)

    async def _comments_page(
        self, issue_key: str, size: int, native: Mapping[str, Any] | None
    ) -> tuple[list[Any], dict[str, Any] | None]:
        api = await self.api()
        request = PageRequest(
            f"{api}/issue/{self._path_id(issue_key, 'issue_id')}/comment",
            params={"orderBy": "created"},
        )
        return await self._one_page(self._strategy(size), request, native)

    async def list_comments(
        self,
        ref: ExternalRef,
        *,
        issue_id: str | None = None,
        since: datetime | None = None,
        cursor: str | None = None,
        page_size: int | None = None,
    ) -> Page[Comment]:
        """Comments oldest first: of one issue, or of every issue changed since ``since``."""
        if cursor is not None:
            state = self._decode("comments", cursor)
        else:
            project = self._project(ref)
            size = self._page_size(page_size)
            since_state = since.isoformat() if since is not None else None
            if issue_id is not None:
                state = {"issue": issue_id, "native": None, "size": size, "since": since_state}
            else:
                zone = await self.time_zone() if since is not None else None
                jql = (
                    search_jql(project, since=since, zone=zone)
                    if zone is not None
                    else search_jql(project)
                )
                state = {
                    "search": self._search_state(jql, size, None),
                    "queue": [],
                    "issue": None,
                    "native": None,
                    "size": size,
                    "since": since_state,
                }
        floor = datetime.fromisoformat(state["since"]) if state.get("since") else None
        items: list[Comment] = []
        skipped: list[KradleError] = []
        spent = 0
        while True:
            spent += 1
            if state.get("issue") is None:
                # Scope mode: take the next issue, searching for more when the queue is empty.
                queue: list[str] = list(state.get("queue") or [])
                if not queue:
                    search = state.get("search")
                    if search is None:
                        state = {}
                        break
                    found = await self._search_page(search, fields="updated,comment")
                    queue = []
                    for issue in found.issues:
                        embedded = _embedded_comments(issue)
                        key = str(issue.get("key") or issue.get("id"))
                        if embedded is None:
                            queue.append(key)  # more than the search embeds: page them
                            continue
                        convert = partial(self._comment, issue_key=key)
                        for comment in map_each(
                            embedded, convert, skipped=skipped, what="Jira comment"
                        ):
                            stamp = comment.updated_at or comment.created_at
                            if floor is None or stamp is None or stamp >= floor:
                                items.append(comment)
                    state = {**state, "search": found.state, "queue": queue}
                    if not queue:
                        if items or spent >= _SCOPE_BUDGET:
                            state = {**state, "issue": None} if found.state else {}
                            break
                        continue
                state = {**state, "issue": queue[0], "queue": queue[1:], "native": None}
                continue
            raw, following = await self._comments_page(
                str(state["issue"]), int(state["size"]), state.get("native")
            )
            convert = partial(self._comment, issue_key=str(state["issue"]))
            mapped = map_each(raw, convert, skipped=skipped, what="Jira comment")
            for comment in mapped:
                stamp = comment.updated_at or comment.created_at
                if floor is not None and stamp is not None and stamp < floor:
                    continue
                items.append(comment)
            if following is not None:
                state = {**state, "native": following}
            elif "search" in state:
                state = {**state, "issue": None, "native": None}
            else:
                state = {}
            if items or not state or spent >= _SCOPE_BUDGET:
                break
        stamps = [c.updated_at or c.created_at for c in items]
        known = [s for s in stamps if s is not None]
        return Page(
            items=items,
            next_cursor=self._cursor("comments", state) if state else None,
            high_water_mark=max(known) if known else floor,
            extra={SKIPPED: skipped},
        )

    async def _find_comment(self, issue_key: str, key: str) -> dict[str, Any] | None:
        api = await self.api()
        body = (
            await self.http.get(
                f"{api}/issue/{self._path_id(issue_key, 'issue_id')}/comment",
                params={
                    "orderBy": "-created",
                    "maxResults": READ_BACK_SCAN,
                    "expand": "properties",
                },
                conditional=False,
            )
        ).json()
        comments = body.get("comments") if isinstance(body, Mapping) else None
        for comment in comments if isinstance(comments, list) else []:
            if isinstance(comment, Mapping) and carries_key(comment.get("properties"), key):
                return dict(comment)
        return None

    async def create_comment(
        self, ref: ExternalRef, issue_id: str, body: str, *, idempotency_key: str | None = None
    ) -> Comment:
        """Add a comment (ADF on Cloud, wiki on DC); a lost response never adds it twice.

        What the Markdown conversion could not carry is in ``body.warnings``.
        """
        self._project(ref)
        api = await self.api()
        native_body, warnings = await self._comment_body(body)
        payload: dict[str, Any] = {"body": native_body}
        path = f"{api}/issue/{self._path_id(issue_id, 'issue_id')}/comment"
        if idempotency_key is not None:
            key = check_key(idempotency_key)
            payload["properties"] = [property_entry(key)]

            async def read_back() -> dict[str, Any] | None:
                return await self._find_comment(issue_id, key)

            result: Any = await self.http.post(path, json=payload, read_back=read_back)
        else:
            result = await self.http.post(path, json=payload)
        raw = result.json() if isinstance(result, Response) else result
        comment = self._comment(raw, issue_id)
        return _with_warnings(comment, warnings)

    async def _issue_of(self, comment_id: str) -> tuple[str, str]:
        if "/" in comment_id:
            issue_key, _, cid = comment_id.partition("/")
            if issue_key and cid:
                return issue_key, cid
        known = self._comment_issue.get(comment_id)
        if known is not None:
            return known, comment_id
        if not comment_id.isdigit():
            raise InvalidInput(
                f"{comment_id!r} is not a Jira comment id; pass the id (10001) or "
                "'ISSUE-KEY/10001'",
                field="comment_id",
            )
        api = await self.api()
        body = (await self.http.post(f"{api}/comment/list", json={"ids": [int(comment_id)]})).json()
        values = body.get("values") if isinstance(body, Mapping) else None
        for value in values if isinstance(values, list) else []:
            if isinstance(value, Mapping) and str(value.get("id")) == comment_id:
                issue = mapping.comment_issue_ref(value)
                ident = (
                    (issue.native_number or issue.native_id)
                    if issue is not None
                    else value.get("issueId")
                )
                if ident:
                    return str(ident), comment_id
        raise NotFound(
            f"comment {comment_id} was not found (or its issue is not visible); pass "
            "'ISSUE-KEY/COMMENT-ID' to name the issue",
            provider="jira",
            status=404,
        )

    async def update_comment(self, ref: ExternalRef, comment_id: str, body: str) -> Comment:
        """Replace a comment's body (``comment_id``: ``10001`` or ``WID-42/10001``)."""
        self._project(ref)
        issue_key, cid = await self._issue_of(str(comment_id))
        api = await self.api()
        native_body, warnings = await self._comment_body(body)
        response = await self.http.put(
            f"{api}/issue/{self._path_id(issue_key, 'issue_id')}/comment/"
            f"{self._path_id(cid, 'comment_id')}",
            json={"body": native_body},
        )
        return _with_warnings(self._comment(response.json(), issue_key), warnings)


def _embedded_comments(issue: Mapping[str, Any]) -> list[Any] | None:
    """An issue's comments as a search embedded them; None when it holds only some."""
    fields = issue.get("fields")
    block = fields.get("comment") if isinstance(fields, Mapping) else None
    if not isinstance(block, Mapping):
        return None
    comments = block.get("comments")
    total = block.get("total")
    if not isinstance(comments, list) or not isinstance(total, int) or total > len(comments):
        return None
    return comments


def _issue_ref_with_site(adapter: JiraBase, issue_key: str) -> ObjectRef:
    if issue_key.isdigit():
        return ObjectRef(kind="Issue", native_id=issue_key)
    site = adapter.site or adapter.base_url
    return ObjectRef(kind="Issue", native_number=issue_key, url=mapping.browse_url(site, issue_key))


def _with_warnings(comment: Comment, warnings: list[str]) -> Comment:
    if not warnings:
        return comment
    merged = list(dict.fromkeys([*comment.body.warnings, *warnings]))
    return comment.model_copy(update={"body": comment.body.model_copy(update={"warnings": merged})})
