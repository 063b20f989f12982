"""State changes shared by the REST handlers and the control API.

Each change updates the records, writes the issue events GitHub records and
emits the webhook GitHub would send, so a change made "on the site" (control)
and one made through the API look the same to an adapter.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from kradle_provider_github.emulator.state import fake_sha

if TYPE_CHECKING:
    from kradle_provider_github.emulator.app import GitHubEmulator

__all__ = ["Mutations"]


class Mutations:
    """Every write the emulator knows, with its issue events and webhooks."""

    def __init__(self, emulator: GitHubEmulator) -> None:
        self.em = emulator
        self.state = emulator.state

    def _emit(self, event: str, payload: Callable[[], Mapping[str, Any]]) -> None:
        # Payloads are built only when someone listens (seeding stays fast).
        if self.em.webhooks.subscriptions:
            self.em.webhooks.emit(event, payload())

    @property
    def _listening(self) -> bool:
        return bool(self.em.webhooks.subscriptions)

    @property
    def _hooks(self) -> Any:
        return self.em.payloads()

    # -- users and repositories ---------------------------------------------

    def create_user(self, login: str, *, type: str = "User", **attrs: Any) -> dict[str, Any]:
        """A user, organization or bot account."""
        uid = attrs.pop("id", None) or self.state.next_id("user", 1000)
        now = attrs.pop("created_at", None) or self.state.now()
        return self.state.users.insert(
            {"login": login, "type": type, "created_at": now, "updated_at": now, **attrs}, id=uid
        )

    def create_repo(self, owner: str, name: str, **attrs: Any) -> dict[str, Any]:
        """A repository with a ``main`` branch holding an initial commit."""
        now = attrs.pop("created_at", None) or self.state.now()
        record = self.state.repos.insert(
            {
                "owner": owner,
                "name": name,
                "full_name": f"{owner}/{name}",
                "private": bool(attrs.pop("private", False)),
                "default_branch": attrs.pop("default_branch", "main"),
                "description": attrs.pop("description", None),
                "homepage": attrs.pop("homepage", None),
                "topics": attrs.pop("topics", []),
                "language": attrs.pop("language", "Python"),
                "created_at": now,
                "updated_at": now,
                "pushed_at": now,
                **attrs,
            },
            id=self.state.next_id("repo", 700_000_000),
        )
        if attrs.get("auto_init", True):
            self.create_commit(
                record["id"], "Initial commit", owner, branch=record["default_branch"], when=now
            )
        return record

    def update_repo(self, repo: Mapping[str, Any], changes: Mapping[str, Any]) -> dict[str, Any]:
        """Change repository settings (a rename moves ``full_name``)."""
        fields = dict(changes)
        if "name" in fields:
            fields["full_name"] = f"{repo['owner']}/{fields['name']}"
        return self.state.repos.update(repo["id"], fields)

    # -- git ----------------------------------------------------------------

    def create_commit(
        self,
        repo_id: int,
        message: str,
        author: str,
        *,
        branch: str,
        when: str | None = None,
        emit: bool = True,
        file: str = "src/widgets/core.py",
    ) -> dict[str, Any]:
        """A commit on ``branch`` (created when missing); emits ``push``."""
        when = when or self.state.now()
        current = self.state.branch(repo_id, branch)
        parent = current["sha"] if current else None
        if parent is None:
            repo = self.state.repos.get(repo_id) or {}
            default = self.state.branch(repo_id, repo.get("default_branch", "main"))
            parent = default["sha"] if default else None
        cid = self.state.next_id("commit", 1)
        sha = fake_sha(repo_id, cid, message)
        commit = self.state.commits.insert(
            {
                "repo_id": repo_id,
                "sha": sha,
                "tree": fake_sha("tree", repo_id, cid),
                "message": message,
                "author": author,
                "date": when,
                "parents": [parent] if parent else [],
                "file": file,
            },
            id=cid,
        )
        if current is None:
            self.state.branches.insert(
                {"repo_id": repo_id, "name": branch, "sha": sha},
                id=self.state.next_id("ref", 1),
            )
        else:
            self.state.branches.update(current["id"], sha=sha)
        self.state.repos.update(repo_id, pushed_at=when)
        if emit:
            self._emit(
                "push",
                lambda: self._hooks.push(
                    repo_id,
                    f"refs/heads/{branch}",
                    parent or "0" * 40,
                    [commit],
                    author,
                    created=current is None,
                ),
            )
        return commit

    def create_tag(self, repo_id: int, name: str, sha: str) -> dict[str, Any]:
        """A lightweight tag."""
        return self.state.tags.insert(
            {"repo_id": repo_id, "name": name, "sha": sha}, id=self.state.next_id("ref", 1)
        )

    # -- labels and milestones ----------------------------------------------

    def create_label(
        self,
        repo_id: int,
        name: str,
        color: str = "ededed",
        description: str | None = None,
        *,
        sender: str | None = None,
        default: bool = False,
    ) -> dict[str, Any]:
        """A label; emits ``label.created``."""
        label = self.state.labels.insert(
            {
                "repo_id": repo_id,
                "name": name,
                "color": color.lstrip("#").lower(),
                "description": description,
                "default": default,
            },
            id=self.state.next_id("label", 4_000_000_000),
        )
        self._emit("label", lambda: self._hooks.label("created", label, sender))
        return label

    def update_label(
        self, label: Mapping[str, Any], changes: Mapping[str, Any], sender: str | None
    ) -> dict[str, Any]:
        """Rename/recolor/redescribe a label (issues follow a rename); ``label.edited``."""
        old_name = label["name"]
        updated = self.state.labels.update(label["id"], dict(changes))
        if updated["name"] != old_name:
            for issue in self.state.issues.filter(
                lambda i: i["repo_id"] == label["repo_id"] and old_name in i.get("labels", [])
            ):
                names = [updated["name"] if n == old_name else n for n in issue["labels"]]
                self.state.issues.update(issue["id"], labels=names, updated_at=issue["updated_at"])
        hook_changes = {
            key: {"from": label[key]}
            for key in ("name", "color", "description")
            if key in changes and changes[key] != label[key]
        }
        self._emit(
            "label", lambda: self._hooks.label("edited", updated, sender, changes=hook_changes)
        )
        return updated

    def delete_label(self, label: Mapping[str, Any], sender: str | None) -> None:
        """Delete a label and take it off every issue; ``label.deleted``."""
        payload = self._hooks.label("deleted", label, sender) if self._listening else {}
        for issue in self.state.issues.filter(
            lambda i: i["repo_id"] == label["repo_id"] and label["name"] in i.get("labels", [])
        ):
            names = [n for n in issue["labels"] if n != label["name"]]
            self.state.issues.update(issue["id"], labels=names, updated_at=issue["updated_at"])
        self.state.labels.delete(label["id"])
        self._emit("label", lambda: payload)

    def create_milestone(
        self, repo_id: int, title: str, *, sender: str | None = None, **attrs: Any
    ) -> dict[str, Any]:
        """A milestone; ``milestone.created``."""
        now = attrs.pop("created_at", None) or self.state.now()
        number = self.state.store.sequence(f"repo:{repo_id}:milestone")
        milestone = self.state.milestones.insert(
            {
                "repo_id": repo_id,
                "number": number,
                "title": title,
                "state": attrs.pop("state", "open"),
                "description": attrs.pop("description", None),
                "creator": sender,
                "due_on": attrs.pop("due_on", None),
                "closed_at": attrs.pop("closed_at", None),
                "created_at": now,
                "updated_at": attrs.pop("updated_at", now),
                **attrs,
            },
            id=self.state.next_id("milestone", 9_000_000),
        )
        self._emit("milestone", lambda: self._hooks.milestone("created", milestone, sender))
        return milestone

    # -- issues -------------------------------------------------------------

    def record_event(
        self, issue: Mapping[str, Any], event: str, actor: str | None, **extra: Any
    ) -> dict[str, Any]:
        """Write an issue event (what ``/issues/events`` lists)."""
        when = extra.pop("created_at", None) or self.state.now()
        return self.state.events.insert(
            {
                "repo_id": issue["repo_id"],
                "issue_number": issue["number"],
                "event": event,
                "actor": actor,
                "created_at": when,
                **extra,
            },
            id=self.state.next_id("event", 12_000_000_000),
        )

    def create_issue(
        self,
        repo_id: int,
        title: str,
        *,
        user: str,
        body: str | None = None,
        labels: list[str] | None = None,
        assignees: list[str] | None = None,
        milestone: int | None = None,
        is_pull: bool = False,
        created_at: str | None = None,
        emit: bool = True,
    ) -> dict[str, Any]:
        """An issue (or the issue half of a pull request); ``issues.opened``."""
        now = created_at or self.state.now()
        issue = self.state.issues.insert(
            {
                "repo_id": repo_id,
                "number": self.state.next_issue_number(repo_id),
                "title": title,
                "body": body,
                "user": user,
                "labels": list(labels or []),
                "assignees": list(assignees or []),
                "milestone": milestone,
                "state": "open",
                "state_reason": None,
                "locked": False,
                "comments": 0,
                "is_pull": is_pull,
                "closed_at": None,
                "closed_by": None,
                "created_at": now,
                "updated_at": now,
            },
            id=self.state.next_id("issue", 2_000_000_000),
        )
        if emit and not is_pull:
            self._emit("issues", lambda: self._hooks.issues("opened", issue, user))
        return issue

    def update_issue(
        self, issue: Mapping[str, Any], changes: Mapping[str, Any], sender: str | None
    ) -> dict[str, Any]:
        """Apply a PATCH: title/body/state/labels/assignees/milestone, with events and hooks."""
        fields: dict[str, Any] = {}
        events: list[tuple[str, dict[str, Any]]] = []
        hooks: list[tuple[str, dict[str, Any]]] = []
        edited: dict[str, Any] = {}
        for key in ("title", "body"):
            if key in changes and changes[key] != issue.get(key):
                fields[key] = changes[key]
                edited[key] = {"from": issue.get(key)}
                if key == "title":
                    events.append(
                        ("renamed", {"rename": {"from": issue["title"], "to": changes["title"]}})
                    )
        if "labels" in changes:
            new = list(dict.fromkeys(changes["labels"]))
            for name in new:
                if name not in issue["labels"]:
                    label = self.state.label(issue["repo_id"], name) or {}
                    events.append(
                        ("labeled", {"label": {"name": name, "color": label.get("color")}})
                    )
                    hooks.append(("labeled", {"label": self._label_hook(issue, name)}))
            for name in issue["labels"]:
                if name not in new:
                    label = self.state.label(issue["repo_id"], name) or {}
                    events.append(
                        ("unlabeled", {"label": {"name": name, "color": label.get("color")}})
                    )
            fields["labels"] = new
        if "assignees" in changes:
            new = list(dict.fromkeys(changes["assignees"]))
            for login in new:
                if login not in issue["assignees"]:
                    events.append(("assigned", {"assignee": login}))
                    hooks.append(("assigned", {"assignee": self._user_hook(login)}))
            for login in issue["assignees"]:
                if login not in new:
                    events.append(("unassigned", {"assignee": login}))
                    hooks.append(("unassigned", {"assignee": self._user_hook(login)}))
            fields["assignees"] = new
        if "milestone" in changes and changes["milestone"] != issue.get("milestone"):
            if changes["milestone"] is None:
                old = self.state.milestone(issue["repo_id"], issue["milestone"]) or {}
                events.append(("demilestoned", {"milestone": old.get("title", "")}))
            else:
                new_m = self.state.milestone(issue["repo_id"], changes["milestone"]) or {}
                events.append(("milestoned", {"milestone": new_m.get("title", "")}))
            fields["milestone"] = changes["milestone"]
        state = changes.get("state")
        if state is not None and state != issue["state"]:
            fields["state"] = state
            if state == "closed":
                reason = changes.get("state_reason") or "completed"
                fields.update(state_reason=reason, closed_at=self.state.now(), closed_by=sender)
                events.append(("closed", {"state_reason": reason}))
                hooks.append(("closed", {}))
            else:
                fields.update(state_reason="reopened", closed_at=None, closed_by=None)
                events.append(("reopened", {"state_reason": "reopened"}))
                hooks.append(("reopened", {}))
        elif "state_reason" in changes and issue["state"] == "closed":
            fields["state_reason"] = changes["state_reason"]
        if "locked" in changes:
            fields["locked"] = bool(changes["locked"])
        if "updated_at" in changes:
            fields["updated_at"] = changes["updated_at"]
        updated = self.state.issues.update(issue["id"], fields)
        for event, extra in events:
            self.record_event(updated, event, sender, **extra)
        if issue.get("is_pull"):
            pull = self.state.pull(issue["repo_id"], issue["number"])
            if pull is not None:
                self.state.pulls.update(pull["id"], updated_at=updated["updated_at"])
                fresh = self.state.pull(issue["repo_id"], issue["number"]) or pull
                for action, _ in hooks:
                    self._emit("pull_request", self._pull_hook(action, fresh, sender))
                if edited:
                    self._emit(
                        "pull_request",
                        lambda: self._hooks.pull_request("edited", fresh, sender, changes=edited),
                    )
            return updated
        if edited:
            self._emit(
                "issues", lambda: self._hooks.issues("edited", updated, sender, changes=edited)
            )
        for action, extra in hooks:
            self._emit("issues", self._issue_hook(action, updated, sender, extra))
        return updated

    def _issue_hook(
        self, action: str, issue: Mapping[str, Any], sender: str | None, extra: Mapping[str, Any]
    ) -> Callable[[], Mapping[str, Any]]:
        def build() -> Mapping[str, Any]:
            payload: Mapping[str, Any] = self._hooks.issues(action, issue, sender, extra=extra)
            return payload

        return build

    def _pull_hook(
        self, action: str, pull: Mapping[str, Any], sender: str | None
    ) -> Callable[[], Mapping[str, Any]]:
        def build() -> Mapping[str, Any]:
            payload: Mapping[str, Any] = self._hooks.pull_request(action, pull, sender)
            return payload

        return build

    def _label_hook(self, issue: Mapping[str, Any], name: str) -> dict[str, Any]:
        label = self.state.label(issue["repo_id"], name)
        return self.em.payloads().r.label(label) if label else {}

    def _user_hook(self, login: str) -> Any:
        user = self.em.payloads().r.user(login)
        return {k: v for k, v in (user or {}).items() if k != "user_view_type"} or None

    def create_comment(
        self,
        issue: Mapping[str, Any],
        body: str,
        *,
        user: str,
        created_at: str | None = None,
        updated_at: str | None = None,
        emit: bool = True,
    ) -> dict[str, Any]:
        """A comment on an issue or PR; bumps the issue; ``issue_comment.created``."""
        now = created_at or self.state.now()
        comment = self.state.comments.insert(
            {
                "repo_id": issue["repo_id"],
                "issue_id": issue["id"],
                "issue_number": issue["number"],
                "on_pull": issue.get("is_pull", False),
                "user": user,
                "body": body,
                "created_at": now,
                "updated_at": updated_at or now,
            },
            id=self.state.next_id("comment", 1_500_000_000),
        )
        bumped = max(issue["updated_at"], updated_at or now)
        updated_issue = self.state.issues.update(
            issue["id"], comments=issue.get("comments", 0) + 1, updated_at=bumped
        )
        if emit:
            self._emit(
                "issue_comment",
                lambda: self._hooks.issue_comment("created", comment, updated_issue, user),
            )
        return comment

    def update_comment(
        self, comment: Mapping[str, Any], body: str, sender: str | None
    ) -> dict[str, Any]:
        """Edit a comment's body; ``issue_comment.edited``."""
        updated = self.state.comments.update(comment["id"], body=body)
        issue = self.state.issue(comment["repo_id"], comment["issue_number"])
        if issue is not None and updated["body"] != comment["body"]:
            self._emit(
                "issue_comment",
                lambda: self._hooks.issue_comment(
                    "edited", updated, issue, sender, changes={"body": {"from": comment["body"]}}
                ),
            )
        return updated

    def delete_comment(self, comment: Mapping[str, Any], sender: str | None) -> None:
        """Delete a comment; ``issue_comment.deleted``."""
        issue = self.state.issue(comment["repo_id"], comment["issue_number"])
        self.state.comments.delete(comment["id"])
        if issue is not None:
            fresh = self.state.issues.update(
                issue["id"], comments=max(0, issue.get("comments", 1) - 1)
            )
            self._emit(
                "issue_comment",
                lambda: self._hooks.issue_comment("deleted", comment, fresh, sender),
            )

    # -- pull requests ------------------------------------------------------

    def create_pull(
        self,
        repo_id: int,
        title: str,
        *,
        head: str,
        base: str,
        user: str,
        body: str | None = None,
        draft: bool = False,
        created_at: str | None = None,
        labels: list[str] | None = None,
        assignees: list[str] | None = None,
        milestone: int | None = None,
        emit: bool = True,
    ) -> dict[str, Any]:
        """A pull request (and its issue, same number); ``pull_request.opened``."""
        head_branch = self.state.branch(repo_id, head)
        base_branch = self.state.branch(repo_id, base)
        assert head_branch is not None and base_branch is not None
        issue = self.create_issue(
            repo_id,
            title,
            user=user,
            body=body,
            labels=labels,
            assignees=assignees,
            milestone=milestone,
            is_pull=True,
            created_at=created_at,
            emit=False,
        )
        pull = self.state.pulls.insert(
            {
                "repo_id": repo_id,
                "number": issue["number"],
                "head_ref": head,
                "head_sha": head_branch["sha"],
                "base_ref": base,
                "base_sha": base_branch["sha"],
                "draft": draft,
                "merged_at": None,
                "merged_by": None,
                "merge_commit_sha": None,
                "requested_reviewers": [],
                "maintainer_can_modify": False,
                "created_at": issue["created_at"],
                "updated_at": issue["updated_at"],
            },
            id=self.state.next_id("pull", 1_800_000_000),
        )
        if emit:
            self._emit("pull_request", lambda: self._hooks.pull_request("opened", pull, user))
        return pull

    def merge_pull(
        self,
        pull: Mapping[str, Any],
        sender: str,
        *,
        method: str = "merge",
        title: str | None = None,
    ) -> dict[str, Any]:
        """Merge: a commit on the base branch, the PR and its issue closed; hooks."""
        issue = self.state.issue(pull["repo_id"], pull["number"])
        assert issue is not None
        message = title or f"Merge pull request #{pull['number']} from {pull['head_ref']}"
        commit = self.create_commit(pull["repo_id"], message, sender, branch=pull["base_ref"])
        now = self.state.now()
        merged = self.state.pulls.update(
            pull["id"],
            merged_at=now,
            merged_by=sender,
            merge_commit_sha=commit["sha"],
        )
        self.state.issues.update(
            issue["id"], state="closed", state_reason="completed", closed_at=now, closed_by=sender
        )
        fresh = self.state.issue(pull["repo_id"], pull["number"]) or issue
        self.record_event(fresh, "merged", sender, commit_id=commit["sha"])
        self.record_event(fresh, "closed", sender, state_reason="completed")
        self._emit("pull_request", lambda: self._hooks.pull_request("closed", merged, sender))
        return commit

    def create_review(
        self,
        pull: Mapping[str, Any],
        *,
        user: str,
        state: str = "APPROVED",
        body: str = "",
        submitted_at: str | None = None,
    ) -> dict[str, Any]:
        """A submitted review on a pull request."""
        return self.state.reviews.insert(
            {
                "repo_id": pull["repo_id"],
                "pull_number": pull["number"],
                "user": user,
                "state": state,
                "body": body,
                "commit_id": pull["head_sha"],
                "submitted_at": submitted_at or self.state.now(),
            },
            id=self.state.next_id("review", 1_900_000_000),
        )

    # -- actions ------------------------------------------------------------

    def create_workflow(
        self, repo_id: int, name: str, path: str, *, when: str | None = None
    ) -> dict[str, Any]:
        """A workflow file."""
        now = when or self.state.now()
        return self.state.workflows.insert(
            {
                "repo_id": repo_id,
                "name": name,
                "path": path,
                "state": "active",
                "created_at": now,
                "updated_at": now,
            },
            id=self.state.next_id("workflow", 160_000_000),
        )

    def create_run(
        self,
        workflow: Mapping[str, Any],
        *,
        head_sha: str,
        head_branch: str,
        actor: str,
        event: str = "push",
        status: str = "completed",
        conclusion: str | None = "success",
        created_at: str | None = None,
        updated_at: str | None = None,
        jobs: list[str] | None = None,
        pull_requests: list[int] | None = None,
        emit: bool = True,
    ) -> dict[str, Any]:
        """A workflow run with its check suite and jobs; ``workflow_run`` hooks."""
        repo_id = workflow["repo_id"]
        now = created_at or self.state.now()
        suite = self.state.check_suites.insert(
            {
                "repo_id": repo_id,
                "head_sha": head_sha,
                "head_branch": head_branch,
                "status": status,
                "conclusion": conclusion,
                "before": None,
                "created_at": now,
                "updated_at": updated_at or now,
            },
            id=self.state.next_id("suite", 20_000_000_000),
        )
        commit = self.state.commits.find_one(repo_id=repo_id, sha=head_sha) or {}
        run = self.state.runs.insert(
            {
                "repo_id": repo_id,
                "workflow_id": workflow["id"],
                "run_number": self.state.store.sequence(f"workflow:{workflow['id']}:run"),
                "head_sha": head_sha,
                "head_branch": head_branch,
                "display_title": commit.get("message", workflow["name"]).splitlines()[0],
                "event": event,
                "status": status,
                "conclusion": conclusion if status == "completed" else None,
                "actor": actor,
                "check_suite_id": suite["id"],
                "run_attempt": 1,
                "pull_requests": list(pull_requests or []),
                "created_at": now,
                "updated_at": updated_at or now,
                "run_started_at": now,
            },
            id=self.state.next_id("run", 9_000_000_000),
        )
        for index, name in enumerate(jobs or ["build", "test"]):
            failed = conclusion == "failure" and index == len(jobs or ["build", "test"]) - 1
            job_conclusion = (
                None if status != "completed" else ("failure" if failed else conclusion)
            )
            self._create_job(run, workflow, name, status, job_conclusion, now, updated_at or now)
        if emit:
            self._emit("workflow_run", lambda: self._hooks.workflow_run("requested", run, actor))
            if status == "completed":
                self._emit(
                    "workflow_run", lambda: self._hooks.workflow_run("completed", run, actor)
                )
        return run

    def _create_job(
        self,
        run: Mapping[str, Any],
        workflow: Mapping[str, Any],
        name: str,
        status: str,
        conclusion: str | None,
        started: str,
        completed: str,
    ) -> dict[str, Any]:
        done = status == "completed"
        steps = [
            {
                "name": step,
                "status": "completed" if done else "queued",
                "conclusion": conclusion if done else None,
                "number": n + 1,
                "started_at": started if done else None,
                "completed_at": completed if done else None,
            }
            for n, step in enumerate(["Set up job", "Checkout", f"Run {name}", "Complete job"])
        ]
        return self.state.jobs.insert(
            {
                "repo_id": run["repo_id"],
                "run_id": run["id"],
                "run_attempt": run.get("run_attempt", 1),
                "head_sha": run["head_sha"],
                "head_branch": run["head_branch"],
                "workflow_name": workflow["name"],
                "name": name,
                "status": status,
                "conclusion": conclusion,
                "created_at": started,
                "started_at": started,
                "completed_at": completed if done else None,
                "steps": steps,
                "labels": ["ubuntu-latest"],
                "runner_id": 1 if done else None,
                "runner_name": "GitHub Actions 1" if done else None,
                "runner_group_id": 1 if done else None,
                "runner_group_name": "GitHub Actions" if done else None,
                "log": (
                    f"2024-01-01T00:00:00.0000000Z ##[group]Run {name}\n"
                    f"2024-01-01T00:00:01.0000000Z {name}: {conclusion or status}\n"
                    "2024-01-01T00:00:02.0000000Z ##[endgroup]\n"
                ),
            },
            id=self.state.next_id("job", 25_000_000_000),
        )

    def set_run_status(
        self, run: Mapping[str, Any], status: str, conclusion: str | None, sender: str | None
    ) -> dict[str, Any]:
        """Move a run (and its jobs) to ``status``; ``workflow_run`` hooks."""
        now = self.state.now()
        done = status == "completed"
        updated = self.state.runs.update(
            run["id"], status=status, conclusion=conclusion if done else None
        )
        for job in self.state.jobs.filter(run_id=run["id"]):
            self.state.jobs.update(
                job["id"],
                status=status,
                conclusion=conclusion if done else None,
                completed_at=now if done else None,
            )
        suite = self.state.check_suites.get(run["check_suite_id"])
        if suite is not None:
            self.state.check_suites.update(
                suite["id"],
                status=status if status in ("queued", "in_progress", "completed") else "queued",
                conclusion=conclusion if done else None,
            )
        action = {"completed": "completed", "in_progress": "in_progress"}.get(status, "requested")
        self._emit("workflow_run", lambda: self._hooks.workflow_run(action, updated, sender))
        return updated

    def rerun(
        self, run: Mapping[str, Any], sender: str | None, *, failed_only: bool = False
    ) -> dict[str, Any]:
        """A new attempt: the run (or its failed jobs) queued again."""
        attempt = run.get("run_attempt", 1) + 1
        updated = self.state.runs.update(
            run["id"],
            status="queued",
            conclusion=None,
            run_attempt=attempt,
            run_started_at=self.state.now(),
        )
        workflow = self.state.workflows.get(run["workflow_id"]) or {"name": "ci"}
        for job in self.state.jobs.filter(run_id=run["id"]):
            if failed_only and job.get("conclusion") not in ("failure", "cancelled", "timed_out"):
                continue
            new = self._create_job(
                updated, workflow, job["name"], "queued", None, self.state.now(), self.state.now()
            )
            self.state.jobs.update(new["id"], run_attempt=attempt)
        self._emit("workflow_run", lambda: self._hooks.workflow_run("requested", updated, sender))
        return updated

    # -- checks and statuses ------------------------------------------------

    def create_check_run(
        self, repo_id: int, fields: Mapping[str, Any], sender: str | None
    ) -> dict[str, Any]:
        """A check run (in a check suite of the head sha); ``check_run.created``."""
        now = self.state.now()
        head_sha = fields["head_sha"]
        suite = self.state.check_suites.find_one(repo_id=repo_id, head_sha=head_sha, app=True)
        if suite is None:
            suite = self.state.check_suites.insert(
                {
                    "repo_id": repo_id,
                    "head_sha": head_sha,
                    "head_branch": None,
                    "app": True,
                    "status": "queued",
                    "conclusion": None,
                    "before": None,
                    "created_at": now,
                    "updated_at": now,
                },
                id=self.state.next_id("suite", 20_000_000_000),
            )
        status = fields.get("status") or "queued"
        conclusion = fields.get("conclusion")
        if conclusion is not None:
            status = "completed"
        check = self.state.check_runs.insert(
            {
                "repo_id": repo_id,
                "check_suite_id": suite["id"],
                "head_sha": head_sha,
                "name": fields["name"],
                "status": status,
                "conclusion": conclusion,
                "external_id": fields.get("external_id"),
                "details_url": fields.get("details_url"),
                "started_at": fields.get("started_at") or (now if status != "queued" else None),
                "completed_at": fields.get("completed_at")
                or (now if status == "completed" else None),
                "output": dict(fields.get("output") or {}),
                "pull_requests": list(fields.get("pull_requests", [])),
                "created_at": fields.get("created_at", now),
                "updated_at": fields.get("updated_at", now),
            },
            id=self.state.next_id("check", 30_000_000_000),
        )
        self._emit(
            "check_run", lambda: self._hooks.check_run("created", check, self.em.app_record, sender)
        )
        return check

    def update_check_run(
        self, check: Mapping[str, Any], changes: Mapping[str, Any], sender: str | None
    ) -> dict[str, Any]:
        """Update a check run; completing it emits ``check_run.completed``."""
        fields = {
            k: v
            for k, v in changes.items()
            if k
            in (
                "name",
                "status",
                "conclusion",
                "external_id",
                "details_url",
                "started_at",
                "completed_at",
                "output",
            )
        }
        if fields.get("conclusion") is not None:
            fields["status"] = "completed"
            fields.setdefault("completed_at", self.state.now())
        if fields.get("status") == "in_progress" and not check.get("started_at"):
            fields["started_at"] = self.state.now()
        updated = self.state.check_runs.update(check["id"], fields)
        if updated["status"] == "completed" and check["status"] != "completed":
            self._emit(
                "check_run",
                lambda: self._hooks.check_run("completed", updated, self.em.app_record, sender),
            )
        return updated

    def create_status(
        self, repo_id: int, sha: str, fields: Mapping[str, Any], creator: str
    ) -> dict[str, Any]:
        """A commit status; ``status`` hook."""
        now = fields.get("created_at") or self.state.now()
        status = self.state.statuses.insert(
            {
                "repo_id": repo_id,
                "sha": sha,
                "state": fields["state"],
                "context": fields.get("context") or "default",
                "description": fields.get("description"),
                "target_url": fields.get("target_url"),
                "creator": creator,
                "created_at": now,
                "updated_at": now,
            },
            id=self.state.next_id("status", 30_500_000_000),
        )
        self._emit("status", lambda: self._hooks.status(status, creator))
        return status

    # -- forge administration -----------------------------------------------

    def create_deploy_key(
        self, repo_id: int, title: str, key: str, read_only: bool, sender: str | None
    ) -> dict[str, Any]:
        """A deploy key; ``deploy_key.created``."""
        record = self.state.keys.insert(
            {
                "repo_id": repo_id,
                "title": title,
                "key": key,
                "read_only": read_only,
                "added_by": sender,
                "last_used": None,
                "created_at": self.state.now(),
            },
            id=self.state.next_id("key", 90_000_000),
        )
        self._emit("deploy_key", lambda: self._hooks.deploy_key("created", record, sender))
        return record

    def delete_deploy_key(self, key: Mapping[str, Any], sender: str | None) -> None:
        """Remove a deploy key; ``deploy_key.deleted``."""
        payload = self._hooks.deploy_key("deleted", key, sender) if self._listening else {}
        self.state.keys.delete(key["id"])
        self._emit("deploy_key", lambda: payload)

    def add_collaborator(self, repo_id: int, login: str, role: str = "write") -> dict[str, Any]:
        """A repository collaborator with a role (read/triage/write/maintain/admin)."""
        return self.state.collaborators.insert(
            {"repo_id": repo_id, "login": login, "role_name": role},
            id=self.state.next_id("collab", 1),
        )

    def set_protection(
        self, repo_id: int, branch: str, settings: Mapping[str, Any], sender: str | None
    ) -> dict[str, Any]:
        """Create or replace a branch's protection; ``branch_protection_rule`` hook."""
        existing = self.state.protections.find_one(repo_id=repo_id, branch=branch)
        fields = {"repo_id": repo_id, "branch": branch, **dict(settings)}
        if existing is None:
            record = self.state.protections.insert(
                fields, id=self.state.next_id("protection", 30_000_000)
            )
            action = "created"
        else:
            keep = {
                k: None
                for k in existing
                if k not in fields and k not in ("id", "created_at", "updated_at")
            }
            record = self.state.protections.update(existing["id"], {**keep, **fields})
            action = "edited"
        self._emit(
            "branch_protection_rule",
            lambda: self._hooks.branch_protection_rule(action, record, sender),
        )
        return record

    def delete_protection(self, rule: Mapping[str, Any], sender: str | None) -> None:
        """Remove a branch's protection; ``branch_protection_rule.deleted``."""
        payload = (
            self._hooks.branch_protection_rule("deleted", rule, sender) if self._listening else {}
        )
        self.state.protections.delete(rule["id"])
        self._emit("branch_protection_rule", lambda: payload)
