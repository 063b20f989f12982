"""``kradle-providers manifest validate|show``.

``validate PATH... [--json]`` exits 0 when every manifest is valid, 1 when any
is invalid (every finding printed as ``path: message (fix: ...)``), 2 when a
file cannot be read or parsed. ``show PROVIDER [--json]`` prints an installed
provider's manifest as the plugin registry loaded it.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

__all__ = ["register"]

EXIT_OK, EXIT_INVALID, EXIT_UNREADABLE = 0, 1, 2


def _finding_dict(finding: Any) -> dict[str, str]:
    return {
        "path": finding.path,
        "message": finding.message,
        "fix": finding.fix,
        "severity": finding.severity,
    }


def _validate_one(path: str) -> tuple[int, dict[str, Any]]:
    from kradle_providers.errors import ManifestError
    from kradle_providers.manifest.loader import read_manifest_file
    from kradle_providers.manifest.validator import validate_manifest

    try:
        data = read_manifest_file(path)
    except ManifestError as exc:
        findings = exc.findings
        code = EXIT_UNREADABLE
    else:
        findings = validate_manifest(data)
        code = EXIT_INVALID if any(f.severity == "error" for f in findings) else EXIT_OK
    findings = sorted(findings, key=lambda f: f.severity != "error")
    report = {
        "file": path,
        "valid": code == EXIT_OK,
        "readable": code != EXIT_UNREADABLE,
        "findings": [_finding_dict(f) for f in findings],
    }
    return code, report


def _print_report(report: dict[str, Any]) -> None:
    findings = report["findings"]
    errors = sum(1 for f in findings if f["severity"] == "error")
    warnings = len(findings) - errors
    if not report["readable"]:
        status = "unreadable"
    elif report["valid"]:
        status = "valid" + (f" ({warnings} warning(s))" if warnings else "")
    else:
        status = f"invalid ({errors} error(s), {warnings} warning(s))"
    print(f"{report['file']}: {status}")
    for f in findings:
        tag = "" if f["severity"] == "error" else "warning: "
        print(f"  {f['path']}: {tag}{f['message']} (fix: {f['fix']})")


def _handle_validate(args: argparse.Namespace) -> int:
    code = EXIT_OK
    reports = []
    for path in args.paths:
        file_code, report = _validate_one(path)
        code = max(code, file_code)
        reports.append(report)
    if args.json:
        print(json.dumps(reports, indent=2))
    else:
        for report in reports:
            _print_report(report)
    return code


def _handle_show(args: argparse.Namespace) -> int:
    from kradle_providers.errors import KradleError
    from kradle_providers.manifest.loader import dump_manifest

    try:
        from kradle_providers.plugins.registry import load_registry

        manifest = load_registry().manifest(args.provider)
    except ImportError as exc:
        print(f"error: the plugin registry is unavailable: {exc}", file=sys.stderr)
        return EXIT_UNREADABLE
    except (KradleError, LookupError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        print(
            "fix: run `kradle-providers plugins list` to see installed providers, "
            "or install the provider's plugin distribution",
            file=sys.stderr,
        )
        return EXIT_UNREADABLE
    sys.stdout.write(dump_manifest(manifest, fmt="json" if args.json else "yaml"))
    return EXIT_OK


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``manifest`` command group (``validate``, ``show``)."""
    manifest = subparsers.add_parser("manifest", help="validate and show capability manifests")
    sub = manifest.add_subparsers(dest="manifest_command", metavar="SUBCOMMAND", required=True)

    validate = sub.add_parser(
        "validate",
        help="check manifest files against the schema and the meaning rules",
        description="Exit 0 when all are valid, 1 when any is invalid, 2 when one is unreadable.",
    )
    validate.add_argument("paths", nargs="+", metavar="PATH", help="manifest files (YAML/JSON)")
    validate.add_argument(
        "--json", action="store_true", help="print a machine-readable report per file"
    )
    validate.set_defaults(handler=_handle_validate)

    show = sub.add_parser("show", help="print an installed provider's manifest")
    show.add_argument("provider", metavar="PROVIDER", help="provider type, e.g. acme")
    show.add_argument("--json", action="store_true", help="print JSON instead of YAML")
    show.set_defaults(handler=_handle_show)
