"""The GitHub emulator application: authentication, errors, limits and helpers.

:class:`GitHubEmulator` is an :class:`~kradle_providers.testing.emulator.EmulatorApp`
(an ASGI app) configured the way GitHub behaves: ``Authorization: Bearer``/
``token`` credentials (a ``ghp_`` personal token, ``ghs_`` installation tokens
minted with an App JWT, the App JWT itself on ``/app`` endpoints), error bodies
``{"message", "documentation_url", "status"}``, a 5000/hour primary limit with
``X-RateLimit-*`` headers (403 when exhausted, 60/hour anonymous), a secondary
limit on bursts of writes (403 + ``Retry-After``), weak ETags with free 304s and
Link pagination (``per_page`` default 30, max 100).
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from starlette.responses import Response

from kradle_provider_github.app_auth import verify_app_jwt
from kradle_provider_github.emulator.mutations import Mutations
from kradle_provider_github.emulator.objects import Renderer
from kradle_provider_github.emulator.payloads import Payloads
from kradle_provider_github.emulator.state import GitHubState
from kradle_provider_github.emulator.webhooks import GitHubWebhooks
from kradle_providers.errors import AuthenticationError
from kradle_providers.testing.emulator import (
    AuthOutcome,
    ConditionalPolicy,
    EmulatorApp,
    EmulatorHTTPError,
    LinkPagination,
    Now,
    Principal,
    RateLimiter,
    RateLimitPolicy,
    RequestContext,
    SecondaryLimit,
    iso_z,
    system_clock,
)

__all__ = ["DOCS", "GitHubEmulator"]

DOCS = "https://docs.github.com/rest"
DEFAULT_TOKEN = "ghp_kradleEmulatorPersonalToken0000000001"
TOKEN_LIFETIME = timedelta(hours=1)
WRITE_METHODS = frozenset({"POST", "PATCH", "PUT", "DELETE"})


def _github_error(status: int, message: str, extra: Mapping[str, Any]) -> Any:
    body: dict[str, Any] = {"message": message}
    body.update({k: v for k, v in extra.items() if k != "documentation_url"})
    body["documentation_url"] = extra.get("documentation_url", DOCS)
    body["status"] = str(status)
    return body


@functools.cache
def _process_app_key() -> str:
    """One App key per process: RSA generation is slow and the key is test-only."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


def _looks_like_jwt(value: str) -> bool:
    return value.startswith("eyJ") and value.count(".") == 2


def web_root(api_root: str) -> str:
    """The browser address of the site whose API is at ``api_root``.

    github.com serves its API from its own host (``api.github.com`` -> ``github.com``);
    Enterprise Server from a path of the site (``/api/v3``), so the root is the site.
    """
    parts = urlsplit(api_root)
    host = parts.netloc
    if host.startswith("api."):
        return urlunsplit((parts.scheme, host.removeprefix("api."), parts.path, "", ""))
    return api_root


class GitHubEmulator(EmulatorApp):
    """A stateful emulator of GitHub's REST and GraphQL APIs (see the package docs)."""

    provider = "github"

    def __init__(
        self,
        *,
        token: str | None = None,
        flavor: str | None = None,
        clock: Now | None = None,
        base_path: str | None = None,
        base_url: str = "http://api.github.test",
        rate_limit: int = 5000,
        secondary_limit: int = 80,
        app_id: int = 424242,
        installation_id: int = 5150,
        latency: float = 0.0,
        private_key_pem: str | None = None,
        token_scopes: str | None = None,
    ) -> None:
        # What a classic token carries; GitHub reports it in X-OAuth-Scopes (None: a
        # fine-grained token, which GitHub reports no scopes for).
        self.token_scopes = token_scopes
        if base_path is None:
            base_path = "/api/v3" if flavor == "ghes" else ""
        super().__init__(
            clock=clock or system_clock,
            base_path=base_path,
            base_url=base_url,
            error_formatter=_github_error,
            rate_limit=RateLimitPolicy(
                limit=rate_limit,
                exhausted_status=403,
                exhausted_message=(
                    "API rate limit exceeded. Wait for the reset time in X-RateLimit-Reset, "
                    "or authenticate for a higher rate limit."
                ),
                anonymous_limit=60,
                secondary=SecondaryLimit(
                    max_requests=secondary_limit, window_seconds=60.0, methods=WRITE_METHODS
                ),
            ),
            conditional=ConditionalPolicy(weak=True),
            pagination=LinkPagination(default_per_page=30, max_per_page=100),
            latency=latency,
            flavor=flavor,
        )
        self.graphql_path = "/api/graphql" if base_path.endswith("/api/v3") else "/graphql"
        self.token = token or DEFAULT_TOKEN
        self.app_id = app_id
        self.installation_id = installation_id
        if private_key_pem is None:
            private_key_pem = _process_app_key()
        self.app_private_key_pem = private_key_pem
        loaded = serialization.load_pem_private_key(private_key_pem.encode(), password=None)
        assert isinstance(loaded, rsa.RSAPrivateKey)
        self.app_public_key_pem = (
            loaded.public_key()
            .public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
            .decode()
        )
        self.state = GitHubState(self.store, self.clock)
        self.webhooks: GitHubWebhooks = GitHubWebhooks(clock=self.clock)
        self.mutations = Mutations(self)
        self.installation_tokens: dict[str, tuple[datetime, int]] = {}
        self.extra_tokens: dict[str, str] = {}
        self.viewer_login = "octo-admin"
        self.bot_login = "kradle-app[bot]"
        self.app_record: dict[str, Any] = {}
        # GraphQL has its own budget (resource "graphql", points per hour), apart
        # from the REST "core" one.
        self.graphql_rate_limiter = RateLimiter(
            RateLimitPolicy(
                limit=rate_limit,
                exhausted_status=403,
                exhausted_message="API rate limit exceeded for GraphQL.",
                resource="graphql",
            ),
            clock=self.clock,
        )
        self._install_routes()

    def reset(self) -> None:
        """Forget requests, faults and every rate-limit budget, GraphQL's included."""
        super().reset()
        self.graphql_rate_limiter.reset()

    # -- wiring -------------------------------------------------------------

    def _install_routes(self) -> None:
        from kradle_provider_github.emulator import (
            graphql,
            routes_actions,
            routes_hooks,
            routes_issues,
            routes_meta,
            routes_repos,
        )

        routes_meta.register(self)
        routes_issues.register(self)
        routes_actions.register(self)
        routes_repos.register(self)
        routes_hooks.register(self)
        graphql.register(self)

    @property
    def app(self) -> GitHubEmulator:
        """The ASGI application (this object)."""
        return self

    # -- authentication -----------------------------------------------------

    async def authenticate(self, ctx: RequestContext) -> AuthOutcome:
        """GitHub's credentials: PAT, installation token, or App JWT (``/app`` only)."""
        header = ctx.headers.get("authorization")
        if not header:
            return None
        scheme, _, value = header.strip().partition(" ")
        value = value.strip()
        if scheme.lower() not in ("bearer", "token") or not value:
            return self.error(401, "Bad credentials")
        route_path = ctx.route.path if ctx.route else ""
        app_route = route_path.startswith(f"{self.base_path}/app")
        if _looks_like_jwt(value):
            try:
                verify_app_jwt(value, self.app_public_key_pem, self.app_id, self.clock())
            except AuthenticationError as exc:
                return self.error(401, exc.message.split(". Fix:")[0])
            if not app_route:
                return self.error(403, "Resource not accessible by integration")
            return Principal(f"app:{self.app_id}", identity={"kind": "app"})
        if app_route:
            return self.error(
                401,
                "A JSON web token could not be decoded",
            )
        if value == self.token:
            return Principal(
                f"user:{self.viewer_login}",
                identity={"kind": "user", "login": self.viewer_login},
                scopes=frozenset({"repo", "workflow", "admin:repo_hook", "admin:org"}),
            )
        if value in self.extra_tokens:
            login = self.extra_tokens[value]
            return Principal(f"user:{login}", identity={"kind": "user", "login": login})
        minted = self.installation_tokens.get(hashlib.sha256(value.encode()).hexdigest())
        if minted is not None:
            expires, installation = minted
            if self.clock() >= expires:
                return self.error(401, "Bad credentials")
            return Principal(
                f"installation:{installation}",
                identity={"kind": "installation", "login": self.bot_login},
            )
        return self.error(401, "Bad credentials")

    def mint_installation_token(self) -> tuple[str, datetime]:
        """A fresh ``ghs_`` token valid for one hour (only its digest is kept)."""
        seq = self.store.sequence("installation-token")
        raw = hashlib.sha256(f"{self.app_private_key_pem[:64]}:{seq}".encode()).hexdigest()
        token = "ghs_" + raw[:36]
        expires = self.clock() + TOKEN_LIFETIME
        self.installation_tokens[hashlib.sha256(token.encode()).hexdigest()] = (
            expires,
            self.installation_id,
        )
        return token, expires

    # -- helpers for handlers -----------------------------------------------

    def render(self, ctx: RequestContext | None = None) -> Renderer:
        """A renderer whose URLs point at the API root the client used."""
        root = self.base_url if ctx is None else str(ctx.request.base_url).rstrip("/")
        return Renderer(self.state, api=root + self.base_path, web=web_root(root))

    def payloads(self) -> Payloads:
        """Webhook payload builders (URLs from the configured base URL)."""
        return Payloads(self.render(None), installation_id=self.installation_id)

    def sender(self, ctx: RequestContext) -> str:
        """The login the request acts as (401 for anonymous writes)."""
        if ctx.principal is None:
            ctx.fail(401, "Requires authentication")
        identity = ctx.principal.identity or {}
        login = identity.get("login")
        return str(login) if login else self.viewer_login

    def repo_or_404(self, ctx: RequestContext) -> dict[str, Any]:
        """The repository of the path's ``owner``/``repo`` (GitHub's 404 otherwise)."""
        repo = self.state.repo(ctx.params["owner"], ctx.params["repo"])
        if repo is None or (repo["private"] and ctx.principal is None):
            ctx.not_found()
        return repo

    @staticmethod
    def invalid(resource: str, field: str, code: str = "invalid", **more: Any) -> EmulatorHTTPError:
        """GitHub's 422 ``Validation Failed`` with one error entry."""
        entry = {"resource": resource, "field": field, "code": code, **more}
        return EmulatorHTTPError(422, "Validation Failed", errors=[entry])

    def page(
        self,
        ctx: RequestContext,
        records: Sequence[Mapping[str, Any]],
        render: Callable[[Mapping[str, Any]], Any],
    ) -> Response:
        """One Link-paginated page of ``records`` as a JSON array."""
        sliced = self.pagination.paginate(records, ctx.url, ctx.query)
        return ctx.json([render(r) for r in sliced.items], headers=sliced.headers)

    def page_object(
        self,
        ctx: RequestContext,
        key: str,
        records: Sequence[Mapping[str, Any]],
        render: Callable[[Mapping[str, Any]], Any],
    ) -> Response:
        """One page as ``{"total_count": N, key: [...]}`` (Actions/Checks listings)."""
        sliced = self.pagination.paginate(records, ctx.url, ctx.query)
        body = {"total_count": len(records), key: [render(r) for r in sliced.items]}
        return ctx.json(body, headers=sliced.headers)

    def body(self, ctx: RequestContext) -> dict[str, Any]:
        """The JSON object body of a write (400 for malformed JSON, 422 for a non-object)."""
        data = ctx.json_body(required=False)
        if data is None:
            return {}
        if not isinstance(data, dict):
            ctx.fail(400, "Problems parsing JSON")
        return data

    def iso_now(self) -> str:
        """Now, as GitHub writes timestamps."""
        return iso_z(self.clock())

    def counts(self, repository: str = "acme/widgets") -> dict[str, int]:
        """Counts per canonical kind in one repository (what a full sync of it must find).

        ``repository`` (``owner/name``, default the seeded ``acme/widgets``) is
        the scope: Repository is 1 (the repository itself, not every
        repository of its owner; a binding targets one). Issue excludes
        PR-backed issues (they are PullRequests, never a second work item);
        Comment counts issue comments on issues and PRs; Check counts check
        runs plus commit statuses; Ref counts branches plus tags; Commit counts
        every stored commit (no operation lists commits, so a sync reads them
        one by one and does not backfill them by default). An unknown
        repository has no counts (``{}``).
        """
        owner, _, name = repository.partition("/")
        repo = self.state.repo(owner, name)
        if repo is None:
            return {}
        rid = repo["id"]
        s = self.state

        def n(name: str, **eq: Any) -> int:
            return len(s.store[name].filter(repo_id=rid, **eq))

        return {
            "Issue": n("issues", is_pull=False),
            "PullRequest": n("pulls"),
            "Comment": n("comments"),
            "Label": n("labels"),
            "Milestone": n("milestones"),
            "IssueEvent": n("events"),
            "PipelineDefinition": n("workflows"),
            "Pipeline": n("runs"),
            "Job": n("jobs"),
            "Artifact": n("artifacts"),
            "Runner": n("runners"),
            "Check": n("check_runs") + n("statuses"),
            "Repository": 1,
            "Review": n("reviews"),
            "Ref": n("branches") + n("tags"),
            "Commit": n("commits"),
            "DeployKey": n("keys"),
            "Collaborator": n("collaborators"),
            "BranchProtection": n("protections"),
        }

    def token_expiry(self) -> datetime:
        """When a token minted now expires."""
        return self.clock().astimezone(UTC) + TOKEN_LIFETIME

    def log_signature(self, job_id: int) -> str:
        """The signature of a job log download URL (a stand-in for a pre-signed blob URL)."""
        return hashlib.sha256(
            f"{self.app_private_key_pem[-64:]}:log:{job_id}".encode()
        ).hexdigest()[:20]

    control: Any
    """The :class:`~.control.GitHubControl` (set by :func:`create_emulator`)."""
