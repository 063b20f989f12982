"""Builders of GitHub's REST JSON objects, as GitHub returns them.

Every builder turns an internal record (see :mod:`.state`) into the full
object of GitHub's REST description: all required fields of the schema named
in the docstring, with URLs built from the API root the client used (so
pagination and ``url`` fields point back at this emulator, wherever it runs).
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from kradle_provider_github.emulator.state import GitHubState, node_id

__all__ = ["Renderer"]

_EMPTY_REACTIONS = ("+1", "-1", "laugh", "confused", "heart", "hooray", "eyes", "rocket")


@dataclass(frozen=True)
class Renderer:
    """Renders records for one API root (``api``) and web root (``web``)."""

    state: GitHubState
    api: str
    web: str
    cache: dict[Any, Any] = field(default_factory=dict, compare=False, repr=False)

    # -- users --------------------------------------------------------------

    def user(self, login: str | None) -> dict[str, Any] | None:
        """``simple-user`` (``None`` for a missing login, as ``nullable-simple-user``)."""
        if login is None:
            return None
        key = ("user", login)
        if key not in self.cache:
            record = self.state.user(login)
            self.cache[key] = None if record is None else self.simple_user(record)
        cached = self.cache[key]
        return None if cached is None else dict(cached)

    def simple_user(self, u: Mapping[str, Any]) -> dict[str, Any]:
        """``simple-user`` from a user record."""
        login = u["login"]
        api = f"{self.api}/users/{login}"
        return {
            "login": login,
            "id": u["id"],
            "node_id": node_id("U" if u["type"] != "Organization" else "O", u["id"]),
            "avatar_url": f"{self.web}/avatars/u/{u['id']}?v=4",
            "gravatar_id": "",
            "url": api,
            "html_url": f"{self.web}/{login}",
            "followers_url": f"{api}/followers",
            "following_url": f"{api}/following{{/other_user}}",
            "gists_url": f"{api}/gists{{/gist_id}}",
            "starred_url": f"{api}/starred{{/owner}}{{/repo}}",
            "subscriptions_url": f"{api}/subscriptions",
            "organizations_url": f"{api}/orgs",
            "repos_url": f"{api}/repos",
            "events_url": f"{api}/events{{/privacy}}",
            "received_events_url": f"{api}/received_events",
            "type": u["type"],
            "user_view_type": "public",
            "site_admin": bool(u.get("site_admin", False)),
        }

    def private_user(self, u: Mapping[str, Any]) -> dict[str, Any]:
        """``private-user``: what ``GET /user`` answers to the user's own token."""
        repos = self.state.repos.filter(owner=u["login"])
        return {
            **self.simple_user(u),
            "name": u.get("name"),
            "company": u.get("company"),
            "blog": u.get("blog", ""),
            "location": u.get("location"),
            "email": u.get("email"),
            "hireable": None,
            "bio": u.get("bio"),
            "twitter_username": None,
            "notification_email": u.get("email"),
            "public_repos": len([r for r in repos if not r["private"]]),
            "public_gists": 0,
            "followers": u.get("followers", 0),
            "following": 0,
            "created_at": u["created_at"],
            "updated_at": u["updated_at"],
            "private_gists": 0,
            "total_private_repos": len([r for r in repos if r["private"]]),
            "owned_private_repos": len([r for r in repos if r["private"]]),
            "disk_usage": 1024,
            "collaborators": 0,
            "two_factor_authentication": True,
            "plan": {"name": "pro", "space": 976562499, "private_repos": 9999, "collaborators": 0},
        }

    def git_user(self, login: str, when: str) -> dict[str, Any]:
        """``git-user``: a commit's author/committer signature."""
        record = self.state.user(login)
        name = (record or {}).get("name") or login
        return {"name": name, "email": f"{login}@users.noreply.github.com", "date": when}

    # -- repositories -------------------------------------------------------

    def _repo_urls(self, r: Mapping[str, Any]) -> dict[str, Any]:
        api = f"{self.api}/repos/{r['full_name']}"
        host = self.web.split("://", 1)[-1]
        return {
            "html_url": f"{self.web}/{r['full_name']}",
            "url": api,
            "forks_url": f"{api}/forks",
            "keys_url": f"{api}/keys{{/key_id}}",
            "collaborators_url": f"{api}/collaborators{{/collaborator}}",
            "teams_url": f"{api}/teams",
            "hooks_url": f"{api}/hooks",
            "issue_events_url": f"{api}/issues/events{{/number}}",
            "events_url": f"{api}/events",
            "assignees_url": f"{api}/assignees{{/user}}",
            "branches_url": f"{api}/branches{{/branch}}",
            "tags_url": f"{api}/tags",
            "blobs_url": f"{api}/git/blobs{{/sha}}",
            "git_tags_url": f"{api}/git/tags{{/sha}}",
            "git_refs_url": f"{api}/git/refs{{/sha}}",
            "trees_url": f"{api}/git/trees{{/sha}}",
            "statuses_url": f"{api}/statuses/{{sha}}",
            "languages_url": f"{api}/languages",
            "stargazers_url": f"{api}/stargazers",
            "contributors_url": f"{api}/contributors",
            "subscribers_url": f"{api}/subscribers",
            "subscription_url": f"{api}/subscription",
            "commits_url": f"{api}/commits{{/sha}}",
            "git_commits_url": f"{api}/git/commits{{/sha}}",
            "comments_url": f"{api}/comments{{/number}}",
            "issue_comment_url": f"{api}/issues/comments{{/number}}",
            "contents_url": f"{api}/contents/{{+path}}",
            "compare_url": f"{api}/compare/{{base}}...{{head}}",
            "merges_url": f"{api}/merges",
            "archive_url": f"{api}/{{archive_format}}{{/ref}}",
            "downloads_url": f"{api}/downloads",
            "issues_url": f"{api}/issues{{/number}}",
            "pulls_url": f"{api}/pulls{{/number}}",
            "milestones_url": f"{api}/milestones{{/number}}",
            "notifications_url": f"{api}/notifications{{?since,all,participating}}",
            "labels_url": f"{api}/labels{{/name}}",
            "releases_url": f"{api}/releases{{/id}}",
            "deployments_url": f"{api}/deployments",
            "git_url": f"git://{host}/{r['full_name']}.git",
            "ssh_url": f"git@{host}:{r['full_name']}.git",
            "clone_url": f"{self.web}/{r['full_name']}.git",
            "svn_url": f"{self.web}/{r['full_name']}",
            "mirror_url": None,
        }

    def _open_issues(self, repo_id: int) -> int:
        key = ("open_issues", repo_id)
        if key not in self.cache:
            self.cache[key] = len(self.state.issues.filter(repo_id=repo_id, state="open"))
        count: int = self.cache[key]
        return count

    def repository(self, r: Mapping[str, Any], *, full: bool = True) -> dict[str, Any]:
        """``full-repository`` (``full=False``: the ``repository`` fields only)."""
        owner = self.user(r["owner"])
        open_issues = self._open_issues(r["id"])
        out: dict[str, Any] = {
            "id": r["id"],
            "node_id": node_id("R", r["id"]),
            "name": r["name"],
            "full_name": r["full_name"],
            "private": r["private"],
            "owner": owner,
            "description": r.get("description"),
            "fork": False,
            **self._repo_urls(r),
            "homepage": r.get("homepage"),
            "language": r.get("language"),
            "forks_count": 0,
            "stargazers_count": r.get("stargazers_count", 0),
            "watchers_count": r.get("stargazers_count", 0),
            "size": r.get("size", 0),
            "default_branch": r["default_branch"],
            "open_issues_count": open_issues,
            "is_template": False,
            "topics": list(r.get("topics", [])),
            "has_issues": r.get("has_issues", True),
            "has_projects": r.get("has_projects", True),
            "has_wiki": r.get("has_wiki", True),
            "has_pages": False,
            "has_downloads": True,
            "has_discussions": r.get("has_discussions", False),
            "archived": r.get("archived", False),
            "disabled": False,
            "visibility": "private" if r["private"] else "public",
            "pushed_at": r["pushed_at"],
            "created_at": r["created_at"],
            "updated_at": r["updated_at"],
            "permissions": {
                "admin": True,
                "maintain": True,
                "push": True,
                "triage": True,
                "pull": True,
            },
            "allow_rebase_merge": True,
            "allow_squash_merge": True,
            "allow_merge_commit": True,
            "allow_auto_merge": False,
            "delete_branch_on_merge": r.get("delete_branch_on_merge", False),
            "allow_update_branch": False,
            "use_squash_pr_title_as_default": False,
            "squash_merge_commit_title": "COMMIT_OR_PR_TITLE",
            "squash_merge_commit_message": "COMMIT_MESSAGES",
            "merge_commit_title": "MERGE_MESSAGE",
            "merge_commit_message": "PR_TITLE",
            "allow_forking": True,
            "web_commit_signoff_required": False,
            "license": {
                "key": "mit",
                "name": "MIT License",
                "spdx_id": "MIT",
                "url": f"{self.api}/licenses/mit",
                "node_id": "MDc6TGljZW5zZTEz",
            },
            "forks": 0,
            "open_issues": open_issues,
            "watchers": r.get("stargazers_count", 0),
        }
        if full:
            out["network_count"] = 0
            out["subscribers_count"] = r.get("subscribers_count", 3)
            if owner is not None and owner["type"] == "Organization":
                out["organization"] = owner
        out.update(r.get("_native", {}))
        return out

    def minimal_repository(self, r: Mapping[str, Any]) -> dict[str, Any]:
        """``minimal-repository``: what repository listings answer."""
        out = self.repository(r, full=False)
        out.pop("allow_update_branch", None)
        return out

    def repo_of(self, repo_id: int) -> dict[str, Any]:
        """The record of repository ``repo_id`` (it must exist)."""
        key = ("repo", repo_id)
        if key in self.cache:
            return dict(self.cache[key])
        record = self.state.repos.get(repo_id)
        self.cache[key] = record
        assert record is not None, f"repository {repo_id} vanished"
        return record

    def repo_api(self, repo_id: int) -> str:
        """The API URL of a repository."""
        return f"{self.api}/repos/{self.repo_of(repo_id)['full_name']}"

    def repo_web(self, repo_id: int) -> str:
        """The web URL of a repository."""
        return f"{self.web}/{self.repo_of(repo_id)['full_name']}"

    # -- issues -------------------------------------------------------------

    def label(self, label: Mapping[str, Any]) -> dict[str, Any]:
        """``label``."""
        out: dict[str, Any] = {
            "id": label["id"],
            "node_id": node_id("LA", label["id"]),
            "url": f"{self.repo_api(label['repo_id'])}/labels/{label['name']}".replace(" ", "%20"),
            "name": label["name"],
            "color": label["color"],
            "default": label.get("default", False),
            "description": label.get("description"),
            # Newer GitHub API versions report label archival (null while live).
            "archived_at": label.get("archived_at"),
            "archived_by": self.user(label.get("archived_by")),
        }
        out.update(label.get("_native", {}))
        return out

    def labels_of(self, repo_id: int, names: list[str]) -> list[dict[str, Any]]:
        """The ``label`` objects of an issue's label names (unknown names skipped)."""
        key = ("labels", repo_id)
        if key not in self.cache:
            self.cache[key] = {
                label["name"]: self.label(label)
                for label in self.state.labels.filter(repo_id=repo_id)
            }
        known = self.cache[key]
        return [dict(known[name]) for name in names if name in known]

    def milestone(self, m: Mapping[str, Any]) -> dict[str, Any]:
        """``milestone``."""
        api = self.repo_api(m["repo_id"])
        issues = self.state.issues.filter(repo_id=m["repo_id"], milestone=m["number"])
        out: dict[str, Any] = {
            "url": f"{api}/milestones/{m['number']}",
            "html_url": f"{self.repo_web(m['repo_id'])}/milestone/{m['number']}",
            "labels_url": f"{api}/milestones/{m['number']}/labels",
            "id": m["id"],
            "node_id": node_id("MI", m["id"]),
            "number": m["number"],
            "title": m["title"],
            "description": m.get("description"),
            "creator": self.user(m.get("creator")),
            "open_issues": len([i for i in issues if i["state"] == "open"]),
            "closed_issues": len([i for i in issues if i["state"] == "closed"]),
            "state": m["state"],
            "created_at": m["created_at"],
            "updated_at": m["updated_at"],
            "due_on": m.get("due_on"),
            "closed_at": m.get("closed_at"),
        }
        out.update(m.get("_native", {}))
        return out

    def milestone_of(self, repo_id: int, number: int | None) -> dict[str, Any] | None:
        """The ``nullable-milestone`` of an issue."""
        if number is None:
            return None
        key = ("milestone", repo_id, number)
        if key not in self.cache:
            found = self.state.milestone(repo_id, number)
            self.cache[key] = self.milestone(found) if found else None
        cached = self.cache[key]
        return None if cached is None else copy.deepcopy(cached)

    def reactions(self, url: str) -> dict[str, Any]:
        """``reaction-rollup`` (nobody reacts in the emulator)."""
        return {"url": f"{url}/reactions", "total_count": 0, **dict.fromkeys(_EMPTY_REACTIONS, 0)}

    def issue(self, i: Mapping[str, Any]) -> dict[str, Any]:
        """``issue``; a PR-backed issue carries the ``pull_request`` key."""
        api = self.repo_api(i["repo_id"])
        web = self.repo_web(i["repo_id"])
        url = f"{api}/issues/{i['number']}"
        assignees = [u for u in (self.user(a) for a in i.get("assignees", [])) if u]
        out: dict[str, Any] = {
            "url": url,
            "repository_url": api,
            "labels_url": f"{url}/labels{{/name}}",
            "comments_url": f"{url}/comments",
            "events_url": f"{url}/events",
            "html_url": f"{web}/{'pull' if i.get('is_pull') else 'issues'}/{i['number']}",
            "id": i["id"],
            "node_id": node_id("PR" if i.get("is_pull") else "I", i["id"]),
            "number": i["number"],
            "title": i["title"],
            "user": self.user(i["user"]),
            "labels": self.labels_of(i["repo_id"], i.get("labels", [])),
            "state": i["state"],
            "locked": i.get("locked", False),
            "assignee": assignees[0] if assignees else None,
            "assignees": assignees,
            "milestone": self.milestone_of(i["repo_id"], i.get("milestone")),
            "comments": i.get("comments", 0),
            "created_at": i["created_at"],
            "updated_at": i["updated_at"],
            "closed_at": i.get("closed_at"),
            "author_association": i.get("author_association", "MEMBER"),
            "active_lock_reason": i.get("active_lock_reason"),
            "body": i.get("body"),
            "closed_by": self.user(i.get("closed_by")),
            "reactions": self.reactions(url),
            "timeline_url": f"{url}/timeline",
            "performed_via_github_app": None,
            "state_reason": i.get("state_reason"),
        }
        if i.get("is_pull"):
            pull = self.state.pull(i["repo_id"], i["number"])
            out["draft"] = bool(pull and pull.get("draft"))
            out["pull_request"] = {
                "url": f"{api}/pulls/{i['number']}",
                "html_url": f"{web}/pull/{i['number']}",
                "diff_url": f"{web}/pull/{i['number']}.diff",
                "patch_url": f"{web}/pull/{i['number']}.patch",
                "merged_at": pull.get("merged_at") if pull else None,
            }
        out.update(i.get("_native", {}))
        return out

    def comment(self, c: Mapping[str, Any]) -> dict[str, Any]:
        """``issue-comment``."""
        api = self.repo_api(c["repo_id"])
        url = f"{api}/issues/comments/{c['id']}"
        kind = "pull" if c.get("on_pull") else "issues"
        out = {
            "url": url,
            "html_url": (
                f"{self.repo_web(c['repo_id'])}/{kind}/{c['issue_number']}#issuecomment-{c['id']}"
            ),
            "issue_url": f"{api}/issues/{c['issue_number']}",
            "id": c["id"],
            "node_id": node_id("IC", c["id"]),
            "user": self.user(c["user"]),
            "created_at": c["created_at"],
            "updated_at": c["updated_at"],
            "author_association": c.get("author_association", "MEMBER"),
            "body": c["body"],
            "reactions": self.reactions(url),
            "performed_via_github_app": None,
        }
        out.update(c.get("_native", {}))
        return out

    def issue_event(self, e: Mapping[str, Any], *, with_issue: bool) -> dict[str, Any]:
        """``issue-event`` (repository-wide, ``with_issue``) or the per-issue shapes."""
        api = self.repo_api(e["repo_id"])
        out: dict[str, Any] = {
            "id": e["id"],
            "node_id": node_id("E", e["id"]),
            "url": f"{api}/issues/events/{e['id']}",
            "actor": self.user(e["actor"]),
            "event": e["event"],
            "commit_id": e.get("commit_id"),
            "commit_url": (f"{api}/commits/{e['commit_id']}" if e.get("commit_id") else None),
            "created_at": e["created_at"],
            "performed_via_github_app": None,
        }
        if "label" in e:
            out["label"] = e["label"]
        if "assignee" in e:
            out["assignee"] = self.user(e["assignee"])
            out["assigner"] = self.user(e["actor"])
        if "milestone" in e:
            out["milestone"] = {"title": e["milestone"]}
        if "rename" in e:
            out["rename"] = e["rename"]
        if "lock_reason" in e:
            out["lock_reason"] = e["lock_reason"]
        if e["event"] in ("closed", "reopened", "merged", "referenced"):
            out["state_reason"] = e.get("state_reason")
        if with_issue:
            issue = self.state.issue(e["repo_id"], e["issue_number"])
            if issue is not None:
                out["issue"] = self.issue(issue)
        out.update(e.get("_native", {}))
        return out

    # -- pull requests ------------------------------------------------------

    def _branch_ref(self, repo_id: int, ref: str, sha: str) -> dict[str, Any]:
        repo = self.repo_of(repo_id)
        return {
            "label": f"{repo['owner']}:{ref}",
            "ref": ref,
            "sha": sha,
            "user": self.user(repo["owner"]),
            "repo": self.repository(repo, full=False),
        }

    def pull_request(self, p: Mapping[str, Any], *, simple: bool = False) -> dict[str, Any]:
        """``pull-request`` (``simple=True``: ``pull-request-simple`` for listings)."""
        issue = self.state.issue(p["repo_id"], p["number"]) or {}
        api = self.repo_api(p["repo_id"])
        web = self.repo_web(p["repo_id"])
        n = p["number"]
        url = f"{api}/pulls/{n}"
        assignees = [u for u in (self.user(a) for a in issue.get("assignees", [])) if u]
        reviewers = [u for u in (self.user(a) for a in p.get("requested_reviewers", [])) if u]
        out: dict[str, Any] = {
            "url": url,
            "id": p["id"],
            "node_id": node_id("PR", p["id"]),
            "html_url": f"{web}/pull/{n}",
            "diff_url": f"{web}/pull/{n}.diff",
            "patch_url": f"{web}/pull/{n}.patch",
            "issue_url": f"{api}/issues/{n}",
            "commits_url": f"{url}/commits",
            "review_comments_url": f"{url}/comments",
            "review_comment_url": f"{api}/pulls/comments{{/number}}",
            "comments_url": f"{api}/issues/{n}/comments",
            "statuses_url": f"{api}/statuses/{p['head_sha']}",
            "number": n,
            "state": issue.get("state", "open"),
            "locked": issue.get("locked", False),
            "title": issue.get("title", ""),
            "user": self.user(issue.get("user")),
            "body": issue.get("body"),
            # The pull-request schema types label descriptions as plain strings.
            "labels": [
                {**label, "description": label["description"] or ""}
                for label in self.labels_of(p["repo_id"], issue.get("labels", []))
            ],
            "milestone": self.milestone_of(p["repo_id"], issue.get("milestone")),
            "active_lock_reason": None,
            "created_at": issue.get("created_at", p["created_at"]),
            "updated_at": issue.get("updated_at", p["updated_at"]),
            "closed_at": issue.get("closed_at"),
            "merged_at": p.get("merged_at"),
            "merge_commit_sha": p.get("merge_commit_sha"),
            "assignee": assignees[0] if assignees else None,
            "assignees": assignees,
            "requested_reviewers": reviewers,
            "requested_teams": [],
            "head": self._branch_ref(p["repo_id"], p["head_ref"], p["head_sha"]),
            "base": self._branch_ref(p["repo_id"], p["base_ref"], p["base_sha"]),
            "_links": {
                "self": {"href": url},
                "html": {"href": f"{web}/pull/{n}"},
                "issue": {"href": f"{api}/issues/{n}"},
                "comments": {"href": f"{api}/issues/{n}/comments"},
                "review_comments": {"href": f"{url}/comments"},
                "review_comment": {"href": f"{api}/pulls/comments{{/number}}"},
                "commits": {"href": f"{url}/commits"},
                "statuses": {"href": f"{api}/statuses/{p['head_sha']}"},
            },
            "author_association": issue.get("author_association", "MEMBER"),
            "auto_merge": None,
            "draft": bool(p.get("draft", False)),
        }
        if not simple:
            merged = p.get("merged_at") is not None
            out.update(
                {
                    "merged": merged,
                    "mergeable": None if merged or out["state"] == "closed" else True,
                    "rebaseable": None if merged else True,
                    "mergeable_state": "unknown" if merged else "clean",
                    "merged_by": self.user(p.get("merged_by")),
                    "comments": issue.get("comments", 0),
                    "review_comments": 0,
                    "maintainer_can_modify": bool(p.get("maintainer_can_modify", False)),
                    "commits": p.get("commits", 1),
                    "additions": p.get("additions", 10),
                    "deletions": p.get("deletions", 2),
                    "changed_files": p.get("changed_files", 1),
                }
            )
        out.update(p.get("_native", {}))
        return out

    def review(self, rv: Mapping[str, Any]) -> dict[str, Any]:
        """``pull-request-review``."""
        api = self.repo_api(rv["repo_id"])
        web = self.repo_web(rv["repo_id"])
        n = rv["pull_number"]
        html = f"{web}/pull/{n}#pullrequestreview-{rv['id']}"
        out: dict[str, Any] = {
            "id": rv["id"],
            "node_id": node_id("PRR", rv["id"]),
            "user": self.user(rv["user"]),
            "body": rv.get("body", ""),
            "state": rv["state"],
            "html_url": html,
            "pull_request_url": f"{api}/pulls/{n}",
            "author_association": "MEMBER",
            "_links": {"html": {"href": html}, "pull_request": {"href": f"{api}/pulls/{n}"}},
            "commit_id": rv.get("commit_id"),
        }
        if rv["state"] != "PENDING":
            out["submitted_at"] = rv.get("submitted_at")
        out.update(rv.get("_native", {}))
        return out

    # -- git ----------------------------------------------------------------

    def commit(self, c: Mapping[str, Any]) -> dict[str, Any]:
        """``commit`` (a single commit with stats and files)."""
        api = self.repo_api(c["repo_id"])
        web = self.repo_web(c["repo_id"])
        sha = c["sha"]
        author = self.user(c["author"])
        out: dict[str, Any] = {
            "url": f"{api}/commits/{sha}",
            "sha": sha,
            "node_id": node_id("C", c["id"]),
            "html_url": f"{web}/commit/{sha}",
            "comments_url": f"{api}/commits/{sha}/comments",
            "commit": {
                "url": f"{api}/git/commits/{sha}",
                "author": self.git_user(c["author"], c["date"]),
                "committer": self.git_user(c["author"], c["date"]),
                "message": c["message"],
                "comment_count": 0,
                "tree": {"sha": c["tree"], "url": f"{api}/git/trees/{c['tree']}"},
                "verification": {
                    "verified": False,
                    "reason": "unsigned",
                    "signature": None,
                    "payload": None,
                    "verified_at": None,
                },
            },
            "author": author or {},
            "committer": author or {},
            "parents": [
                {"sha": p, "url": f"{api}/commits/{p}", "html_url": f"{web}/commit/{p}"}
                for p in c.get("parents", [])
            ],
            "stats": {"total": 12, "additions": 10, "deletions": 2},
            "files": [
                {
                    "sha": c["tree"],
                    "filename": c.get("file", "src/widgets/core.py"),
                    "status": "modified",
                    "additions": 10,
                    "deletions": 2,
                    "changes": 12,
                    "blob_url": f"{web}/blob/{sha}/{c.get('file', 'src/widgets/core.py')}",
                    "raw_url": f"{web}/raw/{sha}/{c.get('file', 'src/widgets/core.py')}",
                    "contents_url": f"{api}/contents/{c.get('file', 'src/widgets/core.py')}",
                    "patch": "@@ -1,2 +1,10 @@",
                }
            ],
        }
        out.update(c.get("_native", {}))
        return out

    def simple_commit(self, c: Mapping[str, Any]) -> dict[str, Any]:
        """``simple-commit`` (a workflow run's ``head_commit``)."""
        who = self.git_user(c["author"], c["date"])
        person = {"name": who["name"], "email": who["email"]}
        return {
            "id": c["sha"],
            "tree_id": c["tree"],
            "message": c["message"],
            "timestamp": c["date"],
            "author": person,
            "committer": person,
        }

    def branch(self, b: Mapping[str, Any]) -> dict[str, Any]:
        """``short-branch``."""
        api = self.repo_api(b["repo_id"])
        protected = self.state.protections.find_one(repo_id=b["repo_id"], branch=b["name"])
        return {
            "name": b["name"],
            "commit": {"sha": b["sha"], "url": f"{api}/commits/{b['sha']}"},
            "protected": protected is not None,
            "protection_url": f"{api}/branches/{b['name']}/protection",
        }

    def tag(self, t: Mapping[str, Any]) -> dict[str, Any]:
        """``tag``."""
        api = self.repo_api(t["repo_id"])
        return {
            "name": t["name"],
            "commit": {"sha": t["sha"], "url": f"{api}/commits/{t['sha']}"},
            "zipball_url": f"{api}/zipball/refs/tags/{t['name']}",
            "tarball_url": f"{api}/tarball/refs/tags/{t['name']}",
            "node_id": node_id("REF", t["id"]),
        }

    def git_ref(
        self, repo_id: int, ref: str, sha: str, ident: int, native: Mapping[str, Any] | None = None
    ) -> dict[str, Any]:
        """``git-ref`` for ``refs/heads/x`` or ``refs/tags/x``."""
        api = self.repo_api(repo_id)
        return {
            "ref": ref,
            "node_id": node_id("REF", ident),
            "url": f"{api}/git/{ref}",
            "object": {"type": "commit", "sha": sha, "url": f"{api}/git/commits/{sha}"},
            **(native or {}),
        }

    # -- forge administration -----------------------------------------------

    def deploy_key(self, k: Mapping[str, Any]) -> dict[str, Any]:
        """``deploy-key``."""
        out = {
            "id": k["id"],
            "key": k["key"],
            "url": f"{self.repo_api(k['repo_id'])}/keys/{k['id']}",
            "title": k["title"],
            "verified": True,
            "created_at": k["created_at"],
            "read_only": k["read_only"],
            "added_by": k.get("added_by"),
            "last_used": k.get("last_used"),
            "enabled": True,
        }
        out.update(k.get("_native", {}))
        return out

    def collaborator(self, c: Mapping[str, Any]) -> dict[str, Any]:
        """``collaborator``."""
        record = self.state.user(c["login"])
        assert record is not None
        role = c["role_name"]
        levels = ["read", "triage", "write", "maintain", "admin"]
        rank = levels.index(role) if role in levels else 0
        out: dict[str, Any] = {
            **self.simple_user(record),
            "permissions": {
                "pull": True,
                "triage": rank >= 1,
                "push": rank >= 2,
                "maintain": rank >= 3,
                "admin": rank >= 4,
            },
            "role_name": role,
        }
        out.update(c.get("_native", {}))
        return out

    def branch_protection(self, p: Mapping[str, Any]) -> dict[str, Any]:
        """``branch-protection`` (GET) / ``protected-branch`` (PUT) of one branch."""
        url = f"{self.repo_api(p['repo_id'])}/branches/{p['branch']}/protection"
        out: dict[str, Any] = {"url": url}
        checks = p.get("required_status_checks")
        if checks is not None:
            out["required_status_checks"] = {
                "url": f"{url}/required_status_checks",
                "strict": bool(checks.get("strict", False)),
                "contexts": list(checks.get("contexts", [])),
                "contexts_url": f"{url}/required_status_checks/contexts",
                "checks": [{"context": c, "app_id": None} for c in checks.get("contexts", [])],
            }
        reviews = p.get("required_pull_request_reviews")
        if reviews is not None:
            out["required_pull_request_reviews"] = {
                "url": f"{url}/required_pull_request_reviews",
                "dismiss_stale_reviews": bool(reviews.get("dismiss_stale_reviews", False)),
                "require_code_owner_reviews": bool(
                    reviews.get("require_code_owner_reviews", False)
                ),
                "required_approving_review_count": int(
                    reviews.get("required_approving_review_count", 1)
                ),
                "require_last_push_approval": bool(
                    reviews.get("require_last_push_approval", False)
                ),
            }
        out["required_signatures"] = {"url": f"{url}/required_signatures", "enabled": False}
        out["enforce_admins"] = {
            "url": f"{url}/enforce_admins",
            "enabled": bool(p.get("enforce_admins", False)),
        }
        for name in (
            "required_linear_history",
            "allow_force_pushes",
            "allow_deletions",
            "block_creations",
            "required_conversation_resolution",
            "lock_branch",
            "allow_fork_syncing",
        ):
            out[name] = {"enabled": bool(p.get(name, False))}
        out.update(p.get("_native", {}))
        return out

    # -- actions ------------------------------------------------------------

    def workflow(self, w: Mapping[str, Any]) -> dict[str, Any]:
        """``workflow``."""
        api = self.repo_api(w["repo_id"])
        web = self.repo_web(w["repo_id"])
        out: dict[str, Any] = {
            "id": w["id"],
            "node_id": node_id("W", w["id"]),
            "name": w["name"],
            "path": w["path"],
            "state": w.get("state", "active"),
            "created_at": w["created_at"],
            "updated_at": w["updated_at"],
            "url": f"{api}/actions/workflows/{w['id']}",
            "html_url": f"{web}/blob/main/{w['path']}",
            "badge_url": f"{web}/workflows/{w['name']}/badge.svg",
        }
        out.update(w.get("_native", {}))
        return out

    def _pr_minimal(self, repo_id: int, number: int) -> dict[str, Any] | None:
        pull = self.state.pull(repo_id, number)
        if pull is None:
            return None
        repo = self.repo_of(repo_id)
        api = self.repo_api(repo_id)
        ref = {"id": repo["id"], "url": api, "name": repo["name"]}
        return {
            "id": pull["id"],
            "number": number,
            "url": f"{api}/pulls/{number}",
            "head": {"ref": pull["head_ref"], "sha": pull["head_sha"], "repo": ref},
            "base": {"ref": pull["base_ref"], "sha": pull["base_sha"], "repo": ref},
        }

    def workflow_run(self, r: Mapping[str, Any]) -> dict[str, Any]:
        """``workflow-run``."""
        api = self.repo_api(r["repo_id"])
        web = self.repo_web(r["repo_id"])
        url = f"{api}/actions/runs/{r['id']}"
        repo = self.minimal_repository(self.repo_of(r["repo_id"]))
        commit = self.state.commits.find_one(repo_id=r["repo_id"], sha=r["head_sha"])
        workflow = self.state.workflows.get(r["workflow_id"]) or {}
        pulls = [
            found
            for found in (self._pr_minimal(r["repo_id"], n) for n in r.get("pull_requests", []))
            if found
        ]
        attempt = r.get("run_attempt", 1)
        out = {
            "id": r["id"],
            "name": workflow.get("name"),
            "node_id": node_id("WFR", r["id"]),
            "head_branch": r["head_branch"],
            "head_sha": r["head_sha"],
            "path": workflow.get("path", ""),
            "display_title": r["display_title"],
            "run_number": r["run_number"],
            "event": r["event"],
            "status": r["status"],
            "conclusion": r.get("conclusion"),
            "workflow_id": r["workflow_id"],
            "check_suite_id": r["check_suite_id"],
            "check_suite_node_id": node_id("CS", r["check_suite_id"]),
            "url": url,
            "html_url": f"{web}/actions/runs/{r['id']}",
            "pull_requests": pulls,
            "created_at": r["created_at"],
            "updated_at": r["updated_at"],
            "actor": self.user(r["actor"]),
            "triggering_actor": self.user(r["actor"]),
            "run_attempt": attempt,
            "referenced_workflows": [],
            "run_started_at": r.get("run_started_at", r["created_at"]),
            "jobs_url": f"{url}/jobs",
            "logs_url": f"{url}/logs",
            "check_suite_url": f"{api}/check-suites/{r['check_suite_id']}",
            "artifacts_url": f"{url}/artifacts",
            "cancel_url": f"{url}/cancel",
            "rerun_url": f"{url}/rerun",
            "previous_attempt_url": f"{url}/attempts/{attempt - 1}" if attempt > 1 else None,
            "workflow_url": f"{api}/actions/workflows/{r['workflow_id']}",
            "head_commit": self.simple_commit(commit) if commit else None,
            "repository": repo,
            "head_repository": repo,
        }
        out.update(r.get("_native", {}))
        return out

    def job(self, j: Mapping[str, Any]) -> dict[str, Any]:
        """``job``."""
        api = self.repo_api(j["repo_id"])
        web = self.repo_web(j["repo_id"])
        out = {
            "id": j["id"],
            "run_id": j["run_id"],
            "run_url": f"{api}/actions/runs/{j['run_id']}",
            "run_attempt": j.get("run_attempt", 1),
            "node_id": node_id("CR", j["id"]),
            "head_sha": j["head_sha"],
            "url": f"{api}/actions/jobs/{j['id']}",
            "html_url": f"{web}/actions/runs/{j['run_id']}/job/{j['id']}",
            "status": j["status"],
            "conclusion": j.get("conclusion"),
            "created_at": j["created_at"],
            "started_at": j["started_at"],
            "completed_at": j.get("completed_at"),
            "name": j["name"],
            "steps": [dict(step) for step in j.get("steps", [])],
            "check_run_url": f"{api}/check-runs/{j['id']}",
            "labels": list(j.get("labels", ["ubuntu-latest"])),
            "runner_id": j.get("runner_id"),
            "runner_name": j.get("runner_name"),
            "runner_group_id": j.get("runner_group_id"),
            "runner_group_name": j.get("runner_group_name"),
            "workflow_name": j.get("workflow_name"),
            "head_branch": j.get("head_branch"),
        }
        out.update(j.get("_native", {}))
        return out

    def artifact(self, a: Mapping[str, Any]) -> dict[str, Any]:
        """``artifact``."""
        api = self.repo_api(a["repo_id"])
        run = self.state.runs.get(a["run_id"]) or {}
        out: dict[str, Any] = {
            "id": a["id"],
            "node_id": node_id("MDg", a["id"]),
            "name": a["name"],
            "size_in_bytes": a["size_in_bytes"],
            "url": f"{api}/actions/artifacts/{a['id']}",
            "archive_download_url": f"{api}/actions/artifacts/{a['id']}/zip",
            "expired": a.get("expired", False),
            "created_at": a["created_at"],
            "updated_at": a["updated_at"],
            "expires_at": a["expires_at"],
            "digest": f"sha256:{a.get('digest', '0' * 64)}",
            "workflow_run": {
                "id": a["run_id"],
                "repository_id": a["repo_id"],
                "head_repository_id": a["repo_id"],
                "head_branch": run.get("head_branch"),
                "head_sha": run.get("head_sha"),
            },
        }
        out.update(a.get("_native", {}))
        return out

    def runner(self, r: Mapping[str, Any]) -> dict[str, Any]:
        """``runner`` (a self-hosted runner)."""
        out: dict[str, Any] = {
            "id": r["id"],
            "runner_group_id": 1,
            "name": r["name"],
            "os": r["os"],
            "status": r["status"],
            "busy": r["busy"],
            "ephemeral": False,
            "labels": [
                {"id": n + 1, "name": label, "type": "read-only" if n < 2 else "custom"}
                for n, label in enumerate(r["labels"])
            ],
        }
        out.update(r.get("_native", {}))
        return out

    def app(self, a: Mapping[str, Any]) -> dict[str, Any]:
        """``integration`` (a GitHub App)."""
        owner = self.user(a["owner"])
        return {
            "id": a["id"],
            "slug": a["slug"],
            "client_id": a["client_id"],
            "node_id": node_id("A", a["id"]),
            "owner": owner,
            "name": a["name"],
            "description": a.get("description"),
            "external_url": a["external_url"],
            "html_url": f"{self.web}/apps/{a['slug']}",
            "created_at": a["created_at"],
            "updated_at": a["updated_at"],
            "permissions": dict(a["permissions"]),
            "events": list(a["events"]),
            "installations_count": 1,
        }

    def check_run(self, c: Mapping[str, Any], app: Mapping[str, Any]) -> dict[str, Any]:
        """``check-run``."""
        api = self.repo_api(c["repo_id"])
        web = self.repo_web(c["repo_id"])
        url = f"{api}/check-runs/{c['id']}"
        output = c.get("output") or {}
        pulls = [
            found
            for found in (self._pr_minimal(c["repo_id"], n) for n in c.get("pull_requests", []))
            if found
        ]
        out = {
            "id": c["id"],
            "head_sha": c["head_sha"],
            "node_id": node_id("CR", c["id"]),
            "external_id": c.get("external_id") or "",
            "url": url,
            "html_url": f"{web}/runs/{c['id']}",
            "details_url": c.get("details_url") or f"{web}/runs/{c['id']}",
            "status": c["status"],
            "conclusion": c.get("conclusion"),
            "started_at": c.get("started_at"),
            "completed_at": c.get("completed_at"),
            "output": {
                "title": output.get("title"),
                "summary": output.get("summary"),
                "text": output.get("text"),
                "annotations_count": len(output.get("annotations", [])),
                "annotations_url": f"{url}/annotations",
            },
            "name": c["name"],
            "check_suite": {"id": c["check_suite_id"]},
            "app": self.app(app),
            "pull_requests": pulls,
        }
        out.update(c.get("_native", {}))
        return out

    def status(self, s: Mapping[str, Any]) -> dict[str, Any]:
        """``status`` (a commit status)."""
        creator = self.user(s["creator"])
        out: dict[str, Any] = {
            "url": f"{self.repo_api(s['repo_id'])}/statuses/{s['sha']}",
            "avatar_url": creator["avatar_url"] if creator else None,
            "id": s["id"],
            "node_id": node_id("SC", s["id"]),
            "state": s["state"],
            "description": s.get("description"),
            "target_url": s.get("target_url"),
            "context": s["context"],
            "created_at": s["created_at"],
            "updated_at": s["updated_at"],
            "creator": creator,
        }
        out.update(s.get("_native", {}))
        return out
