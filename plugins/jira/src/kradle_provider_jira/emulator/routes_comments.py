"""Comment endpoints.

- ``GET /rest/api/{v}/issue/{issue}/comment`` (``startAt``, ``maxResults``,
  ``orderBy=created|-created``, ``expand=renderedBody,properties``) ->
  ``{startAt, maxResults, total, comments}``;
- ``POST`` the same path (body: ADF document on v3, wiki string on v2;
  optional ``properties: [{key, value}]``) -> 201 with the comment;
- ``GET/PUT/DELETE /rest/api/{v}/issue/{issue}/comment/{id}`` (PUT answers
  200 with the comment, DELETE 204);
- ``POST /rest/api/{v}/comment/list`` (``{"ids": [...]}``) -> a page of comments.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from kradle_provider_jira.emulator.routes_issues import FieldErrors, parse_body
from kradle_provider_jira.emulator.state import StateError
from kradle_providers.testing.emulator import EmulatorHTTPError, RequestContext, StartAtPagination

if TYPE_CHECKING:
    from kradle_provider_jira.emulator.app import JiraEmulator

__all__ = ["register"]

JsonDict = dict[str, Any]


def register(emu: JiraEmulator) -> None:
    """Add the comment routes to ``emu``."""

    def comment_of(ctx: RequestContext, issue: Mapping[str, Any]) -> JsonDict:
        comment_id = str(ctx.params["comment"])
        comment = emu.state.comments.get(comment_id)
        if comment is None or comment["issue_id"] != issue["id"]:
            raise EmulatorHTTPError(404, f"Can not find a comment for the id: {comment_id}.")
        return comment

    def expand_of(ctx: RequestContext) -> list[str]:
        return [p for raw in ctx.query.getlist("expand") for p in raw.split(",")]

    @emu.get("/rest/api/{v}/issue/{issue}/comment", name="getComments")
    async def list_comments(ctx: RequestContext) -> Any:
        views = emu.views(ctx)
        issue = emu.issue_or_404(ctx)
        comments = emu.state.issue_comments(issue["id"])
        order = ctx.query.get("orderBy", "created")
        if order.lstrip("+-") != "created":
            raise EmulatorHTTPError(400, f"Invalid orderBy value '{order}'. Allowed: created")
        if order.startswith("-"):
            comments.reverse()
        expand = expand_of(ctx)
        rendered = [views.comment(c, expand=expand) for c in comments]
        style = StartAtPagination(default_max_results=5000, max_results=5000, include_is_last=False)
        page = style.paginate(rendered, ctx.url, ctx.query)
        return {**page.fields, "comments": page.items}

    @emu.post("/rest/api/{v}/issue/{issue}/comment", name="addComment")
    async def add_comment(ctx: RequestContext) -> Any:
        views = emu.views(ctx)
        issue = emu.issue_or_404(ctx)
        data = emu.body_dict(ctx)
        errors: dict[str, str] = {}
        if data.get("body") in (None, ""):
            errors["comment"] = "Comment body can not be empty!"
        body = parse_body(data.get("body"), views.api, "comment", errors)
        if errors or body is None:
            raise FieldErrors(errors).http()
        properties = {
            str(p["key"]): p.get("value")
            for p in data.get("properties") or []
            if isinstance(p, Mapping) and "key" in p
        }
        comment = emu.state.add_comment(
            issue["id"], body, actor=emu.actor(ctx), properties=properties
        )
        return ctx.json(views.comment(comment, expand=expand_of(ctx)), status=201)

    @emu.get("/rest/api/{v}/issue/{issue}/comment/{comment}", name="getComment")
    async def get_comment(ctx: RequestContext) -> Any:
        views = emu.views(ctx)
        issue = emu.issue_or_404(ctx)
        return views.comment(comment_of(ctx, issue), expand=expand_of(ctx))

    @emu.put("/rest/api/{v}/issue/{issue}/comment/{comment}", name="updateComment")
    async def update_comment(ctx: RequestContext) -> Any:
        views = emu.views(ctx)
        issue = emu.issue_or_404(ctx)
        comment = comment_of(ctx, issue)
        data = emu.body_dict(ctx)
        errors: dict[str, str] = {}
        body = parse_body(data.get("body"), views.api, "comment", errors)
        if errors or body is None:
            raise FieldErrors(errors or {"comment": "Comment body can not be empty!"}).http()
        try:
            updated = emu.state.edit_comment(comment["id"], body, actor=emu.actor(ctx))
        except StateError as exc:
            raise emu.state_error(exc) from None
        return views.comment(updated, expand=expand_of(ctx))

    @emu.delete("/rest/api/{v}/issue/{issue}/comment/{comment}", name="deleteComment")
    async def delete_comment(ctx: RequestContext) -> Any:
        emu.api_version(ctx)
        issue = emu.issue_or_404(ctx)
        comment = comment_of(ctx, issue)
        emu.state.delete_comment(comment["id"], actor=emu.actor(ctx))
        return ctx.no_content()

    @emu.post("/rest/api/{v}/comment/list", name="getCommentsByIds")
    async def comments_by_ids(ctx: RequestContext) -> Any:
        views = emu.views(ctx)
        data = emu.body_dict(ctx)
        ids = data.get("ids")
        if not isinstance(ids, list) or not ids:
            raise EmulatorHTTPError(400, "The list of comment IDs must contain at least one ID.")
        found = [emu.state.comments.get(str(i)) for i in ids]
        rendered = [views.comment(c, expand=expand_of(ctx)) for c in found if c is not None]
        style = StartAtPagination(default_max_results=1000, max_results=1000)
        page = style.paginate(rendered, ctx.url, ctx.query)
        return {**page.fields, "values": page.items}
