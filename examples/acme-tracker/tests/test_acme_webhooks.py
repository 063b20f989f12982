"""Acme's own signature scheme through the host's receiver: the emulator's deliveries verify."""

from __future__ import annotations

from kradle_provider_acme.emulator import create_emulator
from kradle_provider_acme.harness import AcmeControl

from kradle_providers.auth import Secret
from kradle_providers.models.events import SyncEvent
from kradle_providers.sync.phases import DeliveryPhase
from kradle_providers.webhooks import NormalizerRegistry, WebhookEndpoint, WebhookReceiver

SECRET = "acme-receiver-secret"


async def test_emulator_deliveries_verify_and_forgeries_do_not() -> None:
    handled: list[SyncEvent] = []

    async def handle(events: list[SyncEvent]) -> None:
        handled.extend(events)

    emulator = create_emulator(token="t")
    # No spec given: the receiver takes Acme's declaration from the installed plugin. Acme's
    # scheme has a replay window, so the receiver keeps the emulator's time.
    receiver = WebhookReceiver(
        [WebhookEndpoint("acme", secret=Secret(SECRET))],
        handle=handle,
        registry=NormalizerRegistry.from_plugins(),
        clock=emulator.manual_clock.now,
    )
    emulator.webhooks.subscribe("http://host.test/acme", SECRET, app=receiver.app)
    forger = emulator.webhooks.subscribe(
        "http://host.test/acme", "not-the-secret", app=receiver.app
    )
    control = AcmeControl(emulator)
    [number] = control.seed("Issue")
    control.change("Issue", number, title="Renamed")
    deliveries = await emulator.webhooks.flush()
    await receiver.drain()
    statuses = sorted((d.event, d.url, d.last.status if d.last else None) for d in deliveries)
    assert [s[2] for s in statuses].count(202) == 2
    assert [s[2] for s in statuses].count(401) == 2
    assert all(d.headers["x-acme-signature"].startswith("v1=") for d in deliveries)
    assert all(d.headers["x-acme-timestamp"].isdigit() for d in deliveries)
    assert {e.native_event for e in handled} == {"ticket.created", "ticket.updated"}
    assert {e.native_id for e in handled} == {number}
    rejected = await receiver.store.list_by_phase(DeliveryPhase.SIGNATURE_REJECTED)
    assert len(rejected) == 2 and forger.id == 2
    await receiver.aclose()
