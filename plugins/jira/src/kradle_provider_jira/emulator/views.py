"""Render the emulator's records as the REST API (v2 or v3) and webhooks answer them.

A :class:`Views` is bound to one base URL, one API version and the flavour:
v3 bodies are ADF documents, v2 bodies wiki strings; Cloud users carry an
``accountId``, Data Center users ``name``/``key``. Which issue fields are
answered follows Jira's ``fields`` parameter (``*all``, ``*navigable``, ``id``,
names and ``-name`` exclusions).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from kradle_provider_jira.emulator.objects import (
    STATUSES,
    available_transitions,
    issuetype_json,
    jira_time,
    priority_json,
    render_body,
    rendered_html,
    resolution_json,
    status_json,
    transition_json,
)
from kradle_provider_jira.emulator.state import JiraState, Project, body_of

__all__ = ["ALL_FIELDS", "NAVIGABLE_FIELDS", "Views", "select_fields"]

JsonDict = dict[str, Any]

NAVIGABLE_FIELDS = (
    "summary",
    "status",
    "statuscategorychangedate",
    "resolution",
    "resolutiondate",
    "issuetype",
    "priority",
    "project",
    "reporter",
    "creator",
    "assignee",
    "labels",
    "fixVersions",
    "versions",
    "components",
    "created",
    "updated",
    "description",
    "duedate",
    "environment",
    "subtasks",
    "issuelinks",
)
"""Fields ``*navigable`` answers (the Data Center search default)."""

ALL_FIELDS = (*NAVIGABLE_FIELDS, "comment")
"""Fields ``*all`` answers (the default of GET issue); custom fields are added."""

FIELD_NAMES = {
    "summary": "Summary",
    "status": "Status",
    "statuscategorychangedate": "Status Category Changed",
    "resolution": "Resolution",
    "resolutiondate": "Resolved",
    "issuetype": "Issue Type",
    "priority": "Priority",
    "project": "Project",
    "reporter": "Reporter",
    "creator": "Creator",
    "assignee": "Assignee",
    "labels": "Labels",
    "fixVersions": "Fix versions",
    "versions": "Affects versions",
    "components": "Components",
    "created": "Created",
    "updated": "Updated",
    "description": "Description",
    "duedate": "Due date",
    "environment": "Environment",
    "subtasks": "Sub-tasks",
    "issuelinks": "Linked Issues",
    "comment": "Comment",
}


def select_fields(requested: Iterable[str] | None, default: Sequence[str]) -> list[str] | None:
    """The field ids to answer for a ``fields`` parameter (``None``: every field incl. custom).

    Values may be comma-separated and repeated; ``-name`` excludes a field.
    """
    names: list[str] = []
    for raw in requested or ():
        names.extend(part.strip() for part in str(raw).split(",") if part.strip())
    if not names:
        names = list(default)
    chosen: list[str] = []
    everything = False
    for name in names:
        if name == "*all":
            everything = True
            chosen.extend(ALL_FIELDS)
        elif name == "*navigable":
            chosen.extend(NAVIGABLE_FIELDS)
        elif not name.startswith("-"):
            chosen.append(name)
    excluded = {name[1:] for name in names if name.startswith("-")}
    result = [n for n in dict.fromkeys(chosen) if n not in excluded]
    if everything and not excluded:
        return None
    return result


@dataclass
class Views:
    """Renders records for one request (``base`` URL, ``api`` ``"2"``/``"3"``)."""

    state: JiraState
    base: str
    api: str

    @property
    def cloud(self) -> bool:
        """Whether the emulator plays Jira Cloud."""
        return self.state.cloud

    def url(self, path: str) -> str:
        """An absolute REST URL under this API version."""
        return f"{self.base}/rest/api/{self.api}/{path.lstrip('/')}"

    def time(self, when: datetime | None) -> str | None:
        """A Jira timestamp or ``None``."""
        return None if when is None else jira_time(when)

    def _strip_nulls(self, data: JsonDict) -> JsonDict:
        # The v3 description types these as plain strings: Cloud v3 omits nulls here.
        if self.api == "3":
            return {k: v for k, v in data.items() if v is not None}
        return data

    # -- people and projects ---------------------------------------------------

    def user(self, ref: str | None, *, full: bool = False) -> JsonDict | None:
        """A user object (``None`` for nobody)."""
        user = self.state.user(ref)
        if user is None:
            return None
        return user.to_json(self.base, self.api, cloud=self.cloud, full=full)

    def project_ref(self, project: Project) -> JsonDict:
        """A project as embedded in an issue."""
        return {
            "self": self.url(f"project/{project.id}"),
            "id": project.id,
            "key": project.key,
            "name": project.name,
            "projectTypeKey": "software",
            "simplified": False,
            "avatarUrls": {
                size: f"{self.base}/secure/projectavatar?size={size}&pid={project.id}"
                for size in ("48x48", "24x24", "16x16", "32x32")
            },
        }

    def project(self, project: Project) -> JsonDict:
        """``GET /project/{key}``."""
        out = self.project_ref(project)
        out.update(
            {
                "expand": "description,lead,issueTypes,url,projectKeys,permissions,insight",
                "description": project.description,
                "lead": self.user(project.lead),
                "components": [],
                "issueTypes": [
                    issuetype_json(self.base, self.api, name) for name in ("Task", "Bug", "Story")
                ],
                "assigneeType": "UNASSIGNED",
                "versions": [self.version(v) for v in self.state.project_versions(project.id)],
                "roles": {},
                "style": "classic",
                "isPrivate": False,
                "properties": {},
            }
        )
        if not self.cloud:
            out.pop("simplified", None)
            out.pop("style", None)
            out.pop("isPrivate", None)
        return out

    def version(self, version: Mapping[str, Any]) -> JsonDict:
        """A fix version."""
        out: JsonDict = {
            "self": self.url(f"version/{version['id']}"),
            "id": version["id"],
            "description": version["description"],
            "name": version["name"],
            "archived": version["archived"],
            "released": version["released"],
            "projectId": int(version["project_id"]),
        }
        if version.get("release_date"):
            out["releaseDate"] = version["release_date"]
            out["overdue"] = False
            out["userReleaseDate"] = version["release_date"]
        out.update(version.get("native") or {})
        return out

    def version_ref(self, version_id: str) -> JsonDict | None:
        """A fix version as embedded in an issue's ``fixVersions``."""
        version = self.state.versions.get(version_id)
        if version is None:
            return None
        out = self.version(version)
        out.pop("projectId", None)
        return out

    # -- issues ------------------------------------------------------------------

    def field_value(self, issue: Mapping[str, Any], name: str) -> Any:
        """One issue field as the API answers it."""
        if name == "summary":
            return issue["summary"]
        if name == "description":
            return render_body(body_of(issue["description"]), self.api)
        if name == "status":
            return status_json(self.base, self.api, STATUSES[issue["status"]])
        if name == "resolution":
            return (
                resolution_json(self.base, self.api, issue["resolution"])
                if issue["resolution"]
                else None
            )
        if name in ("resolutiondate", "created", "updated", "statuscategorychangedate"):
            return self.time(issue.get(name))
        if name == "issuetype":
            return issuetype_json(self.base, self.api, issue["issuetype"])
        if name == "priority":
            return priority_json(self.base, self.api, issue["priority"])
        if name == "project":
            project = next(p for p in self.state.projects.values() if p.id == issue["project_id"])
            return self.project_ref(project)
        if name in ("reporter", "creator", "assignee"):
            return self.user(issue.get(name))
        if name == "labels":
            return list(issue["labels"])
        if name == "fixVersions":
            refs = (self.version_ref(v) for v in issue["fix_versions"])
            return [r for r in refs if r is not None]
        if name in ("versions", "components", "subtasks", "issuelinks"):
            return []
        if name in ("duedate", "environment"):
            return None
        if name == "comment":
            comments = [self.comment(c) for c in self.state.issue_comments(issue["id"])]
            return {
                "comments": comments,
                "self": self.url(f"issue/{issue['id']}/comment"),
                "maxResults": len(comments),
                "total": len(comments),
                "startAt": 0,
            }
        return issue["native"].get(name)

    def issue(
        self,
        issue: Mapping[str, Any],
        *,
        fields: Sequence[str] | None = None,
        expand: Iterable[str] = (),
        properties: Iterable[str] = (),
    ) -> JsonDict:
        """An issue (``fields``: which fields, ``None`` for all incl. custom ones)."""
        expand_set = {e.strip() for e in expand if e.strip()}
        out: JsonDict = {
            "expand": "renderedFields,names,schema,operations,editmeta,changelog,"
            "versionedRepresentations",
            "id": issue["id"],
            "self": self.url(f"issue/{issue['id']}"),
            "key": issue["key"],
        }
        names = list(ALL_FIELDS) + sorted(issue["native"]) if fields is None else list(fields)
        out["fields"] = {
            name: self.field_value(issue, name)
            for name in names
            if name in FIELD_NAMES or name in issue["native"]
        }
        if "renderedFields" in expand_set:
            out["renderedFields"] = {
                "description": rendered_html(body_of(issue["description"])),
                "created": self.time(issue["created"]),
                "updated": self.time(issue["updated"]),
            }
        if "names" in expand_set:
            out["names"] = {n: FIELD_NAMES.get(n, n) for n in out["fields"]}
        if "transitions" in expand_set:
            out["transitions"] = self.transitions(issue)
        if "changelog" in expand_set:
            histories = [self.history(h) for h in self.state.issue_histories(issue["id"])]
            out["changelog"] = {
                "startAt": 0,
                "maxResults": len(histories),
                "total": len(histories),
                "histories": histories,
            }
        wanted = [p for p in properties if p]
        if wanted:
            out["properties"] = {
                key: issue["properties"][key] for key in wanted if key in issue["properties"]
            }
        return out

    def transitions(self, issue: Mapping[str, Any], *, fields: bool = False) -> list[JsonDict]:
        """The transitions available from the issue's status."""
        return [
            transition_json(self.base, self.api, t, fields=fields)
            for t in available_transitions(issue["status"])
        ]

    def history(self, history: Mapping[str, Any]) -> JsonDict:
        """A changelog history."""
        items = []
        for item in history["items"]:
            rendered = {
                "field": item["field"],
                "fieldtype": item["fieldtype"],
                "fieldId": item["field_id"],
                "from": item["from_value"],
                "fromString": item["from_string"],
                "to": item["to_value"],
                "toString": item["to_string"],
            }
            items.append(self._strip_nulls(rendered))
        return {
            # Extra fields a history may carry (Cloud's historyMetadata, ...).
            **(history.get("native") or {}),
            "id": history["id"],
            "author": self.user(history["author"]),
            "created": self.time(history["created"]),
            "items": items,
        }

    # -- comments ------------------------------------------------------------------

    def comment(self, comment: Mapping[str, Any], *, expand: Iterable[str] = ()) -> JsonDict:
        """A comment (``expand=renderedBody,properties``)."""
        expand_set = {e.strip() for e in expand}
        out: JsonDict = {
            "self": self.url(f"issue/{comment['issue_id']}/comment/{comment['id']}"),
            "id": comment["id"],
            "author": self.user(comment["author"]),
            "body": render_body(body_of(comment["body"]), self.api),
            "updateAuthor": self.user(comment["update_author"]),
            "created": self.time(comment["created"]),
            "updated": self.time(comment["updated"]),
        }
        if self.cloud:
            out["jsdPublic"] = True
        if "renderedBody" in expand_set:
            out["renderedBody"] = rendered_html(body_of(comment["body"]))
        if "properties" in expand_set:
            out["properties"] = [
                {"key": key, "value": value} for key, value in comment["properties"].items()
            ]
        out.update(comment.get("native") or {})
        return out
