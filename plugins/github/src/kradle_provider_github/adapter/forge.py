"""GitForge on GitHub: repositories, pull requests, reviews, refs, commits,
deploy keys, collaborators and branch protection."""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Sequence
from datetime import datetime
from typing import Any
from urllib.parse import quote

from kradle_provider_github import mapping
from kradle_provider_github.adapter.client import GitHubBase, precondition, repo_path
from kradle_provider_github.adapter.graphql import (
    REVIEWS_PAGE_SIZE,
    REVIEWS_QUERY,
    graphql_request,
    review_node_to_rest,
)
from kradle_providers.errors import Conflict, InvalidInput, NotFound
from kradle_providers.http import ProviderRejectedInput
from kradle_providers.http.idempotency import carries_idempotency_key, with_idempotency_marker
from kradle_providers.models import (
    BranchProtection,
    BranchProtectionSpec,
    Collaborator,
    Commit,
    DeployKey,
    DeployKeySpec,
    ExternalRef,
    MergeMethod,
    PullRequest,
    PullRequestCreate,
    PullRequestUpdate,
    Ref,
    Repository,
    RepositoryCreate,
    RepositoryUpdate,
    Review,
    SyncResult,
)
from kradle_providers.models.plan import PlanAction, PlannedChange, plan_changes
from kradle_providers.protocols.page import Page, collect, decode_cursor, encode_cursor

__all__ = ["ForgeOperations", "key_material", "protection_body"]

_PROTECTION_FIELDS = tuple(BranchProtectionSpec.model_fields)


def key_material(key: str) -> str:
    """A public key without its comment (``ssh-ed25519 AAAA…``): how keys are matched."""
    parts = key.split()
    return " ".join(parts[:2]) if len(parts) >= 2 else key.strip()


def _effective(spec: BranchProtectionSpec) -> dict[str, Any]:
    """``spec`` as GitHub will store it (a review setting implies a reviews rule)."""
    values = spec.model_dump(mode="json")
    if values["required_approving_reviews"] is None and (
        spec.dismiss_stale_reviews or spec.require_code_owner_reviews
    ):
        values["required_approving_reviews"] = 0
    values["required_status_checks"] = sorted(values["required_status_checks"])
    return values


def _current(protection: BranchProtection) -> dict[str, Any]:
    values = {name: getattr(protection, name) for name in _PROTECTION_FIELDS}
    values["required_status_checks"] = sorted(values["required_status_checks"])
    return values


def protection_body(spec: BranchProtectionSpec) -> dict[str, Any]:
    """The full ``PUT /branches/{branch}/protection`` body for ``spec``."""
    values = _effective(spec)
    checks: dict[str, Any] | None = None
    if spec.required_status_checks or spec.strict_status_checks:
        checks = {
            "strict": spec.strict_status_checks,
            "contexts": list(spec.required_status_checks),
        }
    reviews: dict[str, Any] | None = None
    if values["required_approving_reviews"] is not None:
        reviews = {
            "dismiss_stale_reviews": spec.dismiss_stale_reviews,
            "require_code_owner_reviews": spec.require_code_owner_reviews,
            "required_approving_review_count": values["required_approving_reviews"],
        }
    return {
        "required_status_checks": checks,
        "enforce_admins": spec.enforce_admins,
        "required_pull_request_reviews": reviews,
        "restrictions": None,
        "required_linear_history": spec.required_linear_history,
        "allow_force_pushes": spec.allow_force_pushes,
        "allow_deletions": spec.allow_deletions,
    }


def _number(value: str) -> str:
    text = str(value).strip().lstrip("#")
    if not text.isdigit():
        raise InvalidInput(
            f"pull request number must look like '42', got {value!r}", field="number"
        )
    return text


class ForgeOperations(GitHubBase):
    """The GitForge operations."""

    # -- repositories ---------------------------------------------------------

    async def list_repositories(
        self,
        ref: ExternalRef,
        *,
        since: datetime | None = None,
        cursor: str | None = None,
        page_size: int | None = None,
    ) -> Page[Repository]:
        """Repositories of ``ref.owner``: an organization's, or a user's when it is no org.

        GitHub takes no ``since`` here; repositories updated before it are
        filtered out page by page. Oldest first, so a repository created while
        paging lands after the cursor instead of shifting the pages.
        """
        if not ref.owner:
            raise InvalidInput("list_repositories needs ref.owner", field="ref")

        def convert(native: Any) -> Repository | None:
            repo = mapping.repository(native, provider=self.provider_ref)
            if since is not None and repo.updated_at is not None and repo.updated_at < since:
                return None
            return repo

        if cursor is not None:
            return await self._list_page(
                "",
                {},
                cursor=cursor,
                page_size=page_size,
                convert=convert,
                updated=lambda r: r.updated_at,
            )
        try:
            return await self._list_page(
                f"/orgs/{ref.owner}/repos",
                {"type": "all", "sort": "created", "direction": "asc"},
                cursor=None,
                page_size=page_size,
                convert=convert,
                updated=lambda r: r.updated_at,
            )
        except NotFound:
            # Not an organization: list the user's repositories instead.
            return await self._list_page(
                f"/users/{ref.owner}/repos",
                {"type": "owner", "sort": "created", "direction": "asc"},
                cursor=None,
                page_size=page_size,
                convert=convert,
                updated=lambda r: r.updated_at,
            )

    async def get_repository(self, ref: ExternalRef) -> Repository:
        """One repository."""
        return mapping.repository(await self._get_json(repo_path(ref)), provider=self.provider_ref)

    async def create_repository(
        self, ref: ExternalRef, data: RepositoryCreate, *, idempotency_key: str | None = None
    ) -> Repository:
        """Create ``ref.owner/data.name`` in an organization (or for the user on 404).

        Names are unique, so a lost response is recovered by reading the
        repository back (natural idempotency; ``idempotency_key`` is not needed).
        """
        if not ref.owner:
            raise InvalidInput("create_repository needs ref.owner", field="ref")
        if data.default_branch is not None:
            raise InvalidInput(
                "GitHub names the default branch on the first push; create the repository, "
                "push the branch, then set it with update_repository",
                field="default_branch",
            )
        payload: dict[str, Any] = {"name": data.name, "visibility": data.visibility}
        payload["private"] = data.visibility != "public"
        if data.description is not None:
            payload["description"] = data.description
        target = ExternalRef(owner=ref.owner, repository=data.name)

        async def read_back() -> Repository | None:
            try:
                return await self.get_repository(target)
            except NotFound:
                return None

        try:
            result = await self.http.post(
                f"/orgs/{ref.owner}/repos", json=payload, read_back=read_back
            )
        except NotFound:
            result = await self.http.post("/user/repos", json=payload, read_back=read_back)
        if isinstance(result, Repository):
            return result
        return mapping.repository(result.json(), provider=self.provider_ref)

    async def update_repository(self, ref: ExternalRef, data: RepositoryUpdate) -> Repository:
        """Change the fields set on ``data``."""
        payload = {
            name: getattr(data, name)
            for name in data.model_fields_set
            if getattr(data, name) is not None
        }
        if not payload:
            return await self.get_repository(ref)
        response = await self.http.patch(repo_path(ref), json=payload)
        return mapping.repository(response.json(), provider=self.provider_ref)

    # -- pull requests --------------------------------------------------------

    async def list_pull_requests(
        self,
        ref: ExternalRef,
        *,
        since: datetime | None = None,
        state: str | None = None,
        cursor: str | None = None,
        page_size: int | None = None,
    ) -> Page[PullRequest]:
        """Pull requests; with ``since``, newest change first, stopping at ``since``.

        GitHub's pulls listing takes no ``since``, but sorts by update time:
        listing newest first lets the walk end at the first page that reaches
        back before ``since`` instead of reading the whole history.
        """
        state = state or "all"
        if state not in ("open", "closed", "all"):
            raise InvalidInput("state must be 'open', 'closed' or 'all'", field="state")
        params: dict[str, Any] = {"state": state}
        if since is not None:
            params.update(sort="updated", direction="desc")
        else:
            params.update(sort="created", direction="asc")
        reached_older = False

        def convert(native: Any) -> PullRequest | None:
            nonlocal reached_older
            pr = mapping.pull_request(native, provider=self.provider_ref)
            if since is not None and pr.updated_at is not None and pr.updated_at < since:
                reached_older = True
                return None
            return pr

        page = await self._list_page(
            f"{repo_path(ref)}/pulls",
            params,
            cursor=cursor,
            page_size=page_size,
            convert=convert,
            updated=lambda p: p.updated_at,
        )
        if reached_older and page.next_cursor is not None:
            return Page(items=page.items, high_water_mark=page.high_water_mark, extra=page.extra)
        return page

    async def get_pull_request(self, ref: ExternalRef, number: str) -> PullRequest:
        """One pull request."""
        response = await self.http.get(f"{repo_path(ref)}/pulls/{_number(number)}")
        return mapping.pull_request(response.json(), provider=self.provider_ref, etag=response.etag)

    async def create_pull_request(
        self, ref: ExternalRef, data: PullRequestCreate, *, idempotency_key: str | None = None
    ) -> PullRequest:
        """Open a pull request; with ``idempotency_key`` a lost response never opens two."""
        body = data.body
        if idempotency_key is not None:
            body = with_idempotency_marker(body, idempotency_key)
        payload: dict[str, Any] = {
            "title": data.title,
            "head": data.head,
            "base": data.base,
            "draft": data.draft,
        }
        if body is not None:
            payload["body"] = body
        path = f"{repo_path(ref)}/pulls"
        if idempotency_key is None:
            response = await self.http.post(path, json=payload)
            return mapping.pull_request(response.json(), provider=self.provider_ref)
        key = idempotency_key

        async def read_back() -> PullRequest | None:
            response = await self.http.get(
                path,
                params={"state": "all", "sort": "created", "direction": "desc", "per_page": 100},
                conditional=False,
            )
            for native in response.json() or []:
                if carries_idempotency_key(native.get("body"), key):
                    return mapping.pull_request(native, provider=self.provider_ref)
            return None

        result = await self.http.post(path, json=payload, read_back=read_back)
        if isinstance(result, PullRequest):
            return result
        return mapping.pull_request(result.json(), provider=self.provider_ref)

    async def update_pull_request(
        self,
        ref: ExternalRef,
        number: str,
        data: PullRequestUpdate,
        *,
        expected_version: str | None = None,
    ) -> PullRequest:
        """Change the fields set on ``data``; ``expected_version`` as for issues."""
        path = f"{repo_path(ref)}/pulls/{_number(number)}"
        if expected_version is not None:
            current = await self.http.get(path)
            pr = mapping.pull_request(current.json(), provider=self.provider_ref)
            precondition(expected_version, current.etag, pr.updated_at, f"pull request #{number}")
        payload = {
            name: getattr(data, name)
            for name in data.model_fields_set
            if getattr(data, name) is not None or name == "body"
        }
        if not payload:
            return await self.get_pull_request(ref, number)
        response = await self.http.patch(path, json=payload)
        return mapping.pull_request(response.json(), provider=self.provider_ref)

    async def merge_pull_request(
        self,
        ref: ExternalRef,
        number: str,
        *,
        method: MergeMethod = MergeMethod.MERGE,
        expected_head_sha: str | None = None,
    ) -> PullRequest:
        """Merge; ``expected_head_sha`` makes GitHub refuse (409 -> Conflict) if the head moved."""
        path = f"{repo_path(ref)}/pulls/{_number(number)}"
        payload: dict[str, Any] = {"merge_method": method.value}
        if expected_head_sha is not None:
            payload["sha"] = expected_head_sha
        try:
            await self.http.put(f"{path}/merge", json=payload)
        except ProviderRejectedInput as exc:
            if exc.status == 405:
                raise Conflict(
                    f"pull request #{number} cannot be merged now ({exc.message}); check its "
                    "mergeability, required reviews and status checks, then retry.",
                    provider="github",
                    status=405,
                    native=exc.native,
                ) from exc
            raise
        return mapping.pull_request(
            (await self.http.get(path, conditional=False)).json(), provider=self.provider_ref
        )

    # -- reviews --------------------------------------------------------------

    async def list_reviews(
        self,
        ref: ExternalRef,
        number: str,
        *,
        cursor: str | None = None,
        page_size: int | None = None,
    ) -> Page[Review]:
        """Reviews of one pull request (REST). For many PRs use :meth:`hydrate_reviews`."""
        return await self._list_page(
            f"{repo_path(ref)}/pulls/{_number(number)}/reviews",
            {},
            cursor=cursor,
            page_size=page_size,
            convert=lambda native: mapping.review(native, provider=self.provider_ref),
        )

    async def hydrate_reviews(
        self, ref: ExternalRef, numbers: Sequence[str] | None = None
    ) -> dict[str, list[Review]]:
        """Reviews of many pull requests at once: PR number -> reviews.

        One GraphQL query returns 100 pull requests with up to 100 reviews
        each, so hydrating N pull requests costs ``ceil(N/100)`` requests
        instead of N REST listings. ``numbers=None`` hydrates every pull
        request of the repository (the backfill path); with ``numbers`` the
        others are skipped. A pull request with 100 or more reviews is
        completed through the REST listing.
        """
        repo_api = f"{self.rest_url}{repo_path(ref)}"
        wanted = {_number(n) for n in numbers} if numbers is not None else None
        if wanted is not None and not wanted:
            return {}  # nothing to hydrate costs nothing (an incremental sync with no change)
        found: dict[str, list[Review]] = {}
        overflow: list[str] = []
        after: str | None = None
        while True:
            data = await graphql_request(
                self.http,
                self.graphql_url,
                REVIEWS_QUERY,
                {
                    "owner": ref.owner,
                    "name": ref.repository,
                    "first": REVIEWS_PAGE_SIZE,
                    "after": after,
                },
            )
            repository = (data or {}).get("repository")
            if repository is None:
                raise NotFound(
                    f"repository {ref.slug()} not found through GitHub GraphQL; check the "
                    "name and the credential's access",
                    provider="github",
                    status=200,
                )
            connection = repository["pullRequests"]
            for node in connection.get("nodes") or []:
                number = str(node["number"])
                if wanted is not None and number not in wanted:
                    continue
                reviews = (node.get("reviews") or {}).get("nodes") or []
                if len(reviews) >= REVIEWS_PAGE_SIZE:
                    overflow.append(number)
                    continue
                found[number] = [
                    mapping.review(
                        review_node_to_rest(
                            review, pull_number=int(number), repo_api_url=repo_api
                        ),
                        provider=self.provider_ref,
                    )
                    for review in reviews
                ]  # fmt: skip
            info = connection.get("pageInfo") or {}
            if wanted is not None and wanted <= set(found) | set(overflow):
                break
            if not info.get("hasNextPage") or not info.get("endCursor"):
                break
            after = str(info["endCursor"])
        for number in overflow:
            found[number] = await collect(functools.partial(self._reviews_page, ref, number))
        return found

    async def _reviews_page(
        self, ref: ExternalRef, number: str, cursor: str | None
    ) -> Page[Review]:
        return await self.list_reviews(ref, number, cursor=cursor)

    # -- refs and commits -----------------------------------------------------

    async def list_refs(
        self,
        ref: ExternalRef,
        *,
        prefix: str | None = None,
        cursor: str | None = None,
        page_size: int | None = None,
    ) -> Page[Ref]:
        """Refs matching ``prefix`` (``heads``, ``tags/v1``, ``refs/heads/main``…);
        without one, branches then tags.

        GitHub answers ``matching-refs`` unpaginated, so pages are cut here, in
        ref-name order; the cursor holds the phase and the last name returned.
        Re-reading the answer for the next page is a conditional request (a 304
        is not charged).
        """
        size = self._page_size(page_size)
        after: str | None = None
        if cursor is not None:
            state = decode_cursor(cursor)
            phases = [str(p) for p in state.get("phases", [])]
            raw_after = state.get("after")
            if not phases or not (raw_after is None or isinstance(raw_after, str)):
                raise InvalidInput("not a list_refs cursor; pass it back unchanged", field="cursor")
            after = raw_after
        else:
            clean = (prefix or "").strip().removeprefix("refs/").strip("/")
            phases = [clean] if clean else ["heads", "tags"]
        items: list[Ref] = []
        while phases:
            current = phases[0]
            response = await self.http.get(
                f"{repo_path(ref)}/git/matching-refs/{quote(current, safe='/')}"
            )
            body = response.json()
            natives = body if isinstance(body, list) else [body]
            refs = sorted(
                (
                    mapping.ref(native, provider=self.provider_ref, repository=ref.slug())
                    for native in natives
                ),
                key=lambda r: r.name,
            )
            pending = [r for r in refs if after is None or r.name > after]
            room = size - len(items)
            items.extend(pending[:room])
            if len(pending) > room:
                last = items[-1].name
                return Page(
                    items=items, next_cursor=encode_cursor({"phases": phases, "after": last})
                )
            phases, after = phases[1:], None
            if len(items) == size and phases:
                return Page(
                    items=items, next_cursor=encode_cursor({"phases": phases, "after": None})
                )
        return Page(items=items, next_cursor=None)

    async def get_commit(self, ref: ExternalRef, sha: str) -> Commit:
        """One commit by SHA (or any ref name GitHub resolves); NotFound when there is none."""
        try:
            native = await self._get_json(f"{repo_path(ref)}/commits/{quote(sha, safe='')}")
        except ProviderRejectedInput as exc:
            # GitHub answers an unknown SHA with 422 "No commit found for SHA: …".
            if "no commit found" not in str(exc).lower():
                raise
            raise NotFound(
                f"repository {ref.slug()} has no commit {sha!r}; check the SHA or ref "
                "name (a force-push may have removed it)",
                provider="github",
                status=exc.status,
            ) from exc
        return mapping.commit(native, provider=self.provider_ref)

    # -- deploy keys ----------------------------------------------------------

    async def list_deploy_keys(
        self, ref: ExternalRef, *, cursor: str | None = None, page_size: int | None = None
    ) -> Page[DeployKey]:
        """The repository's deploy keys."""
        return await self._list_page(
            f"{repo_path(ref)}/keys",
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
        """Converge deploy keys to ``desired``, matched by key material (comment ignored).

        GitHub cannot edit a deploy key: a changed title or read_only is
        planned as ``update`` and applied as delete + create.
        """
        specs: dict[str, DeployKeySpec] = {}
        for spec in desired:
            material = key_material(spec.key)
            if material in specs:
                raise InvalidInput(
                    f"deploy key {spec.title!r} repeats the key of {specs[material].title!r}; "
                    "GitHub allows a key once per repository",
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
            material: {"title": have.title, "key": material, "read_only": have.read_only}
            for material, have in existing.items()
        }
        wanted = {
            material: {"title": spec.title, "key": material, "read_only": spec.read_only}
            for material, spec in specs.items()
        }
        changes = plan_changes(current, wanted, ("title", "read_only"), prune, none_is_value=True)
        if not dry_run:
            base = f"{repo_path(ref)}/keys"
            for change in changes:
                if change.action in (PlanAction.DELETE, PlanAction.UPDATE):
                    with contextlib.suppress(NotFound):  # already gone
                        await self.http.delete(f"{base}/{existing[change.key].external.native_id}")
                if change.action in (PlanAction.CREATE, PlanAction.UPDATE):
                    spec = specs[change.key]
                    await self.http.post(
                        base,
                        json={"title": spec.title, "key": spec.key, "read_only": spec.read_only},
                    )
        return SyncResult(kind="DeployKey", dry_run=dry_run, changes=changes)

    # -- collaborators and protection -----------------------------------------

    async def list_collaborators(
        self, ref: ExternalRef, *, cursor: str | None = None, page_size: int | None = None
    ) -> Page[Collaborator]:
        """People with access to the repository, with their permission."""
        return await self._list_page(
            f"{repo_path(ref)}/collaborators",
            {},
            cursor=cursor,
            page_size=page_size,
            convert=lambda native: mapping.collaborator(native, provider=self.provider_ref),
        )

    async def get_branch_protection(self, ref: ExternalRef, branch: str) -> BranchProtection:
        """The branch's protection; NotFound when it is not protected."""
        native = await self._get_json(
            f"{repo_path(ref)}/branches/{quote(branch, safe='')}/protection"
        )
        return mapping.branch_protection(
            native, provider=self.provider_ref, repository=ref.slug(), branch=branch
        )

    async def sync_branch_protection(
        self,
        ref: ExternalRef,
        branch: str,
        desired: BranchProtectionSpec | None,
        *,
        dry_run: bool = False,
    ) -> SyncResult:
        """Converge protection: PUT the full rule set, or DELETE it for ``None``."""
        try:
            current: BranchProtection | None = await self.get_branch_protection(ref, branch)
        except NotFound:
            current = None
        before = _current(current) if current is not None else None
        after = _effective(desired) if desired is not None else None
        if before is None and after is None:
            action = PlanAction.UNCHANGED
            fields: list[str] = []
        elif before is None:
            action, fields = PlanAction.CREATE, []
        elif after is None:
            action, fields = PlanAction.DELETE, []
        else:
            fields = [f for f in _PROTECTION_FIELDS if before[f] != after[f]]
            action = PlanAction.UPDATE if fields else PlanAction.UNCHANGED
        change = PlannedChange(action=action, key=branch, before=before, after=after, fields=fields)
        if not dry_run:
            path = f"{repo_path(ref)}/branches/{quote(branch, safe='')}/protection"
            if action in (PlanAction.CREATE, PlanAction.UPDATE) and desired is not None:
                await self.http.put(path, json=protection_body(desired))
            elif action is PlanAction.DELETE:
                with contextlib.suppress(NotFound):  # already unprotected
                    await self.http.delete(path)
        return SyncResult(kind="BranchProtection", dry_run=dry_run, changes=[change])
