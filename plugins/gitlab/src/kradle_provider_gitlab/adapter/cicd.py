"""CI/CD on GitLab: pipelines, jobs and bridges, traces, artifacts, runners, commit statuses."""

from __future__ import annotations

import codecs
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any
from urllib.parse import quote

from kradle_provider_gitlab import mapping
from kradle_provider_gitlab.adapter.client import GitLabBase, as_number, project_path
from kradle_provider_gitlab.adapter.issues import iso
from kradle_provider_gitlab.adapter.joblog import JobLog, SectionTracker, clean_line
from kradle_providers.auth import Secret, redact
from kradle_providers.errors import InvalidInput
from kradle_providers.http import ProviderRejectedInput
from kradle_providers.http.listing import SEEN_KEY, drop_repeated
from kradle_providers.models import (
    Artifact,
    Check,
    CheckInput,
    Extensions,
    ExternalRef,
    Interface,
    Job,
    Pipeline,
    PipelineState,
    Runner,
    RunnerRegistration,
)
from kradle_providers.protocols.page import Page, decode_cursor, encode_cursor

__all__ = ["STATUS_STATES", "CiCdOperations"]

STATUS_STATES: dict[PipelineState, str] = {
    PipelineState.QUEUED: "pending",
    PipelineState.WAITING: "pending",
    PipelineState.BLOCKED: "pending",
    PipelineState.ACTION_REQUIRED: "pending",
    PipelineState.RUNNING: "running",
    PipelineState.SUCCEEDED: "success",
    PipelineState.NEUTRAL: "success",
    PipelineState.FAILED: "failed",
    PipelineState.TIMED_OUT: "failed",
    PipelineState.CANCELLED: "canceled",
    PipelineState.SKIPPED: "skipped",
}
"""Canonical check states -> the commit-status states GitLab accepts."""


class CiCdOperations(GitLabBase):
    """The CI/CD operations (see the manifest for the endpoints)."""

    async def list_pipelines(
        self,
        ref: ExternalRef,
        *,
        definition_id: str | None = None,
        since: datetime | None = None,
        cursor: str | None = None,
        page_size: int | None = None,
    ) -> Page[Pipeline]:
        """Pipelines by id ascending; with ``since``, those updated at or after it.

        ``definition_id`` is a ref (branch or tag) name: a GitLab project has
        one CI configuration, and pipelines differ by the ref they ran for.
        """
        params: dict[str, Any] = {"order_by": "id", "sort": "asc"}
        if definition_id is not None:
            params["ref"] = definition_id
        if since is not None:
            params["updated_after"] = iso(since)
        return await self._list_page(
            f"{project_path(ref)}/pipelines",
            params,
            cursor=cursor,
            page_size=page_size,
            convert=lambda native: mapping.pipeline(native, provider=self.provider_ref),
            updated=lambda p: p.updated_at,
        )

    async def get_pipeline(self, ref: ExternalRef, pipeline_id: str) -> Pipeline:
        """One pipeline by id."""
        path = f"{project_path(ref)}/pipelines/{as_number(pipeline_id, 'pipeline_id')}"
        response = await self.http.get(path)
        return mapping.pipeline(response.json(), provider=self.provider_ref, etag=response.etag)

    async def list_jobs(
        self,
        ref: ExternalRef,
        pipeline_id: str,
        *,
        cursor: str | None = None,
        page_size: int | None = None,
    ) -> Page[Job]:
        """The pipeline's jobs, then its bridges (trigger jobs, ``native_kind="bridge"``)."""
        base = f"{project_path(ref)}/pipelines/{as_number(pipeline_id, 'pipeline_id')}"
        stage = 0
        inner: str | None = None
        if cursor is not None:
            state = decode_cursor(cursor)
            stage = int(state.get("stage", 0))
            inner = (
                encode_cursor({"url": state["url"], SEEN_KEY: state.get(SEEN_KEY, [])})
                if state.get("url")
                else None
            )
        if stage == 0:
            page = await self._list_page(
                f"{base}/jobs",
                {"include_retried": "false"},
                cursor=inner,
                page_size=page_size,
                convert=lambda native: mapping.job(native, provider=self.provider_ref),
                extra={"stage": 0},
            )
            if page.next_cursor is None:
                bridges = await self._list_page(
                    f"{base}/bridges",
                    {},
                    cursor=None,
                    page_size=page_size,
                    convert=lambda native: mapping.bridge(native, provider=self.provider_ref),
                    extra={"stage": 1},
                )
                if bridges.items and len(page.items) + len(bridges.items) <= self._page_size(
                    page_size
                ):
                    return Page(
                        items=[*page.items, *bridges.items],
                        next_cursor=bridges.next_cursor,
                        extra=page.extra,
                    )
                if bridges.items:
                    return Page(
                        items=page.items,
                        next_cursor=encode_cursor({"stage": 1}),
                        extra=page.extra,
                    )
            return page
        return await self._list_page(
            f"{base}/bridges",
            {},
            cursor=inner,
            page_size=page_size,
            convert=lambda native: mapping.bridge(native, provider=self.provider_ref),
            extra={"stage": 1},
        )

    def get_job_log(self, ref: ExternalRef, job_id: str) -> AsyncIterator[str]:
        """The job's trace, line by line as it downloads: ANSI codes and section markers
        removed, known secrets redacted. Nothing is requested until first advanced."""
        path = f"{project_path(ref)}/jobs/{as_number(job_id, 'job_id')}/trace"
        return self._log_lines(path, None)

    async def read_job_log(self, ref: ExternalRef, job_id: str) -> JobLog:
        """The whole cleaned, redacted trace plus its sections (names, times, line spans)."""
        tracker = SectionTracker()
        path = f"{project_path(ref)}/jobs/{as_number(job_id, 'job_id')}/trace"
        lines = [line async for line in self._log_lines(path, tracker)]
        return JobLog(text="".join(lines), sections=tracker.sections)

    async def _log_lines(self, path: str, tracker: SectionTracker | None) -> AsyncIterator[str]:
        async with self.http.stream("GET", path) as response:
            decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
            pending = ""
            async for chunk in response.aiter_bytes():
                pending += decoder.decode(chunk)
                # Lines end at "\n" only: a section marker ends in "\r" mid-line. The
                # partial last line waits, so a secret or a marker is never split.
                *complete, pending = pending.split("\n")
                lines = [f"{line}\n" for line in complete]
                for line in lines:
                    if tracker is not None:
                        tracker.feed(line)
                    yield redact(clean_line(line))
            pending += decoder.decode(b"", final=True)
            if pending:
                if tracker is not None:
                    tracker.feed(pending)
                yield redact(clean_line(pending))

    async def list_artifacts(
        self,
        ref: ExternalRef,
        pipeline_id: str,
        *,
        cursor: str | None = None,
        page_size: int | None = None,
    ) -> Page[Artifact]:
        """Every job's artifacts of the pipeline (archive, metadata, reports; not the trace)."""
        api_base = self.rest_url + project_path(ref)
        page = await self._list_page(
            f"{project_path(ref)}/pipelines/{as_number(pipeline_id, 'pipeline_id')}/jobs",
            # GitLab's default, spelled as list_jobs does: one request serves both kinds.
            {"include_retried": "false"},
            cursor=cursor,
            page_size=page_size,
            convert=lambda native: mapping.artifacts(
                native, provider=self.provider_ref, api_base=api_base
            ),
        )
        flat = Page(
            items=[a for group in page.items for a in group],
            next_cursor=page.next_cursor,
            extra=page.extra,
        )
        return drop_repeated(flat, cursor)

    async def rerun_pipeline(
        self, ref: ExternalRef, pipeline_id: str, *, failed_only: bool = False
    ) -> Pipeline:
        """Retry the pipeline's failed and canceled jobs (GitLab's retry is always that)."""
        path = f"{project_path(ref)}/pipelines/{as_number(pipeline_id, 'pipeline_id')}/retry"
        response = await self.http.post(path)
        return mapping.pipeline(response.json(), provider=self.provider_ref)

    async def cancel_pipeline(self, ref: ExternalRef, pipeline_id: str) -> Pipeline:
        """Cancel the pipeline's unfinished jobs."""
        path = f"{project_path(ref)}/pipelines/{as_number(pipeline_id, 'pipeline_id')}/cancel"
        response = await self.http.post(path)
        return mapping.pipeline(response.json(), provider=self.provider_ref)

    async def list_runners(
        self, ref: ExternalRef, *, cursor: str | None = None, page_size: int | None = None
    ) -> Page[Runner]:
        """The runners available to the project (its own and shared ones)."""
        return await self._list_page(
            f"{project_path(ref)}/runners",
            {},
            cursor=cursor,
            page_size=page_size,
            convert=lambda native: mapping.runner(native, provider=self.provider_ref),
        )

    async def register_runner(self, ref: ExternalRef) -> RunnerRegistration:
        """Create a project runner; its authentication token is returned once, never stored."""
        project = await self._get_json(project_path(ref))
        response = await self.http.post(
            "/user/runners",
            json={
                "runner_type": "project_type",
                "project_id": project["id"],
                "description": "registered by kradle",
            },
        )
        body = response.json()
        token = Secret(str(body["token"]))
        return RunnerRegistration.model_validate(
            {
                "external": {
                    "provider": self.provider_ref,
                    "interface": Interface.CICD,
                    "native_kind": "runner_authentication_token",
                    "native_id": str(body["id"]),
                    "version": {},
                    "extensions": Extensions(provider_type="gitlab", fields={}),
                },
                "token": token,
                "expires_at": mapping.gitlab_time(body.get("token_expires_at")),
            }
        )

    # -- commit statuses --------------------------------------------------------------

    async def list_checks(
        self,
        ref: ExternalRef,
        sha: str,
        *,
        cursor: str | None = None,
        page_size: int | None = None,
    ) -> Page[Check]:
        """The commit statuses of ``sha`` (a branch or tag name resolves to its head)."""
        return await self._list_page(
            f"{project_path(ref)}/repository/commits/{quote(sha, safe='')}/statuses",
            {"all": "true"},
            cursor=cursor,
            page_size=page_size,
            convert=lambda native: mapping.commit_status(native, provider=self.provider_ref),
        )

    async def _set_status(self, ref: ExternalRef, sha: str, name: str, data: CheckInput) -> Check:
        state = STATUS_STATES.get(data.state)
        if state is None:
            raise InvalidInput(
                f"GitLab commit statuses cannot be {data.state.value!r}", field="state"
            )
        payload: dict[str, Any] = {"state": state, "name": name}
        if data.details_url is not None:
            payload["target_url"] = data.details_url
        if data.summary is not None:
            payload["description"] = data.summary
        path = f"{project_path(ref)}/statuses/{quote(sha, safe='')}"
        try:
            response = await self.http.post(path, json=payload)
        except ProviderRejectedInput as exc:
            # GitLab refuses to move a status to the state it already has: a retried
            # (or repeated) write. The status as it stands is the answer then.
            if "Cannot transition status" not in str(exc):
                raise
            for check in (await self.list_checks(ref, sha, page_size=100)).items:
                if check.name == name and check.status.native == state:
                    return check
            raise
        return mapping.commit_status(response.json(), provider=self.provider_ref)

    async def create_check(
        self, ref: ExternalRef, data: CheckInput, *, idempotency_key: str | None = None
    ) -> Check:
        """Set the status ``data.name`` on ``data.sha`` (one per name and commit: natural)."""
        return await self._set_status(ref, data.sha, data.name, data)

    async def update_check(self, ref: ExternalRef, check_id: str, data: CheckInput) -> Check:
        """Set a status again by its id (``"{sha}:{name}"``).

        GitLab keys a status by commit and name: a different ``data.name`` sets
        the status of that name (the old one stays as it was).
        """
        sha, sep, name = check_id.partition(":")
        if not sep or len(sha) < 7 or not name:
            raise InvalidInput(
                f"{check_id!r} is not a GitLab check id; pass the Check's native_id (sha:name)",
                field="check_id",
            )
        return await self._set_status(ref, sha, data.name or name, data)
