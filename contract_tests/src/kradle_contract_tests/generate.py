"""Which checks a manifest calls for: exactly what it declares, and refusals for the rest."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from kradle_contract_tests import scenarios as sc
from kradle_contract_tests.calls import GETTERS, LISTINGS
from kradle_contract_tests.context import Ctx
from kradle_contract_tests.emulator_contract import emulator_serves
from kradle_contract_tests.webhook_security import webhook_security
from kradle_providers.manifest.model import Manifest
from kradle_providers.models.base import Interface
from kradle_providers.protocols.catalogue import CATALOGUE, Effect, operations_of

__all__ = ["GROUPS", "Check", "checks_for"]

GROUPS = ("manifest", "emulator", "webhooks", "noLeak")
"""Check groups that are not one interface's."""


@dataclass(frozen=True)
class Check:
    """One generated contract test.

    ``name`` reads ``interface::operation::scenario`` (or ``group::...``);
    ``group`` is the interface value or one of :data:`GROUPS`; a check with
    ``skip`` set is reported skipped with that reason.
    """

    name: str
    group: str
    run: Callable[[Ctx], Awaitable[None]]
    skip: str | None = None
    doc: str = ""


def _check(name: str, group: str, fn: Callable[..., Awaitable[None]], *args: Any) -> Check:
    doc = (fn.__doc__ or "").strip().splitlines()[0] if fn.__doc__ else ""

    def run(ctx: Ctx) -> Awaitable[None]:
        return fn(ctx, *args)

    return Check(name, group, run, doc=doc)


_RICH_TEXT = ("getIssue", "listComments", "createIssue", "createComment")
# Derived from the catalogue: every create must survive a lost response; creates with a
# payload and updates round-trip it; converging writes are idempotent and dry-run.
_LOST_RESPONSE = {op.name for op in CATALOGUE if op.effect is Effect.CREATE}
_CREATES = {op.name for op in CATALOGUE if op.effect is Effect.CREATE and op.args is not None}
_UPDATES = {op.name for op in CATALOGUE if op.effect is Effect.UPDATE}
_SYNCS = {op.name for op in CATALOGUE if op.effect is Effect.CONVERGE}
_ACTIONS = {
    op.name
    for op in CATALOGUE
    if op.effect is Effect.ACTION
    and (op.sets or op.name in sc.ACTION_EFFECTS or op.name in sc.READBACK_ACTIONS)
}


def _interface_checks(manifest: Manifest, interface: Interface) -> list[Check]:
    iface = interface.value
    spec = manifest.interface(interface)
    declared = spec.supported_operations()
    out: list[Check] = []
    for info in operations_of(interface):
        op = info.name
        if op not in declared:
            continue
        base = f"{iface}::{op}"
        out.append(_check(f"{base}::call", iface, sc.call_smoke, op))
        if op in LISTINGS:
            listing = LISTINGS[op]
            out.append(_check(f"{base}::pages", iface, sc.list_pages, listing))
            out.append(_check(f"{base}::changingWhilePaging", iface, sc.list_while_changing,
                              listing))  # fmt: skip
            out.append(_check(f"{base}::insertedWhilePaging", iface, sc.list_while_inserting,
                              listing))  # fmt: skip
            if info.id_optional and listing.parent is not None:
                out.append(_check(f"{base}::pagesRepositoryWide", iface,
                                  sc.list_repository_wide, listing))  # fmt: skip
            if listing.incremental:
                out.append(_check(f"{base}::incremental", iface, sc.list_incremental, listing))
        if op in GETTERS:
            out.append(_check(f"{base}::roundtrip", iface, sc.get_roundtrip, op))
            out.append(_check(f"{base}::notFound", iface, sc.get_missing, op))
        if op in LISTINGS or op in GETTERS:
            out.append(_check(f"{base}::envelope", iface, sc.envelope, op))
            out.append(_check(f"{base}::extensions", iface, sc.extensions, op))
        if op in _RICH_TEXT:
            out.append(_check(f"{base}::richText", iface, sc.rich_text, op))
        if op in _CREATES:
            out.append(_check(f"{base}::roundtrip", iface, sc.create_roundtrip, op))
        if op in _UPDATES:
            out.append(_check(f"{base}::roundtrip", iface, sc.update_roundtrip, op))
        if op in _ACTIONS:
            out.append(_check(f"{base}::readBack", iface, sc.action_readback, op))
        if op in _LOST_RESPONSE:
            out.append(_check(f"{base}::lostResponse", iface, sc.lost_response, op))
        if op in _SYNCS:
            out.append(_check(f"{base}::idempotent", iface, sc.sync_idempotent, op))
            out.append(_check(f"{base}::dryRun", iface, sc.sync_dry_run, op))
    probe = next(
        (i.name for i in operations_of(interface) if not i.write and i.name in declared), None
    )
    if probe is not None:
        out.append(_check(f"{iface}::{probe}::badCredential", iface, sc.bad_credential, probe))
        out.append(_check(f"{iface}::{probe}::rateLimited", iface, sc.rate_limited, probe))
    if not out:
        out.append(
            _check(f"{iface}::scenarios::present", iface, sc.interface_without_scenarios, iface)
        )
    return out


def checks_for(manifest: Manifest) -> list[Check]:
    """Every contract check the manifest calls for, in a stable order."""
    checks = [
        _check("manifest::schema::valid", "manifest", sc.manifest_valid),
        _check("manifest::operations::implemented", "manifest", sc.manifest_implemented),
        _check("emulator::serve::starts", "emulator", emulator_serves),
    ]
    if any(s.supported and s.webhook_entries() for _, s in manifest.spec.interfaces.items()):
        checks.append(_check("webhooks::security::signatures", "webhooks", webhook_security))
    for _, spec in manifest.spec.interfaces.items():
        if not spec.supported:
            continue
        for hook in spec.webhook_entries():
            event = hook.event
            checks.append(
                _check(f"webhooks::{event}::normalizer", "webhooks", sc.webhook_normalizer, event)
            )
            checks.append(
                _check(
                    f"webhooks::{event}::fixtures",
                    "webhooks",
                    sc.webhook_fixtures,
                    event,
                    hook.informational,
                )
            )
    for interface, spec in manifest.spec.interfaces.items():
        iface = interface.value
        if spec.supported:
            checks += _interface_checks(manifest, interface)
        else:
            reason = manifest.unsupported_reason(operations_of(interface)[0].name)
            checks.append(
                Check(
                    f"{iface}::suite::declared",
                    iface,
                    functools.partial(sc.interface_without_scenarios, interface=iface),
                    skip=f"{iface} is not supported by {manifest.provider_type}: {reason}",
                )
            )
        for info in operations_of(interface):
            if not manifest.supports(info.name):
                checks.append(
                    _check(f"{iface}::{info.name}::unsupported", iface, sc.unsupported, info.name)
                )
    checks.append(_check("noLeak::credential::canary", "noLeak", sc.no_leak))
    checks.append(_check("noLeak::authForms::canary", "noLeak", sc.no_leak_auth_forms))
    return checks
