"""The Jira emulator application: Cloud (REST v3 + v2) or Data Center (REST v2).

:class:`JiraEmulator` is an ASGI app built on the core emulator framework. It
adds Jira's authentication (Cloud: basic auth with any e-mail and the API
token; Data Center: a bearer personal access token, or basic auth with the
token as password), Jira's error bodies (``{"errorMessages": [...],
"errors": {...}}``), Jira's 429 headers (``Retry-After`` and, on Cloud,
``X-RateLimit-Reset`` as an ISO-8601 minute), the ``X-AREQUESTID`` header, and
the routes in :mod:`.routes_meta`, :mod:`.routes_search`, :mod:`.routes_issues`
and :mod:`.routes_comments`.

Routes are registered as ``/rest/api/{v}/…``; :meth:`JiraEmulator.api_version`
accepts ``2``, ``3`` (Cloud only) and ``latest`` and answers Jira's 404 for
anything else, so one emulator serves every version its flavour has.
"""

from __future__ import annotations

import base64
import binascii
import itertools
import math
from collections.abc import Mapping
from datetime import UTC, timedelta
from typing import TYPE_CHECKING, Any

from starlette.responses import Response
from starlette.types import Message, Receive, Scope, Send

from kradle_provider_jira.emulator.objects import User, jira_time
from kradle_provider_jira.emulator.state import JiraState, Project, StateError
from kradle_provider_jira.emulator.views import NAVIGABLE_FIELDS, Views
from kradle_provider_jira.emulator.webhooks import COMMENT_ISSUE_EVENTS, JiraWebhooks
from kradle_provider_jira.mapping import issue_events_from_changelog
from kradle_providers.models.base import ObjectRef, ProviderRef
from kradle_providers.testing.emulator import (
    Clock,
    ConditionalPolicy,
    EmulatorApp,
    EmulatorHTTPError,
    Principal,
    RateLimitConvention,
    RateLimitPolicy,
    RequestContext,
    StartAtPagination,
    system_clock,
)

if TYPE_CHECKING:
    from kradle_provider_jira.emulator.control import JiraControl

__all__ = ["CLOUD", "DATACENTER", "DEFAULT_TOKEN", "JiraEmulator", "normalize_flavor"]

JsonDict = dict[str, Any]

CLOUD = "cloud"
DATACENTER = "datacenter"
DEFAULT_TOKEN = "jira-emulator-token"
_FLAVORS = {
    None: CLOUD,
    "cloud": CLOUD,
    "datacenter": DATACENTER,
    "data-center": DATACENTER,
    "dc": DATACENTER,
    "server": DATACENTER,
}

ISSUE_NOT_FOUND = "Issue does not exist or you do not have permission to see it."


def normalize_flavor(flavor: str | None) -> str:
    """``cloud`` or ``datacenter`` (also ``dc``/``server``/``data-center``)."""
    key = flavor.lower() if isinstance(flavor, str) else None
    if key not in _FLAVORS:
        raise ValueError(f"unknown Jira flavour {flavor!r}; use 'cloud' or 'datacenter'")
    return _FLAVORS[key]


def jira_error_body(status: int, message: str, extra: Mapping[str, Any]) -> JsonDict:
    """Jira's error body: ``{"errorMessages": [...], "errors": {field: message}}``."""
    messages = list(extra.get("errorMessages") or ([message] if message else []))
    return {"errorMessages": messages, "errors": dict(extra.get("errors") or {})}


class JiraEmulator(EmulatorApp):
    """A stateful emulator of Jira's REST API (see the module docs).

    Attributes besides the framework's: ``token`` (the credential accepted),
    ``flavor`` (``cloud``/``datacenter``), ``state`` (records and changes),
    ``webhooks`` (subscriptions, deliveries), ``control`` (the contract suite's
    backend control), ``me`` (the account the token belongs to).
    """

    provider = "jira"

    def __init__(
        self,
        *,
        token: str | None = None,
        flavor: str | None = None,
        clock: Clock | None = None,
        base_url: str = "http://jira.emulator.test",
        rate_limit: int = 100_000,
        rate_window: float = 60.0,
        latency: float = 0.0,
    ) -> None:
        chosen = normalize_flavor(flavor)
        super().__init__(
            clock=clock or system_clock,
            base_url=base_url,
            error_formatter=jira_error_body,
            not_found_message="Not Found",
            bad_json_message=(
                "Unexpected character ('x' (code 120)): expected a valid value "
                "(number, String, array, object, 'true', 'false' or 'null')"
            ),
            rate_limit=RateLimitPolicy(
                limit=rate_limit,
                window_seconds=rate_window,
                convention=RateLimitConvention.RETRY_AFTER_ONLY,
                exhausted_status=429,
                exhausted_message="Rate limit exceeded.",
                resource=None,
            ),
            # Jira sends no ETags and never answers 304.
            conditional=ConditionalPolicy(enabled=False, auto_etag=False),
            pagination=StartAtPagination(default_max_results=50, max_results=100),
            latency=latency,
            flavor=chosen,
        )
        self.token = token or DEFAULT_TOKEN
        self.flavor = chosen
        self.state = JiraState(store=self.store, clock=self.clock, cloud=self.cloud)
        self.webhooks: JiraWebhooks = JiraWebhooks(clock=self.clock)
        self.webhooks.render = self.webhook_payloads
        self.state.listeners.append(self.webhooks.on_change)
        self.me = self.state.add_user(
            User(
                account_id="5b10ac8d82e05b22cc7d4ef5",
                name="admin",
                display_name="Emulator Admin",
                email="admin@example.com",
            )
        )
        self._request_ids = itertools.count(1)
        self._control: JiraControl | None = None
        from kradle_provider_jira.emulator import (
            routes_comments,
            routes_hooks,
            routes_issues,
            routes_meta,
            routes_search,
        )

        routes_meta.register(self)
        routes_search.register(self)
        routes_issues.register(self)
        routes_comments.register(self)
        routes_hooks.register(self)

    # -- identity ------------------------------------------------------------------

    @property
    def cloud(self) -> bool:
        """Whether this emulator plays Jira Cloud."""
        return self.flavor == CLOUD

    @property
    def app(self) -> JiraEmulator:
        """The ASGI app (the emulator itself)."""
        return self

    @property
    def control(self) -> JiraControl:
        """The backend control API (``BackendControl``) over this emulator."""
        if self._control is None:
            from kradle_provider_jira.emulator.control import JiraControl

            self._control = JiraControl(self)
        return self._control

    @property
    def project(self) -> Project:
        """The seeded project (``WID`` with the demo seed; created on first use)."""
        if not self.state.projects:
            self.state.add_project("WID", "Widgets", self.me.account_id)
        return next(iter(self.state.projects.values()))

    def counts(self) -> dict[str, int]:
        """Objects per canonical kind in the project: what a full sync must find.

        Counts are of canonical objects, not of native records: IssueEvent
        counts what :func:`kradle_provider_jira.mapping.issue_events_from_changelog`
        (the definition of the canonical kind for Jira) makes of each
        changelog history as the REST API renders it: one event per kind of
        change in a history, so several items of one kind (two labels added at
        once, a status and its resolution) are one event.
        """
        project = self.project
        issues = self.state.issues.filter(project_id=project.id)
        ids = {i["id"] for i in issues}
        views = Views(self.state, self.base_url, "2")
        provider = ProviderRef(type="jira")
        events = 0
        for history in self.state.histories.all():
            if history["issue_id"] in ids:
                issue = ObjectRef(kind="Issue", native_id=str(history["issue_id"]))
                rendered = views.history(history)
                events += len(issue_events_from_changelog(rendered, provider, issue))
        return {
            "Issue": len(issues),
            "Comment": sum(1 for c in self.state.comments.all() if c["issue_id"] in ids),
            "Milestone": len(self.state.project_versions(project.id)),
            "Label": len({label for i in issues for label in i["labels"]}),
            "IssueEvent": events,
        }

    # -- framework hooks -----------------------------------------------------------

    async def authenticate(self, ctx: RequestContext) -> Principal | Response | None:
        """Cloud: basic e-mail + API token. Data Center: bearer PAT, or basic with it."""
        header = ctx.headers.get("authorization", "")
        if not header:
            if ctx.operation == "getServerInfo":
                return None  # serverInfo answers anonymous callers
            return self._unauthorized(failed=False)
        scheme, _, value = header.partition(" ")
        scheme = scheme.lower()
        if scheme == "basic":
            try:
                decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
            except (binascii.Error, UnicodeDecodeError):
                return self._unauthorized(failed=True)
            user, sep, password = decoded.partition(":")
            if sep and password == self.token and (user or not self.cloud):
                return Principal(credential_id=f"basic:{user}", identity=self.me)
            return self._unauthorized(failed=True)
        if scheme == "bearer" and not self.cloud and value.strip() == self.token:
            return Principal(credential_id="pat", identity=self.me)
        return self._unauthorized(failed=True)

    def _unauthorized(self, *, failed: bool) -> Response:
        headers = {"x-seraph-loginreason": "AUTHENTICATED_FAILED"} if failed else {}
        if self.cloud:
            message = "Client must be authenticated to access this resource."
        else:
            message = (
                "You are not authenticated. Authentication required to perform this operation."
            )
        return self.error(401, message, headers=headers)

    def error(
        self, status: int, message: str, *, headers: Mapping[str, str] | None = None, **extra: Any
    ) -> Response:
        """Jira's error answer; a 429 carries the flavour's rate-limit headers."""
        out = dict(headers or {})
        if status == 429:
            out.update(self._rate_limit_headers(out))
        return super().error(status, message, headers=out, **extra)

    def _rate_limit_headers(self, given: Mapping[str, str]) -> dict[str, str]:
        lowered = {k.lower(): v for k, v in given.items()}
        retry = lowered.get("retry-after")
        seconds = int(retry) if retry and retry.isdigit() else 60
        limit = str(self.rate_limiter.policy.limit) if self.rate_limiter else "100"
        headers = {"retry-after": str(seconds), "x-ratelimit-limit": limit}
        headers["x-ratelimit-remaining"] = "0"
        if self.cloud:
            reset = self.clock().astimezone(UTC) + timedelta(seconds=seconds)
            # Atlassian documents the reset as an ISO-8601 minute: yyyy-MM-ddTHH:mmZ.
            minute = reset.replace(second=0, microsecond=0) + timedelta(
                minutes=1 if reset.second or reset.microsecond else 0
            )
            headers["x-ratelimit-reset"] = minute.strftime("%Y-%m-%dT%H:%MZ")
            headers["ratelimit-reason"] = "jira-burst-based"
        else:
            window = self.rate_limiter.policy.window_seconds if self.rate_limiter else 60.0
            headers["x-ratelimit-interval-seconds"] = str(math.ceil(window))
            headers["x-ratelimit-fillrate"] = limit
        return headers

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        request_id = f"{next(self._request_ids)}x{self.clock().minute * 60 + self.clock().second}x1"

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [*message.get("headers", []), (b"x-arequestid", request_id.encode())]
                message = {**message, "headers": headers}
            await send(message)

        await super().__call__(scope, receive, send_with_id)

    # -- helpers for routes ----------------------------------------------------------

    def api_version(self, ctx: RequestContext) -> str:
        """``"2"`` or ``"3"`` for the request's ``{v}``; Jira's 404 for other versions."""
        raw = str(ctx.params.get("v", ""))
        if raw == "latest" or raw == "2":
            return "2"
        if raw == "3" and self.cloud:
            return "3"
        raise EmulatorHTTPError(404, "Not Found")

    def views(self, ctx: RequestContext, api: str | None = None) -> Views:
        """Renderers bound to the request's base URL and API version."""
        base = str(ctx.request.base_url).rstrip("/")
        return Views(self.state, base, api or self.api_version(ctx))

    def actor(self, ctx: RequestContext) -> str:
        """The account id of the request's user."""
        identity = ctx.principal.identity if ctx.principal else None
        return identity.account_id if isinstance(identity, User) else self.me.account_id

    def issue_or_404(self, ctx: RequestContext, ref: str | None = None) -> JsonDict:
        """The issue named by ``ref`` (default: the ``issue`` path parameter), or 404."""
        found = self.state.issue(str(ref if ref is not None else ctx.params["issue"]))
        if found is None:
            raise EmulatorHTTPError(404, ISSUE_NOT_FOUND)
        return found

    def body_dict(self, ctx: RequestContext) -> JsonDict:
        """The JSON request body as an object (Jira's 400 otherwise)."""
        data = ctx.json_body()
        if not isinstance(data, dict):
            raise EmulatorHTTPError(
                400, "Can not deserialize instance of object out of START_ARRAY token"
            )
        return data

    @staticmethod
    def state_error(exc: StateError) -> EmulatorHTTPError:
        """A :class:`StateError` as Jira's error answer."""
        if exc.field:
            return EmulatorHTTPError(exc.status, "", errorMessages=[], errors={exc.field: str(exc)})
        return EmulatorHTTPError(exc.status, str(exc))

    # -- webhooks ------------------------------------------------------------------

    def webhook_payloads(
        self, event: str, details: Mapping[str, Any]
    ) -> list[tuple[str, JsonDict]]:
        """The Jira webhook(s) a state change causes, with REST v2 shaped objects."""
        views = Views(self.state, self.base_url, "2")
        issue = details["issue"]
        fields = [*NAVIGABLE_FIELDS, *sorted(issue["native"])]
        issue_json = views.issue(issue, fields=fields)
        issue_json.pop("expand", None)
        user = views.user(details["actor"])
        timestamp = int(self.clock().timestamp() * 1000)
        if event == "issue_created":
            items = [
                {
                    "field": "summary",
                    "fieldtype": "jira",
                    "fieldId": "summary",
                    "from": None,
                    "fromString": None,
                    "to": None,
                    "toString": issue["summary"],
                },
                {
                    "field": "status",
                    "fieldtype": "jira",
                    "fieldId": "status",
                    "from": None,
                    "fromString": None,
                    "to": issue_json["fields"]["status"]["id"],
                    "toString": issue["status"],
                },
            ]
            changelog_id = str(self.store.sequence("history", start=10000))
            return [
                (
                    "jira:issue_created",
                    {
                        "timestamp": timestamp,
                        "webhookEvent": "jira:issue_created",
                        "issue_event_type_name": "issue_created",
                        "user": user,
                        "issue": issue_json,
                        "changelog": {"id": changelog_id, "items": items},
                    },
                )
            ]
        if event == "issue_updated":
            history = views.history(details["history"])
            return [
                (
                    "jira:issue_updated",
                    {
                        "timestamp": timestamp,
                        "webhookEvent": "jira:issue_updated",
                        "issue_event_type_name": details.get("event_type", "issue_updated"),
                        "user": user,
                        "issue": issue_json,
                        "changelog": {"id": history["id"], "items": history["items"]},
                    },
                )
            ]
        if event == "issue_deleted":
            return [
                (
                    "jira:issue_deleted",
                    {
                        "timestamp": timestamp,
                        "webhookEvent": "jira:issue_deleted",
                        "user": user,
                        "issue": issue_json,
                    },
                )
            ]
        if event in COMMENT_ISSUE_EVENTS:
            comment = views.comment(details["comment"])
            brief_fields = ("summary", "issuetype", "project", "assignee", "priority", "status")
            brief = {
                "id": issue_json["id"],
                "self": issue_json["self"],
                "key": issue_json["key"],
                "fields": {k: issue_json["fields"][k] for k in brief_fields},
            }
            comment_payload: JsonDict = {"timestamp": timestamp, "webhookEvent": event}
            comment_payload["comment"] = comment
            if self.cloud:
                comment_payload["issue"] = brief
            elif event == "comment_updated":
                comment_payload["user"] = user
            issue_payload: JsonDict = {
                "timestamp": timestamp,
                "webhookEvent": "jira:issue_updated",
                "issue_event_type_name": COMMENT_ISSUE_EVENTS[event],
                "user": user,
                "issue": issue_json,
            }
            if event != "comment_deleted":
                issue_payload["comment"] = comment
            return [(event, comment_payload), ("jira:issue_updated", issue_payload)]
        return []

    def jira_now(self) -> str:
        """Now, as Jira writes timestamps."""
        return jira_time(self.clock())
