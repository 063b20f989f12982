"""The plugin's emulator starts the way ``kradle-providers emulator serve NAME`` starts it.

The factory named by ``ProviderPlugin.emulator`` is called through the CLI's own
code path (:func:`~kradle_providers.testing.emulator.cli.build_emulator`) and the
result is served on a loopback port; an authenticated request must get an HTTP
answer that is not a server error.
"""

from __future__ import annotations

import secrets

import httpx

from kradle_contract_tests.context import Ctx, not_applicable, violation
from kradle_providers.errors import PluginLoadError
from kradle_providers.plugins.registry import load_registry
from kradle_providers.testing.emulator.cli import FACTORY_SIGNATURE, build_emulator
from kradle_providers.testing.emulator.server import LoopbackServer

__all__ = ["emulator_serves"]


async def emulator_serves(ctx: Ctx) -> None:
    """``emulator serve`` can build and serve the plugin's emulator."""
    try:
        factory = load_registry().emulator_factory(ctx.provider)
    except Exception as exc:
        violation(
            f"the {ctx.provider} emulator factory cannot be imported: {exc}",
            "set ProviderPlugin.emulator to 'your_package.emulator:create_emulator'",
        )
    if factory is None:
        not_applicable(f"{ctx.provider} ships no emulator (ProviderPlugin.emulator is None)")
    token = f"kradle-emulator-canary-{secrets.token_hex(8)}"
    try:
        app = build_emulator(ctx.provider, factory, token=token)
    except PluginLoadError as exc:
        message, _, fix = str(exc).partition(" How to fix: ")
        violation(message, fix)
    except Exception as exc:
        violation(
            f"the {ctx.provider} emulator factory raised {type(exc).__name__}: {exc} when "
            "called with no seed, flavor or options",
            f"`{FACTORY_SIGNATURE}` must work with every argument left at its default",
        )
    try:
        async with LoopbackServer(app) as server, httpx.AsyncClient(timeout=10) as client:
            response = await client.get(
                f"{server.url}/", headers={"Authorization": f"Bearer {token}"}
            )
    except Exception as exc:
        violation(
            f"the {ctx.provider} emulator ({type(app).__name__}) cannot be served on a "
            f"loopback port: {type(exc).__name__}: {exc}",
            "return an ASGI app from the factory: build it on "
            "kradle_providers.testing.emulator.EmulatorApp",
        )
    if response.status_code >= 500:
        violation(
            f"the served {ctx.provider} emulator answered GET / with {response.status_code}",
            "an emulator answers unknown paths as the vendor does (404), never with a crash",
        )
