"""Buildkite JSON objects -> canonical models.

Buildkite's REST responses and its webhook payload objects share one shape (a
``build`` in a ``build.finished`` delivery is what ``GET .../builds/{number}``
returns, minus the jobs), so the adapter, the emulator's tests and the webhook
normalizers all map through these functions.

Every function takes the native object and returns one canonical object with
the full envelope: ``native_id`` is the UUID ``id``, ``native_number`` the
build ``number``, ``node_id`` the ``graphql_id``, ``url`` the ``web_url``,
``api_url`` the REST ``url``. Every top-level field the canonical model has no
place for is kept in ``extensions.fields`` (a build's ``pull_request``,
``blocked`` flag and ``rebuilt_from``; a job's ``retry_source``,
``soft_failed`` and log URLs...). Nothing is dropped silently, except a build's
inline ``jobs``: they are :class:`Job` objects of their own (``list_jobs``).

Decisions worth knowing:

- Builds and jobs have no ``updated_at``: their version orders by the latest
  of their own timestamps (created, scheduled, started, finished...).
- Build states -> :class:`PipelineState`: ``scheduled``/``creating`` queued,
  ``running``/``failing``/``canceling`` running (still in progress),
  ``passed`` succeeded, ``failed``/``waiting_failed`` failed, ``blocked``
  blocked, ``canceled`` cancelled, ``skipped``/``not_run`` skipped,
  ``waiting`` waiting. A ``passed`` build with ``blocked: true`` stopped at a
  block step: blocked. ``status.native`` keeps the state as sent.
- A job's ``native_kind`` is its ``type`` (``script``, ``waiter``, ``manual``
  for block steps, ``trigger``). A ``failed`` job with ``soft_failed: true``
  is neutral (it does not fail the build).
- An agent is a :class:`Runner`: ``connected`` is online (busy with a job),
  ``disconnected``/``lost``/``stopped`` offline.

Malformed input raises :class:`MappingError` (a ``KradleError``) naming the
object kind and the field.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from functools import cache
from typing import Any

from kradle_providers.auth import Secret
from kradle_providers.models import (
    Actor,
    Artifact,
    Interface,
    Job,
    ObjectRef,
    Pipeline,
    PipelineDefinition,
    PipelineState,
    PipelineStatus,
    ProviderRef,
    Runner,
    RunnerRegistration,
    RunnerState,
)
from kradle_providers.models.native import MappingError, Native, NativeReader, type_name

__all__ = [
    "PROVIDER_TYPE",
    "MappingError",
    "actor",
    "agent",
    "artifact",
    "build",
    "build_state",
    "buildkite_provider",
    "cluster_token",
    "job",
    "job_state",
    "pipeline",
]

PROVIDER_TYPE = "buildkite"

read = NativeReader("Buildkite")
"""Checked reads of Buildkite JSON; a wrong type is a :class:`MappingError`."""


def buildkite_provider(instance: str = "default") -> ProviderRef:
    """The provider reference of a Buildkite organization connection."""
    return ProviderRef(type=PROVIDER_TYPE, instance=instance)


# --- field readers ------------------------------------------------------------


def _id(native: Native, kind: str, key: str = "id") -> str:
    value = native.get(key)
    if not isinstance(value, str) or not value or value == "...":
        raise read.error(kind, f"expected an id string, got {type_name(value)}", field=key)
    return value


def _time(native: Native, key: str, kind: str) -> datetime | None:
    """A Buildkite timestamp: ISO 8601, or ``2018-03-25 03:58:14 UTC`` in older payloads."""
    value = native.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise read.error(kind, f"expected a timestamp, got {type_name(value)}", field=key)
    text = value.strip()
    if text.endswith(" UTC"):
        text = text[: -len(" UTC")].replace(" ", "T") + "+00:00"
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise read.error(kind, f"{value!r} is not a timestamp", field=key) from None
    if parsed.tzinfo is None:
        raise read.error(kind, f"{value!r} has no time zone", field=key)
    return parsed


def _latest(native: Native, kind: str, keys: Iterable[str]) -> datetime | None:
    latest = None
    for key in keys:
        stamp = _time(native, key, kind)
        if stamp is not None and (latest is None or stamp > latest):
            latest = stamp
    return latest


@cache
def _skipped(mapped: tuple[str, ...]) -> frozenset[str]:
    return frozenset({*mapped, "id", "graphql_id", "web_url", "url"})


def _envelope(
    native: Native,
    *,
    kind: str,
    provider: ProviderRef | None,
    mapped: tuple[str, ...],
    native_number: str | None = None,
    updated_at: datetime | None = None,
    sha: str | None = None,
    etag: str | None = None,
) -> dict[str, Any]:
    """The envelope as data (its version and extensions too: validated in one pass)."""
    skip = _skipped(mapped)
    return {
        "provider": provider or buildkite_provider(),
        "interface": Interface.CICD,
        "native_kind": kind,
        "native_id": _id(native, kind),
        "native_number": native_number,
        "node_id": read.opt_text(native, "graphql_id", kind),
        "url": read.opt_text(native, "web_url", kind),
        "api_url": read.opt_text(native, "url", kind),
        "version": {"updated_at": updated_at, "sha": sha, "etag": etag},
        "extensions": {
            "provider_type": PROVIDER_TYPE,
            "fields": {k: v for k, v in native.items() if k not in skip},
        },
    }


def actor(user: Any) -> Actor | None:
    """A Buildkite user (``creator``, ``sender``) or git ``author`` -> :class:`Actor`."""
    if not isinstance(user, Mapping):
        return None
    ident = user.get("id")
    return Actor(
        username=user.get("username") if isinstance(user.get("username"), str) else None,
        display_name=user.get("name") if isinstance(user.get("name"), str) else None,
        native_id=ident if isinstance(ident, str) else None,
        email=user.get("email") if isinstance(user.get("email"), str) else None,
    )


# --- pipelines ------------------------------------------------------------------


_PIPELINE_MAPPED = ("name", "archived_at", "created_at")


def pipeline(
    native: Any, *, provider: ProviderRef | None = None, etag: str | None = None
) -> PipelineDefinition:
    """A pipeline -> :class:`PipelineDefinition`; its ``steps`` stay in extensions.

    ``path`` is the pipeline's slug (what builds are addressed by); an archived
    pipeline is inactive.
    """
    kind = "pipeline"
    obj = read.obj(native, kind)
    created = _time(obj, "created_at", kind)
    archived = obj.get("archived_at") is not None
    data: dict[str, Any] = {
        "external": _envelope(
            obj,
            kind=kind,
            provider=provider,
            mapped=(*_PIPELINE_MAPPED,),
            updated_at=created,
            etag=etag,
        ),
        "name": read.opt_text(obj, "name", kind) or _id(obj, kind, "slug"),
        "path": read.opt_text(obj, "slug", kind),
        "active": not archived,
        "native_state": "archived" if archived else "active",
        "created_at": created,
    }
    data["external"]["extensions"]["fields"]["archived_at"] = obj.get("archived_at")
    return read.build(PipelineDefinition, kind, data)


# --- builds ---------------------------------------------------------------------


_BUILD_STATES = {
    "creating": PipelineState.QUEUED,
    "scheduled": PipelineState.QUEUED,
    "running": PipelineState.RUNNING,
    "failing": PipelineState.RUNNING,
    "canceling": PipelineState.RUNNING,
    "passed": PipelineState.SUCCEEDED,
    "failed": PipelineState.FAILED,
    "waiting_failed": PipelineState.FAILED,
    "blocked": PipelineState.BLOCKED,
    "canceled": PipelineState.CANCELLED,
    "skipped": PipelineState.SKIPPED,
    "not_run": PipelineState.SKIPPED,
    "waiting": PipelineState.WAITING,
}


def build_state(state: Any, *, blocked: bool = False) -> PipelineStatus:
    """A build's ``state`` (and ``blocked`` flag) -> :class:`PipelineStatus`."""
    native = state if isinstance(state, str) else None
    mapped = _BUILD_STATES.get(native or "", PipelineState.UNKNOWN)
    if blocked and mapped is PipelineState.SUCCEEDED:
        mapped = PipelineState.BLOCKED
    return PipelineStatus(state=mapped, native=native)


_BUILD_TIMES = ("created_at", "scheduled_at", "started_at", "finished_at", "canceled_at")
_BUILD_MAPPED = (
    *_BUILD_TIMES,
    "number",
    "state",
    "message",
    "commit",
    "branch",
    "source",
    "creator",
    "pipeline",
    "jobs",
)


def build(
    native: Any,
    *,
    provider: ProviderRef | None = None,
    etag: str | None = None,
    pipeline: Any = None,
) -> Pipeline:
    """A build -> :class:`Pipeline` (``native_number`` is the build number).

    ``definition`` is the build's pipeline (its ``pipeline`` object, or
    ``pipeline`` passed in: webhook builds carry it beside the build). The
    commit ``sha``, ``branch`` and ``pull_request`` (extensions) say what on the
    forge it built.
    """
    kind = "build"
    obj = read.obj(native, kind)
    number = read.opt_int(obj, "number", kind)
    commit = read.opt_text(obj, "commit", kind)
    owner = obj.get("pipeline") if isinstance(obj.get("pipeline"), Mapping) else pipeline
    definition: ObjectRef | None = None
    if isinstance(owner, Mapping) and isinstance(owner.get("id"), str) and owner["id"] != "...":
        definition = ObjectRef(
            kind="PipelineDefinition",
            native_id=owner["id"],
            url=owner.get("web_url") if isinstance(owner.get("web_url"), str) else None,
        )
    envelope = _envelope(
        obj,
        kind=kind,
        provider=provider,
        mapped=_BUILD_MAPPED,
        native_number=None if number is None else str(number),
        updated_at=_latest(obj, kind, _BUILD_TIMES),
        sha=commit,
        etag=etag,
    )
    if isinstance(owner, Mapping) and definition is not None:
        # The pipeline is its own object: keep only its identity here.
        envelope["extensions"]["fields"]["pipeline"] = {
            k: owner[k] for k in ("id", "slug") if k in owner
        }
    data: dict[str, Any] = {
        "external": envelope,
        "definition": definition,
        "name": read.opt_text(obj, "message", kind),
        "status": build_state(obj.get("state"), blocked=read.flag(obj, "blocked", kind)),
        "ref": read.opt_text(obj, "branch", kind),
        "sha": commit,
        "trigger": read.opt_text(obj, "source", kind),
        "actor": actor(obj.get("creator")) or actor(obj.get("author")),
        "created_at": _time(obj, "created_at", kind),
        "started_at": _time(obj, "started_at", kind),
        "finished_at": _time(obj, "finished_at", kind),
        "updated_at": envelope["version"]["updated_at"],
    }
    return read.build(Pipeline, kind, data)


# --- jobs -----------------------------------------------------------------------


_JOB_STATES = {
    "pending": PipelineState.QUEUED,
    "limiting": PipelineState.QUEUED,
    "limited": PipelineState.QUEUED,
    "platform_limiting": PipelineState.QUEUED,
    "platform_limited": PipelineState.QUEUED,
    "scheduled": PipelineState.QUEUED,
    "assigned": PipelineState.QUEUED,
    "accepted": PipelineState.QUEUED,
    "reserved": PipelineState.QUEUED,
    "waiting": PipelineState.WAITING,
    "waiting_failed": PipelineState.FAILED,
    "blocked": PipelineState.BLOCKED,
    "blocked_failed": PipelineState.FAILED,
    "unblocked": PipelineState.SUCCEEDED,
    "unblocked_failed": PipelineState.FAILED,
    "running": PipelineState.RUNNING,
    "canceling": PipelineState.RUNNING,
    "timing_out": PipelineState.RUNNING,
    "passed": PipelineState.SUCCEEDED,
    "failed": PipelineState.FAILED,
    "broken": PipelineState.SKIPPED,
    "canceled": PipelineState.CANCELLED,
    "timed_out": PipelineState.TIMED_OUT,
    "skipped": PipelineState.SKIPPED,
    "expired": PipelineState.TIMED_OUT,
}


def job_state(state: Any, *, soft_failed: bool = False) -> PipelineStatus:
    """A job's ``state`` (and ``soft_failed`` flag) -> :class:`PipelineStatus`."""
    native = state if isinstance(state, str) else None
    mapped = _JOB_STATES.get(native or "", PipelineState.UNKNOWN)
    if soft_failed and mapped is PipelineState.FAILED:
        mapped = PipelineState.NEUTRAL
    return PipelineStatus(state=mapped, native=native)


JOB_TYPES = ("script", "waiter", "manual", "trigger")
_JOB_TIMES = (
    "created_at",
    "scheduled_at",
    "runnable_at",
    "started_at",
    "finished_at",
    "unblocked_at",
)
_JOB_MAPPED = (*_JOB_TIMES, "type", "name", "label", "state", "agent", "agent_query_rules")


def _build_ref(job_obj: Native, owner: Any) -> ObjectRef:
    """The job's build: the ``build`` passed in, else the number at the end of ``build_url``."""
    if isinstance(owner, Mapping) and (
        isinstance(owner.get("number"), int)
        or (isinstance(owner.get("id"), str) and owner["id"] != "...")
    ):
        number = owner.get("number")
        ident = owner.get("id")
        return ObjectRef(
            kind="Pipeline",
            native_id=ident if isinstance(ident, str) and ident != "..." else None,
            native_number=str(number) if isinstance(number, int) else None,
            url=owner.get("web_url") if isinstance(owner.get("web_url"), str) else None,
        )
    build_url = job_obj.get("build_url")
    tail = build_url.rstrip("/").rsplit("/", 1)[-1] if isinstance(build_url, str) else ""
    return ObjectRef(
        kind="Pipeline",
        native_number=tail if tail.isdigit() else None,
        url=build_url if isinstance(build_url, str) else None,
    )


def job(
    native: Any,
    *,
    provider: ProviderRef | None = None,
    etag: str | None = None,
    build: Any = None,
) -> Job:
    """A job -> :class:`Job`; ``native_kind`` is its type, ``pipeline`` its build.

    A waiter has no name: it is named after its type. ``labels`` are the
    agent query rules (``queue=deploy``) the job asks for.
    """
    obj = read.obj(native, "job")
    job_type = obj.get("type")
    kind = job_type if isinstance(job_type, str) and job_type in JOB_TYPES else "job"
    name = read.opt_text(obj, "name", kind) or read.opt_text(obj, "label", kind)
    agent_obj = obj.get("agent")
    rules = obj.get("agent_query_rules")
    envelope = _envelope(
        obj,
        kind=kind,
        provider=provider,
        mapped=_JOB_MAPPED,
        updated_at=_latest(obj, kind, _JOB_TIMES),
        etag=etag,
    )
    if "label" in obj and name != obj.get("label"):
        envelope["extensions"]["fields"]["label"] = obj.get("label")
    if isinstance(agent_obj, Mapping):
        envelope["extensions"]["fields"]["agent"] = {
            k: agent_obj[k] for k in ("id", "name") if k in agent_obj
        }
    data: dict[str, Any] = {
        "external": envelope,
        "pipeline": _build_ref(obj, build),
        "name": name or kind,
        "status": job_state(obj.get("state"), soft_failed=read.flag(obj, "soft_failed", kind)),
        "runner_name": agent_obj.get("name") if isinstance(agent_obj, Mapping) else None,
        "labels": [str(r) for r in rules] if isinstance(rules, list) else [],
        "started_at": _time(obj, "started_at", kind),
        "finished_at": _time(obj, "finished_at", kind),
    }
    return read.build(Job, kind, data)


# --- artifacts ------------------------------------------------------------------


_ARTIFACT_MAPPED = ("path", "file_size", "download_url", "sha1sum")


def artifact(
    native: Any,
    *,
    provider: ProviderRef | None = None,
    etag: str | None = None,
    build: Any = None,
) -> Artifact:
    """An artifact -> :class:`Artifact`; ``name`` is its path, ``pipeline`` the build."""
    kind = "artifact"
    obj = read.obj(native, kind)
    envelope = _envelope(
        obj,
        kind=kind,
        provider=provider,
        mapped=_ARTIFACT_MAPPED,
        sha=read.opt_text(obj, "sha1sum", kind),
        etag=etag,
    )
    envelope["extensions"]["fields"]["sha1sum"] = obj.get("sha1sum")
    data: dict[str, Any] = {
        "external": envelope,
        "pipeline": None if build is None else _build_ref(obj, build),
        "name": read.opt_text(obj, "path", kind) or _id(obj, kind, "filename"),
        "size_bytes": read.opt_int(obj, "file_size", kind),
        "expired": obj.get("state") == "expired",
        "download_url": read.opt_text(obj, "download_url", kind),
    }
    return read.build(Artifact, kind, data)


# --- agents ---------------------------------------------------------------------


_AGENT_TIMES = (
    "created_at",
    "connected_at",
    "disconnected_at",
    "lost_at",
    "stopped_at",
    "last_job_finished_at",
)
_AGENT_MAPPED = (*_AGENT_TIMES, "name", "connection_state", "os_id", "job", "meta_data")
_OFFLINE = {"disconnected", "lost", "stopped", "never_connected"}


def agent(native: Any, *, provider: ProviderRef | None = None, etag: str | None = None) -> Runner:
    """An agent -> :class:`Runner`; busy while it runs a job, labelled by its tags."""
    kind = "agent"
    obj = read.obj(native, kind)
    connection = read.opt_text(obj, "connection_state", kind)
    current = obj.get("job")
    busy = isinstance(current, Mapping) and current.get("state") in ("running", "assigned")
    if connection == "connected":
        state = RunnerState.BUSY if busy else RunnerState.ONLINE
    elif connection in _OFFLINE:
        state = RunnerState.OFFLINE
    else:
        state = RunnerState.UNKNOWN
    envelope = _envelope(
        obj,
        kind=kind,
        provider=provider,
        mapped=_AGENT_MAPPED,
        updated_at=_latest(obj, kind, _AGENT_TIMES),
        etag=etag,
    )
    envelope["extensions"]["fields"]["connected_at"] = obj.get("connected_at")
    if isinstance(current, Mapping):
        envelope["extensions"]["fields"]["job"] = {
            k: current[k] for k in ("id", "state") if k in current
        }
    tags = obj.get("meta_data")
    data: dict[str, Any] = {
        "external": envelope,
        "name": read.opt_text(obj, "name", kind) or _id(obj, kind),
        "os": read.opt_text(obj, "os_id", kind),
        "state": state,
        "native_state": connection,
        "busy": busy,
        "labels": [str(t) for t in tags] if isinstance(tags, list) else [],
    }
    return read.build(Runner, kind, data)


def cluster_token(native: Any, *, provider: ProviderRef | None = None) -> RunnerRegistration:
    """A newly created cluster agent token -> :class:`RunnerRegistration`.

    The token value becomes a :class:`~kradle_providers.auth.Secret` and is
    never copied into ``extensions``.
    """
    kind = "cluster_token"
    obj = read.obj(native, kind)
    token = obj.get("token")
    if not isinstance(token, str) or not token:
        raise read.error(kind, "the created token carries no `token` value", field="token")
    safe = {k: v for k, v in obj.items() if k != "token"}
    envelope = _envelope(safe, kind=kind, provider=provider, mapped=("expires_at",))
    data: dict[str, Any] = {
        "external": envelope,
        "token": Secret(token),
        "expires_at": _time(obj, "expires_at", kind),
    }
    return read.build(RunnerRegistration, kind, data)
