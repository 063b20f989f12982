"""The ``kradle-providers sync`` commands: backfill, status, serve-webhooks.

- ``sync backfill --config BINDING.yaml [--db PATH] [--interface I] [--full]``:
  runs (or resumes) the binding's backfill with progress (rich bars on a
  terminal, plain lines otherwise) and prints a summary. Exit 0 when every
  stream succeeded, 1 when one failed or is rate limited, 2 on a usage or
  configuration error (unreadable/invalid binding, refused binding, missing secret).
- ``sync status --db PATH [--json]``: objects per ``<interface>/<Kind>``
  (tombstones not counted), sync states, provider and binding phases,
  deliveries, intents and conflicts by phase.
- ``sync check --config BINDING.yaml [--db PATH] [--json]``: authenticates every
  provider instance, discovers what its credential may do and reads every
  target (:mod:`kradle_providers.sync.check`); exit 0 when all are Ready or
  Degraded, 1 when one failed, 2 on a configuration error. With ``--db`` the
  provider phases are recorded for ``sync status``.
- ``sync serve --config BINDING.yaml --db PATH [--port N] [--host H]
  [--backfill-interval S] [--write-interval S]``: the webhook receiver
  (``POST /{provider-type}/{instance}``) with the reconciler (which confirms
  writes by webhook), the write worker and a scheduled incremental backfill,
  in one process until stopped (:class:`~kradle_providers.sync.serve.SyncServer`).
- ``sync serve-webhooks``: ``sync serve`` without the scheduled backfill.
  The receiver's workers claim deliveries from the store, so several
  processes on one PostgreSQL store share them and a restarted one finishes
  what a crashed one left.
- ``sync recover --config BINDING.yaml --db PATH``: asks providers with a
  delivery log to redeliver what the receiver missed (received by a running
  ``sync serve``), else backfills the gap incrementally
  (:mod:`kradle_providers.sync.recover`).

Write intents and conflicts (``sync intents …``, ``sync conflicts …``) come
from :mod:`kradle_providers.sync.cli_writes` when it is installed.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import json
import sys
from collections.abc import AsyncIterator, Callable, Coroutine, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from kradle_providers.store.protocol import StateStore
    from kradle_providers.sync.runtime import ProviderOverride

__all__ = ["DEFAULT_DB", "build_parser", "main", "register"]

DEFAULT_DB = "kradle-sync.db"
EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2

_INTERFACES = ("issueTracking", "cicd", "gitForge")
_DB_HELP = f"state store: a SQLite file ({DEFAULT_DB}) or a postgresql:// URL"


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of at least 1, got {text!r}")
    return value


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
    b.add_argument(
        "--concurrency",
        type=_positive,
        default=8,
        metavar="N",
        help="reads in flight while hydrating a page's children and checks (default 8)",
    )
    b.add_argument("--plain", action="store_true", help="plain progress lines even on a tty")
    b.add_argument("--json", action="store_true", help="print the summary as JSON")
    b.set_defaults(handler=_backfill)

    s = sub.add_parser("status", help="what the state store holds")
    s.add_argument("--db", default=DEFAULT_DB, help=_DB_HELP)
    s.add_argument("--binding", default=None, help="only this binding's objects and states")
    s.add_argument("--json", action="store_true", help="print JSON")
    s.set_defaults(handler=_status)

    c = sub.add_parser(
        "check", help="authenticate, discover scopes, read targets (exit 0 ok, 1 failed, 2 config)"
    )
    c.add_argument("--config", required=True, type=Path, help="binding YAML/JSON file")
    c.add_argument("--db", default=None, help="record the phases in this " + _DB_HELP)
    c.add_argument("--json", action="store_true", help="print the result as JSON")
    c.set_defaults(handler=_check)

    r = sub.add_parser(
        "recover",
        help="ask providers to redeliver missed webhooks (else backfill the gap); exit 0 ok",
    )
    r.add_argument("--config", required=True, type=Path, help="binding YAML/JSON file")
    r.add_argument("--db", default=DEFAULT_DB, help=_DB_HELP)
    r.add_argument("--json", action="store_true", help="print the result as JSON")
    r.set_defaults(handler=_recover)

    serve = sub.add_parser(
        "serve", help="webhook receiver + write worker + scheduled incremental backfill"
    )
    w = sub.add_parser(
        "serve-webhooks", help="webhook receiver + write worker (sync serve without backfill)"
    )
    for p in (serve, w):
        p.add_argument("--config", required=True, type=Path, help="binding YAML/JSON file")
        p.add_argument("--db", default=DEFAULT_DB, help=_DB_HELP)
        p.add_argument("--host", default="127.0.0.1", help="listen address (127.0.0.1)")
        p.add_argument("--port", default=8787, type=int, help="listen port (8787; 0: any free)")
        p.add_argument(
            "--write-interval", default=2.0, type=float, help="seconds between write-worker passes"
        )
        p.add_argument(
            "--read-back-interval",
            default=30.0,
            type=float,
            help="seconds between read-backs of writes awaiting confirmation",
        )
        p.add_argument(
            "--lease",
            default=None,
            type=float,
            help="seconds a claim on a delivery or write lasts unless renewed: how soon another "
            "replica takes over the work of one that died (default 60 for deliveries, 300 for "
            "writes)",
        )
        p.add_argument(
            "--public-url",
            default=None,
            help="the receiver's address as providers reach it (registered webhooks point here)",
        )
        p.set_defaults(handler=_serve)
    serve.add_argument(
        "--backfill-interval",
        default=300.0,
        type=float,
        help="seconds between incremental backfills, the first at start (0: only that one)",
    )
    w.set_defaults(backfill_interval=None)

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
    import asyncio  # not at module level: `--help` stays fast

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
        options = BackfillOptions(
            full=args.full,
            wait_on_rate_limit=args.wait_on_rate_limit,
            concurrency=args.concurrency,
        )
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


# --------------------------------------------------------------------------- check


def _with_binding(
    args: argparse.Namespace, run: Callable[[argparse.Namespace, Any], Coroutine[Any, Any, int]]
) -> int:
    """Load ``--config`` and run ``run(args, binding)``; configuration errors exit 2."""
    import asyncio

    from kradle_providers.auth.refs import SecretNotFound
    from kradle_providers.plugins.selection import BindingRefused
    from kradle_providers.sync.binding import BindingError, load_binding

    try:
        binding = load_binding(args.config)
        return asyncio.run(run(args, binding))
    except (BindingError, BindingRefused, SecretNotFound) as exc:
        return _error(str(exc))


def _check(args: argparse.Namespace) -> int:
    return _with_binding(args, _run_check)


async def _run_check(args: argparse.Namespace, binding: Any) -> int:
    from kradle_providers.store import open_state_store
    from kradle_providers.sync.check import check_binding
    from kradle_providers.sync.runtime import BoundBinding

    async with await BoundBinding.open(
        binding, overrides=getattr(args, "overrides", None)
    ) as bound:
        if args.db is None:
            result = await check_binding(bound)
        else:
            async with open_state_store(args.db) as store:
                result = await check_binding(bound, store=store)
    if args.json:
        print(json.dumps(result.to_dict(), indent=2, default=str))
        return EXIT_OK if result.ok else EXIT_FAILED
    for p in result.providers:
        who = f" as {p.identity}" if p.identity else ""
        print(f"provider {p.alias} ({p.provider}/{p.instance}) {p.phase.value}{who}")
        if p.phase.value != "Ready" and p.reason:
            print(f"  {p.reason}")
        if p.budget:
            print(f"  budget: {p.budget['remaining']}/{p.budget['limit']} requests")
        for note in p.notes:
            print(f"  note: {note}")
    for t in result.targets:
        print(f"target {t.interface.value} {t.target}: {'ok' if t.ok else t.reason}")
    return EXIT_OK if result.ok else EXIT_FAILED


# --------------------------------------------------------------------------- recover


def _recover(args: argparse.Namespace) -> int:
    return _with_binding(args, _run_recover)


async def _run_recover(args: argparse.Namespace, binding: Any) -> int:
    from kradle_providers.store import open_state_store
    from kradle_providers.sync.recover import recover_missed
    from kradle_providers.sync.runtime import BoundBinding

    async with (
        await BoundBinding.open(binding, overrides=getattr(args, "overrides", None)) as bound,
        open_state_store(args.db) as store,
        _shared_budgets(store),
    ):
        report = await recover_missed(bound, store)
    if args.json:
        print(json.dumps(report.to_dict(), indent=2))
        return EXIT_OK
    for alias, guids in report.redelivered.items():
        print(f"{alias}: asked for {len(guids)} missed delivery(ies) again: {', '.join(guids)}")
    for alias, ifaces in report.backfilled.items():
        print(f"{alias}: no delivery log; backfilled {', '.join(ifaces)} incrementally")
    for note in report.notes:
        print(f"note: {note}")
    if not report.redelivered and not report.backfilled:
        print("nothing missed")
    return EXIT_OK


# --------------------------------------------------------------------------- status


def _status_through_store(db: str, binding: str | None) -> dict[str, Any]:
    import asyncio

    from kradle_providers.store import open_state_store
    from kradle_providers.sync.status import status_report

    async def run() -> dict[str, Any]:
        async with open_state_store(db) as store:
            return await status_report(store, binding=binding)

    return asyncio.run(run())


def _status(args: argparse.Namespace) -> int:
    from kradle_providers.store.url import local_path
    from kradle_providers.sync.status import read_sqlite_status

    path = local_path(args.db)
    if path is not None and not path.exists():
        return _error(f"no state store at {str(path)!r}; run `sync backfill --db` first")

    # A SQLite file is read directly (fast); PostgreSQL and older files take the store API.
    report = None if path is None else read_sqlite_status(path, binding=args.binding)
    if report is None:
        from kradle_providers.store.errors import StoreError

        try:
            report = _status_through_store(args.db, args.binding)
        except StoreError as exc:
            return _error(str(exc))
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
    for name, by_kind in report["phases"].items():
        for kind in ("binding", "provider"):
            for subject, st in by_kind.get(kind, {}).items():
                why = f": {st['reason']}" if st.get("reason") else ""
                label = f"binding {name}" if kind == "binding" else f"provider {name}/{subject}"
                print(f"{label} {st['phase']}{why}")
    for title in ("deliveries", "intents", "conflicts"):
        by_phase = ", ".join(f"{k}={v}" for k, v in report[title].items()) or "none"
        print(f"{title}: {by_phase}")
    return EXIT_OK


# --------------------------------------------------------------------------- serve-webhooks


def _serve(args: argparse.Namespace) -> int:
    return _with_binding(args, _run_serve)


async def _run_serve(args: argparse.Namespace, binding: Any) -> int:
    import asyncio
    import datetime
    import gc
    import signal

    from kradle_providers.store import open_state_store
    from kradle_providers.sync.runtime import BoundBinding
    from kradle_providers.sync.serve import ServeOptions, SyncServer

    options = ServeOptions(
        host=args.host,
        port=args.port,
        write_interval=args.write_interval,
        read_back_interval=args.read_back_interval,
        backfill_interval=args.backfill_interval,
        public_url=args.public_url,
        lease=None if args.lease is None else datetime.timedelta(seconds=args.lease),
    )
    async with (
        await BoundBinding.open(binding, overrides=getattr(args, "overrides", None)) as bound,
        open_state_store(args.db) as store,
        _shared_budgets(store),
    ):
        server = SyncServer(bound, store, options=options)
        server.listen()
        for url in server.webhook_urls():
            print(f"POST {url}", flush=True)
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, server.stop)
        # What startup built (plugins, manifests, validators) lives as long as the server:
        # frozen, the collector stops walking it on every pass under load.
        gc.collect()
        gc.freeze()
        await server.run()
        accepted = server.receiver.accepted
        counters = getattr(store, "counters", None)
        if counters is not None and accepted:
            print(
                f"{accepted} deliveries accepted; {counters.transactions} store transactions "
                f"for {accepted} deliveries ({counters.transactions / accepted:.2f} each)",
                flush=True,
            )
    return EXIT_OK


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
