"""Webhook payloads shaped by GitHub's webhook schema (not the REST one).

Webhook objects differ from REST objects in small ways (no
``user_view_type`` on users, a ``check_suite`` object on check runs, a
deploy key without ``added_by``…); each builder starts from the REST render
and applies exactly those differences.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kradle_provider_github.emulator.objects import Renderer
from kradle_provider_github.emulator.state import node_id

__all__ = ["Payloads"]

_REPO_REST_ONLY = (
    "network_count",
    "subscribers_count",
    "temp_clone_token",
    "template_repository",
)
_ISSUE_REST_ONLY = ("closed_by",)
_REPO_LITE = (
    "archive_url",
    "assignees_url",
    "blobs_url",
    "branches_url",
    "collaborators_url",
    "comments_url",
    "commits_url",
    "compare_url",
    "contents_url",
    "contributors_url",
    "deployments_url",
    "description",
    "downloads_url",
    "events_url",
    "fork",
    "forks_url",
    "full_name",
    "git_commits_url",
    "git_refs_url",
    "git_tags_url",
    "hooks_url",
    "html_url",
    "id",
    "issue_comment_url",
    "issue_events_url",
    "issues_url",
    "keys_url",
    "labels_url",
    "languages_url",
    "merges_url",
    "milestones_url",
    "name",
    "node_id",
    "notifications_url",
    "owner",
    "private",
    "pulls_url",
    "releases_url",
    "stargazers_url",
    "statuses_url",
    "subscribers_url",
    "subscription_url",
    "tags_url",
    "teams_url",
    "trees_url",
    "url",
)


_REST_ONLY_ANYWHERE = frozenset({"user_view_type", "archived_at", "archived_by"})


def _clean(node: Any) -> Any:
    """Drop REST-only keys that appear on nested users and labels."""
    if isinstance(node, list):
        return [_clean(item) for item in node]
    if isinstance(node, dict):
        return {k: _clean(v) for k, v in node.items() if k not in _REST_ONLY_ANYWHERE}
    return node


class Payloads:
    """Builds webhook payloads for one emulator (URLs from its configured API root)."""

    def __init__(self, render: Renderer, installation_id: int | None = None) -> None:
        self.r = render
        self.installation_id = installation_id

    # -- common parts -------------------------------------------------------

    def repository(self, repo: Mapping[str, Any]) -> dict[str, Any]:
        """The webhook ``repository`` object."""
        out = self.r.repository(repo, full=True)
        for key in _REPO_REST_ONLY:
            out.pop(key, None)
        out.pop("organization", None)
        out["custom_properties"] = dict(repo.get("custom_properties", {}))
        return dict(_clean(out))

    def envelope(self, repo_id: int, sender: str | None) -> dict[str, Any]:
        """``repository``, ``sender`` and, for an organization, ``organization``."""
        repo = self.r.repo_of(repo_id)
        owner = self.r.state.user(repo["owner"])
        sender_user = self.r.user(sender) or self.r.user(repo["owner"])
        out: dict[str, Any] = {
            "repository": self.repository(repo),
            "sender": _clean(sender_user),
        }
        if owner is not None and owner["type"] == "Organization":
            api = f"{self.r.api}/orgs/{owner['login']}"
            out["organization"] = {
                "login": owner["login"],
                "id": owner["id"],
                "node_id": node_id("O", owner["id"]),
                "url": api,
                "repos_url": f"{api}/repos",
                "events_url": f"{api}/events",
                "hooks_url": f"{api}/hooks",
                "issues_url": f"{api}/issues",
                "members_url": f"{api}/members{{/member}}",
                "public_members_url": f"{api}/public_members{{/member}}",
                "avatar_url": f"{self.r.web}/avatars/u/{owner['id']}?v=4",
                "description": owner.get("description"),
            }
        if self.installation_id is not None:
            out["installation"] = {
                "id": self.installation_id,
                "node_id": node_id("MDIzOkludGVncmF0aW9uSW5zdGFsbGF0aW9u", self.installation_id),
            }
        return out

    # -- issue tracking -----------------------------------------------------

    def issue(self, issue: Mapping[str, Any]) -> dict[str, Any]:
        """The webhook ``issue`` object."""
        out = self.r.issue(issue)
        for key in _ISSUE_REST_ONLY:
            out.pop(key, None)
        out.pop("pull_request", None) if not issue.get("is_pull") else None
        if out.get("pull_request") is not None:
            out["pull_request"] = {
                k: v for k, v in out["pull_request"].items() if k != "merged_at"
            } | {"merged_at": out["pull_request"].get("merged_at")}
        return dict(_clean(out))

    def issues(
        self,
        action: str,
        issue: Mapping[str, Any],
        sender: str | None,
        *,
        changes: Mapping[str, Any] | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        """``issues`` event."""
        out: dict[str, Any] = {"action": action, "issue": self.issue(issue)}
        if changes is not None:
            out["changes"] = dict(changes)
        out.update(extra or {})
        return out | self.envelope(issue["repo_id"], sender)

    def issue_comment(
        self,
        action: str,
        comment: Mapping[str, Any],
        issue: Mapping[str, Any],
        sender: str | None,
        *,
        changes: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        """``issue_comment`` event."""
        out: dict[str, Any] = {
            "action": action,
            "issue": self.issue(issue),
            "comment": _clean(self.r.comment(comment)),
        }
        if changes is not None:
            out["changes"] = dict(changes)
        return out | self.envelope(issue["repo_id"], sender)

    def label(
        self,
        action: str,
        label: Mapping[str, Any],
        sender: str | None,
        *,
        changes: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        """``label`` event."""
        out: dict[str, Any] = {"action": action, "label": _clean(self.r.label(label))}
        if changes is not None:
            out["changes"] = dict(changes)
        return out | self.envelope(label["repo_id"], sender)

    def milestone(
        self, action: str, milestone: Mapping[str, Any], sender: str | None
    ) -> dict[str, Any]:
        """``milestone`` event."""
        out = {"action": action, "milestone": _clean(self.r.milestone(milestone))}
        return out | self.envelope(milestone["repo_id"], sender)

    # -- forge --------------------------------------------------------------

    def pull_request_object(self, pull: Mapping[str, Any]) -> dict[str, Any]:
        """The webhook ``pull_request`` object."""
        out = self.r.pull_request(pull)
        for side in ("head", "base"):
            out[side]["repo"] = self.repository(self.r.repo_of(pull["repo_id"]))
        return dict(_clean(out))

    def pull_request(
        self,
        action: str,
        pull: Mapping[str, Any],
        sender: str | None,
        *,
        changes: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        """``pull_request`` event."""
        out: dict[str, Any] = {
            "action": action,
            "number": pull["number"],
            "pull_request": self.pull_request_object(pull),
        }
        if changes is not None:
            out["changes"] = dict(changes)
        return out | self.envelope(pull["repo_id"], sender)

    def deploy_key(self, action: str, key: Mapping[str, Any], sender: str | None) -> dict[str, Any]:
        """``deploy_key`` event."""
        rest = self.r.deploy_key(key)
        body = {k: rest[k] for k in ("id", "key", "url", "title", "verified", "created_at")}
        body["read_only"] = rest["read_only"]
        return {"action": action, "key": body} | self.envelope(key["repo_id"], sender)

    def branch_protection_rule(
        self, action: str, rule: Mapping[str, Any], sender: str | None
    ) -> dict[str, Any]:
        """``branch_protection_rule`` event (the rule in GitHub's webhook vocabulary)."""
        reviews = rule.get("required_pull_request_reviews") or {}
        checks = rule.get("required_status_checks") or {}

        def level(flag: bool) -> str:
            return "everyone" if flag else "off"

        body = {
            "id": rule["id"],
            "repository_id": rule["repo_id"],
            "name": rule["branch"],
            "created_at": rule["created_at"],
            "updated_at": rule["updated_at"],
            "pull_request_reviews_enforcement_level": level(bool(reviews)),
            "required_approving_review_count": int(
                reviews.get("required_approving_review_count", 0)
            ),
            "dismiss_stale_reviews_on_push": bool(reviews.get("dismiss_stale_reviews", False)),
            "require_code_owner_review": bool(reviews.get("require_code_owner_reviews", False)),
            "require_last_push_approval": bool(reviews.get("require_last_push_approval", False)),
            "authorized_dismissal_actors_only": False,
            "ignore_approvals_from_contributors": False,
            "required_status_checks": list(checks.get("contexts", [])),
            "required_status_checks_enforcement_level": level(bool(checks)),
            "strict_required_status_checks_policy": bool(checks.get("strict", False)),
            "signature_requirement_enforcement_level": "off",
            "linear_history_requirement_enforcement_level": level(
                bool(rule.get("required_linear_history"))
            ),
            "admin_enforced": bool(rule.get("enforce_admins", False)),
            "create_protected": False,
            "allow_force_pushes_enforcement_level": level(bool(rule.get("allow_force_pushes"))),
            "allow_deletions_enforcement_level": level(bool(rule.get("allow_deletions"))),
            "merge_queue_enforcement_level": "off",
            "required_deployments_enforcement_level": "off",
            "required_conversation_resolution_level": level(
                bool(rule.get("required_conversation_resolution"))
            ),
            "authorized_actors_only": False,
            "authorized_actor_names": [],
        }
        return {"action": action, "rule": body} | self.envelope(rule["repo_id"], sender)

    def push(
        self,
        repo_id: int,
        ref: str,
        before: str,
        commits: list[Mapping[str, Any]],
        sender: str | None,
        *,
        created: bool = False,
    ) -> dict[str, Any]:
        """``push`` event for ``commits`` (oldest first) landing on ``ref``."""
        web = self.r.repo_web(repo_id)
        after = commits[-1]["sha"] if commits else before

        def hook_commit(c: Mapping[str, Any]) -> dict[str, Any]:
            who = self.r.git_user(c["author"], c["date"])
            person = {"name": who["name"], "email": who["email"], "username": c["author"]}
            return {
                "id": c["sha"],
                "tree_id": c["tree"],
                "distinct": True,
                "message": c["message"],
                "timestamp": c["date"],
                "url": f"{web}/commit/{c['sha']}",
                "author": person,
                "committer": person,
                "added": [],
                "removed": [],
                "modified": [c.get("file", "src/widgets/core.py")],
            }

        hooked = [hook_commit(c) for c in commits]
        pusher_name = sender or "ghost"
        out: dict[str, Any] = {
            "ref": ref,
            "before": before,
            "after": after,
            "created": created,
            "deleted": False,
            "forced": False,
            "base_ref": None,
            "compare": f"{web}/compare/{before[:12]}...{after[:12]}",
            "commits": hooked,
            "head_commit": hooked[-1] if hooked else None,
        }
        envelope = self.envelope(repo_id, sender)
        repo = envelope["repository"]
        # Push payloads carry the repository times as epoch seconds, as GitHub does.
        repo["created_at"] = _epoch(repo["created_at"])
        repo["pushed_at"] = _epoch(repo["pushed_at"])
        repo["stargazers"] = repo["stargazers_count"]
        repo["master_branch"] = repo["default_branch"]
        out["pusher"] = {"name": pusher_name, "email": f"{pusher_name}@users.noreply.github.com"}
        return out | envelope

    # -- ci/cd --------------------------------------------------------------

    def workflow_run(
        self, action: str, run: Mapping[str, Any], sender: str | None
    ) -> dict[str, Any]:
        """``workflow_run`` event."""
        rest = self.r.workflow_run(run)
        full = self.repository(self.r.repo_of(run["repo_id"]))
        # Workflow run payloads carry the "repository-lite" shape.
        rest["repository"] = {k: full[k] for k in _REPO_LITE}
        rest["head_repository"] = dict(rest["repository"])
        rest.pop("referenced_workflows", None) if not rest.get("referenced_workflows") else None
        workflow = self.r.state.workflows.get(run["workflow_id"])
        assert workflow is not None
        out = {
            "action": action,
            "workflow": self.r.workflow(workflow),
            "workflow_run": _clean(rest),
        }
        return out | self.envelope(run["repo_id"], sender)

    def workflow_job(
        self, action: str, job: Mapping[str, Any], sender: str | None
    ) -> dict[str, Any]:
        """``workflow_job`` event."""
        rest = self.r.job(job)
        out = {"action": action, "workflow_job": rest}
        return out | self.envelope(job["repo_id"], sender)

    def check_run(
        self,
        action: str,
        check: Mapping[str, Any],
        app: Mapping[str, Any],
        sender: str | None,
    ) -> dict[str, Any]:
        """``check_run`` event (with the ``check_suite`` object webhooks carry)."""
        rest = self.r.check_run(check, app)
        hook_app = {
            k: v for k, v in rest["app"].items() if k not in ("client_id", "installations_count")
        }
        rest["app"] = _clean(hook_app)
        suite = self.r.state.check_suites.get(check["check_suite_id"]) or {}
        api = self.r.repo_api(check["repo_id"])
        rest["check_suite"] = {
            "id": check["check_suite_id"],
            "node_id": node_id("CS", check["check_suite_id"]),
            "head_branch": suite.get("head_branch"),
            "head_sha": check["head_sha"],
            "status": suite.get("status", "queued"),
            "conclusion": suite.get("conclusion"),
            "url": f"{api}/check-suites/{check['check_suite_id']}",
            "before": suite.get("before"),
            "after": check["head_sha"],
            "pull_requests": rest["pull_requests"],
            "app": rest["app"],
            "created_at": suite.get("created_at", check["created_at"]),
            "updated_at": suite.get("updated_at", check["updated_at"]),
        }
        if rest["started_at"] is None:
            rest["started_at"] = check["created_at"]
        out = {"action": action, "check_run": rest}
        return out | self.envelope(check["repo_id"], sender)

    def status(self, status: Mapping[str, Any], sender: str | None) -> dict[str, Any]:
        """``status`` event."""
        rest = self.r.status(status)
        commit = self.r.state.commits.find_one(repo_id=status["repo_id"], sha=status["sha"])
        assert commit is not None
        full = self.r.commit(commit)
        full.pop("stats", None)
        full.pop("files", None)
        full["commit"].pop("verification", None)
        full["commit"]["verification"] = {
            "verified": False,
            "reason": "unsigned",
            "signature": None,
            "payload": None,
        }
        branches = [
            {
                "name": b["name"],
                "commit": {
                    "sha": b["sha"],
                    "url": f"{self.r.repo_api(b['repo_id'])}/commits/{b['sha']}",
                },
                "protected": False,
            }
            for b in self.r.state.branches.filter(repo_id=status["repo_id"], sha=status["sha"])
        ]
        out = {
            "id": rest["id"],
            "sha": status["sha"],
            "name": self.r.repo_of(status["repo_id"])["full_name"],
            "avatar_url": rest["avatar_url"],
            "target_url": rest["target_url"],
            "context": rest["context"],
            "description": rest["description"],
            "state": rest["state"],
            "commit": _clean(full),
            "branches": branches,
            "created_at": rest["created_at"],
            "updated_at": rest["updated_at"],
        }
        return out | self.envelope(status["repo_id"], sender)


def _epoch(value: Any) -> Any:
    from datetime import datetime

    if not isinstance(value, str):
        return value
    return int(datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp())
