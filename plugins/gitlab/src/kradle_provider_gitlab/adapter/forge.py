"""Git forge on GitLab: projects, merge requests, approvals, refs, commits, keys, members,
protected branches."""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from datetime import datetime
from typing import Any
from urllib.parse import quote

from kradle_provider_gitlab import mapping
from kradle_provider_gitlab.adapter.client import (
    GitLabBase,
    as_number,
    full_path,
    project_path,
)
from kradle_provider_gitlab.adapter.issues import iso
from kradle_providers.errors import Conflict, InvalidInput, NotFound, PreconditionFailed
from kradle_providers.http import ProviderRejectedInput
from kradle_providers.http.idempotency import with_idempotency_marker
from kradle_providers.http.listing import SEEN_KEY
from kradle_providers.models import (
    BranchProtection,
    BranchProtectionSpec,
    Collaborator,
    Commit,
    DeployKey,
    DeployKeySpec,
    ExternalRef,
    MergeMethod,
    PlanAction,
    PlannedChange,
    PullRequest,
    PullRequestCreate,
    PullRequestUpdate,
    Ref,
    Repository,
    RepositoryCreate,
    RepositoryUpdate,
    Review,
    SyncResult,
    plan_changes,
)
from kradle_providers.protocols.page import Page, decode_cursor, encode_cursor

__all__ = ["ForgeOperations", "key_material"]

_PROTECTION_FIELDS = (
    "required_approving_reviews",
    "require_code_owner_reviews",
    "allow_force_pushes",
    "enforce_admins",
)
_UNREPRESENTABLE = (
    "dismiss_stale_reviews",
    "required_status_checks",
    "strict_status_checks",
    "required_linear_history",
    "allow_deletions",
)


def key_material(key: str) -> str:
    """``type base64`` of an OpenSSH public key (its comment dropped)."""
    return " ".join(key.split()[:2])


def _rule_name(branch: str) -> str:
    return f"kradle: {branch}"


class ForgeOperations(GitLabBase):
    """The git-forge operations (see the manifest for the endpoints)."""

    # -- repositories -------------------------------------------------------------

    async def list_repositories(
        self,
        ref: ExternalRef,
        *,
        since: datetime | None = None,
        cursor: str | None = None,
        page_size: int | None = None,
    ) -> Page[Repository]:
        """The projects of group ``ref.owner`` and its subgroups (keyset by id)."""
        if not ref.owner:
            raise InvalidInput(
                "GitLab lists projects of a group; pass ExternalRef(owner='acme')", field="ref"
            )
        params: dict[str, Any] = {
            "include_subgroups": "true",
            "pagination": "keyset",
            "order_by": "id",
            "sort": "asc",
        }
        if since is not None:
            params["updated_after"] = iso(since)
        return await self._list_page(
            f"/groups/{quote(ref.owner, safe='')}/projects",
            params,
            cursor=cursor,
            page_size=page_size,
            convert=lambda native: mapping.project(native, provider=self.provider_ref),
            updated=lambda r: r.updated_at,
        )

    async def get_repository(self, ref: ExternalRef) -> Repository:
        """One project by full path (or id)."""
        response = await self.http.get(project_path(ref))
        return mapping.project(response.json(), provider=self.provider_ref, etag=response.etag)

    async def create_repository(
        self, ref: ExternalRef, data: RepositoryCreate, *, idempotency_key: str | None = None
    ) -> Repository:
        """Create a project in group ``ref.owner``; a retry finds it by path (unique)."""
        if not ref.owner:
            raise InvalidInput("pass the group as ExternalRef(owner='acme/platform')", field="ref")
        group = await self._get_json(f"/groups/{quote(ref.owner, safe='')}")
        payload: dict[str, Any] = {
            "name": data.name,
            "path": data.name,
            "namespace_id": group["id"],
            "visibility": data.visibility,
        }
        if data.description is not None:
            payload["description"] = data.description
        if data.default_branch is not None:
            payload["default_branch"] = data.default_branch
        target = ExternalRef(owner=ref.owner, repository=data.name)

        async def read_back() -> Repository | None:
            try:
                return await self.get_repository(target)
            except NotFound:
                return None

        result = await self.http.post("/projects", json=payload, read_back=read_back)
        if isinstance(result, Repository):
            return result
        return mapping.project(result.json(), provider=self.provider_ref)

    async def update_repository(self, ref: ExternalRef, data: RepositoryUpdate) -> Repository:
        """Edit a project; ``archived`` goes through the archive/unarchive endpoints."""
        payload = {
            k: v
            for k, v in {
                "description": data.description,
                "visibility": data.visibility,
                "default_branch": data.default_branch,
            }.items()
            if v is not None
        }
        native: Any = None
        if payload:
            native = (await self.http.put(project_path(ref), json=payload)).json()
        if data.archived is not None:
            verb = "archive" if data.archived else "unarchive"
            native = (await self.http.post(f"{project_path(ref)}/{verb}")).json()
        if native is None:
            return await self.get_repository(ref)
        return mapping.project(native, provider=self.provider_ref)

    # -- merge requests ------------------------------------------------------------

    async def list_pull_requests(
        self,
        ref: ExternalRef,
        *,
        since: datetime | None = None,
        state: str | None = None,
        cursor: str | None = None,
        page_size: int | None = None,
    ) -> Page[PullRequest]:
        """Merge requests, oldest first; with ``since``, those updated at or after it."""
        params: dict[str, Any] = {"order_by": "created_at", "sort": "asc", "scope": "all"}
        if state not in (None, "all"):
            states = {"open": "opened", "opened": "opened", "closed": "closed"}
            states.update(merged="merged", locked="locked")
            if state not in states:
                raise InvalidInput(
                    f"state must be open, closed, merged, locked or all, got {state!r}",
                    field="state",
                )
            params["state"] = states[state]
        if since is not None:
            params["updated_after"] = iso(since)
        return await self._list_page(
            f"{project_path(ref)}/merge_requests",
            params,
            cursor=cursor,
            page_size=page_size,
            convert=lambda native: mapping.merge_request(native, provider=self.provider_ref),
            updated=lambda p: p.updated_at,
        )

    async def get_pull_request(self, ref: ExternalRef, number: str) -> PullRequest:
        """One merge request by iid."""
        path = f"{project_path(ref)}/merge_requests/{as_number(number, 'iid')}"
        response = await self.http.get(path)
        return mapping.merge_request(
            response.json(), provider=self.provider_ref, etag=response.etag
        )

    async def create_pull_request(
        self, ref: ExternalRef, data: PullRequestCreate, *, idempotency_key: str | None = None
    ) -> PullRequest:
        """Open a merge request; with ``idempotency_key`` a lost response never opens two."""
        title = data.title
        if data.draft and not title.startswith("Draft:"):
            title = f"Draft: {title}"
        body = data.body
        if idempotency_key is not None:
            body = with_idempotency_marker(body, idempotency_key)
        payload: dict[str, Any] = {
            "title": title,
            "source_branch": data.head,
            "target_branch": data.base,
        }
        if body is not None:
            payload["description"] = body
        path = f"{project_path(ref)}/merge_requests"
        read_back = None
        if idempotency_key is not None:
            key = idempotency_key

            async def find() -> PullRequest | None:
                found = await self._newest_with_marker(path, key, "description")
                if found is None:
                    return None
                return mapping.merge_request(found, provider=self.provider_ref)

            read_back = find
        result = await self.http.post(path, json=payload, read_back=read_back)
        if isinstance(result, PullRequest):
            return result
        return mapping.merge_request(result.json(), provider=self.provider_ref)

    async def update_pull_request(
        self,
        ref: ExternalRef,
        number: str,
        data: PullRequestUpdate,
        *,
        expected_version: str | None = None,
    ) -> PullRequest:
        """Edit a merge request; ``state`` open/closed becomes ``state_event``."""
        path = f"{project_path(ref)}/merge_requests/{as_number(number, 'iid')}"
        if expected_version is not None:
            current = await self.get_pull_request(ref, number)
            if expected_version not in (
                current.external.version.etag,
                current.updated_at.isoformat() if current.updated_at else None,
            ) and not _same_time(expected_version, current.updated_at):
                raise PreconditionFailed(
                    f"the merge request changed since version {expected_version!r} was read; "
                    "re-read it and apply the change again.",
                    provider="gitlab",
                    status=412,
                )
        payload: dict[str, Any] = {}
        if data.title is not None:
            payload["title"] = data.title
        if data.body is not None:
            payload["description"] = data.body
        if data.base is not None:
            payload["target_branch"] = data.base
        if data.state is not None:
            payload["state_event"] = "close" if data.state == "closed" else "reopen"
        response = await self.http.put(path, json=payload)
        return mapping.merge_request(response.json(), provider=self.provider_ref)

    async def merge_pull_request(
        self,
        ref: ExternalRef,
        number: str,
        *,
        method: MergeMethod = MergeMethod.MERGE,
        expected_head_sha: str | None = None,
    ) -> PullRequest:
        """Merge (``squash`` squashes; GitLab's rebase is a project setting, not a call)."""
        if method is MergeMethod.REBASE:
            raise InvalidInput(
                "GitLab merges with a merge commit or squashes; fast-forward/rebase merging is "
                "the project's merge method setting",
                field="method",
            )
        path = f"{project_path(ref)}/merge_requests/{as_number(number, 'iid')}"
        payload: dict[str, Any] = {"squash": method is MergeMethod.SQUASH}
        if expected_head_sha is not None:
            payload["sha"] = expected_head_sha
        try:
            response = await self.http.put(f"{path}/merge", json=payload)
        except Conflict as exc:
            raise PreconditionFailed(
                f"the merge request's head is no longer {expected_head_sha!r}: {exc}",
                provider="gitlab",
                status=409,
            ) from exc
        except ProviderRejectedInput as exc:
            if exc.status in (405, 406):
                current = await self.get_pull_request(ref, number)
                if current.merged_at is not None:
                    return current  # a retried merge: it is done
                raise Conflict(
                    f"GitLab cannot merge !{number} now ({exc}); it may be a draft, closed, "
                    "blocked by discussions or approvals, or conflicting",
                    provider="gitlab",
                    status=exc.status,
                ) from exc
            raise
        return mapping.merge_request(response.json(), provider=self.provider_ref)

    async def list_reviews(
        self,
        ref: ExternalRef,
        number: str,
        *,
        cursor: str | None = None,
        page_size: int | None = None,
    ) -> Page[Review]:
        """Who approved the merge request, one approving Review each (one page: GitLab
        returns every approver at once)."""
        path = f"{project_path(ref)}/merge_requests/{as_number(number, 'iid')}"
        mr = await self._get_json(path)
        approvals = await self._get_json(f"{path}/approvals")
        reviews = [
            mapping.approval(entry, mr=mr, provider=self.provider_ref)
            for entry in approvals.get("approved_by") or []
        ]
        size = self._page_size(page_size)
        start = int(decode_cursor(cursor).get("offset", 0)) if cursor else 0
        chunk = reviews[start : start + size]
        more = start + size < len(reviews)
        return Page(
            items=chunk,
            next_cursor=encode_cursor({"offset": start + size}) if more else None,
        )

    # -- refs and commits ---------------------------------------------------------------

    async def list_refs(
        self,
        ref: ExternalRef,
        *,
        prefix: str | None = None,
        cursor: str | None = None,
        page_size: int | None = None,
    ) -> Page[Ref]:
        """Branches (``refs/heads/…``), then tags (``refs/tags/…``); ``prefix`` filters."""
        path_name = full_path(ref)
        stage = "branches"
        inner: str | None = None
        if cursor is not None:
            state = decode_cursor(cursor)
            stage = str(state.get("stage", "branches"))
            inner = (
                encode_cursor({"url": state["url"], SEEN_KEY: state.get(SEEN_KEY, [])})
                if state.get("url")
                else None
            )
        if prefix is not None and not prefix.startswith("refs/"):
            raise InvalidInput(
                "prefix must start with refs/ (refs/heads/, refs/tags/)", field="prefix"
            )
        if stage == "branches" and prefix is not None and prefix.startswith("refs/tags/"):
            stage = "tags"

        def keep(item: Ref) -> Ref | None:
            return item if prefix is None or item.name.startswith(prefix) else None

        if stage == "branches":
            page = await self._list_page(
                f"{project_path(ref)}/repository/branches",
                {},
                cursor=inner,
                page_size=page_size,
                convert=lambda native: keep(
                    mapping.branch(native, project_path=path_name, provider=self.provider_ref)
                ),
                extra={"stage": "branches"},
            )
            tags_wanted = prefix is None or prefix.startswith("refs/tags/") or prefix == "refs/"
            if page.next_cursor is None and tags_wanted:
                return Page(
                    items=page.items,
                    next_cursor=encode_cursor({"stage": "tags"}),
                    extra=page.extra,
                )
            return page
        return await self._list_page(
            f"{project_path(ref)}/repository/tags",
            {},
            cursor=inner,
            page_size=page_size,
            convert=lambda native: keep(
                mapping.tag(native, project_path=path_name, provider=self.provider_ref)
            ),
            extra={"stage": "tags"},
        )

    async def get_commit(self, ref: ExternalRef, sha: str) -> Commit:
        """One commit by sha (or branch/tag name)."""
        path = f"{project_path(ref)}/repository/commits/{quote(sha, safe='')}"
        response = await self.http.get(path)
        return mapping.commit(response.json(), provider=self.provider_ref, etag=response.etag)

    # -- deploy keys and members ----------------------------------------------------------

    async def list_deploy_keys(
        self, ref: ExternalRef, *, cursor: str | None = None, page_size: int | None = None
    ) -> Page[DeployKey]:
        """The project's deploy keys (``can_push`` false: read-only)."""
        return await self._list_page(
            f"{project_path(ref)}/deploy_keys",
            {},
            cursor=cursor,
            page_size=page_size,
            convert=lambda native: mapping.deploy_key(native, provider=self.provider_ref),
        )

    async def sync_deploy_keys(
        self,
        ref: ExternalRef,
        desired: Sequence[DeployKeySpec],
        *,
        prune: bool = True,
        dry_run: bool = False,
    ) -> SyncResult:
        """Converge deploy keys to ``desired`` by key material; title/read-only are edited in
        place (GitLab can), a new key is added, ``prune`` deletes the others."""
        specs: dict[str, DeployKeySpec] = {}
        for spec in desired:
            material = key_material(spec.key)
            if material in specs:
                raise InvalidInput(
                    f"deploy key {spec.title!r} repeats the key of {specs[material].title!r}; "
                    "a key can be added to a project once",
                    field="desired",
                )
            specs[material] = spec
        existing: dict[str, DeployKey] = {}
        cursor: str | None = None
        while True:
            page = await self.list_deploy_keys(ref, cursor=cursor)
            for item in page.items:
                existing[key_material(item.key)] = item
            if page.next_cursor is None:
                break
            cursor = page.next_cursor
        current = {
            m: {"title": k.title, "key": m, "read_only": k.read_only} for m, k in existing.items()
        }
        wanted = {
            m: {"title": s.title, "key": m, "read_only": s.read_only} for m, s in specs.items()
        }
        changes = plan_changes(current, wanted, ("title", "read_only"), prune, none_is_value=True)
        if not dry_run:
            base = f"{project_path(ref)}/deploy_keys"
            for change in changes:
                if change.action is PlanAction.CREATE:
                    spec = specs[change.key]
                    await self.http.post(
                        base,
                        json={"title": spec.title, "key": spec.key, "can_push": not spec.read_only},
                    )
                elif change.action is PlanAction.UPDATE:
                    spec = specs[change.key]
                    await self.http.put(
                        f"{base}/{existing[change.key].external.native_id}",
                        json={"title": spec.title, "can_push": not spec.read_only},
                    )
                elif change.action is PlanAction.DELETE:
                    with contextlib.suppress(NotFound):  # already gone
                        await self.http.delete(f"{base}/{existing[change.key].external.native_id}")
        return SyncResult(kind="DeployKey", dry_run=dry_run, changes=changes)

    async def list_collaborators(
        self, ref: ExternalRef, *, cursor: str | None = None, page_size: int | None = None
    ) -> Page[Collaborator]:
        """Project members, inherited ones included, with their role."""
        return await self._list_page(
            f"{project_path(ref)}/members/all",
            {},
            cursor=cursor,
            page_size=page_size,
            convert=lambda native: mapping.member(native, provider=self.provider_ref),
        )

    # -- protected branches -------------------------------------------------------------------

    async def _approval_rule(self, ref: ExternalRef, branch: str) -> dict[str, Any] | None:
        rules = await self._get_json(f"{project_path(ref)}/approval_rules", {"per_page": 100})
        for rule in rules or []:
            names = {b.get("name") for b in rule.get("protected_branches") or []}
            if branch in names:
                return dict(rule)
        return None

    async def get_branch_protection(self, ref: ExternalRef, branch: str) -> BranchProtection:
        """The protected branch, with the approvals its approval rule requires."""
        path = f"{project_path(ref)}/protected_branches/{quote(branch, safe='')}"
        native = await self._get_json(path)
        protection = mapping.protected_branch(
            native, project_path=full_path(ref), provider=self.provider_ref
        )
        rule = await self._approval_rule(ref, branch)
        if rule is None:
            return protection
        return protection.model_copy(
            update={"required_approving_reviews": int(rule["approvals_required"])}
        )

    async def sync_branch_protection(
        self,
        ref: ExternalRef,
        branch: str,
        desired: BranchProtectionSpec | None,
        *,
        dry_run: bool = False,
    ) -> SyncResult:
        """Converge a branch's protection: protect/patch/unprotect it, and keep its required
        approvals in an approval rule scoped to the branch."""
        if desired is not None:
            asked = [f for f in _UNREPRESENTABLE if getattr(desired, f)]
            if asked:
                raise InvalidInput(
                    f"GitLab protected branches cannot express {asked}; leave them unset "
                    "(use merge checks and pipelines-must-succeed project settings instead)",
                    field="desired",
                )
        try:
            current: BranchProtection | None = await self.get_branch_protection(ref, branch)
        except NotFound:
            current = None
        before = (
            {f: getattr(current, f) for f in _PROTECTION_FIELDS} if current is not None else None
        )
        after = {f: getattr(desired, f) for f in _PROTECTION_FIELDS} if desired else None
        fields: list[str] = []
        if before is None and after is None:
            action = PlanAction.UNCHANGED
        elif before is None:
            action = PlanAction.CREATE
        elif after is None:
            action = PlanAction.DELETE
        else:
            fields = [f for f in _PROTECTION_FIELDS if before[f] != after[f]]
            action = PlanAction.UPDATE if fields else PlanAction.UNCHANGED
        change = PlannedChange(action=action, key=branch, before=before, after=after, fields=fields)
        if not dry_run and action is not PlanAction.UNCHANGED:
            await self._apply_protection(ref, branch, desired, action)
        return SyncResult(kind="BranchProtection", dry_run=dry_run, changes=[change])

    async def _apply_protection(
        self,
        ref: ExternalRef,
        branch: str,
        desired: BranchProtectionSpec | None,
        action: PlanAction,
    ) -> None:
        base = f"{project_path(ref)}/protected_branches"
        rule = await self._approval_rule(ref, branch)
        if action is PlanAction.DELETE or desired is None:
            if rule is not None:
                with contextlib.suppress(NotFound):
                    await self.http.delete(f"{project_path(ref)}/approval_rules/{rule['id']}")
            with contextlib.suppress(NotFound):  # already unprotected
                await self.http.delete(f"{base}/{quote(branch, safe='')}")
            return
        flags: dict[str, Any] = {
            "allow_force_push": desired.allow_force_pushes,
            "code_owner_approval_required": desired.require_code_owner_reviews,
        }
        push_level = 0 if desired.enforce_admins else 40
        if action is PlanAction.CREATE:
            native = (
                await self.http.post(
                    base,
                    json={
                        "name": branch,
                        "push_access_level": push_level,
                        "merge_access_level": 40,
                        **flags,
                    },
                )
            ).json()
        else:
            flags["allowed_to_push"] = [{"access_level": push_level}]
            native = (await self.http.patch(f"{base}/{quote(branch, safe='')}", json=flags)).json()
        approvals = desired.required_approving_reviews
        if approvals and rule is None:
            await self.http.post(
                f"{project_path(ref)}/approval_rules",
                json={
                    "name": _rule_name(branch),
                    "approvals_required": approvals,
                    "protected_branch_ids": [native["id"]],
                },
            )
        elif approvals and rule is not None and rule["approvals_required"] != approvals:
            await self.http.put(
                f"{project_path(ref)}/approval_rules/{rule['id']}",
                json={"approvals_required": approvals},
            )
        elif not approvals and rule is not None:
            await self.http.delete(f"{project_path(ref)}/approval_rules/{rule['id']}")


def _same_time(expected: str, current: datetime | None) -> bool:
    if current is None:
        return False
    try:
        wanted = datetime.fromisoformat(expected.replace("Z", "+00:00"))
    except ValueError:
        return False
    return abs((current - wanted).total_seconds()) < 1
