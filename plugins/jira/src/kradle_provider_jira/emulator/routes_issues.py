"""Issue endpoints: get/create/edit/delete, changelog, transitions, properties.

- ``GET /rest/api/{v}/issue/{issue}`` (``fields`` default ``*all``,
  ``expand=changelog,renderedFields,transitions,names``, ``properties``);
- ``POST /rest/api/{v}/issue`` -> ``201 {id, key, self}``;
- ``PUT /rest/api/{v}/issue/{issue}`` (``fields`` and/or ``update``) -> 204
  (``returnIssue=true``: 200 with the issue); ``status`` is not settable;
- ``DELETE /rest/api/{v}/issue/{issue}`` -> 204;
- ``GET /rest/api/{v}/issue/{issue}/changelog`` (Cloud, paginated);
- ``GET/POST /rest/api/{v}/issue/{issue}/transitions``;
- ``GET /rest/api/{v}/issue/{issue}/properties`` and
  ``GET/PUT/DELETE …/properties/{key}``.

Field errors are collected into one 400 ``errors`` map, as Jira does.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from starlette.responses import Response

from kradle_provider_jira.emulator.objects import (
    ISSUE_TYPES,
    PRIORITIES,
    RESOLUTIONS,
    Body,
    available_transitions,
)
from kradle_provider_jira.emulator.state import StateError, body_dict
from kradle_provider_jira.emulator.views import select_fields
from kradle_providers.testing.emulator import EmulatorHTTPError, RequestContext, StartAtPagination

if TYPE_CHECKING:
    from kradle_provider_jira.emulator.app import JiraEmulator

__all__ = ["FieldErrors", "parse_body", "register"]

JsonDict = dict[str, Any]

NOT_SETTABLE = "Field '{name}' cannot be set. It is not on the appropriate screen, or unknown."


class FieldErrors(Exception):
    """Per-field problems of one request (answered as one 400)."""

    def __init__(self, errors: Mapping[str, str]) -> None:
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = dict(errors)

    def http(self) -> EmulatorHTTPError:
        """The 400 Jira answers."""
        return EmulatorHTTPError(400, "", errorMessages=[], errors=self.errors)


def parse_body(value: Any, api: str, name: str, errors: dict[str, str]) -> Body | None:
    """A rich-text field value: an ADF document on v3, a wiki string on v2."""
    if value is None:
        return None
    if api == "3":
        if isinstance(value, dict) and value.get("type") == "doc":
            return Body("adf", value)
        errors[name] = (
            "Operation value must be an Atlassian Document (see the Atlassian Document Format)"
        )
        return None
    if isinstance(value, str):
        return Body("wiki", value)
    errors[name] = "Operation value must be a string"
    return None


def _ref(value: Any) -> str | None:
    """``{"id": …}`` / ``{"name": …}`` / ``{"key": …}`` / a bare string -> the reference."""
    if isinstance(value, Mapping):
        for key in ("id", "accountId", "name", "key", "value"):
            if value.get(key) is not None:
                return str(value[key])
        return None
    return None if value is None else str(value)


class _Editor:
    """Turns ``fields``/``update`` of a create or edit into state changes."""

    def __init__(self, emu: JiraEmulator, api: str, issue: Mapping[str, Any] | None) -> None:
        self.emu = emu
        self.api = api
        self.issue = issue
        self.errors: dict[str, str] = {}
        self.changes: JsonDict = {}
        self.comments: list[Body] = []

    def current(self, name: str) -> Any:
        if name in self.changes:
            return self.changes[name]
        if self.issue is None:
            return [] if name in ("labels", "fix_versions") else None
        return self.issue[name]

    def version_id(self, value: Any) -> str | None:
        project_id = self.issue["project_id"] if self.issue else None
        if isinstance(value, Mapping) and value.get("id") is not None:
            found = self.emu.state.versions.get(str(value["id"]))
            if found is None:
                self.errors["fixVersions"] = f"Version id '{value['id']}' is not valid"
                return None
            return str(found["id"])
        name = _ref(value)
        found = self.emu.state.version(name or "", project_id) if name else None
        if found is None:
            self.errors["fixVersions"] = f"Version name '{name}' is not valid"
            return None
        return str(found["id"])

    def labels(self, values: Any) -> list[str] | None:
        if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
            self.errors["labels"] = "Operation value must be a list of strings"
            return None
        for label in values:
            if " " in label or not label:
                self.errors["labels"] = f"The label '{label}' contains spaces which is invalid."
                return None
            if len(label) > 255:
                self.errors["labels"] = "The label must not exceed 255 characters."
                return None
        return list(values)

    def set_field(self, name: str, value: Any) -> None:
        if name == "summary":
            if not isinstance(value, str) or not value.strip():
                self.errors["summary"] = "You must specify a summary of the issue."
            elif len(value) > 255:
                self.errors["summary"] = "Summary must be less than 255 characters."
            else:
                self.changes["summary"] = value
        elif name == "description":
            self.changes["description"] = body_dict(
                parse_body(value, self.api, "description", self.errors)
            )
        elif name == "labels":
            labels = self.labels(value)
            if labels is not None:
                self.changes["labels"] = labels
        elif name == "fixVersions":
            if not isinstance(value, list):
                self.errors["fixVersions"] = "Operation value must be an array"
                return
            ids = [self.version_id(v) for v in value]
            self.changes["fix_versions"] = [v for v in ids if v is not None]
        elif name == "assignee":
            ref = _ref(value)
            user = self.emu.state.user(ref) if ref else None
            if ref and user is None:
                self.errors["assignee"] = f"User '{ref}' does not exist."
            else:
                self.changes["assignee"] = user.account_id if user else None
        elif name == "priority":
            ref = _ref(value)
            chosen = next((n for n, (pid, _) in PRIORITIES.items() if ref in (n, pid)), None)
            if chosen is None:
                self.errors["priority"] = f"Specify a valid priority; '{ref}' is not valid"
            else:
                self.changes["priority"] = chosen
        elif name.startswith("customfield_"):
            self.changes[name] = value
        else:
            self.errors[name] = NOT_SETTABLE.format(name=name)

    def apply_update(self, name: str, operations: Any) -> None:
        if not isinstance(operations, list):
            self.errors[name] = "Operation value must be an array of operations"
            return
        for operation in operations:
            if not isinstance(operation, Mapping) or len(operation) != 1:
                self.errors[name] = "Each operation must have exactly one verb"
                return
            verb, value = next(iter(operation.items()))
            if name == "labels":
                labels = list(self.current("labels"))
                if verb == "add" and isinstance(value, str):
                    checked = self.labels([value])
                    if checked and value not in labels:
                        labels.append(value)
                elif verb == "remove" and isinstance(value, str):
                    labels = [label for label in labels if label != value]
                elif verb == "set":
                    labels = self.labels(value) or labels
                else:
                    self.errors["labels"] = f"Unsupported operation '{verb}' for labels"
                self.changes["labels"] = labels
            elif name == "fixVersions":
                ids = list(self.current("fix_versions"))
                if verb == "set" and isinstance(value, list):
                    ids = [v for v in (self.version_id(x) for x in value) if v is not None]
                elif verb in ("add", "remove"):
                    vid = self.version_id(value)
                    if vid is not None and verb == "add" and vid not in ids:
                        ids.append(vid)
                    elif vid is not None and verb == "remove":
                        ids = [v for v in ids if v != vid]
                self.changes["fix_versions"] = ids
            elif name == "comment" and verb == "add" and isinstance(value, Mapping):
                body = parse_body(value.get("body"), self.api, "comment", self.errors)
                if body is not None:
                    self.comments.append(body)
            elif verb == "set":
                self.set_field(name, value)
            else:
                self.errors[name] = NOT_SETTABLE.format(name=name)

    def read(self, data: Mapping[str, Any], *, creating: bool) -> None:
        fields = data.get("fields") or {}
        update = data.get("update") or {}
        if not isinstance(fields, Mapping) or not isinstance(update, Mapping):
            raise EmulatorHTTPError(400, "Can not deserialize instance of java.util.LinkedHashMap")
        for name, value in fields.items():
            if creating and name in ("project", "issuetype"):
                continue
            if name in ("status", "resolution", "created", "updated", "reporter", "creator"):
                if not (creating and name == "reporter"):
                    self.errors[name] = NOT_SETTABLE.format(name=name)
                continue
            self.set_field(name, value)
        for name, operations in update.items():
            self.apply_update(name, operations)


def register(emu: JiraEmulator) -> None:
    """Add the issue routes to ``emu``."""

    @emu.get("/rest/api/{v}/issue/{issue}", name="getIssue")
    async def get_issue(ctx: RequestContext) -> Any:
        views = emu.views(ctx)
        issue = emu.issue_or_404(ctx)
        fields = select_fields(
            [p for raw in ctx.query.getlist("fields") for p in raw.split(",")], ("*all",)
        )
        expand = [p for raw in ctx.query.getlist("expand") for p in raw.split(",")]
        properties = [p for raw in ctx.query.getlist("properties") for p in raw.split(",")]
        return views.issue(issue, fields=fields, expand=expand, properties=properties)

    @emu.post("/rest/api/{v}/issue", name="createIssue")
    async def create_issue(ctx: RequestContext) -> Any:
        views = emu.views(ctx)
        data = emu.body_dict(ctx)
        fields = data.get("fields") or {}
        errors: dict[str, str] = {}
        project_ref = _ref(fields.get("project")) if isinstance(fields, Mapping) else None
        project = emu.state.project(project_ref) if project_ref else None
        if project is None:
            errors["project"] = "Specify a valid project ID or key"
        type_ref = _ref(fields.get("issuetype")) if isinstance(fields, Mapping) else None
        issuetype = next(
            (n for n, (tid, _, _) in ISSUE_TYPES.items() if type_ref in (n, tid)), None
        )
        if issuetype is None:
            errors["issuetype"] = (
                "Specify an issue type" if type_ref is None else "Specify a valid issue type"
            )
        editor = _Editor(emu, views.api, None)
        editor.read(data, creating=True)
        if isinstance(fields, Mapping) and not fields.get("summary"):
            editor.errors.setdefault("summary", "You must specify a summary of the issue.")
        errors.update(editor.errors)
        if errors or project is None or issuetype is None:
            raise FieldErrors(errors).http()
        changes = editor.changes
        description = changes.get("description")
        native = {k: v for k, v in changes.items() if k.startswith("customfield_")}
        properties = {}
        for prop in data.get("properties") or []:
            if isinstance(prop, Mapping) and "key" in prop:
                properties[str(prop["key"])] = prop.get("value")
        issue = emu.state.create_issue(
            project,
            summary=changes["summary"],
            actor=emu.actor(ctx),
            description=Body(description["format"], description["value"]) if description else None,
            issuetype=issuetype,
            priority=changes.get("priority", "Medium"),
            labels=changes.get("labels", []),
            fix_versions=changes.get("fix_versions", []),
            assignee=changes.get("assignee"),
            properties=properties,
            native=native,
        )
        for body in editor.comments:
            emu.state.add_comment(issue["id"], body, actor=emu.actor(ctx))
        return ctx.json(
            {"id": issue["id"], "key": issue["key"], "self": views.url(f"issue/{issue['id']}")},
            status=201,
        )

    @emu.put("/rest/api/{v}/issue/{issue}", name="editIssue")
    async def edit_issue(ctx: RequestContext) -> Any:
        views = emu.views(ctx)
        issue = emu.issue_or_404(ctx)
        data = emu.body_dict(ctx)
        editor = _Editor(emu, views.api, issue)
        editor.read(data, creating=False)
        if editor.errors:
            raise FieldErrors(editor.errors).http()
        actor = emu.actor(ctx)
        try:
            emu.state.edit_issue(issue["id"], editor.changes, actor=actor)
            for body in editor.comments:
                emu.state.add_comment(issue["id"], body, actor=actor)
        except StateError as exc:
            raise emu.state_error(exc) from None
        if ctx.query.get("returnIssue", "").lower() == "true" and emu.cloud:
            fresh = emu.issue_or_404(ctx, issue["id"])
            return views.issue(fresh, fields=None)
        return ctx.no_content()

    @emu.delete("/rest/api/{v}/issue/{issue}", name="deleteIssue")
    async def delete_issue(ctx: RequestContext) -> Any:
        emu.api_version(ctx)
        issue = emu.issue_or_404(ctx)
        emu.state.delete_issue(issue["id"], actor=emu.actor(ctx))
        return ctx.no_content()

    @emu.get("/rest/api/{v}/issue/{issue}/changelog", name="getChangeLogs")
    async def changelog(ctx: RequestContext) -> Any:
        views = emu.views(ctx)
        if not emu.cloud:
            raise EmulatorHTTPError(404, "Not Found")
        issue = emu.issue_or_404(ctx)
        histories = [views.history(h) for h in emu.state.issue_histories(issue["id"])]
        style = StartAtPagination(default_max_results=100, max_results=100)
        page = style.paginate(histories, ctx.url, ctx.query)
        body: JsonDict = {"self": ctx.url, **page.fields, "values": page.items}
        if not page.fields["isLast"]:
            start = page.fields["startAt"] + len(page.items)
            body["nextPage"] = views.url(
                f"issue/{issue['key']}/changelog?startAt={start}"
                f"&maxResults={page.fields['maxResults']}"
            )
        return body

    @emu.get("/rest/api/{v}/issue/{issue}/transitions", name="getTransitions")
    async def get_transitions(ctx: RequestContext) -> Any:
        views = emu.views(ctx)
        issue = emu.issue_or_404(ctx)
        expand = {p for raw in ctx.query.getlist("expand") for p in raw.split(",")}
        transitions = views.transitions(issue, fields="transitions.fields" in expand)
        wanted = ctx.query.get("transitionId")
        if wanted:
            transitions = [t for t in transitions if t["id"] == wanted]
        return {"expand": "transitions", "transitions": transitions}

    @emu.post("/rest/api/{v}/issue/{issue}/transitions", name="doTransition")
    async def do_transition(ctx: RequestContext) -> Any:
        views = emu.views(ctx)
        issue = emu.issue_or_404(ctx)
        data = emu.body_dict(ctx)
        transition_ref = data.get("transition")
        raw_id = transition_ref.get("id") if isinstance(transition_ref, Mapping) else None
        if raw_id is None:
            raise EmulatorHTTPError(400, "Missing 'transition' identifier")
        if not str(raw_id).isdigit():
            raise EmulatorHTTPError(400, "'transition' identifier must be an integer")
        chosen = next(
            (t for t in available_transitions(issue["status"]) if t.id == str(raw_id)), None
        )
        if chosen is None:
            raise EmulatorHTTPError(400, f"Transition id '{raw_id}' is not valid for this issue.")
        fields = data.get("fields") or {}
        errors: dict[str, str] = {}
        resolution: str | None = None
        for name, value in fields.items() if isinstance(fields, Mapping) else ():
            if name == "resolution" and chosen.has_screen:
                ref = _ref(value)
                resolution = next(
                    (n for n, (rid, _) in RESOLUTIONS.items() if ref in (n, rid)), None
                )
                if resolution is None:
                    errors["resolution"] = (
                        "Could not find valid 'id' or 'name' in resolution object."
                    )
            else:
                errors[name] = NOT_SETTABLE.format(name=name)
        comments: list[Body] = []
        update = data.get("update") or {}
        for operation in update.get("comment", []) if isinstance(update, Mapping) else []:
            add = operation.get("add") if isinstance(operation, Mapping) else None
            if isinstance(add, Mapping):
                body = parse_body(add.get("body"), views.api, "comment", errors)
                if body is not None:
                    comments.append(body)
        if errors:
            raise FieldErrors(errors).http()
        actor = emu.actor(ctx)
        try:
            emu.state.transition(issue["id"], chosen, actor=actor, resolution=resolution)
        except StateError as exc:
            raise emu.state_error(exc) from None
        for body in comments:
            emu.state.add_comment(issue["id"], body, actor=actor)
        return ctx.no_content()

    @emu.get("/rest/api/{v}/issue/{issue}/properties", name="getIssuePropertyKeys")
    async def property_keys(ctx: RequestContext) -> Any:
        views = emu.views(ctx)
        issue = emu.issue_or_404(ctx)
        return {
            "keys": [
                {"self": views.url(f"issue/{issue['id']}/properties/{key}"), "key": key}
                for key in sorted(issue["properties"])
            ]
        }

    @emu.get("/rest/api/{v}/issue/{issue}/properties/{key}", name="getIssueProperty")
    async def get_property(ctx: RequestContext) -> Any:
        emu.api_version(ctx)
        issue = emu.issue_or_404(ctx)
        key = str(ctx.params["key"])
        if key not in issue["properties"]:
            raise EmulatorHTTPError(404, f"The property with key '{key}' does not exist.")
        return {"key": key, "value": issue["properties"][key]}

    @emu.put("/rest/api/{v}/issue/{issue}/properties/{key}", name="setIssueProperty")
    async def set_property(ctx: RequestContext) -> Any:
        emu.api_version(ctx)
        issue = emu.issue_or_404(ctx)
        key = str(ctx.params["key"])
        if len(key) > 255:
            raise EmulatorHTTPError(400, "The property key cannot be longer than 255 characters.")
        value = ctx.json_body()
        created = emu.state.set_property(issue["id"], key, value)
        return Response(status_code=201 if created else 200)

    @emu.delete("/rest/api/{v}/issue/{issue}/properties/{key}", name="deleteIssueProperty")
    async def delete_property(ctx: RequestContext) -> Any:
        emu.api_version(ctx)
        issue = emu.issue_or_404(ctx)
        key = str(ctx.params["key"])
        if not emu.state.delete_property(issue["id"], key):
            raise EmulatorHTTPError(404, f"The property with key '{key}' does not exist.")
        return ctx.no_content()
