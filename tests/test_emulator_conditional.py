"""ETag / Last-Modified validators and 304 answers (not charged by default)."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st
from test_emulator_toy import WidgetEmulator, toy_client

from kradle_providers.testing.emulator import (
    ConditionalPolicy,
    ManualClock,
    RateLimitPolicy,
    compute_etag,
    etag_matches,
    format_http_date,
    parse_http_date,
)


@given(st.binary(max_size=200), st.booleans())
def test_computed_etag_matches_itself_weak_or_strong(body: bytes, weak: bool) -> None:
    tag = compute_etag(body, weak=weak)
    assert etag_matches(tag, tag)
    assert etag_matches(tag.removeprefix("W/"), tag)  # weak comparison
    assert etag_matches(f'"other", {tag}', tag)
    assert etag_matches("*", tag)
    assert not etag_matches(compute_etag(body + b"x"), tag)


@given(st.datetimes(min_value=datetime(1971, 1, 1), max_value=datetime(2100, 1, 1)))
def test_http_dates_roundtrip_to_the_second(when: datetime) -> None:
    aware = when.replace(tzinfo=UTC, microsecond=0)
    assert parse_http_date(format_http_date(aware)) == aware


def test_garbage_http_date_is_ignored() -> None:
    assert parse_http_date("yesterday-ish") is None


async def test_matching_etag_gives_304_without_charge() -> None:
    app = WidgetEmulator(rate_limit=RateLimitPolicy(limit=10))
    app.widgets.insert({"name": "a"})
    async with toy_client(app) as client:
        first = await client.get("/widgets/1")
        etag = first.headers["etag"]
        cached = await client.get("/widgets/1", headers={"if-none-match": etag})
        app.widgets.update(1, name="b")
        changed = await client.get("/widgets/1", headers={"if-none-match": etag})
    assert first.headers["x-ratelimit-remaining"] == "9"
    assert cached.status_code == 304
    assert cached.content == b""
    assert cached.headers["etag"] == etag
    assert cached.headers["x-ratelimit-remaining"] == "9"
    assert changed.status_code == 200
    assert changed.json()["name"] == "b"
    assert changed.headers["x-ratelimit-remaining"] == "8"
    assert app.requests[1].status == 304


async def test_304_is_charged_when_configured() -> None:
    app = WidgetEmulator(
        rate_limit=RateLimitPolicy(limit=10),
        conditional=ConditionalPolicy(charge_not_modified=True),
    )
    app.widgets.insert({"name": "a"})
    async with toy_client(app) as client:
        etag = (await client.get("/widgets/1")).headers["etag"]
        cached = await client.get("/widgets/1", headers={"if-none-match": etag})
    assert cached.status_code == 304
    assert cached.headers["x-ratelimit-remaining"] == "8"


async def test_lists_get_automatic_weak_etags_and_304() -> None:
    app = WidgetEmulator(conditional=ConditionalPolicy(weak=True))
    app.widgets.insert({"name": "a"})
    async with toy_client(app) as client:
        first = await client.get("/widgets")
        assert first.headers["etag"].startswith('W/"')
        cached = await client.get("/widgets", headers={"if-none-match": first.headers["etag"]})
        app.widgets.insert({"name": "b"})
        fresh = await client.get("/widgets", headers={"if-none-match": first.headers["etag"]})
    assert cached.status_code == 304
    assert fresh.status_code == 200


async def test_if_modified_since_uses_last_modified() -> None:
    clock = ManualClock(datetime(2024, 3, 1, 12, tzinfo=UTC))
    app = WidgetEmulator(clock=clock)
    app.widgets.insert({"name": "a"})
    async with toy_client(app) as client:
        first = await client.get("/widgets/1")
        last_modified = first.headers["last-modified"]
        assert last_modified == "Fri, 01 Mar 2024 12:00:00 GMT"
        same = await client.get("/widgets/1", headers={"if-modified-since": last_modified})
        older = await client.get(
            "/widgets/1", headers={"if-modified-since": "Fri, 01 Mar 2024 11:59:59 GMT"}
        )
        # If-None-Match wins over If-Modified-Since.
        mismatch = await client.get(
            "/widgets/1",
            headers={"if-modified-since": last_modified, "if-none-match": '"nope"'},
        )
    assert same.status_code == 304
    assert older.status_code == 200
    assert mismatch.status_code == 200


async def test_writes_and_errors_are_never_304_and_disabled_policy_sends_200() -> None:
    app = WidgetEmulator(conditional=ConditionalPolicy(enabled=False))
    app.widgets.insert({"name": "a"})
    async with toy_client(app) as client:
        first = await client.get("/widgets/1")
        again = await client.get("/widgets/1", headers={"if-none-match": first.headers["etag"]})
        missing = await client.get("/widgets/9", headers={"if-none-match": "*"})
        patched = await client.patch(
            "/widgets/1", json={"name": "a"}, headers={"if-none-match": "*"}
        )
    assert again.status_code == 200
    assert missing.status_code == 404
    assert patched.status_code == 200
