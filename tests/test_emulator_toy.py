"""A toy "widgets" emulator built on the framework, and the app's core behaviour.

Other ``test_emulator_*`` modules import :class:`WidgetEmulator` from here.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx
import pytest
from starlette.responses import Response

from kradle_providers.auth.secret import Secret
from kradle_providers.testing.emulator import (
    AuthOutcome,
    ConditionalPolicy,
    EmulatorApp,
    ManualClock,
    PaginationStyle,
    Principal,
    RateLimitPolicy,
    RequestContext,
)

TOKEN = "toy-token-0123456789"
DOCS = "https://toy.example/docs"


def toy_error(status: int, message: str, extra: Mapping[str, Any]) -> Any:
    return {"message": message, "documentation_url": DOCS, **extra}


class WidgetEmulator(EmulatorApp):
    """list/get/create/update widgets; bearer-token auth; GitHub-like error bodies."""

    provider = "toy"

    def __init__(
        self,
        *,
        clock: ManualClock | None = None,
        rate_limit: RateLimitPolicy | None = None,
        pagination: PaginationStyle | None = None,
        conditional: ConditionalPolicy | None = None,
        **options: Any,
    ) -> None:
        self.manual_clock = clock or ManualClock()
        super().__init__(
            clock=self.manual_clock,
            error_formatter=toy_error,
            rate_limit=rate_limit,
            pagination=pagination,
            conditional=conditional,
            **options,
        )
        self.widgets = self.store.collection("widgets")
        self.route("GET", "/widgets", self.list_widgets, name="listWidgets")
        self.route("POST", "/widgets", self.create_widget, name="createWidget")
        self.route("GET", "/widgets/{id:int}", self.get_widget, name="getWidget")
        self.route("PATCH", "/widgets/{id:int}", self.update_widget, name="updateWidget")
        self.route("DELETE", "/widgets/{id:int}", self.delete_widget, name="deleteWidget")
        self.route("GET", "/rate_limit", self.rate_limit_status, name="getRateLimit", charge=False)
        self.route("GET", "/meta", self.meta, name="getMeta", public=True)

    async def authenticate(self, ctx: RequestContext) -> AuthOutcome:
        header = ctx.headers.get("authorization")
        if header is None:
            return None
        if header != f"Bearer {TOKEN}":
            return self.error(401, "Bad credentials")
        return Principal("user:octo", identity={"login": "octo"}, scopes=frozenset({"write"}))

    async def list_widgets(self, ctx: RequestContext) -> Response:
        items = sorted(self.widgets.all(), key=lambda w: int(w["id"]))
        return ctx.paginate(items)

    async def get_widget(self, ctx: RequestContext) -> Response:
        widget = ctx.get_or_404(self.widgets, ctx.params["id"])
        meta = self.widgets.meta(widget["id"])
        return ctx.json(widget, etag=meta.etag, last_modified=meta.updated)

    async def create_widget(self, ctx: RequestContext) -> Response:
        ctx.require_scope("write", message="Must have admin rights to Repository.")
        body = ctx.json_body()
        if not isinstance(body, dict) or "name" not in body:
            ctx.fail(
                422,
                "Validation Failed",
                errors=[{"resource": "Widget", "field": "name", "code": "missing_field"}],
            )
        return ctx.json(self.widgets.insert({"name": body["name"]}), status=201)

    async def update_widget(self, ctx: RequestContext) -> dict[str, Any]:
        ctx.get_or_404(self.widgets, ctx.params["id"])
        return self.widgets.update(ctx.params["id"], ctx.json_body())

    async def delete_widget(self, ctx: RequestContext) -> None:
        if self.widgets.delete(ctx.params["id"]) is None:
            ctx.not_found()

    async def rate_limit_status(self, ctx: RequestContext) -> dict[str, Any]:
        assert self.rate_limiter is not None
        budget = self.rate_limiter.budget(ctx.credential)
        return {"resources": {"core": {"limit": budget.limit, "remaining": budget.remaining}}}

    async def meta(self, ctx: RequestContext) -> dict[str, Any]:
        return {"verifiable_password_authentication": False}


AUTH = {"authorization": f"Bearer {TOKEN}"}


def toy_client(app: EmulatorApp, **options: Any) -> httpx.AsyncClient:
    options.setdefault("headers", AUTH)
    return app.client(**options)


async def test_create_then_get_roundtrip_with_timestamps_from_the_clock() -> None:
    app = WidgetEmulator()
    async with toy_client(app) as client:
        created = await client.post("/widgets", json={"name": "sprocket"})
        assert created.status_code == 201
        widget = created.json()
        assert widget == {
            "name": "sprocket",
            "id": 1,
            "created_at": "2024-01-01T00:00:00Z",
            "updated_at": "2024-01-01T00:00:00Z",
        }
        app.manual_clock.advance(60)
        updated = await client.patch("/widgets/1", json={"name": "gear"})
        assert updated.json()["updated_at"] == "2024-01-01T00:01:00Z"
        fetched = await client.get("/widgets/1")
        assert fetched.json()["name"] == "gear"
        assert fetched.headers["etag"] == app.widgets.meta(1).etag
    assert [e.operation for e in app.requests] == ["createWidget", "updateWidget", "getWidget"]
    assert app.requests[0].credential == "user:octo"
    app.assert_no_unmatched()


async def test_unmatched_route_answers_provider_404_and_is_recorded() -> None:
    app = WidgetEmulator()
    async with toy_client(app) as client:
        missing = await client.get("/gadgets")
        wrong_method = await client.put("/widgets")
    assert missing.status_code == 404
    assert missing.json() == {"message": "Not Found", "documentation_url": DOCS}
    assert wrong_method.status_code == 404
    assert [(e.method, e.path) for e in app.unmatched] == [("GET", "/gadgets"), ("PUT", "/widgets")]
    assert all(not e.matched for e in app.unmatched)
    with pytest.raises(AssertionError, match="GET /gadgets"):
        app.assert_no_unmatched()


async def test_unknown_object_is_a_provider_404_but_not_unmatched() -> None:
    app = WidgetEmulator()
    async with toy_client(app) as client:
        response = await client.get("/widgets/99")
    assert response.status_code == 404
    assert response.json()["documentation_url"] == DOCS
    assert app.unmatched == []


async def test_authentication_hook_refuses_with_provider_body() -> None:
    app = WidgetEmulator()
    async with app.client(headers={"authorization": "Bearer wrong-token"}) as client:
        refused = await client.get("/widgets")
        public = await client.get("/meta")
    assert refused.status_code == 401
    assert refused.json() == {"message": "Bad credentials", "documentation_url": DOCS}
    assert public.status_code == 200


async def test_anonymous_write_lacks_scope_and_gets_403() -> None:
    app = WidgetEmulator()
    async with app.client() as client:
        response = await client.post("/widgets", json={"name": "x"})
    assert response.status_code == 403
    assert response.json()["message"] == "Must have admin rights to Repository."
    assert len(app.widgets) == 0


async def test_error_helpers_malformed_json_and_validation_extras() -> None:
    app = WidgetEmulator()
    async with toy_client(app) as client:
        bad = await client.post("/widgets", content=b"{not json")
        invalid = await client.post("/widgets", json={"colour": "red"})
    assert bad.status_code == 400
    assert bad.json()["message"] == "Problems parsing JSON"
    assert invalid.status_code == 422
    assert invalid.json()["errors"] == [
        {"resource": "Widget", "field": "name", "code": "missing_field"}
    ]


async def test_none_result_is_204_and_head_has_no_body() -> None:
    app = WidgetEmulator()
    app.widgets.insert({"name": "a"})
    async with toy_client(app) as client:
        head = await client.head("/widgets/1")
        deleted = await client.delete("/widgets/1")
        again = await client.delete("/widgets/1")
    assert head.status_code == 200
    assert head.content == b""
    assert int(head.headers["content-length"]) > 0
    assert deleted.status_code == 204
    assert again.status_code == 404


async def test_request_log_hides_credentials_and_supports_assertions() -> None:
    app = WidgetEmulator()
    canary = Secret("canary-value-987654")
    async with toy_client(app) as client:
        await client.post("/widgets", json={"name": canary.reveal()})
        await client.get("/widgets", params={"per_page": "5"})
    first, second = app.requests
    assert first.headers["authorization"] == "***"
    assert TOKEN not in repr(app.requests[0])
    assert b"canary-value-987654" not in first.body
    assert first.status == 201
    assert second.params == {"per_page": "5"}
    assert app.requests.count(method="POST") == 1
    assert app.requests.filter(operation="listWidgets") == [second]
    app.requests.assert_none(method="DELETE")
    with pytest.raises(AssertionError, match="POST /widgets"):
        app.requests.assert_none(method="POST")


async def test_decorator_registration_and_base_path() -> None:
    app = EmulatorApp(provider="deco", base_path="/api/v4")

    @app.get("/things/{name}", name="getThing")
    async def get_thing(ctx: RequestContext) -> dict[str, Any]:
        return {"name": ctx.params["name"]}

    async with app.client() as client:
        found = await client.get("/api/v4/things/bolt")
        missing = await client.get("/things/bolt")
    assert found.json() == {"name": "bolt"}
    assert missing.status_code == 404
    assert missing.json() == {"message": "Not Found"}
    assert app.api_base_url == "http://emulator.test/api/v4"


async def test_handler_bug_surfaces_in_process() -> None:
    app = EmulatorApp()

    @app.get("/boom")
    async def boom(ctx: RequestContext) -> None:
        raise ZeroDivisionError("handler bug")

    async with app.client() as client:
        with pytest.raises(ZeroDivisionError):
            await client.get("/boom")


async def test_latency_uses_the_injected_sleep() -> None:
    slept: list[float] = []

    async def fake_sleep(seconds: float) -> None:
        slept.append(seconds)

    app = WidgetEmulator(latency=0.25, sleep=fake_sleep)
    async with toy_client(app) as client:
        await client.get("/widgets")
        await client.get("/widgets")
    assert slept == [0.25, 0.25]


async def test_reset_forgets_logs_but_keeps_state() -> None:
    app = WidgetEmulator()
    app.widgets.insert({"name": "kept"})
    async with toy_client(app) as client:
        await client.get("/nowhere")
    app.faults.add(kind="status")
    app.reset()
    assert len(app.requests) == 0
    assert app.unmatched == []
    assert app.faults.rules == []
    assert len(app.widgets) == 1
