"""IssueTracking on Jira: issues and workflow transitions.

Keys (``WID-42``) are the issue ids. A state change is never a status patch
(Jira refuses ``status`` in an edit): the adapter reads the transitions
available now, picks the one whose target status is in the wanted category
(``done`` to close; ``new``, else ``indeterminate``, to reopen) and performs
it, with a resolution when the target is done.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from kradle_provider_jira import mapping
from kradle_provider_jira.adapter.idempotency import (
    PROPERTY_KEY,
    carries_key,
    check_key,
    property_entry,
    property_jql,
)
from kradle_provider_jira.adapter.jql import jql_string, search_jql
from kradle_provider_jira.adapter.search import SearchOperations
from kradle_provider_jira.richtext import adf_from_markdown, wiki_from_markdown
from kradle_providers.errors import InvalidInput, KradleError, PreconditionFailed
from kradle_providers.http import ProviderRejectedInput, Response
from kradle_providers.models import (
    ExternalRef,
    Issue,
    IssueCreate,
    IssueUpdate,
    Transition,
)
from kradle_providers.models.tolerance import SKIPPED, map_each
from kradle_providers.protocols.page import Page

__all__ = ["IssueOperations", "resolution_name", "with_warnings"]

#: How many of the newest issues the fallback read-back inspects.
READ_BACK_SCAN = 50
_REOPEN_CATEGORIES = ("new", "indeterminate")


def with_warnings(issue: Issue, warnings: Sequence[str]) -> Issue:
    """``issue`` with a write's conversion warnings added to its body's warnings."""
    if not warnings or issue.body is None:
        return issue
    merged = list(dict.fromkeys([*issue.body.warnings, *warnings]))
    return issue.model_copy(update={"body": issue.body.model_copy(update={"warnings": merged})})


def _category(status: Any) -> str | None:
    if isinstance(status, Mapping) and isinstance(status.get("statusCategory"), Mapping):
        key = status["statusCategory"].get("key")
        return key if isinstance(key, str) else None
    return None


#: Canonical close reasons (GitHub's vocabulary) -> Jira's default resolutions.
_REASON_ALIASES = {
    "completed": "Done",
    "done": "Done",
    "fixed": "Done",
    "not_planned": "Won't Do",
    "wontfix": "Won't Do",
    "won't do": "Won't Do",
    "duplicate": "Duplicate",
    "cannot_reproduce": "Cannot Reproduce",
}


def resolution_name(reason: str, screen: Any) -> str:
    """The Jira resolution for ``reason``: an allowed value by name, else a known alias.

    ``screen`` is the transition's ``fields`` (``expand=transitions.fields``);
    when it lists ``allowedValues`` an unknown reason is refused with the list.
    """
    field = screen.get("resolution") if isinstance(screen, Mapping) else None
    allowed_raw = field.get("allowedValues") if isinstance(field, Mapping) else None
    allowed = [
        str(v["name"]) for v in allowed_raw or [] if isinstance(v, Mapping) and v.get("name")
    ]
    alias = _REASON_ALIASES.get(reason.strip().lower())
    for candidate in (reason, alias):
        if candidate is None:
            continue
        for name in allowed:
            if name.lower() == candidate.lower():
                return name
    if allowed:
        raise InvalidInput(
            f"{reason!r} is not a resolution of this workflow; use one of {allowed}",
            field="reason",
        )
    return alias or reason


def _parse_version(expected: str) -> datetime:
    parsed = mapping.parse_datetime(expected)
    if parsed is None:
        raise InvalidInput(
            f"expected_version {expected!r} is not a Jira `updated` time; pass the issue's "
            "updated_at (ISO-8601) as you read it",
            field="expected_version",
        )
    return parsed


class IssueOperations(SearchOperations):
    """Issues, transitions and state changes."""

    # -- bodies ---------------------------------------------------------------

    async def _native_body(self, markdown: str) -> tuple[Any, list[str]]:
        """Markdown as the flavour's body: ADF (Cloud) or wiki markup (DC), with warnings."""
        if await self.flavor() == "cloud":
            doc, warnings = adf_from_markdown(markdown)
            return doc, warnings
        wiki, warnings = wiki_from_markdown(markdown)
        return wiki, warnings

    async def _user(self, name: str) -> dict[str, str]:
        # Cloud identifies people by accountId (GDPR); Data Center by username.
        return {"accountId": name} if await self.flavor() == "cloud" else {"name": name}

    @staticmethod
    def _version_ref(milestone: str) -> dict[str, str]:
        return {"id": milestone} if milestone.isdigit() else {"name": milestone}

    # -- reading --------------------------------------------------------------

    async def list_issues(
        self,
        ref: ExternalRef,
        *,
        since: datetime | None = None,
        state: str | None = None,
        cursor: str | None = None,
        page_size: int | None = None,
    ) -> Page[Issue]:
        """Issues of the project, ``updated`` ascending (then key), incremental by ``since``.

        The JQL window starts a minute before ``since`` (Jira compares JQL
        times per minute); issues already covered by ``since`` or by earlier
        pages are dropped, so a page may hold fewer than ``page_size`` items.
        ``high_water_mark`` is the exact largest ``updated`` delivered so far.
        """
        if cursor is not None:
            search_state = self._decode("issues", cursor)
        else:
            project = self._project(ref)
            zone = await self.time_zone() if since is not None else UTC
            jql = search_jql(project, since=since, state=state, zone=zone)
            search_state = self._search_state(jql, self._page_size(page_size), since)
        page = await self._search_page(search_state)
        skipped: list[KradleError] = []
        items = map_each(
            page.issues,
            lambda raw: mapping.issue_from_jira(raw, self.provider_ref, site=self.site),
            skipped=skipped,
            what="Jira issue",
        )
        return Page(
            items=items,
            next_cursor=self._cursor("issues", page.state) if page.state else None,
            high_water_mark=page.mark.updated if page.mark else None,
            extra={SKIPPED: skipped},
        )

    async def _raw_issue(self, issue_id: str, **params: Any) -> Mapping[str, Any]:
        api = await self.api()
        body = (
            await self.http.get(f"{api}/issue/{self._path_id(issue_id, 'issue_id')}", params=params)
        ).json()
        if not isinstance(body, Mapping):
            raise InvalidInput(f"Jira returned no issue for {issue_id!r}", field="issue_id")
        return body

    async def get_issue(self, ref: ExternalRef, issue_id: str) -> Issue:
        """One issue by key (``WID-42``) or id; NotFound when it does not exist."""
        raw = await self._raw_issue(issue_id)
        return mapping.issue_from_jira(raw, self.provider_ref, site=self.site)

    # -- writing --------------------------------------------------------------

    async def _find_by_key(self, project: str, key: str) -> dict[str, Any] | None:
        """The issue carrying idempotency ``key``, as ``{id, key}``; None if there is none."""
        try:
            found = await self._search_first(property_jql(project, key), 1, fields="summary")
        except ProviderRejectedInput:
            # The site does not index the property: scan the newest issues instead.
            newest = await self._search_first(
                f"project = {jql_string(project)} ORDER BY created DESC",
                READ_BACK_SCAN,
                fields="summary",
                properties=PROPERTY_KEY,
            )
            found = [i for i in newest if carries_key(i.get("properties"), key)]
        if not found:
            return None
        return {"id": str(found[0].get("id")), "key": str(found[0].get("key"))}

    async def create_issue(
        self, ref: ExternalRef, data: IssueCreate, *, idempotency_key: str | None = None
    ) -> Issue:
        """Create an issue; with ``idempotency_key`` a lost response never creates twice.

        The body is converted from Markdown (ADF on Cloud, wiki on DC); what the
        conversion could not carry is listed in the returned ``body.warnings``.
        Jira has one assignee: more than one is refused.
        """
        project = self._project(ref)
        if idempotency_key is not None:
            check_key(idempotency_key)
        api = await self.api()
        fields: dict[str, Any] = {
            "project": {"key": project},
            "summary": data.title,
            "issuetype": {"name": data.issue_type or self.options.issue_type},
        }
        warnings: list[str] = []
        if data.body:
            fields["description"], warnings = await self._native_body(data.body)
        if data.labels:
            fields["labels"] = list(data.labels)
        if data.milestone:
            fields["fixVersions"] = [self._version_ref(data.milestone)]
        if data.assignees:
            fields["assignee"] = await self._single_assignee(data.assignees)
        payload: dict[str, Any] = {"fields": fields}
        if idempotency_key is not None:
            # In the create itself (both flavours): a lost response still left the key.
            payload["properties"] = [property_entry(idempotency_key)]
            key = idempotency_key

            async def read_back() -> dict[str, Any] | None:
                return await self._find_by_key(project, key)

            result: Any = await self.http.post(f"{api}/issue", json=payload, read_back=read_back)
        else:
            result = await self.http.post(f"{api}/issue", json=payload)
        created = result.json() if isinstance(result, Response) else result
        if not isinstance(created, Mapping) or not created.get("key"):
            raise InvalidInput("Jira's create answer named no issue key", field="issue")
        issue_key = str(created["key"])
        return with_warnings(await self.get_issue(ref, issue_key), warnings)

    async def _single_assignee(self, assignees: Sequence[str]) -> dict[str, str] | None:
        if len(assignees) > 1:
            raise InvalidInput(
                f"Jira issues have one assignee, got {len(assignees)}; pass at most one "
                "(Cloud accountId or Data Center username)",
                field="assignees",
            )
        return await self._user(assignees[0]) if assignees else None

    async def update_issue(
        self,
        ref: ExternalRef,
        issue_id: str,
        data: IssueUpdate,
        *,
        expected_version: str | None = None,
    ) -> Issue:
        """Edit fields; a ``state`` change goes through a workflow transition.

        ``expected_version`` is the ``updated`` time read earlier; a different
        current value raises PreconditionFailed (Jira has no conditional edit,
        so this is a check just before the write, not an atomic one).
        ``milestone=""`` clears the fix versions.
        """
        self._project(ref)
        api = await self.api()
        path = f"{api}/issue/{self._path_id(issue_id, 'issue_id')}"
        if expected_version is not None:
            wanted = _parse_version(expected_version)
            current = await self._raw_issue(issue_id, fields="updated")
            fields_now = current.get("fields")
            now = (
                mapping.parse_datetime(fields_now.get("updated"))
                if isinstance(fields_now, Mapping)
                else None
            )
            if now is None or now != wanted:
                raise PreconditionFailed(
                    f"issue {issue_id} changed since version {expected_version!r} was read "
                    f"(now {now.isoformat() if now else None!r}); re-read it and apply the "
                    "change again.",
                    current_version=now.isoformat() if now else None,
                    provider="jira",
                    status=412,
                )
        fields: dict[str, Any] = {}
        warnings: list[str] = []
        if data.title is not None:
            fields["summary"] = data.title
        if data.body is not None:
            fields["description"], warnings = await self._native_body(data.body)
        if data.labels is not None:
            fields["labels"] = list(data.labels)
        if data.assignees is not None:
            fields["assignee"] = await self._single_assignee(data.assignees)
        if data.milestone is not None:
            fields["fixVersions"] = [self._version_ref(data.milestone)] if data.milestone else []
        if fields:
            await self.http.put(path, json={"fields": fields})
        if data.state is not None:
            await self._move_to_state(issue_id, data.state, reason=data.state_reason)
        return with_warnings(await self.get_issue(ref, issue_id), warnings)

    # -- transitions ----------------------------------------------------------

    async def _raw_transitions(self, issue_id: str) -> list[Mapping[str, Any]]:
        api = await self.api()
        body = (
            await self.http.get(
                f"{api}/issue/{self._path_id(issue_id, 'issue_id')}/transitions",
                params={"expand": "transitions.fields"},
                conditional=False,
            )
        ).json()
        raw = body.get("transitions") if isinstance(body, Mapping) else None
        return [t for t in raw if isinstance(t, Mapping)] if isinstance(raw, list) else []

    async def list_transitions(self, ref: ExternalRef, issue_id: str) -> list[Transition]:
        """The workflow moves available on the issue now."""
        return [
            mapping.transition_from_jira(t, self.provider_ref)
            for t in await self._raw_transitions(issue_id)
        ]

    async def _perform(
        self, issue_id: str, transition: Mapping[str, Any], resolution: str | None
    ) -> None:
        """POST the transition; a lost response is recovered by reading the status back."""
        api = await self.api()
        target = transition.get("to")
        target_id = str(target.get("id")) if isinstance(target, Mapping) else None
        payload: dict[str, Any] = {"transition": {"id": str(transition.get("id"))}}
        screen = transition.get("fields")
        if resolution is not None:
            if isinstance(screen, Mapping) and "resolution" not in screen:
                raise InvalidInput(
                    f"transition {transition.get('name')!r} has no resolution field on its "
                    "screen; transition without a resolution or change the workflow",
                    field="resolution",
                )
            payload["fields"] = {"resolution": {"name": resolution_name(resolution, screen)}}

        async def read_back() -> bool | None:
            raw = await self._raw_issue(issue_id, fields="status")
            fields = raw.get("fields")
            status = fields.get("status") if isinstance(fields, Mapping) else None
            done = isinstance(status, Mapping) and str(status.get("id")) == target_id
            return True if done and target_id is not None else None

        await self.http.post(
            f"{api}/issue/{self._path_id(issue_id, 'issue_id')}/transitions",
            json=payload,
            read_back=read_back,
        )

    async def transition_issue(
        self, ref: ExternalRef, issue_id: str, transition_id: str, *, resolution: str | None = None
    ) -> Issue:
        """Perform transition ``transition_id`` (from :meth:`list_transitions`).

        A transition to a done status gets ``resolution`` (default ``Done`` when
        the transition's screen has a resolution field).
        """
        available = await self._raw_transitions(issue_id)
        chosen = next((t for t in available if str(t.get("id")) == str(transition_id)), None)
        if chosen is None:
            names = ", ".join(f"{t.get('id')} ({t.get('name')})" for t in available) or "none"
            raise InvalidInput(
                f"transition {transition_id!r} is not available on {issue_id} in its current "
                f"status; available now: {names}. Call list_transitions first.",
                field="transition_id",
            )
        if resolution is None and _category(chosen.get("to")) == "done":
            screen = chosen.get("fields")
            if isinstance(screen, Mapping) and "resolution" in screen:
                resolution = "Done"
        await self._perform(issue_id, chosen, resolution)
        return await self.get_issue(ref, issue_id)

    async def _move_to_state(self, issue_id: str, state: str, *, reason: str | None) -> None:
        """Transition to a status of the category ``state`` needs; nothing if already there."""
        raw = await self._raw_issue(issue_id, fields="status")
        fields = raw.get("fields")
        current = _category(fields.get("status") if isinstance(fields, Mapping) else None)
        if state == "closed":
            if current == "done":
                return
            wanted: tuple[str, ...] = ("done",)
        elif state == "open":
            if current is not None and current != "done":
                return
            wanted = _REOPEN_CATEGORIES
        else:
            raise InvalidInput("state must be 'open' or 'closed'", field="state")
        available = await self._raw_transitions(issue_id)
        for category in wanted:
            chosen = next((t for t in available if _category(t.get("to")) == category), None)
            if chosen is not None:
                break
        else:
            names = ", ".join(f"{t.get('name')}" for t in available) or "none"
            raise InvalidInput(
                f"no transition available on {issue_id} leads to a {'/'.join(wanted)} status "
                f"(available: {names}); the workflow does not allow this change from the "
                "current status",
                field="state",
            )
        resolution: str | None = None
        if category == "done":
            screen = chosen.get("fields")
            # Without screen details, send the resolution: Jira's default workflow takes it.
            if not isinstance(screen, Mapping) or "resolution" in screen:
                resolution = reason or "Done"
        await self._perform(issue_id, chosen, resolution)

    async def close_issue(
        self, ref: ExternalRef, issue_id: str, *, reason: str | None = None
    ) -> Issue:
        """Transition to a done-category status with resolution ``reason`` (default ``Done``).

        An issue already done is left as it is.
        """
        await self._move_to_state(issue_id, "closed", reason=reason)
        return await self.get_issue(ref, issue_id)
