"""The contract suite's backend control over the Jira emulator.

:class:`JiraControl` implements
:class:`~kradle_providers.testing.harness.BackendControl` with canonical
kinds, acting on the project ``WID`` as a person in Jira would (every change
bumps ``updated``, writes the changelog and emits the webhooks):

===========  ====================================================  ==================
kind         seed attrs                                            returned id
===========  ====================================================  ==================
Issue        title/summary, body/description (Markdown),           key (``WID-7``)
             status (To Do / In Progress / Done), labels,
             fix_version (name), assignee (account id or name)
Comment      issue (key; seeded when absent), body (Markdown)      comment id
Milestone    title/name, description, released, release_date       version id
Label        name, issue (key; seeded when absent)                 label name
IssueEvent   issue (key; seeded when absent): a summary edit       ``<history>:renamed``
Transition   issue (key; seeded when absent)                       transition ids
===========  ====================================================  ==================

IssueEvent ids are the adapter's (one event per kind of change in a history,
``<historyId>:<eventType>``), so what the suite seeds it finds by id.

``change`` fields: Issue ``title``/``summary``, ``body``/``description``,
``labels``, ``status`` (walks the workflow), ``assignee``, ``fix_version``;
Comment ``body``; Milestone ``name``/``title``, ``description``, ``released``;
Label ``issue`` (a Jira label has no fields of its own: changing one means a
person puts it on another issue, a new one unless ``issue`` names one).
IssueEvents (changelog histories) are never edited in Jira, so ``change``
refuses them; ``set_native_field`` stores an extra field on the history
(as Cloud's ``historyMetadata``). Labels have no fields to set.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from kradle_provider_jira.emulator.objects import (
    DONE,
    IN_PROGRESS,
    STATUSES,
    TODO,
    TRANSITIONS,
    Body,
    Transition,
    available_transitions,
)
from kradle_provider_jira.emulator.state import body_dict
from kradle_provider_jira.emulator.views import Views
from kradle_provider_jira.mapping import changelog_event_type
from kradle_providers.testing.emulator import FaultKind, Rule
from kradle_providers.testing.harness import Fault, RecordedRequest

if TYPE_CHECKING:
    from kradle_provider_jira.emulator.app import JiraEmulator

__all__ = ["KINDS", "JiraControl"]

KINDS = ("Issue", "Comment", "Milestone", "Label", "IssueEvent", "Transition")

# The shortest walk through the workflow from one status to another.
_PATHS: dict[tuple[str, str], tuple[str, ...]] = {
    (TODO, IN_PROGRESS): ("In Progress",),
    (TODO, DONE): ("Done",),
    (IN_PROGRESS, TODO): ("To Do",),
    (IN_PROGRESS, DONE): ("Done",),
    (DONE, TODO): ("Reopen",),
    (DONE, IN_PROGRESS): ("Reopen", "In Progress"),
}


def _transition(name: str) -> Transition:
    return next(t for t in TRANSITIONS if t.name == name)


class JiraControl:
    """Seed, change, delete and inspect the emulator from outside the adapter."""

    def __init__(self, emulator: JiraEmulator) -> None:
        self.emulator = emulator
        self._counter = 0

    # -- helpers -----------------------------------------------------------------

    @property
    def _actor(self) -> str:
        return self.emulator.me.account_id

    def _issue(self, ref: Any) -> dict[str, Any]:
        if ref is None:
            key = self.seed("Issue")[0]
            ref = key
        found = self.emulator.state.issue(str(ref))
        if found is None:
            raise KeyError(f"no Jira issue {ref!r} in the emulator; seed one first")
        return found

    def _unknown(self, kind: str) -> ValueError:
        return ValueError(
            f"the Jira emulator cannot handle canonical kind {kind!r}; "
            f"it supports {', '.join(KINDS)}"
        )

    def _walk(self, issue_id: str, target: str, resolution: str | None = None) -> None:
        state = self.emulator.state
        record = state.issues.get(issue_id)
        if record is None or record["status"] == target:
            return
        if target not in STATUSES:
            raise ValueError(f"unknown Jira status {target!r}; use one of {', '.join(STATUSES)}")
        for name in _PATHS[(record["status"], target)]:
            state.transition(issue_id, _transition(name), actor=self._actor, resolution=resolution)

    def _version_id(self, name: str) -> str:
        state = self.emulator.state
        project = self.emulator.project
        found = state.version(name, project.id)
        if found is None:
            found = state.create_version(project, name)
        return str(found["id"])

    # -- BackendControl ------------------------------------------------------------

    def seed(self, kind: str, count: int = 1, **attrs: Any) -> list[str]:
        """Create ``count`` objects of canonical ``kind`` (see the module table)."""
        if kind == "Transition":
            return self._transitions(attrs)
        return [self._seed_one(kind, dict(attrs)) for _ in range(count)]

    def _transitions(self, attrs: dict[str, Any]) -> list[str]:
        issue = self._issue(attrs.get("issue"))
        return [t.id for t in available_transitions(issue["status"])]

    def _seed_one(self, kind: str, attrs: dict[str, Any]) -> str:
        state = self.emulator.state
        self._counter += 1
        n = self._counter
        if kind == "Issue":
            summary = attrs.pop("title", None) or attrs.pop("summary", None) or f"Seeded issue {n}"
            text = attrs.pop("body", None) or attrs.pop("description", None)
            fix = attrs.pop("fix_version", None)
            assignee = attrs.pop("assignee", None)
            user = state.user(assignee) if assignee else None
            issue = state.create_issue(
                self.emulator.project,
                summary=summary,
                actor=self._actor,
                description=Body.markdown(text) if text else None,
                labels=attrs.pop("labels", None) or [],
                fix_versions=[self._version_id(str(fix))] if fix else [],
                assignee=user.account_id if user else None,
            )
            status = attrs.pop("status", None)
            if attrs.pop("state", None) == "closed" and not status:
                status = "Done"  # the canonical closed state: the workflow's done status
            if status:
                self._walk(issue["id"], str(status), attrs.pop("resolution", None))
            return str(issue["key"])
        if kind == "Comment":
            issue = self._issue(attrs.pop("issue", None))
            body = str(attrs.pop("body", None) or f"Seeded comment {n}")
            comment = state.add_comment(issue["id"], Body.markdown(body), actor=self._actor)
            return str(comment["id"])
        if kind == "Milestone":
            name = attrs.pop("title", None) or attrs.pop("name", None) or f"Milestone {n}"
            version = state.create_version(
                self.emulator.project,
                str(name),
                description=str(attrs.pop("description", "")),
                released=bool(attrs.pop("released", False)),
                release_date=attrs.pop("release_date", None),
            )
            return str(version["id"])
        if kind == "Label":
            name = str(attrs.pop("name", None) or f"label-{n}")
            issue = self._issue(attrs.pop("issue", None))
            state.edit_issue(issue["id"], {"labels": [*issue["labels"], name]}, actor=self._actor)
            return name
        if kind == "IssueEvent":
            issue = self._issue(attrs.pop("issue", None))
            history = state.edit_issue(
                issue["id"], {"summary": f"{issue['summary']} (event {n})"}, actor=self._actor
            )
            assert history is not None  # the summary really changed
            return self._event_id(history)
        raise self._unknown(kind)

    def _event_id(self, history: dict[str, Any]) -> str:
        # The adapter's id of the first event of a history: <historyId>:<eventType>.
        rendered = Views(self.emulator.state, self.emulator.base_url, "2").history(history)
        first = changelog_event_type(rendered["items"][0])
        return f"{history['id']}:{first.value}"

    def _history(self, event_id: str) -> dict[str, Any]:
        history_id = event_id.split(":", 1)[0]
        history = self.emulator.state.histories.get(history_id)
        if history is None:
            raise KeyError(f"no Jira changelog history {history_id!r} in the emulator")
        return history

    def change(self, kind: str, object_id: str, **fields: Any) -> None:
        """Change an object as a person in Jira would (default: edit its title)."""
        state = self.emulator.state
        if kind == "Issue":
            issue = self._issue(object_id)
            changes: dict[str, Any] = {}
            summary = fields.pop("title", None) or fields.pop("summary", None)
            if summary:
                changes["summary"] = summary
            text = fields.pop("body", None) or fields.pop("description", None)
            if text is not None:
                changes["description"] = body_dict(Body.markdown(text))
            if "labels" in fields:
                changes["labels"] = list(fields.pop("labels"))
            if "assignee" in fields:
                user = state.user(fields.pop("assignee"))
                changes["assignee"] = user.account_id if user else None
            if "fix_version" in fields:
                fix = fields.pop("fix_version")
                changes["fix_versions"] = [self._version_id(str(fix))] if fix else []
            status = fields.pop("status", None)
            if not changes and status is None:
                changes["summary"] = f"{issue['summary']} (edited)"
            if changes:
                state.edit_issue(issue["id"], changes, actor=self._actor)
            if status is not None:
                self._walk(issue["id"], str(status), fields.pop("resolution", None))
            return
        if kind == "Comment":
            comment = state.comments.get(object_id)
            if comment is None:
                raise KeyError(f"no Jira comment {object_id!r} in the emulator")
            body = fields.pop("body", None) or f"{Body(**comment['body']).plain()} (edited)"
            state.edit_comment(object_id, Body.markdown(str(body)), actor=self._actor)
            return
        if kind == "Milestone":
            updates: dict[str, Any] = {}
            name = fields.pop("title", None) or fields.pop("name", None)
            if name:
                updates["name"] = name
            for key in ("description", "released", "archived", "release_date"):
                if key in fields:
                    updates[key] = fields.pop(key)
            if not updates:
                version = state.versions.get(object_id)
                updates["description"] = f"{(version or {}).get('description', '')} (edited)"
            state.edit_version(object_id, **updates)
            return
        if kind == "Label":
            # A label's only visible change is where it is used: put it on another issue.
            target = self._issue(fields.pop("issue", None))
            if object_id not in target["labels"]:
                labels = [*target["labels"], object_id]
                state.edit_issue(target["id"], {"labels": labels}, actor=self._actor)
            return
        if kind == "IssueEvent":
            raise ValueError(
                f"Jira never edits a changelog history, so IssueEvent {object_id!r} cannot "
                "change; the harness declares IssueEvent immutable"
            )
        raise self._unknown(kind)

    def delete(self, kind: str, object_id: str) -> None:
        """Delete an object from outside."""
        state = self.emulator.state
        if kind == "Issue":
            state.delete_issue(self._issue(object_id)["id"], actor=self._actor)
        elif kind == "Comment":
            state.delete_comment(object_id, actor=self._actor)
        elif kind == "Milestone":
            state.delete_version(object_id, actor=self._actor)
        elif kind == "Label":
            for issue in state.issues.all():
                if object_id in issue["labels"]:
                    remaining = [label for label in issue["labels"] if label != object_id]
                    state.edit_issue(issue["id"], {"labels": remaining}, actor=self._actor)
        else:
            raise self._unknown(kind)

    def requests(self) -> Sequence[RecordedRequest]:
        """Every request the emulator received, oldest first."""
        return [
            RecordedRequest(method=r.method, path=r.path, operation=r.operation)
            for r in self.emulator.requests
        ]

    def inject_fault(self, fault: Fault, *, times: int = 1, method: str | None = None) -> None:
        """Make the next ``times`` requests (of ``method``) fail as Jira would."""
        if fault is Fault.RATE_LIMIT:
            rule = Rule(kind=FaultKind.RATE_LIMIT, method=method, times=times, retry_after=1,
                        message="Rate limit exceeded.")  # fmt: skip
        elif fault is Fault.SERVER_ERROR:
            rule = Rule(kind=FaultKind.STATUS, method=method, times=times, status=503,
                        message="Service Unavailable")  # fmt: skip
        elif fault is Fault.LOST_RESPONSE:
            rule = Rule(kind=FaultKind.DROPPED, method=method, times=times, processed=True)
        else:  # pragma: no cover - the enum is closed
            raise ValueError(f"unknown fault {fault!r}")
        self.emulator.faults.add(rule)

    def set_native_field(self, kind: str, object_id: str, name: str, value: Any) -> None:
        """Store a Jira field the canonical model has no place for (``customfield_10042``)."""
        state = self.emulator.state
        if kind == "Issue":
            issue = self._issue(object_id)
            if name.startswith("customfield_"):
                # A custom field edit is a change like any other: changelog and updated.
                state.edit_issue(issue["id"], {name: value}, actor=self._actor)
            else:
                state.issues.update(issue["id"], {"native": {**issue["native"], name: value}})
            return
        if kind == "Comment":
            comment = state.comments.get(object_id)
            if comment is None:
                raise KeyError(f"no Jira comment {object_id!r} in the emulator")
            state.comments.update(object_id, {"native": {**comment["native"], name: value}})
            state.changed()
            return
        if kind == "Milestone":
            version = state.versions.get(object_id)
            if version is None:
                raise KeyError(f"no Jira version {object_id!r} in the emulator")
            native = {**(version.get("native") or {}), name: value}
            state.versions.update(object_id, {"native": native})
            return
        if kind == "IssueEvent":
            history = self._history(object_id)
            native = {**(history.get("native") or {}), name: value}
            state.histories.update(history["id"], {"native": native})
            state.changed()
            return
        if kind == "Label":
            raise ValueError(
                f"a Jira label is a bare string with no fields, so {name!r} cannot be set on "
                f"label {object_id!r}; the harness declares Label without native fields"
            )
        raise self._unknown(kind)
