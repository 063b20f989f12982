"""The ``kradle-providers sync`` commands: backfill, status, serve-webhooks.

- ``sync backfill --config BINDING.yaml [--db PATH] [--interface I] [--full]``:
  runs (or resumes) the binding's backfill with progress (rich bars on a
  terminal, plain lines otherwise) and prints a summary. Exit 0 when every
  stream succeeded, 1 when one failed or is rate limited, 2 on a usage or
  configuration error (unreadable/invalid binding, refused binding, missing secret).
- ``sync status --db PATH [--json]``: objects per ``<interface>/<Kind>``
  (tombstones not counted), sync states, deliveries, intents and conflicts by phase.
- ``sync serve-webhooks --config BINDING.yaml --db PATH [--port N] [--host H]``:
  the webhook receiver (``POST /{provider-type}/{instance}``) with the
  reconciler as its handler; its workers claim deliveries from the store, so
  several processes on one PostgreSQL store share them and a restarted one
  finishes what a crashed one left.

Write intents and conflicts (``sync intents …``, ``sync conflicts …``) come
from :mod:`kradle_providers.sync.cli_writes` when it is installed.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib
import json
import sys
from collections import Counter
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from kradle_providers.store.protocol import StateStore
    from kradle_providers.sync.runtime import ProviderOverride

__all__ = ["DEFAULT_DB", "build_parser", "main", "register", "status_report"]

DEFAULT_DB = "kradle-sync.db"
EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2

_INTERFACES = ("issueTracking", "cicd", "gitForge")
_DB_HELP = f"state store: a SQLite file ({DEFAULT_DB}) or a postgresql:// URL"


def register(subparsers: Any) -> None:
    """Add the ``sync`` group to the ``kradle-providers`` command."""
    sync = subparsers.add_parser("sync", help="bindings, backfill, webhook reconciliation")
    sub = sync.add_subparsers(dest="sync_command", metavar="ACTION", required=True)

    b = sub.add_parser(
        "backfill",
        help="backfill a binding into the state store (exit 0 ok, 1 failed, 2 config error)",
    )
    b.add_argument("--config", required=True, type=Path, help="binding YAML/JSON file")
    b.add_argument("--db", default=DEFAULT_DB, help=_DB_HELP)
    b.add_argument("--interface", choices=_INTERFACES, default=None, help="only this interface")
    b.add_argument("--full", action="store_true", help="complete listings (and deletion sweep)")
    b.add_argument(
        "--wait-on-rate-limit",
        action="store_true",
        help="wait for the rate-limit reset instead of stopping the stream",
    )
    b.add_argument("--plain", action="store_true", help="plain progress lines even on a tty")
    b.add_argument("--json", action="store_true", help="print the summary as JSON")
    b.set_defaults(handler=_backfill)

    s = sub.add_parser("status", help="what the state store holds")
    s.add_argument("--db", default=DEFAULT_DB, help=_DB_HELP)
    s.add_argument("--binding", default=None, help="only this binding's objects and states")
    s.add_argument("--json", action="store_true", help="print JSON")
    s.set_defaults(handler=_status)

    w = sub.add_parser("serve-webhooks", help="run the webhook receiver with the reconciler")
    w.add_argument("--config", required=True, type=Path, help="binding YAML/JSON file")
    w.add_argument("--db", default=DEFAULT_DB, help=_DB_HELP)
    w.add_argument("--host", default="127.0.0.1", help="listen address (127.0.0.1)")
    w.add_argument("--port", default=8787, type=int, help="listen port (8787)")
    w.set_defaults(handler=_serve)

    try:
        writes = importlib.import_module("kradle_providers.sync.cli_writes")
    except ModuleNotFoundError as exc:
        if exc.name != "kradle_providers.sync.cli_writes":
            raise
    else:
        writes.register(sub)


def build_parser() -> argparse.ArgumentParser:
    """A parser with only the ``sync`` group (for :func:`main`)."""
    parser = argparse.ArgumentParser(prog="kradle-providers")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    register(sub)
    return parser


def main(
    argv: Sequence[str] | None = None,
    *,
    overrides: Mapping[str, ProviderOverride] | None = None,
) -> int:
    """Run a ``sync`` command; ``overrides`` adds per-provider-alias config (hosts, tests)."""
    args = build_parser().parse_args(argv)
    args.overrides = overrides
    code: int = args.handler(args)
    return code


def _error(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return EXIT_USAGE


# --------------------------------------------------------------------------- backfill


def _backfill(args: argparse.Namespace) -> int:
    from kradle_providers.auth.refs import SecretNotFound
    from kradle_providers.plugins.selection import BindingRefused
    from kradle_providers.sync.binding import BindingError, load_binding

    try:
        binding = load_binding(args.config)
    except BindingError as exc:
        return _error(str(exc))
    if args.interface is not None and args.interface not in {i.value for i in binding.interfaces}:
        bound = ", ".join(i.value for i in binding.interfaces)
        return _error(f"--interface {args.interface}: {binding.name!r} binds only {bound}")
    try:
        return asyncio.run(_run_backfill(args, binding))
    except (BindingRefused, SecretNotFound) as exc:
        return _error(str(exc))


async def _run_backfill(args: argparse.Namespace, binding: Any) -> int:
    from kradle_providers.store import open_state_store
    from kradle_providers.store.url import display_name
    from kradle_providers.sync.backfill import Backfiller, BackfillOptions
    from kradle_providers.sync.progress import make_progress
    from kradle_providers.sync.runtime import BoundBinding

    overrides = getattr(args, "overrides", None)
    async with (
        await BoundBinding.open(binding, overrides=overrides) as bound,
        open_state_store(args.db) as store,
        _shared_budgets(store),
    ):
        progress = make_progress(force_plain=args.plain)
        options = BackfillOptions(full=args.full, wait_on_rate_limit=args.wait_on_rate_limit)
        try:
            report = await Backfiller(bound, store, progress=progress, options=options).run(
                args.interface
            )
        finally:
            progress.close()
        counts = await store.projections.count_by_kind(binding.name)
    db = display_name(args.db)
    if args.json:
        print(json.dumps({**report.to_dict(), "objects": counts, "db": db}, indent=2))
    else:
        for r in report.results:
            c = r.counters
            tail = f" ({r.error})" if r.error else ""
            print(
                f"{r.name:<28} {r.phase.value:<12} listed={c.listed} hydrated={c.hydrated} "
                f"applied={c.applied} unchanged={c.unchanged} tombstoned={c.tombstoned}{tail}"
            )
        total = sum(counts.values())
        print(f"{total} object(s) in {db}; run `kradle-providers sync status --db {db}`")
    return EXIT_OK if report.ok else EXIT_FAILED


# --------------------------------------------------------------------------- status


async def status_report(store: StateStore, *, binding: str | None = None) -> dict[str, Any]:
    """What ``sync status --json`` prints: objects, states, deliveries, intents, conflicts."""
    objects = await store.projections.count_by_kind(binding)
    states = [
        s.model_dump(mode="json", exclude={"checkpoint"})
        for s in await store.sync_states.find(binding=binding)
    ]
    deliveries = {p.value: n for p, n in (await store.deliveries.count_by_phase()).items()}
    return {
        "objects": dict(sorted(objects.items())),
        "states": states,
        "deliveries": deliveries,
        "intents": _count_by_phase(await store.intents.find(binding=binding)),
        "conflicts": _count_by_phase(await store.conflicts.find(binding=binding)),
    }


def _count_by_phase(records: Iterable[Any]) -> dict[str, int]:
    """How many ``records`` are in each phase, in order of first appearance."""
    return dict(Counter(r.phase.value for r in records))


def _status(args: argparse.Namespace) -> int:
    from kradle_providers.store import open_state_store
    from kradle_providers.store.url import local_path

    path = local_path(args.db)
    if path is not None and not path.exists():
        return _error(f"no state store at {str(path)!r}; run `sync backfill --db` first")

    async def run() -> dict[str, Any]:
        async with open_state_store(args.db) as store:
            return await status_report(store, binding=args.binding)

    report = asyncio.run(run())
    if args.json:
        print(json.dumps(report, indent=2, sort_keys=True))
        return EXIT_OK
    print("objects:")
    for key, count in report["objects"].items():
        print(f"  {key:<30} {count}")
    print("streams:")
    for s in report["states"]:
        error = f"  {s['error']}" if s.get("error") else ""
        print(f"  {s['binding']}/{s['interface']}/{s['kind']} [{s['scope']}] {s['phase']}{error}")
    for title in ("deliveries", "intents", "conflicts"):
        by_phase = ", ".join(f"{k}={v}" for k, v in report[title].items()) or "none"
        print(f"{title}: {by_phase}")
    return EXIT_OK


# --------------------------------------------------------------------------- serve-webhooks


def _serve(args: argparse.Namespace) -> int:
    from kradle_providers.auth.refs import SecretNotFound
    from kradle_providers.plugins.selection import BindingRefused
    from kradle_providers.sync.binding import BindingError, load_binding

    try:
        binding = load_binding(args.config)
        return asyncio.run(_run_serve(args, binding))
    except (BindingError, BindingRefused, SecretNotFound) as exc:
        return _error(str(exc))


async def _run_serve(args: argparse.Namespace, binding: Any) -> int:
    import uvicorn

    from kradle_providers.errors import InvalidInput
    from kradle_providers.store import open_state_store
    from kradle_providers.sync.reconciler import Reconciler
    from kradle_providers.sync.runtime import BoundBinding
    from kradle_providers.webhooks.receiver import WebhookReceiver
    from kradle_providers.webhooks.registry import NormalizerRegistry

    async with (
        await BoundBinding.open(binding, overrides=getattr(args, "overrides", None)) as bound,
        open_state_store(args.db) as store,
        _shared_budgets(store),
    ):
        endpoints = []
        for ep in bound.webhook_endpoints():
            try:
                WebhookReceiver([ep], handle=_noop)  # builds the verifier: fails if none
            except InvalidInput as exc:
                print(f"warning: no webhook intake for {ep.provider}/{ep.instance}: {exc}")
                continue
            endpoints.append(ep)
        reconciler = Reconciler(store, binding.name, routes=bound.routes())
        receiver = WebhookReceiver(
            endpoints,
            handle=reconciler,
            registry=NormalizerRegistry.from_plugins(),
            store=store.deliveries,
            dedupe=store.dedupe,
        )
        # The workers take over what a previous (or a crashed) process left pending.
        receiver.start()
        for ep in endpoints:
            print(f"POST http://{args.host}:{args.port}/{ep.provider}/{ep.instance}", flush=True)
        config = uvicorn.Config(
            receiver.app, host=args.host, port=args.port, log_level="warning", lifespan="on"
        )
        await uvicorn.Server(config).serve()
        await receiver.drain()
        await receiver.aclose()
    return EXIT_OK


async def _noop(events: Any) -> None:
    return None


@contextlib.asynccontextmanager
async def _shared_budgets(store: StateStore) -> AsyncIterator[None]:
    """Spend rate-limit budgets from the store, shared with every process using it."""
    from kradle_providers.http.client import default_budget_registry

    registry = default_budget_registry()
    registry.share_with(store.budgets)
    try:
        yield
    finally:
        registry.share_with(None)
