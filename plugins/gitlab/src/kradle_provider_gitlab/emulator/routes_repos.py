"""Projects, groups, merge requests, approvals, repository, members, keys and hooks."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from kradle_provider_gitlab.emulator.routes_issues import params_of
from kradle_provider_gitlab.emulator.state import ACCESS_NAMES, public
from kradle_providers.testing.emulator import RequestContext

if TYPE_CHECKING:
    from kradle_provider_gitlab.emulator.app import GitLabEmulator

__all__ = ["register"]


P = "/projects/{project}"


def register(app: GitLabEmulator) -> None:
    """Install the git-forge routes on ``app``."""
    state = app.state
    viewer = state.viewer_id

    @app.get("/version", name="getVersion")
    async def version(ctx: RequestContext) -> Any:
        return {"version": "17.5.0-ee", "revision": "kradle", "kas": {"enabled": False}}

    @app.get("/user", name="getCurrentUser")
    async def current_user(ctx: RequestContext) -> Any:
        user = state.user(viewer)
        return {**user, "email": f"{user['username']}@example.com", "is_admin": False}

    @app.get("/users", name="listUsers")
    async def list_users(ctx: RequestContext) -> Any:
        users = sorted(state.users.all(), key=lambda u: u["id"])
        if ctx.query.get("username"):
            users = [u for u in users if u["username"] == ctx.query["username"]]
        return app.page(ctx, users, render=public)

    # -- groups and projects --------------------------------------------------------

    def group_or_404(ctx: RequestContext) -> dict[str, Any]:
        from urllib.parse import unquote

        found = state.find_group(unquote(str(ctx.params["group"])))
        if found is None:
            ctx.fail(404, "404 Group Not Found")
        return found

    def projects_page(ctx: RequestContext, items: list[dict[str, Any]]) -> Any:
        q = ctx.query
        archived = q.get("archived", "").lower()
        if archived in ("true", "false"):
            items = [p for p in items if p["archived"] is (archived == "true")]
        if q.get("search"):
            items = [p for p in items if q["search"].lower() in p["path"].lower()]
        if q.get("last_activity_after"):
            items = [p for p in items if p["last_activity_at"] >= q["last_activity_after"]]
        if q.get("updated_after"):
            items = [p for p in items if p["updated_at"] >= q["updated_after"]]
        ordered = app.order(
            ctx, items, allowed=("id", "created_at", "updated_at", "last_activity_at")
        )
        return app.page(ctx, ordered, keyset="id_after", render=public)

    @app.get("/groups", name="listGroups")
    async def list_groups(ctx: RequestContext) -> Any:
        items = sorted(state.groups.all(), key=lambda g: g["full_path"])
        return app.page(ctx, items, keyset="cursor", render=public)

    @app.get("/groups/{group}", name="getGroup")
    async def get_group(ctx: RequestContext) -> Any:
        return public(group_or_404(ctx))

    @app.get("/groups/{group}/subgroups", name="listSubgroups")
    async def list_subgroups(ctx: RequestContext) -> Any:
        group = group_or_404(ctx)
        items = [g for g in state.groups.all() if g["parent_id"] == group["id"]]
        return app.page(ctx, items, render=public)

    @app.get("/groups/{group}/projects", name="listGroupProjects")
    async def list_group_projects(ctx: RequestContext) -> Any:
        group = group_or_404(ctx)
        include = ctx.query.get("include_subgroups", "").lower() == "true"
        prefix = group["full_path"] + "/"
        items = [
            dict(p)
            for p in state.projects.peek()
            if p["_group_id"] == group["id"]
            or (include and p["path_with_namespace"].startswith(prefix))
        ]
        return projects_page(ctx, items)

    @app.get("/projects", name="listProjects")
    async def list_projects(ctx: RequestContext) -> Any:
        return projects_page(ctx, [dict(p) for p in state.projects.peek()])

    @app.get(P, name="getProject")
    async def get_project(ctx: RequestContext) -> Any:
        return public(app.project_or_404(ctx))

    @app.post("/projects", name="createProject")
    async def create_project(ctx: RequestContext) -> Any:
        body = params_of(ctx)
        path = body.get("path") or body.get("name")
        if not isinstance(path, str) or not path.strip():
            ctx.fail(
                400,
                "400 Bad request",
                error="name, path are missing, at least one parameter must be provided",
            )
        path = path.strip().lower().replace(" ", "-")
        ns = body.get("namespace_id")
        group = state.find_group(str(ns)) if ns is not None else state.find_group("acme")
        if group is None:
            ctx.fail(404, "404 Namespace Not Found")
        if state.find_project(f"{group['full_path']}/{path}") is not None:
            ctx.fail(
                400,
                "400 Bad request",
                body={
                    "message": {
                        "project_namespace.name": ["has already been taken"],
                        "name": ["has already been taken"],
                        "path": ["has already been taken"],
                    }
                },
            )
        project = state.add_project(
            group,
            path,
            description=body.get("description"),
            visibility=str(body.get("visibility") or "private"),
            default_branch=str(body.get("default_branch") or "main"),
        )
        return ctx.json(public(project), status=201)

    @app.put(P, name="editProject")
    async def edit_project(ctx: RequestContext) -> Any:
        project = app.project_or_404(ctx)
        body = params_of(ctx)
        changes: dict[str, Any] = {
            k: body[k] for k in ("description", "visibility", "default_branch", "name") if k in body
        }
        if "default_branch" in changes and state.branch(project, changes["default_branch"]) is None:
            ctx.fail(
                400,
                "400 Bad request",
                body={"message": {"base": ["Could not change HEAD: branch does not exist"]}},
            )
        if changes.get("visibility") not in (None, "private", "internal", "public"):
            ctx.fail(400, "400 Bad request", error="visibility does not have a valid value")
        return public(state.projects.update(project["id"], changes))

    for verb, value in (("archive", True), ("unarchive", False)):

        def make(value: bool = value) -> Any:
            async def archive(ctx: RequestContext) -> Any:
                project = app.project_or_404(ctx)
                return ctx.json(
                    public(state.projects.update(project["id"], archived=value)), status=201
                )

            return archive

        app.route("POST", P + f"/{verb}", make(), name=f"{verb}Project")

    # -- merge requests -------------------------------------------------------------------

    def mr_or_404(ctx: RequestContext, project: Mapping[str, Any]) -> dict[str, Any]:
        found = state.mr_by_iid(project, ctx.params["iid"])
        if found is None:
            ctx.fail(404, "404 Not found")
        return found

    @app.get(P + "/merge_requests", name="listProjectMergeRequests")
    async def list_mrs(ctx: RequestContext) -> Any:
        project = app.project_or_404(ctx)
        q = ctx.query
        items = [dict(m) for m in state.merge_requests.peek(project_id=project["id"])]
        st = q.get("state", "all")
        if st in ("opened", "closed", "locked", "merged"):
            items = [m for m in items if m["state"] == st]
        if q.get("updated_after"):
            items = [m for m in items if m["updated_at"] >= q["updated_after"]]
        if q.get("source_branch"):
            items = [m for m in items if m["source_branch"] == q["source_branch"]]
        if q.get("target_branch"):
            items = [m for m in items if m["target_branch"] == q["target_branch"]]
        if q.get("search"):
            needle = q["search"].lower()
            items = [
                m
                for m in items
                if needle in m["title"].lower() or needle in (m["description"] or "").lower()
            ]
        return app.page(ctx, app.order(ctx, items), render=public)

    @app.get(P + "/merge_requests/{iid:int}", name="getMergeRequest")
    async def get_mr(ctx: RequestContext) -> Any:
        return public(mr_or_404(ctx, app.project_or_404(ctx)))

    @app.post(P + "/merge_requests", name="createMergeRequest")
    async def create_mr(ctx: RequestContext) -> Any:
        project = app.project_or_404(ctx)
        body = params_of(ctx)
        for field in ("source_branch", "target_branch", "title"):
            if not body.get(field):
                ctx.fail(400, "400 Bad request", error=f"{field} is missing")
        for field in ("source_branch", "target_branch"):
            if state.branch(project, body[field]) is None:
                ctx.fail(
                    400,
                    "400 Bad request",
                    body={"message": [f"{field.replace('_', ' ').capitalize()} is invalid"]},
                )
        if body["source_branch"] == body["target_branch"]:
            ctx.fail(
                400,
                "400 Bad request",
                body={"message": ["You can't use same project/branch for source and target"]},
            )
        for mr in state.merge_requests.peek(project_id=project["id"], state="opened"):
            if (mr["source_branch"], mr["target_branch"]) == (
                body["source_branch"],
                body["target_branch"],
            ):
                ctx.fail(
                    409,
                    "409 Conflict",
                    body={
                        "message": [
                            "Another open merge request already exists for this source "
                            f"branch: !{mr['iid']}"
                        ]
                    },
                )
        title = str(body["title"])
        mr = state.add_merge_request(
            project,
            title=title,
            description=body.get("description"),
            source_branch=body["source_branch"],
            target_branch=body["target_branch"],
            author_id=viewer,
            draft=title.startswith(("Draft:", "[Draft]", "(Draft)")),
            labels=[v for v in str(body.get("labels") or "").split(",") if v],
        )
        return ctx.json(public(mr), status=201)

    @app.put(P + "/merge_requests/{iid:int}", name="updateMergeRequest")
    async def update_mr(ctx: RequestContext) -> Any:
        project = app.project_or_404(ctx)
        mr = mr_or_404(ctx, project)
        body = params_of(ctx)
        changes: dict[str, Any] = {}
        if "title" in body:
            title = str(body["title"])
            changes.update(
                title=title,
                draft=title.startswith("Draft:"),
                work_in_progress=title.startswith("Draft:"),
            )
        if "description" in body:
            changes["description"] = body["description"]
        if "target_branch" in body:
            if state.branch(project, body["target_branch"]) is None:
                ctx.fail(400, "400 Bad request", body={"message": ["Target branch is invalid"]})
            changes["target_branch"] = body["target_branch"]
        event = body.get("state_event")
        if mr["state"] == "merged" and event:
            ctx.fail(405, "405 Method Not Allowed")
        if event == "close" and mr["state"] == "opened":
            changes.update(state="closed", closed_at=state.now(), closed_by=state.user(viewer))
        elif event == "reopen" and mr["state"] == "closed":
            changes.update(state="opened", closed_at=None, closed_by=None)
        return public(state.update_merge_request(mr, changes, actor_id=viewer))

    @app.put(P + "/merge_requests/{iid:int}/merge", name="acceptMergeRequest")
    async def merge_mr(ctx: RequestContext) -> Any:
        project = app.project_or_404(ctx)
        mr = mr_or_404(ctx, project)
        body = params_of(ctx)
        if mr["state"] == "merged":
            ctx.fail(405, "405 Method Not Allowed")
        if mr["state"] != "opened" or mr["draft"]:
            ctx.fail(405, "405 Method Not Allowed")
        if body.get("sha") and body["sha"] != mr["sha"]:
            ctx.fail(409, "SHA does not match HEAD of source branch")
        target = state.branch(project, mr["target_branch"])
        parents = [p for p in (target and target["commit"]["id"], mr["sha"]) if p]
        commit = state.add_commit(
            project,
            f"Merge branch '{mr['source_branch']}' into '{mr['target_branch']}'\n\n{mr['title']}",
            parents=parents,
        )
        state.set_branch(project, mr["target_branch"], commit["id"])
        now = state.now()
        merged = state.update_merge_request(
            mr,
            {
                "state": "merged",
                "merged_at": now,
                "merged_by": state.user(viewer),
                "merge_user": state.user(viewer),
                "merge_commit_sha": commit["id"],
                "detailed_merge_status": "not_open",
            },
            actor_id=viewer,
            action="merge",
        )
        return public(merged)

    @app.get(P + "/merge_requests/{iid:int}/notes", name="listMergeRequestNotes")
    async def list_mr_notes(ctx: RequestContext) -> Any:
        mr = mr_or_404(ctx, app.project_or_404(ctx))
        notes = [dict(n) for n in state.notes_of(mr, "MergeRequest")]
        return app.page(
            ctx, app.order(ctx, notes, allowed=("created_at", "updated_at")), render=public
        )

    @app.get(P + "/merge_requests/{iid:int}/discussions", name="listMergeRequestDiscussions")
    async def list_mr_discussions(ctx: RequestContext) -> Any:
        mr = mr_or_404(ctx, app.project_or_404(ctx))
        return app.page(ctx, state.discussions_of(mr, "MergeRequest"), render=dict)

    @app.post(P + "/merge_requests/{iid:int}/notes", name="createMergeRequestNote")
    async def create_mr_note(ctx: RequestContext) -> Any:
        project = app.project_or_404(ctx)
        mr = mr_or_404(ctx, project)
        body = params_of(ctx).get("body")
        if not isinstance(body, str) or not body.strip():
            ctx.fail(400, "400 Bad request", error="body is missing")
        note = state.add_note(
            project, mr, noteable_type="MergeRequest", body=body, author_id=viewer
        )
        return ctx.json(public(note), status=201)

    def approvals_body(mr: Mapping[str, Any]) -> dict[str, Any]:
        approved = [
            {"user": state.user(a["user_id"]), "approved_at": a["approved_at"]}
            for a in mr.get("_approved_by") or []
        ]
        required = 1
        return {
            "id": mr["id"],
            "iid": mr["iid"],
            "project_id": mr["project_id"],
            "title": mr["title"],
            "description": mr["description"],
            "state": mr["state"],
            "created_at": mr["created_at"],
            "updated_at": mr["updated_at"],
            "merge_status": mr["merge_status"],
            "approved": len(approved) >= required,
            "approvals_required": required,
            "approvals_left": max(0, required - len(approved)),
            "require_password_to_approve": False,
            "approved_by": approved,
            "suggested_approvers": [],
            "approvers": [],
            "approver_groups": [],
            "user_has_approved": any(a["user"]["id"] == viewer for a in approved),
            "user_can_approve": True,
            "approval_rules_left": [],
            "has_approval_rules": False,
            "merge_request_approvers_available": True,
            "multiple_approval_rules_available": True,
        }

    @app.get(P + "/merge_requests/{iid:int}/approvals", name="getMergeRequestApprovals")
    async def get_approvals(ctx: RequestContext) -> Any:
        return approvals_body(mr_or_404(ctx, app.project_or_404(ctx)))

    @app.post(P + "/merge_requests/{iid:int}/approve", name="approveMergeRequest")
    async def approve(ctx: RequestContext) -> Any:
        mr = mr_or_404(ctx, app.project_or_404(ctx))
        if any(a["user_id"] == viewer for a in mr.get("_approved_by") or []):
            ctx.fail(401, "401 Unauthorized")
        return ctx.json(approvals_body(state.approve(mr, viewer)), status=201)

    # -- repository --------------------------------------------------------------------------

    @app.get(P + "/repository/branches", name="listBranches")
    async def list_branches(ctx: RequestContext) -> Any:
        project = app.project_or_404(ctx)
        items = state.branches_of(project)
        if ctx.query.get("search"):
            items = [b for b in items if ctx.query["search"] in b["name"]]
        return app.page(ctx, items, render=public)

    @app.get(P + "/repository/branches/{branch}", name="getBranch")
    async def get_branch(ctx: RequestContext) -> Any:
        project = app.project_or_404(ctx)
        found = state.branch(project, app.segment(ctx, "branch"))
        if found is None:
            ctx.fail(404, "404 Branch Not Found")
        return public(found)

    @app.post(P + "/repository/branches", name="createBranch")
    async def create_branch(ctx: RequestContext) -> Any:
        project = app.project_or_404(ctx)
        body = params_of(ctx)
        name, ref = body.get("branch"), body.get("ref")
        if not name or not ref:
            ctx.fail(400, "400 Bad request", error="branch is missing, ref is missing")
        if state.branch(project, str(name)) is not None:
            ctx.fail(400, "Branch already exists")
        commit = state.commit_of(project, str(ref))
        if commit is None:
            ctx.fail(400, "Invalid reference name: " + str(ref))
        return ctx.json(public(state.set_branch(project, str(name), commit["id"])), status=201)

    @app.delete(P + "/repository/branches/{branch}", name="deleteBranch")
    async def delete_branch(ctx: RequestContext) -> Any:
        project = app.project_or_404(ctx)
        name = app.segment(ctx, "branch")
        if name == project["default_branch"]:
            ctx.fail(400, "400 Bad request", error="Cannot remove the default branch")
        if not state.delete_ref(project, f"refs/heads/{name}"):
            ctx.fail(404, "404 Branch Not Found")
        return ctx.no_content()

    @app.get(P + "/repository/tags", name="listTags")
    async def list_tags(ctx: RequestContext) -> Any:
        return app.page(ctx, state.tags_of(app.project_or_404(ctx)), render=public)

    @app.get(P + "/repository/tags/{tag}", name="getTag")
    async def get_tag(ctx: RequestContext) -> Any:
        project = app.project_or_404(ctx)
        found = state.tag(project, app.segment(ctx, "tag"))
        if found is None:
            ctx.fail(404, "404 Tag Not Found")
        return public(found)

    @app.get(P + "/repository/commits", name="listCommits")
    async def list_commits(ctx: RequestContext) -> Any:
        project = app.project_or_404(ctx)
        ref = ctx.query.get("ref_name") or project["default_branch"]
        head = state.commit_of(project, ref)
        if head is None:
            ctx.fail(404, "404 Reference Not Found")
        chain: list[dict[str, Any]] = []
        seen: set[str] = set()
        todo = [head["id"]]
        while todo:
            sha = todo.pop(0)
            if sha in seen:
                continue
            seen.add(sha)
            commit = state.commits.get(sha)
            if commit is None:
                continue
            chain.append(commit)
            todo.extend(commit["parent_ids"])
        return app.page(ctx, chain, render=public)

    @app.get(P + "/repository/commits/{sha}", name="getCommit")
    async def get_commit(ctx: RequestContext) -> Any:
        project = app.project_or_404(ctx)
        commit = state.commit_of(project, app.segment(ctx, "sha"))
        if commit is None:
            ctx.fail(404, "404 Commit Not Found")
        last = next(
            (p for p in state.pipelines.peek(sha=commit["id"]) if p["project_id"] == project["id"]),
            None,
        )
        return {
            **public(commit),
            "stats": {"additions": 3, "deletions": 1, "total": 4},
            "status": last["status"] if last else None,
            "last_pipeline": {k: last[k] for k in ("id", "iid", "ref", "sha", "status", "web_url")}
            if last
            else None,
        }

    # -- protected branches and approval rules -----------------------------------------------

    def protected_or_404(ctx: RequestContext, project: Mapping[str, Any]) -> dict[str, Any]:
        found = state.protected_rule(project, app.segment(ctx, "name"))
        if found is None:
            ctx.fail(404, "404 Not found")
        return found

    @app.get(P + "/protected_branches", name="listProtectedBranches")
    async def list_protected(ctx: RequestContext) -> Any:
        project = app.project_or_404(ctx)
        items = [dict(r) for r in state.protected.peek(_project_id=project["id"])]
        return app.page(ctx, sorted(items, key=lambda r: r["id"]), render=public)

    @app.get(P + "/protected_branches/{name}", name="getProtectedBranch")
    async def get_protected(ctx: RequestContext) -> Any:
        return public(protected_or_404(ctx, app.project_or_404(ctx)))

    @app.post(P + "/protected_branches", name="protectBranch")
    async def protect(ctx: RequestContext) -> Any:
        project = app.project_or_404(ctx)
        body = params_of(ctx)
        name = body.get("name")
        if not name:
            ctx.fail(400, "400 Bad request", error="name is missing")
        if state.protected_rule(project, str(name)) is not None:
            ctx.fail(409, "Protected branch '" + str(name) + "' already exists")
        rule = state.protect(
            project,
            str(name),
            push=int(body.get("push_access_level", 40)),
            merge=int(body.get("merge_access_level", 40)),
            allow_force_push=str(body.get("allow_force_push", "false")).lower() == "true",
            code_owners=str(body.get("code_owner_approval_required", "false")).lower() == "true",
        )
        return ctx.json(public(rule), status=201)

    @app.patch(P + "/protected_branches/{name}", name="updateProtectedBranch")
    async def update_protected(ctx: RequestContext) -> Any:
        project = app.project_or_404(ctx)
        rule = protected_or_404(ctx, project)
        body = params_of(ctx)
        changes: dict[str, Any] = {}
        if "allow_force_push" in body:
            changes["allow_force_push"] = str(body["allow_force_push"]).lower() == "true"
        if "code_owner_approval_required" in body:
            changes["code_owner_approval_required"] = (
                str(body["code_owner_approval_required"]).lower() == "true"
            )
        pushers = body.get("allowed_to_push")
        if isinstance(pushers, list) and pushers:
            # Simplified: the given levels replace the current ones (GitLab adds them and
            # removes those sent with _destroy).
            levels = [int(p["access_level"]) for p in pushers if "access_level" in p]
            template = rule["push_access_levels"][0] if rule["push_access_levels"] else {}
            changes["push_access_levels"] = [
                {
                    **template,
                    "access_level": level,
                    "access_level_description": ACCESS_NAMES.get(level, "Maintainers"),
                }
                for level in levels
            ]
        return public(state.protected.update(rule["id"], changes))

    @app.delete(P + "/protected_branches/{name}", name="unprotectBranch")
    async def unprotect(ctx: RequestContext) -> Any:
        project = app.project_or_404(ctx)
        rule = protected_or_404(ctx, project)
        state.protected.delete(rule["id"])
        branch = state.branch(project, rule["name"])
        if branch is not None:
            state.branches.update(branch["_key"], protected=False)
        return ctx.no_content()

    @app.get(P + "/approval_rules", name="listProjectApprovalRules")
    async def list_rules(ctx: RequestContext) -> Any:
        project = app.project_or_404(ctx)
        items = [dict(r) for r in state.approval_rules.peek(_project_id=project["id"])]
        return app.page(ctx, sorted(items, key=lambda r: r["id"]), render=public)

    @app.post(P + "/approval_rules", name="createProjectApprovalRule")
    async def create_rule(ctx: RequestContext) -> Any:
        project = app.project_or_404(ctx)
        body = params_of(ctx)
        if not body.get("name") or "approvals_required" not in body:
            ctx.fail(400, "400 Bad request", error="name is missing, approvals_required is missing")
        rule = state.add_approval_rule(
            project,
            str(body["name"]),
            int(body["approvals_required"]),
            [int(i) for i in body.get("protected_branch_ids") or []],
        )
        return ctx.json(public(rule), status=201)

    @app.put(P + "/approval_rules/{rule_id:int}", name="updateProjectApprovalRule")
    async def update_rule(ctx: RequestContext) -> Any:
        project = app.project_or_404(ctx)
        rule = state.approval_rules.get(ctx.params["rule_id"])
        if rule is None or rule["_project_id"] != project["id"]:
            ctx.fail(404, "404 Not found")
        body = params_of(ctx)
        changes: dict[str, Any] = {}
        if "approvals_required" in body:
            changes["approvals_required"] = int(body["approvals_required"])
        if "name" in body:
            changes["name"] = body["name"]
        return public(state.approval_rules.update(rule["id"], changes))

    @app.delete(P + "/approval_rules/{rule_id:int}", name="deleteProjectApprovalRule")
    async def delete_rule(ctx: RequestContext) -> Any:
        project = app.project_or_404(ctx)
        rule = state.approval_rules.get(ctx.params["rule_id"])
        if rule is None or rule["_project_id"] != project["id"]:
            ctx.fail(404, "404 Not found")
        state.approval_rules.delete(rule["id"])
        return ctx.no_content()

    # -- deploy keys and members ----------------------------------------------------------------

    def key_or_404(ctx: RequestContext, project: Mapping[str, Any]) -> dict[str, Any]:
        found = state.deploy_keys.get(ctx.params["key_id"])
        if found is None or found["_project_id"] != project["id"]:
            ctx.fail(404, "404 Deploy Key Not Found")
        return found

    @app.get(P + "/deploy_keys", name="listProjectDeployKeys")
    async def list_keys(ctx: RequestContext) -> Any:
        project = app.project_or_404(ctx)
        items = [dict(k) for k in state.deploy_keys.peek(_project_id=project["id"])]
        return app.page(ctx, sorted(items, key=lambda k: k["id"]), render=public)

    @app.post(P + "/deploy_keys", name="addDeployKey")
    async def add_key(ctx: RequestContext) -> Any:
        project = app.project_or_404(ctx)
        body = params_of(ctx)
        title, key = body.get("title"), body.get("key")
        if not title or not key:
            ctx.fail(400, "400 Bad request", error="key is missing, title is missing")
        if any(k["key"] == key for k in state.deploy_keys.peek(_project_id=project["id"])):
            ctx.fail(
                400,
                "400 Bad request",
                body={"message": {"deploy_key.fingerprint_sha256": ["has already been taken"]}},
            )
        created = state.add_deploy_key(
            project, str(title), str(key), can_push=str(body.get("can_push")).lower() == "true"
        )
        return ctx.json(public(created), status=201)

    @app.put(P + "/deploy_keys/{key_id:int}", name="updateDeployKey")
    async def update_key(ctx: RequestContext) -> Any:
        project = app.project_or_404(ctx)
        key = key_or_404(ctx, project)
        body = params_of(ctx)
        changes: dict[str, Any] = {}
        if "title" in body:
            changes["title"] = body["title"]
        if "can_push" in body:
            changes["can_push"] = str(body["can_push"]).lower() == "true"
        return public(state.deploy_keys.update(key["id"], changes))

    @app.delete(P + "/deploy_keys/{key_id:int}", name="deleteDeployKey")
    async def delete_key(ctx: RequestContext) -> Any:
        project = app.project_or_404(ctx)
        key = key_or_404(ctx, project)
        state.deploy_keys.delete(key["id"])
        return ctx.no_content()

    async def list_members(ctx: RequestContext) -> Any:
        project = app.project_or_404(ctx)
        items = [dict(m) for m in state.members.peek(_project_id=project["id"])]
        return app.page(ctx, sorted(items, key=lambda m: m["id"]), render=public)

    app.route("GET", P + "/members", list_members, name="listProjectMembers")
    app.route("GET", P + "/members/all", list_members, name="listAllProjectMembers")

    # -- project hooks ---------------------------------------------------------------------------

    def hook_view(hook: Mapping[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in public(hook).items() if k != "token"}

    def hook_or_404(ctx: RequestContext, project: Mapping[str, Any]) -> dict[str, Any]:
        found = state.hooks.get(ctx.params["hook_id"])
        if found is None or found["project_id"] != project["id"]:
            ctx.fail(404, "404 Not found")
        return found

    @app.get(P + "/hooks", name="listProjectHooks")
    async def list_hooks(ctx: RequestContext) -> Any:
        project = app.project_or_404(ctx)
        items = [dict(h) for h in state.hooks.peek(project_id=project["id"])]
        return app.page(ctx, items, render=hook_view)

    @app.get(P + "/hooks/{hook_id:int}", name="getProjectHook")
    async def get_hook(ctx: RequestContext) -> Any:
        return hook_view(hook_or_404(ctx, app.project_or_404(ctx)))

    @app.post(P + "/hooks", name="addProjectHook")
    async def add_hook(ctx: RequestContext) -> Any:
        project = app.project_or_404(ctx)
        body = params_of(ctx)
        url = body.get("url")
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            ctx.fail(400, "400 Bad request", error="url is missing")
        hook = state.add_hook(project, url, str(body.get("token") or ""), body)
        return ctx.json(hook_view(hook), status=201)

    @app.put(P + "/hooks/{hook_id:int}", name="editProjectHook")
    async def edit_hook(ctx: RequestContext) -> Any:
        project = app.project_or_404(ctx)
        hook = hook_or_404(ctx, project)
        body = params_of(ctx)
        return hook_view(state.update_hook(hook, body))

    @app.delete(P + "/hooks/{hook_id:int}", name="deleteProjectHook")
    async def delete_hook(ctx: RequestContext) -> Any:
        project = app.project_or_404(ctx)
        hook = hook_or_404(ctx, project)
        app.webhooks.unsubscribe(hook["_subscription"])
        state.hooks.delete(hook["id"])
        return ctx.no_content()
