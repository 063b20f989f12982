"""JQL search pages for both flavours, with the incremental high-water filter.

Cloud: ``GET /rest/api/3/search/jql`` (enhanced search, ``nextPageToken`` +
``isLast``; returns only ids unless ``fields`` is given). Data Center:
``GET /rest/api/2/search`` (``startAt``/``maxResults``/``total``). Both go
through :mod:`kradle_providers.http` pagination strategies; the adapter's
opaque cursor carries the strategy checkpoint plus the :class:`Mark` of the
last issue delivered.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from kradle_provider_jira import mapping
from kradle_provider_jira.adapter.client import CLOUD_API, DATACENTER_API, JiraBase
from kradle_provider_jira.adapter.jql import Mark
from kradle_providers.http import OffsetPagination, PageRequest, PaginationStrategy, TokenPagination

__all__ = ["SearchOperations", "SearchPage"]

#: Fields a listing asks for (Cloud's enhanced search returns only ids otherwise);
#: every field, so custom fields reach ``extensions`` as they do from ``getIssue``.
NAVIGABLE = "*all"


@dataclass(frozen=True)
class SearchPage:
    """One filtered search page: new raw issues, the advanced mark, the next cursor state."""

    issues: list[Mapping[str, Any]]
    mark: Mark | None
    state: dict[str, Any] | None


class SearchOperations(JiraBase):
    """Search helpers the listings share."""

    async def _search_strategy(
        self,
        jql: str,
        size: int,
        *,
        fields: str = NAVIGABLE,
        expand: str | None = None,
        properties: str | None = None,
    ) -> tuple[PaginationStrategy, PageRequest]:
        params: dict[str, Any] = {"jql": jql, "fields": fields}
        if expand:
            params["expand"] = expand
        if properties:
            params["properties"] = properties
        # Discovered with the first search, not with the first incremental one: the
        # answer is stored for later processes, whose windows all need it.
        await self.time_zone()
        if await self.flavor() == "cloud":
            strategy: PaginationStrategy = TokenPagination(
                items="issues", max_page_size=100, page_size=size
            )
            return strategy, PageRequest(f"{CLOUD_API}/search/jql", params=params)
        strategy = OffsetPagination(items="issues", max_page_size=100, page_size=size)
        return strategy, PageRequest(f"{DATACENTER_API}/search", params=params)

    async def _search_first(
        self, jql: str, size: int, *, fields: str = NAVIGABLE, properties: str | None = None
    ) -> list[Mapping[str, Any]]:
        """The first page of a search (read-backs, small look-ups)."""
        strategy, request = await self._search_strategy(
            jql, size, fields=fields, properties=properties
        )
        items, _ = await self._one_page(strategy, request, None)
        return [i for i in items if isinstance(i, Mapping)]

    async def _search_page(
        self,
        state: Mapping[str, Any],
        *,
        fields: str = NAVIGABLE,
        expand: str | None = None,
    ) -> SearchPage:
        """One page of an ordered search, dropping issues the mark already covers.

        ``state`` holds ``jql``, ``size``, ``native`` (checkpoint or None) and
        ``mark`` (:meth:`Mark.to_state` or None).
        """
        strategy, request = await self._search_strategy(
            str(state["jql"]), int(state["size"]), fields=fields, expand=expand
        )
        raw, following = await self._one_page(strategy, request, state.get("native"))
        mark = Mark.from_state(state.get("mark"))
        # Only an `updated ASC` walk can drop by mark; a key-ordered listing keeps all.
        by_update = "ORDER BY updated" in str(state["jql"])
        hwm = Mark.from_state(state.get("hwm"))
        fresh: list[Mapping[str, Any]] = []
        for issue in raw:
            if not isinstance(issue, Mapping):
                continue
            fields_of = issue.get("fields")
            updated = (
                mapping.parse_datetime(fields_of.get("updated"))
                if isinstance(fields_of, Mapping)
                else None
            )
            key = str(issue.get("key") or issue.get("id") or "")
            if updated is not None and by_update:
                if mark is not None and mark.covers(updated, key):
                    continue  # the overlap window: delivered by an earlier page or listing
                mark = Mark(updated, key)
            if updated is not None and (hwm is None or updated > hwm.updated):
                hwm = Mark(updated)
            fresh.append(issue)
        if not by_update:
            mark = hwm
        next_state = (
            {
                "jql": state["jql"],
                "size": state["size"],
                "native": following,
                "mark": mark.to_state() if mark else None,
                "hwm": hwm.to_state() if hwm else None,
            }
            if following is not None
            else None
        )
        return SearchPage(fresh, mark, next_state)

    @staticmethod
    def _search_state(jql: str, size: int, since: datetime | None) -> dict[str, Any]:
        return {
            "jql": jql,
            "size": size,
            "native": None,
            "mark": Mark(since).to_state() if since is not None else None,
        }

    @staticmethod
    def _keys(issues: Sequence[Mapping[str, Any]]) -> list[str]:
        return [str(i.get("key") or i.get("id")) for i in issues]
