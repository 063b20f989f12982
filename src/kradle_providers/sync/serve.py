"""One process that keeps a binding in sync: webhook receiver, write worker, scheduled backfill.

:class:`SyncServer` is what ``kradle-providers sync serve`` runs, as a library
API a host can embed:

- the :class:`~kradle_providers.webhooks.receiver.WebhookReceiver` on an HTTP
  port (``POST /{provider}/{instance}`` or ``POST /{provider}``), handing events
  to a :class:`~kradle_providers.sync.reconciler.Reconciler` built *with*
  confirmation, so a webhook that shows a written value confirms the write
  awaiting it; its workers claim deliveries from the store (and take over what
  a previous or crashed process left);
- a :class:`~kradle_providers.sync.worker.WriteWorker` that sends approved
  writes, confirms them by read-back and expires the unconfirmed;
- an incremental backfill every ``backfill_interval`` seconds (and once at
  start), which also catches changes whose deliveries were missed.

The binding moves through its phases (SPEC §7), recorded in the store and
shown by ``sync status``: ``Pending -> ValidatingTarget`` (every provider
checked, every target read: :mod:`kradle_providers.sync.check`)
``-> RegisteringWebhook`` (when it takes webhooks) ``-> Backfilling -> Ready``,
or ``Conflict`` when conflicts are open, or ``Failed`` with the reason (a
failed binding is validated again before its next scheduled backfill).

Each part logs and counts its failures and keeps going; :meth:`SyncServer.stop`
(or the ``stop`` event given to :meth:`SyncServer.run`) ends all three.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Any

from kradle_providers.auth.secret import redact
from kradle_providers.errors import InvalidInput
from kradle_providers.metrics import NO_METRICS, Metrics, timed
from kradle_providers.plugins.selection import BindingRefused
from kradle_providers.protocols.hooks import HookRegistration
from kradle_providers.store.claims import DEFAULT_LEASE
from kradle_providers.store.protocol import StateStore
from kradle_providers.sync.backfill import Backfiller, BackfillOptions, BackfillReport
from kradle_providers.sync.check import check_binding
from kradle_providers.sync.intents import WriteIntentService, channels_for
from kradle_providers.sync.lifecycle import PhaseTracker
from kradle_providers.sync.phases import BackfillPhase, BindingPhase, ConflictPhase
from kradle_providers.sync.policy import WritePolicy
from kradle_providers.sync.reconciler import Reconciler
from kradle_providers.sync.recover import RecoveryReport, recover_missed
from kradle_providers.sync.runtime import BoundBinding
from kradle_providers.sync.worker import WriteWorker
from kradle_providers.webhooks.receiver import WebhookEndpoint, WebhookReceiver
from kradle_providers.webhooks.registry import NormalizerRegistry

__all__ = ["ServeOptions", "SyncServer"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ServeOptions:
    """Where to listen and how often to work.

    ``port=0`` picks a free port (read :attr:`SyncServer.url`);
    ``backfill_interval`` is the seconds between incremental backfills (the
    first runs at start); ``0`` runs only that first one, ``None`` none at all.
    ``lease`` is how long this process's claims on deliveries and writes last
    unless renewed: how soon another replica finishes the work of one that
    died (default: :data:`~kradle_providers.store.claims.DEFAULT_LEASE` for
    deliveries, the write policy's ``sending_lease`` for writes).
    """

    host: str = "127.0.0.1"
    port: int = 8787
    write_interval: float = 2.0
    read_back_interval: float = 30.0
    backfill_interval: float | None = 300.0
    lease: timedelta | None = None
    workers: int = 32
    """Deliveries processed at once: each waits on the store several times, so several
    in flight keep the store's group commits full and processing at intake's pace."""
    max_backlog: int | None = 256
    """Accepted deliveries waiting for processing above which new ones are answered 503
    with ``Retry-After`` (``None``: never): processing keeps pace with what was answered."""
    backlog_seconds: float | None = 0.5
    """Lowers ``max_backlog`` to what the workers finish in this many seconds at their
    measured pace: a delivery answered 2xx is processed within about that long."""
    public_url: str | None = None
    """The receiver's address as the provider reaches it (default: where it listens);
    registered webhooks point at ``{public_url}/{provider}/{instance}``."""


def webhook_problems(bound: BoundBinding) -> list[str]:
    """Why the binding cannot take its providers' webhooks, each with the fix.

    A provider instance the binding uses whose manifest declares webhook events
    needs a ``webhookSecret``: without one every delivery would be answered 401
    at run time (the receiver fails closed).
    """
    problems = []
    used = {bound.binding.provider_alias(i) for i in bound.binding.interfaces}
    for alias in sorted(used):
        prov = bound.binding.provider(alias)
        events = bound.adapters[alias].manifest.webhook_events(include_informational=False)
        if events and prov.webhook_secret is None:
            var = f"{alias.upper()}_WEBHOOK_SECRET"
            problems.append(
                f"spec.providers.{alias}: {prov.type} sends webhooks ({', '.join(events[:4])}"
                f"{', ...' if len(events) > 4 else ''}) but no webhookSecret is configured, so "
                f"every delivery would be refused; add webhookSecret: {{env: {var}}} (the "
                f"secret set on the {prov.type} webhook), or run only `sync backfill` for it"
            )
    return problems


def intake_endpoints(bound: BoundBinding) -> list[WebhookEndpoint]:
    """The binding's webhook endpoints; :class:`BindingRefused` if one cannot verify."""

    async def _ignore(events: Any) -> None:
        return None

    problems = webhook_problems(bound)
    used = {
        bound.binding.instance_name(bound.binding.provider_alias(i))
        for i in bound.binding.interfaces
    }
    usable = []
    for ep in bound.webhook_endpoints():
        if ep.instance not in used or ep.secret is None:
            continue
        try:
            WebhookReceiver([ep], handle=_ignore)  # builds the verifier: fails if none
        except InvalidInput as exc:
            problems.append(f"{ep.provider}/{ep.instance}: {exc}")
            continue
        usable.append(ep)
    if problems:
        raise BindingRefused(
            f"binding {bound.name!r} cannot take webhooks: " + "; ".join(problems),
            problems=problems,
        )
    return usable


class SyncServer:
    """Receiver + write worker + scheduled incremental backfill for one opened binding."""

    def __init__(
        self,
        bound: BoundBinding,
        store: StateStore,
        *,
        options: ServeOptions | None = None,
        policy: WritePolicy | None = None,
        metrics: Metrics = NO_METRICS,
        registry: NormalizerRegistry | None = None,
    ) -> None:
        self.bound = bound
        self.store = store
        self.options = options or ServeOptions()
        self.metrics = metrics
        lease = self.options.lease
        if lease is not None:
            policy = replace(policy or WritePolicy(), sending_lease=lease)
        # A paused binding keeps its intents (and approvals) but sends none.
        self.intents = WriteIntentService(
            store, channels_for(bound, paused=self.paused), policy=policy
        )
        self.reconciler = Reconciler.for_binding(
            store, bound, confirm=self.intents.confirm_from_event, metrics=metrics
        )
        self.endpoints = intake_endpoints(bound)
        self.receiver = WebhookReceiver(
            self.endpoints,
            handle=self.reconciler,
            registry=registry if registry is not None else NormalizerRegistry.from_plugins(),
            store=store.deliveries,
            dedupe=store.dedupe,
            lease=lease or DEFAULT_LEASE,
            workers=self.options.workers,
            max_backlog=self.options.max_backlog,
            backlog_seconds=self.options.backlog_seconds,
        )
        self.worker = WriteWorker(
            self.intents,
            binding=bound.name,
            interval=self.options.write_interval,
            read_back_interval=self.options.read_back_interval,
            metrics=metrics,
        )
        self.backfills: list[BackfillReport] = []
        self.hooks: dict[tuple[str, str], HookRegistration] = {}
        self.recoveries: list[RecoveryReport] = []
        self.phase = PhaseTracker(BindingPhase, bound.name, bound.name, store=store)
        self._stop = asyncio.Event()
        self._server: Any = None
        self._socket: socket.socket | None = None

    @property
    def url(self) -> str:
        """The receiver's base URL (after :meth:`run` bound its socket)."""
        if self._socket is None:
            raise RuntimeError("the server is not listening yet")
        host, port = self._socket.getsockname()[:2]
        return f"http://{host}:{port}"

    def webhook_urls(self) -> list[str]:
        """``POST`` URLs of every provider instance with webhook intake."""
        return [f"{self.url}/{ep.provider}/{ep.instance}" for ep in self.endpoints]

    def listen(self) -> socket.socket:
        """Bind the receiver's socket now (so :attr:`url` is known before :meth:`run`)."""
        if self._socket is None:
            # IPPROTO_TCP named: asyncio sets TCP_NODELAY on accepted sockets only when the
            # listening socket says TCP; without it every answer waits out a delayed ACK (40 ms).
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((self.options.host, self.options.port))
            sock.listen(128)
            sock.setblocking(False)
            self._socket = sock
        return self._socket

    async def sync_cycle(self) -> BindingPhase:
        """Validate (when new or failed), backfill, and settle the binding's phase."""
        track = self.phase
        if track.phase in (BindingPhase.PENDING, BindingPhase.FAILED):
            await track.move(BindingPhase.VALIDATING_TARGET)
            checked = await check_binding(self.bound, store=self.store)
            if not checked.ok:
                return await track.move(BindingPhase.FAILED, "; ".join(checked.problems))
            if self.endpoints:
                await track.move(
                    BindingPhase.REGISTERING_WEBHOOK,
                    "deliveries are taken at " + ", ".join(self.webhook_urls()),
                )
                await self.register_webhooks()
                # Deliveries sent while nobody listened are asked for again (providers
                # without a delivery log are covered by the backfill that follows).
                recovered = await recover_missed(self.bound, self.store, backfill=False)
                self.recoveries.append(recovered)
        if track.phase is BindingPhase.PAUSED:
            return track.phase  # Paused blocks new backfills; deliveries are still recorded
        await track.move(BindingPhase.BACKFILLING)
        report = await self.backfill_once()
        failed = [f"{r.name}: {r.error}" for r in report.results if r.phase is BackfillPhase.FAILED]
        if failed:
            return await track.move(BindingPhase.FAILED, "backfill failed: " + "; ".join(failed))
        open_conflicts = await self.store.conflicts.find(
            binding=self.bound.name, phase=ConflictPhase.OPEN
        )
        if open_conflicts:
            return await track.move(
                BindingPhase.CONFLICT,
                f"{len(open_conflicts)} open conflict(s): `sync conflicts list` shows them",
            )
        return await track.move(BindingPhase.READY)

    def webhook_events(self, alias: str) -> list[str]:
        """The events ``alias``'s manifest declares for the interfaces it serves here."""
        manifest = self.bound.adapters[alias].manifest
        events: list[str] = []
        for iface in self.bound.binding.interfaces:
            if self.bound.binding.provider_alias(iface) == alias:
                events += [
                    w.event
                    for w in manifest.interface(iface).webhook_entries()
                    if not w.informational
                ]
        return list(dict.fromkeys(events))

    async def register_webhooks(self) -> list[str]:
        """Create or update the provider-side webhook of every bound target; returns notes.

        Each points at this receiver (``public_url``) and sends exactly the
        manifest's events for the interfaces bound; a provider without an API
        for it (or a credential without the right) gets a note saying what to
        register by hand, never a failed binding.
        """
        notes: list[str] = []
        base = (self.options.public_url or self.url).rstrip("/")
        for ep in self.endpoints:
            alias = next(
                a
                for a in self.bound.adapters
                if self.bound.binding.instance_name(a) == ep.instance
                and self.bound.binding.provider(a).type == ep.provider
            )
            url, events = f"{base}/{ep.provider}/{ep.instance}", self.webhook_events(alias)
            refs = {
                self.bound.binding.interface(i).external_ref
                for i in self.bound.binding.interfaces
                if self.bound.binding.provider_alias(i) == alias
            }
            for ref in refs:
                extra = {
                    "binding": self.bound.name,
                    "provider": ep.provider,
                    "instance": ep.instance,
                }
                try:
                    assert ep.secret is not None  # intake_endpoints keeps only those with one
                    hook = await self.bound.adapters[alias].ensure_hook(ref, url, ep.secret, events)
                except Exception as exc:
                    notes.append(
                        f"{alias}: could not register the webhook of {ref.slug()} ({exc}); "
                        f"register {url} for {', '.join(events)} by hand"
                    )
                    log.warning(redact(notes[-1]), extra=extra)
                    continue
                if hook is None:
                    notes.append(
                        f"{alias}: {ep.provider} has no webhook API here; register {url} for "
                        f"{', '.join(events)} with the webhook secret by hand"
                    )
                    log.info(notes[-1], extra=extra)
                    continue
                self.hooks[(alias, ref.slug())] = hook
                log.info(
                    "webhook %s of %s %s: %s",
                    hook.id,
                    ref.slug(),
                    "created" if hook.created else "up to date",
                    url,
                    extra=extra,
                )
        return notes

    async def backfill_once(self) -> BackfillReport:
        """One incremental backfill of the binding (what the schedule runs)."""
        attrs = {"binding": self.bound.name}
        with timed(self.metrics, "kradle.sync.backfill.run", attrs):
            report = await Backfiller(
                self.bound, self.store, options=BackfillOptions(), metrics=self.metrics
            ).run()
        self.backfills.append(report)
        log.info(
            "backfill %s: %s",
            "succeeded" if report.ok else "incomplete",
            ", ".join(f"{r.name}={r.phase.value}" for r in report.results),
            extra={"binding": self.bound.name},
        )
        return report

    async def _backfill_loop(self) -> None:
        interval = self.options.backfill_interval or 0.0
        while not self._stop.is_set():
            try:
                await self.sync_cycle()
            except Exception as exc:  # the schedule outlives one failed run
                self.metrics.count(
                    "kradle.sync.backfill.failed", attributes={"binding": self.bound.name}
                )
                log.error(
                    "scheduled backfill failed: %s",
                    redact(repr(exc)),
                    extra={"binding": self.bound.name},
                )
            if interval <= 0:
                return
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), timeout=interval)

    def paused(self) -> bool:
        """Whether the binding is ``Paused``."""
        return self.phase.phase is BindingPhase.PAUSED

    async def pause(self, reason: str) -> None:
        """Hold backfills and writes (SPEC §7); deliveries are still recorded and applied."""
        await self.phase.move(BindingPhase.PAUSED, reason)

    async def resume(self) -> None:
        """Leave ``Paused``: writes are sent again, the next scheduled backfill runs."""
        await self.phase.move(BindingPhase.READY, "resumed")

    def stop(self) -> None:
        """End :meth:`run`: the receiver stops listening, the worker and schedule return."""
        self._stop.set()
        self.worker.stop()
        if self._server is not None:
            self._server.should_exit = True

    async def run(self, stop: asyncio.Event | None = None) -> None:
        """Serve until :meth:`stop` (or ``stop`` is set); closes the receiver's workers."""
        from kradle_providers.extras import require_extra

        require_extra("uvicorn", "server", purpose="serving the webhook receiver")
        import uvicorn

        sock = self.listen()
        # The receiver's workers take over what a previous (or crashed) process left pending.
        self.receiver.start()
        config = uvicorn.Config(
            self.receiver, log_level="warning", lifespan="off", access_log=False
        )
        self._server = uvicorn.Server(config)
        tasks = [
            asyncio.create_task(self._server.serve(sockets=[sock])),
            asyncio.create_task(self.worker.run(self._stop)),
        ]
        if self.options.backfill_interval is not None:
            tasks.append(asyncio.create_task(self._backfill_loop()))
        watcher = asyncio.create_task(_watch(stop, self)) if stop is not None else None
        try:
            await asyncio.gather(*tasks)
        finally:
            self.stop()
            for task in [*tasks, *([watcher] if watcher else [])]:
                if not task.done():
                    task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await self.receiver.drain()
            await self.receiver.aclose()
            sock.close()
            self._socket = None


async def _watch(stop: asyncio.Event, server: SyncServer) -> None:
    await stop.wait()
    server.stop()
