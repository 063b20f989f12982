"""Canary secrets never leak: logs, exception text, reprs, audit records."""

from __future__ import annotations

import dataclasses
import logging

import httpx
import pytest

from kradle_providers.auth import Secret
from kradle_providers.errors import ProviderError, TransientProviderError
from kradle_providers.http import (
    AuditRecord,
    BudgetRegistry,
    HttpClient,
    ManualClock,
    RetryPolicy,
    canonical_request_digest,
    redact_url,
)

HEADER_CANARY = Secret("ghp_CANARYheader0123456789")
QUERY_CANARY = Secret("qp_CANARYquery0123456789")
UNREGISTERED = "glpat-unregisteredCANARY42"


class CanaryAuth:
    @property
    def credential_id(self) -> str:
        return "cred-canary"

    async def authorize(self, request: httpx.Request) -> None:
        request.headers["Authorization"] = f"Bearer {HEADER_CANARY.reveal()}"

    async def refresh_after_refusal(self, response: httpx.Response) -> bool:
        return False


def echo(status: int) -> httpx.MockTransport:
    """A server that echoes every credential it receives back in its body."""

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            status,
            json={
                "message": f"bad {request.headers.get('Authorization')}",
                "url": str(request.url),
            },
            headers={"X-Echo": request.headers.get("Authorization", "")},
        )

    return httpx.MockTransport(handler)


def assert_clean(text: str) -> None:
    for canary in (HEADER_CANARY.reveal(), QUERY_CANARY.reveal(), UNREGISTERED):
        assert canary not in text, f"leaked {canary[:6]}... in {text[:200]!r}"


@pytest.mark.parametrize("status", [500, 422, 403, 401, 404, 409])
async def test_canaries_never_leak(status: int, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="kradle_providers.http")
    records: list[AuditRecord] = []
    client = HttpClient(
        "https://api.example.test",
        provider="p",
        auth=CanaryAuth(),
        transport=echo(status),
        clock=ManualClock(),
        budgets=BudgetRegistry(),
        audit_hooks=[records.append],
        retry=RetryPolicy(max_attempts=2),
    )
    with pytest.raises(ProviderError) as info:
        await client.get(
            "/things",
            params={"access_token": QUERY_CANARY.reveal(), "private_token": UNREGISTERED},
        )
    error = info.value
    assert_clean(str(error))
    assert_clean(repr(error))
    assert_clean(repr(error.native))
    assert_clean(repr(error.args))
    assert_clean(caplog.text)
    assert_clean(repr(client))
    assert records, "every attempt is audited"
    for record in records:
        assert_clean(repr(record))
        assert_clean(repr(dataclasses.asdict(record)))
    assert "access_token=%2A%2A%2A" in records[0].url or "access_token=***" in records[0].url


async def test_lost_post_error_and_logs_are_clean(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="kradle_providers.http")

    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadError(f"reset while sending {request.headers['Authorization']}")

    client = HttpClient(
        "https://api.example.test",
        provider="p",
        auth=CanaryAuth(),
        transport=httpx.MockTransport(handler),
        clock=ManualClock(),
        budgets=BudgetRegistry(),
    )
    with pytest.raises(TransientProviderError) as info:
        await client.post("/issues?token=" + UNREGISTERED, json={"t": QUERY_CANARY.reveal()})
    assert_clean(str(info.value))
    assert_clean(caplog.text)


async def test_successful_responses_repr_and_logs_are_clean(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, logger="kradle_providers.http")
    client = HttpClient(
        "https://api.example.test",
        provider="p",
        auth=CanaryAuth(),
        transport=echo(200),
        clock=ManualClock(),
        budgets=BudgetRegistry(),
    )
    response = await client.get("/x", params={"client_secret": UNREGISTERED})
    assert_clean(repr(response))
    assert "GET https://api.example.test/x" in caplog.text
    assert_clean(caplog.text)


def test_request_digest_ignores_credentials_but_not_content() -> None:
    url = "https://h.test/x?access_token=one-token-value&q=1"
    base = canonical_request_digest("POST", url, [("Authorization", "Bearer a")], b'{"a":1}')
    other_token = canonical_request_digest(
        "POST",
        url.replace("one-token-value", "two-token-value"),
        [("Authorization", "Bearer b")],
        b'{"a":1}',
    )
    assert base == other_token
    assert base != canonical_request_digest("POST", url, [], b'{"a":2}')
    assert base != canonical_request_digest("PUT", url, [], b'{"a":1}')
    assert len(base) == 64


def test_redact_url_masks_credential_params_only() -> None:
    masked = redact_url(
        "https://user:pw@h.test/p?access_token=abc&private_token=def&nextPageToken=n1&page=2"
    )
    assert "abc" not in masked and "def" not in masked and "pw" not in masked
    assert "nextPageToken=n1" in masked and "page=2" in masked


async def test_audit_records_attempts_and_digests() -> None:
    records: list[AuditRecord] = []
    calls = 0

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        return httpx.Response(503 if calls == 1 else 200, json={"ok": calls})

    async def async_hook(record: AuditRecord) -> None:
        records.append(record)

    def broken_hook(record: AuditRecord) -> None:
        raise RuntimeError("hook failure must not break the request")

    client = HttpClient(
        "https://api.example.test",
        provider="p",
        transport=httpx.MockTransport(handler),
        clock=ManualClock(),
        budgets=BudgetRegistry(),
        audit_hooks=[broken_hook, async_hook],
    )
    await client.put("/x", json={"a": 1})
    assert [(r.attempt, r.status, r.outcome) for r in records] == [
        (1, 503, "response"),
        (2, 200, "response"),
    ]
    assert records[0].request_digest == records[1].request_digest
    assert records[0].response_digest != records[1].response_digest
    assert all(r.credential_id == "anonymous" for r in records)
