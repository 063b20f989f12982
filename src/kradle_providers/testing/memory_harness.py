"""The memory provider's contract-test harness: :class:`ContractHarness` over a MemoryBackend.

``create_harness(**options)`` is what ``ProviderPlugin.harness`` names for the
``memory`` provider. Options (all optional, also given as ``--kradle-option``):

- ``adapter_class``: a :class:`MemoryAdapter` subclass to test instead (the
  contract suite's own tests use it to prove that broken variants fail);
- ``owner`` / ``repository``: the harness scope (default ``acme/widgets``).

Faults are injected around the adapter: the harness hands out the adapter
wrapped in a thin class that forwards exactly the operations the adapter
implements, so a lost response can happen *after* the backend processed a
write, as a dropped connection would.

Seed attributes by canonical kind (``backend.seed(kind, **attrs)``); the
returned ids are what the adapter's ``get_*`` operations accept:

=================  ==============================================  ==========
kind               attrs                                           id
=================  ==============================================  ==========
Issue              title, body, state, labels                      number
Comment            issue (number; seeded when absent), body        id
Label              name, color, description                        id
Milestone          title                                           number
IssueEvent         issue (number; seeded when absent), event       id
PipelineDefinition name, path                                      id
Pipeline           definition (id), status, sha                    id
Job                pipeline (id; seeded when absent), name, log    id
Artifact           pipeline (id; seeded when absent), name         id
Runner             name                                            id
Check              sha (commit sha; seeded when absent), name      id
Repository         name                                            name
PullRequest        title, head, base (branches; created if absent) number
Review             pull_request (number; seeded when absent)       id
Ref                name (``refs/heads/...``), sha                  name
Commit             message                                         sha
DeployKey          title, key                                      id
Collaborator       login, role_name                                id
BranchProtection   branch                                          branch
=================  ==============================================  ==========
"""

from __future__ import annotations

import functools
import inspect
import json
import secrets
import shutil
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kradle_providers.auth.secret import Secret
from kradle_providers.errors import InvalidInput, TransientProviderError
from kradle_providers.models.base import ExternalRef
from kradle_providers.protocols.adapter import ProviderAdapter
from kradle_providers.protocols.catalogue import OPERATIONS, Operation
from kradle_providers.protocols.interfaces import is_implemented
from kradle_providers.testing.harness import Fault, RecordedRequest, WebhookFixture
from kradle_providers.testing.memory import MemoryAdapter
from kradle_providers.testing.memory_backend import NATIVE_KINDS, MemoryBackend
from kradle_providers.testing.memory_mapping import CANONICAL_KIND

__all__ = ["MemoryControl", "MemoryHarness", "create_harness"]

NATIVE_KIND: dict[str, str] = {canonical: native for native, canonical in CANONICAL_KIND.items()}
"""Canonical kind -> memory kind."""

_NUMBERED = {"issue", "pull_request", "milestone"}


def _http_method(info: Operation, args: Mapping[str, Any]) -> str:
    # The memory provider has no HTTP; reads and dry runs show as GET so that
    # "no write request" checks read the log the same way as for an emulator.
    if not info.write or args.get("dry_run"):
        return "GET"
    return "POST"


@dataclass
class _Armed:
    fault: Fault
    remaining: int
    method: str | None


class MemoryControl:
    """:class:`~kradle_providers.testing.harness.BackendControl` over a MemoryBackend."""

    def __init__(self, backend: MemoryBackend, scope: ExternalRef) -> None:
        self.state = backend
        self.scope = scope
        self._slug = scope.slug()
        self._owner = scope.owner or "acme"
        self._faults: list[_Armed] = []
        self._serial = 0

    # --- seeding --------------------------------------------------------------

    def _next(self) -> int:
        self._serial += 1
        return self._serial

    def seed(self, kind: str, count: int = 1, **attrs: Any) -> list[str]:
        """Create ``count`` objects of canonical ``kind`` (see the module table)."""
        if kind not in NATIVE_KIND:
            raise InvalidInput(
                f"the memory harness cannot seed {kind!r}; use one of {sorted(NATIVE_KIND)}",
                field="kind",
            )
        return [self._seed_one(kind, dict(attrs)) for _ in range(count)]

    def _seed_one(self, kind: str, attrs: dict[str, Any]) -> str:
        b, s, n = self.state, self._slug, self._next()
        if kind == "Issue":
            title = attrs.pop("title", f"Seeded issue {n}")
            return str(b.seed_issue(s, title, **attrs)["number"])
        if kind == "Comment":
            issue = self._row("issue", attrs.pop("issue", None) or self._seed_one("Issue", {}))
            body = attrs.pop("body", f"Seeded comment {n}")
            return str(b.seed_comment(s, issue["id"], body, **attrs)["id"])
        if kind == "Label":
            return str(b.seed_label(s, attrs.pop("name", f"label-{n}"), **attrs)["id"])
        if kind == "Milestone":
            title = attrs.pop("title", f"Milestone {n}")
            return str(b.seed_milestone(s, title, **attrs)["number"])
        if kind == "IssueEvent":
            issue = self._row("issue", attrs.pop("issue", None) or self._seed_one("Issue", {}))
            event = attrs.pop("event", "labeled")
            return str(b.seed_issue_event(s, issue, event)["id"])
        if kind == "PipelineDefinition":
            name = attrs.pop("name", f"Workflow {n}")
            path = attrs.pop("path", f".memory/workflows/w{n}.yml")
            return str(b.seed_workflow(s, name, path, **attrs)["id"])
        if kind == "Pipeline":
            definition = attrs.pop("definition", None)
            status = attrs.pop("status", "success")
            return str(b.seed_pipeline(s, int(definition) if definition else None, status)["id"])
        if kind in ("Job", "Artifact"):
            pipeline = int(attrs.pop("pipeline", None) or self._seed_one("Pipeline", {}))
            name = attrs.pop("name", f"{kind.lower()}-{n}")
            if kind == "Job":
                return str(b.seed_job(s, pipeline, name, **attrs)["id"])
            return str(b.seed_artifact(s, pipeline, name, **attrs)["id"])
        if kind == "Runner":
            return str(b.seed_runner(s, attrs.pop("name", f"runner-{n}"), **attrs)["id"])
        if kind == "Check":
            sha = attrs.pop("sha", None) or self._seed_one("Commit", {})
            return str(b.seed_check(s, attrs.pop("name", f"ci/check-{n}"), sha, **attrs)["id"])
        if kind == "Repository":
            name = attrs.pop("name", f"repo-{n}")
            return str(b.seed_repository(self._owner, name, **attrs)["name"])
        if kind == "PullRequest":
            head = attrs.pop("head", f"feature-{n}")
            base = attrs.pop("base", "main")
            for branch in (head, base):
                self._ensure_branch(branch)
            title = attrs.pop("title", f"Seeded pull request {n}")
            return str(b.seed_pull_request(s, title, head, base, **attrs)["number"])
        if kind == "Review":
            pr = self._row(
                "pull_request", attrs.pop("pull_request", None) or self._seed_one("PullRequest", {})
            )
            return str(b.seed_review(s, pr["id"], attrs.pop("state", "APPROVED"))["id"])
        if kind == "Ref":
            name = attrs.pop("name", f"refs/heads/branch-{n}")
            sha = attrs.pop("sha", None) or self._seed_one("Commit", {})
            return str(b.seed_ref(s, name, sha)["ref"])
        if kind == "Commit":
            return str(b.seed_commit(s, attrs.pop("message", f"Commit {n}"), **attrs)["sha"])
        if kind == "DeployKey":
            title = attrs.pop("title", f"key-{n}")
            key = attrs.pop("key", f"ssh-ed25519 AAAAC3Nza{n:06d} kradle@contract")
            return str(b.seed_deploy_key(s, title, key, **attrs)["id"])
        if kind == "Collaborator":
            login = attrs.pop("login", f"user{n}")
            return str(b.seed_collaborator(s, login, attrs.pop("role_name", "write"))["id"])
        if kind == "BranchProtection":
            branch = attrs.pop("branch", f"release-{n}")
            self._ensure_branch(branch)
            return str(b.seed_branch_protection(s, branch, **attrs)["branch"])
        raise InvalidInput(f"the memory harness cannot seed {kind!r}", field="kind")

    def _ensure_branch(self, branch: str) -> None:
        if self.state.find("ref", self._slug, ref=f"refs/heads/{branch}") is None:
            sha = self._seed_one("Commit", {"message": f"Tip of {branch}"})
            self.state.seed_ref(self._slug, f"refs/heads/{branch}", sha)

    def _row(self, native: str, object_id: str) -> dict[str, Any]:
        """The stored object behind an id the adapter accepts."""
        match: dict[str, Any]
        scope: str | None = self._slug
        if native in _NUMBERED:
            match = {"number": int(object_id)}
        elif native == "repository":
            match, scope = {"name": object_id}, self._owner
        elif native == "ref":
            match = {"ref": object_id}
        elif native == "commit":
            match = {"sha": object_id}
        elif native == "branch_protection":
            match = {"branch": object_id}
        else:
            match = {"id": int(object_id)}
        found = self.state.find(native, scope, **match)
        if native == "issue" and found is not None and found.get("pull_request"):
            found = self.state.find(native, scope, **match, pull_request=None) or found
        if found is None:
            raise InvalidInput(f"no {native} {object_id!r} in the harness scope", field="id")
        return found

    # --- outside changes ------------------------------------------------------

    def change(self, kind: str, object_id: str, **fields: Any) -> None:
        """Change an object as a person would; default: edit its title/body/description."""
        native = NATIVE_KIND[kind]
        row = self._row(native, object_id)
        if not fields:
            for name in ("title", "body", "description", "message", "name"):
                if isinstance(row.get(name), str) and name != "name":
                    fields = {name: f"{row[name]} (edited)"}
                    break
            else:
                fields = {"internal_note": f"edited {self._next()}"}
        self.state.external_change(native, row["id"], **fields)

    def delete(self, kind: str, object_id: str) -> None:
        """Delete an object from outside."""
        native = NATIVE_KIND[kind]
        self.state.delete(native, self._row(native, object_id)["id"])

    def set_native_field(self, kind: str, object_id: str, name: str, value: Any) -> None:
        """Store a field the canonical model has no place for."""
        native = NATIVE_KIND[kind]
        self.state.external_change(native, self._row(native, object_id)["id"], **{name: value})

    # --- requests and faults --------------------------------------------------

    def requests(self) -> Sequence[RecordedRequest]:
        """Every adapter call that reached the backend, as method + path + operation."""
        out: list[RecordedRequest] = []
        for record in self.state.requests:
            info = OPERATIONS.get(record.operation)
            method = _http_method(info, record.args) if info else "GET"
            out.append(RecordedRequest(method, f"/{record.operation}", record.operation))
        return out

    def inject_fault(self, fault: Fault, *, times: int = 1, method: str | None = None) -> None:
        """Arm ``fault`` for the next ``times`` matching adapter calls."""
        if times < 1:
            raise InvalidInput("must be at least 1", field="times")
        self._faults.append(_Armed(fault, times, method.upper() if method else None))

    def take_fault(self, info: Operation, args: Mapping[str, Any]) -> Fault | None:
        """The fault armed for this call, if any (consumed)."""
        method = _http_method(info, args)
        for armed in self._faults:
            if armed.remaining > 0 and armed.method in (None, method):
                armed.remaining -= 1
                self._faults = [f for f in self._faults if f.remaining > 0]
                return armed.fault
        return None


class _Harnessed(ProviderAdapter):
    """Forwards to ``inner`` and applies the control's armed faults."""

    def __init__(self, inner: ProviderAdapter, control: MemoryControl) -> None:
        super().__init__(instance=inner.instance)
        self.inner = inner
        self.control = control
        self.provider_type = inner.provider_type

    async def aclose(self) -> None:
        await self.inner.aclose()


def _forwarder(info: Operation) -> Callable[..., Any]:
    method = info.method
    if not inspect.iscoroutinefunction(getattr(ProviderAdapter, method)):

        def forward_sync(self: _Harnessed, *args: Any, **kwargs: Any) -> Any:
            return getattr(self.inner, method)(*args, **kwargs)

        return forward_sync

    async def forward(self: _Harnessed, *args: Any, **kwargs: Any) -> Any:
        fault = self.control.take_fault(info, kwargs)
        state = self.control.state
        if fault is Fault.RATE_LIMIT:
            state.rate_limit_next(info.name, retry_after=30)
        elif fault is Fault.SERVER_ERROR:
            error = TransientProviderError("HTTP 502 from the memory backend", provider="memory")
            state.fail_next(info.name, error)
        result = await getattr(self.inner, method)(*args, **kwargs)
        if fault is Fault.LOST_RESPONSE:
            # Processed, but the answer never arrives: what a dropped connection looks like.
            raise TransientProviderError(
                f"connection dropped before the {info.name} response arrived", provider="memory"
            )
        return result

    return forward


@functools.cache
def _harnessed_class(inner: type[ProviderAdapter]) -> type[_Harnessed]:
    namespace: dict[str, Any] = {"__doc__": f"{inner.__name__} under the memory harness."}
    for info in OPERATIONS.values():
        if is_implemented(inner, info.method):
            namespace[info.method] = _forwarder(info)
    return type(f"Harnessed{inner.__name__}", (_Harnessed,), namespace)


def _fixture_payloads() -> dict[str, dict[str, Any]]:
    """One real change event per memory kind, from a demo installation."""
    backend = MemoryBackend()
    backend.seed_demo()
    payloads: dict[str, dict[str, Any]] = {}
    for event in backend.events:
        kind = event["event"]
        if kind == "issue" and event["object"].get("pull_request"):
            continue
        payloads.setdefault(kind, event)
    return payloads


class MemoryHarness:
    """A fresh MemoryBackend with a canary credential and an adapter factory."""

    def __init__(
        self,
        *,
        provider: str = "memory",
        adapter_class: type[MemoryAdapter] = MemoryAdapter,
        owner: str = "acme",
        repository: str = "widgets",
    ) -> None:
        self.provider = provider
        self.credential = f"kradle-canary-{secrets.token_hex(12)}"
        self.state = MemoryBackend(accepted_token=Secret(self.credential))
        self.scope = ExternalRef(owner=owner, repository=repository)
        self.backend = MemoryControl(self.state, self.scope)
        self.adapter_class = adapter_class
        self.state.seed_repository(owner, repository)
        self.backend.seed("Ref", name="refs/heads/main")
        self._fixture_dir: Path | None = None

    async def adapter(self, *, credential: str | None = None, **options: Any) -> ProviderAdapter:
        """A fresh adapter on this harness's backend (``options`` are accepted and ignored)."""
        inner = self.adapter_class(self.state, token=Secret(credential or self.credential))
        return _harnessed_class(type(inner))(inner, self.backend)

    def webhook_fixtures(self) -> Sequence[WebhookFixture]:
        """A payload per declared memory event (written to a temporary folder)."""
        if self._fixture_dir is None:
            self._fixture_dir = Path(tempfile.mkdtemp(prefix="kradle-memory-fixtures-"))
        fixtures: list[WebhookFixture] = []
        payloads = _fixture_payloads()
        payloads["ping"] = {"event": "ping", "zen": "Keep it logically awesome."}
        for kind in (*NATIVE_KINDS, "ping"):
            payload = payloads.get(kind)
            if payload is None:
                continue
            path = self._fixture_dir / f"{kind}.json"
            path.write_text(json.dumps(payload, indent=2, sort_keys=True))
            headers = {"x-memory-event": kind, "x-memory-delivery": f"fixture-{kind}"}
            fixtures.append(WebhookFixture(event=kind, payload=path, headers=headers))
        return fixtures

    async def aclose(self) -> None:
        """Remove the temporary fixture folder; idempotent."""
        if self._fixture_dir is not None:
            shutil.rmtree(self._fixture_dir, ignore_errors=True)
            self._fixture_dir = None


def create_harness(**options: Any) -> MemoryHarness:
    """The memory provider's harness factory (``ProviderPlugin.harness``)."""
    return MemoryHarness(**options)
