"""Repositories, pull requests, reviews, refs, commits, deploy keys, collaborators, protection."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from starlette.responses import Response

from kradle_provider_github.emulator.routes_issues import _choice, sort_records
from kradle_providers.testing.emulator import RequestContext

if TYPE_CHECKING:
    from kradle_provider_github.emulator.app import GitHubEmulator

__all__ = ["register"]

_NAME = re.compile(r"^[A-Za-z0-9_.-]+$")
_KEY = re.compile(r"^(ssh-rsa|ssh-ed25519|ecdsa-sha2-nistp256|sk-ssh-ed25519@openssh.com) \S+")
_PROTECTION_KEYS = (
    "required_status_checks",
    "enforce_admins",
    "required_pull_request_reviews",
    "restrictions",
)


class RepoRoutes:
    """Handlers of the git-forge endpoints."""

    def __init__(self, em: GitHubEmulator) -> None:
        self.em = em
        self.state = em.state
        self.mut = em.mutations

    # -- repositories -------------------------------------------------------

    def _list_repos(self, ctx: RequestContext, owner: str) -> Response:
        account = self.state.user(owner)
        if account is None:
            ctx.not_found()
        kind = ctx.query.get("type") or "all"
        found: list[Mapping[str, Any]] = [
            r
            for r in self.state.repos.filter(lambda r: r["owner"].lower() == owner.lower())
            if (kind not in ("public", "private") or r["private"] == (kind == "private"))
            and (ctx.principal is not None or not r["private"])
        ]
        sort = ctx.query.get("sort") or "created"
        key = {"created": "created_at", "updated": "updated_at", "pushed": "pushed_at"}.get(sort)
        if key is None:
            found.sort(
                key=lambda r: r["full_name"].lower(), reverse=ctx.query.get("direction") == "desc"
            )
        else:
            default = "desc"
            found = sort_records(found, key, (ctx.query.get("direction") or default) == "desc")
        return self.em.page(ctx, found, self.em.render(ctx).minimal_repository)

    async def get_org(self, ctx: RequestContext) -> Response:
        """``GET /orgs/{org}`` (``organization-full``)."""
        org = self.state.user(ctx.params["org"])
        if org is None or org["type"] != "Organization":
            ctx.not_found()
        render = self.em.render(ctx)
        api = f"{render.api}/orgs/{org['login']}"
        repos = self.state.repos.filter(owner=org["login"])
        return ctx.json(
            {
                "login": org["login"],
                "id": org["id"],
                "node_id": render.simple_user(org)["node_id"],
                "url": api,
                "repos_url": f"{api}/repos",
                "events_url": f"{api}/events",
                "hooks_url": f"{api}/hooks",
                "issues_url": f"{api}/issues",
                "members_url": f"{api}/members{{/member}}",
                "public_members_url": f"{api}/public_members{{/member}}",
                "avatar_url": f"{render.web}/avatars/u/{org['id']}?v=4",
                "description": org.get("description"),
                "name": org.get("name"),
                "html_url": f"{render.web}/{org['login']}",
                "has_organization_projects": True,
                "has_repository_projects": True,
                "public_repos": len([r for r in repos if not r["private"]]),
                "public_gists": 0,
                "followers": 0,
                "following": 0,
                "type": "Organization",
                "created_at": org["created_at"],
                "updated_at": org["updated_at"],
                "archived_at": None,
            }
        )

    async def list_org_repos(self, ctx: RequestContext) -> Response:
        """``GET /orgs/{org}/repos``."""
        return self._list_repos(ctx, ctx.params["org"])

    async def list_user_repos(self, ctx: RequestContext) -> Response:
        """``GET /users/{username}/repos``."""
        return self._list_repos(ctx, ctx.params["username"])

    async def get_repo(self, ctx: RequestContext) -> Response:
        """``GET /repos/{o}/{r}`` (``full-repository``)."""
        return ctx.json(self.em.render(ctx).repository(self.em.repo_or_404(ctx)))

    async def create_org_repo(self, ctx: RequestContext) -> Response:
        """``POST /orgs/{org}/repos`` (201; 422 when the name is taken)."""
        org = self.state.user(ctx.params["org"])
        if org is None or org["type"] != "Organization":
            ctx.not_found()
        self.em.sender(ctx)
        body = self.em.body(ctx)
        name = body.get("name")
        if not isinstance(name, str) or not name:
            raise self.em.invalid("Repository", "name", "missing_field")
        if not _NAME.match(name):
            raise self.em.invalid("Repository", "name")
        if self.state.repo(org["login"], name) is not None:
            raise self.em.invalid(
                "Repository", "name", "custom", message="name already exists on this account"
            )
        repo = self.mut.create_repo(
            org["login"],
            name,
            description=body.get("description"),
            homepage=body.get("homepage"),
            private=bool(body.get("private", False)) or body.get("visibility") == "private",
            has_issues=body.get("has_issues", True),
            has_wiki=body.get("has_wiki", True),
            auto_init=True,
        )
        return ctx.json(self.em.render(ctx).repository(repo), status=201)

    async def update_repo(self, ctx: RequestContext) -> Response:
        """``PATCH /repos/{o}/{r}``."""
        repo = self.em.repo_or_404(ctx)
        self.em.sender(ctx)
        body = self.em.body(ctx)
        allowed = (
            "name",
            "description",
            "homepage",
            "private",
            "has_issues",
            "has_projects",
            "has_wiki",
            "default_branch",
            "archived",
            "topics",
            "delete_branch_on_merge",
        )
        changes = {k: body[k] for k in allowed if k in body}
        if "visibility" in body:
            changes["private"] = body["visibility"] == "private"
        if (
            "default_branch" in changes
            and self.state.branch(repo["id"], changes["default_branch"]) is None
        ):
            raise self.em.invalid("Repository", "default_branch")
        if "name" in changes:
            if not _NAME.match(str(changes["name"])):
                raise self.em.invalid("Repository", "name")
            other = self.state.repo(repo["owner"], changes["name"])
            if other is not None and other["id"] != repo["id"]:
                raise self.em.invalid(
                    "Repository", "name", "custom", message="name already exists on this account"
                )
        updated = self.mut.update_repo(repo, changes)
        return ctx.json(self.em.render(ctx).repository(updated))

    # -- pull requests ------------------------------------------------------

    def _pull(self, ctx: RequestContext) -> dict[str, Any]:
        repo = self.em.repo_or_404(ctx)
        pull = self.state.pull(repo["id"], ctx.params["number"])
        if pull is None:
            ctx.not_found()
        return pull

    async def list_pulls(self, ctx: RequestContext) -> Response:
        """``GET /repos/{o}/{r}/pulls`` (``state``, ``head``, ``base``, ``sort``, ``direction``)."""
        repo = self.em.repo_or_404(ctx)
        state = _choice(ctx, "state", ("open", "closed", "all"), "open")
        sort = _choice(ctx, "sort", ("created", "updated", "popularity", "long-running"), "created")
        default_direction = "desc" if sort == "created" else "asc"
        direction = _choice(ctx, "direction", ("asc", "desc"), default_direction)
        issues = {
            i["number"]: i for i in self.state.issues.filter(repo_id=repo["id"], is_pull=True)
        }
        head = ctx.query.get("head")
        base = ctx.query.get("base")

        def keep(p: dict[str, Any]) -> bool:
            issue = issues.get(p["number"])
            if issue is None or (state != "all" and issue["state"] != state):
                return False
            if base and p["base_ref"] != base:
                return False
            return not (head and p["head_ref"] != head.split(":", 1)[-1])

        found: list[Mapping[str, Any]] = [
            {**p, "updated_at": issues[p["number"]]["updated_at"]}
            for p in self.state.pulls.filter(lambda p: p["repo_id"] == repo["id"])
            if keep(p)
        ]
        key = "updated_at" if sort == "updated" else "created_at"
        found = sort_records(found, key, direction == "desc")
        render = self.em.render(ctx)
        return self.em.page(ctx, found, lambda p: render.pull_request(p, simple=True))

    async def get_pull(self, ctx: RequestContext) -> Response:
        """``GET /repos/{o}/{r}/pulls/{n}``."""
        return ctx.json(self.em.render(ctx).pull_request(self._pull(ctx)))

    async def create_pull(self, ctx: RequestContext) -> Response:
        """``POST /repos/{o}/{r}/pulls`` (``title``, ``head``, ``base``)."""
        repo = self.em.repo_or_404(ctx)
        sender = self.em.sender(ctx)
        body = self.em.body(ctx)
        for field in ("head", "base"):
            if not body.get(field):
                raise self.em.invalid("PullRequest", field, "missing_field")
        if not body.get("title") and not body.get("issue"):
            raise self.em.invalid("PullRequest", "title", "missing_field")
        head = str(body["head"]).split(":", 1)[-1]
        if self.state.branch(repo["id"], head) is None:
            raise self.em.invalid("PullRequest", "head")
        if self.state.branch(repo["id"], body["base"]) is None:
            raise self.em.invalid("PullRequest", "base")
        existing = [
            p
            for p in self.state.pulls.filter(
                repo_id=repo["id"], head_ref=head, base_ref=body["base"]
            )
            if (self.state.issue(repo["id"], p["number"]) or {}).get("state") == "open"
        ]
        if existing:
            raise self.em.invalid(
                "PullRequest",
                "head",
                "custom",
                message=f"A pull request already exists for {repo['owner']}:{head}.",
            )
        pull = self.mut.create_pull(
            repo["id"],
            str(body.get("title") or head),
            head=head,
            base=body["base"],
            user=sender,
            body=body.get("body"),
            draft=bool(body.get("draft", False)),
        )
        return ctx.json(self.em.render(ctx).pull_request(pull), status=201)

    async def update_pull(self, ctx: RequestContext) -> Response:
        """``PATCH /repos/{o}/{r}/pulls/{n}`` (``title``, ``body``, ``state``, ``base``)."""
        pull = self._pull(ctx)
        sender = self.em.sender(ctx)
        body = self.em.body(ctx)
        if "state" in body and body["state"] not in ("open", "closed"):
            raise self.em.invalid("PullRequest", "state", value=body["state"])
        if pull.get("merged_at") and body.get("state") == "open":
            ctx.fail(
                422,
                "Validation Failed",
                errors=[
                    {
                        "resource": "PullRequest",
                        "field": "state",
                        "code": "custom",
                        "message": (
                            "state cannot be changed. The pull request cannot be reopened "
                            "because it was merged."
                        ),
                    }
                ],
            )
        if body.get("base"):
            if self.state.branch(pull["repo_id"], body["base"]) is None:
                raise self.em.invalid("PullRequest", "base")
            base = self.state.branch(pull["repo_id"], body["base"]) or {}
            self.state.pulls.update(pull["id"], base_ref=body["base"], base_sha=base.get("sha"))
        if "maintainer_can_modify" in body:
            self.state.pulls.update(
                pull["id"], maintainer_can_modify=bool(body["maintainer_can_modify"])
            )
        issue = self.state.issue(pull["repo_id"], pull["number"])
        assert issue is not None
        changes: dict[str, Any] = {k: body[k] for k in ("title", "body", "state") if k in body}
        self.mut.update_issue(issue, changes, sender)
        fresh = self.state.pull(pull["repo_id"], pull["number"]) or pull
        return ctx.json(self.em.render(ctx).pull_request(fresh))

    async def merge_pull(self, ctx: RequestContext) -> Response:
        """``PUT /repos/{o}/{r}/pulls/{n}/merge`` (405 not mergeable, 409 head moved)."""
        pull = self._pull(ctx)
        sender = self.em.sender(ctx)
        body = self.em.body(ctx)
        issue = self.state.issue(pull["repo_id"], pull["number"]) or {}
        if pull.get("merged_at") or issue.get("state") != "open":
            ctx.fail(405, "Pull Request is not mergeable")
        if pull.get("draft"):
            ctx.fail(405, "Pull Request is still a draft")
        if body.get("sha") and body["sha"] != pull["head_sha"]:
            ctx.fail(409, "Head branch was modified. Review and try the merge again.")
        method = body.get("merge_method", "merge")
        if method not in ("merge", "squash", "rebase"):
            raise self.em.invalid("PullRequest", "merge_method", value=method)
        commit = self.mut.merge_pull(pull, sender, method=method, title=body.get("commit_title"))
        return ctx.json(
            {"sha": commit["sha"], "merged": True, "message": "Pull Request successfully merged"}
        )

    async def list_reviews(self, ctx: RequestContext) -> Response:
        """``GET /repos/{o}/{r}/pulls/{n}/reviews`` (oldest first)."""
        pull = self._pull(ctx)
        found = sorted(
            self.state.reviews.filter(repo_id=pull["repo_id"], pull_number=pull["number"]),
            key=lambda r: r["id"],
        )
        return self.em.page(ctx, found, self.em.render(ctx).review)

    # -- git ----------------------------------------------------------------

    def _refs(self, repo_id: int) -> list[tuple[str, str, int, dict[str, Any]]]:
        refs = [
            (f"refs/heads/{b['name']}", b["sha"], b["id"], b.get("_native", {}))
            for b in self.state.branches.filter(repo_id=repo_id)
        ] + [
            (f"refs/tags/{t['name']}", t["sha"], t["id"], t.get("_native", {}))
            for t in self.state.tags.filter(repo_id=repo_id)
        ]
        return sorted(refs, key=lambda r: r[0])

    async def matching_refs(self, ctx: RequestContext) -> Response:
        """``GET /repos/{o}/{r}/git/matching-refs/{ref}`` (prefix match, e.g. ``heads/``)."""
        repo = self.em.repo_or_404(ctx)
        prefix = "refs/" + str(ctx.params["ref"]).strip("/")
        render = self.em.render(ctx)
        # matching-refs is not paginated: GitHub answers every match at once.
        return ctx.json(
            [
                render.git_ref(repo["id"], ref, sha, ident, native)
                for ref, sha, ident, native in self._refs(repo["id"])
                if ref.startswith(prefix)
            ]
        )

    async def list_branches(self, ctx: RequestContext) -> Response:
        """``GET /repos/{o}/{r}/branches`` (``protected`` filter)."""
        repo = self.em.repo_or_404(ctx)
        render = self.em.render(ctx)
        found = sorted(self.state.branches.filter(repo_id=repo["id"]), key=lambda b: b["name"])
        protected = ctx.query.get("protected")
        if protected in ("true", "false"):
            found = [b for b in found if render.branch(b)["protected"] == (protected == "true")]
        return self.em.page(ctx, found, render.branch)

    async def get_branch(self, ctx: RequestContext) -> Response:
        """``GET /repos/{o}/{r}/branches/{b}`` (``branch-with-protection``)."""
        repo, branch = self._branch(ctx)
        render = self.em.render(ctx)
        commit = self.state.commits.find_one(repo_id=repo["id"], sha=branch["sha"])
        assert commit is not None
        rule = self.state.protections.find_one(repo_id=repo["id"], branch=branch["name"])
        short = render.branch(branch)
        protection = (
            render.branch_protection(rule)
            if rule
            else {
                "enabled": False,
                "required_status_checks": {
                    "enforcement_level": "off",
                    "contexts": [],
                    "checks": [],
                },
            }
        )
        if rule:
            protection["enabled"] = True
        return ctx.json(
            {
                "name": branch["name"],
                "commit": render.commit(commit),
                "_links": {
                    "html": f"{render.repo_web(repo['id'])}/tree/{branch['name']}",
                    "self": f"{render.repo_api(repo['id'])}/branches/{branch['name']}",
                },
                "protected": short["protected"],
                "protection": protection,
                "protection_url": short["protection_url"],
            }
        )

    async def list_tags(self, ctx: RequestContext) -> Response:
        """``GET /repos/{o}/{r}/tags`` (newest first)."""
        repo = self.em.repo_or_404(ctx)
        found = sorted(
            self.state.tags.filter(repo_id=repo["id"]), key=lambda t: t["id"], reverse=True
        )
        return self.em.page(ctx, found, self.em.render(ctx).tag)

    async def get_commit(self, ctx: RequestContext) -> Response:
        """``GET /repos/{o}/{r}/commits/{ref}`` (sha, branch or tag)."""
        repo = self.em.repo_or_404(ctx)
        commit = self.state.commit(repo["id"], str(ctx.params["ref"]))
        if commit is None:
            ctx.fail(422, f"No commit found for SHA: {ctx.params['ref']}")
        return ctx.json(self.em.render(ctx).commit(commit))

    # -- deploy keys --------------------------------------------------------

    async def list_keys(self, ctx: RequestContext) -> Response:
        """``GET /repos/{o}/{r}/keys``."""
        repo = self.em.repo_or_404(ctx)
        found = sorted(self.state.keys.filter(repo_id=repo["id"]), key=lambda k: k["id"])
        return self.em.page(ctx, found, self.em.render(ctx).deploy_key)

    async def create_key(self, ctx: RequestContext) -> Response:
        """``POST /repos/{o}/{r}/keys`` (422 for a malformed or reused key)."""
        repo = self.em.repo_or_404(ctx)
        sender = self.em.sender(ctx)
        body = self.em.body(ctx)
        key = body.get("key")
        if not isinstance(key, str) or not key:
            raise self.em.invalid("PublicKey", "key", "missing_field")
        if not _KEY.match(key):
            raise self.em.invalid(
                "PublicKey",
                "key",
                "custom",
                message="key is invalid. You must supply a key in OpenSSH public key format",
            )
        material = " ".join(key.split()[:2])
        if any(" ".join(k["key"].split()[:2]) == material for k in self.state.keys.all()):
            raise self.em.invalid("PublicKey", "key", "custom", message="key is already in use")
        record = self.mut.create_deploy_key(
            repo["id"],
            str(body.get("title") or material[-12:]),
            material,
            bool(body.get("read_only", False)),
            sender,
        )
        return ctx.json(self.em.render(ctx).deploy_key(record), status=201)

    def _key(self, ctx: RequestContext) -> dict[str, Any]:
        repo = self.em.repo_or_404(ctx)
        key = self.state.keys.get(ctx.params["key_id"])
        if key is None or key["repo_id"] != repo["id"]:
            ctx.not_found()
        return key

    async def get_key(self, ctx: RequestContext) -> Response:
        """``GET /repos/{o}/{r}/keys/{id}``."""
        return ctx.json(self.em.render(ctx).deploy_key(self._key(ctx)))

    async def delete_key(self, ctx: RequestContext) -> Response:
        """``DELETE /repos/{o}/{r}/keys/{id}``."""
        key = self._key(ctx)
        self.mut.delete_deploy_key(key, self.em.sender(ctx))
        return ctx.no_content()

    async def list_collaborators(self, ctx: RequestContext) -> Response:
        """``GET /repos/{o}/{r}/collaborators``."""
        repo = self.em.repo_or_404(ctx)
        if ctx.principal is None:
            ctx.fail(401, "Requires authentication")
        found = sorted(self.state.collaborators.filter(repo_id=repo["id"]), key=lambda c: c["id"])
        permission = ctx.query.get("permission")
        if permission:
            levels = ["pull", "triage", "push", "maintain", "admin"]
            roles = ["read", "triage", "write", "maintain", "admin"]
            wanted = levels.index(permission) if permission in levels else 0
            found = [c for c in found if roles.index(c["role_name"]) >= wanted]
        return self.em.page(ctx, found, self.em.render(ctx).collaborator)

    # -- branch protection --------------------------------------------------

    def _branch(self, ctx: RequestContext) -> tuple[dict[str, Any], dict[str, Any]]:
        repo = self.em.repo_or_404(ctx)
        branch = self.state.branch(repo["id"], ctx.params["branch"])
        if branch is None:
            ctx.fail(404, "Branch not found")
        return repo, branch

    async def get_protection(self, ctx: RequestContext) -> Response:
        """``GET …/branches/{b}/protection`` (404 ``Branch not protected``)."""
        repo, branch = self._branch(ctx)
        rule = self.state.protections.find_one(repo_id=repo["id"], branch=branch["name"])
        if rule is None:
            ctx.fail(404, "Branch not protected")
        return ctx.json(self.em.render(ctx).branch_protection(rule))

    async def put_protection(self, ctx: RequestContext) -> Response:
        """``PUT …/branches/{b}/protection`` (the four top-level keys are required)."""
        repo, branch = self._branch(ctx)
        sender = self.em.sender(ctx)
        body = self.em.body(ctx)
        missing = [k for k in _PROTECTION_KEYS if k not in body]
        if missing:
            ctx.fail(
                422,
                "Invalid request.\n\n" + "\n".join(f'"{k}" wasn\'t supplied.' for k in missing),
            )
        settings = {
            "required_status_checks": body["required_status_checks"],
            "enforce_admins": bool(body["enforce_admins"]),
            "required_pull_request_reviews": body["required_pull_request_reviews"],
            "restrictions": body["restrictions"],
            **{
                k: bool(body.get(k, False))
                for k in (
                    "required_linear_history",
                    "allow_force_pushes",
                    "allow_deletions",
                    "block_creations",
                    "required_conversation_resolution",
                    "lock_branch",
                    "allow_fork_syncing",
                )
            },
        }
        rule = self.mut.set_protection(repo["id"], branch["name"], settings, sender)
        return ctx.json(self.em.render(ctx).branch_protection(rule))

    async def delete_protection(self, ctx: RequestContext) -> Response:
        """``DELETE …/branches/{b}/protection``."""
        repo, branch = self._branch(ctx)
        sender = self.em.sender(ctx)
        rule = self.state.protections.find_one(repo_id=repo["id"], branch=branch["name"])
        if rule is None:
            ctx.fail(404, "Branch not protected")
        self.mut.delete_protection(rule, sender)
        return ctx.no_content()


def register(em: GitHubEmulator) -> None:
    """Register the routes on ``em``."""
    h = RepoRoutes(em)
    r = "/repos/{owner}/{repo}"
    em.route("GET", "/orgs/{org}", h.get_org, name="getOrganization")
    em.route("GET", "/orgs/{org}/repos", h.list_org_repos, name="listForOrg")
    em.route("POST", "/orgs/{org}/repos", h.create_org_repo, name="createInOrg")
    em.route("GET", "/users/{username}/repos", h.list_user_repos, name="listForUser")
    em.route("GET", r, h.get_repo, name="getRepository")
    em.route("PATCH", r, h.update_repo, name="updateRepository")
    em.route("GET", f"{r}/pulls", h.list_pulls, name="listPullRequests")
    em.route("POST", f"{r}/pulls", h.create_pull, name="createPullRequest")
    em.route("GET", f"{r}/pulls/{{number:int}}", h.get_pull, name="getPullRequest")
    em.route("PATCH", f"{r}/pulls/{{number:int}}", h.update_pull, name="updatePullRequest")
    em.route("PUT", f"{r}/pulls/{{number:int}}/merge", h.merge_pull, name="mergePullRequest")
    em.route("GET", f"{r}/pulls/{{number:int}}/reviews", h.list_reviews, name="listReviews")
    em.route("GET", f"{r}/git/matching-refs/{{ref:path}}", h.matching_refs, name="listMatchingRefs")
    em.route("GET", f"{r}/branches", h.list_branches, name="listBranches")
    em.route("GET", f"{r}/tags", h.list_tags, name="listTags")
    em.route("GET", f"{r}/branches/{{branch}}", h.get_branch, name="getBranch")
    em.route("GET", f"{r}/commits/{{ref:path}}", h.get_commit, name="getCommit")
    em.route("GET", f"{r}/keys", h.list_keys, name="listDeployKeys")
    em.route("POST", f"{r}/keys", h.create_key, name="createDeployKey")
    em.route("GET", f"{r}/keys/{{key_id:int}}", h.get_key, name="getDeployKey")
    em.route("DELETE", f"{r}/keys/{{key_id:int}}", h.delete_key, name="deleteDeployKey")
    em.route("GET", f"{r}/collaborators", h.list_collaborators, name="listCollaborators")
    em.route(
        "GET",
        f"{r}/branches/{{branch:path}}/protection",
        h.get_protection,
        name="getBranchProtection",
    )
    em.route(
        "PUT",
        f"{r}/branches/{{branch:path}}/protection",
        h.put_protection,
        name="updateBranchProtection",
    )
    em.route(
        "DELETE",
        f"{r}/branches/{{branch:path}}/protection",
        h.delete_protection,
        name="deleteBranchProtection",
    )
