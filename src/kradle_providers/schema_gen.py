"""Generating the checked-in JSON Schemas from the pydantic models.

``kradle-providers schemas generate [--out DIR] [--check]`` writes:

- ``manifest.schema.json``: the capability manifest (camelCase, validation mode:
  what manifest authors write, bare operation names included);
- ``objects/<Kind>.schema.json``: every canonical kind (serialization mode:
  what the library emits);
- ``events/sync-event.schema.json`` and ``events/normalize-result.schema.json``.

Output is deterministic (sorted keys, two-space indent, trailing newline) so
that ``--check`` and the test suite can tell a stale checked-in schema from a
fresh one byte for byte.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

__all__ = [
    "SCHEMA_BASE_URL",
    "generate_schemas",
    "register",
    "render_schema",
    "stale_schemas",
    "write_schemas",
]

SCHEMA_BASE_URL = "https://kradle.a5c.ai/schemas/"
"""Base of every generated schema's ``$id``."""

_DRAFT = "https://json-schema.org/draft/2020-12/schema"


def render_schema(schema: dict[str, Any]) -> str:
    """The canonical text of a schema: sorted keys, two-space indent, trailing newline."""
    return json.dumps(schema, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def _with_header(schema: dict[str, Any], relative: str, title: str) -> dict[str, Any]:
    return {**schema, "$schema": _DRAFT, "$id": SCHEMA_BASE_URL + relative, "title": title}


def generate_schemas() -> dict[str, str]:
    """Every schema's text by path relative to the schemas directory."""
    # Imported here: `kradle-providers --help` must not build every model's schema.
    from kradle_providers.manifest.validator import manifest_schema
    from kradle_providers.models import CANONICAL_KINDS, NormalizeResult, SyncEvent

    out: dict[str, str] = {"manifest.schema.json": render_schema(manifest_schema())}
    for name, cls in CANONICAL_KINDS.items():
        relative = f"objects/{name}.schema.json"
        schema = cls.model_json_schema(mode="serialization")
        out[relative] = render_schema(_with_header(schema, relative, name))
    for relative, model in (
        ("events/sync-event.schema.json", SyncEvent),
        ("events/normalize-result.schema.json", NormalizeResult),
    ):
        schema = model.model_json_schema(mode="serialization")
        out[relative] = render_schema(_with_header(schema, relative, model.__name__))
    return out


def stale_schemas(out_dir: Path, generated: dict[str, str] | None = None) -> list[str]:
    """Relative paths under ``out_dir`` that are missing, differ, or are no longer generated."""
    generated = generate_schemas() if generated is None else generated
    stale = [
        relative
        for relative, text in generated.items()
        if not (out_dir / relative).is_file() or (out_dir / relative).read_text("utf-8") != text
    ]
    if out_dir.is_dir():
        on_disk = {
            p.relative_to(out_dir).as_posix() for p in out_dir.rglob("*.schema.json") if p.is_file()
        }
        stale += sorted(on_disk - set(generated))
    return sorted(stale)


def write_schemas(out_dir: Path, generated: dict[str, str] | None = None) -> list[str]:
    """Write every schema whose text changed; remove schemas no longer generated.

    Returns the relative paths written or removed.
    """
    generated = generate_schemas() if generated is None else generated
    changed = stale_schemas(out_dir, generated)
    for relative in changed:
        target = out_dir / relative
        if relative in generated:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(generated[relative], "utf-8")
        else:
            target.unlink()
    return changed


def _handle_generate(args: argparse.Namespace) -> int:
    out_dir = Path(args.out)
    if args.check:
        stale = stale_schemas(out_dir)
        if stale:
            print(f"{len(stale)} schema file(s) in {out_dir} are stale:")
            for relative in stale:
                print(f"  {out_dir / relative}")
            print("fix: run `kradle-providers schemas generate` and commit the result")
            return 1
        print(f"schemas in {out_dir} are up to date")
        return 0
    changed = write_schemas(out_dir)
    for relative in changed:
        print(f"wrote {out_dir / relative}")
    print(f"{len(changed)} schema file(s) changed in {out_dir}")
    return 0


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``schemas generate [--out DIR] [--check]`` to the CLI."""
    schemas = subparsers.add_parser(
        "schemas", help="generate the JSON Schemas (manifest, canonical objects, events)"
    )
    sub = schemas.add_subparsers(dest="schemas_command", metavar="SUBCOMMAND", required=True)
    generate = sub.add_parser(
        "generate", help="write the schemas generated from the models into a directory"
    )
    generate.add_argument(
        "--out", default="schemas", metavar="DIR", help="output directory (default: ./schemas)"
    )
    generate.add_argument(
        "--check",
        action="store_true",
        help="write nothing; exit 1 and list the stale files if any differ from the models",
    )
    generate.set_defaults(handler=_handle_generate)
