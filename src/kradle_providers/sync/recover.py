"""Recovering changes whose webhook deliveries the receiver missed (SPEC §7).

For every provider instance the binding takes webhooks from:

- where the provider keeps a delivery log of its hooks, the binding's
  hook is found (its URL ends with ``/{provider}/{instance}``), and every
  delivery that never got a 2xx answer and that the state store has not
  recorded is redelivered: the provider sends it again, same delivery id and
  bytes, to the running receiver (``sync serve``), whose dedupe makes a
  delivery that did arrive a no-op;
- elsewhere, an incremental backfill of the interfaces it serves brings the
  changes of the downtime window (from each stream's high-water mark).

Both are idempotent with what already arrived. ``kradle-providers sync recover``
runs :func:`recover_missed`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from kradle_providers.models.base import Interface
from kradle_providers.store.protocol import StateStore
from kradle_providers.sync.backfill import Backfiller
from kradle_providers.sync.phases import DeliveryPhase
from kradle_providers.sync.runtime import BoundBinding

__all__ = ["RecoveryReport", "recover_missed"]

log = logging.getLogger(__name__)

_ARRIVED = {DeliveryPhase.QUEUED, DeliveryPhase.NORMALIZING, DeliveryPhase.PROCESSING}
_ARRIVED |= {DeliveryPhase.SUCCEEDED, DeliveryPhase.RETRYING, DeliveryPhase.DEAD_LETTERED}


@dataclass
class RecoveryReport:
    """What :func:`recover_missed` did, per provider alias."""

    redelivered: dict[str, list[str]] = field(default_factory=dict)
    """alias -> delivery ids (guids) the provider was asked to send again."""
    backfilled: dict[str, list[str]] = field(default_factory=dict)
    """alias -> interfaces backfilled because the provider keeps no delivery log."""
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, object]:
        """JSON-ready."""
        return {
            "redelivered": self.redelivered,
            "backfilled": self.backfilled,
            "notes": self.notes,
        }


async def _recorded(store: StateStore, provider: str, guid: str) -> bool:
    records = await store.deliveries.find_by_delivery_id(provider, guid)
    return any(r.phase in _ARRIVED for r in records)


async def recover_missed(
    bound: BoundBinding, store: StateStore, *, backfill: bool = True
) -> RecoveryReport:
    """Ask for every missed delivery again, or backfill where there is no delivery log.

    ``backfill=False`` leaves the providers without a log to the caller (``sync
    serve`` backfills right after).
    """
    report = RecoveryReport()
    binding = bound.binding
    for alias, adapter in bound.adapters.items():
        prov = binding.provider(alias)
        if prov.webhook_secret is None:
            continue  # no webhooks taken from it: backfills keep it in sync
        suffix = f"/{prov.type}/{binding.instance_name(alias)}"
        ifaces = [i for i in binding.interfaces if binding.provider_alias(i) == alias]
        refs = {binding.interface(i).external_ref for i in ifaces}
        logged = True
        for ref in refs:
            hooks = await adapter.list_hooks(ref)
            if hooks is None:
                logged = False
                break
            mine = [h for h in hooks if h.url.rstrip("/").endswith(suffix)]
            if not mine:
                report.notes.append(
                    f"{alias}: {ref.slug()} has no webhook to *{suffix}; run `sync serve` "
                    "to register it"
                )
                continue
            for hook in mine:
                entries = await adapter.list_hook_deliveries(ref, hook.id)
                if entries is None:
                    logged = False
                    break
                ok = {e.guid for e in entries if e.ok}
                seen: set[str] = set()
                for entry in entries:  # newest first: the latest attempt of each guid
                    if entry.guid in ok or entry.guid in seen:
                        continue
                    seen.add(entry.guid)
                    if await _recorded(store, prov.type, entry.guid):
                        continue
                    if await adapter.redeliver_hook_delivery(ref, hook.id, entry.id):
                        report.redelivered.setdefault(alias, []).append(entry.guid)
                        log.info(
                            "asked %s to redeliver %s (%s)",
                            alias,
                            entry.guid,
                            entry.event,
                            extra={
                                "binding": bound.name,
                                "provider": prov.type,
                                "delivery_id": entry.guid,
                            },
                        )
        if not logged and backfill:
            await _backfill(bound, store, alias, ifaces, report)
    return report


async def _backfill(
    bound: BoundBinding,
    store: StateStore,
    alias: str,
    interfaces: list[Interface],
    report: RecoveryReport,
) -> None:
    backfiller = Backfiller(bound, store)
    for iface in interfaces:
        result = await backfiller.run(iface)
        report.backfilled.setdefault(alias, []).append(iface.value)
        if not result.ok:
            report.notes.append(
                f"{alias}: the {iface.value} backfill did not finish: "
                + "; ".join(f"{r.name}: {r.error}" for r in result.results if r.error)
            )
