"""Repository webhooks on the emulator, read and written by githubkit (GitHub's OpenAPI models).

Create, list, update and delete a hook; the hook receives only its
repository's events, signed with its secret; its delivery log lists each
attempt and a redelivery sends the same delivery again.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
from kradle_provider_github.emulator import GitHubEmulator, create_emulator

from kradle_providers.auth.secret import Secret
from kradle_providers.testing.emulator import LoopbackServer
from kradle_providers.webhooks.verify import make_verifier

pytest.importorskip("githubkit")

SECRET = "hook-secret-for-githubkit-0001"


class Receiver:
    """A tiny ASGI receiver that records bodies and verifies their signature."""

    def __init__(self, status: int = 202) -> None:
        self.status = status
        self.received: list[tuple[str, bytes]] = []

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        headers = {k.decode(): v.decode() for k, v in scope["headers"]}
        # Signed with the hook's secret (raises otherwise).
        delivery = make_verifier("github", Secret(SECRET)).verify(body, headers)
        self.received.append((delivery.event, body))
        await send({"type": "http.response.start", "status": self.status, "headers": []})
        await send({"type": "http.response.body", "body": b""})


@pytest.fixture
def served() -> Iterator[tuple[GitHubEmulator, str]]:
    emulator = create_emulator(seed="demo")
    with LoopbackServer(emulator) as server:
        yield emulator, server.url


def test_githubkit_manages_hooks_and_their_delivery_log(
    served: tuple[GitHubEmulator, str],
) -> None:
    from githubkit import GitHub, TokenAuthStrategy

    emulator, url = served
    receiver = Receiver(status=500)
    with (
        LoopbackServer(receiver) as hook_server,
        GitHub(TokenAuthStrategy(emulator.token), base_url=url + "/") as kit,
    ):
        hook_url = hook_server.url + "/github"
        created = kit.rest.repos.create_webhook(
            "acme",
            "widgets",
            config={"url": hook_url, "content_type": "json", "secret": SECRET},
            events=["issues"],
        ).parsed_data
        assert created.config.url == hook_url and created.events == ["issues"]
        assert created.config.secret == "********"  # never shown back
        [listed] = kit.rest.repos.list_webhooks("acme", "widgets").parsed_data
        assert listed.id == created.id
        updated = kit.rest.repos.update_webhook(
            "acme", "widgets", created.id, add_events=["label"]
        ).parsed_data
        assert sorted(updated.events) == ["issues", "label"]

        # Only this repository's issue reaches the hook, and the receiver fails it (500).
        mut = emulator.mutations
        other = mut.create_repo("acme", "gadgets")
        mut.create_issue(other["id"], "Elsewhere", user="octocat")
        mut.create_issue(emulator.state.repo("acme", "widgets")["id"], "Here", user="octocat")
        asyncio.run(emulator.webhooks.flush())
        assert [event for event, _ in receiver.received] == ["issues"]

        [entry] = kit.rest.repos.list_webhook_deliveries("acme", "widgets", created.id).parsed_data
        assert entry.event == "issues" and entry.status_code == 500 and not entry.redelivery
        receiver.status = 202
        kit.rest.repos.redeliver_webhook_delivery("acme", "widgets", created.id, entry.id)
        assert len(receiver.received) == 2 and receiver.received[0][1] == receiver.received[1][1]
        entries = kit.rest.repos.list_webhook_deliveries("acme", "widgets", created.id).parsed_data
        assert [(e.guid == entry.guid, e.redelivery, e.status_code) for e in entries] == [
            (True, True, 202),
            (True, False, 500),
        ]
        kit.rest.repos.delete_webhook("acme", "widgets", created.id)
        assert kit.rest.repos.list_webhooks("acme", "widgets").parsed_data == []
