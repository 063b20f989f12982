"""The ``kradle-providers`` command. Each area contributes its own subcommands.

Every area module exposes ``register(subparsers)`` and sets ``handler`` on its
parsers; a handler returns the exit code. Heavy imports happen inside handlers
so that ``--help`` and ``plugins`` stay fast.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
from collections.abc import Sequence

__all__ = ["main"]

_AREAS = (
    "kradle_providers.plugins.cli",
    "kradle_providers.manifest.cli",
    "kradle_providers.schema_gen",
    "kradle_providers.webhooks.cli",
    "kradle_providers.testing.emulator.cli",
    "kradle_providers.sync.cli",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="kradle-providers",
        description="Provider-neutral issue tracking, CI/CD and git forge integrations.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for area in _AREAS:
        importlib.import_module(area).register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    from kradle_providers.logs import configure_cli_logging

    # KRADLE_LOG=info|debug shows the engine's structured records; KRADLE_LOG_JSON=1 as JSON.
    level = getattr(logging, os.environ.get("KRADLE_LOG", "warning").upper(), logging.WARNING)
    root_level = logging.getLogger().level
    handler = configure_cli_logging(level, json_lines=os.environ.get("KRADLE_LOG_JSON") == "1")
    try:
        code: int = args.handler(args)
    finally:
        logging.getLogger().removeHandler(handler)
        logging.getLogger().setLevel(root_level)
    return code


if __name__ == "__main__":
    sys.exit(main())
