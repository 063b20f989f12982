"""IssueTracking on GitHub: issues, comments, labels, milestones, issue events.

GitHub pull requests are also issues: ``GET /issues`` returns both. The issue
listing drops PR-backed issues (they are :class:`PullRequest` objects of the
forge interface); ``get_issue`` on a PR number returns an Issue whose
``pull_request`` links the PR, as the mapping builds it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from datetime import datetime
from typing import Any
from urllib.parse import quote

from kradle_provider_github import mapping
from kradle_provider_github.adapter.client import (
    MAX_PAGE_SIZE,
    GitHubBase,
    precondition,
    repo_path,
)
from kradle_providers.errors import InvalidInput, NotFound
from kradle_providers.http import LinkHeaderPagination, PageRequest, paginate
from kradle_providers.http.idempotency import carries_idempotency_key, with_idempotency_marker
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
    SyncResult,
)
from kradle_providers.models.plan import PlanAction, PlannedChange
from kradle_providers.protocols.page import Page

__all__ = ["IssueOperations"]

#: How many of the newest objects a read-back inspects for an idempotency marker.
READ_BACK_PAGES = 3


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def _state_param(state: str | None) -> str:
    if state is None:
        return "all"
    if state not in ("open", "closed", "all"):
        raise InvalidInput("state must be 'open', 'closed' or 'all'", field="state")
    return state


def _normal_color(color: str | None) -> str | None:
    return color.lstrip("#").lower() if color else color


class IssueOperations(GitHubBase):
    """The IssueTracking operations GitHub supports (no workflow transitions)."""

    # -- issues ---------------------------------------------------------------

    async def list_issues(
        self,
        ref: ExternalRef,
        *,
        since: datetime | None = None,
        state: str | None = None,
        cursor: str | None = None,
        page_size: int | None = None,
    ) -> Page[Issue]:
        """Issues without PR-backed ones; with ``since``, by update time ascending.

        A page may hold fewer items than ``page_size`` (the PRs GitHub returned
        on it are dropped); only ``next_cursor`` says whether more follow.
        """
        params: dict[str, Any] = {"state": _state_param(state)}
        if since is not None:
            params.update(since=_iso(since), sort="updated", direction="asc")
        else:
            params.update(sort="created", direction="asc")

        def convert(native: Any) -> Issue | None:
            if "pull_request" in native:
                return None
            return mapping.issue(native, provider=self.provider_ref)

        return await self._list_page(
            f"{repo_path(ref)}/issues",
            params,
            cursor=cursor,
            page_size=page_size,
            convert=convert,
            updated=lambda i: i.updated_at,
        )

    async def get_issue(self, ref: ExternalRef, issue_id: str) -> Issue:
        """One issue by number (a PR number gives the Issue linked to its PR)."""
        response = await self.http.get(f"{repo_path(ref)}/issues/{_number(issue_id)}")
        return mapping.issue(response.json(), provider=self.provider_ref, etag=response.etag)

    async def create_issue(
        self, ref: ExternalRef, data: IssueCreate, *, idempotency_key: str | None = None
    ) -> Issue:
        """Create an issue; with ``idempotency_key`` a lost response never creates twice."""
        payload: dict[str, Any] = {"title": data.title}
        body = data.body
        if idempotency_key is not None:
            body = with_idempotency_marker(body, idempotency_key)
        if body is not None:
            payload["body"] = body
        if data.labels:
            payload["labels"] = list(data.labels)
        if data.assignees:
            payload["assignees"] = list(data.assignees)
        if data.milestone is not None:
            payload["milestone"] = await self._milestone_number(ref, data.milestone)
        if data.issue_type is not None:
            payload["type"] = data.issue_type
        path = f"{repo_path(ref)}/issues"
        if idempotency_key is None:
            response = await self.http.post(path, json=payload)
            return mapping.issue(response.json(), provider=self.provider_ref)
        key = idempotency_key

        async def read_back() -> Issue | None:
            found = await self._newest_with_marker(
                path, {"state": "all", "sort": "created", "direction": "desc"}, key
            )
            return mapping.issue(found, provider=self.provider_ref) if found is not None else None

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
        """Change the fields set on ``data``.

        GitHub has no conditional PATCH, so ``expected_version`` (an ETag or
        ``updated_at``) is compared with a fresh read first (a 304 when nothing
        changed); a mismatch raises PreconditionFailed with the current version.
        """
        path = f"{repo_path(ref)}/issues/{_number(issue_id)}"
        if expected_version is not None:
            current = await self.http.get(path)
            issue = mapping.issue(current.json(), provider=self.provider_ref)
            precondition(expected_version, current.etag, issue.updated_at, f"issue #{issue_id}")
        payload: dict[str, Any] = {}
        for name in data.model_fields_set:
            value = getattr(data, name)
            if name == "milestone":
                payload["milestone"] = (
                    None if value is None else await self._milestone_number(ref, value)
                )
            elif value is not None or name in ("body",):
                payload[name] = value
        if not payload:
            return mapping.issue((await self.http.get(path)).json(), provider=self.provider_ref)
        response = await self.http.patch(path, json=payload)
        return mapping.issue(response.json(), provider=self.provider_ref)

    async def close_issue(
        self, ref: ExternalRef, issue_id: str, *, reason: str | None = None
    ) -> Issue:
        """Close with GitHub's ``state_reason`` (``completed``, ``not_planned``…)."""
        payload: dict[str, Any] = {"state": "closed"}
        if reason is not None:
            payload["state_reason"] = reason
        response = await self.http.patch(
            f"{repo_path(ref)}/issues/{_number(issue_id)}", json=payload
        )
        return mapping.issue(response.json(), provider=self.provider_ref)

    async def reopen_issue(self, ref: ExternalRef, issue_id: str) -> Issue:
        """``state=open`` (GitHub then sets ``state_reason`` to ``reopened``)."""
        response = await self.http.patch(
            f"{repo_path(ref)}/issues/{_number(issue_id)}", json={"state": "open"}
        )
        return mapping.issue(response.json(), provider=self.provider_ref)

    async def _milestone_number(self, ref: ExternalRef, milestone: str) -> int:
        if milestone.isdigit():
            return int(milestone)
        cursor: str | None = None
        while True:
            page = await self.list_milestones(ref, cursor=cursor)
            for item in page.items:
                if item.title == milestone and item.external.native_number:
                    return int(item.external.native_number)
            if page.next_cursor is None:
                break
            cursor = page.next_cursor
        raise InvalidInput(
            f"no milestone titled {milestone!r} in {ref.slug()}; pass its number or title",
            field="milestone",
        )

    async def _newest_with_marker(
        self, path: str, params: dict[str, Any], key: str
    ) -> dict[str, Any] | None:
        """The newest object at ``path`` whose body carries ``key``'s marker.

        Newest first, a few pages at most. ``since`` is deliberately not used:
        GitHub stamps ``created_at`` with its own clock, which may differ from
        ours, and a write lost moments ago is on the first page anyway.
        """
        pages = paginate(
            self.http,
            LinkHeaderPagination(max_page_size=MAX_PAGE_SIZE, base_url=self.rest_url),
            PageRequest(path, params=params, conditional=False),
            max_pages=READ_BACK_PAGES,
        )
        async for page in pages:
            for native in page.items:
                if carries_idempotency_key(native.get("body"), key):
                    return dict(native)
        return None

    # -- comments -------------------------------------------------------------

    async def list_comments(
        self,
        ref: ExternalRef,
        *,
        issue_id: str | None = None,
        since: datetime | None = None,
        cursor: str | None = None,
        page_size: int | None = None,
    ) -> Page[Comment]:
        """Comments of one issue, or of the whole repository in one listing.

        With ``issue_id=None`` this is ``GET /issues/comments`` (every issue and
        PR conversation comment, 100 per page, ``since`` applied by GitHub) —
        a backfill never lists comments issue by issue.
        """
        params: dict[str, Any] = {}
        if since is not None:
            params["since"] = _iso(since)
        if issue_id is None:
            path = f"{repo_path(ref)}/issues/comments"
            params.update(sort="updated" if since is not None else "created", direction="asc")
        else:
            path = f"{repo_path(ref)}/issues/{_number(issue_id)}/comments"
        return await self._list_page(
            path,
            params,
            cursor=cursor,
            page_size=page_size,
            convert=lambda native: mapping.issue_comment(native, provider=self.provider_ref),
            updated=lambda c: c.updated_at,
        )

    async def create_comment(
        self, ref: ExternalRef, issue_id: str, body: str, *, idempotency_key: str | None = None
    ) -> Comment:
        """Comment on an issue or PR; with ``idempotency_key`` it is created once."""
        number = _number(issue_id)
        path = f"{repo_path(ref)}/issues/{number}/comments"
        if idempotency_key is None:
            response = await self.http.post(path, json={"body": body})
            return mapping.issue_comment(response.json(), provider=self.provider_ref)
        key = idempotency_key
        marked = with_idempotency_marker(body, key)

        async def read_back() -> Comment | None:
            found = await self._newest_with_marker(
                f"{repo_path(ref)}/issues/comments",
                {"sort": "created", "direction": "desc"},
                key,
            )
            if found is None or not str(found.get("issue_url", "")).endswith(f"/issues/{number}"):
                return None
            return mapping.issue_comment(found, provider=self.provider_ref)

        result = await self.http.post(path, json={"body": marked}, read_back=read_back)
        if isinstance(result, Comment):
            return result
        return mapping.issue_comment(result.json(), provider=self.provider_ref)

    async def update_comment(self, ref: ExternalRef, comment_id: str, body: str) -> Comment:
        """Replace a comment's body (by the comment's id)."""
        response = await self.http.patch(
            f"{repo_path(ref)}/issues/comments/{_number(comment_id, 'comment_id')}",
            json={"body": body},
        )
        return mapping.issue_comment(response.json(), provider=self.provider_ref)

    # -- labels ---------------------------------------------------------------

    async def list_labels(
        self, ref: ExternalRef, *, cursor: str | None = None, page_size: int | None = None
    ) -> Page[Label]:
        """The repository's labels."""
        return await self._list_page(
            f"{repo_path(ref)}/labels",
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
        """Converge labels to ``desired``, matched by name (case-insensitively, as GitHub does).

        ``color``/``description`` left None in a spec are not managed; a name
        differing only in case is renamed. ``prune`` deletes labels not desired.
        The dry-run plan is exactly what a real run applies.
        """
        seen: set[str] = set()
        for spec in desired:
            folded = spec.name.casefold()
            if folded in seen:
                raise InvalidInput(
                    f"label {spec.name!r} is listed twice (GitHub label names are "
                    "case-insensitive); keep one",
                    field="desired",
                )
            seen.add(folded)
        current = {label.name.casefold(): label for label in await self._all_labels(ref)}
        changes: list[PlannedChange] = []
        for spec in desired:
            existing = current.get(spec.name.casefold())
            after = spec.model_dump(mode="json")
            if existing is None:
                changes.append(PlannedChange(action=PlanAction.CREATE, key=spec.name, after=after))
                continue
            fields: list[str] = []
            if existing.name != spec.name:
                fields.append("name")
            if spec.color is not None and _normal_color(spec.color) != _normal_color(
                existing.color
            ):
                fields.append("color")
            if spec.description is not None and spec.description != (existing.description or ""):
                fields.append("description")
            before = {
                "name": existing.name,
                "color": existing.color,
                "description": existing.description,
            }
            changes.append(
                PlannedChange(
                    action=PlanAction.UPDATE if fields else PlanAction.UNCHANGED,
                    key=spec.name,
                    before=before,
                    after=after,
                    fields=fields,
                )
            )
        if prune:
            for folded, label in sorted(current.items()):
                if folded not in seen:
                    changes.append(
                        PlannedChange(
                            action=PlanAction.DELETE,
                            key=label.name,
                            before={
                                "name": label.name,
                                "color": label.color,
                                "description": label.description,
                            },
                        )
                    )
        if not dry_run:
            await self._apply_label_plan(ref, changes, {s.name: s for s in desired}, current)
        return SyncResult(kind="Label", dry_run=dry_run, changes=changes)

    async def _apply_label_plan(
        self,
        ref: ExternalRef,
        changes: list[PlannedChange],
        specs: dict[str, LabelSpec],
        current: dict[str, Label],
    ) -> None:
        base = f"{repo_path(ref)}/labels"
        for change in changes:
            if change.action is PlanAction.CREATE:
                spec = specs[change.key]
                payload: dict[str, Any] = {"name": spec.name}
                if spec.color is not None:
                    payload["color"] = _normal_color(spec.color)
                if spec.description is not None:
                    payload["description"] = spec.description
                await self.http.post(base, json=payload)
            elif change.action is PlanAction.UPDATE:
                spec = specs[change.key]
                existing = current[spec.name.casefold()]
                patch: dict[str, Any] = {}
                if "name" in change.fields:
                    patch["new_name"] = spec.name
                if "color" in change.fields:
                    patch["color"] = _normal_color(spec.color)
                if "description" in change.fields:
                    patch["description"] = spec.description
                await self.http.patch(f"{base}/{quote(existing.name, safe='')}", json=patch)
            elif change.action is PlanAction.DELETE:
                with contextlib.suppress(NotFound):  # already gone: the plan's goal holds
                    await self.http.delete(f"{base}/{quote(change.key, safe='')}")

    # -- milestones and events ------------------------------------------------

    async def list_milestones(
        self, ref: ExternalRef, *, cursor: str | None = None, page_size: int | None = None
    ) -> Page[Milestone]:
        """Open and closed milestones."""
        return await self._list_page(
            f"{repo_path(ref)}/milestones",
            {"state": "all"},
            cursor=cursor,
            page_size=page_size,
            convert=lambda native: mapping.milestone(native, provider=self.provider_ref),
            updated=lambda m: m.updated_at,
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
        """Issue events of one issue or the whole repository.

        GitHub's events endpoints take no ``since``: older events are filtered
        out here, page by page (the listing itself is still complete).
        """

        parent: Any = None
        if issue_id is not None:
            # Per-issue events do not embed their issue; one (cacheable) read supplies it.
            parent = await self._get_json(f"{repo_path(ref)}/issues/{_number(issue_id)}")

        def convert(native: Any) -> IssueEvent | None:
            event = mapping.issue_event(native, issue=parent, provider=self.provider_ref)
            if since is not None and event.created_at is not None and event.created_at < since:
                return None
            return event

        path = (
            f"{repo_path(ref)}/issues/events"
            if issue_id is None
            else f"{repo_path(ref)}/issues/{_number(issue_id)}/events"
        )
        return await self._list_page(
            path,
            {},
            cursor=cursor,
            page_size=page_size,
            convert=convert,
            updated=lambda e: e.created_at,
        )


def _number(value: str, what: str = "issue_id") -> str:
    text = str(value).strip().lstrip("#")
    if not text.isdigit():
        raise InvalidInput(f"{what} must be a GitHub number like '42', got {value!r}", field=what)
    return text
