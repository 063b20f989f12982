"""CiCd on GitHub: Actions workflows, runs, jobs, logs, artifacts, runners; checks.

``list_pipelines(since=...)`` uses the runs listing's ``created>=`` filter:
GitHub offers no "updated since" filter for workflow runs, so a run created
before ``since`` whose status changed later is seen through its
``workflow_run`` webhook or :meth:`get_pipeline`, not through the listing.
"""

from __future__ import annotations

import codecs
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

from kradle_provider_github import mapping
from kradle_provider_github.adapter.client import GitHubBase, repo_path
from kradle_providers.auth import redact
from kradle_providers.errors import InvalidInput
from kradle_providers.http.idempotency import check_idempotency_key
from kradle_providers.models import (
    Artifact,
    Check,
    CheckInput,
    ExternalRef,
    Job,
    Pipeline,
    PipelineDefinition,
    Runner,
    RunnerRegistration,
)
from kradle_providers.models.status import PipelineState
from kradle_providers.protocols.page import Page, decode_cursor, encode_cursor

__all__ = ["CiCdOperations", "check_run_fields"]

_CONCLUSIONS = {
    PipelineState.SUCCEEDED: "success",
    PipelineState.FAILED: "failure",
    PipelineState.CANCELLED: "cancelled",
    PipelineState.SKIPPED: "skipped",
    PipelineState.NEUTRAL: "neutral",
    PipelineState.TIMED_OUT: "timed_out",
    PipelineState.ACTION_REQUIRED: "action_required",
}


def check_run_fields(data: CheckInput) -> dict[str, Any]:
    """The check-run ``status``/``conclusion``/``output`` fields for ``data``."""
    fields: dict[str, Any] = {"name": data.name}
    conclusion = _CONCLUSIONS.get(data.state)
    if conclusion is not None:
        fields.update(status="completed", conclusion=conclusion)
    elif data.state is PipelineState.RUNNING:
        fields["status"] = "in_progress"
    else:
        # queued, waiting, blocked, unknown: not started yet as far as GitHub can say.
        fields["status"] = "queued"
    if data.details_url is not None:
        fields["details_url"] = data.details_url
    if data.summary is not None:
        fields["output"] = {"title": data.name, "summary": data.summary}
    return fields


def _id(value: str, what: str) -> str:
    text = str(value).strip()
    if not text.isdigit():
        raise InvalidInput(f"{what} must be a numeric GitHub id, got {value!r}", field=what)
    return text


class CiCdOperations(GitHubBase):
    """The CiCd operations: GitHub Actions plus the Checks and Statuses APIs."""

    async def list_pipeline_definitions(
        self, ref: ExternalRef, *, cursor: str | None = None, page_size: int | None = None
    ) -> Page[PipelineDefinition]:
        """The repository's workflows."""
        return await self._list_page(
            f"{repo_path(ref)}/actions/workflows",
            {},
            cursor=cursor,
            page_size=page_size,
            items_key="workflows",
            convert=lambda native: mapping.workflow(native, provider=self.provider_ref),
            updated=lambda d: d.updated_at,
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
        """Workflow runs (newest first, as GitHub lists them); ``since`` filters by creation."""
        params: dict[str, Any] = {}
        if since is not None:
            params["created"] = ">=" + since.isoformat().replace("+00:00", "Z")
        path = (
            f"{repo_path(ref)}/actions/runs"
            if definition_id is None
            else f"{repo_path(ref)}/actions/workflows/{definition_id}/runs"
        )
        return await self._list_page(
            path,
            params,
            cursor=cursor,
            page_size=page_size,
            items_key="workflow_runs",
            convert=lambda native: mapping.workflow_run(native, provider=self.provider_ref),
            updated=lambda p: p.updated_at,
        )

    async def get_pipeline(self, ref: ExternalRef, pipeline_id: str) -> Pipeline:
        """One workflow run."""
        native = await self._get_json(
            f"{repo_path(ref)}/actions/runs/{_id(pipeline_id, 'pipeline_id')}"
        )
        return mapping.workflow_run(native, provider=self.provider_ref)

    async def list_jobs(
        self,
        ref: ExternalRef,
        pipeline_id: str,
        *,
        cursor: str | None = None,
        page_size: int | None = None,
    ) -> Page[Job]:
        """The jobs of a run's latest attempt."""
        return await self._list_page(
            f"{repo_path(ref)}/actions/runs/{_id(pipeline_id, 'pipeline_id')}/jobs",
            {},
            cursor=cursor,
            page_size=page_size,
            items_key="jobs",
            convert=lambda native: mapping.workflow_job(native, provider=self.provider_ref),
        )

    def get_job_log(self, ref: ExternalRef, job_id: str) -> AsyncIterator[str]:
        """The job's log, line by line as it downloads, with known secrets redacted.

        GitHub answers with a 302 to a short-lived download URL, which the
        transport follows (dropping credentials on a cross-origin hop).
        Nothing is requested until the iterator is first advanced.
        """
        path = f"{repo_path(ref)}/actions/jobs/{_id(job_id, 'job_id')}/logs"
        return self._log_lines(path)

    async def _log_lines(self, path: str) -> AsyncIterator[str]:
        async with self.http.stream("GET", path) as response:
            decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
            pending = ""
            async for chunk in response.aiter_bytes():
                pending += decoder.decode(chunk)
                lines = pending.splitlines(keepends=True)
                # The last piece may be a partial line: keep it so a secret is never split.
                pending = lines.pop() if lines and not lines[-1].endswith("\n") else ""
                for line in lines:
                    yield redact(line)
            pending += decoder.decode(b"", final=True)
            if pending:
                yield redact(pending)

    async def list_artifacts(
        self,
        ref: ExternalRef,
        pipeline_id: str,
        *,
        cursor: str | None = None,
        page_size: int | None = None,
    ) -> Page[Artifact]:
        """A run's artifacts."""
        return await self._list_page(
            f"{repo_path(ref)}/actions/runs/{_id(pipeline_id, 'pipeline_id')}/artifacts",
            {},
            cursor=cursor,
            page_size=page_size,
            items_key="artifacts",
            convert=lambda native: mapping.artifact(native, provider=self.provider_ref),
        )

    async def rerun_pipeline(
        self, ref: ExternalRef, pipeline_id: str, *, failed_only: bool = False
    ) -> Pipeline:
        """Re-run a run (``failed_only``: only its failed jobs); returns the run as it is now."""
        run = f"{repo_path(ref)}/actions/runs/{_id(pipeline_id, 'pipeline_id')}"
        await self.http.post(f"{run}/rerun-failed-jobs" if failed_only else f"{run}/rerun")
        return mapping.workflow_run(
            (await self.http.get(run, conditional=False)).json(), provider=self.provider_ref
        )

    async def cancel_pipeline(self, ref: ExternalRef, pipeline_id: str) -> Pipeline:
        """Cancel a run; returns the run as it is now."""
        run = f"{repo_path(ref)}/actions/runs/{_id(pipeline_id, 'pipeline_id')}"
        await self.http.post(f"{run}/cancel")
        return mapping.workflow_run(
            (await self.http.get(run, conditional=False)).json(), provider=self.provider_ref
        )

    async def list_runners(
        self, ref: ExternalRef, *, cursor: str | None = None, page_size: int | None = None
    ) -> Page[Runner]:
        """The repository's self-hosted runners."""
        return await self._list_page(
            f"{repo_path(ref)}/actions/runners",
            {},
            cursor=cursor,
            page_size=page_size,
            items_key="runners",
            convert=lambda native: mapping.runner(native, provider=self.provider_ref),
        )

    async def register_runner(self, ref: ExternalRef) -> RunnerRegistration:
        """A one-hour runner registration token, as a Secret; never stored or logged."""
        response = await self.http.post(f"{repo_path(ref)}/actions/runners/registration-token")
        return mapping.runner_registration(
            response.json(), provider=self.provider_ref, repository=ref.slug()
        )

    # -- checks ---------------------------------------------------------------

    async def list_checks(
        self,
        ref: ExternalRef,
        sha: str,
        *,
        cursor: str | None = None,
        page_size: int | None = None,
    ) -> Page[Check]:
        """Check runs, then commit statuses, of one commit.

        The cursor records which of the two listings is being walked; the page
        that ends the check runs also carries the first page of statuses.
        """
        base = repo_path(ref)
        phase, inner = "check_runs", None
        if cursor is not None:
            state = decode_cursor(cursor)
            phase = str(state.get("phase"))
            inner = state.get("inner")
            if phase not in ("check_runs", "statuses") or not (
                inner is None or isinstance(inner, str)
            ):
                raise InvalidInput(
                    "not a list_checks cursor; pass it back unchanged", field="cursor"
                )
        items: list[Check] = []
        if phase == "check_runs":
            runs = await self._list_page(
                f"{base}/commits/{sha}/check-runs",
                {"filter": "all"},
                cursor=inner,
                page_size=page_size,
                items_key="check_runs",
                convert=lambda native: mapping.check_run(native, provider=self.provider_ref),
            )
            if runs.next_cursor is not None:
                return Page(
                    items=runs.items,
                    next_cursor=encode_cursor({"phase": "check_runs", "inner": runs.next_cursor}),
                )
            items.extend(runs.items)
            inner = None
        statuses = await self._list_page(
            f"{base}/commits/{sha}/statuses",
            {},
            cursor=inner,
            page_size=page_size,
            convert=lambda native: mapping.commit_status(
                native, provider=self.provider_ref, sha=sha
            ),
        )
        items.extend(statuses.items)
        return Page(
            items=items,
            next_cursor=encode_cursor({"phase": "statuses", "inner": statuses.next_cursor})
            if statuses.next_cursor
            else None,
        )

    async def create_check(
        self, ref: ExternalRef, data: CheckInput, *, idempotency_key: str | None = None
    ) -> Check:
        """Create a check run; ``idempotency_key`` becomes its ``external_id``.

        After a lost response the check runs of the commit are searched for
        that ``external_id`` before anything is re-sent.
        """
        payload = {"head_sha": data.sha, **check_run_fields(data)}
        external_id = data.external_id
        if idempotency_key is not None:
            check_idempotency_key(idempotency_key)
            if external_id is not None and external_id != idempotency_key:
                raise InvalidInput(
                    "external_id and idempotency_key differ; on GitHub the key is stored as "
                    "the check run's external_id, so pass one of them (or the same value)",
                    field="external_id",
                )
            external_id = idempotency_key
        if external_id is not None:
            payload["external_id"] = external_id
        path = f"{repo_path(ref)}/check-runs"
        if idempotency_key is None:
            response = await self.http.post(path, json=payload)
            return mapping.check_run(response.json(), provider=self.provider_ref)
        key = idempotency_key

        async def read_back() -> Check | None:
            response = await self.http.get(
                f"{repo_path(ref)}/commits/{data.sha}/check-runs",
                params={"check_name": data.name, "filter": "all", "per_page": 100},
                conditional=False,
            )
            for native in (response.json() or {}).get("check_runs", []):
                if native.get("external_id") == key:
                    return mapping.check_run(native, provider=self.provider_ref)
            return None

        result = await self.http.post(path, json=payload, read_back=read_back)
        if isinstance(result, Check):
            return result
        return mapping.check_run(result.json(), provider=self.provider_ref)

    async def update_check(self, ref: ExternalRef, check_id: str, data: CheckInput) -> Check:
        """Update a check run (status, conclusion, summary, details URL)."""
        payload = check_run_fields(data)
        if data.external_id is not None:
            payload["external_id"] = data.external_id
        response = await self.http.patch(
            f"{repo_path(ref)}/check-runs/{_id(check_id, 'check_id')}", json=payload
        )
        return mapping.check_run(response.json(), provider=self.provider_ref)
