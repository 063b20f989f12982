"""Fidelity: emitted webhooks verify with the plugin's spec and carry the upstream shapes."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from kradle_provider_jira.emulator import JiraEmulator, create_emulator
from kradle_provider_jira.webhooks import WEBHOOKS

from kradle_providers.errors import WebhookSignatureError
from kradle_providers.testing.fixtures import require_upstream
from kradle_providers.webhooks.verify import Verifier

SECRET = "whsec-jira-emulator"


def fixture(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((require_upstream("jira") / name).read_text())
    return data


async def _drive(emu: JiraEmulator) -> None:
    """Create, edit, transition, comment and delete through the REST API."""
    raw = base64.b64encode(f"dev@example.com:{emu.token}".encode()).decode()
    headers = (
        {"Authorization": f"Basic {raw}"} if emu.cloud else {"Authorization": f"Bearer {emu.token}"}
    )
    v = "3" if emu.cloud else "2"
    body: Any = (
        {
            "type": "doc",
            "version": 1,
            "content": [{"type": "paragraph", "content": [{"type": "text", "text": "x"}]}],
        }
        if emu.cloud
        else "x"
    )
    async with emu.client(headers=headers) as client:
        created = await client.post(
            f"/rest/api/{v}/issue",
            json={
                "fields": {
                    "project": {"key": "WID"},
                    "summary": "Hook",
                    "issuetype": {"name": "Task"},
                }
            },
        )
        key = created.json()["key"]
        await client.put(
            f"/rest/api/{v}/issue/{key}", json={"update": {"labels": [{"add": "hooked"}]}}
        )
        await client.post(
            f"/rest/api/{v}/issue/{key}/transitions",
            json={"transition": {"id": "31"}, "fields": {"resolution": {"name": "Done"}}},
        )
        comment = (
            await client.post(f"/rest/api/{v}/issue/{key}/comment", json={"body": body})
        ).json()
        await client.put(f"/rest/api/{v}/issue/{key}/comment/{comment['id']}", json={"body": body})
        await client.delete(f"/rest/api/{v}/issue/{key}/comment/{comment['id']}")
        await client.delete(f"/rest/api/{v}/issue/{key}")
    await emu.webhooks.flush()


@pytest.mark.parametrize("flavor", ["cloud", "datacenter"])
async def test_webhooks_are_signed_and_shaped_like_jiras(flavor: str) -> None:
    emu = create_emulator(seed="empty", flavor=flavor)
    received: list[tuple[bytes, dict[str, str]]] = []

    async def receiver(scope: Any, receive: Any, send: Any) -> None:
        chunks = []
        while True:
            message = await receive()
            chunks.append(message.get("body", b""))
            if not message.get("more_body"):
                break
        headers = {k.decode(): v.decode() for k, v in scope["headers"]}
        received.append((b"".join(chunks), headers))
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    emu.webhooks.subscribe("http://receiver.test/jira", SECRET, app=receiver)
    await _drive(emu)

    verifier = Verifier("jira", WEBHOOKS, SECRET)
    by_event: dict[str, list[dict[str, Any]]] = {}
    for body, headers in received:
        verified = verifier.verify(body, headers)
        assert verified.delivery_id == headers["x-atlassian-webhook-identifier"]
        payload = json.loads(body)
        by_event.setdefault(
            f"{payload['webhookEvent']}/{payload.get('issue_event_type_name', '')}", []
        ).append(payload)
    assert set(by_event) == {
        "jira:issue_created/issue_created",
        "jira:issue_updated/issue_updated",
        "jira:issue_updated/issue_resolved",
        "comment_created/",
        "jira:issue_updated/issue_commented",
        "comment_updated/",
        "jira:issue_updated/issue_comment_edited",
        "comment_deleted/",
        "jira:issue_updated/issue_comment_deleted",
        "jira:issue_deleted/",
    }
    UPDATED = "jira_issue_updated/mattermost.webhook-"
    server = "server" if flavor == "datacenter" else "cloud"
    same_shape = {
        "jira:issue_created/issue_created": "jira_issue_created/"
        "mattermost.webhook-issue-created.json",
        "jira:issue_updated/issue_updated": UPDATED + "issue-updated-labels.json",
        "jira:issue_updated/issue_resolved": UPDATED + "issue-updated-resolved.json",
        "jira:issue_updated/issue_commented": UPDATED + "server-issue-updated-commented-1.json",
        "jira:issue_updated/issue_comment_edited": UPDATED
        + "server-issue-updated-comment-edited.json",
        "jira:issue_updated/issue_comment_deleted": UPDATED
        + "server-issue-updated-comment-deleted.json",
        "jira:issue_deleted/": "jira_issue_deleted/mattermost.webhook-issue-deleted.json",
        "comment_created/": f"comment_created/mattermost.webhook-{server}-comment-created.json",
        "comment_updated/": f"comment_updated/mattermost.webhook-{server}-comment-updated.json",
    }
    if flavor == "cloud":
        same_shape["comment_deleted/"] = (
            "comment_deleted/mattermost.webhook-cloud-comment-deleted.json"
        )
    for event, name in same_shape.items():
        real = fixture(name)
        ours = by_event[event][0]
        assert set(ours) == set(real), (event, name)
        if "issue" in real:
            assert set(ours["issue"]) == set(real["issue"]), event
        if "changelog" in real:
            assert set(ours["changelog"]) == set(real["changelog"]), event
            real_item = real["changelog"]["items"][0]
            assert set(ours["changelog"]["items"][0]) >= set(real_item) - {
                "tmpFromAccountId",
                "tmpToAccountId",
            }
        if "comment" in real:
            assert set(ours["comment"]) - {"jsdPublic"} == set(real["comment"]) - {"jsdPublic"}
        user_keys = {"self", "displayName", "active", "timeZone", "avatarUrls"}
        if "user" in real:
            assert user_keys <= set(ours["user"])
            assert ("accountId" in ours["user"]) is (flavor == "cloud")
    resolved = by_event["jira:issue_updated/issue_resolved"][0]
    assert [i["field"] for i in resolved["changelog"]["items"]] == ["resolution", "status"]
    assert resolved["issue"]["fields"]["resolution"]["name"] == "Done"


async def test_unsigned_without_secret_and_tampering_is_detected() -> None:
    emu = create_emulator(seed="empty", flavor="cloud")
    emu.webhooks.subscribe("http://nowhere.test/hook", "")
    signed = emu.webhooks.subscribe("http://nowhere.test/signed", SECRET)
    emu.control.seed("Issue")
    deliveries = emu.webhooks.deliveries
    plain = next(d for d in deliveries if d.url.endswith("/hook"))
    assert "x-hub-signature" not in plain.headers
    assert plain.headers["x-atlassian-webhook-identifier"] == plain.id
    with_secret = next(d for d in deliveries if d.url == signed.url)
    Verifier("jira", WEBHOOKS, SECRET).verify(with_secret.body, with_secret.headers)
    with pytest.raises(WebhookSignatureError):
        Verifier("jira", WEBHOOKS, SECRET).verify(with_secret.body + b" ", with_secret.headers)
    emu.webhooks.clear()
