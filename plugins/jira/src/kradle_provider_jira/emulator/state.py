"""The Jira emulator's state and every change to it.

Records live in the framework's :class:`~kradle_providers.testing.emulator.Store`
(so tests can snapshot and restore them) in the emulator's own neutral form:
bodies as :class:`~.objects.Body` dicts, users by account id, timestamps as
aware datetimes. Every change goes through :class:`JiraState`, whether it came
from the REST API or the control API, so each one bumps ``updated``, writes a
changelog history when Jira would, and tells the listener (the webhook
emitter) what happened.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from kradle_provider_jira.emulator.objects import (
    DONE,
    PRIORITIES,
    RESOLUTIONS,
    STATUSES,
    TODO,
    Body,
    Transition,
    User,
)
from kradle_providers.testing.emulator import Collection, Now, Store

__all__ = ["ChangeItem", "JiraState", "Listener", "StateError"]

JsonDict = dict[str, Any]

PROJECT_ID = "10000"


class StateError(ValueError):
    """A change Jira would refuse; ``field`` names the field for ``errors``."""

    def __init__(self, message: str, *, field: str | None = None, status: int = 400) -> None:
        super().__init__(message)
        self.field = field
        self.status = status


@dataclass(frozen=True)
class ChangeItem:
    """One changelog item in neutral form (rendered per API by the views)."""

    field: str
    field_id: str
    from_value: str | None
    from_string: str | None
    to_value: str | None
    to_string: str | None
    fieldtype: str = "jira"


Listener = Callable[[str, Mapping[str, Any]], None]
"""``(event, details)``: told about every change (the webhook emitter listens)."""


def body_dict(body: Body | None) -> JsonDict | None:
    """A body as stored in a record."""
    return None if body is None else {"format": body.format, "value": body.value}


def body_of(stored: Any) -> Body | None:
    """A record's stored body back as a :class:`Body`."""
    if not stored:
        return None
    return Body(stored["format"], stored["value"])


@dataclass
class Project:
    """The emulated project."""

    id: str
    key: str
    name: str
    lead: str
    description: str = ""


@dataclass
class JiraState:
    """Projects, users, issues, comments, versions and histories, and their mutations."""

    store: Store
    clock: Now
    cloud: bool
    users: dict[str, User] = field(default_factory=dict)
    projects: dict[str, Project] = field(default_factory=dict)
    listeners: list[Listener] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._index: dict[str, tuple[Any, dict[str, list[JsonDict]]]] = {}
        self._mutations = 0
        self.issues = self.store.collection(
            "issues", id_field="id", created_field=None, updated_field=None
        )
        self.comments = self.store.collection(
            "comments", id_field="id", created_field=None, updated_field=None
        )
        self.histories = self.store.collection(
            "histories", id_field="id", created_field=None, updated_field=None
        )
        self.versions = self.store.collection(
            "versions", id_field="id", created_field=None, updated_field=None
        )

    # -- ids -------------------------------------------------------------------

    def _next(self, name: str, start: int) -> str:
        return str(self.store.sequence(name, start=start))

    def add_user(self, user: User) -> User:
        """Register a person."""
        self.users[user.account_id] = user
        return user

    def user(self, ref: str | None) -> User | None:
        """A user by account id, name, key or e-mail (``None`` when unknown)."""
        if ref is None:
            return None
        if ref in self.users:
            return self.users[ref]
        for user in self.users.values():
            if ref in (user.name, user.key, user.email):
                return user
        return None

    def add_project(self, key: str, name: str, lead: str) -> Project:
        """Register a project."""
        project = Project(id=self._next("project", 10000), key=key, name=name, lead=lead)
        self.projects[key] = project
        return project

    def project(self, ref: str) -> Project | None:
        """A project by key (any case) or id."""
        for project in self.projects.values():
            if ref.upper() == project.key or ref == project.id:
                return project
        return None

    # -- lookups -----------------------------------------------------------------

    def issue(self, ref: str) -> JsonDict | None:
        """An issue by id or key (``WID-7``, any case)."""
        found = self.issues.get(ref)
        if found is not None:
            return found
        return self.issues.find_one(key=ref.upper())

    def changed(self) -> None:
        """Invalidate derived indexes (call after writing records directly)."""
        self._mutations += 1

    def _by_issue(self, collection: Collection) -> dict[str, list[JsonDict]]:
        # One pass over the collection, cached until it changes (a per-issue filter
        # over ~1000 records per request made full-project reads slow).
        stamp = (len(collection), self._mutations)
        cached = self._index.get(collection.name)
        if cached is not None and cached[0] == stamp:
            return cached[1]
        index: dict[str, list[JsonDict]] = {}
        for record in collection.all():
            index.setdefault(record["issue_id"], []).append(record)
        for records in index.values():
            records.sort(key=lambda r: (r["created"], int(r["id"])))
        self._index[collection.name] = (stamp, index)
        return index

    def issue_comments(self, issue_id: str) -> list[JsonDict]:
        """Comments of an issue, oldest first."""
        return list(self._by_issue(self.comments).get(issue_id, []))

    def issue_histories(self, issue_id: str) -> list[JsonDict]:
        """Changelog histories of an issue, oldest first."""
        return list(self._by_issue(self.histories).get(issue_id, []))

    def version(self, ref: str, project_id: str | None = None) -> JsonDict | None:
        """A version by id or name."""
        found = self.versions.get(ref)
        if found is not None:
            return found
        for version in self.versions.all():
            if version["name"] == ref and project_id in (None, version["project_id"]):
                return version
        return None

    def project_versions(self, project_id: str) -> list[JsonDict]:
        """A project's versions in sequence order."""
        found = self.versions.filter(project_id=project_id)
        return sorted(found, key=lambda v: (v["sequence"], int(v["id"])))

    def labels(self) -> list[str]:
        """Every label in use, sorted."""
        return sorted({label for issue in self.issues.all() for label in issue["labels"]})

    # -- notifications -----------------------------------------------------------

    def _notify(self, event: str, **details: Any) -> None:
        for listener in list(self.listeners):
            listener(event, details)

    def _now(self, when: datetime | None) -> datetime:
        return when if when is not None else self.clock()

    # -- issues ------------------------------------------------------------------

    def create_issue(
        self,
        project: Project,
        *,
        summary: str,
        actor: str,
        description: Body | None = None,
        issuetype: str = "Task",
        priority: str = "Medium",
        labels: Iterable[str] = (),
        fix_versions: Iterable[str] = (),
        assignee: str | None = None,
        properties: Mapping[str, Any] | None = None,
        native: Mapping[str, Any] | None = None,
        when: datetime | None = None,
        notify: bool = True,
    ) -> JsonDict:
        """Create an issue in ``project`` (status To Do); Jira writes no history for it."""
        now = self._now(when)
        number = self.store.sequence(f"issue-number:{project.key}")
        record: JsonDict = {
            "id": self._next("issue", 10000),
            "key": f"{project.key}-{number}",
            "number": number,
            "project_id": project.id,
            "summary": summary,
            "description": body_dict(description),
            "status": TODO,
            "resolution": None,
            "resolutiondate": None,
            "statuscategorychangedate": now,
            "issuetype": issuetype,
            "priority": priority,
            "reporter": actor,
            "creator": actor,
            "assignee": assignee,
            "labels": sorted(set(labels)),
            "fix_versions": list(dict.fromkeys(fix_versions)),
            "created": now,
            "updated": now,
            "properties": dict(properties or {}),
            "native": dict(native or {}),
        }
        stored = self.issues.insert(record)
        if notify:
            self._notify("issue_created", issue=stored, actor=actor)
        return stored

    def _item(self, record: Mapping[str, Any], name: str, new: Any) -> list[ChangeItem]:
        old: Any = record.get(name)
        if name == "summary":
            return [ChangeItem("summary", "summary", None, old, None, new)]
        if name == "description":
            before, after = body_of(old), body_of(new)
            return [
                ChangeItem(
                    "description",
                    "description",
                    None,
                    before.plain() if before else None,
                    None,
                    after.plain() if after else None,
                )
            ]
        if name == "labels":
            return [
                ChangeItem("labels", "labels", None, " ".join(old) or None, None, " ".join(new))
            ]
        if name == "assignee":
            before_user, after_user = self.user(old), self.user(new)
            return [
                ChangeItem(
                    "assignee",
                    "assignee",
                    before_user.ref(self.cloud) if before_user else None,
                    before_user.display_name if before_user else None,
                    after_user.ref(self.cloud) if after_user else None,
                    after_user.display_name if after_user else None,
                )
            ]
        if name == "priority":
            return [
                ChangeItem("priority", "priority", PRIORITIES[old][0], old, PRIORITIES[new][0], new)
            ]
        if name == "fix_versions":
            items = []
            for vid in old:
                if vid not in new:
                    version = self.versions.get(vid)
                    name_ = version["name"] if version else vid
                    items.append(ChangeItem("Fix Version", "fixVersions", vid, name_, None, None))
            for vid in new:
                if vid not in old:
                    version = self.versions.get(vid)
                    name_ = version["name"] if version else vid
                    items.append(ChangeItem("Fix Version", "fixVersions", None, None, vid, name_))
            return items
        if name.startswith("customfield_"):
            old_text = None if old is None else str(old)
            return [ChangeItem(name, name, None, old_text, None, str(new), fieldtype="custom")]
        return []

    def edit_issue(
        self,
        issue_id: str,
        changes: Mapping[str, Any],
        *,
        actor: str,
        when: datetime | None = None,
        notify: bool = True,
    ) -> JsonDict | None:
        """Apply field ``changes``; write one history of what really changed.

        Returns the history (``None`` when nothing changed: no version bump,
        as Jira). Keys: ``summary``, ``description`` (a Body dict),
        ``labels``, ``assignee``, ``priority``, ``fix_versions``,
        ``customfield_*`` (stored under ``native``).
        """
        record = self.issues.get(issue_id)
        if record is None:
            raise StateError("Issue does not exist or you do not have permission to see it.",
                             status=404)  # fmt: skip
        items: list[ChangeItem] = []
        updates: JsonDict = {}
        native = dict(record["native"])
        for name, new in changes.items():
            if name == "labels":
                new = sorted(set(new))
            if name.startswith("customfield_"):
                if native.get(name) != new:
                    items.extend(self._item(native, name, new))
                    native[name] = new
                continue
            if record.get(name) == new:
                continue
            items.extend(self._item(record, name, new))
            updates[name] = new
        if native != record["native"]:
            updates["native"] = native
        if not updates:
            return None
        now = self._now(when)
        updates["updated"] = now
        updated = self.issues.update(issue_id, updates)
        history = self._history(updated, items, actor, now)
        if notify:
            self._notify(
                "issue_updated",
                issue=updated,
                history=history,
                actor=actor,
                event_type="issue_updated" if "assignee" not in changes else "issue_assigned",
            )
        return history

    def _history(
        self, issue: Mapping[str, Any], items: list[ChangeItem], actor: str, when: datetime
    ) -> JsonDict:
        history: JsonDict = {
            "id": self._next("history", 10000),
            "issue_id": issue["id"],
            "author": actor,
            "created": when,
            "items": [item.__dict__ for item in items],
        }
        return self.issues_history_insert(history)

    def issues_history_insert(self, history: JsonDict) -> JsonDict:
        """Store a changelog history (seeding writes old ones directly)."""
        self._mutations += 1
        return self.histories.insert(history)

    def transition(
        self,
        issue_id: str,
        transition: Transition,
        *,
        actor: str,
        resolution: str | None = None,
        when: datetime | None = None,
        notify: bool = True,
    ) -> JsonDict:
        """Move an issue along ``transition``; Done sets a resolution, leaving Done clears it."""
        record = self.issues.get(issue_id)
        if record is None:
            raise StateError("Issue does not exist or you do not have permission to see it.",
                             status=404)  # fmt: skip
        old_status, new_status = record["status"], transition.to
        now = self._now(when)
        items: list[ChangeItem] = []
        updates: JsonDict = {"status": new_status, "updated": now}
        if new_status == DONE:
            chosen = resolution or "Done"
            if chosen not in RESOLUTIONS:
                raise StateError(
                    "Could not find valid 'id' or 'name' in resolution object.",
                    field="resolution",
                )
            if record["resolution"] != chosen:
                old_res = record["resolution"]
                items.append(
                    ChangeItem(
                        "resolution",
                        "resolution",
                        RESOLUTIONS[old_res][0] if old_res else None,
                        old_res,
                        RESOLUTIONS[chosen][0],
                        chosen,
                    )
                )
            updates["resolution"] = chosen
            updates["resolutiondate"] = now
        elif record["resolution"] is not None:
            old_res = record["resolution"]
            items.append(
                ChangeItem("resolution", "resolution", RESOLUTIONS[old_res][0], old_res, None, None)
            )
            updates["resolution"] = None
            updates["resolutiondate"] = None
        items.append(
            ChangeItem(
                "status",
                "status",
                STATUSES[old_status].id,
                old_status,
                STATUSES[new_status].id,
                new_status,
            )
        )
        if STATUSES[old_status].category_key != STATUSES[new_status].category_key:
            updates["statuscategorychangedate"] = now
        updated = self.issues.update(issue_id, updates)
        history = self._history(updated, items, actor, now)
        if notify:
            event_type = {
                "Done": "issue_resolved" if old_status != DONE else "issue_generic",
                "Reopen": "issue_reopened",
                "In Progress": "issue_work_started",
                "To Do": "issue_work_stopped",
            }.get(transition.name, "issue_generic")
            self._notify(
                "issue_updated", issue=updated, history=history, actor=actor, event_type=event_type
            )
        return history

    def delete_issue(self, issue_id: str, *, actor: str, notify: bool = True) -> JsonDict:
        """Delete an issue with its comments and histories."""
        record = self.issues.get(issue_id)
        if record is None:
            raise StateError("Issue does not exist or you do not have permission to see it.",
                             status=404)  # fmt: skip
        for comment in self.comments.filter(issue_id=issue_id):
            self.comments.delete(comment["id"])
        for history in self.histories.filter(issue_id=issue_id):
            self.histories.delete(history["id"])
        self.issues.delete(issue_id)
        self._mutations += 1
        if notify:
            self._notify("issue_deleted", issue=record, actor=actor)
        return record

    def set_property(self, issue_id: str, key: str, value: Any) -> bool:
        """Set an issue property; True when it is new (Jira does not bump ``updated``)."""
        record = self.issues.get(issue_id)
        if record is None:
            raise StateError("Issue does not exist or you do not have permission to see it.",
                             status=404)  # fmt: skip
        properties = dict(record["properties"])
        created = key not in properties
        properties[key] = value
        # Collection.update would bump nothing else: updated is explicit and unchanged.
        self.issues.update(issue_id, {"properties": properties, "updated": record["updated"]})
        return created

    def delete_property(self, issue_id: str, key: str) -> bool:
        """Remove an issue property; False when it did not exist."""
        record = self.issues.get(issue_id)
        if record is None or key not in record["properties"]:
            return False
        properties = dict(record["properties"])
        del properties[key]
        self.issues.update(issue_id, {"properties": properties, "updated": record["updated"]})
        return True

    # -- comments ------------------------------------------------------------------

    def _touch(self, issue_id: str, when: datetime) -> JsonDict:
        # A comment change makes the issue "updated" (JQL sees it) without a history.
        return self.issues.update(issue_id, {"updated": when})

    def add_comment(
        self,
        issue_id: str,
        body: Body,
        *,
        actor: str,
        properties: Mapping[str, Any] | None = None,
        when: datetime | None = None,
        touch: bool = True,
        notify: bool = True,
    ) -> JsonDict:
        """Add a comment (bumps the issue's ``updated``)."""
        issue = self.issues.get(issue_id)
        if issue is None:
            raise StateError("Issue does not exist or you do not have permission to see it.",
                             status=404)  # fmt: skip
        now = self._now(when)
        comment: JsonDict = {
            "id": self._next("comment", 10000),
            "issue_id": issue_id,
            "author": actor,
            "update_author": actor,
            "body": body_dict(body),
            "created": now,
            "updated": now,
            "properties": dict(properties or {}),
            "native": {},
        }
        stored = self.comments.insert(comment)
        self._mutations += 1
        if touch:
            issue = self._touch(issue_id, now)
        if notify:
            self._notify("comment_created", issue=issue, comment=stored, actor=actor)
        return stored

    def edit_comment(
        self,
        comment_id: str,
        body: Body,
        *,
        actor: str,
        when: datetime | None = None,
        notify: bool = True,
    ) -> JsonDict:
        """Change a comment's body (bumps the comment's and the issue's ``updated``)."""
        comment = self.comments.get(comment_id)
        if comment is None:
            raise StateError(f"Can not find a comment for the id: {comment_id}.", status=404)
        now = self._now(when)
        stored = self.comments.update(
            comment_id, {"body": body_dict(body), "updated": now, "update_author": actor}
        )
        self._mutations += 1
        issue = self._touch(comment["issue_id"], now)
        if notify:
            self._notify("comment_updated", issue=issue, comment=stored, actor=actor)
        return stored

    def delete_comment(self, comment_id: str, *, actor: str, notify: bool = True) -> JsonDict:
        """Delete a comment (bumps the issue's ``updated``)."""
        comment = self.comments.get(comment_id)
        if comment is None:
            raise StateError(f"Can not find a comment for the id: {comment_id}.", status=404)
        self.comments.delete(comment_id)
        self._mutations += 1
        issue = self._touch(comment["issue_id"], self.clock())
        if notify:
            self._notify("comment_deleted", issue=issue, comment=comment, actor=actor)
        return comment

    # -- versions --------------------------------------------------------------------

    def create_version(
        self,
        project: Project,
        name: str,
        *,
        description: str = "",
        released: bool = False,
        release_date: str | None = None,
        archived: bool = False,
    ) -> JsonDict:
        """Create a fix version in ``project``; names are unique per project."""
        if self.version(name, project.id) is not None:
            raise StateError(
                "A version with this name already exists in this project.", field="name"
            )
        version: JsonDict = {
            "id": self._next("version", 10000),
            "project_id": project.id,
            "name": name,
            "description": description,
            "archived": archived,
            "released": released,
            "release_date": release_date,
            "sequence": self.store.sequence(f"version-seq:{project.id}"),
        }
        return self.versions.insert(version)

    def edit_version(self, version_id: str, **changes: Any) -> JsonDict:
        """Change a version's name, description, released, release_date or archived."""
        if self.versions.get(version_id) is None:
            raise StateError(f"Could not find version for id '{version_id}'", status=404)
        return self.versions.update(version_id, changes)

    def delete_version(self, version_id: str, *, actor: str) -> None:
        """Delete a version and remove it from every issue's fix versions."""
        for issue in self.issues.all():
            if version_id in issue["fix_versions"]:
                remaining = [v for v in issue["fix_versions"] if v != version_id]
                self.edit_issue(issue["id"], {"fix_versions": remaining}, actor=actor)
        self.versions.delete(version_id)
