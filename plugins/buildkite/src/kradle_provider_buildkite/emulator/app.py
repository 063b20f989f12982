"""The Buildkite emulator application: authentication, errors, limits and helpers.

:class:`BuildkiteEmulator` is an :class:`~kradle_providers.testing.emulator.EmulatorApp`
(an ASGI app) configured the way Buildkite's REST API v2 behaves: routes under
``/v2``, ``Authorization: Bearer <API access token>``, error bodies
``{"message": "..."}``, 200 requests per minute per organization with
``RateLimit-Limit/-Remaining/-Reset`` (seconds until the reset) and 429 +
``Retry-After`` when exhausted, ETags with 304s, and Link paging with
``page``/``per_page`` (default 30, at most 100; ``first``/``last`` always
present). Paths are accepted with or without a trailing slash, as Buildkite
does (pybuildkite sends ``.../agents/``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from starlette.responses import Response

from kradle_provider_buildkite.emulator.objects import Renderer
from kradle_provider_buildkite.emulator.state import BuildkiteState
from kradle_provider_buildkite.emulator.webhooks import BuildkiteWebhooks
from kradle_providers.testing.emulator import (
    AuthOutcome,
    ConditionalPolicy,
    EmulatorApp,
    Handler,
    LinkPagination,
    Now,
    Principal,
    RateLimitConvention,
    RateLimitPolicy,
    RequestContext,
    system_clock,
)

__all__ = ["API_PREFIX", "DEFAULT_TOKEN", "BuildkiteEmulator"]

API_PREFIX = "/v2"

DEFAULT_TOKEN = "bkua_kradleEmulatorApiAccessToken00000001"
_UNAUTHORIZED = (
    "Authentication required. Please supply a valid API Access Token: "
    "https://buildkite.com/docs/apis/rest-api#authentication"
)


@dataclass(frozen=True)
class BuildkitePagination(LinkPagination):
    """Link paging whose URLs keep ``page`` where the request had it, before ``per_page``.

    Buildkite writes ``...?page=3&per_page=5``; clients that split the Link
    header naively (pybuildkite reads ``page=`` up to the next ``&``) depend on
    ``page`` not being the last parameter.
    """

    def links(self, url: str, page: int, last_page: int) -> dict[str, str]:
        links = super().links(url, page, last_page)
        return {rel: _page_first(target, self.page_param) for rel, target in links.items()}


def _page_first(url: str, page_param: str) -> str:
    parts = urlsplit(url)
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    pages = [p for p in pairs if p[0] == page_param]
    others = [p for p in pairs if p[0] != page_param]
    return urlunsplit(parts._replace(query=urlencode(pages + others)))


class BuildkiteEmulator(EmulatorApp):
    """A stateful emulator of Buildkite's REST API v2 (see the package docs)."""

    provider = "buildkite"

    def __init__(
        self,
        *,
        token: str | None = None,
        flavor: str | None = None,
        clock: Now | None = None,
        base_url: str = "http://api.buildkite.test",
        rate_limit: int = 200,
        latency: float = 0.0,
        org: str = "acme",
    ) -> None:
        super().__init__(
            clock=clock or system_clock,
            # Routes carry /v2 themselves: emulator-only endpoints live beside it.
            base_path="",
            base_url=base_url,
            not_found_message="Not Found",
            bad_json_message="Body must be valid JSON",
            rate_limit=RateLimitPolicy(
                limit=rate_limit,
                window_seconds=60.0,
                convention=RateLimitConvention.RATELIMIT_DELTA,
                exhausted_status=429,
                exhausted_message="You have exceeded your API rate limit. Please wait until "
                "the time in RateLimit-Reset and try again.",
                resource=None,
            ),
            conditional=ConditionalPolicy(weak=True),
            pagination=BuildkitePagination(
                default_per_page=30, max_per_page=100, always_first_last=True
            ),
            latency=latency,
            flavor=flavor,
        )
        self.token = token or DEFAULT_TOKEN
        self.viewer_id = ""
        self.state = BuildkiteState(self.store, self.clock, org=org)
        self.webhooks: BuildkiteWebhooks = BuildkiteWebhooks(clock=self.clock)
        self.token_digests: dict[str, str] = {}
        from kradle_provider_buildkite.emulator import routes

        routes.register(self)

    @property
    def app(self) -> BuildkiteEmulator:
        """The ASGI application (this object)."""
        return self

    def route_both(
        self, method: str, path: str, handler: Handler, *, name: str, **options: Any
    ) -> None:
        """Register ``path`` with and without a trailing slash."""
        self.route(method, path, handler, name=name, **options)
        self.route(method, path + "/", handler, name=name, **options)

    # -- authentication -----------------------------------------------------

    async def authenticate(self, ctx: RequestContext) -> AuthOutcome:
        """``Authorization: Bearer <token>``; anything else is Buildkite's 401."""
        header = ctx.headers.get("authorization", "")
        scheme, _, value = header.strip().partition(" ")
        if scheme.lower() != "bearer" or value.strip() != self.token:
            return self.error(401, _UNAUTHORIZED)
        return Principal(f"user:{self.viewer_id}", identity={"id": self.viewer_id})

    # -- helpers for handlers -----------------------------------------------

    def render(self, ctx: RequestContext | None = None) -> Renderer:
        """A renderer whose URLs point at the API root the client used."""
        root = self.base_url if ctx is None else str(ctx.request.base_url).rstrip("/")
        return Renderer(self.state, api=root + API_PREFIX, web=root.replace("api.", "", 1))

    @property
    def api_url(self) -> str:
        """The REST API root an adapter or client is configured with (``.../v2``)."""
        return self.base_url + API_PREFIX

    def page(
        self,
        ctx: RequestContext,
        records: Sequence[Mapping[str, Any]],
        render: Callable[[Mapping[str, Any]], Any],
    ) -> Response:
        """One Link-paginated page of ``records`` as a JSON array."""
        sliced = self.pagination.paginate(records, ctx.url, ctx.query)
        return ctx.json([render(r) for r in sliced.items], headers=sliced.headers)

    def body(self, ctx: RequestContext) -> dict[str, Any]:
        """The JSON object body of a write (``{}`` when empty)."""
        data = ctx.json_body(required=False)
        if data is None:
            return {}
        if not isinstance(data, dict):
            ctx.fail(400, "Body must be a JSON object")
        return data

    def payload(
        self,
        event: str,
        *,
        build: Mapping[str, Any] | None = None,
        job: Mapping[str, Any] | None = None,
        agent: Mapping[str, Any] | None = None,
        hook: int | None = None,
        **extra: Any,
    ) -> dict[str, Any]:
        """The body Buildkite sends for ``event``.

        Build and job events carry the build without its jobs and the pipeline;
        agent events the agent; ``ping`` the service and the organization;
        ``extra`` adds top-level keys (``blocked_ip``, ``cluster_token``...).
        """
        render = self.render(None)
        viewer = render.user(self.viewer_id) or {}
        body: dict[str, Any] = {"event": event}
        if event == "ping":
            found = next((s for s in self.webhooks.subscriptions if s.id == hook), None)
            body["service"] = {
                "id": self.state.uuid(),
                "provider": "webhook",
                "settings": {"url": found.url if found else self.webhooks.default_url},
            }
            body["organization"] = render.organization()
        if agent is not None:
            body["agent"] = render.agent(agent)
        if job is not None:
            body["job"] = render.job(job, build)
        if build is not None:
            body["build"] = render.build(build, with_jobs=False)
            body["pipeline"] = render.pipeline(self.state.pipeline_of(build))
        body.update(extra)
        body["sender"] = {"id": viewer.get("id"), "name": viewer.get("name")}
        return body

    def emit_event(
        self,
        event: str,
        *,
        build: Mapping[str, Any] | None = None,
        job: Mapping[str, Any] | None = None,
        agent: Mapping[str, Any] | None = None,
        hook: int | None = None,
    ) -> None:
        """Send ``event`` to the webhook services (``hook``: only that one)."""
        body = self.payload(event, build=build, job=job, agent=agent, hook=hook)
        self.webhooks.emit(event, body, only=hook)

    def artifact_signature(self, artifact_id: str) -> str:
        """The signature of an artifact's pre-signed download URL."""
        return hashlib.sha256(f"{self.token[-12:]}:artifact:{artifact_id}".encode()).hexdigest()[
            :24
        ]

    def counts(self, pipeline: str | None = None) -> dict[str, int]:
        """Objects per canonical kind: what a full sync of the organization finds.

        With ``pipeline`` (a slug, as a binding's ``externalRef.pipeline``),
        builds, jobs and artifacts are that pipeline's; pipelines and agents
        stay the organization's (they are listed per organization). Job counts
        every job, retried ones included (``include_retried_jobs``).
        """
        s = self.state
        builds = s.builds.peek()
        if pipeline is not None:
            found = s.pipeline_by_slug(pipeline)
            builds = [b for b in builds if found is not None and b["pipeline_id"] == found["id"]]
        ids = {b["id"] for b in builds}
        return {
            "PipelineDefinition": len(s.pipelines),
            "Pipeline": len(ids),
            "Job": sum(1 for j in s.jobs.peek() if j["build_id"] in ids),
            "Artifact": sum(1 for a in s.artifacts.peek() if a["build_id"] in ids),
            "Runner": len(s.agents),
        }

    control: Any
    """The :class:`~.control.BuildkiteControl` (set by :func:`create_emulator`)."""
