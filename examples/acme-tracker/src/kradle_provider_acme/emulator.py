"""A tiny emulator of the Acme API on the kradle emulator framework.

Routes (under ``/api/v1``): ``GET /projects/{p}/tickets`` (``page``/``per_page``
with a ``Link`` header, ``updated_since``), ``GET /projects/{p}/tickets/{n}``,
``GET /projects/{p}/comments`` (``ticket``, ``updated_since``),
``POST /projects/{p}/tickets/{n}/comments`` (``{body}``: add a comment; 201),
``GET /projects/{p}/labels``, ``POST /webhooks`` (``{url, secret, events}``:
register a webhook). Bearer auth (401 ``{"error": ...}``), 404 bodies,
``X-RateLimit-*`` headers and 429s. Changes made through the control API are
delivered to registered webhooks, signed with the plugin's own scheme
(:data:`kradle_provider_acme.webhooks.WEBHOOKS`).

``create_emulator`` is the factory ``kradle-providers emulator serve acme`` calls.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from starlette.responses import Response

from kradle_provider_acme.webhooks import WEBHOOKS
from kradle_providers.testing.emulator import (
    AuthOutcome,
    EmulatorApp,
    LinkPagination,
    ManualClock,
    Principal,
    RateLimitPolicy,
    RequestContext,
    SubscribedEmitter,
)

__all__ = ["AcmeEmulator", "create_emulator"]

BASE_URL = "http://acme.test"


def acme_error(status: int, message: str, extra: Mapping[str, Any]) -> Any:
    """Acme's error body: ``{"error": {"code": ..., "message": ...}}``."""
    return {"error": {"code": status, "message": message, **extra}}


class AcmeEmulator(EmulatorApp):
    """Acme's REST API: tickets, comments and labels of projects."""

    provider = "acme"

    def __init__(self, *, token: str, clock: ManualClock | None = None) -> None:
        self.manual_clock = clock or ManualClock()
        super().__init__(
            clock=self.manual_clock,
            base_path="/api/v1",
            base_url=BASE_URL,
            error_formatter=acme_error,
            not_found_message="Not found",
            rate_limit=RateLimitPolicy(limit=5000),
            pagination=LinkPagination(default_per_page=25, max_per_page=100),
        )
        self.token = token
        self.webhooks: SubscribedEmitter = SubscribedEmitter(
            clock=self.manual_clock, provider="acme", signer=WEBHOOKS.headers_for
        )
        self.tickets = self.store.collection("tickets")
        self.comments = self.store.collection("comments")
        self.labels = self.store.collection("labels")
        self.route("GET", "/projects/{project}/tickets", self.list_tickets, name="listTickets")
        self.route(
            "GET", "/projects/{project}/tickets/{number:int}", self.get_ticket, name="getTicket"
        )
        self.route("GET", "/projects/{project}/comments", self.list_comments, name="listComments")
        self.route(
            "POST",
            "/projects/{project}/tickets/{number:int}/comments",
            self.create_comment,
            name="createComment",
        )
        self.route("GET", "/projects/{project}/labels", self.list_labels, name="listLabels")
        self.route("POST", "/webhooks", self.create_webhook, name="createWebhook")

    async def authenticate(self, ctx: RequestContext) -> AuthOutcome:
        if ctx.headers.get("authorization") != f"Bearer {self.token}":
            return self.error(401, "Invalid or missing API token")
        return Principal("token:acme")

    @staticmethod
    def _since(ctx: RequestContext, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
        since = ctx.query.get("updated_since")
        if not since:
            return items
        mark = datetime.fromisoformat(since.replace("Z", "+00:00"))
        return [
            i
            for i in items
            if datetime.fromisoformat(i["updated_at"].replace("Z", "+00:00")) >= mark
        ]

    def _in(self, ctx: RequestContext, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        project = ctx.params["project"]
        return sorted((r for r in rows if r["project"] == project), key=lambda r: int(r["id"]))

    async def list_tickets(self, ctx: RequestContext) -> Response:
        # Like most trackers, Acme lists open tickets unless asked for ``state=done|all``.
        state = ctx.query.get("state", "open")
        rows = [r for r in self._in(ctx, self.tickets.all()) if state in ("all", r["state"])]
        rows = self._since(ctx, rows)
        return ctx.paginate(rows, headers={"X-Acme-Now": self.manual_clock().isoformat()})

    async def get_ticket(self, ctx: RequestContext) -> Response:
        ticket = ctx.get_or_404(self.tickets, ctx.params["number"])
        if ticket["project"] != ctx.params["project"]:
            ctx.not_found()
        return ctx.json(ticket)

    async def list_comments(self, ctx: RequestContext) -> Response:
        rows = self._in(ctx, self.comments.all())
        ticket = ctx.query.get("ticket")
        if ticket:
            rows = [r for r in rows if str(r["ticket"]) == ticket]
        return ctx.paginate(
            self._since(ctx, rows), headers={"X-Acme-Now": self.manual_clock().isoformat()}
        )

    async def create_comment(self, ctx: RequestContext) -> Response:
        """Add a comment to a ticket: ``{body}`` (required, non-empty); 201 with the comment.

        Like Acme, it stores the body as sent and has no idempotency key: sending
        the same request twice makes two comments.
        """
        ticket = ctx.get_or_404(self.tickets, ctx.params["number"])
        if ticket["project"] != ctx.params["project"]:
            ctx.not_found()
        body = ctx.json_body()
        if not isinstance(body, dict) or not isinstance(body.get("body"), str) or not body["body"]:
            return self.error(422, "body is required", fields=["body"])
        self.manual_clock.advance(1)
        row = self.comments.insert(
            {"project": ticket["project"], "ticket": ticket["id"], "body": body["body"],
             "author": "acme-bot"}
        )  # fmt: skip
        row = self.comments.update(
            row["id"], {"html_url": f"https://acme.example/{ticket['project']}/{row['id']}"}
        )
        self.webhooks.emit("comment.created", {"event": "comment.created", "comment": row})
        return ctx.json(row, status=201)

    async def list_labels(self, ctx: RequestContext) -> Response:
        return ctx.paginate(self._in(ctx, self.labels.all()))

    async def create_webhook(self, ctx: RequestContext) -> Response:
        """Register a webhook: ``{url, secret, events?}``."""
        body = ctx.json_body()
        if not isinstance(body, dict) or not body.get("url") or not body.get("secret"):
            return self.error(422, "url and secret are required", fields=["url", "secret"])
        hook = self.webhooks.subscribe(
            str(body["url"]), str(body["secret"]), events=body.get("events") or None
        )
        return ctx.json({"id": hook.id, "url": hook.url, "events": sorted(hook.events)}, status=201)


def create_emulator(
    seed: str | None = None,
    token: str | None = None,
    flavor: str | None = None,
    options: Mapping[str, Any] | None = None,
) -> AcmeEmulator:
    """An Acme emulator; ``seed="demo"`` adds three tickets to project WID.

    The signature ``kradle-providers emulator serve`` calls: ``token`` is the
    API token it accepts (default ``acme-dev-token``); Acme has one flavour and
    no options.
    """
    if flavor is not None or options:
        raise ValueError("the Acme emulator has no flavours or options")
    if seed not in (None, "demo"):
        raise ValueError(f"unknown Acme emulator seed {seed!r}; known seeds: demo")
    emulator = AcmeEmulator(token=token or "acme-dev-token")
    if seed == "demo":
        for n, title in enumerate(["Widgets wobble", "Sprockets squeak", "Gears grind"], 1):
            emulator.manual_clock.advance(1)
            emulator.tickets.insert(
                {"project": "WID", "number": n, "title": title, "body": None, "state": "open",
                 "labels": [], "reporter": "wile", "priority": "normal",
                 "html_url": f"https://acme.example/WID/tickets/{n}"},
                id=n,
            )  # fmt: skip
    return emulator
