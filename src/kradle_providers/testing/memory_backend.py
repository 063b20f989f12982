"""The in-memory provider's state: native objects, a change feed and a control API.

:class:`MemoryBackend` plays the part of a provider's servers. It stores
objects in the memory provider's own "wire" shape (plain dicts with fields the
canonical model has no place for, such as ``internal_rank``), stamps every
mutation with a deterministic time and a monotonically increasing sequence,
and emits a native change event for each one.

Tests, hosts and the contract suite drive it through the control API:

- seeding: :meth:`MemoryBackend.seed_demo`, :meth:`MemoryBackend.seed_issue` …
- changes "as if by a person on the provider's site":
  :meth:`MemoryBackend.external_change`, :meth:`MemoryBackend.delete`
- the event feed: :attr:`MemoryBackend.events`, :meth:`MemoryBackend.subscribe`
- the request log: :attr:`MemoryBackend.requests` (every adapter call)
- faults: :meth:`MemoryBackend.fail_next`, :meth:`MemoryBackend.rate_limit_next`
- credentials: ``accepted_token`` (None accepts any caller)

This module knows nothing about the canonical model; the adapter maps.
"""

from __future__ import annotations

import copy
import hashlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from kradle_providers.auth.secret import Secret
from kradle_providers.clock import Now, StepClock
from kradle_providers.errors import (
    AuthenticationError,
    InvalidInput,
    NotFound,
    RateLimited,
)
from kradle_providers.testing.memory_index import Indexes, Ordered, VersionKey

__all__ = [
    "DEFAULT_MAX_PAGE_SIZE",
    "NATIVE_KINDS",
    "MemoryBackend",
    "RequestRecord",
    "format_time",
    "parse_time",
]

PROVIDER = "memory"
BASE_URL = "https://memory.invalid"
DEFAULT_MAX_PAGE_SIZE = 100

NATIVE_KINDS: tuple[str, ...] = (
    "issue",
    "comment",
    "label",
    "milestone",
    "issue_event",
    "workflow",
    "pipeline",
    "job",
    "check",
    "artifact",
    "runner",
    "repository",
    "pull_request",
    "review",
    "ref",
    "commit",
    "deploy_key",
    "collaborator",
    "branch_protection",
)
"""Every kind the memory provider stores; each is also its webhook event name."""

# Kinds numbered per scope; issues and pull requests share one number space
# (as on GitHub, where a pull request is also an issue).
_NUMBER_SPACE = {
    "issue": "issue",
    "pull_request": "issue",
    "milestone": "milestone",
}


def format_time(value: datetime) -> str:
    """The memory provider's wire format for times: ISO 8601 in UTC with ``Z``."""
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def parse_time(value: str) -> datetime:
    """Parse a wire time made by :func:`format_time`."""
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


@dataclass(frozen=True)
class RequestRecord:
    """One adapter call as the backend saw it: the operation and a summary of its args."""

    operation: str
    args: dict[str, Any] = field(default_factory=dict)


@dataclass
class _Fault:
    operation: str
    error: Exception
    remaining: int


class MemoryBackend:
    """Deterministic in-memory state of one memory-provider installation.

    ``clock`` is called once per mutation (default: :class:`StepClock`, one
    second per mutation from 2024-01-01T00:00:00Z). ``accepted_token`` is the
    credential the provider accepts (None: any caller). ``max_page_size`` is
    the largest page the provider serves.
    """

    def __init__(
        self,
        *,
        clock: Now | None = None,
        accepted_token: Secret | str | None = None,
        max_page_size: int = DEFAULT_MAX_PAGE_SIZE,
    ) -> None:
        self._clock: Now = clock or StepClock()
        self.accepted_token: Secret | None = (
            Secret(accepted_token) if isinstance(accepted_token, str) else accepted_token
        )
        # What check_credentials reports the token may do (None: the provider does not say).
        self.granted_scopes: frozenset[str] | None = None
        self.max_page_size = max_page_size
        self._objects: dict[str, dict[int, dict[str, Any]]] = {k: {} for k in NATIVE_KINDS}
        # Listings page through these in O(page) (see memory_index).
        self._indexes = Indexes()
        self._next_id = 1
        self._numbers: dict[tuple[str, str], int] = {}
        self._sequence = 0
        self._now: datetime | None = None
        self._idempotency: dict[tuple[str, str, str], tuple[str, int]] = {}
        self._logs: dict[int, str] = {}
        self._faults: list[_Fault] = []
        self._subscribers: list[Callable[[dict[str, Any]], None]] = []
        self.events: list[dict[str, Any]] = []
        """Every native change event emitted, oldest first."""
        self.requests: list[RequestRecord] = []
        """Every adapter call that reached the backend, oldest first."""
        self.runner_registrations_issued = 0

    # --- time and sequence ----------------------------------------------------

    @property
    def sequence(self) -> int:
        """The sequence number of the latest mutation (0 before any)."""
        return self._sequence

    def now(self) -> datetime:
        """The time of the latest mutation (the clock's start before any); does not tick."""
        if self._now is None:
            self._now = self._clock()
        return self._now

    def _tick(self) -> tuple[datetime, int]:
        self._now = self._clock()
        self._sequence += 1
        return self._now, self._sequence

    # --- requests, credentials, faults ----------------------------------------

    def handle(self, operation: str, token: Secret | None, /, **args: Any) -> None:
        """Record one adapter call, check its credential and raise any injected fault.

        Every adapter operation calls this first, so :attr:`requests` shows
        exactly which calls reached the provider.
        """
        summary = {k: _summarize(v) for k, v in args.items() if v is not None}
        self.requests.append(RequestRecord(operation, summary))
        if self.accepted_token is not None and token != self.accepted_token:
            why = "no token was configured" if token is None else "the token was refused"
            raise AuthenticationError(
                f"{why} for {operation}; configure the memory provider instance with the "
                "token its backend accepts (MemoryBackend.accepted_token)",
                provider=PROVIDER,
                status=401,
            )
        for fault in self._faults:
            if fault.remaining > 0 and fault.operation in ("*", operation):
                fault.remaining -= 1
                self._faults = [f for f in self._faults if f.remaining > 0]
                raise fault.error

    def fail_next(self, operation: str, error: Exception, *, times: int = 1) -> None:
        """Make the next ``times`` calls of ``operation`` (``"*"``: any) raise ``error``."""
        if times < 1:
            raise InvalidInput("must be at least 1", field="times")
        self._faults.append(_Fault(operation, error, times))

    def rate_limit_next(
        self, operation: str = "*", *, retry_after: float = 60.0, times: int = 1
    ) -> None:
        """Make the next ``times`` calls of ``operation`` raise :class:`RateLimited`."""
        reset_at = self.now() + timedelta(seconds=retry_after)
        error = RateLimited(
            f"rate limit exhausted; retry after {retry_after:g}s",
            reset_at=reset_at,
            retry_after=retry_after,
            scope="core",
            provider=PROVIDER,
        )
        self.fail_next(operation, error, times=times)

    def clear_faults(self) -> None:
        """Drop every pending injected fault."""
        self._faults.clear()

    def calls(self, operation: str | None = None) -> list[RequestRecord]:
        """The request log, optionally only ``operation``'s calls."""
        return [r for r in self.requests if operation is None or r.operation == operation]

    # --- the event feed -------------------------------------------------------

    def subscribe(self, callback: Callable[[dict[str, Any]], None]) -> Callable[[], None]:
        """Call ``callback(event)`` for every future event; returns an unsubscribe function."""
        self._subscribers.append(callback)

        def unsubscribe() -> None:
            if callback in self._subscribers:
                self._subscribers.remove(callback)

        return unsubscribe

    def _emit(self, kind: str, action: str, obj: dict[str, Any]) -> None:
        event = {
            "event": kind,
            "action": action,
            "delivery_id": f"mem-{self._sequence}",
            "sequence": self._sequence,
            "object": copy.deepcopy(obj),
        }
        self.events.append(event)
        for callback in list(self._subscribers):
            callback(copy.deepcopy(event))

    # --- storage primitives ---------------------------------------------------

    def _table(self, kind: str) -> dict[int, dict[str, Any]]:
        try:
            return self._objects[kind]
        except KeyError:
            raise InvalidInput(
                f"unknown memory kind {kind!r}; use one of {', '.join(NATIVE_KINDS)}",
                field="kind",
            ) from None

    def insert(self, kind: str, scope: str, fields: dict[str, Any]) -> dict[str, Any]:
        """Create an object of ``kind`` in ``scope``; returns a copy of it."""
        table = self._table(kind)
        now, seq = self._tick()
        oid = self._next_id
        self._next_id += 1
        fields = dict(fields)
        obj: dict[str, Any] = {"id": oid}
        if kind in _NUMBER_SPACE:
            # A given number shares one (a pull request's backing issue).
            number = fields.pop("number", None)
            obj["number"] = number if number is not None else self.allocate_number(scope, kind)
        obj["node_id"] = f"M_{kind}_{oid}"
        locator = obj.get("number", oid)
        obj["url"] = f"{BASE_URL}/{scope}/{kind}s/{locator}"
        obj["api_url"] = f"{BASE_URL}/api/{scope}/{kind}s/{oid}"
        obj["scope"] = scope
        obj.update(copy.deepcopy(fields))
        obj.setdefault("created_at", format_time(now))
        obj["updated_at"] = format_time(now)
        obj["sequence"] = seq
        obj.setdefault("internal_rank", oid * 1000)
        table[oid] = obj
        self._indexes.add(kind, obj, _version_of(obj))
        self._emit(kind, "created", obj)
        return copy.deepcopy(obj)

    def modify(self, kind: str, oid: int, fields: dict[str, Any]) -> dict[str, Any]:
        """Change fields of an object: bumps its version and emits an event."""
        obj = self._get_live(kind, oid)
        now, seq = self._tick()
        self._indexes.remove(kind, obj, _version_of(obj))
        obj.update(copy.deepcopy(fields))
        obj["updated_at"] = format_time(now)
        obj["sequence"] = seq
        self._indexes.add(kind, obj, _version_of(obj))
        self._emit(kind, "updated", obj)
        return copy.deepcopy(obj)

    def delete(self, kind: str, oid: int) -> dict[str, Any]:
        """Delete an object (as a person on the provider's site would); emits an event."""
        obj = self._get_live(kind, oid)
        self._tick()
        self._indexes.remove(kind, obj, _version_of(obj))
        del self._table(kind)[obj["id"]]
        self._logs.pop(oid, None)
        self._emit(kind, "deleted", obj)
        return copy.deepcopy(obj)

    def external_change(self, kind: str, oid: int, **fields: Any) -> dict[str, Any]:
        """Change an object as a person on the provider's site would.

        The version is bumped and a change event is emitted; no adapter call is
        recorded. Returns a copy of the changed object.
        """
        if "id" in fields or "sequence" in fields:
            raise InvalidInput("id and sequence are assigned by the provider", field="fields")
        return self.modify(kind, oid, fields)

    def _get_live(self, kind: str, oid: int) -> dict[str, Any]:
        obj = self._table(kind).get(int(oid))
        if obj is None:
            raise NotFound(
                f"{kind} {oid} does not exist; list {kind}s to find a valid id",
                provider=PROVIDER,
                status=404,
            )
        return obj

    def get(self, kind: str, oid: int) -> dict[str, Any]:
        """A copy of one object; NotFound when it does not exist."""
        return copy.deepcopy(self._get_live(kind, oid))

    def all(self, kind: str, scope: str | None = None) -> list[dict[str, Any]]:
        """Copies of every object of ``kind`` (in ``scope``), ordered by id."""
        table = self._table(kind)
        return [
            copy.deepcopy(table[i])
            for i in sorted(table)
            if scope is None or table[i]["scope"] == scope
        ]

    def iter_live(self, kind: str) -> Iterator[dict[str, Any]]:
        """The stored objects themselves, unordered (read-only use by the adapter)."""
        return iter(self._table(kind).values())

    def live(self, kind: str, oid: int) -> dict[str, Any] | None:
        """The stored object itself, or None (read-only use by the adapter)."""
        return self._table(kind).get(oid)

    def live_by_number(self, kind: str, scope: str, number: int) -> dict[str, Any] | None:
        """The stored ``kind`` numbered ``number`` in ``scope``, or None (read-only)."""
        oid = self._indexes.by_number(kind, scope, number)
        return None if oid is None else self._table(kind).get(oid)

    def listing(self, kind: str, scope: str, field: str = "", value: Any = None) -> Ordered:
        """The ids of ``kind`` in ``scope`` (only ``field == value`` when given) in id
        and in version order, for paging in O(page); fields are those of ``INDEXED_FIELDS``."""
        self._table(kind)  # an unknown kind is an error, not an empty listing
        return self._indexes.ordered(kind, scope, field, value)

    def find(self, kind: str, scope: str | None = None, **match: Any) -> dict[str, Any] | None:
        """The first object of ``kind`` (by id) whose fields equal ``match``."""
        for obj in self.all(kind, scope):
            if all(obj.get(k) == v for k, v in match.items()):
                return obj
        return None

    # --- idempotency keys and logs --------------------------------------------

    def remember_key(self, operation: str, scope: str, key: str, kind: str, oid: int) -> None:
        """Remember that ``key`` created object ``oid`` (native idempotency keys)."""
        self._idempotency[(operation, scope, key)] = (kind, oid)

    def recall_key(self, operation: str, scope: str, key: str) -> dict[str, Any] | None:
        """The object a previous write with ``key`` created, if it still exists."""
        hit = self._idempotency.get((operation, scope, key))
        if hit is None:
            return None
        kind, oid = hit
        obj = self._table(kind).get(oid)
        return copy.deepcopy(obj) if obj is not None else None

    def set_log(self, job_id: int, text: str) -> None:
        """Set the log text of a job."""
        self._get_live("job", job_id)
        self._logs[job_id] = text

    def log_text(self, job_id: int) -> str:
        """The log text of a job; NotFound when the job does not exist."""
        self._get_live("job", job_id)
        return self._logs.get(int(job_id), "")

    # --- seeding --------------------------------------------------------------

    def seed_repository(self, owner: str, name: str, **fields: Any) -> dict[str, Any]:
        """Add a repository ``owner/name``."""
        data: dict[str, Any] = {
            "owner": owner,
            "name": name,
            "full_name": f"{owner}/{name}",
            "description": None,
            "default_branch": "main",
            "visibility": "private",
            "archived": False,
            "fork": False,
            "clone_url": f"{BASE_URL}/{owner}/{name}.git",
            "ssh_url": f"git@memory.invalid:{owner}/{name}.git",
            "pushed_at": None,
            "stars": 0,
        }
        data.update(fields)
        return self.insert("repository", owner, data)

    def seed_label(self, scope: str, name: str, **fields: Any) -> dict[str, Any]:
        """Add a label."""
        data: dict[str, Any] = {"name": name, "color": "ededed", "description": None}
        data.update(fields)
        return self.insert("label", scope, data)

    def seed_milestone(self, scope: str, title: str, **fields: Any) -> dict[str, Any]:
        """Add a milestone."""
        data: dict[str, Any] = {
            "title": title,
            "description": None,
            "state": "open",
            "due_on": None,
            "closed_at": None,
        }
        data.update(fields)
        return self.insert("milestone", scope, data)

    def seed_issue(self, scope: str, title: str, **fields: Any) -> dict[str, Any]:
        """Add an issue (open, status "To Do" unless ``fields`` say otherwise)."""
        data: dict[str, Any] = {
            "title": title,
            "body": None,
            "state": "open",
            "state_reason": None,
            "status": "To Do",
            "labels": [],
            "assignees": [],
            "author": "octo",
            "milestone_id": None,
            "issue_type": "task",
            "priority": None,
            "pull_request": None,
            "comments_count": 0,
            "locked": False,
            "closed_at": None,
        }
        data.update(fields)
        return self.insert("issue", scope, data)

    def seed_comment(self, scope: str, issue_id: int, body: str, **fields: Any) -> dict[str, Any]:
        """Add a comment to an issue (and count it on the issue)."""
        issue = self.get("issue", issue_id)
        data: dict[str, Any] = {
            "issue_id": issue_id,
            "issue_number": issue["number"],
            "body": body,
            "author": "octo",
        }
        data.update(fields)
        comment = self.insert("comment", scope, data)
        self.modify("issue", issue_id, {"comments_count": issue["comments_count"] + 1})
        return comment

    def seed_issue_event(
        self,
        scope: str,
        issue: dict[str, Any],
        event: str,
        *,
        actor: str | None = "octo",
        changes: dict[str, list[Any]] | None = None,
    ) -> dict[str, Any]:
        """Record an issue event (the adapter records one for every issue write)."""
        return self.insert(
            "issue_event",
            scope,
            {
                "issue_id": issue["id"],
                "issue_number": issue["number"],
                "event": event,
                "actor": actor,
                "changes": changes or {},
            },
        )

    def seed_workflow(self, scope: str, name: str, path: str, **fields: Any) -> dict[str, Any]:
        """Add a pipeline definition (a workflow file)."""
        data: dict[str, Any] = {"name": name, "path": path, "state": "active"}
        data.update(fields)
        return self.insert("workflow", scope, data)

    def seed_pipeline(
        self, scope: str, workflow_id: int | None, status: str = "success", **fields: Any
    ) -> dict[str, Any]:
        """Add a pipeline run (status: queued, running, success, failure, canceled, skipped)."""
        data: dict[str, Any] = {
            "workflow_id": workflow_id,
            "name": "CI",
            "status": status,
            "ref": "main",
            "sha": _sha("pipeline", scope, self._next_id),
            "trigger": "push",
            "attempt": 1,
            "actor": "octo",
            "started_at": None,
            "finished_at": None,
            "queue_position": 0,
        }
        data.update(fields)
        return self.insert("pipeline", scope, data)

    def seed_job(
        self,
        scope: str,
        pipeline_id: int,
        name: str,
        status: str = "success",
        *,
        log: str = "",
        **fields: Any,
    ) -> dict[str, Any]:
        """Add a job to a pipeline, with its log text."""
        data: dict[str, Any] = {
            "pipeline_id": pipeline_id,
            "name": name,
            "status": status,
            "runner_name": "memory-runner-1",
            "labels": ["linux"],
            "steps": [{"name": "run", "number": 1, "status": status}],
            "started_at": None,
            "finished_at": None,
        }
        data.update(fields)
        job = self.insert("job", scope, data)
        self._logs[job["id"]] = log
        return job

    def seed_artifact(
        self, scope: str, pipeline_id: int, name: str, **fields: Any
    ) -> dict[str, Any]:
        """Add an artifact to a pipeline."""
        data: dict[str, Any] = {
            "pipeline_id": pipeline_id,
            "name": name,
            "size_in_bytes": 1024,
            "expired": False,
            "archive_download_url": f"{BASE_URL}/{scope}/artifacts/{name}.zip",
            "expires_at": None,
        }
        data.update(fields)
        return self.insert("artifact", scope, data)

    def seed_runner(self, scope: str, name: str, **fields: Any) -> dict[str, Any]:
        """Add a runner (status online/offline)."""
        data: dict[str, Any] = {
            "name": name,
            "os": "linux",
            "status": "online",
            "busy": False,
            "labels": ["linux", "x64"],
        }
        data.update(fields)
        return self.insert("runner", scope, data)

    def seed_check(self, scope: str, name: str, head_sha: str, **fields: Any) -> dict[str, Any]:
        """Add a check run on a commit."""
        data: dict[str, Any] = {
            "name": name,
            "head_sha": head_sha,
            "status": "completed",
            "conclusion": "success",
            "details_url": None,
            "output_summary": None,
            "external_id": None,
            "started_at": None,
            "completed_at": None,
        }
        data.update(fields)
        return self.insert("check", scope, data)

    def seed_commit(
        self, scope: str, message: str, parents: list[str] | None = None, **fields: Any
    ) -> dict[str, Any]:
        """Add a commit; its sha is derived from scope, message and parents."""
        parents = parents or []
        sha = _sha("commit", scope, message, *parents, self._next_id)
        data: dict[str, Any] = {
            "sha": sha,
            "message": message,
            "author": {"name": "Octo Cat", "email": "octo@memory.invalid", "date": None},
            "committer": {"name": "Octo Cat", "email": "octo@memory.invalid", "date": None},
            "parents": parents,
        }
        data.update(fields)
        return self.insert("commit", scope, data)

    def seed_ref(self, scope: str, name: str, sha: str) -> dict[str, Any]:
        """Add a ref (``refs/heads/…`` or ``refs/tags/…``)."""
        return self.insert("ref", scope, {"ref": name, "sha": sha})

    def seed_pull_request(
        self, scope: str, title: str, head: str, base: str = "main", **fields: Any
    ) -> dict[str, Any]:
        """Add a pull request and the issue that backs it (same number, as on GitHub)."""
        head_ref = self.find("ref", scope, ref=f"refs/heads/{head}")
        base_ref = self.find("ref", scope, ref=f"refs/heads/{base}")
        data: dict[str, Any] = {
            "title": title,
            "body": None,
            "state": "open",
            "merged": False,
            "draft": False,
            "head": head,
            "head_sha": head_ref["sha"] if head_ref else None,
            "base": base,
            "base_sha": base_ref["sha"] if base_ref else None,
            "author": "octo",
            "labels": [],
            "assignees": [],
            "requested_reviewers": [],
            "mergeable": True,
            "merge_commit_sha": None,
            "issue_id": None,
            "closed_at": None,
            "merged_at": None,
        }
        data.update(fields)
        pr = self.insert("pull_request", scope, data)
        issue = self.seed_issue(
            scope,
            title,
            body=pr["body"],
            author=pr["author"],
            pull_request={"id": pr["id"], "number": pr["number"]},
            issue_type=None,
            number=pr["number"],
        )
        return self.modify("pull_request", pr["id"], {"issue_id": issue["id"]})

    def allocate_number(self, scope: str, kind: str) -> int:
        """Reserve the next number of ``kind``'s number space in ``scope``."""
        space = _NUMBER_SPACE[kind]
        number = self._numbers.get((scope, space), 0) + 1
        self._numbers[(scope, space)] = number
        return number

    def seed_review(
        self, scope: str, pull_request_id: int, state: str = "APPROVED", **fields: Any
    ) -> dict[str, Any]:
        """Add a review (state APPROVED, CHANGES_REQUESTED, COMMENTED, DISMISSED, PENDING)."""
        pr = self.get("pull_request", pull_request_id)
        data: dict[str, Any] = {
            "pull_request_id": pull_request_id,
            "pull_request_number": pr["number"],
            "state": state,
            "user": "reviewer",
            "body": None,
            "commit_id": pr["head_sha"],
            "submitted_at": None,
        }
        data.update(fields)
        return self.insert("review", scope, data)

    def seed_deploy_key(self, scope: str, title: str, key: str, **fields: Any) -> dict[str, Any]:
        """Add a deploy key."""
        data: dict[str, Any] = {"title": title, "key": key, "read_only": True, "verified": True}
        data.update(fields)
        return self.insert("deploy_key", scope, data)

    def seed_collaborator(
        self, scope: str, login: str, role_name: str = "write", **fields: Any
    ) -> dict[str, Any]:
        """Add a collaborator (role_name admin, maintain, write, triage, read)."""
        data: dict[str, Any] = {"login": login, "role_name": role_name, "site_admin": False}
        data.update(fields)
        return self.insert("collaborator", scope, data)

    def seed_branch_protection(self, scope: str, branch: str, **fields: Any) -> dict[str, Any]:
        """Protect a branch."""
        data: dict[str, Any] = {"branch": branch, **BRANCH_PROTECTION_DEFAULTS}
        data.update(fields)
        return self.insert("branch_protection", scope, data)

    def seed_demo(self, owner: str = "acme", repository: str = "widgets") -> str:
        """Seed a small, complete project and return its scope (``owner/repository``).

        One repository with refs, commits, labels, a milestone, issues (one
        closed, one commented), a pull request (with its backing issue) and a
        review, a workflow with a run, jobs, logs and an artifact, a runner, a
        check, a deploy key, a collaborator and a protected default branch.
        """
        scope = f"{owner}/{repository}"
        self.seed_repository(owner, repository, description="Widgets, in memory")
        root = self.seed_commit(scope, "Initial commit")
        feature = self.seed_commit(scope, "Add sprockets", [root["sha"]])
        self.seed_ref(scope, "refs/heads/main", root["sha"])
        self.seed_ref(scope, "refs/heads/feature/sprockets", feature["sha"])
        self.seed_ref(scope, "refs/tags/v0.1.0", root["sha"])
        self.seed_label(scope, "bug", color="d73a4a", description="Something is broken")
        self.seed_label(scope, "enhancement", color="a2eeef", description="New feature")
        milestone = self.seed_milestone(scope, "v1.0", description="First release")
        first = self.seed_issue(
            scope,
            "Widgets wobble",
            body="They wobble on **Tuesdays**.",
            labels=["bug"],
            milestone_id=milestone["id"],
        )
        self.seed_issue_event(scope, first, "created")
        self.seed_comment(scope, first["id"], "Confirmed on my machine.")
        second = self.seed_issue(scope, "Add sprockets", labels=["enhancement"])
        self.seed_issue_event(scope, second, "created")
        done = self.seed_issue(
            scope,
            "Document widgets",
            state="closed",
            state_reason="completed",
            status="Done",
            closed_at=format_time(self.now()),
        )
        self.seed_issue_event(scope, done, "closed")
        pr = self.seed_pull_request(scope, "Sprockets", head="feature/sprockets")
        self.seed_review(scope, pr["id"], "APPROVED", body="Looks good")
        workflow = self.seed_workflow(scope, "CI", ".memory/workflows/ci.yml")
        run = self.seed_pipeline(scope, workflow["id"], "success", sha=root["sha"])
        self.seed_job(
            scope,
            run["id"],
            "build",
            log="Building widgets\nCompiling 3 files\nBuild OK\n",
        )
        self.seed_job(scope, run["id"], "test", log="Running 12 tests\nAll tests passed\n")
        self.seed_artifact(scope, run["id"], "widgets.tar.gz")
        self.seed_runner(scope, "memory-runner-1")
        self.seed_check(scope, "ci/build", root["sha"])
        self.seed_deploy_key(scope, "deploy", "ssh-ed25519 AAAAC3NzaDemoKey deploy@acme")
        self.seed_collaborator(scope, "octo", "admin")
        self.seed_branch_protection(scope, "main", required_approving_reviews=1)
        return scope

    def __repr__(self) -> str:
        counts = {k: len(v) for k, v in self._objects.items() if v}
        return f"MemoryBackend(sequence={self._sequence}, objects={counts})"


BRANCH_PROTECTION_DEFAULTS: dict[str, Any] = {
    "required_approving_reviews": None,
    "dismiss_stale_reviews": False,
    "require_code_owner_reviews": False,
    "required_status_checks": [],
    "strict_status_checks": False,
    "enforce_admins": False,
    "required_linear_history": False,
    "allow_force_pushes": False,
    "allow_deletions": False,
}
"""The fields of a branch protection rule with their unprotected defaults."""


def _version_of(obj: dict[str, Any]) -> VersionKey:
    return parse_time(obj["updated_at"]), int(obj["sequence"])


def _sha(*parts: Any) -> str:
    return hashlib.sha1("\x00".join(map(str, parts)).encode(), usedforsecurity=False).hexdigest()


def _summarize(value: Any) -> Any:
    """A short, secret-free summary of an argument for the request log."""
    if isinstance(value, Secret):
        return str(value)
    if isinstance(value, str | int | float | bool):
        return value if not isinstance(value, str) or len(value) <= 80 else value[:77] + "..."
    if hasattr(value, "model_dump"):
        return {k: _summarize(v) for k, v in value.model_dump(exclude_none=True).items()}
    if isinstance(value, list | tuple):
        return [_summarize(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _summarize(v) for k, v in value.items()}
    return repr(value)
