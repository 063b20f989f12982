"""``SyncServer`` / ``sync serve`` (issue 13 item 3): receiver + write worker + backfill.

The GitHub emulator (in process) is the provider; the server listens on a real
loopback port and the emulator delivers its signed webhooks there over HTTP.
An approved write is sent by the worker and confirmed by the webhook the
emulator emits for it (not by read-back: read-back is pushed out of the way).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from kradle_providers.auth.secret import Secret
from kradle_providers.metrics import RecordingMetrics
from kradle_providers.plugins.selection import BindingRefused
from kradle_providers.store import SqliteStateStore
from kradle_providers.store.claims import DEFAULT_LEASE
from kradle_providers.sync import cli
from kradle_providers.sync.binding import parse_binding
from kradle_providers.sync.phases import BindingPhase, DeliveryPhase, allowed_next
from kradle_providers.sync.phases import WriteIntentPhase as W
from kradle_providers.sync.policy import WritePolicy
from kradle_providers.sync.recover import recover_missed
from kradle_providers.sync.runtime import BoundBinding, ProviderOverride
from kradle_providers.sync.serve import ServeOptions, SyncServer
from kradle_providers.sync.status import status_report

gh_emulator = pytest.importorskip("kradle_provider_github.emulator")
jira_emulator = pytest.importorskip("kradle_provider_jira.emulator")

GH_TOKEN = "ghp_serveTestToken0000000000000000000001"
SECRET = "serve-webhook-secret-0001"
BINDING = """\
apiVersion: kradle.a5c.ai/v1alpha1
kind: ExternalBackendBinding
metadata: {name: widgets}
spec:
  target: {kind: Repository, name: widgets}
  providers:
    gh: {type: github, apiBaseUrl: "https://api.github.test", auth: {token: {env: GH_TOKEN}},
         webhookSecret: {env: GH_WEBHOOK_SECRET}}
  interfaces:
    issueTracking: {provider: gh, mode: bidirectional,
                    externalRef: {owner: acme, repository: widgets}, kinds: [Issue]}
"""


async def opened(text: str, alias: str, emulator: Any) -> BoundBinding:
    """``text`` opened with ``alias``'s HTTP routed to the in-process ``emulator``."""
    return await BoundBinding.open(
        parse_binding(text, environ={}),
        overrides={alias: ProviderOverride(transport=emulator.transport())},
    )


@contextlib.asynccontextmanager
async def running(server: SyncServer) -> AsyncIterator[SyncServer]:
    """``server.run()`` in a task for the block, stopped and awaited after it."""
    task = asyncio.create_task(server.run())
    try:
        yield server
    finally:
        server.stop()
        await asyncio.wait_for(task, timeout=10)


async def issue_titles(store: SqliteStateStore) -> set[str]:
    return {
        str(p.object["title"])
        async for p in store.projections.iter_projections(binding="widgets", kind="Issue")
        if p.object is not None
    }


async def reaches(server: SyncServer, phase: BindingPhase) -> None:
    async def there() -> bool:
        return server.phase.phase is phase

    await until(there)


@pytest.fixture
async def served(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[tuple[SyncServer, object]]:
    monkeypatch.setenv("GH_TOKEN", GH_TOKEN)
    monkeypatch.setenv("GH_WEBHOOK_SECRET", SECRET)
    gh = gh_emulator.create_emulator(seed="demo", token=GH_TOKEN)
    async with await opened(BINDING, "gh", gh) as bound, SqliteStateStore(":memory:") as store:
        options = ServeOptions(
            port=0, write_interval=0.02, read_back_interval=3600, backfill_interval=0
        )
        server = SyncServer(bound, store, options=options, metrics=RecordingMetrics())
        server.listen()
        async with running(server):
            yield server, gh


async def until(predicate: Callable[[], Awaitable[bool]], seconds: float = 30.0) -> None:
    """Poll ``predicate`` (the store changes under other tasks) until true or time runs out."""
    async with asyncio.timeout(seconds):
        for _ in itertools.count():
            if await predicate():
                return
            await asyncio.sleep(0.02)


async def test_serve_backfills_sends_and_confirms_a_write_by_webhook(
    served: tuple[SyncServer, object],
) -> None:
    server, gh = served
    store = server.store
    [url] = server.webhook_urls()
    assert url.endswith("/github/gh")

    async def backfilled() -> bool:
        return server.phase.phase is BindingPhase.READY

    await until(backfilled)
    # The binding came up through its phases, recorded in the audit stream.
    moves = [
        (e.details["from"], e.details["to"])
        for e in await store.audit.find(binding="widgets")
        if e.action == "phase.binding"
    ]
    assert moves == [
        ("Pending", "ValidatingTarget"),
        ("ValidatingTarget", "RegisteringWebhook"),
        ("RegisteringWebhook", "Backfilling"),
        ("Backfilling", "Ready"),
    ]
    # The webhook was registered through GitHub's hooks API, for the bound interface's events.
    [hook] = server.hooks.values()
    assert hook.created and hook.url == url
    assert set(hook.events) == {"issues", "issue_comment", "label", "milestone"}
    [sub] = gh.webhooks.subscriptions  # type: ignore[attr-defined]
    assert sub.url == url and sub.secret.reveal() == SECRET and set(sub.events) == set(hook.events)
    phases = (await status_report(store))["phases"]["widgets"]
    assert phases["binding"]["widgets"]["phase"] == "Ready"
    assert phases["provider"]["gh"]["phase"] == "Ready"
    seeded = gh.counts("acme/widgets")["Issue"]  # type: ignore[attr-defined]
    counts = await store.projections.count_by_kind("widgets")
    assert counts["issueTracking/Issue"] == seeded

    intent = await server.intents.propose(
        "widgets", "issueTracking", "createIssue", None, {"title": "Served"}, "agent:t"
    )
    assert intent.phase is W.READY_TO_SEND

    async def confirmed() -> bool:
        return (await store.intents.get(intent.id)).phase is W.SUCCEEDED

    await until(confirmed)
    done = await store.intents.get(intent.id)
    assert done.confirmation is not None and done.confirmation.delivery_id
    confirming = done.confirmation.delivery_id

    async def settled() -> bool:
        # The intent is confirmed while its delivery is processed, before its last phase.
        [record] = await store.deliveries.find_by_delivery_id("github", confirming)
        return not allowed_next(record.phase)  # only an operator moves it on

    await until(settled)
    [record] = await store.deliveries.find_by_delivery_id("github", confirming)
    assert record.phase is DeliveryPhase.SUCCEEDED
    counts = await store.projections.count_by_kind("widgets")
    assert counts["issueTracking/Issue"] == seeded + 1


async def test_serve_with_a_refused_token_fails_the_binding_with_the_reason(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("GH_TOKEN", "ghp_refusedTokenForServe000000000000009")
    monkeypatch.setenv("GH_WEBHOOK_SECRET", SECRET)
    gh = gh_emulator.create_emulator(seed="demo", token=GH_TOKEN)
    async with await opened(BINDING, "gh", gh) as bound, SqliteStateStore(":memory:") as store:
        server = SyncServer(bound, store, options=ServeOptions(port=0, backfill_interval=0))
        async with running(server):
            await reaches(server, BindingPhase.FAILED)
        assert server.phase.reason is not None and "refused (401)" in server.phase.reason
        assert server.backfills == []  # nothing backfilled with a refused credential
        assert await store.projections.count_by_kind("widgets") == {}


MEMORY_BINDING = """\
apiVersion: kradle.a5c.ai/v1alpha1
kind: ExternalBackendBinding
metadata: {name: widgets}
spec:
  target: {kind: Repository, name: widgets}
  providers:
    mem: {type: memory}
  interfaces:
    issueTracking: {provider: mem, mode: read-only, externalRef: {owner: acme, repository: widgets}}
"""


async def test_a_provider_that_sends_webhooks_without_a_secret_is_refused_at_start(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    async with (
        await BoundBinding.open(parse_binding(MEMORY_BINDING, environ={})) as bound,
        SqliteStateStore(":memory:") as store,
    ):
        with pytest.raises(BindingRefused) as refused:
            SyncServer(bound, store)
    assert "webhookSecret: {env: MEM_WEBHOOK_SECRET}" in str(refused.value)
    config = tmp_path / "b.yaml"
    config.write_text(MEMORY_BINDING)
    argv = ["sync", "serve", "--config", str(config), "--db", str(tmp_path / "s.db")]
    assert await asyncio.to_thread(cli.main, argv) == 2
    assert "no webhookSecret is configured" in capsys.readouterr().err


async def test_deliveries_missed_while_down_are_redelivered_by_recover(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("GH_TOKEN", GH_TOKEN)
    monkeypatch.setenv("GH_WEBHOOK_SECRET", SECRET)
    gh = gh_emulator.create_emulator(seed="demo", token=GH_TOKEN)
    override = {"gh": ProviderOverride(transport=gh.transport())}
    db = tmp_path / "state.db"
    async with await opened(BINDING, "gh", gh) as bound:
        async with SqliteStateStore(db) as store:
            first = SyncServer(bound, store, options=ServeOptions(port=0, backfill_interval=0))
            async with running(first):
                await reaches(first, BindingPhase.READY)
                port = int(first.url.rsplit(":", 1)[1])

        # Down: GitHub's deliveries of two new issues find nobody listening.
        repo = gh.state.repo("acme", "widgets")
        for title in ("Missed one", "Missed two"):
            gh.mutations.create_issue(repo["id"], title, user="octocat")
        missed = await gh.webhooks.flush()
        failed = [d for d in missed if d.last is not None and d.last.status is None]
        assert len(failed) == 2

        async with SqliteStateStore(db) as store:
            # Back up on the same address, without any backfill: only redelivery can help.
            options = ServeOptions(port=port, backfill_interval=None)
            async with running(SyncServer(bound, store, options=options)):
                config = tmp_path / "b.yaml"
                config.write_text(BINDING)
                argv = ["sync", "recover", "--config", str(config), "--db", str(db)]
                code = await asyncio.to_thread(cli.main, argv, overrides=override)
                assert code == 0
                assert "asked for 2 missed delivery(ies) again" in capsys.readouterr().out

                async def projected() -> bool:
                    return {"Missed one", "Missed two"} <= await issue_titles(store)

                async def phases() -> list[DeliveryPhase]:
                    # Same delivery ids as the missed ones, now answered.
                    found = [
                        await store.deliveries.find_by_delivery_id("github", d.id) for d in failed
                    ]
                    return [record.phase for [record] in found]

                async def settled() -> bool:
                    # A delivery's projection is stored before its last phase is.
                    return not any(allowed_next(phase) for phase in await phases())

                await until(projected)
                await until(settled)
                assert await phases() == [DeliveryPhase.SUCCEEDED] * 2
                for d in failed:
                    assert d.last is not None and d.last.redelivery and d.last.status == 202
                # Idempotent: nothing is missed any more.
                assert await asyncio.to_thread(cli.main, argv, overrides=override) == 0
                assert "nothing missed" in capsys.readouterr().out


JIRA_BINDING = """\
apiVersion: kradle.a5c.ai/v1alpha1
kind: ExternalBackendBinding
metadata: {name: widgets}
spec:
  target: {kind: Repository, name: widgets}
  providers:
    jira: {type: jira, apiBaseUrl: "https://jira.test",
           auth: {basic: {username: ops@acme.test, password: {env: JIRA_TOKEN}}},
           webhookSecret: {env: JIRA_WEBHOOK_SECRET}}
  interfaces:
    issueTracking: {provider: jira, mode: read-only, externalRef: {project: WID}, kinds: [Issue]}
"""


async def test_serve_registers_the_jira_webhook_for_its_project_and_recover_backfills(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("JIRA_TOKEN", "jira-serve-token-0001")
    monkeypatch.setenv("JIRA_WEBHOOK_SECRET", SECRET)
    jira = jira_emulator.create_emulator(seed="demo", token="jira-serve-token-0001")
    async with (
        await opened(JIRA_BINDING, "jira", jira) as bound,
        SqliteStateStore(":memory:") as store,
    ):
        server = SyncServer(bound, store, options=ServeOptions(port=0, backfill_interval=0))
        async with running(server):
            await reaches(server, BindingPhase.READY)
            [hook] = server.hooks.values()
            assert hook.created and hook.url.endswith("/jira/jira")
            assert set(hook.events) == set(server.webhook_events("jira"))
            assert "jira:issue_created" in hook.events
            # A second registration finds and updates the same webhook.
            again = await bound.adapters["jira"].ensure_hook(
                bound.binding.interface("issueTracking").external_ref,
                hook.url,
                Secret(SECRET),
                hook.events,
            )
            assert again is not None and again.id == hook.id and not again.created
            state = jira.state
            other = state.add_project("OPS", "Operations", state.projects["WID"].lead)
            for project in (state.projects["WID"], other):
                state.create_issue(project, summary=f"Hooked {project.key}", actor=project.lead)
            sent = await jira.webhooks.flush()
            # The webhook's JQL filter keeps the other project's issue out.
            assert [json.loads(d.body)["issue"]["key"].split("-")[0] for d in sent] == ["WID"]
            assert all(d.last is not None and d.last.status == 202 for d in sent)

            async def projected() -> bool:
                return "Hooked WID" in await issue_titles(store)

            await until(projected)
            # No delivery log on Jira: recovery is an incremental backfill.
            report = await recover_missed(bound, store)
            assert report.backfilled == {"jira": ["issueTracking"]} and not report.redelivered


async def test_paused_binding_holds_writes_but_keeps_taking_deliveries(
    served: tuple[SyncServer, Any],
) -> None:
    server, gh = served
    await reaches(server, BindingPhase.READY)
    await server.pause("maintenance window")
    intent = await server.intents.propose(
        "widgets", "issueTracking", "createIssue", None, {"title": "Held"}, "agent:t"
    )
    repo = gh.state.repo("acme", "widgets")
    gh.mutations.create_issue(repo["id"], "Arrived while paused", user="octocat")
    await gh.webhooks.flush()

    async def delivered() -> bool:
        return "Arrived while paused" in await issue_titles(server.store)

    await until(delivered)  # deliveries are still recorded and applied
    ticks = server.worker.ticks
    await until(lambda: _after(server, ticks + 3))
    assert (await server.store.intents.get(intent.id)).phase is W.READY_TO_SEND  # not sent
    await server.resume()

    async def sent() -> bool:
        return (await server.store.intents.get(intent.id)).phase is W.SUCCEEDED

    await until(sent)


async def _after(server: SyncServer, ticks: int) -> bool:
    return server.worker.ticks >= ticks


async def test_serve_lease_sets_how_long_delivery_and_write_claims_last(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("GH_TOKEN", GH_TOKEN)
    monkeypatch.setenv("GH_WEBHOOK_SECRET", SECRET)
    gh = gh_emulator.create_emulator(seed="demo", token=GH_TOKEN)
    async with await opened(BINDING, "gh", gh) as bound, SqliteStateStore(":memory:") as store:
        default = SyncServer(bound, store, options=ServeOptions(port=0))
        assert default.receiver.lease == DEFAULT_LEASE
        assert default.intents.policy.sending_lease == WritePolicy().sending_lease
        short = SyncServer(bound, store, options=ServeOptions(port=0, lease=timedelta(seconds=5)))
        assert short.receiver.lease == short.intents.policy.sending_lease == timedelta(seconds=5)
