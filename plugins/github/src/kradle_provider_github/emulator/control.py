"""The control API (:class:`~kradle_providers.testing.harness.BackendControl`).

Tests and the contract suite drive the emulator "from GitHub's side" with
canonical kind names; every change goes through :mod:`.mutations`, so it
emits the same webhooks and issue events an API call would.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from kradle_providers.testing.emulator import FaultKind, Rule
from kradle_providers.testing.harness import Fault, RecordedRequest

if TYPE_CHECKING:
    from kradle_provider_github.emulator.app import GitHubEmulator

__all__ = ["GitHubControl"]

_KINDS = (
    "Issue",
    "Comment",
    "Label",
    "Milestone",
    "IssueEvent",
    "PipelineDefinition",
    "Pipeline",
    "Job",
    "Artifact",
    "Runner",
    "Check",
    "Repository",
    "PullRequest",
    "Review",
    "Ref",
    "Commit",
    "DeployKey",
    "Collaborator",
    "BranchProtection",
)


class GitHubControl:
    """Seeds, changes and deletes objects in ``owner/repo`` (default ``acme/widgets``)."""

    def __init__(
        self, emulator: GitHubEmulator, owner: str = "acme", repo: str = "widgets"
    ) -> None:
        self.em = emulator
        self.owner = owner
        self.repo_name = repo
        self.actor = "alice"

    @property
    def repo(self) -> dict[str, Any]:
        """The scoped repository record."""
        found = self.em.state.repo(self.owner, self.repo_name)
        if found is None:
            raise KeyError(f"the emulator has no repository {self.owner}/{self.repo_name}")
        return found

    def _unknown(self, kind: str) -> KeyError:
        return KeyError(f"unknown kind {kind!r}; the GitHub emulator seeds {', '.join(_KINDS)}")

    # -- seed ---------------------------------------------------------------

    def seed(self, kind: str, count: int = 1, **attrs: Any) -> list[str]:
        """Create ``count`` objects of canonical ``kind``; return the ids adapters use."""
        return [self._seed_one(kind, n, dict(attrs)) for n in range(count)]

    def _seed_one(self, kind: str, n: int, attrs: dict[str, Any]) -> str:
        em, mut, state, rid = self.em, self.em.mutations, self.em.state, self.repo["id"]
        seq = em.store.sequence(f"control:{kind}")
        user = attrs.pop("user", self.actor)
        if (kind == "Issue" and attrs.pop("pull_request", False)) or kind == "PullRequest":
            branch = attrs.pop("head", f"control/pr-{seq}")
            if state.branch(rid, branch) is None:
                mut.create_commit(rid, f"Work on {branch}", user, branch=branch)
            pull = mut.create_pull(
                rid,
                attrs.pop("title", f"Pull request {seq}"),
                head=branch,
                base=attrs.pop("base", self.repo["default_branch"]),
                user=user,
                body=attrs.pop("body", "Seeded pull request"),
                draft=bool(attrs.pop("draft", False)),
                labels=attrs.pop("labels", None),
                assignees=attrs.pop("assignees", None),
            )
            if attrs.pop("state", "open") == "closed":
                issue = state.issue(rid, pull["number"])
                assert issue is not None
                mut.update_issue(issue, {"state": "closed"}, user)
            return str(pull["number"])
        if kind == "Issue":
            issue = mut.create_issue(
                rid,
                attrs.pop("title", f"Seeded issue {seq}"),
                user=user,
                body=attrs.pop("body", "Seeded by the control API"),
                labels=attrs.pop("labels", None),
                assignees=attrs.pop("assignees", None),
                milestone=attrs.pop("milestone", None),
            )
            if attrs.get("state") == "closed":
                mut.update_issue(issue, {"state": "closed"}, user)
            return str(issue["number"])
        if kind == "Comment":
            number = int(attrs.pop("issue", 0)) or int(self._seed_one("Issue", 0, {}))
            target = state.issue(rid, number)
            if target is None:
                raise KeyError(f"no issue #{number} in {self.owner}/{self.repo_name}")
            comment = mut.create_comment(
                target, attrs.pop("body", f"Seeded comment {seq}"), user=user
            )
            return str(comment["id"])
        if kind == "Label":
            label = mut.create_label(
                rid,
                attrs.pop("name", f"seeded-{seq}"),
                attrs.pop("color", "5319e7"),
                attrs.pop("description", None),
                sender=user,
            )
            return str(label["id"])
        if kind == "Milestone":
            milestone = mut.create_milestone(
                rid, attrs.pop("title", f"Milestone {seq}"), sender=user, **attrs
            )
            return str(milestone["number"])
        if kind == "PipelineDefinition":
            name = attrs.pop("name", f"Workflow {seq}")
            return str(
                mut.create_workflow(rid, name, attrs.pop("path", f".github/workflows/wf{seq}.yml"))[
                    "id"
                ]
            )
        if kind == "Pipeline":
            workflow = self._workflow(attrs.pop("workflow", None))
            sha = (
                attrs.pop("sha", None)
                or (state.branch(rid, self.repo["default_branch"]) or {})["sha"]
            )
            status, conclusion = _run_status(
                attrs.pop("status", "completed"), attrs.pop("conclusion", None)
            )
            run = mut.create_run(
                workflow,
                head_sha=sha,
                head_branch=attrs.pop("branch", "main"),
                actor=user,
                status=status,
                conclusion=conclusion,
                event=attrs.pop("event", "push"),
            )
            return str(run["id"])
        if kind == "Job":
            run_id = attrs.pop("pipeline", None) or self._seed_one("Pipeline", 0, {})
            parent = state.runs.get(run_id)
            if parent is None:
                raise KeyError(f"no workflow run {run_id}")
            workflow = state.workflows.get(parent["workflow_id"]) or {"name": "CI"}
            job = mut._create_job(
                parent,
                workflow,
                attrs.pop("name", f"job-{seq}"),
                parent["status"],
                parent.get("conclusion"),
                state.now(),
                state.now(),
            )
            if "log" in attrs:
                state.jobs.update(job["id"], log=str(attrs.pop("log")))
            return str(job["id"])
        if kind == "Artifact":
            run_id = attrs.pop("pipeline", None) or self._seed_one("Pipeline", 0, {})
            parent = state.runs.get(run_id)
            if parent is None:
                raise KeyError(f"no workflow run {run_id}")
            now = state.now()
            artifact = state.artifacts.insert(
                {
                    "repo_id": rid,
                    "run_id": parent["id"],
                    "name": attrs.pop("name", f"artifact-{seq}"),
                    "size_in_bytes": int(attrs.pop("size_in_bytes", 1024)),
                    "created_at": now,
                    "updated_at": now,
                    "expires_at": now,
                    "expired": False,
                    "digest": f"{seq:064x}",
                },
                id=state.next_id("artifact", 1_200_000_000),
            )
            return str(artifact["id"])
        if kind == "Runner":
            runner = state.runners.insert(
                {
                    "repo_id": rid,
                    "name": attrs.pop("name", f"control-runner-{seq}"),
                    "os": attrs.pop("os", "Linux"),
                    "status": attrs.pop("status", "online"),
                    "busy": False,
                    "labels": ["self-hosted", "Linux", "X64"],
                },
                id=state.next_id("runner", 20),
            )
            return str(runner["id"])
        if kind == "IssueEvent":
            number = int(attrs.pop("issue", 0)) or int(self._seed_one("Issue", 0, {}))
            target = state.issue(rid, number)
            if target is None:
                raise KeyError(f"no issue #{number} in {self.owner}/{self.repo_name}")
            event = mut.record_event(
                target, attrs.pop("event", "mentioned"), user, created_at=attrs.pop("at", None)
            )
            return str(event["id"])
        if kind == "Commit":
            branch = attrs.pop("branch", f"control/commit-{seq}")
            commit = mut.create_commit(
                rid, attrs.pop("message", f"Seeded commit {seq}"), user, branch=branch
            )
            return str(commit["sha"])
        if kind == "Check":
            sha = (
                attrs.pop("sha", None)
                or (state.branch(rid, self.repo["default_branch"]) or {})["sha"]
            )
            check = mut.create_check_run(
                rid, {"name": attrs.pop("name", f"check-{seq}"), "head_sha": sha, **attrs}, user
            )
            return str(check["id"])
        if kind == "Repository":
            repo = mut.create_repo(self.owner, attrs.pop("name", f"seeded-{seq}"), **attrs)
            return str(repo["name"])
        if kind == "Review":
            number = int(attrs.pop("pull_request", 0)) or int(self._seed_one("PullRequest", 0, {}))
            reviewed = state.pull(rid, number)
            if reviewed is None:
                raise KeyError(f"no pull request #{number}")
            review = mut.create_review(
                reviewed,
                user=user,
                state=attrs.pop("state", "APPROVED"),
                body=attrs.pop("body", "Seeded review"),
            )
            return str(review["id"])
        if kind == "Ref":
            name = str(attrs.pop("name", f"seeded/branch-{seq}")).removeprefix("refs/heads/")
            mut.create_commit(rid, f"Start {name}", user, branch=name)
            return f"refs/heads/{name}"
        if kind == "DeployKey":
            key = mut.create_deploy_key(
                rid,
                attrs.pop("title", f"key-{seq}"),
                attrs.pop("key", f"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIcontrol{seq:06d}{n}"),
                bool(attrs.pop("read_only", True)),
                user,
            )
            return str(key["id"])
        if kind == "Collaborator":
            login = attrs.pop("login", f"collaborator-{seq}")
            if state.user(login) is None:
                mut.create_user(login)
            mut.add_collaborator(rid, login, attrs.pop("role", attrs.pop("role_name", "write")))
            found = state.user(login)
            assert found is not None
            return str(found["id"])
        if kind == "BranchProtection":
            branch = attrs.pop("branch", self.repo["default_branch"])
            if state.branch(rid, branch) is None:
                mut.create_commit(rid, f"Start {branch}", user, branch=branch)
            settings = {
                "required_status_checks": None,
                "enforce_admins": False,
                "required_pull_request_reviews": {"required_approving_review_count": 1},
                "restrictions": None,
                **attrs,
            }
            mut.set_protection(rid, branch, settings, user)
            return str(branch)
        raise self._unknown(kind)

    def _workflow(self, ident: Any) -> dict[str, Any]:
        state, rid = self.em.state, self.repo["id"]
        if ident is not None:
            found = state.workflows.get(ident)
            if found is None:
                raise KeyError(f"no workflow {ident}")
            return found
        existing = sorted(state.workflows.filter(repo_id=rid), key=lambda w: w["id"])
        if existing:
            return existing[0]
        return self.em.mutations.create_workflow(rid, "CI", ".github/workflows/ci.yml")

    # -- change / delete ----------------------------------------------------

    def change(self, kind: str, object_id: str, **fields: Any) -> None:
        """Change an object as a person on github.com would (no fields: a visible edit).

        Every change moves the object's ``updated_at`` (where it has one) to now.
        """
        mut, state, rid = self.em.mutations, self.em.state, self.repo["id"]
        if kind in ("Issue", "PullRequest"):
            issue = state.issue(rid, int(object_id))
            if issue is None:
                raise KeyError(f"no issue #{object_id}")
            if not fields:
                fields = {"title": f"{issue['title']} (edited)"}
            mut.update_issue(issue, fields, self.actor)
        elif kind == "Comment":
            comment = state.comments.get(object_id)
            if comment is None:
                raise KeyError(f"no comment {object_id}")
            mut.update_comment(
                comment, fields.get("body", f"{comment['body']} (edited)"), self.actor
            )
        elif kind == "Label":
            label = self._record("Label", object_id)
            mut.update_label(label, fields or {"description": "edited"}, self.actor)
        elif kind == "Pipeline":
            run = state.runs.get(object_id)
            if run is None:
                raise KeyError(f"no run {object_id}")
            mut.set_run_status(
                run,
                fields.get("status", "completed"),
                fields.get("conclusion", "success"),
                self.actor,
            )
            state.runs.update(run["id"], updated_at=state.now())
        elif kind == "Check":
            check = state.check_runs.get(object_id)
            if check is None:
                raise KeyError(f"no check run {object_id}")
            mut.update_check_run(check, fields or {"conclusion": "success"}, self.actor)
        elif kind == "Repository":
            repo = self._record("Repository", object_id)
            mut.update_repo(repo, fields or {"description": "edited"})
        elif kind == "BranchProtection":
            rule = state.protections.find_one(repo_id=rid, branch=object_id)
            if rule is None:
                raise KeyError(f"branch {object_id} is not protected")
            settings = {k: v for k, v in rule.items() if k not in ("id", "repo_id", "branch")}
            settings.update(fields or {"enforce_admins": not rule.get("enforce_admins")})
            mut.set_protection(rid, object_id, settings, self.actor)
        elif kind == "Ref":
            branch = object_id.removeprefix("refs/heads/")
            if state.branch(rid, branch) is None:
                raise KeyError(f"no branch {branch}")
            mut.create_commit(
                rid, fields.get("message", f"Edit {branch}"), self.actor, branch=branch
            )
        elif kind == "Collaborator":
            found = self._record("Collaborator", object_id)
            roles = ["read", "triage", "write", "maintain", "admin"]
            role = (
                fields.get("role_name")
                or roles[
                    (roles.index(found["role_name"]) + 1) % len(roles)
                    if found["role_name"] in roles
                    else 0
                ]
            )
            state.collaborators.update(found["id"], role_name=role)
        elif kind == "Runner":
            runner = self._record("Runner", object_id)
            flipped = {"status": "offline" if runner["status"] == "online" else "online"}
            state.runners.update(runner["id"], dict(fields or flipped))
        else:
            record = self._record(kind, object_id)
            default: dict[str, Any] = (
                {"title": f"{record['title']} (edited)"} if "title" in record else {}
            )
            if "name" in record and not default:
                default = {"name": f"{record['name']}-edited"}
            changes = dict(fields or default)
            if "updated_at" in record:
                changes["updated_at"] = state.now()
            self._collection(kind).update(record["id"], changes)

    def delete(self, kind: str, object_id: str) -> None:
        """Delete an object from outside the adapter."""
        mut, state, rid = self.em.mutations, self.em.state, self.repo["id"]
        if kind == "Comment":
            comment = state.comments.get(object_id)
            if comment is not None:
                mut.delete_comment(comment, self.actor)
        elif kind == "Label":
            label = state.label(rid, object_id)
            if label is not None:
                mut.delete_label(label, self.actor)
        elif kind == "DeployKey":
            key = state.keys.get(object_id)
            if key is not None:
                mut.delete_deploy_key(key, self.actor)
        elif kind == "BranchProtection":
            rule = state.protections.find_one(repo_id=rid, branch=object_id)
            if rule is not None:
                mut.delete_protection(rule, self.actor)
        elif kind in ("Issue", "PullRequest"):
            # GitHub deletes issues (admins only) but never pull requests; both vanish here.
            issue = state.issue(rid, int(object_id))
            if issue is not None:
                state.issues.delete(issue["id"])
            pull = state.pull(rid, int(object_id))
            if pull is not None:
                state.pulls.delete(pull["id"])
        elif kind == "Collaborator":
            found = state.collaborators.find_one(repo_id=rid, login=object_id)
            if found is not None:
                state.collaborators.delete(found["id"])
        elif kind == "Ref":
            branch = state.branch(rid, object_id.removeprefix("refs/heads/"))
            if branch is not None:
                state.branches.delete(branch["id"])
        else:
            self._collection(kind).delete(object_id)

    def _collection(self, kind: str) -> Any:
        names = {
            "Issue": "issues",
            "PullRequest": "pulls",
            "Comment": "comments",
            "Label": "labels",
            "Milestone": "milestones",
            "IssueEvent": "events",
            "PipelineDefinition": "workflows",
            "Pipeline": "runs",
            "Job": "jobs",
            "Artifact": "artifacts",
            "Runner": "runners",
            "Check": "check_runs",
            "Review": "reviews",
            "Repository": "repos",
            "Ref": "branches",
            "Commit": "commits",
            "DeployKey": "keys",
            "Collaborator": "collaborators",
            "BranchProtection": "protections",
        }
        if kind not in names:
            raise self._unknown(kind)
        return self.em.store[names[kind]]

    def _record(self, kind: str, object_id: str) -> dict[str, Any]:
        """The stored record of ``kind`` known to adapters as ``object_id``."""
        state, rid = self.em.state, self.repo["id"]
        record: dict[str, Any] | None
        if kind == "Issue":
            record = state.issue(rid, int(object_id))
        elif kind == "PullRequest":
            record = state.pull(rid, int(object_id))
        elif kind == "Milestone":
            record = state.milestone(rid, int(object_id))
        elif kind == "Label":
            record = state.labels.get(int(object_id)) if object_id.isdigit() else None
            record = record or state.label(rid, object_id)
        elif kind == "Repository":
            owner, _, name = object_id.rpartition("/")
            record = state.repo(owner or self.owner, name)
        elif kind == "Ref":
            record = state.branch(rid, object_id.removeprefix("refs/heads/"))
        elif kind == "Commit":
            record = state.commits.find_one(repo_id=rid, sha=object_id)
        elif kind == "Collaborator":
            user = state.users.get(int(object_id)) if object_id.isdigit() else None
            login = user["login"] if user else object_id
            record = state.collaborators.find_one(repo_id=rid, login=login)
        elif kind == "BranchProtection":
            record = state.protections.find_one(repo_id=rid, branch=object_id)
        else:
            collection = self._collection(kind)
            record = collection.get(int(object_id)) if object_id.isdigit() else None
            record = record or collection.get(object_id)
        if record is None:
            raise KeyError(f"no {kind} {object_id} in {self.owner}/{self.repo_name}")
        return record

    # -- requests and faults ------------------------------------------------

    def requests(self) -> Sequence[RecordedRequest]:
        """Every request that reached the emulator, oldest first."""
        return [RecordedRequest(e.method, e.path, e.operation) for e in self.em.requests]

    def inject_fault(self, fault: Fault, *, times: int = 1, method: str | None = None) -> None:
        """Make the next ``times`` requests fail as GitHub fails them."""
        if fault is Fault.RATE_LIMIT:
            limiter = self.em.rate_limiter
            reset = int(self.em.clock().timestamp()) + 60
            headers = {
                "x-ratelimit-limit": str(limiter.policy.limit if limiter else 5000),
                "x-ratelimit-remaining": "0",
                "x-ratelimit-used": str(limiter.policy.limit if limiter else 5000),
                "x-ratelimit-reset": str(reset),
                "x-ratelimit-resource": "core",
            }
            rule = Rule(
                kind=FaultKind.RATE_LIMIT,
                status=403,
                method=method,
                times=times,
                message="API rate limit exceeded for installation.",
                headers=headers,
                retry_after=60,
            )
        elif fault is Fault.SERVER_ERROR:
            rule = Rule(
                kind=FaultKind.STATUS,
                status=502,
                method=method,
                times=times,
                message="Server Error",
            )
        elif fault is Fault.LOST_RESPONSE:
            rule = Rule(kind=FaultKind.DROPPED, method=method, times=times)
        else:
            raise ValueError(f"unknown fault {fault!r}")
        self.em.faults.add(rule)

    def set_native_field(self, kind: str, object_id: str, name: str, value: Any) -> None:
        """Add a provider field to an object's JSON (the canonical model has no place for it)."""
        record = self._record(kind, object_id)
        native = dict(record.get("_native", {}))
        native[name] = value
        self._collection(kind).update(record["id"], {"_native": native})


def _run_status(status: str, conclusion: str | None) -> tuple[str, str | None]:
    """A canonical-ish seed status (``failure``, ``running``…) -> GitHub status + conclusion."""
    native = {
        "running": ("in_progress", None),
        "in_progress": ("in_progress", None),
        "queued": ("queued", None),
        "pending": ("queued", None),
        "waiting": ("waiting", None),
        "completed": ("completed", conclusion or "success"),
    }
    if status in native:
        return native[status]
    # A conclusion given as the status: "failure", "success", "cancelled"...
    return "completed", conclusion or status
