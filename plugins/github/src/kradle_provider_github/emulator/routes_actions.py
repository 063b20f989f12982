"""GitHub Actions (workflows, runs, jobs, logs, artifacts, runners), checks, statuses."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any, NoReturn

from starlette.responses import RedirectResponse, Response

from kradle_provider_github.emulator.routes_issues import sort_records
from kradle_providers.testing.emulator import RequestContext, iso_z

if TYPE_CHECKING:
    from kradle_provider_github.emulator.app import GitHubEmulator

__all__ = ["created_filter", "register"]

_CREATED = re.compile(r"^(>=|<=|>|<)?(\S+?)(?:\.\.(\S+))?$")
_STATUS_VALUES = ("queued", "in_progress", "completed", "waiting", "requested", "pending")
_CONCLUSIONS = (
    "success",
    "failure",
    "neutral",
    "cancelled",
    "skipped",
    "timed_out",
    "action_required",
    "stale",
)


def _as_iso(value: str) -> str:
    if len(value) == 10:
        value += "T00:00:00Z"
    return iso_z(datetime.fromisoformat(value.replace("Z", "+00:00")))


def created_filter(expr: str) -> tuple[str | None, str | None, bool, bool]:
    """GitHub's ``created`` search syntax -> ``(low, high, low_inclusive, high_inclusive)``.

    ``>=2024-01-01``, ``<2024-02-01T00:00:00Z``, ``2024-01-01..2024-01-31`` and
    a bare date (that whole day) are understood; ValueError otherwise.
    """
    found = _CREATED.match(expr.strip())
    if found is None:
        raise ValueError(expr)
    op, first, second = found.groups()
    if second is not None:
        if op:
            raise ValueError(expr)
        high = second + "T23:59:59Z" if len(second) == 10 else second
        return _as_iso(first), _as_iso(high), True, True
    value = _as_iso(first)
    if op == ">=":
        return value, None, True, True
    if op == ">":
        return value, None, False, True
    if op == "<=":
        return None, value, True, True
    if op == "<":
        return None, value, True, False
    if len(first) == 10:
        return value, _as_iso(first + "T23:59:59Z"), True, True
    return value, value, True, True


def _in_range(when: str, bounds: tuple[str | None, str | None, bool, bool]) -> bool:
    low, high, low_in, high_in = bounds
    if low is not None and (when < low or (when == low and not low_in)):
        return False
    return not (high is not None and (when > high or (when == high and not high_in)))


class ActionsRoutes:
    """Handlers of the CI/CD endpoints."""

    def __init__(self, em: GitHubEmulator) -> None:
        self.em = em
        self.state = em.state
        self.mut = em.mutations

    async def list_workflows(self, ctx: RequestContext) -> Response:
        """``GET /repos/{o}/{r}/actions/workflows``."""
        repo = self.em.repo_or_404(ctx)
        found = sorted(self.state.workflows.filter(repo_id=repo["id"]), key=lambda w: w["id"])
        return self.em.page_object(ctx, "workflows", found, self.em.render(ctx).workflow)

    def _workflow(self, ctx: RequestContext, repo: dict[str, Any]) -> dict[str, Any]:
        raw = str(ctx.params["workflow_id"])
        for w in self.state.workflows.filter(repo_id=repo["id"]):
            if str(w["id"]) == raw or w["path"].rsplit("/", 1)[-1] == raw:
                return w
        ctx.not_found()

    async def get_workflow(self, ctx: RequestContext) -> Response:
        """``GET /repos/{o}/{r}/actions/workflows/{id or file}``."""
        repo = self.em.repo_or_404(ctx)
        return ctx.json(self.em.render(ctx).workflow(self._workflow(ctx, repo)))

    async def list_runs(self, ctx: RequestContext) -> Response:
        """``GET …/actions/runs`` and ``…/workflows/{id}/runs`` (filters, newest first)."""
        repo = self.em.repo_or_404(ctx)
        workflow_id = self._workflow(ctx, repo)["id"] if "workflow_id" in ctx.params else None
        q = ctx.query
        bounds = None
        if q.get("created"):
            try:
                bounds = created_filter(q["created"])
            except ValueError:
                raise self.em.invalid("WorkflowRun", "created", value=q["created"]) from None
        status = q.get("status")

        def keep(r: Mapping[str, Any]) -> bool:
            if r["repo_id"] != repo["id"]:
                return False
            if workflow_id is not None and r["workflow_id"] != workflow_id:
                return False
            if status and status not in (r["status"], r.get("conclusion")):
                return False
            if q.get("branch") and r["head_branch"] != q["branch"]:
                return False
            if q.get("event") and r["event"] != q["event"]:
                return False
            if q.get("actor") and r["actor"] != q["actor"]:
                return False
            if q.get("head_sha") and r["head_sha"] != q["head_sha"]:
                return False
            return bounds is None or _in_range(r["created_at"], bounds)

        found = sort_records(self.state.runs.peek(keep), "created_at", True)
        return self.em.page_object(ctx, "workflow_runs", found, self.em.render(ctx).workflow_run)

    def _run(self, ctx: RequestContext) -> dict[str, Any]:
        repo = self.em.repo_or_404(ctx)
        run = self.state.runs.get(ctx.params["run_id"])
        if run is None or run["repo_id"] != repo["id"]:
            ctx.not_found()
        return run

    async def get_run(self, ctx: RequestContext) -> Response:
        """``GET …/actions/runs/{id}``."""
        return ctx.json(self.em.render(ctx).workflow_run(self._run(ctx)))

    async def list_jobs(self, ctx: RequestContext) -> Response:
        """``GET …/actions/runs/{id}/jobs`` (``filter=latest`` default, or ``all``)."""
        run = self._run(ctx)
        which = ctx.query.get("filter") or "latest"
        if which not in ("latest", "all"):
            raise self.em.invalid("WorkflowJob", "filter", value=which)
        found = sorted(self.state.jobs.filter(run_id=run["id"]), key=lambda j: j["id"])
        if which == "latest":
            found = [j for j in found if j.get("run_attempt", 1) == run.get("run_attempt", 1)]
        return self.em.page_object(ctx, "jobs", found, self.em.render(ctx).job)

    async def get_job(self, ctx: RequestContext) -> Response:
        """``GET …/actions/jobs/{id}``."""
        repo = self.em.repo_or_404(ctx)
        job = self.state.jobs.get(ctx.params["job_id"])
        if job is None or job["repo_id"] != repo["id"]:
            ctx.not_found()
        return ctx.json(self.em.render(ctx).job(job))

    async def job_logs(self, ctx: RequestContext) -> Response:
        """``GET …/actions/jobs/{id}/logs``: 302 to a short-lived plain-text download."""
        repo = self.em.repo_or_404(ctx)
        job = self.state.jobs.get(ctx.params["job_id"])
        if job is None or job["repo_id"] != repo["id"]:
            ctx.not_found()
        root = str(ctx.request.base_url).rstrip("/") + self.em.base_path
        location = f"{root}/_emulator/logs/{job['id']}?sig={self.em.log_signature(job['id'])}"
        return RedirectResponse(location, status_code=302)

    async def list_artifacts(self, ctx: RequestContext) -> Response:
        """``GET …/actions/runs/{id}/artifacts``."""
        run = self._run(ctx)
        found = sorted(self.state.artifacts.filter(run_id=run["id"]), key=lambda a: a["id"])
        name = ctx.query.get("name")
        if name:
            found = [a for a in found if a["name"] == name]
        return self.em.page_object(ctx, "artifacts", found, self.em.render(ctx).artifact)

    async def rerun(self, ctx: RequestContext) -> Response:
        """``POST …/runs/{id}/rerun`` (201 ``{}``; 403 while the run is still going)."""
        run = self._run(ctx)
        sender = self.em.sender(ctx)
        if run["status"] != "completed":
            ctx.fail(403, "This workflow is already running")
        self.mut.rerun(run, sender)
        return ctx.json({}, status=201)

    async def rerun_failed(self, ctx: RequestContext) -> Response:
        """``POST …/runs/{id}/rerun-failed-jobs``."""
        run = self._run(ctx)
        sender = self.em.sender(ctx)
        if run["status"] != "completed":
            ctx.fail(403, "This workflow is already running")
        self.mut.rerun(run, sender, failed_only=True)
        return ctx.json({}, status=201)

    async def cancel(self, ctx: RequestContext) -> Response:
        """``POST …/runs/{id}/cancel`` (202 ``{}``; 409 when already completed)."""
        run = self._run(ctx)
        sender = self.em.sender(ctx)
        if run["status"] == "completed":
            ctx.fail(409, "Cannot cancel a workflow run that is completed.")
        self.mut.set_run_status(run, "completed", "cancelled", sender)
        return ctx.json({}, status=202)

    async def list_runners(self, ctx: RequestContext) -> Response:
        """``GET …/actions/runners`` (self-hosted runners)."""
        repo = self.em.repo_or_404(ctx)
        found = sorted(self.state.runners.filter(repo_id=repo["id"]), key=lambda r: r["id"])
        return self.em.page_object(ctx, "runners", found, self.em.render(ctx).runner)

    async def registration_token(self, ctx: RequestContext) -> Response:
        """``POST …/actions/runners/registration-token`` (201, one hour)."""
        self.em.repo_or_404(ctx)
        self.em.sender(ctx)
        seq = self.em.store.sequence("registration-token")
        token = f"AABF3JGZDX3P5PMEXLND6TS{seq:06d}ZRWXUQ"
        return ctx.json({"token": token, "expires_at": iso_z(self.em.token_expiry())}, status=201)

    # -- checks -------------------------------------------------------------

    async def list_check_runs(self, ctx: RequestContext) -> Response:
        """``GET …/commits/{ref}/check-runs`` (``check_name``, ``status``, ``filter``)."""
        repo = self.em.repo_or_404(ctx)
        commit = self.state.commit(repo["id"], ctx.params["ref"])
        if commit is None:
            _no_commit(ctx)
        q = ctx.query
        found = [
            c
            for c in self.state.check_runs.filter(repo_id=repo["id"], head_sha=commit["sha"])
            if (not q.get("check_name") or c["name"] == q["check_name"])
            and (not q.get("status") or c["status"] == q["status"])
        ]
        found.sort(key=lambda c: c["id"], reverse=True)
        if (q.get("filter") or "latest") == "latest":
            seen: set[str] = set()
            latest = []
            for c in found:
                if c["name"] not in seen:
                    seen.add(c["name"])
                    latest.append(c)
            found = latest
        render = self.em.render(ctx)
        return self.em.page_object(
            ctx, "check_runs", found, lambda c: render.check_run(c, self.em.app_record)
        )

    async def create_check_run(self, ctx: RequestContext) -> Response:
        """``POST …/check-runs`` (``name``, ``head_sha``; ``external_id`` kept)."""
        repo = self.em.repo_or_404(ctx)
        sender = self.em.sender(ctx)
        body = self.em.body(ctx)
        for field in ("name", "head_sha"):
            if not body.get(field):
                raise self.em.invalid("CheckRun", field, "missing_field")
        # GitHub wants the commit's full sha here; a branch name or short sha is a 422.
        sha = str(body["head_sha"])
        commit = self.state.store["commits"].find_one(repo_id=repo["id"], sha=sha)
        if commit is None or not re.fullmatch(r"[0-9a-f]{40}", sha):
            raise self.em.invalid("CheckRun", "head_sha")
        self._check_values(body)
        check = self.mut.create_check_run(repo["id"], body, sender)
        return ctx.json(self.em.render(ctx).check_run(check, self.em.app_record), status=201)

    def _check_values(self, body: dict[str, Any]) -> None:
        if body.get("status") is not None and body["status"] not in _STATUS_VALUES:
            raise self.em.invalid("CheckRun", "status", value=body["status"])
        if body.get("conclusion") is not None and body["conclusion"] not in _CONCLUSIONS:
            raise self.em.invalid("CheckRun", "conclusion", value=body["conclusion"])
        if body.get("status") == "completed" and body.get("conclusion") is None:
            raise self.em.invalid("CheckRun", "conclusion", "missing_field")

    def _check(self, ctx: RequestContext) -> dict[str, Any]:
        repo = self.em.repo_or_404(ctx)
        check = self.state.check_runs.get(ctx.params["check_run_id"])
        if check is None or check["repo_id"] != repo["id"]:
            ctx.not_found()
        return check

    async def get_check_run(self, ctx: RequestContext) -> Response:
        """``GET …/check-runs/{id}``."""
        return ctx.json(self.em.render(ctx).check_run(self._check(ctx), self.em.app_record))

    async def update_check_run(self, ctx: RequestContext) -> Response:
        """``PATCH …/check-runs/{id}``."""
        check = self._check(ctx)
        sender = self.em.sender(ctx)
        body = self.em.body(ctx)
        self._check_values(body)
        updated = self.mut.update_check_run(check, body, sender)
        return ctx.json(self.em.render(ctx).check_run(updated, self.em.app_record))

    async def list_statuses(self, ctx: RequestContext) -> Response:
        """``GET …/commits/{ref}/statuses`` (newest first)."""
        repo = self.em.repo_or_404(ctx)
        commit = self.state.commit(repo["id"], ctx.params["ref"])
        if commit is None:
            _no_commit(ctx)
        found = sorted(
            self.state.statuses.filter(repo_id=repo["id"], sha=commit["sha"]),
            key=lambda s: s["id"],
            reverse=True,
        )
        return self.em.page(ctx, found, self.em.render(ctx).status)

    async def create_status(self, ctx: RequestContext) -> Response:
        """``POST …/statuses/{sha}``."""
        repo = self.em.repo_or_404(ctx)
        sender = self.em.sender(ctx)
        body = self.em.body(ctx)
        if body.get("state") not in ("error", "failure", "pending", "success"):
            raise self.em.invalid("Status", "state", value=body.get("state"))
        commit = self.state.commit(repo["id"], ctx.params["sha"])
        if commit is None:
            ctx.fail(422, f"No commit found for SHA: {ctx.params['sha']}")
        status = self.mut.create_status(repo["id"], commit["sha"], body, sender)
        return ctx.json(self.em.render(ctx).status(status), status=201)


def _no_commit(ctx: RequestContext) -> NoReturn:
    ctx.fail(422, f"No commit found for SHA: {ctx.params['ref']}")


def register(em: GitHubEmulator) -> None:
    """Register the routes on ``em``."""
    h = ActionsRoutes(em)
    r = "/repos/{owner}/{repo}"
    a = f"{r}/actions"
    em.route("GET", f"{a}/workflows", h.list_workflows, name="listWorkflows")
    em.route("GET", f"{a}/workflows/{{workflow_id}}", h.get_workflow, name="getWorkflow")
    em.route("GET", f"{a}/workflows/{{workflow_id}}/runs", h.list_runs, name="listWorkflowRuns")
    em.route("GET", f"{a}/runs", h.list_runs, name="listWorkflowRunsForRepo")
    em.route("GET", f"{a}/runs/{{run_id:int}}", h.get_run, name="getWorkflowRun")
    em.route("GET", f"{a}/runs/{{run_id:int}}/jobs", h.list_jobs, name="listJobsForWorkflowRun")
    em.route(
        "GET",
        f"{a}/runs/{{run_id:int}}/artifacts",
        h.list_artifacts,
        name="listWorkflowRunArtifacts",
    )
    em.route("POST", f"{a}/runs/{{run_id:int}}/rerun", h.rerun, name="reRunWorkflow")
    em.route(
        "POST",
        f"{a}/runs/{{run_id:int}}/rerun-failed-jobs",
        h.rerun_failed,
        name="reRunWorkflowFailedJobs",
    )
    em.route("POST", f"{a}/runs/{{run_id:int}}/cancel", h.cancel, name="cancelWorkflowRun")
    em.route("GET", f"{a}/jobs/{{job_id:int}}", h.get_job, name="getJobForWorkflowRun")
    em.route(
        "GET", f"{a}/jobs/{{job_id:int}}/logs", h.job_logs, name="downloadJobLogsForWorkflowRun"
    )
    em.route("GET", f"{a}/runners", h.list_runners, name="listSelfHostedRunnersForRepo")
    em.route(
        "POST",
        f"{a}/runners/registration-token",
        h.registration_token,
        name="createRegistrationTokenForRepo",
    )
    em.route("GET", f"{r}/commits/{{ref:path}}/check-runs", h.list_check_runs, name="listForRef")
    em.route(
        "GET",
        f"{r}/commits/{{ref:path}}/statuses",
        h.list_statuses,
        name="listCommitStatusesForRef",
    )
    em.route("POST", f"{r}/check-runs", h.create_check_run, name="createCheckRun")
    em.route("GET", f"{r}/check-runs/{{check_run_id:int}}", h.get_check_run, name="getCheckRun")
    em.route(
        "PATCH", f"{r}/check-runs/{{check_run_id:int}}", h.update_check_run, name="updateCheckRun"
    )
    em.route("POST", f"{r}/statuses/{{sha}}", h.create_status, name="createCommitStatus")

    async def legacy_statuses(ctx: RequestContext) -> Response:
        # The older alias PyGithub uses: GET /repos/{o}/{r}/statuses/{sha}.
        ctx.params["ref"] = ctx.params.pop("sha")
        return await h.list_statuses(ctx)

    em.route("GET", f"{r}/statuses/{{sha}}", legacy_statuses, name="listCommitStatusesForRef")
