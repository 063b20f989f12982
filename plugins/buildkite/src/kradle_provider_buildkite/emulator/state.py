"""The Buildkite emulator's data and the changes Buildkite itself makes to it.

One organization (``acme`` by default) with users, pipelines, builds, jobs
(with their logs), artifacts, agents, clusters and cluster tokens, kept in the
framework's :class:`~kradle_providers.testing.emulator.Store`. Every state
change (a build scheduled, a job retried, a block step unblocked, a build
canceled) goes through this module, which emits the webhook Buildkite would
send through ``emit(event, build=..., job=..., agent=...)``.

Records hold Buildkite's fields in stored form; :mod:`.objects` renders them.
Each record has an ``extra`` dict: provider fields a test adds
(``set_native_field``) that the renderer sends as is.
"""

from __future__ import annotations

import hashlib
import random
import uuid
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from kradle_providers.testing.emulator import Collection, Now, Store

__all__ = [
    "BUILD_STATES",
    "FINISHED_BUILD_STATES",
    "BuildkiteState",
    "Emit",
    "StepSpec",
]

BUILD_STATES = (
    "scheduled",
    "running",
    "passed",
    "failed",
    "blocked",
    "canceling",
    "canceled",
    "skipped",
    "not_run",
    "waiting",
    "waiting_failed",
    "failing",
)
FINISHED_BUILD_STATES = frozenset(
    {"passed", "failed", "blocked", "canceled", "skipped", "not_run", "waiting_failed"}
)
_CANCELABLE = frozenset({"scheduled", "running", "failing", "blocked", "waiting"})

StepSpec = Mapping[str, Any]
"""A pipeline step: ``{"type": "script"|"waiter"|"manual"|"trigger", "label", "key", ...}``."""

Emit = Callable[..., None]
"""``emit(event, build=..., job=..., agent=...)``: send the webhook of a change."""

# Which state each job of a build is in, by build state and job type, for builds
# made in one go (seed and control). Script jobs before the first failure pass.
_JOB_STATES: dict[str, dict[str, str]] = {
    build_state: dict(zip(("script", "waiter", "manual", "trigger"), jobs, strict=True))
    for build_state, jobs in (
        ("scheduled", ("scheduled", "waiting", "pending", "pending")),
        ("running", ("running", "waiting", "pending", "pending")),
        ("failing", ("running", "waiting", "pending", "pending")),
        ("passed", ("passed", "passed", "unblocked", "passed")),
        ("failed", ("passed", "waiting_failed", "broken", "broken")),
        ("blocked", ("passed", "passed", "blocked", "pending")),
        ("canceling", ("canceling", "waiting", "pending", "pending")),
        ("canceled", ("canceled", "canceled", "canceled", "canceled")),
        ("waiting", ("waiting", "waiting", "pending", "pending")),
        ("waiting_failed", ("waiting_failed", "waiting_failed", "broken", "broken")),
    )
}


def _ansi_log(name: str, command: str, state: str) -> str:
    """A job log as the agent writes it: ``~~~`` sections and ANSI colours."""
    lines = [
        "\x1b[90m~~~ Preparing working directory\x1b[0m",
        "$ cd /buildkite/builds/agent/acme/widgets",
        "\x1b[90m~~~ Running commands\x1b[0m",
        f"$ {command}",
        f"\x1b[1m{name}\x1b[0m: 42 checks",
    ]
    if state == "failed":
        lines += ["\x1b[31mFAILED\x1b[0m tests/test_widgets.py::test_render", "^^^ +++", "exit 1"]
    elif state in ("running", "canceling", "canceled"):
        lines.append("\x1b[33m… still running\x1b[0m")
    else:
        lines.append("\x1b[32mok\x1b[0m all checks passed")
    return "\r\n".join(lines) + "\r\n"


class BuildkiteState:
    """Records of one organization and the changes Buildkite makes to them."""

    def __init__(self, store: Store, clock: Now, *, org: str = "acme") -> None:
        self.store = store
        self.clock = clock
        self.org_slug = org
        self.rng = random.Random(7)

        def collection(name: str) -> Collection:
            return store.collection(name, created_field=None, updated_field=None)

        self.users = collection("users")
        self.pipelines = collection("pipelines")
        self.builds = collection("builds")
        self.jobs = collection("jobs")
        self.artifacts = collection("artifacts")
        self.agents = collection("agents")
        self.clusters = collection("clusters")
        self.tokens = collection("cluster_tokens")
        # (pipeline id, number) -> build id; build id -> its job / artifact ids.
        self.build_ids: dict[tuple[str, int], str] = {}
        self.job_ids: dict[str, list[str]] = {}
        self.artifact_ids: dict[str, list[str]] = {}
        self.emit: Emit = lambda event, **objects: None
        self.organization = {
            "id": self.uuid(),
            "name": "Acme Corp",
            "created_at": "2023-01-02T09:00:00.000Z",
        }

    # -- helpers --------------------------------------------------------------

    def uuid(self) -> str:
        """A deterministic UUID (seeded), as Buildkite's ids look."""
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def now(self) -> str:
        """Now, as Buildkite writes timestamps (milliseconds, ``Z``)."""
        return stamp(self.clock())

    def pipeline_of(self, build: Mapping[str, Any]) -> Mapping[str, Any]:
        """The build's pipeline, as a read-only view (renders call this per build)."""
        found = self.view(self.pipelines, build["pipeline_id"])
        assert found is not None, f"build {build['id']} has no pipeline"
        return found

    @staticmethod
    def view(collection: Collection, ident: Any) -> Mapping[str, Any] | None:
        """A read-only view of one record, without the copy ``get`` makes."""
        found = collection.peek(id=ident)
        return found[0] if found else None

    def pipeline_by_slug(self, slug: str) -> dict[str, Any] | None:
        return self.pipelines.find_one(slug=slug)

    def build_by_number(self, pipeline_id: str, number: int) -> dict[str, Any] | None:
        ident = self.build_ids.get((pipeline_id, number))
        return None if ident is None else self.builds.get(ident)

    def jobs_of(self, build_id: str, *, include_retried: bool = False) -> list[dict[str, Any]]:
        found = (self.jobs.get(i) for i in self.job_ids.get(build_id, ()))
        jobs = sorted((j for j in found if j is not None), key=lambda j: j["order"])
        return jobs if include_retried else [j for j in jobs if not j["retried"]]

    def pipeline_counts(self, pipeline_id: str) -> dict[str, int]:
        builds = self.builds.peek(pipeline_id=pipeline_id)
        running = {b["id"] for b in builds if b["state"] in ("running", "failing")}
        return {
            "scheduled": sum(1 for b in builds if b["state"] == "scheduled"),
            "running": len(running),
            "running_jobs": sum(
                1
                for b in running
                for j in self.job_ids.get(b, ())
                if (self.jobs.get(j) or {}).get("state") == "running"
            ),
        }

    # -- accounts and pipelines ----------------------------------------------------

    def add_user(self, name: str, email: str, when: str) -> dict[str, Any]:
        user: dict[str, Any] = self.users.insert(
            {"name": name, "email": email, "created_at": when}, id=self.uuid()
        )
        return user

    def add_cluster(self, name: str, creator_id: str, when: str) -> dict[str, Any]:
        cluster: dict[str, Any] = self.clusters.insert(
            {
                "name": name,
                "description": f"{name} agents",
                "creator_id": creator_id,
                "created_at": when,
            },
            id=self.uuid(),
        )
        return cluster

    def add_pipeline(
        self,
        slug: str,
        name: str,
        *,
        repository_slug: str,
        steps: Iterable[StepSpec],
        creator_id: str,
        cluster_id: str,
        when: str,
    ) -> dict[str, Any]:
        """A pipeline building ``repository_slug`` (``acme/widgets``) with ``steps``."""
        native_steps: list[dict[str, Any]] = []
        yaml_lines = ["steps:"]
        for spec in steps:
            native_steps.append(_native_step(spec))
            yaml_lines += _yaml_step(spec)
        record: dict[str, Any] = self.pipelines.insert(
            {
                "slug": slug,
                "name": name,
                "description": f"Builds {repository_slug}",
                "repository": f"git@github.com:{repository_slug}.git",
                "repository_slug": repository_slug,
                "branch_configuration": None,
                "default_branch": "main",
                "cluster_id": cluster_id,
                "creator_id": creator_id,
                "created_at": when,
                "archived_at": None,
                "env": {},
                "tags": None,
                "configuration": "\n".join(yaml_lines) + "\n",
                "steps": native_steps,
                "step_specs": [dict(s) for s in native_steps],
                "next_number": 1,
                "extra": {},
            },
            id=self.uuid(),
        )
        return record

    def add_agent(
        self,
        name: str,
        *,
        creator_id: str,
        cluster_id: str,
        when: str,
        connection_state: str = "connected",
        queue: str = "default",
        os_id: str = "linux",
    ) -> dict[str, Any]:
        agent: dict[str, Any] = self.agents.insert(
            {
                "name": name,
                "connection_state": connection_state,
                "hostname": f"{name}.ci.acme.test",
                "ip_address": f"10.0.{len(self.agents) // 200}.{len(self.agents) % 200 + 10}",
                "version": "3.74.0",
                "os_id": os_id,
                "creator_id": creator_id,
                "created_at": when,
                "connected_at": when if connection_state != "never_connected" else None,
                "disconnected_at": None if connection_state == "connected" else when,
                "lost_at": when if connection_state == "lost" else None,
                "stopped_at": when if connection_state == "stopped" else None,
                "last_job_finished_at": None,
                "priority": 0,
                "meta_data": [f"queue={queue}", f"os={os_id}"],
                "cluster_id": cluster_id,
                "job_id": None,
                "extra": {},
            },
            id=self.uuid(),
        )
        return agent

    # -- builds -------------------------------------------------------------------

    def create_build(
        self,
        pipeline: Mapping[str, Any],
        *,
        commit: str,
        branch: str,
        message: str,
        author: Mapping[str, Any],
        creator_id: str | None,
        state: str = "scheduled",
        blocked: bool = False,
        source: str = "webhook",
        pull_request: Mapping[str, Any] | None = None,
        created: datetime | None = None,
        rebuilt_from: str | None = None,
        agent_ids: list[str] | None = None,
        emit: bool = True,
    ) -> dict[str, Any]:
        """A build of ``pipeline`` with one job per step, everything in ``state``.

        The build's number is the pipeline's next. Timestamps follow ``created``
        (default now): scheduled at once, started a minute later, finished
        after the jobs for finished states. Emits ``build.scheduled`` (and
        ``build.finished`` for finished builds) when ``emit``.
        """
        if state not in BUILD_STATES:
            raise ValueError(f"unknown build state {state!r}; Buildkite's are {BUILD_STATES}")
        # A build of the past (seed history) took minutes; one made now has no times ahead.
        spread = created is not None
        created = created or self.clock()
        current = self.pipelines.get(pipeline["id"])
        assert current is not None, f"no pipeline {pipeline['id']}"
        number = current["next_number"]
        self.pipelines.update(pipeline["id"], next_number=number + 1)
        started = created + timedelta(minutes=1 if spread else 0)
        finished = started + timedelta(minutes=4 if spread else 0)
        is_finished = state in FINISHED_BUILD_STATES and state != "blocked"
        build: dict[str, Any] = self.builds.insert(
            {
                "pipeline_id": pipeline["id"],
                "number": number,
                "state": state,
                "blocked": blocked or state == "blocked",
                "blocked_state": "passed" if (blocked or state == "blocked") else None,
                "cancel_reason": "Canceled from the dashboard"
                if state in ("canceling", "canceled")
                else None,
                "message": message,
                "commit": commit,
                "branch": branch,
                "tag": None,
                "env": {},
                "source": source,
                "author": dict(author),
                "creator_id": creator_id,
                "created_at": stamp(created),
                "scheduled_at": stamp(created),
                "started_at": None
                if state in ("scheduled", "waiting", "skipped", "not_run")
                else stamp(started),
                "finished_at": stamp(finished) if is_finished or state == "blocked" else None,
                "failing_at": stamp(started) if state in ("failing", "failed") else None,
                "canceled_at": stamp(finished) if state == "canceled" else None,
                "meta_data": {},
                "pull_request": dict(pull_request) if pull_request else None,
                "rebuilt_from": rebuilt_from,
                "extra": {},
            },
            id=self.uuid(),
        )
        self.build_ids[(pipeline["id"], number)] = build["id"]
        if state not in ("skipped", "not_run"):
            self._create_jobs(build, pipeline, created, agent_ids or [], spread)
        if emit:
            self.emit("build.scheduled", build=build)
            if build["finished_at"] is not None:
                self.emit("build.finished", build=build)
        return build

    def _create_jobs(
        self,
        build: Mapping[str, Any],
        pipeline: Mapping[str, Any],
        created: datetime,
        agent_ids: list[str],
        spread: bool,
    ) -> None:
        state = build["state"]
        per_type = _JOB_STATES[state]
        failed_at = 1 if state in ("failed", "failing") else None
        for order, step in enumerate(pipeline["step_specs"]):
            job_state = per_type[step["type"]]
            if step["type"] == "script" and failed_at is not None:
                script_index = sum(
                    1 for s in pipeline["step_specs"][:order] if s["type"] == "script"
                )
                if script_index < failed_at:
                    job_state = "passed"
                elif script_index == failed_at:
                    job_state = "failed"
                elif state == "failing":
                    job_state = "running"
            agent = (
                agent_ids[order % len(agent_ids)]
                if agent_ids and step["type"] == "script"
                else None
            )
            self.add_job(
                build, step, order, job_state, created,
                agent_id=agent, spread=spread,
            )  # fmt: skip

    def add_job(
        self,
        build: Mapping[str, Any],
        step: Mapping[str, Any],
        order: int,
        state: str,
        created: datetime,
        *,
        agent_id: str | None = None,
        retry_source: Mapping[str, Any] | None = None,
        spread: bool = False,
    ) -> dict[str, Any]:
        """One job of ``build`` for pipeline ``step``, in ``state``.

        ``spread``: the job ran in the past for a minute (seed history);
        otherwise every time it has is ``created``.
        """
        job_type = step["type"]
        ran = state not in (
            "pending",
            "waiting",
            "scheduled",
            "blocked",
            "broken",
            "waiting_failed",
        )
        done = state in ("passed", "failed", "canceled", "unblocked", "timed_out")
        started = created + (timedelta(minutes=1, seconds=order * 20) if spread else timedelta())
        finished = started + (timedelta(minutes=1) if spread else timedelta())
        name = step.get("label") or step.get("trigger")
        command = step.get("command")
        job: dict[str, Any] = self.jobs.insert(
            {
                "build_id": build["id"],
                "order": order,
                "type": job_type,
                "name": name,
                "step_key": step.get("key"),
                "step_id": self.uuid(),
                "state": state,
                "command": command,
                "agent_query_rules": list(step.get("agents", ["queue=default"]))
                if job_type == "script"
                else [],
                "agent_id": agent_id if ran and job_type == "script" else None,
                "soft_failed": bool(step.get("soft_fail")) and state == "failed",
                "exit_status": (1 if state == "failed" else 0)
                if done and job_type == "script"
                else None,
                "artifact_paths": step.get("artifact_paths"),
                "created_at": stamp(created),
                "scheduled_at": stamp(created) if state != "pending" else None,
                "runnable_at": stamp(created) if ran else None,
                "started_at": stamp(started) if ran else None,
                "finished_at": stamp(finished) if done else None,
                "retried": False,
                "retried_in_job_id": None,
                "retries_count": None if retry_source is None else 1,
                "retry_source": dict(retry_source) if retry_source else None,
                "retry_type": None if retry_source is None else retry_source.get("retry_type"),
                "retried_by": None,
                "unblocked_by": None,
                "unblocked_at": stamp(started) if state == "unblocked" else None,
                "fields": step.get("fields"),
                "continue_on_failure": False,
                "async": bool(step.get("async", False)),
                "triggered_build_id": None,
                "log": _ansi_log(name or job_type, command or "", state)
                if job_type == "script" and ran
                else "",
                "extra": {},
            },
            id=self.uuid(),
        )
        self.job_ids.setdefault(build["id"], []).append(job["id"])
        if job_type == "script" and done and step.get("artifact_paths"):
            for path in _artifact_files(step["artifact_paths"], build["number"]):
                content = f"{path} of build {build['number']}\n"
                artifact = self.artifacts.insert(
                    {
                        "job_id": job["id"],
                        "build_id": build["id"],
                        "path": path,
                        "state": "finished",
                        "mime_type": "text/html" if path.endswith(".html") else "application/gzip",
                        "glob_path": step["artifact_paths"],
                        "sha1sum": hashlib.sha1(content.encode()).hexdigest(),  # noqa: S324 - Buildkite's checksum
                        "content": content,
                        "extra": {},
                    },
                    id=self.uuid(),
                )
                self.artifact_ids.setdefault(build["id"], []).append(artifact["id"])
        return job

    def artifacts_of(self, build_id: str) -> list[dict[str, Any]]:
        """A build's artifacts, in upload order."""
        found = (self.artifacts.get(i) for i in self.artifact_ids.get(build_id, ()))
        return [a for a in found if a is not None]

    # -- changes Buildkite makes -----------------------------------------------------

    def set_build_state(self, build_id: str, state: str, *, emit: bool = True) -> dict[str, Any]:
        """Move a build (and its unfinished jobs) to ``state`` at the current time."""
        now = self.now()
        changes: dict[str, Any] = {"state": state}
        current = self.builds.get(build_id)
        assert current is not None
        if state in ("running", "failing"):
            changes["started_at"] = current["started_at"] or now
            changes["finished_at"] = None
        if state in FINISHED_BUILD_STATES:
            changes["finished_at"] = now
        if state == "canceled":
            changes["canceled_at"] = now
        build: dict[str, Any] = self.builds.update(build_id, changes)
        job_state = {"passed": "passed", "canceled": "canceled", "failed": "failed"}.get(state)
        for job in self.jobs_of(build_id):
            if job_state and job["finished_at"] is None and job["type"] == "script":
                self.jobs.update(job["id"], state=job_state, finished_at=now, exit_status=0)
        if emit:
            event = {
                "running": "build.running",
                "failing": "build.failing",
                "skipped": "build.skipped",
            }
            self.emit(
                event.get(
                    state, "build.finished" if state in FINISHED_BUILD_STATES else "build.running"
                ),
                build=build,
            )
        return build

    def cancel_build(self, build_id: str) -> dict[str, Any] | None:
        """Cancel a build that can be canceled; ``None`` when it cannot (finished)."""
        build = self.builds.get(build_id)
        if build is None or build["state"] not in _CANCELABLE:
            return None
        now = self.now()
        for job in self.jobs_of(build_id):
            if job["finished_at"] is None:
                self.jobs.update(job["id"], state="canceled", finished_at=now)
        self.builds.update(build_id, cancel_reason="Canceled via the API", blocked=False)
        return self.set_build_state(build_id, "canceled")

    def retry_job(
        self, job_id: str, *, by: str | None, retry_type: str = "manual"
    ) -> dict[str, Any]:
        """Retry a job: a new job linked to the old one; the build runs again."""
        old = self.jobs.get(job_id)
        assert old is not None
        build = self.builds.get(old["build_id"])
        assert build is not None
        step = self.pipeline_of(build)["step_specs"][old["order"]]
        new = self.add_job(
            build,
            step,
            old["order"],
            "scheduled",
            self.clock(),
            retry_source={"job_id": old["id"], "retry_type": retry_type},
        )
        new = self.jobs.update(
            new["id"], retries_count=(old["retries_count"] or 0) + 1, retried_by=by
        )
        self.jobs.update(old["id"], retried=True, retried_in_job_id=new["id"])
        self.emit("job.scheduled", job=new, build=build)
        if build["state"] in FINISHED_BUILD_STATES:
            self.set_build_state(build["id"], "running")
        return new

    def finish_job(self, job_id: str, state: str = "passed") -> dict[str, Any]:
        """A job ends (``passed``/``failed``); the build finishes when no job is left."""
        job = self.jobs.get(job_id)
        assert job is not None
        now = self.now()
        job = self.jobs.update(
            job_id,
            state=state,
            started_at=job["started_at"] or now,
            finished_at=now,
            exit_status=0 if state == "passed" else 1,
            log=job["log"] or _ansi_log(job["name"] or "job", job["command"] or "", state),
        )
        build = self.builds.get(job["build_id"])
        assert build is not None
        self.emit("job.finished", job=job, build=build)
        left = [
            j
            for j in self.jobs_of(build["id"])
            if j["finished_at"] is None and j["type"] == "script"
        ]
        if not left:
            failed = any(
                j["state"] == "failed" and not j["soft_failed"] for j in self.jobs_of(build["id"])
            )
            self.set_build_state(build["id"], "failed" if failed else "passed")
        return job

    def unblock_job(
        self, job_id: str, *, by: str | None, fields: Mapping[str, Any] | None = None
    ) -> dict[str, Any]:
        """Unblock a block step: the job is ``unblocked``, the build runs on."""
        now = self.now()
        job: dict[str, Any] = self.jobs.update(
            job_id,
            state="unblocked",
            unblocked_by=by,
            unblocked_at=now,
            fields=dict(fields or {}) or None,
        )
        build = self.builds.update(job["build_id"], blocked=False, blocked_state=None)
        self.emit("job.activated", job=job, build=build)
        for later in self.jobs_of(build["id"]):
            if later["order"] > job["order"] and later["state"] == "pending":
                self.jobs.update(later["id"], state="scheduled", scheduled_at=now)
        self.set_build_state(build["id"], "running")
        return job

    def rebuild(self, build_id: str, *, by: str | None) -> dict[str, Any]:
        """A new build of the same commit, with ``rebuilt_from`` naming the old one."""
        old = self.builds.get(build_id)
        assert old is not None
        return self.create_build(
            self.pipeline_of(old),
            commit=old["commit"],
            branch=old["branch"],
            message=old["message"],
            author=old["author"],
            creator_id=by,
            state="scheduled",
            source="ui",
            pull_request=old["pull_request"],
            rebuilt_from=old["id"],
        )


def stamp(when: datetime) -> str:
    """Buildkite's timestamp format: ``2015-05-09T21:05:59.874Z``."""
    utc = when.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def _native_step(spec: StepSpec) -> dict[str, Any]:
    kind = spec["type"]
    if kind == "waiter":
        return {"type": "waiter"}
    if kind == "manual":
        return {
            "type": "manual",
            "label": spec["label"],
            "key": spec.get("key"),
            "fields": spec.get("fields"),
        }
    if kind == "trigger":
        return {
            "type": "trigger",
            "label": spec["label"],
            "key": spec.get("key"),
            "trigger": spec["trigger"],
            "async": bool(spec.get("async", False)),
        }
    return {
        "type": "script",
        "label": spec["label"],
        "key": spec.get("key"),
        "command": spec["command"],
        "artifact_paths": spec.get("artifact_paths"),
        "agents": list(spec.get("agents", ["queue=default"])),
        "soft_fail": bool(spec.get("soft_fail", False)),
    }


def _yaml_step(spec: StepSpec) -> list[str]:
    kind = spec["type"]
    if kind == "waiter":
        return ["  - wait"]
    if kind == "manual":
        return [f'  - block: "{spec["label"]}"', f"    key: {spec.get('key')}"]
    if kind == "trigger":
        return [f'  - trigger: "{spec["trigger"]}"', f'    label: "{spec["label"]}"']
    lines = [f'  - label: "{spec["label"]}"', f'    command: "{spec["command"]}"']
    if spec.get("artifact_paths"):
        lines.append(f'    artifact_paths: "{spec["artifact_paths"]}"')
    return lines


def _artifact_files(glob: str, number: int) -> list[str]:
    if glob.startswith("coverage"):
        return ["coverage/index.html"]
    return [f"pkg/widgets-1.{number}.0.tar.gz", f"pkg/widgets-1.{number}.0.sha256"]
