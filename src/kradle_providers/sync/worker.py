"""The write worker: sends approved writes, confirms them, expires the unconfirmed.

:class:`WriteWorker` is the loop every host would otherwise write over a
:class:`~kradle_providers.sync.intents.WriteIntentService`. One :meth:`~WriteWorker.tick`:

1. claims and sends every due intent (``ReadyToSend``, a ``Retrying`` whose
   time came, a ``Sending`` whose worker died and whose claim expired): the
   store's send claims let several workers, or replicas on one PostgreSQL,
   run side by side without sending a write twice; ``PendingApproval`` is
   never sent: approval is an operator action (:meth:`WriteIntentService.approve`);
2. every ``read_back_interval`` seconds, re-reads awaiting writes and confirms
   those that show the written values (webhooks usually confirm first, through
   :meth:`Reconciler.for_binding(..., confirm=service.confirm_from_event)
   <kradle_providers.sync.reconciler.Reconciler.for_binding>`);
3. turns writes unconfirmed past the policy's timeout into conflicts.

:meth:`~WriteWorker.run` ticks every ``interval`` seconds until
:meth:`~WriteWorker.stop` (or the ``stop`` event) is set; a failing tick is
logged and counted, never fatal.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from kradle_providers.auth.secret import redact
from kradle_providers.metrics import NO_METRICS, Metrics, timed
from kradle_providers.sync.intents import WriteIntentService
from kradle_providers.sync.phases import WriteIntentPhase
from kradle_providers.sync.records import WriteIntent

__all__ = ["WorkerTick", "WriteWorker"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class WorkerTick:
    """What one tick moved: sent (as they ended up), confirmed by read-back, expired."""

    sent: list[WriteIntent] = field(default_factory=list)
    confirmed: list[WriteIntent] = field(default_factory=list)
    expired: list[WriteIntent] = field(default_factory=list)

    @property
    def moved(self) -> int:
        """How many intents changed phase."""
        return len(self.sent) + len(self.confirmed) + len(self.expired)


class WriteWorker:
    """Sends, confirms and expires the write intents of one binding (or all) on a schedule."""

    def __init__(
        self,
        service: WriteIntentService,
        *,
        binding: str | None = None,
        interval: float = 2.0,
        read_back_interval: float = 30.0,
        metrics: Metrics = NO_METRICS,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.service = service
        self.binding = binding
        self.interval = interval
        self.read_back_interval = read_back_interval
        self.metrics = metrics
        self._monotonic = monotonic
        self._last_read_back: float | None = None
        self._stop = asyncio.Event()
        self.ticks = 0

    def _attrs(self) -> dict[str, str]:
        return {"binding": self.binding} if self.binding else {}

    def _log(self, intent: WriteIntent, what: str) -> None:
        log.info(
            "write intent %s %s: %s",
            intent.id,
            what,
            intent.phase.value,
            extra={
                "binding": intent.binding,
                "interface": intent.interface.value,
                "intent_id": intent.id,
                "operation": intent.operation,
                "phase": intent.phase.value,
            },
        )

    async def tick(self, *, read_back: bool | None = None) -> WorkerTick:
        """One pass: send what is due, read back (when due or asked), expire the overdue."""
        attrs = self._attrs()
        service, awaiting = self.service, WriteIntentPhase.AWAITING_CONFIRMATION
        with timed(self.metrics, "kradle.sync.writes.tick", attrs):
            sent = await service.send_ready(binding=self.binding)
            before = {i.id for i in await service.store.intents.find(phase=awaiting)}
            now = self._monotonic()
            due = (
                self._last_read_back is None
                or now - self._last_read_back >= self.read_back_interval
            )
            confirmed: list[WriteIntent] = []
            if read_back if read_back is not None else due:
                self._last_read_back = now
                confirmed = await service.confirm_by_read_back(binding=self.binding)
            # Read-back expires too: report every awaiting write that became a conflict.
            await service.expire_unconfirmed(binding=self.binding)
            after = {i.id for i in await service.store.intents.find(phase=awaiting)}
            gone = before - after - {i.id for i in confirmed}
            expired = [
                i
                for i in [await service.store.intents.get(x) for x in sorted(gone)]
                if i.phase is WriteIntentPhase.CONFLICT
            ]
        self.ticks += 1
        for intent in sent:
            self._log(intent, "sent")
            self.metrics.count(
                "kradle.sync.writes.sent", attributes={**attrs, "phase": intent.phase.value}
            )
        for intent in confirmed:
            self._log(intent, "confirmed by read-back")
        for intent in expired:
            self._log(intent, "unconfirmed past the timeout")
        self.metrics.count("kradle.sync.writes.confirmed", len(confirmed), attrs)
        self.metrics.count("kradle.sync.writes.expired", len(expired), attrs)
        return WorkerTick(sent=sent, confirmed=confirmed, expired=expired)

    def stop(self) -> None:
        """Ask :meth:`run` to return after the current tick."""
        self._stop.set()

    async def run(self, stop: asyncio.Event | None = None) -> None:
        """Tick every ``interval`` seconds until :meth:`stop` is called or ``stop`` is set."""
        while not self._stop.is_set() and not (stop is not None and stop.is_set()):
            try:
                await self.tick()
            except Exception as exc:  # the loop outlives one bad pass
                self.metrics.count("kradle.sync.writes.tick_failed", attributes=self._attrs())
                log.error(
                    "write worker tick failed: %s",
                    redact(repr(exc)),
                    extra={"binding": self.binding or "*"},
                )
            await _wait_any(self._stop, stop, self.interval)


async def _wait_any(a: asyncio.Event, b: asyncio.Event | None, seconds: float) -> None:
    waits = [asyncio.ensure_future(a.wait())]
    if b is not None:
        waits.append(asyncio.ensure_future(b.wait()))
    _, pending = await asyncio.wait(waits, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
    for task in pending:
        task.cancel()
    await asyncio.gather(*pending, return_exceptions=True)
