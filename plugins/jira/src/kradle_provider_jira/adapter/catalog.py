"""Labels and fix versions (milestones).

Labels: Cloud lists every label of the site (``GET /rest/api/3/label``,
``startAt``/``maxResults``/``isLast``/``values``; labels are site-wide, not
per project). Data Center has no label list in REST v2, so the adapter
collects the distinct labels of the project's issues with a JQL search and
pages the sorted result itself (each page re-reads the project's labels).

Milestones are fix versions: Cloud ``GET /rest/api/3/project/{key}/version``
(paginated), Data Center ``GET /rest/api/2/project/{key}/versions`` (one array,
paged by the adapter).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kradle_provider_jira import mapping
from kradle_provider_jira.adapter.client import CLOUD_API, DATACENTER_API
from kradle_provider_jira.adapter.jql import jql_string
from kradle_provider_jira.adapter.search import SearchOperations
from kradle_providers.errors import KradleError
from kradle_providers.http import OffsetPagination, PageRequest
from kradle_providers.http.listing import drop_repeated
from kradle_providers.models import ExternalRef, Label, Milestone
from kradle_providers.models.tolerance import SKIPPED, map_each
from kradle_providers.protocols.page import Page

__all__ = ["CatalogOperations"]


class CatalogOperations(SearchOperations):
    """``list_labels`` and ``list_milestones``."""

    def _slice(self, values: list[Any], state: Mapping[str, Any]) -> tuple[list[Any], int | None]:
        start = int(state.get("start", 0))
        size = int(state["size"])
        chunk = values[start : start + size]
        following = start + len(chunk)
        return chunk, following if chunk and following < len(values) else None

    async def list_labels(
        self, ref: ExternalRef, *, cursor: str | None = None, page_size: int | None = None
    ) -> Page[Label]:
        """Labels (site-wide on Cloud; the project's issues' labels on Data Center)."""
        if cursor is not None:
            state = self._decode("labels", cursor)
        else:
            state = {"project": self._project(ref), "size": self._page_size(page_size)}
        if await self.flavor() == "cloud":
            strategy = OffsetPagination(
                items="values", max_page_size=1000, page_size=int(state["size"])
            )
            names, following = await self._one_page(
                strategy, PageRequest(f"{CLOUD_API}/label"), state.get("native")
            )
            next_state = {**state, "native": following} if following else None
        else:
            names, start = self._slice(await self._project_labels(str(state["project"])), state)
            next_state = {**state, "start": start} if start is not None else None
        labels = [
            mapping.label_from_jira(str(n), self.provider_ref, site=self.site or self.base_url)
            for n in names
            if isinstance(n, str)
        ]
        page = Page(
            items=labels, next_cursor=self._cursor("labels", next_state) if next_state else None
        )
        # Labels page alphabetically by offset: one created before the cursor repeats one.
        return drop_repeated(page, cursor)

    async def _project_labels(self, project: str) -> list[str]:
        state = self._search_state(f"project = {jql_string(project)} ORDER BY key ASC", 100, None)
        seen: set[str] = set()
        current: dict[str, Any] | None = state
        while current is not None:
            page = await self._search_page(current, fields="labels")
            for issue in page.issues:
                fields = issue.get("fields")
                labels = fields.get("labels") if isinstance(fields, Mapping) else None
                seen.update(x for x in labels or [] if isinstance(x, str))
            current = page.state
        return sorted(seen)

    async def list_milestones(
        self, ref: ExternalRef, *, cursor: str | None = None, page_size: int | None = None
    ) -> Page[Milestone]:
        """The project's fix versions (released -> closed)."""
        if cursor is not None:
            state = self._decode("milestones", cursor)
        else:
            state = {"project": self._project(ref), "size": self._page_size(page_size)}
        project = str(state["project"])
        path_id = self._path_id(project, "project")
        if await self.flavor() == "cloud":
            strategy = OffsetPagination(
                items="values", max_page_size=100, page_size=int(state["size"])
            )
            versions, following = await self._one_page(
                strategy, PageRequest(f"{CLOUD_API}/project/{path_id}/version"), state.get("native")
            )
            next_state = {**state, "native": following} if following else None
        else:
            body = (await self.http.get(f"{DATACENTER_API}/project/{path_id}/versions")).json()
            versions, start = self._slice(body if isinstance(body, list) else [], state)
            next_state = {**state, "start": start} if start is not None else None
        skipped: list[KradleError] = []
        items = map_each(
            (v for v in versions if isinstance(v, Mapping)),
            lambda v: mapping.milestone_from_version(
                v, self.provider_ref, project_key=project, site=self.site
            ),
            skipped=skipped,
            what="Jira version",
        )
        return Page(
            items=items,
            next_cursor=self._cursor("milestones", next_state) if next_state else None,
            extra={SKIPPED: skipped},
        )
