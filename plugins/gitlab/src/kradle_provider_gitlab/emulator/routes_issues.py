"""Issues, notes, resource events, labels and milestones (GitLab REST API v4)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, NoReturn

from kradle_provider_gitlab.emulator.state import public
from kradle_providers.testing.emulator import RequestContext

if TYPE_CHECKING:
    from kradle_provider_gitlab.emulator.app import GitLabEmulator

__all__ = ["params_of", "register"]

P = "/projects/{project}"


def params_of(ctx: RequestContext) -> dict[str, Any]:
    """Query parameters and the JSON body together (GitLab accepts either)."""
    merged: dict[str, Any] = dict(ctx.query)
    body = ctx.json_body(required=False) if ctx.body else None
    if isinstance(body, Mapping):
        merged.update(body)
    elif body is not None:
        ctx.fail(400, "400 Bad request - the body must be a JSON object")
    return merged


def _labels_param(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, list):
        return [str(v) for v in value]
    return [v.strip() for v in str(value).split(",") if v.strip()]


def _missing(ctx: RequestContext, field: str) -> NoReturn:
    ctx.fail(400, f"400 Bad request - {field} is missing", error=f"{field} is missing")


def register(app: GitLabEmulator) -> None:
    """Install the issue-tracking routes on ``app``."""
    state = app.state

    def actor(ctx: RequestContext) -> int:
        return state.viewer_id

    def issue_or_404(ctx: RequestContext, project: Mapping[str, Any]) -> dict[str, Any]:
        found = state.issue_by_iid(project, ctx.params["iid"])
        if found is None:
            ctx.fail(404, "404 Issue Not Found")
        return found

    @app.get(P + "/issues", name="listProjectIssues")
    async def list_issues(ctx: RequestContext) -> Any:
        project = app.project_or_404(ctx)
        q = ctx.query
        items = [dict(i) for i in state.issues.peek(project_id=project["id"])]
        st = q.get("state", "all")
        if st in ("opened", "closed"):
            items = [i for i in items if i["state"] == st]
        if q.get("updated_after"):
            items = [i for i in items if i["updated_at"] >= q["updated_after"]]
        if q.get("updated_before"):
            items = [i for i in items if i["updated_at"] <= q["updated_before"]]
        if "confidential" in q:
            wanted = q["confidential"].lower() == "true"
            items = [i for i in items if i["confidential"] is wanted]
        for name in _labels_param(q.get("labels")):
            items = [i for i in items if name in i["labels"]]
        iids = q.getlist("iids[]")
        if iids:
            items = [i for i in items if str(i["iid"]) in iids]
        if q.get("search"):
            needle = q["search"].lower()
            items = [
                i
                for i in items
                if needle in i["title"].lower() or needle in (i["description"] or "").lower()
            ]
        return app.page(ctx, app.order(ctx, items), keyset="cursor", render=public)

    @app.get(P + "/issues/{iid:int}", name="getProjectIssue")
    async def get_issue(ctx: RequestContext) -> Any:
        project = app.project_or_404(ctx)
        return public(issue_or_404(ctx, project))

    @app.post(P + "/issues", name="createProjectIssue")
    async def create_issue(ctx: RequestContext) -> Any:
        project = app.project_or_404(ctx)
        body = params_of(ctx)
        title = body.get("title")
        if not isinstance(title, str) or not title.strip():
            _missing(ctx, "title")
        milestone_id = body.get("milestone_id")
        if milestone_id is not None and state.milestones.get(milestone_id) is None:
            ctx.fail(404, "404 Milestone Not Found")
        issue = state.add_issue(
            project,
            title=title,
            description=body.get("description"),
            author_id=actor(ctx),
            labels=_labels_param(body.get("labels")),
            assignee_ids=[int(a) for a in body.get("assignee_ids") or []],
            milestone_id=int(milestone_id) if milestone_id is not None else None,
            confidential=str(body.get("confidential", "false")).lower() == "true",
        )
        return ctx.json(public(issue), status=201)

    @app.put(P + "/issues/{iid:int}", name="updateProjectIssue")
    async def update_issue(ctx: RequestContext) -> Any:
        project = app.project_or_404(ctx)
        issue = issue_or_404(ctx, project)
        body = params_of(ctx)
        changes: dict[str, Any] = {}
        if "title" in body:
            if not isinstance(body["title"], str) or not body["title"].strip():
                ctx.fail(400, "400 Bad request", body={"message": {"title": ["can't be blank"]}})
            changes["title"] = body["title"]
        if "description" in body:
            changes["description"] = body["description"]
        if "labels" in body:
            changes["labels"] = _labels_param(body["labels"])
        for key, add in (("add_labels", True), ("remove_labels", False)):
            if key in body:
                current = list(changes.get("labels", issue["labels"]))
                for name in _labels_param(body[key]):
                    if add and name not in current:
                        current.append(name)
                    if not add and name in current:
                        current.remove(name)
                changes["labels"] = current
        if "assignee_ids" in body:
            assignees = [state.user(int(a)) for a in body["assignee_ids"] or []]
            changes["assignees"] = assignees
            changes["assignee"] = assignees[0] if assignees else None
        if "milestone_id" in body:
            changes["milestone"] = state.milestone_summary(
                int(body["milestone_id"]) if body["milestone_id"] else None
            )
        if "confidential" in body:
            changes["confidential"] = str(body["confidential"]).lower() == "true"
        event = body.get("state_event")
        if event == "close" and issue["state"] != "closed":
            changes.update(state="closed", closed_at=state.now(), closed_by=state.user(actor(ctx)))
        elif event == "reopen" and issue["state"] != "opened":
            changes.update(state="opened", closed_at=None, closed_by=None)
        elif event not in (None, "close", "reopen"):
            ctx.fail(400, "400 Bad request", error="state_event does not have a valid value")
        updated = state.update_issue(issue, changes, actor_id=actor(ctx))
        return public(updated)

    # -- notes ----------------------------------------------------------------------

    def issue_notes(ctx: RequestContext, project: Mapping[str, Any]) -> list[dict[str, Any]]:
        issue = issue_or_404(ctx, project)
        notes = [dict(n) for n in state.notes_of(issue, "Issue")]
        return app.order(ctx, notes, allowed=("created_at", "updated_at"))

    @app.get(P + "/issues/{iid:int}/notes", name="listIssueNotes")
    async def list_notes(ctx: RequestContext) -> Any:
        project = app.project_or_404(ctx)
        return app.page(ctx, issue_notes(ctx, project), render=public)

    @app.get(P + "/issues/{iid:int}/discussions", name="listIssueDiscussions")
    async def list_discussions(ctx: RequestContext) -> Any:
        project = app.project_or_404(ctx)
        threads = state.discussions_of(issue_or_404(ctx, project), "Issue")
        return app.page(ctx, threads, render=dict)

    @app.get(P + "/issues/{iid:int}/notes/{note_id:int}", name="getIssueNote")
    async def get_note(ctx: RequestContext) -> Any:
        project = app.project_or_404(ctx)
        issue = issue_or_404(ctx, project)
        note = state.notes.get(ctx.params["note_id"])
        if note is None or note["noteable_id"] != issue["id"] or note["noteable_type"] != "Issue":
            ctx.fail(404, "404 Note Not Found")
        return public(note)

    @app.post(P + "/issues/{iid:int}/notes", name="createIssueNote")
    async def create_note(ctx: RequestContext) -> Any:
        project = app.project_or_404(ctx)
        issue = issue_or_404(ctx, project)
        body = params_of(ctx).get("body")
        if not isinstance(body, str) or not body.strip():
            _missing(ctx, "body")
        note = state.add_note(
            project, issue, noteable_type="Issue", body=body, author_id=actor(ctx)
        )
        return ctx.json(public(note), status=201)

    @app.put(P + "/issues/{iid:int}/notes/{note_id:int}", name="updateIssueNote")
    async def update_note(ctx: RequestContext) -> Any:
        project = app.project_or_404(ctx)
        issue = issue_or_404(ctx, project)
        note = state.notes.get(ctx.params["note_id"])
        if note is None or note["noteable_id"] != issue["id"] or note["noteable_type"] != "Issue":
            ctx.fail(404, "404 Note Not Found")
        body = params_of(ctx).get("body")
        if not isinstance(body, str) or not body.strip():
            _missing(ctx, "body")
        if note["system"]:
            ctx.fail(403, "403 Forbidden")
        return public(state.update_note(note, body))

    # -- resource events -------------------------------------------------------------

    for family, coll in (
        ("state", state.state_events),
        ("label", state.label_events),
        ("milestone", state.milestone_events),
    ):

        def make(coll: Any = coll) -> Any:
            async def list_events(ctx: RequestContext) -> Any:
                project = app.project_or_404(ctx)
                issue = issue_or_404(ctx, project)
                items = [
                    dict(e)
                    for e in coll.peek(resource_id=issue["id"])
                    if e["resource_type"] == "Issue"
                ]
                return app.page(ctx, sorted(items, key=lambda e: e["id"]), render=public)

            return list_events

        app.route(
            "GET",
            P + f"/issues/{{iid:int}}/resource_{family}_events",
            make(),
            name=f"listIssueResource{family.title()}Events",
        )

    # -- labels -------------------------------------------------------------------------

    def labels_of(project: Mapping[str, Any]) -> list[dict[str, Any]]:
        items = [dict(lbl) for lbl in state.labels.peek(_project_id=project["id"])]
        return sorted(items, key=lambda lbl: lbl["name"].lower())

    def label_or_404(ctx: RequestContext, project: Mapping[str, Any]) -> dict[str, Any]:
        ref = app.segment(ctx, "label")
        for lbl in labels_of(project):
            if str(lbl["id"]) == ref or lbl["name"] == ref:
                return lbl
        ctx.fail(404, "404 Label Not Found")

    @app.get(P + "/labels", name="listLabels")
    async def list_labels(ctx: RequestContext) -> Any:
        project = app.project_or_404(ctx)
        return app.page(ctx, labels_of(project), render=public)

    @app.get(P + "/labels/{label}", name="getLabel")
    async def get_label(ctx: RequestContext) -> Any:
        project = app.project_or_404(ctx)
        return public(label_or_404(ctx, project))

    @app.post(P + "/labels", name="createLabel")
    async def create_label(ctx: RequestContext) -> Any:
        project = app.project_or_404(ctx)
        body = params_of(ctx)
        name, color = body.get("name"), body.get("color")
        if not isinstance(name, str) or not name.strip():
            _missing(ctx, "name")
        if not isinstance(color, str) or not color:
            _missing(ctx, "color")
        if any(lbl["name"] == name for lbl in labels_of(project)):
            ctx.fail(409, "Label already exists")
        label = state.add_label(project, name, color, body.get("description"))
        return ctx.json(public(label), status=201)

    @app.put(P + "/labels/{label}", name="updateLabel")
    async def update_label(ctx: RequestContext) -> Any:
        project = app.project_or_404(ctx)
        label = label_or_404(ctx, project)
        body = params_of(ctx)
        changes: dict[str, Any] = {k: body[k] for k in ("color", "description") if k in body}
        if body.get("new_name"):
            changes["name"] = body["new_name"]
        if not changes:
            ctx.fail(400, "400 Bad request", error="new_name, color, description are missing")
        if "color" in changes and not str(changes["color"]).startswith("#"):
            changes["color"] = f"#{changes['color']}"
        return public(state.labels.update(label["id"], changes))

    @app.delete(P + "/labels/{label}", name="deleteLabel")
    async def delete_label(ctx: RequestContext) -> Any:
        project = app.project_or_404(ctx)
        label = label_or_404(ctx, project)
        state.labels.delete(label["id"])
        return ctx.no_content()

    # -- milestones -------------------------------------------------------------------

    @app.get(P + "/milestones", name="listProjectMilestones")
    async def list_milestones(ctx: RequestContext) -> Any:
        project = app.project_or_404(ctx)
        items = [dict(m) for m in state.milestones.peek(project_id=project["id"])]
        st = ctx.query.get("state")
        if st in ("active", "closed"):
            items = [m for m in items if m["state"] == st]
        return app.page(ctx, sorted(items, key=lambda m: -m["id"]), render=public)

    @app.get(P + "/milestones/{milestone_id:int}", name="getProjectMilestone")
    async def get_milestone(ctx: RequestContext) -> Any:
        project = app.project_or_404(ctx)
        ms = state.milestones.get(ctx.params["milestone_id"])
        if ms is None or ms["project_id"] != project["id"]:
            ctx.fail(404, "404 Milestone Not Found")
        return public(ms)
