"""``kradle-providers sync intents …`` and ``sync conflicts …``: review writes and conflicts.

- ``sync intents list [--db PATH] [--phase P] [--json]``
- ``sync intents approve ID --actor NAME [--db PATH] [--config BINDING.yaml --send]``
- ``sync intents reject ID --reason TEXT [--actor NAME] [--db PATH]``
- ``sync conflicts list [--db PATH] [--phase P] [--json]``
- ``sync conflicts resolve ID --resolution R [--value FIELD=JSON ...] [--actor NAME] [--db PATH]``

Exit codes: 0 done, 1 refused (unknown id, wrong phase, not allowed, send
failed), 2 usage (bad arguments, unreadable ``--value``).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from kradle_providers.sync.cli import DEFAULT_DB

__all__ = ["DEFAULT_DB", "register"]

_RESOLUTIONS = (
    "prefer-external",
    "prefer-local",
    "manual-merge",
    "reviewed-provider-change",
    "ignore-with-warning",
)


def register(sync_subparsers: Any) -> None:
    """Add ``intents`` and ``conflicts`` to the ``sync`` command group."""
    intents = sync_subparsers.add_parser("intents", help="review write intents")
    isub = intents.add_subparsers(dest="intents_command", metavar="ACTION", required=True)

    p = isub.add_parser("list", help="list write intents")
    _db(p)
    p.add_argument("--phase", help="only intents in this phase (e.g. PendingApproval)")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(handler=_intents_list)

    p = isub.add_parser("approve", help="approve a pending write")
    p.add_argument("id", help="the intent id")
    p.add_argument("--actor", required=True, help="who approves (recorded and audited)")
    p.add_argument("--note", help="why")
    _db(p)
    p.add_argument("--config", help="the binding file (needed with --send)")
    p.add_argument("--send", action="store_true", help="send it now (needs --config)")
    p.set_defaults(handler=_intents_approve)

    p = isub.add_parser("reject", help="reject a write that has not been sent")
    p.add_argument("id", help="the intent id")
    p.add_argument("--reason", required=True, help="why (recorded and audited)")
    p.add_argument("--actor", default="cli", help="who rejects")
    _db(p)
    p.set_defaults(handler=_intents_reject)

    conflicts = sync_subparsers.add_parser("conflicts", help="review and resolve conflicts")
    csub = conflicts.add_subparsers(dest="conflicts_command", metavar="ACTION", required=True)

    p = csub.add_parser("list", help="list conflicts")
    _db(p)
    p.add_argument("--phase", help="only conflicts in this phase (e.g. Open)")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(handler=_conflicts_list)

    p = csub.add_parser("resolve", help="resolve a conflict")
    p.add_argument("id", help="the conflict id")
    p.add_argument("--resolution", required=True, choices=_RESOLUTIONS)
    p.add_argument(
        "--value",
        action="append",
        default=[],
        metavar="FIELD=JSON",
        help="a merged value for manual-merge, e.g. title='\"New title\"' (repeatable)",
    )
    p.add_argument("--actor", default="cli", help="who resolves")
    p.add_argument("--note", help="why")
    _db(p)
    p.set_defaults(handler=_conflicts_resolve)


def _db(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--db",
        default=DEFAULT_DB,
        help=f"state store: a SQLite file (default ./{DEFAULT_DB}) or a postgresql:// URL",
    )


def _err(message: str) -> None:
    from kradle_providers.auth.secret import redact

    print(f"error: {redact(message)}", file=sys.stderr)


def _run(coro: Any) -> int:
    import asyncio  # not at module level: `--help` stays fast

    from kradle_providers.errors import KradleError
    from kradle_providers.store.errors import PhaseMismatch

    try:
        code: int = asyncio.run(coro)
        return code
    except (KradleError, PhaseMismatch, ValueError) as exc:
        _err(str(exc))
        return 1


def _store(args: argparse.Namespace) -> Any:
    from kradle_providers.store import open_state_store

    return open_state_store(args.db)


def _check_db(args: argparse.Namespace) -> bool:
    from kradle_providers.store.url import local_path

    path = local_path(args.db)
    if path is not None and not path.exists():
        _err(f"no state store at {args.db}; pass --db PATH (the file `sync backfill` wrote)")
        return False
    return True


def _phase(kind: str, value: str | None) -> Any:
    if value is None:
        return None
    from kradle_providers.sync.phases import ConflictPhase, WriteIntentPhase

    family: Any = WriteIntentPhase if kind == "intent" else ConflictPhase
    for phase in family:
        if value.lower() in (phase.value.lower(), phase.name.lower()):
            return phase
    raise ValueError(
        f"unknown {kind} phase {value!r}; use one of: " + ", ".join(p.value for p in family)
    )


def _list(
    args: argparse.Namespace,
    kind: str,
    find: Callable[[Any, Any], Awaitable[list[Any]]],
    line: Callable[[Any], str],
) -> int:
    """List ``kind`` records of the store (in ``--phase``), as lines or ``--json``."""
    try:
        phase = _phase(kind, args.phase)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if not _check_db(args):
        return 1

    async def work() -> int:
        async with _store(args) as store:
            records = await find(store, phase)
        if args.json:
            print(json.dumps([r.model_dump(mode="json") for r in records], indent=2))
        elif not records:
            nothing = "no write intents" if kind == "intent" else "no conflicts"
            print(nothing + (f" in {phase.value}" if phase else ""))
        else:
            for record in records:
                print(line(record))
        return 0

    return _run(work())


# --------------------------------------------------------------------------- intents


def _intents_list(args: argparse.Namespace) -> int:
    def line(i: Any) -> str:
        where = f"{i.target.slug()}#{i.object_id}" if i.object_id else i.target.slug()
        return f"{i.id}  {i.phase.value:<20} {i.operation:<18} {where:<24} by {i.actor}"

    return _list(args, "intent", lambda store, phase: store.intents.find(phase=phase), line)


def _intents_approve(args: argparse.Namespace) -> int:
    if args.send and not args.config:
        print("error: --send needs --config BINDING.yaml to reach the provider", file=sys.stderr)
        return 2
    if not _check_db(args):
        return 1

    async def work() -> int:
        from kradle_providers.sync.intents import WriteIntentService

        async with _store(args) as store:
            if not args.send:
                service = WriteIntentService(store)
                intent = await service.approve(args.id, args.actor, note=args.note)
                print(f"approved {intent.id}: {intent.phase.value}")
                return 0
            from kradle_providers.sync.binding import load_binding
            from kradle_providers.sync.intents import channels_for
            from kradle_providers.sync.runtime import BoundBinding

            binding = load_binding(args.config)
            async with await BoundBinding.open(binding) as bound:
                service = WriteIntentService(store, channels_for(bound))
                intent = await service.approve(args.id, args.actor, note=args.note)
                print(f"approved {intent.id}: {intent.phase.value}")
                sent = await service.send(intent.id)
                print(f"sent {sent.id}: {sent.phase.value}")
                if sent.last_error and sent.phase.value in ("Failed", "Retrying", "Conflict"):
                    print(f"  {sent.last_error}")
                return 0 if sent.phase.value in ("AwaitingConfirmation", "Succeeded") else 1

    return _run(work())


def _intents_reject(args: argparse.Namespace) -> int:
    if not _check_db(args):
        return 1

    async def work() -> int:
        from kradle_providers.sync.intents import WriteIntentService

        async with _store(args) as store:
            intent = await WriteIntentService(store).reject(args.id, args.actor, reason=args.reason)
        print(f"rejected {intent.id}: {intent.phase.value}")
        return 0

    return _run(work())


# --------------------------------------------------------------------------- conflicts


def _conflicts_list(args: argparse.Namespace) -> int:
    def line(c: Any) -> str:
        fields = ", ".join(f.field for f in c.fields) or "-"
        return (
            f"{c.id}  {c.phase.value:<10} {c.reason.value:<22} "
            f"{c.key.kind}/{c.key.native_id:<10} fields: {fields}"
        )

    return _list(args, "conflict", lambda store, phase: store.conflicts.find(phase=phase), line)


def _parse_values(items: Sequence[str]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for item in items:
        name, sep, raw = item.partition("=")
        if not sep or not name:
            raise ValueError(f"--value {item!r} is not FIELD=JSON (e.g. title='\"New\"')")
        try:
            values[name] = json.loads(raw)
        except json.JSONDecodeError:
            raise ValueError(
                f"--value {name}: {raw!r} is not JSON; quote strings, e.g. {name}='\"{raw}\"'"
            ) from None
    return values


def _conflicts_resolve(args: argparse.Namespace) -> int:
    try:
        values = _parse_values(args.value)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if not _check_db(args):
        return 1

    async def work() -> int:
        from kradle_providers.sync.conflicts import ConflictResolver

        async with _store(args) as store:
            conflict, intent = await ConflictResolver(store).resolve(
                args.id,
                args.resolution.replace("-", "_"),
                by=args.actor,
                values=values or None,
                note=args.note,
            )
        line = f"{conflict.phase.value.lower()} {conflict.id} ({conflict.resolution})"
        if intent is not None:
            line += f"; intent {intent.id}: {intent.phase.value}"
        print(line)
        return 0

    return _run(work())
