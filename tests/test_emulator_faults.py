"""Fault injection by rule, observed by an httpx client over app.transport()."""

from __future__ import annotations

import json

import httpx
import pytest
from test_emulator_toy import DOCS, WidgetEmulator, toy_client

from kradle_providers.testing.emulator import FaultKind, Rule


async def test_status_fault_fires_once_then_the_request_succeeds() -> None:
    app = WidgetEmulator()
    app.faults.add(Rule(kind=FaultKind.STATUS, match="GET /widgets", status=502))
    async with toy_client(app) as client:
        failed = await client.get("/widgets")
        ok = await client.get("/widgets")
    assert failed.status_code == 502
    assert failed.json() == {"message": "Server Error", "documentation_url": DOCS}
    assert ok.status_code == 200
    assert [e.fault for e in app.requests] == ["status", None]
    app.faults.assert_all_fired()


async def test_custom_body_times_and_skip() -> None:
    app = WidgetEmulator()
    app.faults.add(Rule(match="listWidgets", status=503, body="upstream down", times=2, skip=1))
    async with toy_client(app) as client:
        statuses = [(await client.get("/widgets")).status_code for _ in range(4)]
        body = app.requests[1]
    assert statuses == [200, 503, 503, 200]
    assert body.status == 503
    rule = app.faults.rules[0]
    assert (rule.seen, rule.fired, rule.exhausted) == (3, 2, True)


async def test_rule_matching_by_method_path_regex_and_operation() -> None:
    rule = Rule(match="POST ^/widgets$")
    assert (rule.method, rule.path, rule.operation) == ("POST", "^/widgets$", None)
    assert rule.matches("post", "/widgets", None)
    assert not rule.matches("GET", "/widgets", None)
    assert not rule.matches("POST", "/widgets/1", None)
    by_op = Rule(match="getWidget")
    assert by_op.operation == "getWidget" and by_op.matches("GET", "/x", "getWidget")
    forever = Rule(path=r"/widgets/\d+", times=None)
    assert forever.matches("DELETE", "/widgets/12", None)
    with pytest.raises(ValueError, match="times"):
        Rule(times=0)


async def test_rate_limit_and_secondary_limit_faults() -> None:
    app = WidgetEmulator()
    app.faults.add(kind=FaultKind.RATE_LIMIT, match="GET /widgets", retry_after=7)
    app.faults.add(kind=FaultKind.SECONDARY_LIMIT, match="POST /widgets", retry_after=30)
    async with toy_client(app) as client:
        limited = await client.get("/widgets")
        secondary = await client.post("/widgets", json={"name": "a"})
    assert limited.status_code == 429
    assert limited.headers["retry-after"] == "7"
    assert secondary.status_code == 403
    assert secondary.headers["retry-after"] == "30"
    assert "secondary rate limit" in secondary.json()["message"]
    assert len(app.widgets) == 0  # refused requests never reach the handler


async def test_timeout_raises_read_timeout_without_processing() -> None:
    app = WidgetEmulator()
    app.faults.add(kind=FaultKind.TIMEOUT, match="POST /widgets")
    async with toy_client(app) as client:
        with pytest.raises(httpx.ReadTimeout):
            await client.post("/widgets", json={"name": "a"})
        ok = await client.post("/widgets", json={"name": "b"})
    assert ok.status_code == 201
    assert [w["name"] for w in app.widgets.all()] == ["b"]
    assert app.requests[0].fault == "timeout"
    assert app.requests[0].status == 0


async def test_timeout_after_processing_changes_state() -> None:
    app = WidgetEmulator()
    app.faults.add(kind=FaultKind.TIMEOUT, match="POST /widgets", processed=True)
    async with toy_client(app) as client:
        with pytest.raises(httpx.ReadTimeout):
            await client.post("/widgets", json={"name": "a"})
    assert len(app.widgets) == 1


async def test_dropped_post_is_processed_but_the_response_is_lost() -> None:
    app = WidgetEmulator()
    app.faults.add(kind=FaultKind.DROPPED, match="POST /widgets")
    async with toy_client(app) as client:
        with pytest.raises(httpx.RemoteProtocolError):
            await client.post("/widgets", json={"name": "only-once"})
        # A careful client looks before retrying and finds the write happened.
        listed = (await client.get("/widgets")).json()
    assert [w["name"] for w in listed] == ["only-once"]
    assert app.requests[0].status == 201
    assert app.requests[0].fault == "dropped"


async def test_dropped_before_processing() -> None:
    app = WidgetEmulator()
    app.faults.add(kind=FaultKind.DROPPED, match="POST /widgets", processed=False)
    async with toy_client(app) as client:
        with pytest.raises(httpx.RemoteProtocolError):
            await client.post("/widgets", json={"name": "x"})
    assert len(app.widgets) == 0


async def test_truncated_body_breaks_json_parsing() -> None:
    app = WidgetEmulator()
    for i in range(5):
        app.widgets.insert({"name": f"w{i}"})
    app.faults.add(kind=FaultKind.TRUNCATED, match="GET /widgets")
    app.faults.add(kind=FaultKind.TRUNCATED, match="GET /widgets", truncate_to=3)
    async with toy_client(app) as client:
        half = await client.get("/widgets")
        three = await client.get("/widgets")
        whole = await client.get("/widgets")
    assert half.status_code == 200
    assert len(half.content) == len(whole.content) // 2
    assert int(half.headers["content-length"]) == len(half.content)
    with pytest.raises(json.JSONDecodeError):
        half.json()
    assert three.content == whole.content[:3]


async def test_assert_all_fired_reports_rules_that_never_fired() -> None:
    app = WidgetEmulator()
    app.faults.add(match="DELETE /widgets/1")
    with pytest.raises(AssertionError, match="did not fire"):
        app.faults.assert_all_fired()
    assert len(app.faults.pending) == 1
