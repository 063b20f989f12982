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

__all__ = ["COMMANDS", "build_parser", "main"]

# Each top-level command and the area module that registers it. A command builds only
# its own area's parser: importing every area costs more than `sync status` itself.
# `--help` (no command) and unknown commands build them all.
COMMANDS: dict[str, str] = {
    "plugins": "kradle_providers.plugins.cli",
    "explain": "kradle_providers.plugins.cli",
    "matrix": "kradle_providers.plugins.cli",
    "manifest": "kradle_providers.manifest.cli",
    "schemas": "kradle_providers.schema_gen",
    "webhook": "kradle_providers.webhooks.cli",
    "emulator": "kradle_providers.testing.emulator.cli",
    "sync": "kradle_providers.sync.cli",
}


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The command's parser: every area's commands, or only ``command``'s area."""
    parser = argparse.ArgumentParser(
        prog="kradle-providers",
        description="Provider-neutral issue tracking, CI/CD and git forge integrations.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    areas = [COMMANDS[command]] if command in COMMANDS else list(dict.fromkeys(COMMANDS.values()))
    for area in areas:
        importlib.import_module(area).register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line ``argv`` (default ``sys.argv[1:]``); returns the exit code."""
    argv = sys.argv[1:] if argv is None else list(argv)
    command = next((a for a in argv if not a.startswith("-")), None)
    args = build_parser(command).parse_args(argv)
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
