"""The webhook receiver: an ASGI app a host mounts to take provider deliveries.

``POST /{provider}/{instance}``, or ``POST /{provider}`` for the provider's only instance:

1. the raw body is read (over ``max_body_bytes`` -> 413, nothing recorded);
2. it is verified with that instance's secret(s) before anything parses it; a
   failure (including no secret configured: fail closed) is recorded as
   ``SignatureRejected`` and answered 401 with a short reason; it is never processed;
3. a verified delivery is recorded (``Received -> Queued``), answered 202 with
   its record id, and enqueued;
4. a worker processes it: ``Normalizing -> Processing -> Succeeded``, handing
   the new (not duplicate) canonical events to the host's ``handle`` callback;
   a failing ``handle`` goes to ``Retrying`` with backoff and, after
   ``max_attempts``, to ``DeadLettered`` (left only by :meth:`WebhookReceiver.replay`
   or :meth:`WebhookReceiver.skip`). Unknown or malformed payloads cannot get
   better by retrying and are dead-lettered at once with the reason.

Where processing runs:

- with a store that supports claims (:class:`~kradle_providers.store.protocol.DeliveryClaims`:
  the SQLite and PostgreSQL stores), ``workers`` tasks *claim* deliveries from
  the store with expiring leases, renewed while they work. Retry times are
  stored, not slept; deliveries left ``Received``/``Normalizing``/``Processing``
  by a process that died are taken over once its lease expires. Several
  processes (replicas) on one store share the work, and every delivery
  answered 2xx reaches ``Succeeded`` or ``DeadLettered`` once, across crashes.
  A delivery recovered from a dead worker hands its events to ``handle``
  again (the dead worker may have stopped before or after handling them):
  ``handle`` must be idempotent, as the reconciler is.
- otherwise (an in-memory store) on an in-process ``asyncio.Queue``, retries
  on timers.

Pass ``enqueue`` to hand record ids to your own queue instead and call
:meth:`WebhookReceiver.process` from your worker.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from kradle_providers.auth.secret import Secret, redact
from kradle_providers.errors import WebhookSignatureError
from kradle_providers.models.base import ProviderRef
from kradle_providers.models.events import NormalizeOutcome, SyncEvent
from kradle_providers.store.claims import DEFAULT_LEASE, holder_id, recovered
from kradle_providers.store.errors import LeaseLost
from kradle_providers.store.protocol import DeliveryClaims, DeliveryRepository
from kradle_providers.sync.phases import DeliveryPhase
from kradle_providers.webhooks.dedupe import DedupeStore, InMemoryDedupeStore, event_dedupe_key
from kradle_providers.webhooks.deliveries import (
    DeliveryRecord,
    DeliveryStore,
    InMemoryDeliveryStore,
)
from kradle_providers.webhooks.normalizer import NormalizeContext
from kradle_providers.webhooks.registry import NormalizerRegistry
from kradle_providers.webhooks.spec import WebhookSpec
from kradle_providers.webhooks.verify import (
    VerifiedDelivery,
    Verifier,
    WebhookVerifier,
    lower_headers,
    make_verifier,
)

__all__ = ["EventHandler", "WebhookEndpoint", "WebhookReceiver"]

log = logging.getLogger(__name__)

EventHandler = Callable[[list[SyncEvent]], Awaitable[None]]
"""The host's callback: receives the new canonical events of one delivery."""


@dataclass(frozen=True)
class WebhookEndpoint:
    """How to verify deliveries for one provider instance.

    ``secret`` and ``previous_secret`` (during rotation) verify deliveries with
    the scheme the provider's plugin declares (its
    :class:`~kradle_providers.webhooks.spec.WebhookSpec`); ``spec`` overrides
    that declaration and ``verifier`` replaces verification altogether.
    """

    provider: str
    instance: str = "default"
    secret: Secret | None = None
    previous_secret: Secret | None = None
    spec: WebhookSpec | None = None
    verifier: WebhookVerifier | None = None

    def __repr__(self) -> str:
        return (
            f"WebhookEndpoint(provider={self.provider!r}, instance={self.instance!r}, "
            f"secret={'set' if self.secret else 'unset'})"
        )


def _default_backoff(attempt: int) -> float:
    return float(min(2**attempt, 300))


class _Move(Protocol):
    """Moves the record being processed (plainly, or fenced by the worker's claim)."""

    async def __call__(
        self,
        phase: DeliveryPhase,
        *,
        note: str | None = None,
        error: str | None = None,
        action: str | None = None,
        retry_at: datetime | None = None,
        defer: bool = False,
    ) -> DeliveryRecord: ...


# Phases drain() waits out when processing from claims.
_UNFINISHED = (
    DeliveryPhase.QUEUED,
    DeliveryPhase.NORMALIZING,
    DeliveryPhase.PROCESSING,
    DeliveryPhase.RETRYING,
)


class _NoSecretVerifier:
    """Stands in for an instance with no configuration: refuses everything."""

    def __init__(self, provider: str) -> None:
        self.provider = provider

    def verify(self, body: bytes, headers: Mapping[str, str]) -> VerifiedDelivery:
        raise WebhookSignatureError(
            "no webhook secret is configured for this provider instance, so nothing can "
            "be verified; configure a WebhookEndpoint with its secret (fail closed)",
            provider=self.provider,
        )


class WebhookReceiver:
    """Verifies, records, acknowledges and processes webhook deliveries.

    ``worker_id`` names this process's claims (default: host, pid and a random
    suffix); ``lease`` is how long a claim lasts without renewal (renewed every
    third of it); ``poll_interval`` is how often idle workers look for work
    another replica received or whose retry time came. ``max_backlog``: once this
    many accepted deliveries wait for processing here, new ones are answered 503
    with ``Retry-After`` (providers redeliver) instead of growing the backlog;
    ``backlog_seconds`` lowers that bound to what the workers finish in that many
    seconds at their measured pace (so what was answered is processed that soon).
    """

    def __init__(
        self,
        endpoints: Iterable[WebhookEndpoint],
        *,
        handle: EventHandler,
        registry: NormalizerRegistry | None = None,
        store: DeliveryStore | None = None,
        dedupe: DedupeStore | None = None,
        max_body_bytes: int = 1024 * 1024,
        max_attempts: int = 5,
        backoff: Callable[[int], float] = _default_backoff,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        clock: Callable[[], float] = time.time,
        enqueue: Callable[[str], Awaitable[None]] | None = None,
        workers: int = 1,
        worker_id: str | None = None,
        lease: timedelta = DEFAULT_LEASE,
        poll_interval: float = 1.0,
        max_backlog: int | None = None,
        backlog_seconds: float | None = None,
    ) -> None:
        self._clock = clock
        self._verifiers: dict[tuple[str, str], WebhookVerifier] = {}
        for ep in endpoints:
            self._verifiers[(ep.provider, ep.instance)] = ep.verifier or make_verifier(
                ep.provider, ep.secret, ep.previous_secret, spec=ep.spec, clock=clock
            )
        self._providers = {provider for provider, _ in self._verifiers}
        self.handle = handle
        self.registry = registry if registry is not None else NormalizerRegistry()
        self.store: DeliveryStore = (
            store
            if store is not None
            else InMemoryDeliveryStore(clock=lambda: datetime.fromtimestamp(clock(), UTC))
        )
        self.dedupe: DedupeStore = dedupe if dedupe is not None else InMemoryDedupeStore()
        self.max_body_bytes = max_body_bytes
        self.max_attempts = max(1, max_attempts)
        self._backoff = backoff
        self._sleep = sleep
        self._enqueue_fn = enqueue
        self._worker_count = max(1, workers)
        self._queue: asyncio.Queue[str] | None = None
        self._workers: list[asyncio.Task[None]] = []
        self._timers: set[asyncio.Task[None]] = set()
        self._claims = self.store if isinstance(self.store, DeliveryClaims) else None
        self.worker_id = worker_id or holder_id()
        self.lease = lease
        self.poll_interval = poll_interval
        self._wake = asyncio.Event()
        self.accepted = 0
        """Deliveries verified and recorded (answered 202) since the receiver was made."""
        self.finished = 0
        """Deliveries this receiver's workers took to an end (or to a retry) so far."""
        self.max_backlog = max_backlog
        self.backlog_seconds = backlog_seconds
        self._room_event = asyncio.Event()
        self._pace = 0.0  # deliveries finished per second, measured over ~0.25 s windows
        self._window = (0.0, 0)  # (start, finished count at start)
        self.app = Starlette(
            routes=[
                Route("/{provider}", self._endpoint, methods=["POST"]),
                Route("/{provider}/{instance}", self._endpoint, methods=["POST"]),
            ],
            lifespan=self._lifespan,
        )

    def _only_instance(self, provider: str) -> str:
        # POST /{provider} reaches the provider's one configured instance, whatever its name.
        names = [i for p, i in self._verifiers if p == provider]
        return names[0] if len(names) == 1 else "default"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """The receiver as an ASGI app: deliveries go straight to the intake, the rest to
        :attr:`app` (the same routes through Starlette)."""
        if scope["type"] == "http" and scope["method"] == "POST":
            path, root = scope["path"], scope.get("root_path", "")
            if root and path.startswith(root):  # mounted under a prefix
                path = path[len(root) :]
            parts = path.split("/")
            if 2 <= len(parts) <= 3 and not parts[0] and all(parts[1:]):
                instance = parts[2] if len(parts) == 3 else None
                await self._asgi_intake(scope, receive, send, parts[1], instance)
                return
        await self.app(scope, receive, send)

    @contextlib.asynccontextmanager
    async def _lifespan(self, app: Starlette) -> AsyncIterator[None]:
        self.start()
        yield
        await self.aclose()

    # -- intake ---------------------------------------------------------------------

    def _backlog_limit(self) -> int:
        limit = self.max_backlog or 0
        if self.backlog_seconds is not None and self._pace > 0:
            # Never below a few per worker: the pace is measured only while they are busy.
            floor = 4 * self._worker_count
            limit = min(limit, max(floor, int(self._pace * self.backlog_seconds)))
        return limit

    def _finished_one(self) -> None:
        self.finished += 1
        self._room_event.set()
        now = time.monotonic()
        start, count = self._window
        if now - start >= 0.25:
            if start and self.finished - count > 1:
                self._pace = (self.finished - count) / (now - start)
            self._window = (now, self.finished)

    async def _room(self) -> bool:
        """Whether the backlog is under ``max_backlog``, waiting up to a second for it."""
        assert self.max_backlog is not None
        deadline = None
        while self.accepted - self.finished >= self._backlog_limit():
            # Holding the answer slows the sender down to the pace of processing.
            loop = asyncio.get_running_loop()
            deadline = deadline or loop.time() + 1.0
            if loop.time() >= deadline:
                return False
            self._room_event.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._room_event.wait(), deadline - loop.time())
        return True

    async def _read_body(self, declared: str | None, chunks: AsyncIterator[bytes]) -> bytes | None:
        """The body, or None once it is over ``max_body_bytes`` (declared or streamed)."""
        if declared is not None and declared.isdigit() and int(declared) > self.max_body_bytes:
            return None
        read: list[bytes] = []
        size = 0
        async for chunk in chunks:
            size += len(chunk)
            if size > self.max_body_bytes:
                return None
            read.append(chunk)
        return b"".join(read)

    async def _endpoint(self, request: Request) -> JSONResponse:
        status, payload, extra = await self._intake(
            request.path_params["provider"],
            request.path_params.get("instance"),
            lower_headers(request.headers.items()),
            lambda: self._read_body(request.headers.get("content-length"), request.stream()),
        )
        return JSONResponse(payload, status_code=status, headers=extra)

    async def _asgi_intake(
        self, scope: Scope, receive: Receive, send: Send, provider: str, instance: str | None
    ) -> None:
        """``_endpoint`` without Starlette's request and response objects (the hot path)."""
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}

        async def chunks() -> AsyncIterator[bytes]:
            while True:
                message = await receive()
                if message["type"] != "http.request":  # the client went away
                    return
                yield message.get("body", b"")
                if not message.get("more_body", False):
                    return

        def read_body() -> Awaitable[bytes | None]:
            return self._read_body(headers.get("content-length"), chunks())

        status, payload, extra = await self._intake(provider, instance, headers, read_body)
        body = json.dumps(payload, separators=(",", ":")).encode()
        raw = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(body))]
        raw += [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in extra.items()]
        await send({"type": "http.response.start", "status": status, "headers": raw})
        await send({"type": "http.response.body", "body": body})

    async def _intake(
        self,
        provider: str,
        instance: str | None,
        headers: dict[str, str],
        read_body: Callable[[], Awaitable[bytes | None]],
    ) -> tuple[int, dict[str, Any], dict[str, str]]:
        """Verify, record and queue one delivery: ``(status, JSON answer, extra headers)``."""
        instance = instance or self._only_instance(provider)
        if provider not in self._providers:
            return (
                404,
                {"error": "unknown_provider", "reason": f"no webhook intake for {provider!r}"},
                {},
            )
        if self.max_backlog is not None and not await self._room():
            # Processing stayed behind: the provider redelivers later rather than this
            # process piling up work it finishes long after answering.
            waiting = self.accepted - self.finished
            reason = f"{waiting} deliveries are waiting to be processed; retry shortly"
            return 503, {"error": "busy", "reason": reason}, {"Retry-After": "1"}
        body = await read_body()
        if body is None:
            return (
                413,
                {
                    "error": "payload_too_large",
                    "reason": f"body exceeds {self.max_body_bytes} bytes",
                },
                {},
            )
        verifier = self._verifiers.get((provider, instance)) or _NoSecretVerifier(provider)
        now = datetime.fromtimestamp(self._clock(), UTC)
        try:
            verified = verifier.verify(body, headers)
        except WebhookSignatureError as exc:
            header = verifier.spec.event_header if isinstance(verifier, Verifier) else None
            record = DeliveryRecord.received(
                provider=provider,
                instance=instance,
                event=(headers.get(header) if header else None) or "unknown",
                delivery_id="unverified",
                body=body,
                headers=headers,
                at=now,
            )
            # Kept for the operator without the body: it is never processed.
            await self.store.add(record)
            await self.store.update_phase(
                record.id, DeliveryPhase.SIGNATURE_REJECTED, error=exc.reason
            )
            log.warning("webhook rejected: %s/%s: %s", provider, instance, redact(exc.reason))
            return 401, {"error": "signature_rejected", "reason": exc.reason, "id": record.id}, {}
        # Recorded once, already Queued (its history shows Received first): one write.
        queued = DeliveryRecord.received(
            provider=provider,
            instance=instance,
            event=verified.event,
            delivery_id=verified.delivery_id,
            body=body,
            headers=headers,
            at=now,
        ).advance(DeliveryPhase.QUEUED, at=now)
        await self.store.add(queued, body)
        self.accepted += 1
        await self._enqueue(queued.id)
        answer = {"id": queued.id, "delivery_id": queued.delivery_id, "phase": queued.phase.value}
        return 202, answer, {}

    # -- processing -----------------------------------------------------------------

    async def process(self, record_id: str) -> DeliveryRecord:
        """Process one queued delivery (one attempt) and return its updated record."""

        async def move(
            phase: DeliveryPhase,
            *,
            note: str | None = None,
            error: str | None = None,
            action: str | None = None,
            retry_at: datetime | None = None,
            defer: bool = False,
        ) -> DeliveryRecord:
            return await self.store.update_phase(
                record_id, phase, note=note, error=error, action=action
            )

        # Both in one store round trip (they commit together in a grouping store).
        record, body = await asyncio.gather(
            move(DeliveryPhase.NORMALIZING), self.store.get_body(record_id)
        )
        return await self._process(record, body, move, claimed=False)

    async def _process(
        self, record: DeliveryRecord, body: bytes | None, move: _Move, *, claimed: bool
    ) -> DeliveryRecord:
        """One attempt at ``record`` (just moved to ``Normalizing``) with its raw ``body``."""
        if claimed and record.attempts > self.max_attempts:
            # Workers died on it every time (a poison delivery): stop trying.
            return await move(
                DeliveryPhase.DEAD_LETTERED,
                error=record.error or "every worker processing it stopped",
                note=f"gave up after {record.attempts - 1} attempt(s)",
            )
        if body is None:
            return await move(DeliveryPhase.DEAD_LETTERED, error="the raw body was not stored")
        ctx = NormalizeContext(
            provider=ProviderRef(type=record.provider, instance=record.instance),
            event=record.event,
            delivery_id=record.delivery_id,
            headers=record.headers,
        )
        result = self.registry.normalize(record.provider, record.event, body, ctx)
        if result.outcome is NormalizeOutcome.IGNORED:
            return await move(DeliveryPhase.SUCCEEDED, note=f"ignored: {result.reason}")
        if not result.ok:
            return await move(
                DeliveryPhase.DEAD_LETTERED, error=f"{result.outcome.value}: {result.reason}"
            )
        action = next((e.native_action for e in result.events if e.native_action), None)
        keys = [event_dedupe_key(e, instance=record.instance) for e in result.events]
        if recovered(record):
            # The dead worker may have marked these events without handing them over.
            for key in keys:
                await self.dedupe.forget(key)
        # Processing is stored with the delivery's end (a claiming worker defers it): marks
        # left by a worker that stops before then are forgotten by the one recovering it.
        if claimed and len(keys) == 1:  # the usual case, without a task per awaitable
            await move(DeliveryPhase.PROCESSING, action=action, defer=True)
            seen = [await self.dedupe.seen_before(keys[0])]
        else:
            _, *marks = await asyncio.gather(
                move(DeliveryPhase.PROCESSING, action=action, defer=True),
                *(self.dedupe.seen_before(key) for key in keys),
            )
            seen = [bool(mark) for mark in marks]
        fresh = [
            (key, event)
            for key, event, dup in zip(keys, result.events, seen, strict=True)
            if not dup
        ]
        duplicates = len(result.events) - len(fresh)
        if fresh:
            try:
                await self.handle([e for _, e in fresh])
            except Exception as exc:
                # Unmark so the retry hands the same events over again.
                for key, _ in fresh:
                    await self.dedupe.forget(key)
                return await self._failed(record, exc, move, claimed=claimed)
        return await move(
            DeliveryPhase.SUCCEEDED,
            note=f"{len(fresh)} event(s) handled, {duplicates} duplicate(s) skipped",
        )

    async def _failed(
        self, record: DeliveryRecord, exc: Exception, move: _Move, *, claimed: bool
    ) -> DeliveryRecord:
        error = f"handler raised {type(exc).__name__}: {exc}"
        if record.attempts >= self.max_attempts:
            return await move(
                DeliveryPhase.DEAD_LETTERED,
                error=error,
                note=f"gave up after {record.attempts} attempt(s)",
            )
        delay = self._backoff(record.attempts)
        retry_at = datetime.fromtimestamp(self._clock() + delay, UTC)
        updated = await move(
            DeliveryPhase.RETRYING, error=error, note=f"retry in {delay:g}s", retry_at=retry_at
        )
        if not claimed:  # a claiming worker picks it up again once retry_at has come
            task = asyncio.create_task(self._retry_later(record.id, delay))
            self._timers.add(task)
            task.add_done_callback(self._timers.discard)
        return updated

    async def _retry_later(self, record_id: str, delay: float) -> None:
        await self._sleep(delay)
        await self.store.update_phase(record_id, DeliveryPhase.QUEUED, note="retry")
        await self._enqueue(record_id)

    async def replay(self, record_id: str) -> DeliveryRecord:
        """Operator action: re-queue a dead-lettered (or succeeded) delivery."""
        record = await self.store.update_phase(
            record_id, DeliveryPhase.QUEUED, explicit=True, note="replayed by operator"
        )
        await self._enqueue(record_id)
        return record

    async def skip(self, record_id: str) -> DeliveryRecord:
        """Operator action: close a dead-lettered delivery without processing it."""
        return await self.store.update_phase(
            record_id, DeliveryPhase.SUCCEEDED, explicit=True, note="skipped by operator"
        )

    # -- queue ----------------------------------------------------------------------

    def start(self) -> None:
        """Start the claiming workers (with a claims store): they take over what is pending.

        Called by the ASGI lifespan and on the first delivery; safe to call again.
        """
        if self._claims is None or self._enqueue_fn is not None:
            return
        self._workers = [w for w in self._workers if not w.done()]
        for n in range(len(self._workers), self._worker_count):
            name = f"{self.worker_id}/{n}"
            self._workers.append(asyncio.create_task(self._claim_loop(self._claims, name)))

    async def _enqueue(self, record_id: str) -> None:
        if self._enqueue_fn is not None:
            await self._enqueue_fn(record_id)
            return
        if self._claims is not None:
            self.start()
            self._wake.set()
            return
        if self._queue is None:
            self._queue = asyncio.Queue()
        self._workers = [w for w in self._workers if not w.done()]
        while len(self._workers) < self._worker_count:
            self._workers.append(asyncio.create_task(self._work(self._queue)))
        await self._queue.put(record_id)

    async def _work(self, queue: asyncio.Queue[str]) -> None:
        while True:
            record_id = await queue.get()
            try:
                await self.process(record_id)
            except Exception as exc:  # one bad record must not stop the worker
                log.error("webhook processing of %s failed: %s", record_id, redact(repr(exc)))
            finally:
                queue.task_done()

    async def _claim_loop(self, claims: DeliveryClaims, worker: str) -> None:
        while True:
            try:
                batch = await claims.claim_started(worker, lease=self.lease)
            except Exception as exc:  # the store is briefly unreachable: try again
                log.error("claiming deliveries failed: %s", redact(repr(exc)))
                batch = []
            if not batch:
                # Nothing claimable: whatever this process accepted is done (or another
                # replica has it), so the backlog it counts starts again from zero.
                self.finished = max(self.finished, self.accepted)
                self._room_event.set()
                self._window = (0.0, self.finished)  # idle time is not the workers' pace
                self._wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self.poll_interval)
                continue
            for record, body in batch:
                await self._process_claimed(claims, record, body, worker)

    async def _process_claimed(
        self, claims: DeliveryClaims, record: DeliveryRecord, body: bytes | None, worker: str
    ) -> None:
        # The claim stored ``record`` (in Normalizing); moves build on it in memory and each
        # one not deferred stores them in one fenced write, without reading the record back.
        stored = current = record

        async def move(
            phase: DeliveryPhase,
            *,
            note: str | None = None,
            error: str | None = None,
            action: str | None = None,
            retry_at: datetime | None = None,
            defer: bool = False,
        ) -> DeliveryRecord:
            nonlocal stored, current
            at = datetime.fromtimestamp(self._clock(), UTC)
            current = current.advance(phase, at=at, note=note, error=error, action=action)
            if not defer:
                await claims.save_claimed(current, worker, was=stored.phase, retry_at=retry_at)
                stored = current
            return current

        # Most deliveries finish long before a third of the lease: a timer (not a task
        # per delivery) starts the heartbeat only for one that does not.
        every = max(self.lease.total_seconds() / 3, 0.01)
        heartbeat: list[asyncio.Task[None]] = []

        def beat() -> None:
            heartbeat.append(asyncio.ensure_future(self._heartbeat(claims, record.id, worker)))

        timer = asyncio.get_running_loop().call_later(every, beat)
        try:
            await self._process(record, body, move, claimed=True)
        except LeaseLost as exc:
            log.warning("webhook delivery %s: %s", record.id, exc)
        except Exception as exc:  # one bad record must not stop the worker
            log.error("webhook processing of %s failed: %s", record.id, redact(repr(exc)))
        finally:
            self._finished_one()
            timer.cancel()
            for task in heartbeat:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    async def _heartbeat(self, claims: DeliveryClaims, record_id: str, worker: str) -> None:
        every = max(self.lease.total_seconds() / 3, 0.01)
        while True:
            if not await claims.renew(record_id, worker, lease=self.lease):
                return
            await asyncio.sleep(every)

    async def drain(self) -> None:
        """Wait until nothing is queued, in flight or waiting to retry (tests, shutdown).

        With a claims store that means the whole store: work another replica
        holds and retries scheduled later are waited for too.
        """
        if self._claims is not None and self._enqueue_fn is None:
            self.start()
            while await self._unfinished():
                self._wake.set()
                await asyncio.sleep(0.02)
            return
        while True:
            if self._queue is not None:
                await self._queue.join()
            pending = [t for t in self._timers if not t.done()]
            if not pending:
                if self._queue is None or self._queue.empty():
                    return
                continue
            await asyncio.gather(*pending, return_exceptions=True)

    async def _unfinished(self) -> bool:
        if isinstance(self.store, DeliveryRepository):
            # One query: phase-by-phase lists could miss a record moving between them.
            counts = await self.store.count_by_phase()
            return any(counts.get(p) for p in _UNFINISHED)
        for phase in _UNFINISHED:
            if await self.store.list_by_phase(phase):
                return True
        return False

    async def aclose(self) -> None:
        """Stop the workers and pending retries (records stay where they are).

        A claimed delivery interrupted here is taken over once its lease expires.
        """
        tasks = [*self._workers, *self._timers]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._workers.clear()
        self._timers.clear()
