"""CI/CD kinds: PipelineDefinition, Pipeline, Job, Check, Artifact, LogRef, Runner,
RunnerRegistration."""

from __future__ import annotations

from enum import StrEnum
from typing import ClassVar, Literal

from pydantic import Field

from kradle_providers.auth.secret import Secret
from kradle_providers.models.base import (
    Actor,
    CanonicalModel,
    CanonicalObject,
    Interface,
    ObjectRef,
    Tolerant,
    UtcDatetime,
)
from kradle_providers.models.status import PipelineState, PipelineStatus

__all__ = [
    "Artifact",
    "Check",
    "CheckInput",
    "CheckKind",
    "Job",
    "JobStep",
    "LogRef",
    "Pipeline",
    "PipelineDefinition",
    "Runner",
    "RunnerRegistration",
    "RunnerState",
]


class PipelineDefinition(CanonicalObject):
    """A workflow file / pipeline configuration."""

    interface: ClassVar[Interface] = Interface.CICD
    kind: Literal["PipelineDefinition"] = "PipelineDefinition"
    name: str
    path: str | None = None
    active: bool = True
    native_state: str | None = None
    created_at: UtcDatetime | None = None
    updated_at: UtcDatetime | None = None


class Pipeline(CanonicalObject):
    """One run of a pipeline (workflow run, GitLab pipeline, Buildkite build)."""

    interface: ClassVar[Interface] = Interface.CICD
    kind: Literal["Pipeline"] = "Pipeline"
    definition: ObjectRef | None = None
    name: str | None = None
    status: PipelineStatus = Field(default_factory=PipelineStatus)
    ref: str | None = None
    sha: str | None = None
    trigger: str | None = None
    attempt: int | None = None
    actor: Actor | None = None
    created_at: UtcDatetime | None = None
    started_at: UtcDatetime | None = None
    finished_at: UtcDatetime | None = None
    updated_at: UtcDatetime | None = None


class JobStep(CanonicalModel):
    """One step of a job."""

    name: str
    number: int | None = None
    status: PipelineStatus = Field(default_factory=PipelineStatus)
    started_at: UtcDatetime | None = None
    finished_at: UtcDatetime | None = None


class Job(CanonicalObject):
    """One job of a pipeline run, with its steps, state and log."""

    interface: ClassVar[Interface] = Interface.CICD
    kind: Literal["Job"] = "Job"
    pipeline: ObjectRef
    name: str
    status: PipelineStatus = Field(default_factory=PipelineStatus)
    runner_name: str | None = None
    labels: list[str] = Field(default_factory=list)
    steps: list[JobStep] = Field(default_factory=list)
    started_at: UtcDatetime | None = None
    finished_at: UtcDatetime | None = None


class CheckKind(StrEnum):
    """Whether a check is a check run (with output) or a plain commit status."""

    CHECK_RUN = "check_run"
    COMMIT_STATUS = "commit_status"
    UNKNOWN = "unknown"


class Check(CanonicalObject):
    """A check run or commit status on a commit."""

    interface: ClassVar[Interface] = Interface.CICD
    kind: Literal["Check"] = "Check"
    check_kind: Tolerant[CheckKind] = CheckKind.CHECK_RUN
    name: str
    sha: str
    status: PipelineStatus = Field(default_factory=PipelineStatus)
    details_url: str | None = None
    summary: str | None = None
    started_at: UtcDatetime | None = None
    finished_at: UtcDatetime | None = None


class Artifact(CanonicalObject):
    """A file a pipeline run kept (build output, report), with its size and download address."""

    interface: ClassVar[Interface] = Interface.CICD
    kind: Literal["Artifact"] = "Artifact"
    pipeline: ObjectRef | None = None
    name: str
    size_bytes: int | None = None
    expired: bool = False
    download_url: str | None = None
    created_at: UtcDatetime | None = None
    expires_at: UtcDatetime | None = None


class LogRef(CanonicalObject):
    """Where a job's log lives; the text is streamed by ``CiCd.get_job_log``."""

    interface: ClassVar[Interface] = Interface.CICD
    kind: Literal["LogRef"] = "LogRef"
    job: ObjectRef
    size_bytes: int | None = None
    content_type: str = "text/plain"


class RunnerState(StrEnum):
    """Whether a runner is online, offline or busy."""

    ONLINE = "online"
    OFFLINE = "offline"
    BUSY = "busy"
    UNKNOWN = "unknown"


class Runner(CanonicalObject):
    """A machine or agent that runs CI jobs."""

    interface: ClassVar[Interface] = Interface.CICD
    kind: Literal["Runner"] = "Runner"
    name: str
    os: str | None = None
    state: Tolerant[RunnerState] = RunnerState.UNKNOWN
    native_state: str | None = None
    busy: bool = False
    labels: list[str] = Field(default_factory=list)


class RunnerRegistration(CanonicalObject):
    """A short-lived runner registration token. Never stored; ``token`` is a Secret."""

    interface: ClassVar[Interface] = Interface.CICD
    kind: Literal["RunnerRegistration"] = "RunnerRegistration"
    token: Secret
    expires_at: UtcDatetime | None = None


# --- write inputs -----------------------------------------------------------


class CheckInput(CanonicalModel):
    """Create or update a check run / commit status."""

    name: str = Field(min_length=1)
    sha: str = Field(min_length=1)
    state: PipelineState = PipelineState.QUEUED
    details_url: str | None = None
    summary: str | None = None
    external_id: str | None = None
