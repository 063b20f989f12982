"""The control API (:class:`~kradle_providers.testing.harness.BackendControl`).

Tests and the contract suite drive the emulator "from Buildkite's side" with
canonical kind names, in one pipeline (default ``widgets``): every change goes
through :class:`~.state.BuildkiteState`, so it emits the webhooks an API call
or an agent would. Ids returned are those the adapter's reads accept: a build's
number, a job's, artifact's, agent's or pipeline's UUID.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from kradle_providers.testing.emulator import FaultKind, ManualClock, Rule
from kradle_providers.testing.harness import Fault, RecordedRequest

if TYPE_CHECKING:
    from kradle_provider_buildkite.emulator.app import BuildkiteEmulator

__all__ = ["BuildkiteControl"]

_KINDS = ("PipelineDefinition", "Pipeline", "Job", "Artifact", "Runner")
# The contract suite names outcomes as GitHub does; Buildkite's states are accepted as is.
_STATUS = {
    "failure": "failed",
    "success": "passed",
    "in_progress": "running",
    "queued": "scheduled",
}
_COLLECTIONS = {
    "PipelineDefinition": "pipelines",
    "Pipeline": "builds",
    "Job": "jobs",
    "Artifact": "artifacts",
    "Runner": "agents",
}


class BuildkiteControl:
    """Seeds, changes and deletes objects in pipeline ``pipeline`` of the organization."""

    def __init__(self, emulator: BuildkiteEmulator, pipeline: str = "widgets") -> None:
        self.em = emulator
        self.pipeline_slug = pipeline

    @property
    def pipeline(self) -> dict[str, Any]:
        """The scoped pipeline's record."""
        found = self.em.state.pipeline_by_slug(self.pipeline_slug)
        if found is None:
            raise KeyError(f"the emulator has no pipeline {self.pipeline_slug!r}")
        return found

    def _tick(self) -> None:
        """Move a manual clock on, so every change has a later time than the last."""
        if isinstance(self.em.clock, ManualClock):
            self.em.clock.advance(timedelta(seconds=1))

    # -- seed ---------------------------------------------------------------

    def seed(self, kind: str, count: int = 1, **attrs: Any) -> list[str]:
        """Create ``count`` objects of canonical ``kind``; return the ids adapters use."""
        if kind not in _KINDS:
            raise KeyError(
                f"unknown kind {kind!r}; the Buildkite emulator seeds {', '.join(_KINDS)}"
            )
        return [self._seed_one(kind, dict(attrs)) for _ in range(count)]

    def _seed_one(self, kind: str, attrs: dict[str, Any]) -> str:
        em, state = self.em, self.em.state
        self._tick()
        creator = em.viewer_id
        if kind == "PipelineDefinition":
            seq = em.store.sequence("control:pipeline")
            pipeline = state.add_pipeline(
                attrs.pop("slug", f"seeded-{seq}"),
                attrs.pop("name", f"Seeded pipeline {seq}"),
                repository_slug=attrs.pop("repository", "acme/widgets"),
                steps=self.pipeline["step_specs"],
                creator_id=creator,
                cluster_id=self.pipeline["cluster_id"],
                when=state.now(),
            )
            return str(pipeline["id"])
        if kind == "Pipeline":
            status = str(attrs.pop("status", "running"))
            from kradle_provider_buildkite.emulator.seed import FORGE_COMMITS

            sha, message = FORGE_COMMITS[state.store.sequence("control:build") % len(FORGE_COMMITS)]
            build = state.create_build(
                self.pipeline,
                commit=attrs.pop("sha", sha),
                branch=attrs.pop("branch", "main"),
                message=attrs.pop("message", message),
                author={"username": "alice", "name": "Alice Archer", "email": "alice@acme.test"},
                creator_id=creator,
                state=_STATUS.get(status, status),
                source="api",
                pull_request=attrs.pop("pull_request", None),
            )
            return str(build["number"])
        if kind == "Job":
            build = self._build(attrs.pop("pipeline", None))
            step = {
                "type": "script",
                "label": attrs.pop("name", "Seeded job"),
                "key": None,
                "command": "make check",
            }
            order = len(state.jobs.filter(build_id=build["id"]))
            job = state.add_job(build, step, order, attrs.pop("state", "passed"), em.clock())
            if "log" in attrs:
                state.jobs.update(job["id"], log=str(attrs.pop("log")))
            return str(job["id"])
        if kind == "Artifact":
            build = self._build(attrs.pop("pipeline", None))
            step = {
                "type": "script",
                "label": "Upload",
                "command": "make dist",
                "artifact_paths": "pkg/*",
            }
            order = len(state.jobs.filter(build_id=build["id"]))
            job = state.add_job(build, step, order, "passed", em.clock())
            first = state.artifacts.filter(job_id=job["id"])[0]
            for extra in state.artifacts.filter(job_id=job["id"])[1:]:
                state.artifacts.delete(extra["id"])
            return str(first["id"])
        seq = em.store.sequence("control:agent")
        agent = state.add_agent(
            attrs.pop("name", f"seeded-agent-{seq}"),
            creator_id=creator,
            cluster_id=self.pipeline["cluster_id"],
            when=state.now(),
        )
        em.emit_event("agent.connected", agent=agent)
        return str(agent["id"])

    def _build(self, number: Any) -> dict[str, Any]:
        if number is None:
            number = self._seed_one("Pipeline", {"status": "passed"})
        build = self.em.state.build_by_number(self.pipeline["id"], int(number))
        if build is None:
            raise KeyError(f"no build #{number} in pipeline {self.pipeline_slug}")
        return build

    # -- change / delete ----------------------------------------------------

    def change(self, kind: str, object_id: str, **fields: Any) -> None:
        """Change an object as Buildkite or a person would; its version moves on.

        A build that finished gets a job retried and finishes again; one that
        runs finishes. A job finishes (again). An agent disconnects or connects.
        An artifact's upload finishes, or a finished one expires.
        """
        state = self.em.state
        self._tick()
        record = self._record(kind, object_id)
        if fields:
            self._collection(kind).update(record["id"], fields)
            return
        if kind == "Pipeline":
            if record["finished_at"] is not None:
                scripts = [j for j in state.jobs_of(record["id"]) if j["type"] == "script"]
                if scripts:
                    retried = state.retry_job(scripts[0]["id"], by=self.em.viewer_id)
                    state.finish_job(retried["id"], "passed")
                    return
            state.set_build_state(record["id"], "passed")
        elif kind == "Job":
            state.finish_job(record["id"], "passed")
        elif kind == "Runner":
            now = state.now()
            connected = record["connection_state"] == "connected"
            changes = (
                {"connection_state": "disconnected", "disconnected_at": now, "job_id": None}
                if connected
                else {"connection_state": "connected", "connected_at": now}
            )
            agent = state.agents.update(record["id"], changes)
            self.em.emit_event(
                "agent.disconnected" if connected else "agent.connected", agent=agent
            )
        elif kind == "PipelineDefinition":
            state.pipelines.update(record["id"], name=f"{record['name']} (edited)")
        else:
            # An artifact's file never changes; its state does (uploaded, then expired).
            following = {"new": "finished", "finished": "expired"}
            state.artifacts.update(record["id"], state=following.get(record["state"], "finished"))

    def delete(self, kind: str, object_id: str) -> None:
        """Delete an object from outside (an admin deleting a pipeline, an agent going away)."""
        record = self._record(kind, object_id)
        self._collection(kind).delete(record["id"])

    def _collection(self, kind: str) -> Any:
        if kind not in _COLLECTIONS:
            raise KeyError(f"unknown kind {kind!r}; the Buildkite emulator has {', '.join(_KINDS)}")
        return getattr(self.em.state, _COLLECTIONS[kind])

    def _record(self, kind: str, object_id: str) -> dict[str, Any]:
        if kind == "Pipeline" and str(object_id).isdigit():
            record = self.em.state.build_by_number(self.pipeline["id"], int(object_id))
        else:
            record = self._collection(kind).get(object_id)
        if record is None:
            raise KeyError(
                f"no {kind} {object_id} in {self.em.state.org_slug}/{self.pipeline_slug}"
            )
        return dict(record)

    def set_native_field(self, kind: str, object_id: str, name: str, value: Any) -> None:
        """Add a provider field to an object's JSON (the canonical model has no place for it)."""
        record = self._record(kind, object_id)
        self._collection(kind).update(record["id"], extra={**record["extra"], name: value})

    # -- requests and faults ------------------------------------------------

    def requests(self) -> Sequence[RecordedRequest]:
        """Every request that reached the emulator, oldest first."""
        return [RecordedRequest(e.method, e.path, e.operation) for e in self.em.requests]

    def inject_fault(self, fault: Fault, *, times: int = 1, method: str | None = None) -> None:
        """Make the next ``times`` requests fail as Buildkite fails them."""
        if fault is Fault.RATE_LIMIT:
            limit = self.em.rate_limiter.policy.limit if self.em.rate_limiter else 200
            rule = Rule(
                kind=FaultKind.RATE_LIMIT,
                status=429,
                method=method,
                times=times,
                message="You have exceeded your API rate limit. Please wait until the time in "
                "RateLimit-Reset and try again.",
                headers={
                    "ratelimit-limit": str(limit),
                    "ratelimit-remaining": "0",
                    "ratelimit-reset": "30",
                },
                retry_after=30,
            )
        elif fault is Fault.SERVER_ERROR:
            rule = Rule(
                kind=FaultKind.STATUS, status=502, method=method, times=times, message="Bad Gateway"
            )
        elif fault is Fault.LOST_RESPONSE:
            rule = Rule(kind=FaultKind.DROPPED, method=method, times=times)
        else:
            raise ValueError(f"unknown fault {fault!r}")
        self.em.faults.add(rule)
