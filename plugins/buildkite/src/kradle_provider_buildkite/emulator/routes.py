"""The REST API v2 endpoints the emulator answers (Buildkite's REST API documentation).

Organizations, pipelines, builds (filters ``state``/``state[]``,
``branch``/``branch[]``, ``commit``, ``creator``, ``created_from``,
``created_to``, ``finished_from``, ``include_retried_jobs``), jobs (retry,
unblock, logs as JSON, raw text with ``Range`` or HTML, environment),
artifacts (download answers a 302 to a pre-signed URL), agents, clusters and
cluster agent tokens (the value is shown once and only its digest is kept), the
current user and token. ``POST /_emulator/webhooks`` adds a webhook
notification service (Buildkite has no public API for that).
"""

from __future__ import annotations

import hashlib
import html
import re
import secrets
from datetime import datetime
from typing import TYPE_CHECKING, Any

from starlette.responses import Response

from kradle_provider_buildkite.emulator.app import API_PREFIX
from kradle_provider_buildkite.emulator.state import FINISHED_BUILD_STATES, stamp
from kradle_providers.testing.emulator import RequestContext

if TYPE_CHECKING:
    from kradle_provider_buildkite.emulator.app import BuildkiteEmulator

__all__ = ["ansi_to_html", "register"]

ORG = API_PREFIX + "/organizations/{org}"
PIPELINE = ORG + "/pipelines/{pipeline}"
BUILD = PIPELINE + "/builds/{number:int}"
JOB = BUILD + "/jobs/{job}"
_ANSI = re.compile(r"\x1b\[([0-9;]*)m")
_RETRYABLE = frozenset({"failed", "timed_out", "canceled", "passed", "expired"})


def ansi_to_html(text: str) -> str:
    """Terminal output as Buildkite's HTML log: ``<span class="term-fgNN">`` per colour."""
    out: list[str] = []
    open_spans = 0
    pos = 0
    for match in _ANSI.finditer(text):
        out.append(html.escape(text[pos : match.start()]))
        pos = match.end()
        codes = [c for c in match.group(1).split(";") if c]
        if not codes or codes == ["0"]:
            out.append("</span>" * open_spans)
            open_spans = 0
            continue
        classes = " ".join(
            "term-fg1" if c == "1" else f"term-fg{c}" if c.isdigit() else "" for c in codes
        )
        out.append(f'<span class="{classes.strip()}">')
        open_spans += 1
    out.append(html.escape(text[pos:]))
    out.append("</span>" * open_spans)
    return "".join(out).replace("\r\n", "\n")


def _when(ctx: RequestContext, name: str) -> datetime | None:
    value = ctx.query.get(name)
    if not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        ctx.fail(422, f"{name} must be an ISO 8601 date or time, got {value!r}")


def _parse(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value.replace("Z", "+00:00")) if value else None


def _listed(ctx: RequestContext, name: str) -> set[str]:
    return {v for v in (*ctx.query.getlist(name), *ctx.query.getlist(name + "[]")) if v}


def register(em: BuildkiteEmulator) -> None:
    """Install every endpoint on ``em``."""
    state = em.state

    def org_or_404(ctx: RequestContext) -> None:
        if ctx.params["org"] != state.org_slug:
            ctx.fail(404, "No organization found")

    def pipeline_or_404(ctx: RequestContext) -> dict[str, Any]:
        org_or_404(ctx)
        found = state.pipeline_by_slug(ctx.params["pipeline"])
        if found is None:
            ctx.fail(404, "No pipeline found")
        return found

    def build_or_404(ctx: RequestContext) -> dict[str, Any]:
        pipeline = pipeline_or_404(ctx)
        found = state.build_by_number(pipeline["id"], ctx.params["number"])
        if found is None:
            ctx.fail(404, "No build found")
        return found

    def job_or_404(ctx: RequestContext) -> tuple[dict[str, Any], dict[str, Any]]:
        build = build_or_404(ctx)
        job = state.jobs.get(ctx.params["job"])
        if job is None or job["build_id"] != build["id"]:
            ctx.fail(404, "No job found")
        return job, build

    # -- meta ---------------------------------------------------------------

    async def get_user(ctx: RequestContext) -> Any:
        user = em.render(ctx).user(em.viewer_id)
        return user

    async def get_token(ctx: RequestContext) -> Any:
        return {
            "uuid": hashlib.sha256(em.token.encode()).hexdigest()[:32],
            "scopes": [
                "read_pipelines",
                "read_builds",
                "write_builds",
                "read_job_logs",
                "read_artifacts",
                "read_agents",
                "write_clusters",
            ],
        }

    async def list_organizations(ctx: RequestContext) -> Response:
        return em.page(ctx, [state.organization], lambda _: em.render(ctx).organization())

    async def get_organization(ctx: RequestContext) -> Any:
        org_or_404(ctx)
        return em.render(ctx).organization()

    # -- pipelines ------------------------------------------------------------

    async def list_pipelines(ctx: RequestContext) -> Response:
        org_or_404(ctx)
        records = sorted(state.pipelines.peek(), key=lambda p: p["created_at"] + p["slug"])
        return em.page(ctx, records, em.render(ctx).pipeline)

    async def get_pipeline(ctx: RequestContext) -> Any:
        return em.render(ctx).pipeline(pipeline_or_404(ctx))

    # -- builds ---------------------------------------------------------------

    def list_builds(ctx: RequestContext, pipeline_id: str | None) -> Response:
        states = _listed(ctx, "state")
        branches = _listed(ctx, "branch")
        commit = ctx.query.get("commit")
        creator = ctx.query.get("creator")
        created_from = _when(ctx, "created_from")
        created_to = _when(ctx, "created_to")
        finished_from = _when(ctx, "finished_from")

        def wanted(b: Any) -> bool:
            if pipeline_id is not None and b["pipeline_id"] != pipeline_id:
                return False
            if states and b["state"] not in states:
                return False
            if branches and b["branch"] not in branches:
                return False
            if commit and b["commit"] != commit:
                return False
            if creator and b["creator_id"] != creator:
                return False
            created = _parse(b["created_at"])
            assert created is not None
            if created_from and created < created_from:
                return False
            if created_to and created >= created_to:
                return False
            finished = _parse(b["finished_at"])
            return not (finished_from and (finished is None or finished < finished_from))

        records = sorted(
            state.builds.peek(wanted),
            key=lambda b: (b["created_at"], b["number"]),
            reverse=True,
        )
        retried = ctx.query.get("include_retried_jobs") in ("true", "True", "1")
        render = em.render(ctx)
        return em.page(ctx, records, lambda b: render.build(b, include_retried=retried))

    async def list_all_builds(ctx: RequestContext) -> Response:
        return list_builds(ctx, None)

    async def list_org_builds(ctx: RequestContext) -> Response:
        org_or_404(ctx)
        return list_builds(ctx, None)

    async def list_pipeline_builds(ctx: RequestContext) -> Response:
        return list_builds(ctx, pipeline_or_404(ctx)["id"])

    async def get_build(ctx: RequestContext) -> Any:
        retried = ctx.query.get("include_retried_jobs") in ("true", "True", "1")
        return em.render(ctx).build(build_or_404(ctx), include_retried=retried)

    async def create_build(ctx: RequestContext) -> Response:
        pipeline = pipeline_or_404(ctx)
        data = em.body(ctx)
        missing = [k for k in ("commit", "branch") if not data.get(k)]
        if missing:
            ctx.fail(422, f"Validation Failed: {', '.join(missing)} can't be blank")
        pull: dict[str, Any] | None = None
        if data.get("pull_request_id"):
            pull = {
                "id": str(data["pull_request_id"]),
                "base": data.get("pull_request_base_branch"),
                "repository": data.get("pull_request_repository"),
                "labels": data.get("pull_request_labels") or [],
                "draft": False,
            }
        given = data.get("author")
        author: dict[str, Any] = given if isinstance(given, dict) else {}
        build = state.create_build(
            pipeline,
            commit=str(data["commit"]),
            branch=str(data["branch"]),
            message=str(data.get("message") or ""),
            author={"name": author.get("name"), "email": author.get("email")},
            creator_id=em.viewer_id,
            source="api",
            pull_request=pull,
        )
        return ctx.json(em.render(ctx).build(build), status=201)

    async def cancel_build(ctx: RequestContext) -> Any:
        build = build_or_404(ctx)
        canceled = state.cancel_build(build["id"])
        if canceled is None:
            ctx.fail(422, f"Build can't be canceled because it's {build['state']}")
        return em.render(ctx).build(canceled)

    async def rebuild_build(ctx: RequestContext) -> Any:
        build = build_or_404(ctx)
        if build["state"] not in FINISHED_BUILD_STATES:
            ctx.fail(422, "Build can't be rebuilt until it has finished")
        return em.render(ctx).build(state.rebuild(build["id"], by=em.viewer_id))

    # -- jobs -----------------------------------------------------------------

    async def retry_job(ctx: RequestContext) -> Any:
        job, _ = job_or_404(ctx)
        if job["type"] != "script":
            ctx.fail(422, f"Only command jobs can be retried, not {job['type']} jobs")
        if job["retried"]:
            ctx.fail(422, "This job has already been retried")
        if job["state"] not in _RETRYABLE:
            ctx.fail(422, f"Only finished jobs can be retried; this one is {job['state']}")
        return em.render(ctx).job(state.retry_job(job["id"], by=em.viewer_id))

    async def unblock_job(ctx: RequestContext) -> Any:
        job, _ = job_or_404(ctx)
        if job["type"] != "manual" or job["state"] != "blocked":
            ctx.fail(422, "This job can't be unblocked")
        data = em.body(ctx)
        fields = data.get("fields")
        return em.render(ctx).job(
            state.unblock_job(
                job["id"],
                by=data.get("unblocker") or em.viewer_id,
                fields=fields if isinstance(fields, dict) else None,
            )
        )

    def _log_text(ctx: RequestContext) -> tuple[dict[str, Any], str]:
        job, _ = job_or_404(ctx)
        if job["type"] != "script":
            ctx.fail(404, "No log found: only command jobs have logs")
        return job, str(job["log"])

    async def get_log(ctx: RequestContext) -> Response:
        job, text = _log_text(ctx)
        accept = ctx.headers.get("accept", "application/json")
        if "text/plain" in accept:
            return _raw(ctx, text)
        if "text/html" in accept:
            return Response(ansi_to_html(text), media_type="text/html; charset=utf-8")
        url = em.render(ctx).job(job)["log_url"]
        header_times = (
            [
                int(_parse(job["started_at"]).timestamp() * 1000)  # type: ignore[union-attr]
                for line in text.splitlines()
                if line.lstrip("\x1b[0123456789;m").startswith("~~~")
            ]
            if job["started_at"]
            else []
        )
        return ctx.json(
            {"url": url, "content": text, "size": len(text.encode()), "header_times": header_times}
        )

    async def get_raw_log(ctx: RequestContext) -> Response:
        _, text = _log_text(ctx)
        return _raw(ctx, text)

    def _raw(ctx: RequestContext, text: str) -> Response:
        data = text.encode()
        wanted = ctx.headers.get("range", "")
        matched = re.fullmatch(r"bytes=(\d*)-(\d*)", wanted.strip()) if wanted else None
        if matched and (matched.group(1) or matched.group(2)):
            first, last = matched.groups()
            start = int(first) if first else max(0, len(data) - int(last))
            end = min(len(data) - 1, int(last)) if first and last else len(data) - 1
            if start >= len(data):
                return Response(status_code=416, headers={"content-range": f"bytes */{len(data)}"})
            return Response(
                data[start : end + 1],
                status_code=206,
                media_type="text/plain; charset=utf-8",
                headers={
                    "content-range": f"bytes {start}-{end}/{len(data)}",
                    "accept-ranges": "bytes",
                },
            )
        return Response(
            data, media_type="text/plain; charset=utf-8", headers={"accept-ranges": "bytes"}
        )

    async def delete_log(ctx: RequestContext) -> Response:
        job, _ = _log_text(ctx)
        state.jobs.update(job["id"], log="")
        return ctx.no_content()

    async def get_env(ctx: RequestContext) -> Any:
        job, build = job_or_404(ctx)
        pipeline = state.pipeline_of(build)
        return {
            "env": {
                "CI": "true",
                "BUILDKITE": "true",
                "BUILDKITE_BUILD_NUMBER": str(build["number"]),
                "BUILDKITE_BRANCH": build["branch"],
                "BUILDKITE_COMMIT": build["commit"],
                "BUILDKITE_JOB_ID": job["id"],
                "BUILDKITE_PIPELINE_SLUG": pipeline["slug"],
                "BUILDKITE_PULL_REQUEST": str((build["pull_request"] or {}).get("id") or "false"),
            }
        }

    # -- artifacts ------------------------------------------------------------

    async def list_build_artifacts(ctx: RequestContext) -> Response:
        build = build_or_404(ctx)
        records = state.artifacts_of(build["id"])
        return em.page(ctx, records, em.render(ctx).artifact)

    async def list_job_artifacts(ctx: RequestContext) -> Response:
        job, _ = job_or_404(ctx)
        return em.page(ctx, state.artifacts.peek(job_id=job["id"]), em.render(ctx).artifact)

    def artifact_or_404(ctx: RequestContext) -> dict[str, Any]:
        job, _ = job_or_404(ctx)
        found = state.artifacts.get(ctx.params["artifact"])
        if found is None or found["job_id"] != job["id"]:
            ctx.fail(404, "No artifact found")
        return found

    async def get_artifact(ctx: RequestContext) -> Any:
        return em.render(ctx).artifact(artifact_or_404(ctx))

    async def download_artifact(ctx: RequestContext) -> Response:
        found = artifact_or_404(ctx)
        root = str(ctx.request.base_url).rstrip("/")
        signature = em.artifact_signature(found["id"])
        location = f"{root}/_emulator/artifacts/{found['id']}?signature={signature}"
        return ctx.json({"url": location}, status=302, headers={"location": location})

    async def artifact_blob(ctx: RequestContext) -> Response:
        found = state.artifacts.get(ctx.params["artifact"])
        signature = ctx.query.get("signature", "")
        if found is None or not secrets.compare_digest(
            signature, em.artifact_signature(ctx.params["artifact"])
        ):
            return Response("<Error><Code>AccessDenied</Code></Error>", status_code=403)
        return Response(found["content"].encode(), media_type=found["mime_type"])

    # -- agents ---------------------------------------------------------------

    async def list_agents(ctx: RequestContext) -> Response:
        org_or_404(ctx)
        name, hostname, version = (ctx.query.get(k) for k in ("name", "hostname", "version"))
        records = [
            a
            for a in state.agents.peek()
            if (not name or a["name"] == name)
            and (not hostname or a["hostname"] == hostname)
            and (not version or a["version"] == version)
        ]
        return em.page(ctx, records, em.render(ctx).agent)

    def agent_or_404(ctx: RequestContext) -> dict[str, Any]:
        org_or_404(ctx)
        found = state.agents.get(ctx.params["agent"])
        if found is None:
            ctx.fail(404, "No agent found")
        return found

    async def get_agent(ctx: RequestContext) -> Any:
        return em.render(ctx).agent(agent_or_404(ctx))

    async def stop_agent(ctx: RequestContext) -> Response:
        agent = agent_or_404(ctx)
        if agent["connection_state"] != "connected":
            ctx.fail(422, "Agent is not connected")
        updated = state.agents.update(
            agent["id"], connection_state="stopped", stopped_at=state.now(), job_id=None
        )
        state.emit("agent.stopped", agent=updated)
        return ctx.no_content()

    # -- clusters -------------------------------------------------------------

    async def list_clusters(ctx: RequestContext) -> Response:
        org_or_404(ctx)
        return em.page(ctx, state.clusters.peek(), em.render(ctx).cluster)

    def cluster_or_404(ctx: RequestContext) -> dict[str, Any]:
        org_or_404(ctx)
        found = state.clusters.get(ctx.params["cluster"])
        if found is None:
            ctx.fail(404, "No cluster found")
        return found

    async def get_cluster(ctx: RequestContext) -> Any:
        return em.render(ctx).cluster(cluster_or_404(ctx))

    async def list_tokens(ctx: RequestContext) -> Response:
        cluster = cluster_or_404(ctx)
        return em.page(
            ctx, state.tokens.peek(cluster_id=cluster["id"]), em.render(ctx).cluster_token
        )

    async def create_token(ctx: RequestContext) -> Response:
        cluster = cluster_or_404(ctx)
        data = em.body(ctx)
        if not data.get("description"):
            ctx.fail(422, "Validation Failed: description can't be blank")
        expires = data.get("expires_at")
        if expires is not None:
            when = _parse(str(expires))
            if when is None or when <= em.clock():
                ctx.fail(422, "Validation Failed: expires_at must be in the future")
        value = "bkct_" + secrets.token_hex(20)
        record = state.tokens.insert(
            {
                "cluster_id": cluster["id"],
                "description": data["description"],
                "allowed_ip_addresses": data.get("allowed_ip_addresses"),
                "creator_id": em.viewer_id,
                "created_at": state.now(),
                "expires_at": None if expires is None else stamp(_parse(str(expires))),  # type: ignore[arg-type]
                # Only a digest is kept: the value is shown once, in this answer.
                "digest": hashlib.sha256(value.encode()).hexdigest(),
            },
            id=state.uuid(),
        )
        return ctx.json({**em.render(ctx).cluster_token(record), "token": value}, status=201)

    # -- emulator-only --------------------------------------------------------

    async def add_webhook(ctx: RequestContext) -> Response:
        data = em.body(ctx)
        url, mode = data.get("url"), data.get("mode", "signature")
        secret = data.get("token") or data.get("secret")
        if (
            not isinstance(url, str)
            or not isinstance(secret, str)
            or mode not in ("token", "signature")
        ):
            ctx.fail(422, "Give `url`, `token` (or `secret`) and `mode` (token or signature)")
        events = data.get("events")
        hook = em.webhooks.subscribe_service(
            url, secret, mode=mode, events=events if isinstance(events, list) else None
        )
        em.emit_event("ping", hook=hook.id)
        return ctx.json({"id": hook.id, "url": url, "mode": mode}, status=201)

    routes: list[tuple[str, str, Any, str]] = [
        ("GET", API_PREFIX + "/user", get_user, "getUser"),
        ("GET", API_PREFIX + "/access-token", get_token, "getAccessToken"),
        ("GET", API_PREFIX + "/organizations", list_organizations, "listOrganizations"),
        ("GET", ORG, get_organization, "getOrganization"),
        ("GET", ORG + "/pipelines", list_pipelines, "listPipelines"),
        ("GET", PIPELINE, get_pipeline, "getPipeline"),
        ("GET", API_PREFIX + "/builds", list_all_builds, "listAllBuilds"),
        ("GET", ORG + "/builds", list_org_builds, "listOrganizationBuilds"),
        ("GET", PIPELINE + "/builds", list_pipeline_builds, "listPipelineBuilds"),
        ("POST", PIPELINE + "/builds", create_build, "createBuild"),
        ("GET", BUILD, get_build, "getBuild"),
        ("PUT", BUILD + "/cancel", cancel_build, "cancelBuild"),
        ("PUT", BUILD + "/rebuild", rebuild_build, "rebuildBuild"),
        ("PUT", JOB + "/retry", retry_job, "retryJob"),
        ("PUT", JOB + "/unblock", unblock_job, "unblockJob"),
        ("GET", JOB + "/log", get_log, "getJobLog"),
        ("GET", JOB + "/log.txt", get_raw_log, "getJobLogText"),
        ("DELETE", JOB + "/log", delete_log, "deleteJobLog"),
        ("GET", JOB + "/env", get_env, "getJobEnv"),
        ("GET", BUILD + "/artifacts", list_build_artifacts, "listBuildArtifacts"),
        ("GET", JOB + "/artifacts", list_job_artifacts, "listJobArtifacts"),
        ("GET", JOB + "/artifacts/{artifact}", get_artifact, "getArtifact"),
        ("GET", JOB + "/artifacts/{artifact}/download", download_artifact, "downloadArtifact"),
        ("GET", ORG + "/agents", list_agents, "listAgents"),
        ("GET", ORG + "/agents/{agent}", get_agent, "getAgent"),
        ("PUT", ORG + "/agents/{agent}/stop", stop_agent, "stopAgent"),
        ("GET", ORG + "/clusters", list_clusters, "listClusters"),
        ("GET", ORG + "/clusters/{cluster}", get_cluster, "getCluster"),
        ("GET", ORG + "/clusters/{cluster}/tokens", list_tokens, "listClusterTokens"),
        ("POST", ORG + "/clusters/{cluster}/tokens", create_token, "createClusterToken"),
        ("POST", "/_emulator/webhooks", add_webhook, "addWebhookService"),
    ]
    for method, path, handler, name in routes:
        em.route_both(method, path, handler, name=name)
    em.route(
        "GET", "/_emulator/artifacts/{artifact}", artifact_blob, name="artifactBlob",
        public=True, charge=False,
    )  # fmt: skip
