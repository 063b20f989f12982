"""One replica for the crash test and the replicas benchmark (run as a script).

    python tests/replica_worker.py deliveries STORE_URL [--handle-ms N] [--workers N]
    python tests/replica_worker.py backfill STORE_URL --issues N

``deliveries``: a WebhookReceiver whose workers claim deliveries from the store
until killed; its handler applies each event's issue to the projections (the
engine's idempotent handling) and, with ``--count-handled``, records each hand-over in the audit
stream, so the parent can count what was handled and how often. ``backfill``: the
memory binding's backfill into the store (the stream leases decide which
replica runs which stream); prints the objects it applied.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from kradle_providers.models.base import Interface, ProviderRef
from kradle_providers.models.events import NormalizeOutcome, NormalizeResult, SyncEvent
from kradle_providers.store import StateStore, open_state_store
from kradle_providers.sync.records import ProjectionSource
from kradle_providers.testing.store_objects import issue
from kradle_providers.webhooks.normalizer import NormalizeContext
from kradle_providers.webhooks.receiver import WebhookReceiver
from kradle_providers.webhooks.registry import NormalizerRegistry

BINDING = "replicas"


def normalizer(ctx: NormalizeContext, payload: Mapping[str, Any]) -> NormalizeResult:
    return NormalizeResult(
        provider=ctx.provider.type,
        native_event=ctx.event,
        outcome=NormalizeOutcome.NORMALIZED,
        events=[
            SyncEvent(
                provider=ProviderRef(type="github"),
                interface=Interface.ISSUE_TRACKING,
                object_kind="issue",
                action="updated",
                native_event=ctx.event,
                native_action=payload.get("action"),
                native_id=str(payload["id"]),
            )
        ],
    )


async def deliveries(store: StateStore, args: argparse.Namespace) -> None:
    async def handle(events: list[SyncEvent]) -> None:
        for event in events:
            await asyncio.sleep(args.handle_ms / 1000)
            await store.projections.apply_object(
                BINDING, issue(event.native_id, minutes=1), source=ProjectionSource.WEBHOOK
            )
            if args.count_handled:
                await store.audit.append(_handled(event.native_id))

    registry = NormalizerRegistry()
    registry.register("github", "issues", normalizer)
    receiver = WebhookReceiver(
        [],
        handle=handle,
        registry=registry,
        store=store.deliveries,
        dedupe=store.dedupe,
        workers=args.workers,
        lease=timedelta(seconds=args.lease),
        poll_interval=0.05,
    )
    receiver.start()
    print("ready", flush=True)
    await asyncio.Event().wait()  # until killed


def _handled(native_id: str) -> Any:
    from kradle_providers.sync.records import AuditEvent

    return AuditEvent(actor="replica", action="handled", target=native_id, binding=BINDING)


async def backfill(store: StateStore, args: argparse.Namespace) -> None:
    from kradle_providers.sync.backfill import Backfiller
    from kradle_providers.sync.binding import parse_binding
    from kradle_providers.sync.runtime import BoundBinding, ProviderOverride
    from kradle_providers.testing.memory_backend import MemoryBackend

    backend = MemoryBackend(max_page_size=100)
    scope = backend.seed_demo()
    for i in range(args.issues):
        backend.seed_issue(scope, f"bulk {i}")
    bound = await BoundBinding.open(
        parse_binding(MEMORY_BINDING, environ={}),
        overrides={"m": ProviderOverride(options={"backend": backend})},
    )
    async with bound:
        print("ready", flush=True)
        await asyncio.to_thread(sys.stdin.readline)  # start together with the others
        start = time.time()
        report = await Backfiller(bound, store).run()
        end = time.time()
    applied = sum(r.counters.applied for r in report.results if not r.held_by)
    result = {"applied": applied, "ok": report.ok, "start": start, "end": end}
    print(json.dumps(result), flush=True)


MEMORY_BINDING = """\
apiVersion: kradle.a5c.ai/v1alpha1
kind: ExternalBackendBinding
metadata: {name: mem}
spec:
  target: {kind: Repository, name: widgets}
  providers:
    m: {type: memory}
  interfaces:
    issueTracking: {provider: m, mode: read-only, externalRef: {owner: acme, repository: widgets}}
    cicd: {provider: m, mode: read-only, externalRef: {owner: acme, repository: widgets}}
    gitForge: {provider: m, mode: read-only, externalRef: {owner: acme, repository: widgets}}
"""


async def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("mode", choices=["deliveries", "backfill"])
    parser.add_argument("store")
    parser.add_argument("--handle-ms", type=float, default=0.0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--lease", type=float, default=1.0)
    parser.add_argument("--issues", type=int, default=1000)
    parser.add_argument("--count-handled", action="store_true", help="audit each hand-over")
    args = parser.parse_args(argv)
    async with open_state_store(args.store) as store:
        await (deliveries if args.mode == "deliveries" else backfill)(store, args)


def queued_delivery(n: int, at: datetime | None = None) -> tuple[Any, bytes]:
    """A delivery record as the intake stores it after answering 202, and its body."""
    from kradle_providers.webhooks.deliveries import DeliveryRecord

    body = json.dumps({"action": "opened", "id": n}).encode()
    record = DeliveryRecord.received(
        provider="github",
        instance="default",
        event="issues",
        delivery_id=f"delivery-{n}",
        body=body,
        headers={"x-github-event": "issues"},
        at=at or datetime.now(UTC),
    )
    return record, body


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1:]))
