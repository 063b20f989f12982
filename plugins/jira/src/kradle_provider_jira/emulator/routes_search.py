"""JQL search in both paging styles.

- Cloud: ``GET/POST /rest/api/{v}/search/jql`` (enhanced search): ``jql``,
  ``nextPageToken``, ``maxResults`` (default 50; at most 100 when fields beyond
  ``id``/``key`` are asked for, else 5000), ``fields`` (default: ``id`` only),
  ``expand``, ``properties``; answers ``{issues, nextPageToken?, isLast}``. A
  query without a search restriction is refused (Jira's "Unbounded JQL").
  The retired ``/search`` answers 410 on Cloud.
- Data Center: ``GET/POST /rest/api/2/search``: ``jql``, ``startAt``,
  ``maxResults`` (default 50, capped at 100 here), ``fields`` (default
  ``*navigable``), ``expand``; answers ``{expand, startAt, maxResults, total,
  issues}``.

Values JQL names must exist (unknown project, status, version or issue key is
Jira's 400), as Jira validates them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from kradle_provider_jira.emulator import jql
from kradle_provider_jira.emulator.objects import (
    ISSUE_TYPES,
    PRIORITIES,
    RESOLUTIONS,
    STATUSES,
)
from kradle_provider_jira.emulator.views import select_fields
from kradle_providers.testing.emulator import (
    EmulatorHTTPError,
    RequestContext,
    StartAtPagination,
    TokenPagination,
)

if TYPE_CHECKING:
    from kradle_provider_jira.emulator.app import JiraEmulator

__all__ = ["SearchParams", "register", "run_query"]

JsonDict = dict[str, Any]

_KEY_SHAPE = re.compile(r"^[A-Za-z][A-Za-z0-9_]*-\d+$")
SearchParams = Mapping[str, Any]


def _property_value(properties: Mapping[str, Any], field_name: str) -> Any:
    prop = field_name[len("issue.property[") :]
    key, _, path = prop.partition("].")
    value: Any = properties.get(key)
    for part in path.split("."):
        if not isinstance(value, Mapping):
            return None
        value = value.get(part)
    return value


def make_resolver(emu: JiraEmulator) -> jql.Resolver:
    """Reads JQL field values from the emulator's issue records."""
    state = emu.state

    def people(ref: str | None) -> list[str] | None:
        user = state.user(ref)
        if user is None:
            return None
        return [user.account_id, user.name, user.email, user.display_name]

    def resolve(issue: Mapping[str, Any], name: str) -> Any:
        if name == "project":
            project = next(p for p in state.projects.values() if p.id == issue["project_id"])
            return [project.key, project.id, project.name]
        if name in ("key", "id", "summary", "issuetype", "priority", "resolution"):
            return issue[name]
        if name == "status":
            return [issue["status"], STATUSES[issue["status"]].id]
        if name == "statusCategory":
            status = STATUSES[issue["status"]]
            return [status.category_name, status.category_key, str(status.category_id)]
        if name == "labels":
            return list(issue["labels"])
        if name == "fixVersion":
            out: list[str] = []
            for vid in issue["fix_versions"]:
                version = state.versions.get(vid)
                out.extend([vid, version["name"]] if version else [vid])
            return out
        if name == "updated":
            value: datetime = issue["updated"]
            return value
        if name == "created":
            return issue["created"]
        if name == "resolved":
            return issue["resolutiondate"]
        if name == "text":
            description = issue["description"]
            return f"{issue['summary']} {description['value'] if description else ''}"
        if name in ("assignee", "reporter"):
            return people(issue[name])
        if name.startswith("issue.property["):
            return _property_value(issue["properties"], name)
        return issue["native"].get(name)

    return resolve


def _validate(emu: JiraEmulator, node: jql.Node | None) -> None:
    """Jira's 400s for values that do not exist (project, status, versions, keys)."""
    if node is None:
        return
    if isinstance(node, jql.Not):
        _validate(emu, node.part)
        return
    if not isinstance(node, jql.Clause):
        for part in node.parts:
            _validate(emu, part)
        return
    if node.operator in ("is", "is not", "~", "!~"):
        return
    known: dict[str, set[str]] = {
        "project": {v.lower() for p in emu.state.projects.values() for v in (p.key, p.id, p.name)},
        "status": {s.lower() for s in STATUSES} | {s.id for s in STATUSES.values()},
        "fixVersion": {
            v.lower() for ver in emu.state.versions.all() for v in (ver["name"], ver["id"])
        },
        "issuetype": {t.lower() for t in ISSUE_TYPES},
        "priority": {p.lower() for p in PRIORITIES},
        "resolution": {r.lower() for r in RESOLUTIONS},
    }
    for value in node.values:
        if value is None:
            continue
        if node.field in known and value.lower() not in known[node.field]:
            raise jql.JqlError(f"The value '{value}' does not exist for the field '{node.field}'.")
        if node.field == "key" and node.operator in ("=", "in", "!=", "not in"):
            if not _KEY_SHAPE.match(value) and not value.isdigit():
                raise jql.JqlError(f"The issue key '{value}' for field 'key' is invalid.")
            if emu.state.issue(value) is None:
                raise jql.JqlError(f"An issue with key '{value}' does not exist for field 'key'.")


def run_query(emu: JiraEmulator, text: str) -> tuple[jql.Query, list[Mapping[str, Any]]]:
    """Parse, validate and run ``text``; the matching issue records in order."""
    try:
        query = jql.parse(text)
        _validate(emu, query.where)
        resolve = make_resolver(emu)
        now = emu.clock()
        where = query.where
        matches = [
            issue
            for issue in emu.state.issues.all()
            if where is None or jql.evaluate(where, issue, resolve, now=now)
        ]
        return query, jql.sort_issues(matches, query.order, resolve)
    except jql.JqlError as exc:
        raise EmulatorHTTPError(400, str(exc)) from None


def _list_param(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [part for part in value.split(",") if part]
    if isinstance(value, Sequence):
        return [str(v) for v in value]
    raise EmulatorHTTPError(400, "Invalid request payload. Refer to the REST API documentation.")


def _params(ctx: RequestContext, emu: JiraEmulator) -> tuple[dict[str, str], dict[str, list[str]]]:
    """Scalar and list parameters from the query string (GET) or the JSON body (POST)."""
    if ctx.method == "POST":
        body = emu.body_dict(ctx)
        scalars = {
            k: str(body[k])
            for k in ("jql", "startAt", "maxResults", "nextPageToken")
            if body.get(k) is not None
        }
        lists = {k: _list_param(body.get(k)) for k in ("fields", "expand", "properties")}
        return scalars, lists
    scalars = {k: v for k, v in ctx.query.items() if k in ("jql", "startAt", "maxResults",
                                                             "nextPageToken")}  # fmt: skip
    lists = {
        k: [part for raw in ctx.query.getlist(k) for part in raw.split(",") if part]
        for k in ("fields", "expand", "properties")
    }
    return scalars, lists


def register(emu: JiraEmulator) -> None:
    """Add the search routes to ``emu``."""

    async def enhanced_search(ctx: RequestContext) -> Any:
        views = emu.views(ctx)
        if not emu.cloud:
            raise EmulatorHTTPError(404, "Not Found")
        scalars, lists = _params(ctx, emu)
        query, issues = run_query(emu, scalars.get("jql", ""))
        if query.where is None:
            raise EmulatorHTTPError(
                400,
                "Unbounded JQL queries are not allowed here. Please add a search restriction "
                "to your query.",
            )
        defaulted = not lists["fields"]
        chosen = select_fields(lists["fields"], ("id",))
        light = chosen is not None and set(chosen) <= {"id", "key"}
        style = TokenPagination(default_max_results=50, max_results=5000 if light else 100)
        page = style.paginate(issues, ctx.url, scalars)
        if defaulted:
            rendered: list[JsonDict] = [{"id": i["id"]} for i in page.items]
        else:
            rendered = [
                views.issue(
                    i, fields=chosen, expand=lists["expand"], properties=lists["properties"]
                )
                for i in page.items
            ]
        body: JsonDict = {"issues": rendered}
        if "nextPageToken" in page.fields:
            body["nextPageToken"] = page.fields["nextPageToken"]
        body["isLast"] = page.fields["isLast"]
        return body

    async def classic_search(ctx: RequestContext) -> Any:
        views = emu.views(ctx)
        if emu.cloud:
            raise EmulatorHTTPError(
                410,
                "The requested API has been removed. Please migrate to the /rest/api/3/search/jql "
                "API. A full migration guideline is available at "
                "https://developer.atlassian.com/changelog/#CHANGE-2046",
            )
        scalars, lists = _params(ctx, emu)
        _query, issues = run_query(emu, scalars.get("jql", ""))
        chosen = select_fields(lists["fields"], ("*navigable",))
        style = StartAtPagination(default_max_results=50, max_results=100, include_is_last=False)
        page = style.paginate(issues, ctx.url, scalars)
        rendered = [
            views.issue(i, fields=chosen, expand=lists["expand"], properties=lists["properties"])
            for i in page.items
        ]
        return {"expand": "schema,names", **page.fields, "issues": rendered}

    emu.route("GET", "/rest/api/{v}/search/jql", enhanced_search, name="searchIssuesJql")
    emu.route("POST", "/rest/api/{v}/search/jql", enhanced_search, name="searchIssuesJql")
    emu.route("GET", "/rest/api/{v}/search", classic_search, name="searchIssues")
    emu.route("POST", "/rest/api/{v}/search", classic_search, name="searchIssues")
