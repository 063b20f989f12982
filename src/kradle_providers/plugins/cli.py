"""CLI commands of the plugin area: ``plugins``, ``explain``, ``matrix``.

Handlers import the registry lazily so that ``kradle-providers --help`` stays fast.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any, TextIO

__all__ = ["register"]

EXIT_OK = 0
EXIT_UNSUPPORTED = 1
EXIT_UNKNOWN = 2


def register(subparsers: Any) -> None:
    """Add ``plugins``, ``explain`` and ``matrix`` to the ``kradle-providers`` command."""
    p = subparsers.add_parser("plugins", help="list installed provider plugins and load errors")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(handler=_plugins)

    e = subparsers.add_parser(
        "explain",
        help="explain one operation of one provider (exit 0 supported, 1 not, 2 unknown)",
    )
    e.add_argument("provider", help="provider name, e.g. acme")
    e.add_argument("operation", help="canonical operation, e.g. rerunPipeline")
    e.add_argument("--json", action="store_true", help="machine-readable output")
    e.set_defaults(handler=_explain)

    m = subparsers.add_parser("matrix", help="capability matrix: operations x installed providers")
    m.add_argument("--format", choices=["text", "markdown", "html"], default="text")
    m.add_argument("--write", metavar="PATH", help="write to PATH instead of stdout")
    m.set_defaults(handler=_matrix)


def _print_errors(errors: list[Any], out: TextIO) -> None:
    if errors:
        print(f"\n{len(errors)} plugin load error(s):", file=out)
        for err in errors:
            print(f"  - {err}", file=out)


def _plugins(args: argparse.Namespace) -> int:
    from kradle_providers.plugins.registry import load_registry

    registry = load_registry()
    infos = registry.plugins()
    if args.json:
        payload = {
            "plugins": [i.to_dict() for i in infos],
            "errors": [e.to_dict() for e in registry.errors],
        }
        print(json.dumps(payload, indent=2, sort_keys=True))
        return EXIT_OK
    if not infos:
        print("No provider plugins are installed (entry-point group 'kradle_providers').")
    for info in infos:
        version = info.version or "unknown version"
        dist = f", {info.distribution}" if info.distribution else ""
        print(f"{info.name} ({info.display_name}) {version}{dist}")
        if not info.interfaces:
            print("  interfaces: none supported")
        for iface in info.interfaces:
            print(f"  {iface.value}: {info.operation_counts.get(iface, 0)} operation(s)")
    # Load errors are reported but are not the command's failure: the others work.
    _print_errors(registry.errors, sys.stdout)
    return EXIT_OK


def _explain(args: argparse.Namespace) -> int:
    from kradle_providers.errors import InvalidInput, NotFound
    from kradle_providers.plugins.explain import explain_operation
    from kradle_providers.plugins.registry import load_registry

    registry = load_registry()
    try:
        manifest = registry.manifest(args.provider)
        explanation = explain_operation(manifest, args.operation)
    except (NotFound, InvalidInput) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_UNKNOWN
    if args.json:
        print(json.dumps(explanation.to_dict(), indent=2, sort_keys=True))
    else:
        print("\n".join(explanation.lines()))
    return EXIT_OK if explanation.supported else EXIT_UNSUPPORTED


def render_matrix(fmt: str) -> tuple[str, list[Any]]:
    """Render the matrix of the installed plugins in ``fmt``; also return the load errors."""
    from kradle_providers.plugins.matrix import (
        build_matrix,
        render_html,
        render_markdown,
        render_text,
    )
    from kradle_providers.plugins.registry import load_registry

    registry = load_registry()
    matrix = build_matrix([info.manifest for info in registry.plugins()])
    renderers = {"text": render_text, "markdown": render_markdown, "html": render_html}
    return renderers[fmt](matrix), registry.errors


def _matrix(args: argparse.Namespace) -> int:
    text, errors = render_matrix(args.format)
    if args.write:
        Path(args.write).write_text(text, encoding="utf-8")
        print(f"wrote {args.write}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    _print_errors(errors, sys.stderr)
    return EXIT_OK
