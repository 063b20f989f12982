"""Issue events from Jira changelogs.

One issue: Cloud pages ``GET /rest/api/3/issue/{key}/changelog``
(``startAt``/``maxResults``/``isLast``/``values``); Data Center has no such
endpoint in REST v2, so the adapter reads ``GET /rest/api/2/issue/{key}?expand=changelog``
and pages the histories itself. The whole project (``issue_id=None``): a JQL
search for issues changed since ``since`` with ``expand=changelog``; every
history created at or after ``since`` becomes events. (Jira embeds a bounded
number of the newest histories in search results, so for an issue with a very
long burst of changes between two syncs the oldest may be missing; list that
issue's events by ``issue_id`` to read its full changelog.)
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from kradle_provider_jira import mapping
from kradle_provider_jira.adapter.client import CLOUD_API
from kradle_provider_jira.adapter.jql import search_jql
from kradle_provider_jira.adapter.search import SearchOperations
from kradle_providers.http import OffsetPagination, PageRequest
from kradle_providers.models import ExternalRef, IssueEvent, ObjectRef
from kradle_providers.protocols.page import Page

__all__ = ["EventOperations"]


class EventOperations(SearchOperations):
    """``list_issue_events`` for both flavours."""

    def _events(
        self, histories: list[Any], issue: ObjectRef, floor: datetime | None
    ) -> list[IssueEvent]:
        events: list[IssueEvent] = []
        for history in histories:
            if not isinstance(history, Mapping):
                continue
            created = mapping.parse_datetime(history.get("created"))
            if floor is not None and created is not None and created < floor:
                continue
            events.extend(mapping.issue_events_from_changelog(history, self.provider_ref, issue))
        return events

    def _issue_ref(self, raw: Mapping[str, Any]) -> ObjectRef:
        return mapping.issue_ref(raw, site=self.site)

    async def list_issue_events(
        self,
        ref: ExternalRef,
        *,
        issue_id: str | None = None,
        since: datetime | None = None,
        cursor: str | None = None,
        page_size: int | None = None,
    ) -> Page[IssueEvent]:
        """Changelog entries as events, oldest first (see the module notes)."""
        if cursor is not None:
            state = self._decode("events", cursor)
        else:
            project = self._project(ref)
            size = self._page_size(page_size)
            state = {
                "issue": issue_id,
                "native": None,
                "size": size,
                "since": since.isoformat() if since is not None else None,
            }
            if issue_id is None:
                zone = await self.time_zone() if since is not None else UTC
                state["search"] = self._search_state(
                    search_jql(project, since=since, zone=zone), size, None
                )
        floor = datetime.fromisoformat(state["since"]) if state.get("since") else None
        if state.get("issue") is None:
            found = await self._search_page(state["search"], fields="updated", expand="changelog")
            events: list[IssueEvent] = []
            for raw in found.issues:
                changelog = raw.get("changelog")
                histories = changelog.get("histories") if isinstance(changelog, Mapping) else None
                events.extend(
                    self._events(
                        histories if isinstance(histories, list) else [],
                        self._issue_ref(raw),
                        floor,
                    )
                )
            events.sort(key=lambda e: e.created_at or datetime.min.replace(tzinfo=UTC))
            # A page of issues holds any number of events: hand them out page_size at a
            # time, reading the same page of issues again until its events are used up.
            skip = int(state.get("skip", 0))
            size = int(state["size"])
            rest = events[skip + size :]
            events = events[skip : skip + size]
            next_state: dict[str, Any] | None
            if rest:
                next_state = {**state, "skip": skip + size}
            else:
                next_state = {**state, "search": found.state, "skip": 0} if found.state else None
        else:
            events, next_state = await self._issue_events(state, floor)
        stamps = [e.created_at for e in events if e.created_at is not None]
        return Page(
            items=events,
            next_cursor=self._cursor("events", next_state) if next_state else None,
            high_water_mark=max(stamps) if stamps else floor,
        )

    async def _issue_events(
        self, state: dict[str, Any], floor: datetime | None
    ) -> tuple[list[IssueEvent], dict[str, Any] | None]:
        issue_id = str(state["issue"])
        size = int(state["size"])
        path_id = self._path_id(issue_id, "issue_id")
        if await self.flavor() == "cloud":
            raw_issue = await self._issue_identity(issue_id)
            request = PageRequest(f"{CLOUD_API}/issue/{path_id}/changelog")
            strategy = OffsetPagination(items="values", max_page_size=100, page_size=size)
            histories, following = await self._one_page(strategy, request, state.get("native"))
            next_state = {**state, "native": following} if following else None
            return self._events(histories, self._issue_ref(raw_issue), floor), next_state
        # Data Center: REST v2 has no changelog endpoint; page the embedded histories.
        api = await self.api()
        raw = (
            await self.http.get(
                f"{api}/issue/{path_id}", params={"expand": "changelog", "fields": "updated"}
            )
        ).json()
        changelog = raw.get("changelog") if isinstance(raw, Mapping) else None
        embedded = changelog.get("histories") if isinstance(changelog, Mapping) else None
        all_histories: list[Any] = embedded if isinstance(embedded, list) else []
        start = int((state.get("native") or {}).get("start", 0))
        chunk = all_histories[start : start + size]
        following_start = start + len(chunk)
        next_state = (
            {**state, "native": {"start": following_start}}
            if chunk and following_start < len(all_histories)
            else None
        )
        return self._events(chunk, self._issue_ref(raw), floor), next_state

    async def _issue_identity(self, issue_id: str) -> Mapping[str, Any]:
        api = await self.api()
        body = (
            await self.http.get(
                f"{api}/issue/{self._path_id(issue_id, 'issue_id')}", params={"fields": "updated"}
            )
        ).json()
        return body if isinstance(body, Mapping) else {"key": issue_id}
