"""Pipelines, jobs, bridges, traces, artifacts, commit statuses and runners."""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from starlette.responses import Response

from kradle_provider_gitlab.emulator.routes_issues import params_of
from kradle_provider_gitlab.emulator.state import public, summary
from kradle_providers.testing.emulator import RequestContext, iso_z

if TYPE_CHECKING:
    from kradle_provider_gitlab.emulator.app import GitLabEmulator

__all__ = ["LIST_PIPELINE_KEYS", "STATUS_STATES", "register"]

P = "/projects/{project}"

LIST_PIPELINE_KEYS = (
    "id",
    "iid",
    "project_id",
    "sha",
    "ref",
    "status",
    "source",
    "created_at",
    "updated_at",
    "web_url",
    "name",
)
"""What ``GET /projects/:id/pipelines`` shows of each pipeline (the rest is on the single GET)."""

STATUS_STATES = ("pending", "running", "success", "failed", "canceled", "skipped")
"""The states ``POST /projects/:id/statuses/:sha`` accepts."""

_RUNNER_LIST_KEYS = (
    "id",
    "description",
    "ip_address",
    "active",
    "paused",
    "is_shared",
    "runner_type",
    "name",
    "online",
    "status",
)
_FINISHED = frozenset({"success", "failed", "canceled", "skipped"})
# GitLab's commit-status state machine: which states a status may move to.
_TRANSITIONS = {
    None: set(STATUS_STATES),
    "pending": {"running", "success", "failed", "canceled", "skipped"},
    "running": {"success", "failed", "canceled", "pending"},
    "success": {"pending", "running", "failed", "canceled"},
    "failed": {"pending", "running", "success", "canceled"},
    "canceled": {"pending", "running", "success", "failed"},
    "skipped": {"pending", "running", "success", "failed", "canceled"},
}


def register(app: GitLabEmulator) -> None:
    """Install the CI/CD routes on ``app``."""
    state = app.state

    def pipeline_or_404(ctx: RequestContext, project: Mapping[str, Any]) -> dict[str, Any]:
        found = state.pipelines.get(ctx.params["pipeline_id"])
        if found is None or found["project_id"] != project["id"]:
            ctx.fail(404, "404 Not found")
        return found

    def job_or_404(ctx: RequestContext, project: Mapping[str, Any]) -> dict[str, Any]:
        found = state.jobs.get(ctx.params["job_id"])
        if found is None or found["_project_id"] != project["id"] or found["_kind"] != "job":
            ctx.fail(404, "404 Job Not Found")
        return found

    @app.get(P + "/pipelines", name="listProjectPipelines")
    async def list_pipelines(ctx: RequestContext) -> Any:
        project = app.project_or_404(ctx)
        q = ctx.query
        items = [dict(p) for p in state.pipelines.peek(project_id=project["id"])]
        for key in ("status", "ref", "sha", "source"):
            if q.get(key):
                items = [p for p in items if p[key] == q[key]]
        if q.get("updated_after"):
            items = [p for p in items if p["updated_at"] >= q["updated_after"]]
        if q.get("updated_before"):
            items = [p for p in items if p["updated_at"] <= q["updated_before"]]
        ordered = app.order(ctx, items, default="id", allowed=("id", "status", "ref", "updated_at"))
        return app.page(ctx, ordered, render=lambda p: summary(p, LIST_PIPELINE_KEYS))

    @app.get(P + "/pipelines/{pipeline_id:int}", name="getPipeline")
    async def get_pipeline(ctx: RequestContext) -> Any:
        return public(pipeline_or_404(ctx, app.project_or_404(ctx)))

    def jobs_page(ctx: RequestContext, items: list[dict[str, Any]], *, keyset: bool) -> Any:
        scopes = ctx.query.getlist("scope[]") or ctx.query.getlist("scope")
        if scopes:
            items = [j for j in items if j["status"] in scopes]
        ordered = sorted(items, key=lambda j: -int(j["id"]))
        return app.page(ctx, ordered, keyset="cursor" if keyset else None, render=public)

    @app.get(P + "/pipelines/{pipeline_id:int}/jobs", name="listPipelineJobs")
    async def list_pipeline_jobs(ctx: RequestContext) -> Any:
        pipeline = pipeline_or_404(ctx, app.project_or_404(ctx))
        return jobs_page(ctx, [dict(j) for j in state.jobs_of(pipeline["id"])], keyset=False)

    @app.get(P + "/pipelines/{pipeline_id:int}/bridges", name="listPipelineBridges")
    async def list_pipeline_bridges(ctx: RequestContext) -> Any:
        pipeline = pipeline_or_404(ctx, app.project_or_404(ctx))
        items = [dict(j) for j in state.jobs_of(pipeline["id"], "bridge")]
        return jobs_page(ctx, items, keyset=False)

    @app.get(P + "/jobs", name="listProjectJobs")
    async def list_project_jobs(ctx: RequestContext) -> Any:
        project = app.project_or_404(ctx)
        items = [dict(j) for j in state.jobs.peek(_project_id=project["id"]) if j["_kind"] == "job"]
        return jobs_page(ctx, items, keyset=True)

    @app.get(P + "/jobs/{job_id:int}", name="getJob")
    async def get_job(ctx: RequestContext) -> Any:
        return public(job_or_404(ctx, app.project_or_404(ctx)))

    @app.get(P + "/jobs/{job_id:int}/trace", name="getJobTrace")
    async def get_trace(ctx: RequestContext) -> Any:
        job = job_or_404(ctx, app.project_or_404(ctx))
        return Response(
            content=job.get("_trace", "").encode(), media_type="text/plain; charset=utf-8"
        )

    @app.get(P + "/jobs/{job_id:int}/artifacts", name="getJobArtifacts")
    async def get_artifacts(ctx: RequestContext) -> Any:
        job = job_or_404(ctx, app.project_or_404(ctx))
        if not job.get("artifacts_file"):
            ctx.fail(404, "404 Not Found")
        name = job["artifacts_file"]["filename"]
        return Response(
            content=b"PK\x05\x06" + b"\x00" * 18,
            media_type="application/octet-stream",
            headers={"content-disposition": f'attachment; filename="{name}"'},
        )

    @app.post(P + "/pipelines/{pipeline_id:int}/retry", name="retryPipeline")
    async def retry_pipeline(ctx: RequestContext) -> Any:
        pipeline = pipeline_or_404(ctx, app.project_or_404(ctx))
        for job in state.jobs_of(pipeline["id"]):
            if job["status"] in ("failed", "canceled"):
                state.jobs.update(job["id"], status="pending", finished_at=None)
        if pipeline["status"] in ("failed", "canceled"):
            pipeline = state.set_pipeline_status(pipeline, "running")
        return ctx.json(public(pipeline), status=201)

    @app.post(P + "/pipelines/{pipeline_id:int}/cancel", name="cancelPipeline")
    async def cancel_pipeline(ctx: RequestContext) -> Any:
        pipeline = pipeline_or_404(ctx, app.project_or_404(ctx))
        for job in state.jobs_of(pipeline["id"]):
            if job["status"] not in _FINISHED:
                state.jobs.update(job["id"], status="canceled", finished_at=state.now())
        if pipeline["status"] not in _FINISHED:
            pipeline = state.set_pipeline_status(pipeline, "canceled")
        return ctx.json(public(pipeline), status=201)

    # -- commit statuses ----------------------------------------------------------------

    @app.get(P + "/repository/commits/{sha}/statuses", name="listCommitStatuses")
    async def list_statuses(ctx: RequestContext) -> Any:
        project = app.project_or_404(ctx)
        commit = state.commit_of(project, app.segment(ctx, "sha"))
        if commit is None:
            ctx.fail(404, "404 Commit Not Found")
        items = [
            dict(s)
            for s in state.statuses.peek(sha=commit["id"])
            if s["_project_id"] == project["id"]
        ]
        if ctx.query.get("name"):
            items = [s for s in items if s["name"] == ctx.query["name"]]
        return app.page(ctx, sorted(items, key=lambda s: s["id"]), render=public)

    @app.post(P + "/statuses/{sha}", name="createCommitStatus")
    async def create_status(ctx: RequestContext) -> Any:
        project = app.project_or_404(ctx)
        sha = app.segment(ctx, "sha")
        commit = state.commits.get(sha)
        if commit is None or commit["_project_id"] != project["id"]:
            ctx.fail(404, "404 Commit Not Found")
        body = params_of(ctx)
        new_state = body.get("state")
        if new_state not in STATUS_STATES:
            ctx.fail(400, "400 Bad request", error="state does not have a valid value")
        name = body.get("name") or body.get("context") or "default"
        current = next(
            (
                s
                for s in state.statuses
                if s["_project_id"] == project["id"] and s["sha"] == sha and s["name"] == name
            ),
            None,
        )
        if new_state not in _TRANSITIONS[current["status"] if current else None]:
            ctx.fail(
                400,
                f"Cannot transition status via :{new_state} from :{current and current['status']}",
            )
        status = state.set_status(
            project,
            sha,
            name=name,
            state=new_state,
            ref=body.get("ref"),
            target_url=body.get("target_url"),
            description=body.get("description"),
            author_id=state.viewer_id,
        )
        return ctx.json(public(status), status=201)

    # -- runners --------------------------------------------------------------------------

    @app.get(P + "/runners", name="listProjectRunners")
    async def list_runners(ctx: RequestContext) -> Any:
        project = app.project_or_404(ctx)
        items = [
            dict(r)
            for r in state.runners.peek()
            if project["id"] in r["_project_ids"] or r["is_shared"]
        ]
        if ctx.query.get("type"):
            items = [r for r in items if r["runner_type"] == ctx.query["type"]]
        keys = _RUNNER_LIST_KEYS
        return app.page(
            ctx,
            sorted(items, key=lambda r: r["id"]),
            render=lambda r: summary(r, keys),
        )

    @app.get("/runners/{runner_id:int}", name="getRunner")
    async def get_runner(ctx: RequestContext) -> Any:
        runner = state.runners.get(ctx.params["runner_id"])
        if runner is None:
            ctx.fail(404, "404 Runner Not Found")
        return public(runner)

    @app.post("/user/runners", name="createUserRunner")
    async def create_runner(ctx: RequestContext) -> Any:
        body = params_of(ctx)
        runner_type = body.get("runner_type")
        if runner_type not in ("instance_type", "group_type", "project_type"):
            ctx.fail(400, "400 Bad request", error="runner_type does not have a valid value")
        project_ids: list[int] = []
        if runner_type == "project_type":
            project = state.find_project(str(body.get("project_id", "")))
            if project is None:
                ctx.fail(400, "400 Bad request", error="project_id is missing")
            project_ids = [project["id"]]
        tags = body.get("tag_list") or []
        if isinstance(tags, str):
            tags = [t.strip() for t in tags.split(",") if t.strip()]
        runner = state.add_runner(
            str(body.get("description") or ""),
            project_ids=project_ids,
            tags=list(tags),
            status="never_contacted",
        )
        token = "glrt-" + secrets.token_urlsafe(20)
        expires = iso_z(app.clock() + timedelta(days=30))
        return ctx.json(
            {"id": runner["id"], "token": token, "token_expires_at": expires}, status=201
        )
