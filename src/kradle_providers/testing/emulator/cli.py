"""``kradle-providers emulator serve PROVIDER``: run a provider's emulator on a port.

The emulator comes from the provider's plugin (its ``emulator`` factory in the
plugin registry), so any installed provider with an emulator can be served.
"""

from __future__ import annotations

import argparse
import inspect
import sys
from collections.abc import Callable, Mapping
from typing import Any

from kradle_providers.errors import KradleError, PluginLoadError

__all__ = ["FACTORY_SIGNATURE", "build_emulator", "load_emulator_factory", "register"]

EXIT_USAGE = 2

FACTORY_SIGNATURE = (
    "def create_emulator(*, seed: str | None = None, token: str | None = None, "
    "flavor: str | None = None, options: Mapping[str, str] | None = None) -> EmulatorApp"
)
"""How ``emulator serve`` (and the contract suite) calls ``ProviderPlugin.emulator``."""


def register(subparsers: Any) -> None:
    """Add the ``emulator`` command group to the CLI."""
    parser = subparsers.add_parser(
        "emulator",
        help="run provider API emulators",
        description="Run a provider's API emulator for offline tests and demos.",
    )
    sub = parser.add_subparsers(dest="emulator_command", metavar="SUBCOMMAND", required=True)
    serve = sub.add_parser(
        "serve",
        help="serve a provider's emulator on a loopback port",
        description=(
            "Serve PROVIDER's emulator until interrupted (Ctrl-C / SIGTERM). "
            "The first output line is the base URL."
        ),
    )
    serve.add_argument("provider", metavar="PROVIDER", help="provider type, e.g. acme")
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=0, help="port (default: a free port)")
    serve.add_argument("--seed", default=None, help="named seed data set, e.g. demo")
    serve.add_argument("--token", default=None, help="the token the emulator accepts")
    serve.add_argument("--flavor", default=None, help="provider variant, e.g. cloud/datacenter")
    serve.add_argument(
        "--latency-ms", type=float, default=0.0, help="milliseconds added to every request"
    )
    serve.add_argument(
        "--option",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="emulator-specific option (repeatable)",
    )
    serve.add_argument(
        "--admin",
        action="store_true",
        help="also answer GET/DELETE /_emulator/requests (request log and budget spent)",
    )
    serve.set_defaults(handler=_serve)


def load_emulator_factory(provider: str) -> Callable[..., Any] | None:
    """The provider's emulator factory from the plugin registry (``None``: it has none)."""
    from kradle_providers.plugins.registry import load_registry

    factory: Callable[..., Any] | None = load_registry().emulator_factory(provider)
    return factory


def build_emulator(
    provider: str,
    factory: Callable[..., Any],
    *,
    seed: str | None = None,
    token: str | None = None,
    flavor: str | None = None,
    options: Mapping[str, str] | None = None,
) -> Any:
    """Call ``factory`` exactly as ``emulator serve`` does; a wrong signature says the fix.

    Raises :class:`PluginLoadError` when the factory does not accept the keyword
    arguments of :data:`FACTORY_SIGNATURE` (e.g. ``ProviderPlugin.emulator`` names
    the emulator class instead of a factory).
    """
    kwargs: dict[str, Any] = {
        "seed": seed,
        "token": token,
        "flavor": flavor,
        "options": dict(options or {}),
    }
    try:
        inspect.signature(factory).bind(**kwargs)
    except TypeError as exc:
        raise PluginLoadError(
            f"the {provider} emulator factory {getattr(factory, '__qualname__', factory)!r} "
            f"cannot be called as emulator serve calls it: {exc}. How to fix: point "
            f"ProviderPlugin.emulator at a function `{FACTORY_SIGNATURE}`"
        ) from exc
    except ValueError:
        pass  # no introspectable signature (a C callable): let the call decide
    return factory(**kwargs)


def _parse_options(pairs: list[str]) -> dict[str, str] | str:
    options: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            return f"--option {pair!r} is not KEY=VALUE"
        options[key] = value
    return options


def _serve(args: argparse.Namespace) -> int:
    options = _parse_options(args.option)
    if isinstance(options, str):
        print(f"error: {options}", file=sys.stderr)
        return EXIT_USAGE
    if args.latency_ms < 0:
        print("error: --latency-ms must be zero or positive", file=sys.stderr)
        return EXIT_USAGE
    try:
        factory = load_emulator_factory(args.provider)
    except KradleError as exc:
        # Unknown provider (the message lists the installed ones) or a broken plugin.
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except Exception as exc:
        # A broken plugin must not take the CLI down with a traceback.
        print(f"error: could not load the {args.provider} plugin: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if factory is None:
        print(
            f"error: the {args.provider} provider ships no emulator; "
            "install a plugin version that declares one (ProviderPlugin.emulator)",
            file=sys.stderr,
        )
        return EXIT_USAGE
    try:
        app = build_emulator(
            args.provider,
            factory,
            seed=args.seed,
            token=args.token,
            flavor=args.flavor,
            options=options,
        )
    except PluginLoadError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if args.latency_ms:
        app.latency = args.latency_ms / 1000.0

    from kradle_providers.testing.emulator.server import serve_forever

    served: Any = app
    if args.admin:
        from kradle_providers.testing.emulator.admin import with_admin

        served = with_admin(app)

    def announce(url: str) -> None:
        print(f"Serving {args.provider} emulator at {url}", flush=True)
        print("Press Ctrl-C to stop.", flush=True)

    try:
        serve_forever(served, host=args.host, port=args.port, on_ready=announce)
    except OSError as exc:
        print(f"error: cannot listen on {args.host}:{args.port}: {exc}", file=sys.stderr)
        return EXIT_USAGE
    return 0
