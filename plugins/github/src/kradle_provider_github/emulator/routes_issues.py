"""Issues, comments, labels, milestones and issue events."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from starlette.responses import Response

from kradle_providers.testing.emulator import RequestContext, iso_z

if TYPE_CHECKING:
    from kradle_provider_github.emulator.app import GitHubEmulator

__all__ = ["parse_since", "register", "sort_records"]

_COLOR = re.compile(r"^[0-9a-fA-F]{6}$")


def parse_since(ctx: RequestContext, name: str = "since") -> str | None:
    """The ``since`` parameter normalized to ``YYYY-MM-DDTHH:MM:SSZ`` (422 when malformed)."""
    raw = ctx.query.get(name)
    if not raw:
        return None
    try:
        when = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise _invalid_param(name, raw) from None
    if when.tzinfo is None:
        return iso_z(when.replace(tzinfo=datetime.now().astimezone().tzinfo))
    return iso_z(when)


def _invalid_param(name: str, value: str) -> Exception:
    from kradle_providers.testing.emulator import EmulatorHTTPError

    return EmulatorHTTPError(
        422,
        "Validation Failed",
        errors=[{"resource": "Search", "field": name, "code": "invalid", "value": value}],
    )


def _choice(ctx: RequestContext, name: str, allowed: tuple[str, ...], default: str) -> str:
    value = ctx.query.get(name) or default
    if value not in allowed:
        raise _invalid_param(name, value)
    return value


def sort_records(
    records: Sequence[Mapping[str, Any]], key: str, descending: bool
) -> list[Mapping[str, Any]]:
    """Sort by ``key`` then id (stable, as GitHub's listings are)."""
    return sorted(records, key=lambda r: (r.get(key) or "", r["id"]), reverse=descending)


class IssueRoutes:
    """Handlers of the issue-tracking endpoints."""

    def __init__(self, em: GitHubEmulator) -> None:
        self.em = em
        self.state = em.state
        self.mut = em.mutations

    # -- issues -------------------------------------------------------------

    async def list_issues(self, ctx: RequestContext) -> Response:
        """``GET /repos/{o}/{r}/issues`` (pull requests included, with ``pull_request``)."""
        repo = self.em.repo_or_404(ctx)
        state = _choice(ctx, "state", ("open", "closed", "all"), "open")
        sort = _choice(ctx, "sort", ("created", "updated", "comments"), "created")
        direction = _choice(ctx, "direction", ("asc", "desc"), "desc")
        since = parse_since(ctx)
        labels = [
            n.strip().lower() for n in (ctx.query.get("labels") or "").split(",") if n.strip()
        ]
        assignee = ctx.query.get("assignee")
        creator = ctx.query.get("creator")
        milestone = ctx.query.get("milestone")

        def keep(i: Mapping[str, Any]) -> bool:
            if i["repo_id"] != repo["id"]:
                return False
            if state != "all" and i["state"] != state:
                return False
            if since and i["updated_at"] < since:
                return False
            if labels and not set(labels) <= {n.lower() for n in i["labels"]}:
                return False
            if assignee == "none" and i["assignees"]:
                return False
            if assignee not in (None, "*", "none") and assignee not in i["assignees"]:
                return False
            if assignee == "*" and not i["assignees"]:
                return False
            if creator and i["user"] != creator:
                return False
            if milestone == "none" and i.get("milestone") is not None:
                return False
            if milestone == "*" and i.get("milestone") is None:
                return False
            return not (
                milestone not in (None, "*", "none") and str(i.get("milestone")) != milestone
            )

        found = self.state.issues.peek(keep)
        key = {"created": "created_at", "updated": "updated_at", "comments": "comments"}[sort]
        if key == "comments":
            found.sort(key=lambda r: (r["comments"], r["id"]), reverse=direction == "desc")
        else:
            found = sort_records(found, key, direction == "desc")
        return self.em.page(ctx, found, self.em.render(ctx).issue)

    def _issue(self, ctx: RequestContext) -> tuple[dict[str, Any], dict[str, Any]]:
        repo = self.em.repo_or_404(ctx)
        issue = self.state.issue(repo["id"], ctx.params["number"])
        if issue is None:
            ctx.not_found()
        return repo, issue

    async def get_issue(self, ctx: RequestContext) -> Response:
        """``GET /repos/{o}/{r}/issues/{n}``."""
        _, issue = self._issue(ctx)
        return ctx.json(self.em.render(ctx).issue(issue))

    def _check_issue_fields(self, repo: dict[str, Any], body: dict[str, Any]) -> None:
        for login in body.get("assignees") or []:
            if self.state.user(login) is None:
                raise self.em.invalid("Issue", "assignees", value=login)
        milestone = body.get("milestone")
        if milestone is not None and self.state.milestone(repo["id"], int(milestone)) is None:
            raise self.em.invalid("Issue", "milestone", value=milestone)

    def _ensure_labels(self, repo: dict[str, Any], names: list[Any], sender: str) -> list[str]:
        out = []
        for raw in names:
            name = raw.get("name") if isinstance(raw, dict) else raw
            if not isinstance(name, str) or not name:
                raise self.em.invalid("Label", "name", "missing_field")
            existing = self.state.label(repo["id"], name)
            # GitHub creates labels that do not exist yet when an issue names them.
            label = existing or self.mut.create_label(repo["id"], name, sender=sender)
            out.append(label["name"])
        return out

    async def create_issue(self, ctx: RequestContext) -> Response:
        """``POST /repos/{o}/{r}/issues``."""
        repo = self.em.repo_or_404(ctx)
        sender = self.em.sender(ctx)
        body = self.em.body(ctx)
        title = body.get("title")
        if title is None or (isinstance(title, str) and not title.strip()):
            raise self.em.invalid("Issue", "title", "missing_field")
        self._check_issue_fields(repo, body)
        assignees = list(body.get("assignees") or [])
        if body.get("assignee"):
            assignees.insert(0, body["assignee"])
        issue = self.mut.create_issue(
            repo["id"],
            str(title),
            user=sender,
            body=body.get("body"),
            labels=self._ensure_labels(repo, body.get("labels") or [], sender),
            assignees=assignees,
            milestone=body.get("milestone"),
        )
        render = self.em.render(ctx)
        return ctx.json(
            render.issue(issue),
            status=201,
            headers={
                "location": f"{render.api}/repos/{repo['full_name']}/issues/{issue['number']}"
            },
        )

    async def update_issue(self, ctx: RequestContext) -> Response:
        """``PATCH /repos/{o}/{r}/issues/{n}``."""
        repo, issue = self._issue(ctx)
        sender = self.em.sender(ctx)
        body = self.em.body(ctx)
        if "state" in body and body["state"] not in ("open", "closed"):
            raise self.em.invalid("Issue", "state", value=body["state"])
        reason = body.get("state_reason")
        if reason is not None and reason not in (
            "completed",
            "not_planned",
            "reopened",
            "duplicate",
        ):
            raise self.em.invalid("Issue", "state_reason", value=reason)
        if "title" in body and (not isinstance(body["title"], str) or not body["title"].strip()):
            raise self.em.invalid("Issue", "title", "missing_field")
        self._check_issue_fields(repo, body)
        changes: dict[str, Any] = {
            k: body[k]
            for k in ("title", "body", "state", "state_reason", "assignees", "milestone")
            if k in body
        }
        if "assignee" in body and "assignees" not in body:
            changes["assignees"] = [body["assignee"]] if body["assignee"] else []
        if "labels" in body:
            changes["labels"] = self._ensure_labels(repo, body["labels"] or [], sender)
        updated = self.mut.update_issue(issue, changes, sender)
        return ctx.json(self.em.render(ctx).issue(updated))

    # -- comments -----------------------------------------------------------

    async def list_repo_comments(self, ctx: RequestContext) -> Response:
        """``GET /repos/{o}/{r}/issues/comments`` (repository-wide, ``since``)."""
        repo = self.em.repo_or_404(ctx)
        sort = _choice(ctx, "sort", ("created", "updated"), "created")
        direction = _choice(ctx, "direction", ("asc", "desc"), "asc")
        since = parse_since(ctx)
        found = self.state.comments.peek(
            lambda c: c["repo_id"] == repo["id"] and (since is None or c["updated_at"] >= since)
        )
        found = sort_records(found, f"{sort}_at", direction == "desc")
        return self.em.page(ctx, found, self.em.render(ctx).comment)

    async def list_issue_comments(self, ctx: RequestContext) -> Response:
        """``GET /repos/{o}/{r}/issues/{n}/comments``."""
        _, issue = self._issue(ctx)
        since = parse_since(ctx)
        found = self.state.comments.peek(
            lambda c: c["issue_id"] == issue["id"] and (since is None or c["updated_at"] >= since)
        )
        found = sort_records(found, "created_at", False)
        return self.em.page(ctx, found, self.em.render(ctx).comment)

    async def create_comment(self, ctx: RequestContext) -> Response:
        """``POST /repos/{o}/{r}/issues/{n}/comments``."""
        _, issue = self._issue(ctx)
        sender = self.em.sender(ctx)
        body = self.em.body(ctx)
        text = body.get("body")
        if not isinstance(text, str) or not text:
            raise self.em.invalid("IssueComment", "body", "missing_field")
        comment = self.mut.create_comment(issue, text, user=sender)
        return ctx.json(self.em.render(ctx).comment(comment), status=201)

    def _comment(self, ctx: RequestContext) -> dict[str, Any]:
        repo = self.em.repo_or_404(ctx)
        comment = self.state.comments.get(ctx.params["comment_id"])
        if comment is None or comment["repo_id"] != repo["id"]:
            ctx.not_found()
        return comment

    async def get_comment(self, ctx: RequestContext) -> Response:
        """``GET /repos/{o}/{r}/issues/comments/{id}``."""
        return ctx.json(self.em.render(ctx).comment(self._comment(ctx)))

    async def update_comment(self, ctx: RequestContext) -> Response:
        """``PATCH /repos/{o}/{r}/issues/comments/{id}``."""
        comment = self._comment(ctx)
        sender = self.em.sender(ctx)
        text = self.em.body(ctx).get("body")
        if not isinstance(text, str) or not text:
            raise self.em.invalid("IssueComment", "body", "missing_field")
        updated = self.mut.update_comment(comment, text, sender)
        return ctx.json(self.em.render(ctx).comment(updated))

    async def delete_comment(self, ctx: RequestContext) -> Response:
        """``DELETE /repos/{o}/{r}/issues/comments/{id}``."""
        comment = self._comment(ctx)
        self.mut.delete_comment(comment, self.em.sender(ctx))
        return ctx.no_content()

    # -- labels -------------------------------------------------------------

    async def list_labels(self, ctx: RequestContext) -> Response:
        """``GET /repos/{o}/{r}/labels``."""
        repo = self.em.repo_or_404(ctx)
        found = sorted(self.state.labels.filter(repo_id=repo["id"]), key=lambda r: r["id"])
        return self.em.page(ctx, found, self.em.render(ctx).label)

    def _check_label(self, body: dict[str, Any], *, creating: bool) -> None:
        if creating and not body.get("name"):
            raise self.em.invalid("Label", "name", "missing_field")
        color = body.get("color")
        if color is not None and not _COLOR.match(str(color).lstrip("#")):
            raise self.em.invalid("Label", "color", value=color)

    async def create_label(self, ctx: RequestContext) -> Response:
        """``POST /repos/{o}/{r}/labels``."""
        repo = self.em.repo_or_404(ctx)
        sender = self.em.sender(ctx)
        body = self.em.body(ctx)
        self._check_label(body, creating=True)
        if self.state.label(repo["id"], body["name"]) is not None:
            raise self.em.invalid("Label", "name", "already_exists")
        label = self.mut.create_label(
            repo["id"],
            body["name"],
            str(body.get("color") or "ededed"),
            body.get("description"),
            sender=sender,
        )
        return ctx.json(self.em.render(ctx).label(label), status=201)

    def _label(self, ctx: RequestContext) -> dict[str, Any]:
        repo = self.em.repo_or_404(ctx)
        label = self.state.label(repo["id"], ctx.params["name"])
        if label is None:
            ctx.not_found()
        return label

    async def get_label(self, ctx: RequestContext) -> Response:
        """``GET /repos/{o}/{r}/labels/{name}``."""
        return ctx.json(self.em.render(ctx).label(self._label(ctx)))

    async def update_label(self, ctx: RequestContext) -> Response:
        """``PATCH /repos/{o}/{r}/labels/{name}`` (``new_name``, ``color``, ``description``)."""
        label = self._label(ctx)
        sender = self.em.sender(ctx)
        body = self.em.body(ctx)
        self._check_label(body, creating=False)
        changes: dict[str, Any] = {}
        new_name = body.get("new_name") or body.get("name")
        if new_name and new_name != label["name"]:
            other = self.state.label(label["repo_id"], new_name)
            if other is not None and other["id"] != label["id"]:
                raise self.em.invalid("Label", "name", "already_exists")
            changes["name"] = new_name
        if body.get("color") is not None:
            changes["color"] = str(body["color"]).lstrip("#").lower()
        if "description" in body:
            changes["description"] = body["description"]
        updated = self.mut.update_label(label, changes, sender)
        return ctx.json(self.em.render(ctx).label(updated))

    async def delete_label(self, ctx: RequestContext) -> Response:
        """``DELETE /repos/{o}/{r}/labels/{name}``."""
        label = self._label(ctx)
        self.mut.delete_label(label, self.em.sender(ctx))
        return ctx.no_content()

    # -- milestones and events ----------------------------------------------

    async def list_milestones(self, ctx: RequestContext) -> Response:
        """``GET /repos/{o}/{r}/milestones`` (``state``, ``sort``, ``direction``)."""
        repo = self.em.repo_or_404(ctx)
        state = _choice(ctx, "state", ("open", "closed", "all"), "open")
        sort = _choice(ctx, "sort", ("due_on", "completeness"), "due_on")
        direction = _choice(ctx, "direction", ("asc", "desc"), "asc")
        found: list[Mapping[str, Any]] = [
            m
            for m in self.state.milestones.filter(repo_id=repo["id"])
            if state == "all" or m["state"] == state
        ]
        key = "due_on" if sort == "due_on" else "number"
        found = sort_records(found, key, direction == "desc")
        return self.em.page(ctx, found, self.em.render(ctx).milestone)

    async def get_milestone(self, ctx: RequestContext) -> Response:
        """``GET /repos/{o}/{r}/milestones/{n}``."""
        repo = self.em.repo_or_404(ctx)
        found = self.state.milestone(repo["id"], ctx.params["number"])
        if found is None:
            ctx.not_found()
        return ctx.json(self.em.render(ctx).milestone(found))

    async def list_repo_events(self, ctx: RequestContext) -> Response:
        """``GET /repos/{o}/{r}/issues/events`` (newest first)."""
        repo = self.em.repo_or_404(ctx)
        found = sorted(
            self.state.events.peek(repo_id=repo["id"]), key=lambda e: e["id"], reverse=True
        )
        render = self.em.render(ctx)
        return self.em.page(ctx, found, lambda e: render.issue_event(e, with_issue=True))

    async def list_issue_events(self, ctx: RequestContext) -> Response:
        """``GET /repos/{o}/{r}/issues/{n}/events`` (oldest first)."""
        _, issue = self._issue(ctx)
        found = sorted(
            self.state.events.filter(repo_id=issue["repo_id"], issue_number=issue["number"]),
            key=lambda e: e["id"],
        )
        render = self.em.render(ctx)
        return self.em.page(ctx, found, lambda e: render.issue_event(e, with_issue=False))


def register(em: GitHubEmulator) -> None:
    """Register the routes on ``em``."""
    h = IssueRoutes(em)
    r = "/repos/{owner}/{repo}"
    em.route("GET", f"{r}/issues", h.list_issues, name="listIssues")
    em.route("POST", f"{r}/issues", h.create_issue, name="createIssue")
    em.route("GET", f"{r}/issues/comments", h.list_repo_comments, name="listRepoComments")
    em.route("GET", f"{r}/issues/comments/{{comment_id:int}}", h.get_comment, name="getComment")
    em.route(
        "PATCH", f"{r}/issues/comments/{{comment_id:int}}", h.update_comment, name="updateComment"
    )
    em.route(
        "DELETE", f"{r}/issues/comments/{{comment_id:int}}", h.delete_comment, name="deleteComment"
    )
    em.route("GET", f"{r}/issues/events", h.list_repo_events, name="listRepoIssueEvents")
    em.route("GET", f"{r}/issues/{{number:int}}", h.get_issue, name="getIssue")
    em.route("PATCH", f"{r}/issues/{{number:int}}", h.update_issue, name="updateIssue")
    em.route(
        "GET", f"{r}/issues/{{number:int}}/comments", h.list_issue_comments, name="listComments"
    )
    em.route("POST", f"{r}/issues/{{number:int}}/comments", h.create_comment, name="createComment")
    em.route(
        "GET", f"{r}/issues/{{number:int}}/events", h.list_issue_events, name="listIssueEvents"
    )
    em.route("GET", f"{r}/labels", h.list_labels, name="listLabels")
    em.route("POST", f"{r}/labels", h.create_label, name="createLabel")
    em.route("GET", f"{r}/labels/{{name}}", h.get_label, name="getLabel")
    em.route("PATCH", f"{r}/labels/{{name}}", h.update_label, name="updateLabel")
    em.route("DELETE", f"{r}/labels/{{name}}", h.delete_label, name="deleteLabel")
    em.route("GET", f"{r}/milestones", h.list_milestones, name="listMilestones")
    em.route("GET", f"{r}/milestones/{{number:int}}", h.get_milestone, name="getMilestone")
