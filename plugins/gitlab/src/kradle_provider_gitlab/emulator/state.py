"""The GitLab emulator's data: collections, object factories and hook emission.

Objects are stored in the shape GitLab's REST API v4 returns them (keys
starting with ``_`` are internal and never rendered). The factories here are
the one place an object is created or changed, whether by a REST handler, the
seed or the contract suite's control API, so every change emits the webhook
GitLab would send.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from kradle_provider_gitlab.emulator.webhooks import HOOK_FLAGS, events_of
from kradle_providers.auth import Secret
from kradle_providers.testing.emulator import Collection, iso_z

if TYPE_CHECKING:
    from kradle_provider_gitlab.emulator.app import GitLabEmulator

__all__ = ["ACCESS_NAMES", "GitLabState", "public", "sha_of", "summary"]


def sha_of(*parts: object) -> str:
    """A deterministic 40-hex commit sha."""
    return hashlib.sha1("/".join(str(p) for p in parts).encode()).hexdigest()  # noqa: S324


def public(obj: Mapping[str, Any]) -> dict[str, Any]:
    """``obj`` without internal (``_``) keys: what the API renders."""
    return {k: v for k, v in obj.items() if not k.startswith("_")}


def summary(obj: Mapping[str, Any], keys: Sequence[str]) -> dict[str, Any]:
    """The ``keys`` a list endpoint shows of ``obj``, plus fields added since (``_added``)."""
    shown = {k: obj.get(k) for k in keys}
    for key in obj.get("_added") or ():
        shown[key] = obj.get(key)
    return shown


def _flag(values: Mapping[str, Any], name: str, default: bool) -> bool:
    value = values.get(name)
    if value is None:
        return default
    return value is True or str(value).lower() == "true"


ACCESS_NAMES = {0: "No one", 30: "Developers + Maintainers", 40: "Maintainers", 60: "Admins"}


class GitLabState:
    """Every collection of the emulated instance, and the factories that change them."""

    def __init__(self, app: GitLabEmulator) -> None:
        self.app = app
        store = app.store

        def plain(name: str, id_field: str = "id") -> Collection:
            return store.collection(name, id_field=id_field, created_field=None, updated_field=None)

        self.users = plain("users")
        self.groups = plain("groups")
        self.projects = store.collection("projects")
        self.issues = store.collection("issues")
        self.notes = store.collection("notes")
        self.labels = plain("labels")
        self.milestones = store.collection("milestones")
        self.state_events = plain("resource_state_events")
        self.label_events = plain("resource_label_events")
        self.milestone_events = plain("resource_milestone_events")
        self.merge_requests = store.collection("merge_requests")
        self.pipelines = store.collection("pipelines")
        self.jobs = plain("jobs")
        self.statuses = plain("statuses")
        self.commits = plain("commits")
        self.branches = plain("branches", id_field="_key")
        self.tags = plain("tags", id_field="_key")
        self.protected = plain("protected_branches")
        self.approval_rules = plain("approval_rules")
        self.deploy_keys = plain("deploy_keys")
        self.members = plain("members", id_field="_key")
        self.runners = plain("runners")
        self.hooks = plain("hooks")
        self.viewer_id = 1
        # Lookup indexes (ids only; records are always read from the collections, so a
        # deleted object is simply not found).
        self._by_iid: dict[tuple[str, int, int], int] = {}
        self._notes_of: dict[tuple[str, int], list[int]] = {}

    # -- basics ------------------------------------------------------------------

    def now(self) -> str:
        return iso_z(self.app.clock())

    def next_id(self, name: str, start: int = 1) -> int:
        return self.app.store.sequence(name, start=start)

    def user(self, user_id: int) -> dict[str, Any]:
        found = self.users.get(user_id)
        if found is None:
            raise KeyError(f"no user {user_id}")
        return public(found)

    def add_user(self, username: str, name: str, *, bot: bool = False) -> dict[str, Any]:
        uid = self.next_id("user")
        return self.users.insert(
            {
                "id": uid,
                "username": username,
                "name": name,
                "state": "active",
                "locked": False,
                "avatar_url": f"{self.app.web_url}/uploads/-/system/user/avatar/{uid}/a.png",
                "web_url": f"{self.app.web_url}/{username}",
                "bot": bot,
            }
        )

    def add_group(self, path: str, name: str, parent: Mapping[str, Any] | None) -> dict[str, Any]:
        full = f"{parent['full_path']}/{path}" if parent else path
        gid = self.next_id("namespace", start=100)
        return self.groups.insert(
            {
                "id": gid,
                "name": name,
                "path": path,
                "full_path": full,
                "full_name": f"{parent['full_name']} / {name}" if parent else name,
                "parent_id": parent["id"] if parent else None,
                "kind": "group",
                "visibility": "private",
                "web_url": f"{self.app.web_url}/groups/{full}",
                "avatar_url": None,
            }
        )

    def namespace_of(self, group: Mapping[str, Any]) -> dict[str, Any]:
        return {
            "id": group["id"],
            "name": group["name"],
            "path": group["path"],
            "kind": "group",
            "full_path": group["full_path"],
            "parent_id": group["parent_id"],
            "avatar_url": None,
            "web_url": group["web_url"],
        }

    def find_group(self, ref: str) -> dict[str, Any] | None:
        for group in self.groups:
            if str(group["id"]) == ref or group["full_path"] == ref:
                return group
        return None

    def find_project(self, ref: str) -> dict[str, Any] | None:
        if ref.isdigit():
            return self.projects.get(int(ref))
        return self.projects.find_one(path_with_namespace=ref)

    # -- projects -----------------------------------------------------------------

    def add_project(
        self,
        group: Mapping[str, Any],
        path: str,
        *,
        description: str | None = None,
        visibility: str = "private",
        default_branch: str = "main",
    ) -> dict[str, Any]:
        pid = self.next_id("project")
        full = f"{group['full_path']}/{path}"
        web = f"{self.app.web_url}/{full}"
        api = self.app.api_url(f"/projects/{pid}")
        now = self.now()
        project = self.projects.insert(
            {
                "id": pid,
                "description": description,
                "name": path.replace("-", " ").title(),
                "name_with_namespace": f"{group['full_name']} / {path.replace('-', ' ').title()}",
                "path": path,
                "path_with_namespace": full,
                "created_at": now,
                "updated_at": now,
                "default_branch": default_branch,
                "tag_list": [],
                "topics": [],
                "ssh_url_to_repo": f"git@gitlab.test:{full}.git",
                "http_url_to_repo": f"{web}.git",
                "web_url": web,
                "readme_url": f"{web}/-/blob/{default_branch}/README.md",
                "avatar_url": None,
                "forks_count": 0,
                "star_count": 0,
                "last_activity_at": now,
                "namespace": self.namespace_of(group),
                "visibility": visibility,
                "archived": False,
                "empty_repo": False,
                "issues_enabled": True,
                "merge_requests_enabled": True,
                "jobs_enabled": True,
                "forked_from_project": None,
                "open_issues_count": 0,
                "_links": {
                    "self": api,
                    "issues": f"{api}/issues",
                    "merge_requests": f"{api}/merge_requests",
                    "repo_branches": f"{api}/repository/branches",
                    "labels": f"{api}/labels",
                    "events": f"{api}/events",
                    "members": f"{api}/members",
                },
                "_group_id": group["id"],
            }
        )
        root = self.add_commit(project, "Initial commit", parents=[])
        self.set_branch(project, default_branch, root["id"], emit=False)
        return project

    def touch_project(self, project: Mapping[str, Any]) -> None:
        now = self.now()
        self.projects.update(project["id"], last_activity_at=now)

    # -- repository ---------------------------------------------------------------

    def add_commit(
        self,
        project: Mapping[str, Any],
        message: str,
        *,
        parents: list[str],
        author: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        n = self.next_id("commit")
        sha = sha_of(project["id"], n, message)
        who = author or self.user(self.viewer_id)
        when = self.now()
        email = f"{who['username']}@example.com"
        return self.commits.insert(
            {
                "id": sha,
                "short_id": sha[:8],
                "created_at": when,
                "parent_ids": parents,
                "title": message.splitlines()[0],
                "message": message,
                "author_name": who["name"],
                "author_email": email,
                "authored_date": when,
                "committer_name": who["name"],
                "committer_email": email,
                "committed_date": when,
                "trailers": {},
                "extended_trailers": {},
                "web_url": f"{project['web_url']}/-/commit/{sha}",
                "_project_id": project["id"],
            }
        )

    def commit_of(self, project: Mapping[str, Any], sha: str) -> dict[str, Any] | None:
        found = self.commits.get(sha)
        if found is None or found["_project_id"] != project["id"]:
            # Branch and tag names resolve to their head commit, as GitLab does.
            ref = self.branch(project, sha) or self.tag(project, sha)
            if ref is None:
                return None
            return self.commits.get(ref["commit"]["id"])
        return found

    def branch(self, project: Mapping[str, Any], name: str) -> dict[str, Any] | None:
        return self.branches.get(f"{project['id']}:{name}")

    def tag(self, project: Mapping[str, Any], name: str) -> dict[str, Any] | None:
        return self.tags.get(f"{project['id']}:{name}")

    def branches_of(self, project: Mapping[str, Any]) -> list[dict[str, Any]]:
        items = [b for b in self.branches if b["_project_id"] == project["id"]]
        return sorted(items, key=lambda b: b["name"])

    def tags_of(self, project: Mapping[str, Any]) -> list[dict[str, Any]]:
        items = [t for t in self.tags if t["_project_id"] == project["id"]]
        return sorted(items, key=lambda t: t["name"])

    def protected_rule(self, project: Mapping[str, Any], name: str) -> dict[str, Any] | None:
        for rule in self.protected:
            if rule["_project_id"] == project["id"] and rule["name"] == name:
                return rule
        return None

    def _commit_summary(self, sha: str) -> dict[str, Any]:
        commit = self.commits.get(sha)
        assert commit is not None, sha
        return public(commit)

    def set_branch(
        self, project: Mapping[str, Any], name: str, sha: str, *, emit: bool = True
    ) -> dict[str, Any]:
        key = f"{project['id']}:{name}"
        before = self.branches.get(key)
        data = {
            "_key": key,
            "_project_id": project["id"],
            "name": name,
            "merged": False,
            "protected": self.protected_rule(project, name) is not None,
            "default": project["default_branch"] == name,
            "developers_can_push": False,
            "developers_can_merge": False,
            "can_push": True,
            "web_url": f"{project['web_url']}/-/tree/{name}",
            "commit": self._commit_summary(sha),
        }
        branch = self.branches.insert(data) if before is None else self.branches.update(key, data)
        if emit:
            old = before["commit"]["id"] if before else "0" * 40
            self.emit_push(project, f"refs/heads/{name}", old, sha)
        return branch

    def set_tag(
        self, project: Mapping[str, Any], name: str, sha: str, *, message: str = ""
    ) -> dict[str, Any]:
        key = f"{project['id']}:{name}"
        data = {
            "_key": key,
            "_project_id": project["id"],
            "name": name,
            "message": message,
            "target": sha,
            "commit": self._commit_summary(sha),
            "release": None,
            "protected": False,
            "created_at": self.now(),
        }
        if key in self.tags:
            return self.tags.update(key, data)
        tag = self.tags.insert(data)
        self.emit_push(project, f"refs/tags/{name}", "0" * 40, sha)
        return tag

    def delete_ref(self, project: Mapping[str, Any], full: str) -> bool:
        kind, _, name = full.removeprefix("refs/").partition("/")
        coll = self.branches if kind == "heads" else self.tags
        gone = coll.delete(f"{project['id']}:{name}")
        if gone is not None:
            self.emit_push(project, full, gone["commit"]["id"], "0" * 40)
        return gone is not None

    def push(self, project: Mapping[str, Any], branch: str, message: str) -> dict[str, Any]:
        """A new commit on ``branch`` (the branch must exist)."""
        current = self.branch(project, branch)
        parents = [current["commit"]["id"]] if current else []
        commit = self.add_commit(project, message, parents=parents)
        self.set_branch(project, branch, commit["id"])
        self.touch_project(project)
        return commit

    # -- issues ---------------------------------------------------------------------

    def next_iid(self, project: Mapping[str, Any], kind: str) -> int:
        return self.next_id(f"{kind}_iid:{project['id']}")

    def label_objects(self, project: Mapping[str, Any], names: Iterable[str]) -> list[Any]:
        wanted = list(names)
        found = {lbl["name"]: lbl for lbl in self.labels if lbl["_project_id"] == project["id"]}
        return [public(found[n]) for n in wanted if n in found]

    def milestone_summary(self, milestone_id: int | None) -> dict[str, Any] | None:
        if milestone_id is None:
            return None
        ms = self.milestones.get(milestone_id)
        return None if ms is None else public(ms)

    def add_label(
        self,
        project: Mapping[str, Any],
        name: str,
        color: str,
        description: str | None = None,
    ) -> dict[str, Any]:
        return self.labels.insert(
            {
                "id": self.next_id("label"),
                "name": name,
                "color": color if color.startswith("#") else f"#{color}",
                "text_color": "#FFFFFF",
                "description": description,
                "description_html": description or "",
                "open_issues_count": 0,
                "closed_issues_count": 0,
                "open_merge_requests_count": 0,
                "subscribed": False,
                "priority": None,
                "is_project_label": True,
                "_project_id": project["id"],
            }
        )

    def add_milestone(
        self,
        project: Mapping[str, Any],
        title: str,
        *,
        description: str | None = None,
        due_date: str | None = None,
        closed: bool = False,
    ) -> dict[str, Any]:
        iid = self.next_iid(project, "milestone")
        return self.milestones.insert(
            {
                "id": self.next_id("milestone", start=400),
                "iid": iid,
                "project_id": project["id"],
                "title": title,
                "description": description,
                "state": "closed" if closed else "active",
                "due_date": due_date,
                "start_date": None,
                "expired": False,
                "web_url": f"{project['web_url']}/-/milestones/{iid}",
            }
        )

    def add_issue(
        self,
        project: Mapping[str, Any],
        *,
        title: str,
        description: str | None,
        author_id: int,
        labels: list[str] | None = None,
        assignee_ids: list[int] | None = None,
        milestone_id: int | None = None,
        confidential: bool = False,
        emit: bool = True,
    ) -> dict[str, Any]:
        iid = self.next_iid(project, "issue")
        gid = self.next_id("issue_id", start=1000)
        web = f"{project['web_url']}/-/issues/{iid}"
        api = f"{self.app.project_api(project)}/issues/{iid}"
        assignees = [self.user(u) for u in assignee_ids or []]
        issue = self.issues.insert(
            {
                "id": gid,
                "iid": iid,
                "project_id": project["id"],
                "title": title,
                "description": description,
                "state": "opened",
                "closed_at": None,
                "closed_by": None,
                "labels": list(labels or []),
                "milestone": self.milestone_summary(milestone_id),
                "assignees": assignees,
                "assignee": assignees[0] if assignees else None,
                "author": self.user(author_id),
                "type": "ISSUE",
                "issue_type": "issue",
                "user_notes_count": 0,
                "merge_requests_count": 0,
                "upvotes": 0,
                "downvotes": 0,
                "due_date": None,
                "confidential": confidential,
                "discussion_locked": None,
                "web_url": web,
                "time_stats": {
                    "time_estimate": 0,
                    "total_time_spent": 0,
                    "human_time_estimate": None,
                    "human_total_time_spent": None,
                },
                "task_completion_status": {"count": 0, "completed_count": 0},
                "has_tasks": False,
                "severity": "UNKNOWN",
                "moved_to_id": None,
                "service_desk_reply_to": None,
                "references": {
                    "short": f"#{iid}",
                    "relative": f"#{iid}",
                    "full": f"{project['path_with_namespace']}#{iid}",
                },
                "_links": {
                    "self": api,
                    "notes": f"{api}/notes",
                    "award_emoji": f"{api}/award_emoji",
                    "project": self.app.project_api(project),
                    "closed_as_duplicate_of": None,
                },
            }
        )
        self._by_iid[("issue", project["id"], iid)] = gid
        if emit:
            self.emit_issue(issue, "open", actor_id=author_id)
        return issue

    def _by_number(self, kind: str, project: Mapping[str, Any], iid: Any) -> dict[str, Any] | None:
        text = str(iid)
        if not text.isdigit():
            return None
        found = self._by_iid.get((kind, project["id"], int(text)))
        if found is None:
            return None
        coll = self.issues if kind == "issue" else self.merge_requests
        return coll.get(found)

    def issue_by_iid(self, project: Mapping[str, Any], iid: Any) -> dict[str, Any] | None:
        return self._by_number("issue", project, iid)

    def update_issue(
        self, issue: Mapping[str, Any], changes: Mapping[str, Any], *, actor_id: int
    ) -> dict[str, Any]:
        before = dict(issue)
        updated = self.issues.update(issue["id"], changes)
        if updated == before:
            return updated
        action = "update"
        if before["state"] != updated["state"]:
            action = "close" if updated["state"] == "closed" else "reopen"
            self.add_resource_event(
                self.state_events, updated, actor_id, state=updated["state"], kind="Issue"
            )
        for name in set(updated["labels"]) ^ set(before["labels"]):
            lbl = self.label_objects({"id": updated["project_id"]}, [name])
            if lbl:
                self.add_resource_event(
                    self.label_events,
                    updated,
                    actor_id,
                    label=lbl[0],
                    action="add" if name in updated["labels"] else "remove",
                    kind="Issue",
                )
        if (before.get("milestone") or {}).get("id") != (updated.get("milestone") or {}).get("id"):
            ms = updated.get("milestone") or before.get("milestone")
            self.add_resource_event(
                self.milestone_events,
                updated,
                actor_id,
                milestone=ms,
                action="add" if updated.get("milestone") else "remove",
                kind="Issue",
            )
        changed = {
            k: {"previous": before.get(k), "current": updated.get(k)}
            for k in ("title", "description", "labels", "state", "assignees", "updated_at")
            if before.get(k) != updated.get(k)
        }
        self.emit_issue(updated, action, actor_id=actor_id, changes=changed)
        return updated

    def add_resource_event(
        self,
        coll: Collection,
        resource: Mapping[str, Any],
        actor_id: int,
        *,
        kind: str,
        **fields: Any,
    ) -> dict[str, Any]:
        return coll.insert(
            {
                "id": self.next_id(f"event:{coll.name}"),
                "user": self.user(actor_id),
                "created_at": self.now(),
                "resource_type": kind,
                "resource_id": resource["id"],
                **fields,
            }
        )

    def add_note(
        self,
        project: Mapping[str, Any],
        parent: Mapping[str, Any],
        *,
        noteable_type: str,
        body: str,
        author_id: int,
        system: bool = False,
        reply_to: Mapping[str, Any] | None = None,
        emit: bool = True,
    ) -> dict[str, Any]:
        """A note on an issue or merge request; ``reply_to`` a note puts it in that thread."""
        note_id = self.next_id("note", start=5000)
        thread = reply_to["_discussion"] if reply_to else sha_of("discussion", note_id)
        note = self.notes.insert(
            {
                "id": note_id,
                "type": "DiscussionNote" if reply_to else None,
                "_discussion": thread,
                "body": body,
                "attachment": None,
                "author": self.user(author_id),
                "system": system,
                "noteable_id": parent["id"],
                "noteable_type": noteable_type,
                "noteable_iid": parent["iid"],
                "project_id": project["id"],
                "resolvable": False,
                "confidential": bool(parent.get("confidential")),
                "internal": False,
                "commands_changes": {},
            }
        )
        self._notes_of.setdefault((noteable_type, parent["id"]), []).append(note["id"])
        coll = self.issues if noteable_type == "Issue" else self.merge_requests
        if not system:
            coll.update(
                parent["id"],
                user_notes_count=(parent.get("user_notes_count") or 0) + 1,
            )
        if emit:
            self.emit_note(project, note, parent)
        return note

    def update_note(self, note: Mapping[str, Any], body: str) -> dict[str, Any]:
        updated = self.notes.update(note["id"], body=body)
        project = self.projects.get(note["project_id"])
        coll = self.issues if note["noteable_type"] == "Issue" else self.merge_requests
        parent = coll.get(note["noteable_id"])
        if project and parent and updated != note:
            coll.update(parent["id"], updated_at=self.now())  # a note touches its parent
            self.emit_note(project, updated, parent, action="update")
        return updated

    def discussions_of(self, parent: Mapping[str, Any], noteable_type: str) -> list[dict[str, Any]]:
        """The parent's notes grouped in threads, in order of their first note."""
        threads: dict[str, list[dict[str, Any]]] = {}
        for note in self.notes_of(parent, noteable_type):
            threads.setdefault(note["_discussion"], []).append(public(note))
        return [
            {
                "id": thread,
                "individual_note": len(notes) == 1 and notes[0]["type"] is None,
                "notes": notes,
            }
            for thread, notes in threads.items()
        ]

    def notes_of(self, parent: Mapping[str, Any], noteable_type: str) -> list[Mapping[str, Any]]:
        found = (self.notes.get(i) for i in self._notes_of.get((noteable_type, parent["id"]), []))
        return [n for n in found if n is not None]

    # -- merge requests -------------------------------------------------------------

    def add_merge_request(
        self,
        project: Mapping[str, Any],
        *,
        title: str,
        description: str | None,
        source_branch: str,
        target_branch: str,
        author_id: int,
        draft: bool = False,
        labels: list[str] | None = None,
        emit: bool = True,
    ) -> dict[str, Any]:
        iid = self.next_iid(project, "mr")
        gid = self.next_id("mr_id", start=20000)
        source = self.branch(project, source_branch)
        target = self.branch(project, target_branch)
        head = source["commit"]["id"] if source else None
        base = target["commit"]["id"] if target else None
        api = f"{self.app.project_api(project)}/merge_requests/{iid}"
        mr = self.merge_requests.insert(
            {
                "id": gid,
                "iid": iid,
                "project_id": project["id"],
                "title": f"Draft: {title}" if draft and not title.startswith("Draft:") else title,
                "description": description,
                "state": "opened",
                "merged_by": None,
                "merge_user": None,
                "merged_at": None,
                "closed_by": None,
                "closed_at": None,
                "target_branch": target_branch,
                "source_branch": source_branch,
                "user_notes_count": 0,
                "upvotes": 0,
                "downvotes": 0,
                "author": self.user(author_id),
                "assignees": [],
                "assignee": None,
                "reviewers": [],
                "source_project_id": project["id"],
                "target_project_id": project["id"],
                "labels": list(labels or []),
                "draft": draft,
                "work_in_progress": draft,
                "milestone": None,
                "merge_when_pipeline_succeeds": False,
                "merge_status": "can_be_merged",
                "detailed_merge_status": "draft_status" if draft else "mergeable",
                "sha": head,
                "merge_commit_sha": None,
                "squash_commit_sha": None,
                "discussion_locked": None,
                "should_remove_source_branch": None,
                "force_remove_source_branch": True,
                "reference": f"!{iid}",
                "references": {
                    "short": f"!{iid}",
                    "relative": f"!{iid}",
                    "full": f"{project['path_with_namespace']}!{iid}",
                },
                "web_url": f"{project['web_url']}/-/merge_requests/{iid}",
                "time_stats": {"time_estimate": 0, "total_time_spent": 0},
                "squash": False,
                "task_completion_status": {"count": 0, "completed_count": 0},
                "has_conflicts": False,
                "blocking_discussions_resolved": True,
                "diff_refs": {"base_sha": base, "head_sha": head, "start_sha": base},
                "_links": {"self": api},
                "_approved_by": [],
            }
        )
        self._by_iid[("mr", project["id"], iid)] = gid
        if emit:
            self.emit_merge_request(mr, "open", actor_id=author_id)
        return mr

    def mr_by_iid(self, project: Mapping[str, Any], iid: Any) -> dict[str, Any] | None:
        return self._by_number("mr", project, iid)

    def update_merge_request(
        self,
        mr: Mapping[str, Any],
        changes: Mapping[str, Any],
        *,
        actor_id: int,
        action: str = "update",
    ) -> dict[str, Any]:
        before = dict(mr)
        updated = self.merge_requests.update(mr["id"], changes)
        if updated != before:
            if before["state"] != updated["state"] and action == "update":
                action = {"closed": "close", "opened": "reopen", "merged": "merge"}.get(
                    updated["state"], "update"
                )
            changed = {
                k: {"previous": before.get(k), "current": updated.get(k)}
                for k in ("title", "description", "state", "draft", "updated_at")
                if before.get(k) != updated.get(k)
            }
            self.emit_merge_request(updated, action, actor_id=actor_id, changes=changed)
        return updated

    def approve(self, mr: Mapping[str, Any], user_id: int) -> dict[str, Any]:
        approvals = list(mr.get("_approved_by") or [])
        if any(a["user_id"] == user_id for a in approvals):
            return dict(mr)
        approvals.append({"user_id": user_id, "approved_at": self.now()})
        updated = self.merge_requests.update(mr["id"], _approved_by=approvals)
        self.emit_merge_request(updated, "approved", actor_id=user_id)
        return updated

    def unapprove(self, mr: Mapping[str, Any], user_id: int) -> dict[str, Any]:
        approvals = [a for a in mr.get("_approved_by") or [] if a["user_id"] != user_id]
        if len(approvals) == len(mr.get("_approved_by") or []):
            return dict(mr)
        updated = self.merge_requests.update(mr["id"], _approved_by=approvals)
        self.emit_merge_request(updated, "unapproved", actor_id=user_id)
        return updated

    # -- CI ---------------------------------------------------------------------------

    def add_pipeline(
        self,
        project: Mapping[str, Any],
        *,
        ref: str,
        sha: str,
        status: str,
        source: str = "push",
        user_id: int = 1,
        emit: bool = True,
    ) -> dict[str, Any]:
        pid = self.next_id("pipeline", start=90000)
        iid = self.next_iid(project, "pipeline")
        now = self.now()
        finished = status in ("success", "failed", "canceled", "skipped")
        pipeline = self.pipelines.insert(
            {
                "id": pid,
                "iid": iid,
                "project_id": project["id"],
                "sha": sha,
                "ref": ref,
                "status": status,
                "source": source,
                "created_at": now,
                "updated_at": now,
                "web_url": f"{project['web_url']}/-/pipelines/{pid}",
                "before_sha": "0" * 40,
                "tag": False,
                "yaml_errors": None,
                "user": self.user(user_id),
                "started_at": None if status in ("created", "pending") else now,
                "finished_at": now if finished else None,
                "committed_at": None,
                "duration": 42 if finished else None,
                "queued_duration": 1.5,
                "coverage": None,
                "name": None,
                "detailed_status": self.detailed_status(status, f"/-/pipelines/{pid}", project),
            }
        )
        if emit:
            self.emit_pipeline(pipeline)
        return pipeline

    def detailed_status(self, status: str, path: str, project: Mapping[str, Any]) -> dict[str, Any]:
        text = {"success": "passed", "canceled": "canceled", "failed": "failed"}.get(status, status)
        return {
            "icon": f"status_{status}",
            "text": text,
            "label": text,
            "group": status,
            "tooltip": text,
            "has_details": True,
            "details_path": f"/{project['path_with_namespace']}{path}",
            "illustration": None,
            "favicon": f"/assets/ci_favicons/favicon_status_{status}.png",
        }

    def add_job(
        self,
        pipeline: Mapping[str, Any],
        *,
        name: str,
        stage: str,
        status: str,
        trace: str = "",
        bridge: bool = False,
        artifacts: list[dict[str, Any]] | None = None,
        allow_failure: bool = False,
        runner: Mapping[str, Any] | None = None,
        tags: list[str] | None = None,
        emit: bool = True,
    ) -> dict[str, Any]:
        project = self.projects.get(pipeline["project_id"])
        assert project is not None
        jid = self.next_id("job", start=700000)
        now = self.now()
        finished = status in ("success", "failed", "canceled", "skipped")
        commit = self.commits.get(pipeline["sha"])
        job: dict[str, Any] = {
            "id": jid,
            "status": status,
            "stage": stage,
            "name": name,
            "ref": pipeline["ref"],
            "tag": False,
            "coverage": None,
            "allow_failure": allow_failure,
            "created_at": now,
            "started_at": None if status in ("created", "pending", "manual") else now,
            "finished_at": now if finished else None,
            "erased_at": None,
            "duration": 12.5 if finished else None,
            "queued_duration": 0.4,
            "user": pipeline["user"],
            "commit": public(commit) if commit else {"id": pipeline["sha"]},
            "pipeline": {
                k: pipeline[k]
                for k in (
                    "id",
                    "iid",
                    "project_id",
                    "ref",
                    "sha",
                    "status",
                    "source",
                    "created_at",
                    "updated_at",
                    "web_url",
                )
            },
            "web_url": f"{project['web_url']}/-/jobs/{jid}",
            "project": {"ci_job_token_scope_enabled": False},
            "archived": False,
            "_project_id": project["id"],
            "_kind": "bridge" if bridge else "job",
        }
        if bridge:
            job["downstream_pipeline"] = None
        else:
            files = list(artifacts or [])
            if trace:
                files.append(
                    {
                        "file_type": "trace",
                        "size": len(trace.encode()),
                        "filename": "job.log",
                        "file_format": None,
                    }
                )
            job.update(
                {
                    "artifacts_file": (
                        {"filename": files[0]["filename"], "size": files[0]["size"]}
                        if files and files[0]["file_type"] == "archive"
                        else None
                    ),
                    "artifacts": files,
                    "artifacts_expire_at": None,
                    "runner": public(runner) if runner else None,
                    "runner_manager": None,
                    "tag_list": list(tags or []),
                    "failure_reason": "script_failure" if status == "failed" else None,
                    "_trace": trace,
                }
            )
            if not finished:
                job.pop("failure_reason")
        stored = self.jobs.insert(job)
        if emit and not bridge:
            self.emit_job(stored)
        return stored

    def jobs_of(self, pipeline_id: int, kind: str = "job") -> list[Mapping[str, Any]]:
        return [
            j
            for j in self.jobs.peek(lambda j: j["pipeline"]["id"] == pipeline_id)
            if j["_kind"] == kind
        ]

    def set_pipeline_status(self, pipeline: Mapping[str, Any], status: str) -> dict[str, Any]:
        project = self.projects.get(pipeline["project_id"])
        assert project is not None
        now = self.now()
        finished = status in ("success", "failed", "canceled", "skipped")
        updated = self.pipelines.update(
            pipeline["id"],
            status=status,
            finished_at=now if finished else None,
            started_at=pipeline.get("started_at") or now,
            detailed_status=self.detailed_status(status, f"/-/pipelines/{pipeline['id']}", project),
        )
        self.emit_pipeline(updated)
        return updated

    def add_runner(
        self,
        description: str,
        *,
        project_ids: list[int],
        tags: list[str],
        status: str = "online",
        shared: bool = False,
    ) -> dict[str, Any]:
        rid = self.next_id("runner", start=60)
        return self.runners.insert(
            {
                "id": rid,
                "description": description,
                "ip_address": None,
                "active": status != "paused",
                "paused": False,
                "is_shared": shared,
                "runner_type": "instance_type" if shared else "project_type",
                "name": "gitlab-runner",
                "online": status == "online",
                "status": status,
                "tag_list": tags,
                "run_untagged": not tags,
                "locked": False,
                "maximum_timeout": None,
                "access_level": "not_protected",
                "version": "17.5.0",
                "revision": "12030cf4",
                "platform": "linux",
                "architecture": "amd64",
                "contacted_at": None if status == "never_contacted" else self.now(),
                "maintenance_note": None,
                "projects": [],
                "groups": [],
                "_project_ids": project_ids,
            }
        )

    def set_status(
        self,
        project: Mapping[str, Any],
        sha: str,
        *,
        name: str,
        state: str,
        ref: str | None,
        target_url: str | None,
        description: str | None,
        author_id: int,
    ) -> dict[str, Any]:
        now = self.now()
        existing = next(
            (
                s
                for s in self.statuses
                if s["_project_id"] == project["id"] and s["sha"] == sha and s["name"] == name
            ),
            None,
        )
        fields = {
            "status": state,
            "target_url": target_url,
            "description": description,
            "started_at": now if state != "pending" else None,
            "finished_at": now if state in ("success", "failed", "canceled", "skipped") else None,
        }
        if existing is not None:
            if ref is not None:
                fields["ref"] = ref
            return self.statuses.update(existing["id"], fields)
        return self.statuses.insert(
            {
                "id": self.next_id("status", start=300000),
                "sha": sha,
                "ref": ref,
                "name": name,
                "created_at": now,
                "allow_failure": False,
                "coverage": None,
                "author": self.user(author_id),
                "pipeline_id": None,
                "_project_id": project["id"],
                **fields,
            }
        )

    # -- administration -------------------------------------------------------------

    def protect(
        self,
        project: Mapping[str, Any],
        name: str,
        *,
        push: int = 40,
        merge: int = 40,
        allow_force_push: bool = False,
        code_owners: bool = False,
    ) -> dict[str, Any]:
        rid = self.next_id("protected_branch")

        def levels(level: int, n: int) -> list[dict[str, Any]]:
            return [
                {
                    "id": rid * 10 + n,
                    "access_level": level,
                    "access_level_description": ACCESS_NAMES.get(level, "Maintainers"),
                    "deploy_key_id": None,
                    "user_id": None,
                    "group_id": None,
                }
            ]

        rule = self.protected.insert(
            {
                "id": rid,
                "name": name,
                "push_access_levels": levels(push, 1),
                "merge_access_levels": levels(merge, 2),
                "unprotect_access_levels": [],
                "allow_force_push": allow_force_push,
                "code_owner_approval_required": code_owners,
                "inherited": False,
                "_project_id": project["id"],
            }
        )
        branch = self.branch(project, name)
        if branch is not None:
            self.branches.update(branch["_key"], protected=True)
        return rule

    def add_approval_rule(
        self,
        project: Mapping[str, Any],
        name: str,
        approvals_required: int,
        protected_branch_ids: list[int],
    ) -> dict[str, Any]:
        branches = [public(r) for r in self.protected if r["id"] in protected_branch_ids]
        return self.approval_rules.insert(
            {
                "id": self.next_id("approval_rule"),
                "name": name,
                "rule_type": "regular",
                "report_type": None,
                "eligible_approvers": [],
                "approvals_required": approvals_required,
                "users": [],
                "groups": [],
                "contains_hidden_groups": False,
                "protected_branches": branches,
                "applies_to_all_protected_branches": not branches,
                "_project_id": project["id"],
            }
        )

    def add_deploy_key(
        self, project: Mapping[str, Any], title: str, key: str, *, can_push: bool = False
    ) -> dict[str, Any]:
        digest = hashlib.sha256(key.encode()).hexdigest()
        return self.deploy_keys.insert(
            {
                "id": self.next_id("deploy_key"),
                "title": title,
                "key": key,
                "fingerprint": hashlib.md5(key.encode()).hexdigest(),  # noqa: S324
                "fingerprint_sha256": f"SHA256:{digest[:43]}",
                "created_at": self.now(),
                "expires_at": None,
                "can_push": can_push,
                "_project_id": project["id"],
            }
        )

    def add_member(
        self, project: Mapping[str, Any], user_id: int, access_level: int
    ) -> dict[str, Any]:
        user = self.user(user_id)
        return self.members.insert(
            {
                **user,
                "_key": f"{project['id']}:{user_id}",
                "_project_id": project["id"],
                "access_level": access_level,
                "created_at": self.now(),
                "created_by": self.user(self.viewer_id) if user_id != self.viewer_id else None,
                "expires_at": None,
                "membership_state": "active",
            }
        )

    def add_hook(
        self,
        project: Mapping[str, Any],
        url: str,
        token: str,
        flags: Mapping[str, Any],
        *,
        app: Any = None,
    ) -> dict[str, Any]:
        """A project hook; ``app`` (an ASGI receiver) takes its deliveries in process."""
        values = {flag: _flag(flags, flag, flag == "push_events") for flag in HOOK_FLAGS}
        subscription = self.app.webhooks.subscribe(url, token, events=events_of(values), app=app)
        return self.hooks.insert(
            {
                "id": self.next_id("hook"),
                "url": url,
                "name": flags.get("name"),
                "description": flags.get("description"),
                "project_id": project["id"],
                **values,
                "wiki_page_events": False,
                "deployment_events": False,
                "enable_ssl_verification": _flag(flags, "enable_ssl_verification", True),
                "alert_status": "executable",
                "created_at": self.now(),
                "_subscription": subscription.id,
            }
        )

    def update_hook(self, hook: Mapping[str, Any], flags: Mapping[str, Any]) -> dict[str, Any]:
        changes: dict[str, Any] = {
            flag: _flag(flags, flag, bool(hook[flag])) for flag in HOOK_FLAGS
        }
        if flags.get("url"):
            changes["url"] = flags["url"]
        for sub in self.app.webhooks.subscriptions:
            if sub.id == hook["_subscription"]:
                sub.url = str(changes.get("url", hook["url"]))
                sub.events = frozenset(events_of(changes))
                if "token" in flags:
                    sub.secret = Secret(str(flags["token"] or ""))
        return self.hooks.update(hook["id"], changes)

    # -- webhooks -------------------------------------------------------------------------

    def _emit(self, project_id: int, event: str, payload: Mapping[str, Any]) -> None:
        wanted = {h["_subscription"] for h in self.hooks if h["project_id"] == project_id}
        if not wanted:
            return
        emitter = self.app.webhooks
        saved = emitter.subscriptions
        emitter.subscriptions = [s for s in saved if s.id in wanted]
        try:
            emitter.emit(event, payload)
        finally:
            emitter.subscriptions = saved

    def _project_hook_view(self, project: Mapping[str, Any]) -> dict[str, Any]:
        return {
            "id": project["id"],
            "name": project["name"],
            "description": project["description"],
            "web_url": project["web_url"],
            "avatar_url": None,
            "git_ssh_url": project["ssh_url_to_repo"],
            "git_http_url": project["http_url_to_repo"],
            "namespace": project["namespace"]["name"],
            "visibility_level": 0,
            "path_with_namespace": project["path_with_namespace"],
            "default_branch": project["default_branch"],
            "ci_config_path": None,
            "homepage": project["web_url"],
            "url": project["ssh_url_to_repo"],
            "ssh_url": project["ssh_url_to_repo"],
            "http_url": project["http_url_to_repo"],
        }

    def _repository_view(self, project: Mapping[str, Any]) -> dict[str, Any]:
        return {
            "name": project["name"],
            "url": project["ssh_url_to_repo"],
            "description": project["description"],
            "homepage": project["web_url"],
            "git_http_url": project["http_url_to_repo"],
            "git_ssh_url": project["ssh_url_to_repo"],
            "visibility_level": 0,
        }

    def _hook_user(self, user_id: int) -> dict[str, Any]:
        user = self.user(user_id)
        return {
            "id": user["id"],
            "name": user["name"],
            "username": user["username"],
            "avatar_url": user["avatar_url"],
            "email": "[REDACTED]",
        }

    @staticmethod
    def _hook_time(value: str | None) -> str | None:
        # Hooks write times as "2024-01-02 03:04:05 UTC".
        if value is None:
            return None
        return value[:19].replace("T", " ") + " UTC"

    def emit_issue(
        self,
        issue: Mapping[str, Any],
        action: str,
        *,
        actor_id: int,
        changes: Mapping[str, Any] | None = None,
    ) -> None:
        project = self.projects.get(issue["project_id"])
        if project is None:
            return
        attrs = {
            "id": issue["id"],
            "iid": issue["iid"],
            "title": issue["title"],
            "description": issue["description"],
            "state": issue["state"],
            "project_id": issue["project_id"],
            "author_id": issue["author"]["id"],
            "assignee_ids": [a["id"] for a in issue["assignees"]],
            "assignee_id": issue["assignees"][0]["id"] if issue["assignees"] else None,
            "milestone_id": (issue.get("milestone") or {}).get("id"),
            "confidential": issue["confidential"],
            "discussion_locked": issue["discussion_locked"],
            "due_date": issue["due_date"],
            "created_at": self._hook_time(issue["created_at"]),
            "updated_at": self._hook_time(issue["updated_at"]),
            "closed_at": self._hook_time(issue["closed_at"]),
            "labels": self.label_objects(project, issue["labels"]),
            "url": issue["web_url"],
            "action": action,
        }
        payload = {
            "object_kind": "issue",
            "event_type": "confidential_issue" if issue["confidential"] else "issue",
            "user": self._hook_user(actor_id),
            "project": self._project_hook_view(project),
            "object_attributes": attrs,
            "repository": self._repository_view(project),
            "assignees": [self._hook_user(a["id"]) for a in issue["assignees"]],
            "labels": attrs["labels"],
            "changes": dict(changes or {}),
        }
        event = "Confidential Issue Hook" if issue["confidential"] else "Issue Hook"
        self._emit(project["id"], event, payload)

    def emit_note(
        self,
        project: Mapping[str, Any],
        note: Mapping[str, Any],
        parent: Mapping[str, Any],
        *,
        action: str = "create",
    ) -> None:
        is_issue = note["noteable_type"] == "Issue"
        attrs = {
            "id": note["id"],
            "note": note["body"],
            "noteable_type": note["noteable_type"],
            "author_id": note["author"]["id"],
            "created_at": self._hook_time(note["created_at"]),
            "updated_at": self._hook_time(note["updated_at"]),
            "project_id": project["id"],
            "attachment": None,
            "line_code": None,
            "commit_id": "",
            "noteable_id": parent["id"],
            "system": note["system"],
            "st_diff": None,
            "url": f"{parent['web_url']}#note_{note['id']}",
            "action": action,
        }
        parent_view = {
            k: v for k, v in parent.items() if not k.startswith("_") and k not in ("_links",)
        }
        payload = {
            "object_kind": "note",
            "event_type": "confidential_note" if note["confidential"] else "note",
            "user": self._hook_user(note["author"]["id"]),
            "project_id": project["id"],
            "project": self._project_hook_view(project),
            "object_attributes": attrs,
            "repository": self._repository_view(project),
            ("issue" if is_issue else "merge_request"): parent_view,
        }
        event = "Confidential Note Hook" if note["confidential"] else "Note Hook"
        self._emit(project["id"], event, payload)

    def emit_merge_request(
        self,
        mr: Mapping[str, Any],
        action: str,
        *,
        actor_id: int,
        changes: Mapping[str, Any] | None = None,
    ) -> None:
        project = self.projects.get(mr["project_id"])
        if project is None:
            return
        commit = self.commits.get(mr["sha"]) if mr.get("sha") else None
        attrs = {
            "id": mr["id"],
            "iid": mr["iid"],
            "target_branch": mr["target_branch"],
            "source_branch": mr["source_branch"],
            "source_project_id": mr["source_project_id"],
            "target_project_id": mr["target_project_id"],
            "author_id": mr["author"]["id"],
            "assignee_ids": [a["id"] for a in mr["assignees"]],
            "reviewer_ids": [r["id"] for r in mr["reviewers"]],
            "title": mr["title"],
            "description": mr["description"],
            "state": mr["state"],
            "draft": mr["draft"],
            "work_in_progress": mr["draft"],
            "merge_status": mr["merge_status"],
            "detailed_merge_status": mr["detailed_merge_status"],
            "merge_commit_sha": mr["merge_commit_sha"],
            "created_at": self._hook_time(mr["created_at"]),
            "updated_at": self._hook_time(mr["updated_at"]),
            "url": mr["web_url"],
            "source": self._project_hook_view(project),
            "target": self._project_hook_view(project),
            "last_commit": (
                {
                    "id": commit["id"],
                    "message": commit["message"],
                    "title": commit["title"],
                    "timestamp": commit["committed_date"],
                    "url": commit["web_url"],
                    "author": {"name": commit["author_name"], "email": commit["author_email"]},
                }
                if commit
                else None
            ),
            "labels": self.label_objects(project, mr["labels"]),
            "action": action,
        }
        payload = {
            "object_kind": "merge_request",
            "event_type": "merge_request",
            "user": self._hook_user(actor_id),
            "project": self._project_hook_view(project),
            "object_attributes": attrs,
            "repository": self._repository_view(project),
            "labels": attrs["labels"],
            "assignees": [self._hook_user(a["id"]) for a in mr["assignees"]],
            "reviewers": [self._hook_user(r["id"]) for r in mr["reviewers"]],
            "changes": dict(changes or {}),
        }
        self._emit(project["id"], "Merge Request Hook", payload)

    def emit_push(self, project: Mapping[str, Any], full: str, before: str, after: str) -> None:
        user = self.user(self.viewer_id)
        commits = []
        if after != "0" * 40:
            commit = self.commits.get(after)
            if commit is not None:
                commits.append(
                    {
                        "id": commit["id"],
                        "message": commit["message"],
                        "title": commit["title"],
                        "timestamp": commit["committed_date"],
                        "url": commit["web_url"],
                        "author": {"name": commit["author_name"], "email": commit["author_email"]},
                        "added": [],
                        "modified": [],
                        "removed": [],
                    }
                )
        tag = full.startswith("refs/tags/")
        payload = {
            "object_kind": "tag_push" if tag else "push",
            "event_name": "tag_push" if tag else "push",
            "before": before,
            "after": after,
            "ref": full,
            "ref_protected": False,
            "checkout_sha": None if after == "0" * 40 else after,
            "user_id": user["id"],
            "user_name": user["name"],
            "user_username": user["username"],
            "user_email": "",
            "user_avatar": user["avatar_url"],
            "project_id": project["id"],
            "project": self._project_hook_view(project),
            "commits": commits,
            "total_commits_count": len(commits),
            "repository": self._repository_view(project),
        }
        self._emit(project["id"], "Tag Push Hook" if tag else "Push Hook", payload)

    def emit_pipeline(self, pipeline: Mapping[str, Any]) -> None:
        project = self.projects.get(pipeline["project_id"])
        if project is None:
            return
        jobs = self.jobs_of(pipeline["id"])
        payload = {
            "object_kind": "pipeline",
            "object_attributes": {
                "id": pipeline["id"],
                "iid": pipeline["iid"],
                "name": pipeline["name"],
                "ref": pipeline["ref"],
                "tag": pipeline["tag"],
                "sha": pipeline["sha"],
                "before_sha": pipeline["before_sha"],
                "source": pipeline["source"],
                "status": pipeline["status"],
                "detailed_status": pipeline["detailed_status"]["text"],
                "stages": sorted({j["stage"] for j in jobs}),
                "created_at": self._hook_time(pipeline["created_at"]),
                "finished_at": self._hook_time(pipeline["finished_at"]),
                "duration": pipeline["duration"],
                "queued_duration": pipeline["queued_duration"],
                "variables": [],
                "url": pipeline["web_url"],
            },
            "merge_request": None,
            "user": self._hook_user(pipeline["user"]["id"]),
            "project": self._project_hook_view(project),
            "commit": None,
            "builds": [
                {
                    "id": j["id"],
                    "stage": j["stage"],
                    "name": j["name"],
                    "status": j["status"],
                    "created_at": self._hook_time(j["created_at"]),
                    "started_at": self._hook_time(j["started_at"]),
                    "finished_at": self._hook_time(j["finished_at"]),
                    "duration": j["duration"],
                    "queued_duration": j["queued_duration"],
                    "failure_reason": j.get("failure_reason"),
                    "when": "on_success",
                    "manual": j["status"] == "manual",
                    "allow_failure": j["allow_failure"],
                    "user": self._hook_user(pipeline["user"]["id"]),
                    "runner": j.get("runner"),
                    "artifacts_file": j.get("artifacts_file") or {"filename": None, "size": None},
                    "environment": None,
                }
                for j in jobs
            ],
        }
        self._emit(project["id"], "Pipeline Hook", payload)

    def emit_job(self, job: Mapping[str, Any]) -> None:
        project = self.projects.get(job["_project_id"])
        if project is None:
            return
        runner = job.get("runner")
        payload = {
            "object_kind": "build",
            "ref": job["ref"],
            "tag": job["tag"],
            "before_sha": "0" * 40,
            "sha": job["pipeline"]["sha"],
            "build_id": job["id"],
            "build_name": job["name"],
            "build_stage": job["stage"],
            "build_status": job["status"],
            "build_created_at": self._hook_time(job["created_at"]),
            "build_started_at": self._hook_time(job["started_at"]),
            "build_finished_at": self._hook_time(job["finished_at"]),
            "build_duration": job["duration"],
            "build_queued_duration": job["queued_duration"],
            "build_allow_failure": job["allow_failure"],
            "build_failure_reason": job.get("failure_reason") or "unknown_failure",
            "pipeline_id": job["pipeline"]["id"],
            "runner": (
                {
                    "id": runner["id"],
                    "description": runner["description"],
                    "runner_type": runner["runner_type"],
                    "active": runner["active"],
                    "is_shared": runner["is_shared"],
                    "tags": job.get("tag_list") or [],
                }
                if runner
                else None
            ),
            "project_id": project["id"],
            "project_name": project["name_with_namespace"],
            "user": self._hook_user(job["user"]["id"]),
            "commit": {
                "id": job["pipeline"]["id"],
                "name": None,
                "sha": job["pipeline"]["sha"],
                "message": job["commit"].get("message"),
                "author_name": job["commit"].get("author_name"),
                "author_email": job["commit"].get("author_email"),
                "status": job["pipeline"]["status"],
                "duration": None,
                "started_at": None,
                "finished_at": None,
            },
            "repository": self._repository_view(project),
            "environment": None,
        }
        self._emit(project["id"], "Job Hook", payload)
