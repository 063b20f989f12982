"""The control API (:class:`~kradle_providers.testing.harness.BackendControl`).

Tests and the contract suite drive the emulator "from GitLab's side" with
canonical kind names, in project ``acme/platform/widgets``; every change goes
through the state's factories, so it emits the hooks an API call would. The
ids returned are those the adapter's operations take: iids for issues and
merge requests, note paths for comments, ``sha:name`` for checks.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from kradle_provider_gitlab.emulator.seed import PROJECT_PATH, job_log
from kradle_providers.testing.emulator import Collection, FaultKind, Rule
from kradle_providers.testing.harness import Fault, RecordedRequest

if TYPE_CHECKING:
    from kradle_provider_gitlab.emulator.app import GitLabEmulator

__all__ = ["GitLabControl"]

# Canonical seed words (the suite's, or GitHub-like ones) -> GitLab statuses.
_STATUSES = {
    "failure": "failed",
    "failed": "failed",
    "success": "success",
    "succeeded": "success",
    "completed": "success",
    "running": "running",
    "in_progress": "running",
    "queued": "pending",
    "pending": "pending",
    "cancelled": "canceled",
    "canceled": "canceled",
    "skipped": "skipped",
    "manual": "manual",
    "created": "created",
}
_FINISHED = frozenset({"success", "failed", "canceled", "skipped"})


class GitLabControl:
    """Seeds, changes and deletes objects in ``acme/platform/widgets``."""

    def __init__(self, emulator: GitLabEmulator, path: str = PROJECT_PATH) -> None:
        self.em = emulator
        self.path = path

    @property
    def project(self) -> dict[str, Any]:
        """The scoped project record."""
        found = self.em.state.find_project(self.path)
        if found is None:
            raise KeyError(f"the emulator has no project {self.path}")
        return found

    def _tick(self) -> None:
        """Move a manual clock on, so every seeded or changed object has its own time."""
        advance = getattr(self.em.clock, "advance", None)
        if advance is not None:
            advance(1)

    def _user(self, seq: int) -> int:
        state = self.em.state
        name = f"control-user-{seq}"
        found = state.users.find_one(username=name)
        return int((found or state.add_user(name, f"Control User {seq}"))["id"])

    # -- seed -----------------------------------------------------------------------

    def seed(self, kind: str, count: int = 1, **attrs: Any) -> list[str]:
        """Create ``count`` objects of canonical ``kind``; return the ids adapters use."""
        return [self._seed_one(kind, dict(attrs)) for _ in range(count)]

    def _issue(self, attrs: dict[str, Any]) -> dict[str, Any]:
        state, project = self.em.state, self.project
        iid = attrs.pop("issue", None)
        if iid is None:
            iid = self._seed_one("Issue", {})
        found = state.issue_by_iid(project, iid)
        if found is None:
            raise KeyError(f"no issue #{iid} in {self.path}")
        return found

    def _mr(self, attrs: dict[str, Any]) -> dict[str, Any]:
        iid = attrs.pop("pull_request", None) or self._seed_one("PullRequest", {})
        found = self.em.state.mr_by_iid(self.project, iid)
        if found is None:
            raise KeyError(f"no merge request !{iid} in {self.path}")
        return found

    def _pipeline(self, attrs: dict[str, Any]) -> dict[str, Any]:
        pid = attrs.pop("pipeline", None) or self._seed_one("Pipeline", {})
        found = self.em.state.pipelines.get(int(pid))
        if found is None:
            raise KeyError(f"no pipeline {pid}")
        return found

    def _seed_one(self, kind: str, attrs: dict[str, Any]) -> str:
        state, project, viewer = self.em.state, self.project, self.em.state.viewer_id
        self._tick()
        seq = self.em.store.sequence(f"control:{kind}")
        if kind == "Issue":
            issue = state.add_issue(
                project,
                title=str(attrs.pop("title", f"Seeded issue {seq}")),
                description=attrs.pop("body", "Seeded by the control API"),
                author_id=viewer,
                labels=list(attrs.pop("labels", []) or []),
                confidential=bool(attrs.pop("confidential", False)),
            )
            if attrs.pop("state", None) == "closed":
                state.update_issue(
                    issue, {"state": "closed", "closed_at": state.now()}, actor_id=viewer
                )
            return str(issue["iid"])
        if kind == "Comment":
            issue = self._issue(attrs)
            note = state.add_note(
                project,
                issue,
                noteable_type="Issue",
                body=str(attrs.pop("body", f"Seeded comment {seq}")),
                author_id=viewer,
            )
            return f"issues/{issue['iid']}/notes/{note['id']}"
        if kind == "Label":
            label = state.add_label(
                project,
                str(attrs.pop("name", f"seeded-{seq}")),
                str(attrs.pop("color", "#5319e7")),
                attrs.pop("description", None),
            )
            return str(label["id"])
        if kind == "Milestone":
            ms = state.add_milestone(project, str(attrs.pop("title", f"Milestone {seq}")))
            return str(ms["id"])
        if kind == "IssueEvent":
            issue = self._issue(attrs)
            closed = issue["state"] == "closed"
            event = state.add_resource_event(
                state.state_events,
                issue,
                viewer,
                kind="Issue",
                state="reopened" if closed else "closed",
            )
            return f"state:{event['id']}"
        if kind == "Pipeline":
            status = _STATUSES.get(str(attrs.pop("status", "success")), "success")
            head = state.branch(project, str(attrs.pop("branch", "main")))
            assert head is not None
            pipeline = state.add_pipeline(
                project,
                ref=head["name"],
                sha=str(attrs.pop("sha", head["commit"]["id"])),
                status=status,
                user_id=viewer,
            )
            return str(pipeline["id"])
        if kind == "Job":
            pipeline = self._pipeline(attrs)
            status = _STATUSES.get(str(attrs.pop("status", pipeline["status"])), "success")
            log = attrs.pop("log", None)
            job = state.add_job(
                pipeline,
                name=str(attrs.pop("name", f"job-{seq}")),
                stage=str(attrs.pop("stage", "test")),
                status=status,
                trace=str(log) if log is not None else job_log("control", status, seq),
            )
            return str(job["id"])
        if kind == "Artifact":
            pipeline = self._pipeline(attrs)
            name = str(attrs.pop("name", f"artifact-{seq}.zip"))
            job = state.add_job(
                pipeline,
                name=f"package-{seq}",
                stage="build",
                status="success",
                artifacts=[
                    {
                        "file_type": "archive",
                        "size": int(attrs.pop("size_in_bytes", 1024)),
                        "filename": name,
                        "file_format": "zip",
                    }
                ],
            )
            return f"{job['id']}:archive"
        if kind == "Runner":
            runner = state.add_runner(
                str(attrs.pop("name", f"control-runner-{seq}")),
                project_ids=[project["id"]],
                tags=list(attrs.pop("labels", ["docker"])),
                status=str(attrs.pop("status", "online")),
            )
            return str(runner["id"])
        if kind == "Check":
            sha = str(attrs.pop("sha", None) or self._seed_one("Commit", {}))
            name = str(attrs.pop("name", f"check-{seq}"))
            state.set_status(
                project,
                sha,
                name=name,
                state=_STATUSES.get(str(attrs.pop("status", "running")), "running"),
                ref=None,
                target_url=attrs.pop("details_url", None),
                description=attrs.pop("summary", None),
                author_id=viewer,
            )
            return f"{sha}:{name}"
        if kind == "Commit":
            on = str(attrs.pop("branch", "main"))
            if state.branch(project, on) is None:
                main = state.branch(project, project["default_branch"])
                assert main is not None
                state.set_branch(project, on, main["commit"]["id"])
            commit = state.push(project, on, str(attrs.pop("message", f"Seeded commit {seq}")))
            return str(commit["id"])
        if kind == "Repository":
            group = state.find_group(project["namespace"]["full_path"])
            assert group is not None
            name = str(attrs.pop("name", f"seeded-{seq}"))
            state.add_project(group, name, description=attrs.pop("description", None))
            return name
        if kind == "PullRequest":
            source = str(attrs.pop("head", f"control/mr-{seq}"))
            base = str(attrs.pop("base", project["default_branch"]))
            if state.branch(project, source) is None:
                main = state.branch(project, base)
                assert main is not None
                state.set_branch(project, source, main["commit"]["id"])
                state.push(project, source, f"Work on {source}")
            mr = state.add_merge_request(
                project,
                title=str(attrs.pop("title", f"Merge request {seq}")),
                description=attrs.pop("body", "Seeded merge request"),
                source_branch=source,
                target_branch=base,
                author_id=viewer,
                draft=bool(attrs.pop("draft", False)),
            )
            if attrs.pop("state", None) == "closed":
                state.update_merge_request(
                    mr, {"state": "closed", "closed_at": state.now()}, actor_id=viewer
                )
            return str(mr["iid"])
        if kind == "Review":
            mr = self._mr(attrs)
            user = self._user(seq)
            state.approve(mr, user)
            return f"{mr['id']}:{user}"
        if kind == "Ref":
            full = str(attrs.pop("name", f"refs/heads/seeded/branch-{seq}"))
            main = state.branch(project, project["default_branch"])
            assert main is not None
            sha = str(attrs.pop("sha", main["commit"]["id"]))
            if full.startswith("refs/tags/"):
                state.set_tag(project, full.removeprefix("refs/tags/"), sha)
            else:
                state.set_branch(project, full.removeprefix("refs/heads/"), sha)
            return full if full.startswith("refs/") else f"refs/heads/{full}"
        if kind == "DeployKey":
            key = state.add_deploy_key(
                project,
                str(attrs.pop("title", f"key-{seq}")),
                str(attrs.pop("key", f"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIcontrol{seq:06d} c@k")),
                can_push=not bool(attrs.pop("read_only", True)),
            )
            return str(key["id"])
        if kind == "Collaborator":
            user = self._user(seq)
            level = {"read": 10, "triage": 20, "write": 30, "maintain": 40, "admin": 50}.get(
                str(attrs.pop("role", "write")), 30
            )
            state.add_member(project, user, level)
            return str(user)
        if kind == "BranchProtection":
            branch = str(attrs.pop("branch", f"protected-{seq}"))
            if state.branch(project, branch) is None:
                main = state.branch(project, project["default_branch"])
                assert main is not None
                state.set_branch(project, branch, main["commit"]["id"])
            state.protect(project, branch)
            return branch
        raise KeyError(f"the GitLab emulator cannot seed {kind!r}")

    # -- change and delete -------------------------------------------------------------

    def change(self, kind: str, object_id: str, **fields: Any) -> None:
        """Change an object as a person on GitLab would (no fields: a visible edit)."""
        state, project, viewer = self.em.state, self.project, self.em.state.viewer_id
        self._tick()
        if kind == "Issue":
            issue = self._record(kind, object_id)
            state.update_issue(
                issue, fields or {"title": f"{issue['title']} (edited)"}, actor_id=viewer
            )
        elif kind == "PullRequest":
            mr = self._record(kind, object_id)
            state.update_merge_request(
                mr, fields or {"title": f"{mr['title']} (edited)"}, actor_id=viewer
            )
        elif kind == "Comment":
            note = self._record(kind, object_id)
            state.update_note(note, str(fields.get("body", f"{note['body']} (edited)")))
        elif kind == "Pipeline":
            pipeline = self._record(kind, object_id)
            status = _STATUSES.get(str(fields.get("status", "success")), "success")
            if status == pipeline["status"]:
                status = "failed" if status == "success" else "success"
            state.set_pipeline_status(pipeline, status)
        elif kind == "Job":
            job = self._record(kind, object_id)
            status = "failed" if job["status"] == "success" else "success"
            state.jobs.update(job["id"], status=status, finished_at=state.now())
        elif kind == "Check":
            check = self._record(kind, object_id)
            new = "failed" if check["status"] == "success" else "success"
            state.statuses.update(check["id"], status=new, finished_at=state.now())
        elif kind == "Ref":
            full = object_id
            name = full.removeprefix("refs/heads/")
            state.push(project, name, str(fields.get("message", f"Edit {name}")))
        elif kind == "Collaborator":
            member = self._record(kind, object_id)
            levels = [10, 20, 30, 40]
            nxt = (
                levels[(levels.index(member["access_level"]) + 1) % 4]
                if member["access_level"] in levels
                else 30
            )
            state.members.update(member["_key"], access_level=fields.get("access_level", nxt))
        elif kind == "Runner":
            runner = self._record(kind, object_id)
            flipped = "offline" if runner["status"] == "online" else "online"
            state.runners.update(runner["id"], status=flipped, online=flipped == "online")
        elif kind == "BranchProtection":
            rule = self._record(kind, object_id)
            state.protected.update(rule["id"], allow_force_push=not rule["allow_force_push"])
        else:
            record = self._record(kind, object_id)
            coll = self._collection(kind)
            default: dict[str, Any] = {}
            for key in ("title", "description", "name"):
                if key in record and record[key] is not None:
                    default = {key: f"{record[key]} (edited)"}
                    break
            changes = dict(fields or default)
            if "updated_at" in record:
                changes["updated_at"] = state.now()
            coll.update(record[coll.id_field], changes)

    def delete(self, kind: str, object_id: str) -> None:
        """Delete an object from outside the adapter."""
        state, project = self.em.state, self.project
        if kind == "Ref":
            state.delete_ref(
                project, object_id if object_id.startswith("refs/") else f"refs/heads/{object_id}"
            )
            return
        if kind == "Review":  # an approval: withdrawn, the merge request stays
            mr_id, _, user = object_id.partition(":")
            mr = state.merge_requests.get(int(mr_id))
            if mr is not None:
                state.unapprove(mr, int(user))
            return
        try:
            record = self._record(kind, object_id)
        except KeyError:
            return
        coll = self._collection(kind)
        coll.delete(record[coll.id_field])

    def _collection(self, kind: str) -> Collection:
        state = self.em.state
        found = {
            "Issue": state.issues,
            "PullRequest": state.merge_requests,
            "Comment": state.notes,
            "Label": state.labels,
            "Milestone": state.milestones,
            "IssueEvent": state.state_events,
            "Pipeline": state.pipelines,
            "Job": state.jobs,
            "Artifact": state.jobs,
            "Runner": state.runners,
            "Check": state.statuses,
            "Repository": state.projects,
            "Commit": state.commits,
            "DeployKey": state.deploy_keys,
            "Collaborator": state.members,
            "BranchProtection": state.protected,
            "Review": state.merge_requests,
            "Ref": state.branches,
        }.get(kind)
        if found is None:
            raise KeyError(f"the GitLab emulator has no {kind!r}")
        return found

    def _record(self, kind: str, object_id: str) -> dict[str, Any]:
        """The stored record of ``kind`` known to adapters as ``object_id``."""
        state, project = self.em.state, self.project
        record: dict[str, Any] | None
        if kind == "Issue":
            record = state.issue_by_iid(project, object_id)
        elif kind == "PullRequest":
            record = state.mr_by_iid(project, object_id)
        elif kind == "Comment":
            record = state.notes.get(int(object_id.rsplit("/", 1)[-1]))
        elif kind == "IssueEvent":
            family, _, ident = object_id.partition(":")
            coll = {"state": state.state_events, "label": state.label_events}.get(
                family, state.milestone_events
            )
            record = coll.get(int(ident)) if ident.isdigit() else None
        elif kind == "Artifact":
            record = state.jobs.get(int(object_id.split(":", 1)[0]))
        elif kind == "Check":
            sha, _, name = object_id.partition(":")
            record = next(
                (s for s in state.statuses if s["sha"] == sha and s["name"] == name), None
            )
        elif kind == "Repository":
            name = object_id.rsplit("/", 1)[-1]
            record = state.find_project(f"{project['namespace']['full_path']}/{name}")
        elif kind == "Collaborator":
            record = state.members.get(f"{project['id']}:{object_id}")
        elif kind == "BranchProtection":
            record = state.protected_rule(project, object_id)
        elif kind == "Review":
            record = state.merge_requests.get(int(object_id.split(":", 1)[0]))
        elif kind == "Ref":
            name = object_id.removeprefix("refs/heads/")
            record = state.branch(project, name) or state.tag(
                project, object_id.removeprefix("refs/tags/")
            )
        else:
            coll = self._collection(kind)
            record = coll.get(int(object_id)) if object_id.isdigit() else coll.get(object_id)
        if record is None:
            raise KeyError(f"no {kind} {object_id} in {self.path}")
        return record

    # -- requests and faults ------------------------------------------------------------

    def requests(self) -> Sequence[RecordedRequest]:
        """Every request that reached the emulator, oldest first."""
        return [RecordedRequest(e.method, e.path, e.operation) for e in self.em.requests]

    def inject_fault(self, fault: Fault, *, times: int = 1, method: str | None = None) -> None:
        """Make the next ``times`` requests fail as GitLab fails them."""
        if fault is Fault.RATE_LIMIT:
            limit = self.em.rate_limiter.policy.limit if self.em.rate_limiter else 2000
            reset = int(self.em.clock().timestamp()) + 60
            rule = Rule(
                kind=FaultKind.RATE_LIMIT,
                status=429,
                method=method,
                times=times,
                message="Retry later",
                headers={
                    "ratelimit-limit": str(limit),
                    "ratelimit-remaining": "0",
                    "ratelimit-observed": str(limit),
                    "ratelimit-reset": str(reset),
                },
                retry_after=60,
            )
        elif fault is Fault.SERVER_ERROR:
            rule = Rule(
                kind=FaultKind.STATUS,
                status=502,
                method=method,
                times=times,
                message="502 Bad Gateway",
            )
        elif fault is Fault.LOST_RESPONSE:
            rule = Rule(kind=FaultKind.DROPPED, method=method, times=times)
        else:
            raise ValueError(f"unknown fault {fault!r}")
        self.em.faults.add(rule)

    def set_native_field(self, kind: str, object_id: str, name: str, value: Any) -> None:
        """Add a provider field to an object's JSON (the canonical model has no place for it).

        Listings that show a subset of an object show fields added since too, as
        GitLab's list entities gain new attributes.
        """
        record = self._record(kind, object_id)
        coll = self._collection(kind)
        if kind == "Artifact":
            file_type = object_id.partition(":")[2]
            files = [
                {**f, name: value} if f["file_type"] == file_type else f
                for f in record["artifacts"]
            ]
            coll.update(record[coll.id_field], {"artifacts": files})
            return
        added = [*(record.get("_added") or []), name]
        coll.update(record[coll.id_field], {name: value, "_added": added})
