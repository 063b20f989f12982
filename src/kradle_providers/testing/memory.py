"""The reference provider ``memory``: every operation of the three protocols over
an in-process :class:`~kradle_providers.testing.memory_backend.MemoryBackend`.

It is the executable definition of the protocol semantics the contract suite
checks: stable opaque cursors, inclusive ``since`` listings with a high-water
mark, NotFound for missing objects, idempotency keys, conditional updates,
declarative syncs whose dry run is the real plan, lazy redacted logs and
short-lived runner tokens that are never kept.

Object ids follow the protocol convention: issues, pull requests and
milestones by number; refs by name; commits by sha; everything else by id.
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar, cast

from kradle_providers.auth.secret import Secret, redact
from kradle_providers.errors import (
    Conflict,
    InvalidInput,
    NotFound,
    PreconditionFailed,
)
from kradle_providers.models import (
    Artifact,
    BranchProtection,
    BranchProtectionSpec,
    CanonicalObject,
    Check,
    CheckInput,
    Collaborator,
    Comment,
    Commit,
    DeployKey,
    DeployKeySpec,
    Extensions,
    ExternalEnvelope,
    ExternalRef,
    Interface,
    Issue,
    IssueCreate,
    IssueEvent,
    IssueUpdate,
    Job,
    Label,
    LabelSpec,
    MergeMethod,
    Milestone,
    Pipeline,
    PipelineDefinition,
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
    Runner,
    RunnerRegistration,
    SyncResult,
    Transition,
)
from kradle_providers.models.plan import plan_changes
from kradle_providers.plugins.spec import ProviderConfig
from kradle_providers.protocols.adapter import ProviderAdapter
from kradle_providers.protocols.credentials import CredentialReport
from kradle_providers.protocols.page import Page, decode_cursor, encode_cursor
from kradle_providers.testing.memory_backend import (
    BRANCH_PROTECTION_DEFAULTS,
    MemoryBackend,
    format_time,
    parse_time,
)
from kradle_providers.testing.memory_mapping import (
    WORKFLOW,
    native_check_status,
    to_canonical,
    transition_model,
    version_of,
)

__all__ = ["MemoryAdapter"]

T = TypeVar("T", bound=CanonicalObject)
Native = dict[str, Any]

RUNNER_TOKEN_TTL = timedelta(hours=1)


def _token_of(auth: Any) -> Secret | None:
    """The token in ``ProviderConfig.auth``: a Secret, a str, or an object with ``token``."""
    if auth is None:
        return None
    if isinstance(auth, Secret):
        return auth
    if isinstance(auth, str):
        return Secret(auth)
    token = getattr(auth, "token", None)
    if isinstance(token, Secret):
        return token
    if isinstance(token, str):
        return Secret(token)
    raise InvalidInput(
        f"the memory provider takes a token (a Secret or an object with a `token` Secret), "
        f"not {type(auth).__name__}",
        field="auth",
    )


class MemoryAdapter(ProviderAdapter):
    """The memory provider's adapter (all three interfaces, every operation).

    ``backend`` is the provider state it talks to; ``token`` the credential it
    presents (checked against ``backend.accepted_token`` on every call).
    """

    provider_type = "memory"

    def __init__(
        self,
        backend: MemoryBackend | None = None,
        *,
        token: Secret | str | None = None,
        instance: str = "default",
    ) -> None:
        super().__init__(instance=instance)
        self.backend = backend if backend is not None else MemoryBackend()
        self._token: Secret | None = Secret(token) if isinstance(token, str) else token

    @classmethod
    def from_config(cls, config: ProviderConfig) -> MemoryAdapter:
        """Build an adapter from a provider config.

        ``config.options["backend"]`` shares an existing :class:`MemoryBackend`;
        without it a fresh backend seeded with :meth:`MemoryBackend.seed_demo`
        is created, accepting the configured token. ``config.auth`` is the
        token (a Secret, or an object with a ``token`` Secret attribute).
        """
        token = _token_of(config.auth)
        backend = config.options.get("backend")
        if backend is None:
            backend = MemoryBackend(accepted_token=token)
            backend.seed_demo()
        elif not isinstance(backend, MemoryBackend):
            raise InvalidInput(
                f"options.backend must be a MemoryBackend, not {type(backend).__name__}",
                field="options.backend",
            )
        return cls(backend, token=token, instance=config.instance)

    async def check_credentials(self) -> CredentialReport:
        """The backend's verdict on the token, and the scopes it grants (``granted_scopes``)."""
        self.backend.handle("checkCredentials", self._token)
        return CredentialReport(
            identity="memory-user", kind="user", native_scopes=self.backend.granted_scopes
        )

    # --- plumbing -------------------------------------------------------------

    def _call(self, operation: str, ref: ExternalRef, **args: Any) -> None:
        self.backend.handle(operation, self._token, ref=ref.slug(), **args)

    def _map(self, kind: str, native: Mapping[str, Any], cls: type[T]) -> T:
        return cast(T, to_canonical(kind, native, self.provider_ref))

    def _page_size(self, page_size: int | None) -> int:
        if page_size is None:
            return self.backend.max_page_size
        if page_size < 1:
            raise InvalidInput("must be at least 1", field="page_size")
        # Like real providers, clamp instead of refusing a too-large page.
        return min(page_size, self.backend.max_page_size)

    def _page(
        self,
        kind: str,
        cls: type[T],
        operation: str,
        scope: str,
        *,
        cursor: str | None,
        page_size: int | None,
        since: datetime | None = None,
        where: Callable[[Native], bool] | None = None,
        index: tuple[str, Any] | None = None,
        listing: str = "",
    ) -> Page[T]:
        """One page of ``kind`` in ``scope`` (only ``index[0] == index[1]`` when given),
        in O(page): the backend keeps each listing in both orders (``memory_index``).

        Full listings are ordered by id and the cursor holds the last id seen,
        so objects created while paging appear at the end and none is skipped
        or repeated. ``since`` listings are ordered by (updated_at, sequence) —
        the sequence is unique per mutation — so an object changed while paging
        moves behind the cursor and is listed (again) with its new version.
        The high-water mark is the provider's time when the listing started.
        """
        size = self._page_size(page_size)
        if since is not None and since.tzinfo is None:
            since = since.replace(tzinfo=UTC)  # naive marks are UTC, as in the models
        since_text = format_time(since) if since is not None else None
        if cursor is not None:
            state = decode_cursor(cursor)
            if (state.get("op"), state.get("scope"), state.get("listing"), state.get("since")) != (
                operation,
                scope,
                listing,
                since_text,
            ):
                raise InvalidInput(
                    f"this cursor belongs to another listing; pass the `next_cursor` of the "
                    f"previous {operation} page with the same arguments",
                    field="cursor",
                )
            mark = parse_time(state["mark"])
        else:
            state = {}
            mark = self.backend.now()
            if since is not None and since > mark:
                mark = since
        listing_ids = self.backend.listing(kind, scope, *(index or ()))
        if since is None:
            ids = listing_ids.after_id(int(state.get("after", 0)))
        else:
            after = (parse_time(state["t"]), int(state["s"])) if state else None
            ids = listing_ids.from_version(since, after)
        # One past the page says whether there is more; nothing beyond it is read.
        rows: list[Native] = []
        for oid in ids:
            o = self.backend.live(kind, oid)
            if o is not None and (where is None or where(o)):
                rows.append(o)
                if len(rows) > size:
                    break
        chunk, more = rows[:size], len(rows) > size
        next_cursor = None
        if more:
            last = chunk[-1]
            position_state: dict[str, Any] = (
                {"after": last["id"]}
                if since is None
                else {"t": last["updated_at"], "s": last["sequence"]}
            )
            next_cursor = encode_cursor(
                {
                    "op": operation,
                    "scope": scope,
                    "listing": listing,
                    "since": since_text,
                    "mark": format_time(mark),
                    **position_state,
                }
            )
        items = [self._map(kind, o, cls) for o in chunk]
        return Page(items=items, next_cursor=next_cursor, high_water_mark=mark)

    def _list_all(
        self,
        kind: str,
        cls: type[T],
        operation: str,
        ref: ExternalRef,
        cursor: str | None,
        page_size: int | None,
    ) -> Page[T]:
        """A plain listing: every ``kind`` object of the repository, by id."""
        self._call(operation, ref, cursor=cursor, page_size=page_size)
        return self._page(kind, cls, operation, ref.slug(), cursor=cursor, page_size=page_size)

    def _not_found(self, what: str, ident: str, hint: str) -> NotFound:
        return NotFound(f"{what} {ident!r} does not exist; {hint}", provider="memory", status=404)

    def _find(self, kind: str, scope: str, **match: Any) -> Native | None:
        for obj in self.backend.iter_live(kind):
            if obj["scope"] == scope and all(obj.get(k) == v for k, v in match.items()):
                return dict(obj)
        return None

    def _by_number(self, kind: str, scope: str, number: str, what: str) -> Native:
        found = self.backend.live_by_number(kind, scope, int(number)) if number.isdigit() else None
        if found is None:
            raise self._not_found(what, number, f"list {what}s in {scope} to find its number")
        return dict(found)

    def _by_id(self, kind: str, scope: str, oid: str, what: str) -> Native:
        found = self.backend.live(kind, int(oid)) if oid.isdigit() else None
        if found is None or found["scope"] != scope:
            raise self._not_found(what, oid, f"list {what}s in {scope} to find its id")
        return dict(found)

    def _of_issue(self, scope: str, issue_id: str | None) -> tuple[str, Any] | None:
        """The index of one issue's objects (None, all of them, without ``issue_id``)."""
        if issue_id is None:
            return None
        return "issue_number", self._by_number("issue", scope, issue_id, "issue")["number"]

    def _recall(self, operation: str, scope: str, key: str | None) -> Native | None:
        return self.backend.recall_key(operation, scope, key) if key else None

    def _remember(
        self, operation: str, scope: str, key: str | None, kind: str, obj: Native
    ) -> None:
        if key:
            self.backend.remember_key(operation, scope, key, kind, obj["id"])

    @staticmethod
    def _check_version(obj: Native, expected: str | None, what: str) -> None:
        if expected is None:
            return
        version = version_of(obj)
        accepted = {str(obj["sequence"]), version.etag, obj["updated_at"]}
        if version.updated_at is not None:
            accepted.add(version.updated_at.isoformat())
        if expected not in accepted:
            raise PreconditionFailed(
                f"{what} changed since version {expected!r} (now {version.etag}); "
                "re-read it, merge your change and retry with the current version",
                current_version=version,
                provider="memory",
            )

    # --- issue tracking: issues ------------------------------------------------

    async def list_issues(
        self,
        ref: ExternalRef,
        *,
        since: datetime | None = None,
        state: str | None = None,
        cursor: str | None = None,
        page_size: int | None = None,
    ) -> Page[Issue]:
        """Issues (PR-backed issues excluded: they are pull requests)."""
        self._call("listIssues", ref, since=since, state=state, cursor=cursor, page_size=page_size)
        if state not in (None, "all", "open", "closed"):
            raise InvalidInput("use open, closed or all", field="state")

        def where(o: Native) -> bool:
            return not o.get("pull_request") and state in (None, "all", o["state"])

        return self._page(
            "issue",
            Issue,
            "listIssues",
            ref.slug(),
            cursor=cursor,
            page_size=page_size,
            since=since,
            where=where,
            listing=state or "all",
        )

    async def get_issue(self, ref: ExternalRef, issue_id: str) -> Issue:
        """One issue by number (a PR-backed one links its ``pull_request``)."""
        self._call("getIssue", ref, issue_id=issue_id)
        return self._map("issue", self._by_number("issue", ref.slug(), issue_id, "issue"), Issue)

    def _milestone_id(self, scope: str, milestone: str | None) -> int | None:
        if milestone is None:
            return None
        for obj in self.backend.iter_live("milestone"):
            if obj["scope"] == scope and milestone in (str(obj["number"]), obj["title"]):
                return int(obj["id"])
        raise InvalidInput(
            f"no milestone {milestone!r} in {scope}; use a milestone's number or title",
            field="milestone",
        )

    def _ensure_labels(self, scope: str, names: Iterable[str]) -> None:
        # Like GitHub, naming an unknown label creates it.
        existing = {o["name"] for o in self.backend.iter_live("label") if o["scope"] == scope}
        for name in names:
            if name not in existing:
                self.backend.seed_label(scope, name)
                existing.add(name)

    async def create_issue(
        self, ref: ExternalRef, data: IssueCreate, *, idempotency_key: str | None = None
    ) -> Issue:
        """Create an issue; the same ``idempotency_key`` returns the first one."""
        self._call("createIssue", ref, data=data, idempotency_key=idempotency_key)
        scope = ref.slug()
        previous = self._recall("createIssue", scope, idempotency_key)
        if previous is not None:
            return self._map("issue", previous, Issue)
        milestone_id = self._milestone_id(scope, data.milestone)
        self._ensure_labels(scope, data.labels)
        issue = self.backend.seed_issue(
            scope,
            data.title,
            body=data.body,
            labels=list(dict.fromkeys(data.labels)),
            assignees=list(dict.fromkeys(data.assignees)),
            milestone_id=milestone_id,
            issue_type=data.issue_type or "task",
            author="kradle",
        )
        self._remember("createIssue", scope, idempotency_key, "issue", issue)
        self.backend.seed_issue_event(scope, issue, "created", actor="kradle")
        return self._map("issue", issue, Issue)

    def _apply_issue_change(
        self, scope: str, issue: Native, changes: dict[str, Any], event: str
    ) -> Native:
        """Write changed fields (if any differ) and record one issue event per kind."""
        diff = {k: v for k, v in changes.items() if issue.get(k) != v}
        if not diff:
            return issue  # natural idempotency: nothing to do, no new version
        updated = self.backend.modify("issue", issue["id"], diff)
        recorded = {k: [issue.get(k), v] for k, v in diff.items() if k != "closed_at"}
        self.backend.seed_issue_event(scope, updated, event, actor="kradle", changes=recorded)
        return updated

    @staticmethod
    def _state_fields(state: str, reason: str | None, now: str) -> dict[str, Any]:
        if state == "closed":
            return {
                "state": "closed",
                "state_reason": reason or "completed",
                "status": "Done",
                "closed_at": now,
            }
        return {"state": "open", "state_reason": reason, "status": "To Do", "closed_at": None}

    async def update_issue(
        self,
        ref: ExternalRef,
        issue_id: str,
        data: IssueUpdate,
        *,
        expected_version: str | None = None,
    ) -> Issue:
        """Partial update; ``expected_version`` (sequence, etag or updated_at) makes it
        conditional and a mismatch raises PreconditionFailed with the current version."""
        self._call(
            "updateIssue", ref, issue_id=issue_id, data=data, expected_version=expected_version
        )
        scope = ref.slug()
        issue = self._by_number("issue", scope, issue_id, "issue")
        self._check_version(issue, expected_version, f"issue {issue_id}")
        changes: dict[str, Any] = {}
        event = "edited"
        if data.title is not None:
            changes["title"] = data.title
            event = "renamed"
        if data.body is not None:
            changes["body"] = data.body
        if data.labels is not None:
            self._ensure_labels(scope, data.labels)
            changes["labels"] = list(dict.fromkeys(data.labels))
        if data.assignees is not None:
            changes["assignees"] = list(dict.fromkeys(data.assignees))
        if data.milestone is not None:
            changes["milestone_id"] = self._milestone_id(scope, data.milestone)
        if data.state is not None and data.state != issue["state"]:
            now = format_time(self.backend.now())
            changes.update(self._state_fields(data.state, data.state_reason, now))
            event = "closed" if data.state == "closed" else "reopened"
        updated = self._apply_issue_change(scope, issue, changes, event)
        return self._map("issue", updated, Issue)

    async def close_issue(
        self, ref: ExternalRef, issue_id: str, *, reason: str | None = None
    ) -> Issue:
        """Close with ``reason`` (default ``completed``); closing a closed issue is a no-op."""
        self._call("closeIssue", ref, issue_id=issue_id, reason=reason)
        scope = ref.slug()
        issue = self._by_number("issue", scope, issue_id, "issue")
        if issue["state"] == "closed":
            return self._map("issue", issue, Issue)
        changes = self._state_fields("closed", reason, format_time(self.backend.now()))
        return self._map("issue", self._apply_issue_change(scope, issue, changes, "closed"), Issue)

    async def reopen_issue(self, ref: ExternalRef, issue_id: str) -> Issue:
        """Reopen (status To Do); reopening an open issue is a no-op."""
        self._call("reopenIssue", ref, issue_id=issue_id)
        scope = ref.slug()
        issue = self._by_number("issue", scope, issue_id, "issue")
        changes = self._state_fields("open", None, format_time(self.backend.now()))
        return self._map(
            "issue", self._apply_issue_change(scope, issue, changes, "reopened"), Issue
        )

    async def list_transitions(self, ref: ExternalRef, issue_id: str) -> list[Transition]:
        """The workflow moves available from the issue's status (To Do/In Progress/Done)."""
        self._call("listTransitions", ref, issue_id=issue_id)
        issue = self._by_number("issue", ref.slug(), issue_id, "issue")
        steps = WORKFLOW.get(issue["status"], WORKFLOW["To Do"])[2]
        return [transition_model(step, self.provider_ref) for step in steps]

    async def transition_issue(
        self, ref: ExternalRef, issue_id: str, transition_id: str, *, resolution: str | None = None
    ) -> Issue:
        """Move the issue along the workflow; an unavailable move is InvalidInput."""
        self._call(
            "transitionIssue", ref, issue_id=issue_id, transition_id=transition_id,
            resolution=resolution,
        )  # fmt: skip
        scope = ref.slug()
        issue = self._by_number("issue", scope, issue_id, "issue")
        steps = WORKFLOW.get(issue["status"], WORKFLOW["To Do"])[2]
        step = next((s for s in steps if s.transition_id == transition_id), None)
        if step is None:
            available = ", ".join(f"{s.transition_id} ({s.name})" for s in steps)
            raise InvalidInput(
                f"transition {transition_id!r} is not available from status "
                f"{issue['status']!r}; available: {available}",
                field="transition_id",
            )
        state = WORKFLOW[step.to_status][0]
        now = format_time(self.backend.now())
        changes = self._state_fields(state, resolution if state == "closed" else None, now)
        changes["status"] = step.to_status
        if state == issue["state"]:
            changes.pop("closed_at")
            changes.pop("state_reason")
        return self._map(
            "issue", self._apply_issue_change(scope, issue, changes, "transitioned"), Issue
        )

    # --- issue tracking: comments, labels, milestones, events ------------------

    async def list_comments(
        self,
        ref: ExternalRef,
        *,
        issue_id: str | None = None,
        since: datetime | None = None,
        cursor: str | None = None,
        page_size: int | None = None,
    ) -> Page[Comment]:
        self._call(
            "listComments", ref, issue_id=issue_id, since=since, cursor=cursor, page_size=page_size
        )
        scope = ref.slug()
        index = self._of_issue(scope, issue_id)
        return self._page(
            "comment", Comment, "listComments", scope, cursor=cursor, page_size=page_size,
            since=since, index=index, listing=issue_id or "",
        )  # fmt: skip

    async def create_comment(
        self, ref: ExternalRef, issue_id: str, body: str, *, idempotency_key: str | None = None
    ) -> Comment:
        self._call(
            "createComment", ref, issue_id=issue_id, body=body, idempotency_key=idempotency_key
        )
        scope = ref.slug()
        previous = self._recall("createComment", scope, idempotency_key)
        if previous is not None:
            return self._map("comment", previous, Comment)
        if not body:
            raise InvalidInput("a comment needs a body", field="body")
        issue = self._by_number("issue", scope, issue_id, "issue")
        comment = self.backend.seed_comment(scope, issue["id"], body, author="kradle")
        self._remember("createComment", scope, idempotency_key, "comment", comment)
        return self._map("comment", comment, Comment)

    async def update_comment(self, ref: ExternalRef, comment_id: str, body: str) -> Comment:
        self._call("updateComment", ref, comment_id=comment_id, body=body)
        comment = self._by_id("comment", ref.slug(), comment_id, "comment")
        if comment["body"] != body:
            comment = self.backend.modify("comment", comment["id"], {"body": body})
        return self._map("comment", comment, Comment)

    async def list_labels(
        self, ref: ExternalRef, *, cursor: str | None = None, page_size: int | None = None
    ) -> Page[Label]:
        return self._list_all("label", Label, "listLabels", ref, cursor, page_size)

    async def sync_labels(
        self,
        ref: ExternalRef,
        desired: Sequence[LabelSpec],
        *,
        prune: bool = True,
        dry_run: bool = False,
    ) -> SyncResult:
        """Converge labels to ``desired`` by name; a None color/description means
        "keep what is there"."""
        self._call("syncLabels", ref, desired=list(desired), prune=prune, dry_run=dry_run)
        scope = ref.slug()
        names = [d.name for d in desired]
        if len(set(names)) != len(names):
            raise InvalidInput("label names must be unique", field="desired")
        current = {o["name"]: o for o in self.backend.all("label", scope)}
        want = {
            d.name: {
                "name": d.name,
                "color": d.color.lstrip("#").lower() if d.color else None,
                "description": d.description,
            }
            for d in desired
        }
        changes = plan_changes(dict(sorted(current.items())), want, ("color", "description"), prune)
        if not dry_run:
            for change in changes:
                if change.action is PlanAction.CREATE:
                    after = dict(cast(dict[str, Any], change.after))
                    after["color"] = after["color"] or "ededed"
                    self.backend.seed_label(scope, change.key, **_without(after, "name"))
                elif change.action is PlanAction.UPDATE:
                    after = cast(dict[str, Any], change.after)
                    self.backend.modify(
                        "label", current[change.key]["id"], {f: after[f] for f in change.fields}
                    )
                elif change.action is PlanAction.DELETE:
                    self.backend.delete("label", current[change.key]["id"])
        return SyncResult(kind="Label", dry_run=dry_run, changes=changes)

    async def list_milestones(
        self, ref: ExternalRef, *, cursor: str | None = None, page_size: int | None = None
    ) -> Page[Milestone]:
        return self._list_all("milestone", Milestone, "listMilestones", ref, cursor, page_size)

    async def list_issue_events(
        self,
        ref: ExternalRef,
        *,
        issue_id: str | None = None,
        since: datetime | None = None,
        cursor: str | None = None,
        page_size: int | None = None,
    ) -> Page[IssueEvent]:
        self._call(
            "listIssueEvents", ref, issue_id=issue_id, since=since, cursor=cursor,
            page_size=page_size,
        )  # fmt: skip
        scope = ref.slug()
        index = self._of_issue(scope, issue_id)
        return self._page(
            "issue_event", IssueEvent, "listIssueEvents", scope, cursor=cursor,
            page_size=page_size, since=since, index=index, listing=issue_id or "",
        )  # fmt: skip

    # --- CI/CD --------------------------------------------------------------------

    async def list_pipeline_definitions(
        self, ref: ExternalRef, *, cursor: str | None = None, page_size: int | None = None
    ) -> Page[PipelineDefinition]:
        return self._list_all(
            "workflow", PipelineDefinition, "listPipelineDefinitions", ref, cursor, page_size
        )

    async def list_pipelines(
        self,
        ref: ExternalRef,
        *,
        definition_id: str | None = None,
        since: datetime | None = None,
        cursor: str | None = None,
        page_size: int | None = None,
    ) -> Page[Pipeline]:
        self._call(
            "listPipelines", ref, definition_id=definition_id, since=since, cursor=cursor,
            page_size=page_size,
        )  # fmt: skip
        scope = ref.slug()
        index = None
        if definition_id is not None:
            workflow = self._by_id("workflow", scope, definition_id, "pipeline definition")
            index = ("workflow_id", workflow["id"])
        return self._page(
            "pipeline", Pipeline, "listPipelines", scope, cursor=cursor, page_size=page_size,
            since=since, index=index, listing=definition_id or "",
        )  # fmt: skip

    async def get_pipeline(self, ref: ExternalRef, pipeline_id: str) -> Pipeline:
        self._call("getPipeline", ref, pipeline_id=pipeline_id)
        return self._map(
            "pipeline", self._by_id("pipeline", ref.slug(), pipeline_id, "pipeline"), Pipeline
        )

    async def list_jobs(
        self,
        ref: ExternalRef,
        pipeline_id: str,
        *,
        cursor: str | None = None,
        page_size: int | None = None,
    ) -> Page[Job]:
        self._call("listJobs", ref, pipeline_id=pipeline_id, cursor=cursor, page_size=page_size)
        scope = ref.slug()
        run = self._by_id("pipeline", scope, pipeline_id, "pipeline")
        return self._page(
            "job", Job, "listJobs", scope, cursor=cursor, page_size=page_size,
            index=("pipeline_id", run["id"]), listing=pipeline_id,
        )  # fmt: skip

    def get_job_log(self, ref: ExternalRef, job_id: str) -> AsyncIterator[str]:
        """Stream the log line by line, redacted; nothing is fetched before the first
        chunk is requested (a missing job raises NotFound then)."""

        async def stream() -> AsyncIterator[str]:
            self._call("getJobLog", ref, job_id=job_id)
            job = self._by_id("job", ref.slug(), job_id, "job")
            text = self.backend.log_text(job["id"])
            # Line-sized chunks: a secret never straddles two chunks, so redact sees it whole.
            for line in text.splitlines(keepends=True):
                yield redact(line)

        return stream()

    async def list_artifacts(
        self,
        ref: ExternalRef,
        pipeline_id: str,
        *,
        cursor: str | None = None,
        page_size: int | None = None,
    ) -> Page[Artifact]:
        self._call(
            "listArtifacts", ref, pipeline_id=pipeline_id, cursor=cursor, page_size=page_size
        )
        scope = ref.slug()
        run = self._by_id("pipeline", scope, pipeline_id, "pipeline")
        return self._page(
            "artifact", Artifact, "listArtifacts", scope, cursor=cursor, page_size=page_size,
            index=("pipeline_id", run["id"]), listing=pipeline_id,
        )  # fmt: skip

    async def rerun_pipeline(
        self, ref: ExternalRef, pipeline_id: str, *, failed_only: bool = False
    ) -> Pipeline:
        """Queue a new attempt of a finished pipeline (only its failed jobs with
        ``failed_only``); rerunning a queued or running pipeline returns it unchanged."""
        self._call("rerunPipeline", ref, pipeline_id=pipeline_id, failed_only=failed_only)
        scope = ref.slug()
        run = self._by_id("pipeline", scope, pipeline_id, "pipeline")
        if run["status"] in ("queued", "waiting", "running"):
            return self._map("pipeline", run, Pipeline)
        for job in self.backend.all("job", scope):
            if job["pipeline_id"] == run["id"] and (
                not failed_only or job["status"] in ("failure", "canceled", "timed_out")
            ):
                self.backend.modify(
                    "job", job["id"], {"status": "queued", "started_at": None, "finished_at": None}
                )
        run = self.backend.modify(
            "pipeline",
            run["id"],
            {"status": "queued", "attempt": run["attempt"] + 1, "finished_at": None},
        )
        return self._map("pipeline", run, Pipeline)

    async def cancel_pipeline(self, ref: ExternalRef, pipeline_id: str) -> Pipeline:
        """Cancel a queued or running pipeline; a cancelled one is returned unchanged,
        another finished one is a Conflict."""
        self._call("cancelPipeline", ref, pipeline_id=pipeline_id)
        scope = ref.slug()
        run = self._by_id("pipeline", scope, pipeline_id, "pipeline")
        if run["status"] == "canceled":
            return self._map("pipeline", run, Pipeline)
        if run["status"] not in ("queued", "waiting", "running"):
            raise Conflict(
                f"pipeline {pipeline_id} already finished ({run['status']}); only a queued "
                "or running pipeline can be cancelled",
                current_version=version_of(run),
                provider="memory",
                status=409,
            )
        now = format_time(self.backend.now())
        for job in self.backend.all("job", scope):
            if job["pipeline_id"] == run["id"] and job["status"] in ("queued", "running"):
                self.backend.modify("job", job["id"], {"status": "canceled", "finished_at": now})
        run = self.backend.modify("pipeline", run["id"], {"status": "canceled", "finished_at": now})
        return self._map("pipeline", run, Pipeline)

    async def list_runners(
        self, ref: ExternalRef, *, cursor: str | None = None, page_size: int | None = None
    ) -> Page[Runner]:
        return self._list_all("runner", Runner, "listRunners", ref, cursor, page_size)

    async def register_runner(self, ref: ExternalRef) -> RunnerRegistration:
        """A fresh one-hour registration token; neither adapter nor backend keeps it."""
        self._call("registerRunner", ref)
        self.backend.runner_registrations_issued += 1
        number = self.backend.runner_registrations_issued
        expires_at = self.backend.now() + RUNNER_TOKEN_TTL
        return RunnerRegistration(
            external=ExternalEnvelope(
                provider=self.provider_ref,
                interface=Interface.CICD,
                native_kind="runner_registration",
                native_id=f"registration-{number}",
                extensions=Extensions(provider_type=self.provider_type),
            ),
            token=Secret("MRT_" + secrets.token_urlsafe(24)),
            expires_at=expires_at,
        )

    async def list_checks(
        self,
        ref: ExternalRef,
        sha: str,
        *,
        cursor: str | None = None,
        page_size: int | None = None,
    ) -> Page[Check]:
        self._call("listChecks", ref, sha=sha, cursor=cursor, page_size=page_size)
        return self._page(
            "check", Check, "listChecks", ref.slug(), cursor=cursor, page_size=page_size,
            index=("head_sha", sha), listing=sha,
        )  # fmt: skip

    def _check_fields(self, data: CheckInput) -> dict[str, Any]:
        status, conclusion = native_check_status(data.state)
        now = format_time(self.backend.now())
        return {
            "name": data.name,
            "head_sha": data.sha,
            "status": status,
            "conclusion": conclusion,
            "details_url": data.details_url,
            "output_summary": data.summary,
            "external_id": data.external_id,
            "completed_at": now if status == "completed" else None,
        }

    async def create_check(
        self, ref: ExternalRef, data: CheckInput, *, idempotency_key: str | None = None
    ) -> Check:
        self._call("createCheck", ref, data=data, idempotency_key=idempotency_key)
        scope = ref.slug()
        previous = self._recall("createCheck", scope, idempotency_key)
        if previous is not None:
            return self._map("check", previous, Check)
        fields = self._check_fields(data)
        if fields["status"] != "queued":
            fields["started_at"] = format_time(self.backend.now())
        name, sha = fields.pop("name"), fields.pop("head_sha")
        check = self.backend.seed_check(scope, name, sha, **fields)
        self._remember("createCheck", scope, idempotency_key, "check", check)
        return self._map("check", check, Check)

    async def update_check(self, ref: ExternalRef, check_id: str, data: CheckInput) -> Check:
        """Set a check's state and details (natural: the same input changes nothing)."""
        self._call("updateCheck", ref, check_id=check_id, data=data)
        check = self._by_id("check", ref.slug(), check_id, "check")
        fields = self._check_fields(data)
        if check.get("completed_at") and fields["completed_at"]:
            fields["completed_at"] = check["completed_at"]
        if fields["status"] != "queued" and not check.get("started_at"):
            fields["started_at"] = format_time(self.backend.now())
        diff = {k: v for k, v in fields.items() if check.get(k) != v}
        if diff:
            check = self.backend.modify("check", check["id"], diff)
        return self._map("check", check, Check)

    # --- git forge: repositories ---------------------------------------------------

    def _owner(self, ref: ExternalRef) -> str:
        if not ref.owner:
            raise InvalidInput("repositories need ExternalRef.owner", field="ref.owner")
        return ref.owner

    def _repository(self, ref: ExternalRef) -> Native:
        owner = self._owner(ref)
        found = self._find("repository", owner, name=ref.repository)
        if found is None:
            raise self._not_found(
                "repository", ref.slug(), f"list the repositories of {owner} to find its name"
            )
        return found

    async def list_repositories(
        self,
        ref: ExternalRef,
        *,
        since: datetime | None = None,
        cursor: str | None = None,
        page_size: int | None = None,
    ) -> Page[Repository]:
        """Repositories of ``ref.owner``."""
        self._call("listRepositories", ref, since=since, cursor=cursor, page_size=page_size)
        return self._page(
            "repository", Repository, "listRepositories", self._owner(ref), cursor=cursor,
            page_size=page_size, since=since,
        )  # fmt: skip

    async def get_repository(self, ref: ExternalRef) -> Repository:
        self._call("getRepository", ref)
        return self._map("repository", self._repository(ref), Repository)

    async def create_repository(
        self, ref: ExternalRef, data: RepositoryCreate, *, idempotency_key: str | None = None
    ) -> Repository:
        """Create ``ref.owner/data.name``; an existing name is a Conflict."""
        self._call("createRepository", ref, data=data, idempotency_key=idempotency_key)
        owner = self._owner(ref)
        previous = self._recall("createRepository", owner, idempotency_key)
        if previous is not None:
            return self._map("repository", previous, Repository)
        if self._find("repository", owner, name=data.name) is not None:
            raise Conflict(
                f"repository {owner}/{data.name} already exists; choose another name or "
                "use get_repository",
                provider="memory",
                status=422,
            )
        repo = self.backend.seed_repository(
            owner,
            data.name,
            description=data.description,
            visibility=data.visibility,
            default_branch=data.default_branch or "main",
        )
        self._remember("createRepository", owner, idempotency_key, "repository", repo)
        return self._map("repository", repo, Repository)

    async def update_repository(self, ref: ExternalRef, data: RepositoryUpdate) -> Repository:
        self._call("updateRepository", ref, data=data)
        repo = self._repository(ref)
        fields = data.model_dump(exclude_none=True)
        diff = {k: v for k, v in fields.items() if repo.get(k) != v}
        if diff:
            repo = self.backend.modify("repository", repo["id"], diff)
        return self._map("repository", repo, Repository)

    # --- git forge: pull requests and reviews --------------------------------------

    async def list_pull_requests(
        self,
        ref: ExternalRef,
        *,
        since: datetime | None = None,
        state: str | None = None,
        cursor: str | None = None,
        page_size: int | None = None,
    ) -> Page[PullRequest]:
        """Pull requests; ``state`` open, closed (includes merged), merged or all."""
        self._call(
            "listPullRequests", ref, since=since, state=state, cursor=cursor, page_size=page_size
        )
        if state not in (None, "all", "open", "closed", "merged"):
            raise InvalidInput("use open, closed, merged or all", field="state")

        def where(o: Native) -> bool:
            if state == "merged":
                return bool(o["merged"])
            return state in (None, "all", o["state"])

        return self._page(
            "pull_request", PullRequest, "listPullRequests", ref.slug(), cursor=cursor,
            page_size=page_size, since=since, where=where, listing=state or "all",
        )  # fmt: skip

    async def get_pull_request(self, ref: ExternalRef, number: str) -> PullRequest:
        self._call("getPullRequest", ref, number=number)
        pr = self._by_number("pull_request", ref.slug(), number, "pull request")
        return self._map("pull_request", pr, PullRequest)

    async def create_pull_request(
        self, ref: ExternalRef, data: PullRequestCreate, *, idempotency_key: str | None = None
    ) -> PullRequest:
        """Open a pull request (and its backing issue); an open one for the same
        head and base is a Conflict."""
        self._call("createPullRequest", ref, data=data, idempotency_key=idempotency_key)
        scope = ref.slug()
        previous = self._recall("createPullRequest", scope, idempotency_key)
        if previous is not None:
            return self._map("pull_request", previous, PullRequest)
        for branch, field in ((data.head, "head"), (data.base, "base")):
            if self._find("ref", scope, ref=f"refs/heads/{branch}") is None:
                raise InvalidInput(f"branch {branch!r} does not exist in {scope}", field=field)
        if self._find("pull_request", scope, head=data.head, base=data.base, state="open"):
            raise Conflict(
                f"an open pull request from {data.head} into {data.base} already exists; "
                "update it instead",
                provider="memory",
                status=422,
            )
        pr = self.backend.seed_pull_request(
            scope, data.title, head=data.head, base=data.base, body=data.body,
            draft=data.draft, author="kradle",
        )  # fmt: skip
        self._remember("createPullRequest", scope, idempotency_key, "pull_request", pr)
        return self._map("pull_request", pr, PullRequest)

    def _mirror_issue(self, pr: Native, fields: dict[str, Any]) -> None:
        # The backing issue mirrors title/body/state, as GitHub's does.
        if pr.get("issue_id") is None:
            return
        issue = self.backend.find("issue", pr["scope"], id=pr["issue_id"])
        if issue is None:
            return
        diff = {k: v for k, v in fields.items() if issue.get(k) != v}
        if diff:
            self.backend.modify("issue", issue["id"], diff)

    async def update_pull_request(
        self,
        ref: ExternalRef,
        number: str,
        data: PullRequestUpdate,
        *,
        expected_version: str | None = None,
    ) -> PullRequest:
        self._call(
            "updatePullRequest", ref, number=number, data=data, expected_version=expected_version
        )
        scope = ref.slug()
        pr = self._by_number("pull_request", scope, number, "pull request")
        self._check_version(pr, expected_version, f"pull request {number}")
        changes = data.model_dump(exclude_none=True)
        if "state" in changes:
            if pr["merged"]:
                raise Conflict(
                    f"pull request {number} is merged; its state cannot change",
                    provider="memory",
                    status=422,
                )
            now = format_time(self.backend.now())
            changes["closed_at"] = now if changes["state"] == "closed" else None
        if (
            "base" in changes
            and self._find("ref", scope, ref=f"refs/heads/{changes['base']}") is None
        ):
            raise InvalidInput(f"branch {changes['base']!r} does not exist", field="base")
        diff = {k: v for k, v in changes.items() if pr.get(k) != v}
        if diff:
            pr = self.backend.modify("pull_request", pr["id"], diff)
            self._mirror_issue(pr, {k: diff[k] for k in ("title", "body", "state") if k in diff})
        return self._map("pull_request", pr, PullRequest)

    async def merge_pull_request(
        self,
        ref: ExternalRef,
        number: str,
        *,
        method: MergeMethod = MergeMethod.MERGE,
        expected_head_sha: str | None = None,
    ) -> PullRequest:
        """Merge; a merged one is returned unchanged, a closed one is a Conflict and a
        moved head (``expected_head_sha``) is PreconditionFailed."""
        self._call(
            "mergePullRequest", ref, number=number, method=method.value,
            expected_head_sha=expected_head_sha,
        )  # fmt: skip
        scope = ref.slug()
        pr = self._by_number("pull_request", scope, number, "pull request")
        if pr["merged"]:
            return self._map("pull_request", pr, PullRequest)
        if pr["state"] != "open":
            raise Conflict(
                f"pull request {number} is closed; reopen it before merging",
                current_version=version_of(pr),
                provider="memory",
                status=405,
            )
        if expected_head_sha is not None and expected_head_sha != pr["head_sha"]:
            raise PreconditionFailed(
                f"the head of pull request {number} moved to {pr['head_sha']}; review the new "
                "commits and merge with that sha",
                current_version=version_of(pr),
                provider="memory",
                status=409,
            )
        base = self._find("ref", scope, ref=f"refs/heads/{pr['base']}")
        parents = [p for p in (pr["base_sha"], pr["head_sha"]) if p]
        if method is not MergeMethod.MERGE:
            parents = parents[:1]
        commit = self.backend.seed_commit(
            scope, f"{pr['title']} (#{pr['number']}) [{method.value}]", parents
        )
        if base is not None:
            self.backend.modify("ref", base["id"], {"sha": commit["sha"]})
        now = format_time(self.backend.now())
        pr = self.backend.modify(
            "pull_request",
            pr["id"],
            {
                "state": "closed",
                "merged": True,
                "merged_at": now,
                "closed_at": now,
                "merge_commit_sha": commit["sha"],
                "merge_method": method.value,
            },
        )
        self._mirror_issue(pr, {"state": "closed", "state_reason": "completed", "closed_at": now})
        return self._map("pull_request", pr, PullRequest)

    async def list_reviews(
        self,
        ref: ExternalRef,
        number: str,
        *,
        cursor: str | None = None,
        page_size: int | None = None,
    ) -> Page[Review]:
        self._call("listReviews", ref, number=number, cursor=cursor, page_size=page_size)
        scope = ref.slug()
        pr = self._by_number("pull_request", scope, number, "pull request")
        return self._page(
            "review", Review, "listReviews", scope, cursor=cursor, page_size=page_size,
            index=("pull_request_id", pr["id"]), listing=number,
        )  # fmt: skip

    # --- git forge: refs, commits, keys, collaborators, protection -----------------

    async def list_refs(
        self,
        ref: ExternalRef,
        *,
        prefix: str | None = None,
        cursor: str | None = None,
        page_size: int | None = None,
    ) -> Page[Ref]:
        """Refs, optionally only those starting with ``prefix`` (``refs/tags/``)."""
        self._call("listRefs", ref, prefix=prefix, cursor=cursor, page_size=page_size)
        return self._page(
            "ref", Ref, "listRefs", ref.slug(), cursor=cursor, page_size=page_size,
            where=lambda o: prefix is None or str(o["ref"]).startswith(prefix),
            listing=prefix or "",
        )  # fmt: skip

    async def get_commit(self, ref: ExternalRef, sha: str) -> Commit:
        """A commit by full sha or a unique prefix of at least 7 characters."""
        self._call("getCommit", ref, sha=sha)
        scope = ref.slug()
        matches = [
            o
            for o in self.backend.iter_live("commit")
            if o["scope"] == scope and len(sha) >= 7 and str(o["sha"]).startswith(sha)
        ]
        if len(matches) != 1:
            why = "is ambiguous" if matches else "does not exist"
            raise NotFound(
                f"commit {sha!r} {why} in {scope}; pass a full sha", provider="memory", status=404
            )
        return self._map("commit", matches[0], Commit)

    async def list_deploy_keys(
        self, ref: ExternalRef, *, cursor: str | None = None, page_size: int | None = None
    ) -> Page[DeployKey]:
        return self._list_all("deploy_key", DeployKey, "listDeployKeys", ref, cursor, page_size)

    async def sync_deploy_keys(
        self,
        ref: ExternalRef,
        desired: Sequence[DeployKeySpec],
        *,
        prune: bool = True,
        dry_run: bool = False,
    ) -> SyncResult:
        """Converge deploy keys to ``desired``, matched by key material."""
        self._call("syncDeployKeys", ref, desired=len(desired), prune=prune, dry_run=dry_run)
        scope = ref.slug()
        keys = [d.key.strip() for d in desired]
        if len(set(keys)) != len(keys):
            raise InvalidInput("deploy keys must be unique", field="desired")
        current = {o["key"]: o for o in self.backend.all("deploy_key", scope)}
        want = {
            d.key.strip(): {"title": d.title, "key": d.key.strip(), "read_only": d.read_only}
            for d in desired
        }
        changes = plan_changes(dict(sorted(current.items())), want, ("title", "read_only"), prune)
        if not dry_run:
            for change in changes:
                after = cast(dict[str, Any], change.after)
                if change.action is PlanAction.CREATE:
                    self.backend.seed_deploy_key(
                        scope, after["title"], after["key"], read_only=after["read_only"]
                    )
                elif change.action is PlanAction.UPDATE:
                    self.backend.modify(
                        "deploy_key",
                        current[change.key]["id"],
                        {f: after[f] for f in change.fields},
                    )
                elif change.action is PlanAction.DELETE:
                    self.backend.delete("deploy_key", current[change.key]["id"])
        return SyncResult(kind="DeployKey", dry_run=dry_run, changes=changes)

    async def list_collaborators(
        self, ref: ExternalRef, *, cursor: str | None = None, page_size: int | None = None
    ) -> Page[Collaborator]:
        return self._list_all(
            "collaborator", Collaborator, "listCollaborators", ref, cursor, page_size
        )

    async def get_branch_protection(self, ref: ExternalRef, branch: str) -> BranchProtection:
        """NotFound when the branch is not protected."""
        self._call("getBranchProtection", ref, branch=branch)
        found = self._find("branch_protection", ref.slug(), branch=branch)
        if found is None:
            raise self._not_found(
                "branch protection for", branch, "the branch is not protected; sync one first"
            )
        return self._map("branch_protection", found, BranchProtection)

    async def sync_branch_protection(
        self,
        ref: ExternalRef,
        branch: str,
        desired: BranchProtectionSpec | None,
        *,
        dry_run: bool = False,
    ) -> SyncResult:
        """Converge one branch's protection to ``desired``; None removes it."""
        self._call("syncBranchProtection", ref, branch=branch, desired=desired, dry_run=dry_run)
        scope = ref.slug()
        existing = self._find("branch_protection", scope, branch=branch)
        current = {branch: existing} if existing is not None else {}
        want = {branch: desired.model_dump()} if desired is not None else {}
        changes = plan_changes(
            current, want, tuple(BRANCH_PROTECTION_DEFAULTS), prune=True, none_is_value=True
        )
        if not changes:
            changes = [PlannedChange(action=PlanAction.UNCHANGED, key=branch)]
        if not dry_run:
            change = changes[0]
            after = cast(dict[str, Any], change.after)
            if change.action is PlanAction.CREATE:
                self.backend.seed_branch_protection(scope, branch, **after)
            elif change.action is PlanAction.UPDATE and existing is not None:
                self.backend.modify(
                    "branch_protection", existing["id"], {f: after[f] for f in change.fields}
                )
            elif change.action is PlanAction.DELETE and existing is not None:
                self.backend.delete("branch_protection", existing["id"])
        return SyncResult(kind="BranchProtection", dry_run=dry_run, changes=changes)


def _without(data: Mapping[str, Any], *keys: str) -> dict[str, Any]:
    return {k: v for k, v in data.items() if k not in keys}
