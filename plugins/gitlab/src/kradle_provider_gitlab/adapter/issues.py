"""Issue tracking on GitLab: issues (by iid), notes, labels, milestones, resource events."""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from functools import partial
from typing import Any, TypeVar
from urllib.parse import quote

from kradle_provider_gitlab import mapping
from kradle_provider_gitlab.adapter.client import MAX_PAGE_SIZE, GitLabBase, as_number, project_path
from kradle_providers.errors import InvalidInput, NotFound, PreconditionFailed
from kradle_providers.http.fanout import FANOUT_LIMIT, bounded_gather
from kradle_providers.http.idempotency import with_idempotency_marker
from kradle_providers.models import (
    Comment,
    ExternalRef,
    Issue,
    IssueCreate,
    IssueEvent,
    IssueUpdate,
    Label,
    LabelSpec,
    Milestone,
    PlanAction,
    SyncResult,
    plan_changes,
)
from kradle_providers.protocols.page import Page, decode_cursor, encode_cursor

__all__ = ["IssueOperations", "iso"]

T = TypeVar("T")

_EVENT_FAMILIES = ("state", "label", "milestone")


def iso(moment: datetime) -> str:
    """An aware/naive datetime as GitLab's ISO 8601 UTC (``…Z``)."""
    utc = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _state_param(state: str | None) -> str | None:
    if state in (None, "all"):
        return None
    if state in ("open", "opened"):
        return "opened"
    if state == "closed":
        return "closed"
    raise InvalidInput(f"state must be 'open', 'closed' or 'all', got {state!r}", field="state")


def _color(color: str | None) -> str | None:
    if color is None:
        return None
    return "#" + color.lstrip("#").lower()


class IssueOperations(GitLabBase):
    """The issue-tracking operations (see the manifest for the endpoints)."""

    # -- issues ---------------------------------------------------------------------

    async def list_issues(
        self,
        ref: ExternalRef,
        *,
        since: datetime | None = None,
        state: str | None = None,
        cursor: str | None = None,
        page_size: int | None = None,
    ) -> Page[Issue]:
        """Issues by id ascending (keyset paging); with ``since``, those updated at or after it."""
        params: dict[str, Any] = {
            "scope": "all",
            "pagination": "keyset",
            "order_by": "id",
            "sort": "asc",
        }
        wanted = _state_param(state)
        if wanted:
            params["state"] = wanted
        if since is not None:
            params["updated_after"] = iso(since)
        return await self._list_page(
            f"{project_path(ref)}/issues",
            params,
            cursor=cursor,
            page_size=page_size,
            convert=lambda native: mapping.issue(native, provider=self.provider_ref),
            updated=lambda i: i.updated_at,
        )

    async def get_issue(self, ref: ExternalRef, issue_id: str) -> Issue:
        """One issue by iid."""
        response = await self.http.get(f"{project_path(ref)}/issues/{as_number(issue_id, 'iid')}")
        return mapping.issue(response.json(), provider=self.provider_ref, etag=response.etag)

    async def _user_ids(self, usernames: Sequence[str]) -> list[int]:
        ids: list[int] = []
        for name in usernames:
            found = await self._get_json("/users", {"username": name})
            if not isinstance(found, list) or not found:
                raise InvalidInput(f"no GitLab user {name!r}", field="assignees")
            ids.append(int(found[0]["id"]))
        return ids

    async def _milestone_id(self, ref: ExternalRef, milestone: str) -> int:
        """A milestone's global id from its title or iid."""
        cursor: str | None = None
        while True:
            page = await self.list_milestones(ref, cursor=cursor)
            for ms in page.items:
                if milestone in (ms.title, ms.external.native_number):
                    return int(ms.external.native_id)
            if page.next_cursor is None:
                raise InvalidInput(
                    f"no milestone titled {milestone!r} in {ref.slug()}; pass its iid or title",
                    field="milestone",
                )
            cursor = page.next_cursor

    async def create_issue(
        self, ref: ExternalRef, data: IssueCreate, *, idempotency_key: str | None = None
    ) -> Issue:
        """Create an issue; with ``idempotency_key`` a lost response never creates twice."""
        payload: dict[str, Any] = {"title": data.title}
        body = data.body
        if idempotency_key is not None:
            body = with_idempotency_marker(body, idempotency_key)
        if body is not None:
            payload["description"] = body
        if data.labels:
            payload["labels"] = ",".join(data.labels)
        if data.assignees:
            payload["assignee_ids"] = await self._user_ids(data.assignees)
        if data.milestone is not None:
            payload["milestone_id"] = await self._milestone_id(ref, data.milestone)
        if data.issue_type is not None:
            payload["issue_type"] = data.issue_type
        path = f"{project_path(ref)}/issues"
        if idempotency_key is None:
            response = await self.http.post(path, json=payload)
            return mapping.issue(response.json(), provider=self.provider_ref)
        key = idempotency_key

        async def read_back() -> Issue | None:
            found = await self._newest_with_marker(path, key, "description", {"scope": "all"})
            return None if found is None else mapping.issue(found, provider=self.provider_ref)

        result = await self.http.post(path, json=payload, read_back=read_back)
        if isinstance(result, Issue):
            return result
        return mapping.issue(result.json(), provider=self.provider_ref)

    async def update_issue(
        self,
        ref: ExternalRef,
        issue_id: str,
        data: IssueUpdate,
        *,
        expected_version: str | None = None,
    ) -> Issue:
        """Edit an issue; ``state`` open/closed becomes ``state_event`` reopen/close."""
        path = f"{project_path(ref)}/issues/{as_number(issue_id, 'iid')}"
        if expected_version is not None:
            current = await self.get_issue(ref, issue_id)
            _check_version(expected_version, current, "issue")
        payload: dict[str, Any] = {}
        if data.title is not None:
            payload["title"] = data.title
        if data.body is not None:
            payload["description"] = data.body
        if data.labels is not None:
            payload["labels"] = ",".join(data.labels)
        if data.assignees is not None:
            payload["assignee_ids"] = await self._user_ids(data.assignees)
        if data.milestone is not None:
            payload["milestone_id"] = (
                await self._milestone_id(ref, data.milestone) if data.milestone else 0
            )
        if data.state is not None:
            payload["state_event"] = "close" if data.state == "closed" else "reopen"
        response = await self.http.put(path, json=payload)
        return mapping.issue(response.json(), provider=self.provider_ref)

    async def close_issue(
        self, ref: ExternalRef, issue_id: str, *, reason: str | None = None
    ) -> Issue:
        """Close an issue (GitLab keeps no close reason: ``reason`` is not sent)."""
        path = f"{project_path(ref)}/issues/{as_number(issue_id, 'iid')}"
        response = await self.http.put(path, json={"state_event": "close"})
        return mapping.issue(response.json(), provider=self.provider_ref)

    # -- comments ---------------------------------------------------------------------

    async def list_comments(
        self,
        ref: ExternalRef,
        *,
        issue_id: str | None = None,
        since: datetime | None = None,
        cursor: str | None = None,
        page_size: int | None = None,
    ) -> Page[Comment]:
        """An issue's user notes, oldest first (system notes are IssueEvents)."""
        if issue_id is None:
            return await self._crawl(
                ref,
                lambda iid, inner, size: self.list_comments(
                    ref, issue_id=iid, since=since, cursor=inner, page_size=size
                ),
                since=since,
                cursor=cursor,
                page_size=page_size,
            )
        params: dict[str, Any] = {"order_by": "updated_at" if since else "created_at"}
        params["sort"] = "asc"

        def convert(native: Any) -> Comment | None:
            if native.get("system"):
                return None
            note = mapping.note(native, provider=self.provider_ref)
            assert isinstance(note, Comment)
            if since is not None and note.updated_at is not None and note.updated_at < since:
                return None
            return note

        return await self._list_page(
            f"{project_path(ref)}/issues/{as_number(issue_id, 'iid')}/notes",
            params,
            cursor=cursor,
            page_size=page_size,
            convert=convert,
            updated=lambda c: c.updated_at,
        )

    async def create_comment(
        self, ref: ExternalRef, issue_id: str, body: str, *, idempotency_key: str | None = None
    ) -> Comment:
        """Add a note to an issue; with ``idempotency_key`` a lost response never posts twice."""
        path = f"{project_path(ref)}/issues/{as_number(issue_id, 'iid')}/notes"
        text = body if idempotency_key is None else with_idempotency_marker(body, idempotency_key)
        read_back = None
        if idempotency_key is not None:
            key = idempotency_key

            async def find() -> Comment | None:
                found = await self._newest_with_marker(path, key, "body")
                return None if found is None else self._comment(found)

            read_back = find
        result = await self.http.post(path, json={"body": text}, read_back=read_back)
        if isinstance(result, Comment):
            return result
        return self._comment(result.json())

    def _comment(self, native: Any) -> Comment:
        note = mapping.note(native, provider=self.provider_ref)
        assert isinstance(note, Comment)
        return note

    async def update_comment(self, ref: ExternalRef, comment_id: str, body: str) -> Comment:
        """Edit a note by its id (``issues/<iid>/notes/<id>``, as listed)."""
        parts = comment_id.strip("/").split("/")
        if (
            len(parts) != 4
            or parts[0] not in ("issues", "merge_requests")
            or parts[2] != "notes"
            or not (parts[1].isdigit() and parts[3].isdigit())
        ):
            raise InvalidInput(
                f"{comment_id!r} is not a GitLab comment id; pass the Comment's native_id "
                "(issues/<iid>/notes/<note id>)",
                field="comment_id",
            )
        response = await self.http.put(f"{project_path(ref)}/{comment_id}", json={"body": body})
        return self._comment(response.json())

    async def _crawl(
        self,
        ref: ExternalRef,
        per_issue: Callable[[str, str | None, int], Awaitable[Page[T]]],
        *,
        since: datetime | None,
        cursor: str | None,
        page_size: int | None,
    ) -> Page[T]:
        """A per-issue listing over every issue of the project (GitLab has no project-wide
        notes or events listing): issues by id, each issue's items in order.

        The cursor holds the issue listing's cursor, the iids left on its page and
        the cursor inside the current issue. With ``since``, only issues updated
        since then are visited (a note or event touches its issue).
        """
        size = self._page_size(page_size)
        state: dict[str, Any] = decode_cursor(cursor) if cursor else {"started": True}
        issues_cursor: str | None = state.get("ip")
        queue: list[str] = list(state.get("q", []))
        inner: str | None = state.get("c")
        started = bool(state.get("started") or cursor is None)
        items: list[T] = []
        hwm: datetime | None = None
        while len(items) < size:
            if not queue:
                if not started and issues_cursor is None:
                    break
                issues = await self.list_issues(
                    ref, since=since, cursor=issues_cursor, page_size=MAX_PAGE_SIZE
                )
                started = False
                issues_cursor = issues.next_cursor
                queue = [str(i.external.native_number) for i in issues.items]
                inner = None
                if not queue:
                    if issues_cursor is None:
                        break
                    continue
            # Each issue is read in whole pages of the same size, to its end (a page ends
            # up over size): notes read for comments then serve the events too. The next
            # issues are independent reads: they advance together, a page each per round.
            batch = queue[: 1 if inner is not None else FANOUT_LIMIT.get()]
            read: dict[str, list[T]] = {iid: [] for iid in batch}
            pending: list[tuple[str, str | None]] = [(iid, inner) for iid in batch]
            while pending:
                pages = await bounded_gather([partial(per_issue, i, c, size) for i, c in pending])
                after: list[tuple[str, str | None]] = []
                for (iid, _), page in zip(pending, pages, strict=True):
                    read[iid].extend(page.items)
                    if page.high_water_mark is not None:
                        hwm = max(hwm, page.high_water_mark) if hwm else page.high_water_mark
                    if page.next_cursor is not None:
                        after.append((iid, page.next_cursor))
                pending = after
            for iid in batch:
                items.extend(read[iid])
                queue.pop(0)
            inner = None
        more = bool(queue) or issues_cursor is not None
        return Page(
            items=items,
            next_cursor=(
                encode_cursor({"ip": issues_cursor, "q": queue, "c": inner}) if more else None
            ),
            high_water_mark=hwm,
        )

    # -- labels -----------------------------------------------------------------------

    async def list_labels(
        self, ref: ExternalRef, *, cursor: str | None = None, page_size: int | None = None
    ) -> Page[Label]:
        """The project's labels, by name."""
        return await self._list_page(
            f"{project_path(ref)}/labels",
            {},
            cursor=cursor,
            page_size=page_size,
            convert=lambda native: mapping.label(native, provider=self.provider_ref),
        )

    async def _all_labels(self, ref: ExternalRef) -> list[Label]:
        labels: list[Label] = []
        cursor: str | None = None
        while True:
            page = await self.list_labels(ref, cursor=cursor)
            labels.extend(page.items)
            if page.next_cursor is None:
                return labels
            cursor = page.next_cursor

    async def sync_labels(
        self,
        ref: ExternalRef,
        desired: Sequence[LabelSpec],
        *,
        prune: bool = True,
        dry_run: bool = False,
    ) -> SyncResult:
        """Converge labels to ``desired`` by name; ``prune`` deletes the others.

        ``color``/``description`` left None are not managed. The dry-run plan
        is exactly what a real run applies.
        """
        names = [spec.name for spec in desired]
        if len(set(names)) != len(names):
            raise InvalidInput("a label is listed twice in desired; keep one", field="desired")
        existing = {label.name: label for label in await self._all_labels(ref)}
        current = {
            name: {
                "name": name,
                "color": (label.color or "").lower() or None,
                "description": label.description,
            }
            for name, label in existing.items()
        }
        wanted = {
            spec.name: {
                "name": spec.name,
                "color": spec.color.lstrip("#").lower() if spec.color else None,
                "description": spec.description,
            }
            for spec in desired
        }
        changes = plan_changes(current, wanted, ("color", "description"), prune)
        if not dry_run:
            base = f"{project_path(ref)}/labels"
            for change in changes:
                if change.action is PlanAction.CREATE:
                    spec = wanted[change.key]
                    await self.http.post(
                        base,
                        json={
                            "name": spec["name"],
                            "color": _color(spec["color"]) or "#6699cc",
                            "description": spec["description"],
                        },
                    )
                elif change.action is PlanAction.UPDATE:
                    spec = wanted[change.key]
                    patch = {f: spec[f] for f in change.fields}
                    if "color" in patch:
                        patch["color"] = _color(patch["color"])
                    label_id = existing[change.key].external.native_id
                    await self.http.put(f"{base}/{label_id}", json=patch)
                elif change.action is PlanAction.DELETE:
                    label_id = existing[change.key].external.native_id
                    with contextlib.suppress(NotFound):  # already gone: the goal holds
                        await self.http.delete(f"{base}/{quote(label_id, safe='')}")
        return SyncResult(kind="Label", dry_run=dry_run, changes=changes)

    # -- milestones and events ----------------------------------------------------------

    async def list_milestones(
        self, ref: ExternalRef, *, cursor: str | None = None, page_size: int | None = None
    ) -> Page[Milestone]:
        """The project's milestones (active and closed)."""
        return await self._list_page(
            f"{project_path(ref)}/milestones",
            {},
            cursor=cursor,
            page_size=page_size,
            convert=lambda native: mapping.milestone(native, provider=self.provider_ref),
        )

    async def list_issue_events(
        self,
        ref: ExternalRef,
        *,
        issue_id: str | None = None,
        since: datetime | None = None,
        cursor: str | None = None,
        page_size: int | None = None,
    ) -> Page[IssueEvent]:
        """An issue's history: resource state, label and milestone events, then system notes.

        The four GitLab listings are read one after the other; the cursor says
        which one and where in it.
        """
        if issue_id is None:
            return await self._crawl(
                ref,
                lambda iid, inner, size: self.list_issue_events(
                    ref, issue_id=iid, since=since, cursor=inner, page_size=size
                ),
                since=since,
                cursor=cursor,
                page_size=page_size,
            )
        iid = as_number(issue_id, "iid")
        base = f"{project_path(ref)}/issues/{iid}"
        stage = 0
        if cursor is not None:
            state = decode_cursor(cursor)
            stage = int(state.get("stage", 0))
            if not 0 <= stage <= len(_EVENT_FAMILIES):
                raise InvalidInput("not a cursor this GitLab adapter issued", field="cursor")
            inner = encode_cursor({"url": state["url"]}) if state.get("url") else None
        else:
            inner = None

        def keep(event: IssueEvent) -> IssueEvent | None:
            if since is not None and event.created_at is not None and event.created_at < since:
                return None
            return event

        if stage < len(_EVENT_FAMILIES):
            family = _EVENT_FAMILIES[stage]
            page = await self._list_page(
                f"{base}/resource_{family}_events",
                {},
                cursor=inner,
                page_size=page_size,
                convert=lambda native: keep(
                    mapping.resource_event(
                        native, family=family, issue_iid=iid, provider=self.provider_ref
                    )
                ),
                updated=_created,
                extra={"stage": stage},
            )
        else:

            def system(native: Any) -> IssueEvent | None:
                if not native.get("system"):
                    return None
                event = mapping.note(native, provider=self.provider_ref)
                assert isinstance(event, IssueEvent)
                return keep(event)

            page = await self._list_page(
                f"{base}/notes",
                {"order_by": "created_at", "sort": "asc"},
                cursor=inner,
                page_size=page_size,
                convert=system,
                updated=_created,
                extra={"stage": stage},
            )
        if page.next_cursor is None and stage < len(_EVENT_FAMILIES):
            page = replace(page, next_cursor=encode_cursor({"stage": stage + 1}))
        return page


def _created(event: IssueEvent) -> datetime | None:
    # Events never change: their creation time is their version (incremental listings).
    return event.created_at


def _check_version(expected: str, current: Issue, what: str) -> None:
    """Raise PreconditionFailed unless ``expected`` (ETag or updated_at) is current."""
    etag = current.external.version.etag
    if expected.startswith(('W/"', '"')):
        ok = etag is not None and expected.removeprefix("W/") == etag.removeprefix("W/")
        now: Any = etag
    else:
        try:
            wanted = datetime.fromisoformat(expected.replace("Z", "+00:00"))
        except ValueError as exc:
            raise InvalidInput(
                f"expected_version {expected!r} is neither an ETag nor an ISO-8601 updated_at",
                field="expected_version",
            ) from exc
        updated = current.updated_at
        ok = updated is not None and abs((updated - wanted.astimezone(UTC)).total_seconds()) < 1
        now = updated.isoformat() if updated else None
    if not ok:
        raise PreconditionFailed(
            f"the {what} changed since version {expected!r} was read (now {now!r}); re-read it "
            "and apply the change again.",
            current_version=now,
            provider="gitlab",
            status=412,
        )
