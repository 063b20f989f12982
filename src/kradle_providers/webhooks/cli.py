"""CLI commands of the webhook area: ``webhook verify`` and ``webhook normalize``.

``webhook verify`` checks a saved delivery (headers as a JSON object + raw body
file) with secrets taken from environment variables; exit 0 verified, 1
rejected (the reason is printed), 2 usage error. ``webhook normalize`` runs a
payload through the installed plugins' normalizers; exit 0 normalized or
ignored, 1 malformed or unknown event, 2 usage error.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

__all__ = ["register"]

EXIT_OK = 0
EXIT_REJECTED = 1
EXIT_USAGE = 2


class _UsageError(Exception):
    pass


def register(subparsers: Any) -> None:
    """Add ``webhook verify`` and ``webhook normalize`` to the ``kradle-providers`` command."""
    w = subparsers.add_parser("webhook", help="verify and normalize webhook deliveries")
    sub = w.add_subparsers(dest="webhook_command", metavar="ACTION", required=True)

    v = sub.add_parser(
        "verify", help="verify a saved delivery's signature (exit 0 ok, 1 rejected, 2 usage)"
    )
    v.add_argument(
        "--provider", required=True, help="any installed provider whose plugin declares webhooks"
    )
    v.add_argument(
        "--secret-env",
        action="append",
        required=True,
        metavar="VAR",
        help="environment variable holding the secret; give twice during rotation",
    )
    v.add_argument("--headers", required=True, type=Path, help="JSON object of request headers")
    v.add_argument("--body", required=True, type=Path, help="raw request body, byte for byte")
    v.add_argument(
        "--now",
        type=float,
        default=None,
        help="unix time to check a timestamped signature's replay window against",
    )
    v.set_defaults(handler=_verify)

    n = sub.add_parser(
        "normalize",
        help="normalize a payload with the installed plugins (exit 0 ok/ignored, 1 not, 2 usage)",
    )
    n.add_argument("--provider", required=True, help="provider name, e.g. acme")
    n.add_argument("--event", required=True, help="native event name, e.g. issues")
    n.add_argument("--file", required=True, type=Path, help="payload JSON file")
    n.add_argument("--instance", default="default", help="provider instance name")
    n.add_argument("--delivery-id", default=None, help="delivery id to stamp on the events")
    n.add_argument("--json", action="store_true", help="print the result as JSON")
    n.set_defaults(handler=_normalize)


def _usage(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return EXIT_USAGE


def _read(path: Path, what: str) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise _UsageError(f"cannot read {what} file {str(path)!r}: {exc.strerror}") from None


def _headers(path: Path) -> dict[str, str]:
    raw = _read(path, "headers")
    try:
        data = json.loads(raw)
    except ValueError as exc:
        raise _UsageError(f"headers file {str(path)!r} is not JSON: {exc}") from None
    if not isinstance(data, dict) or not all(
        isinstance(v, str | int | float) and not isinstance(v, bool) for v in data.values()
    ):
        raise _UsageError(
            f"headers file {str(path)!r} must be a JSON object of header name -> string value"
        )
    return {str(k): str(v) for k, v in data.items()}


def _verify(args: argparse.Namespace) -> int:
    from kradle_providers.auth.secret import Secret
    from kradle_providers.errors import InvalidInput, PluginLoadError, WebhookSignatureError
    from kradle_providers.webhooks.verify import make_verifier

    if len(args.secret_env) > 2:
        return _usage("give --secret-env at most twice (current and previous secret)")
    secrets: list[Secret] = []
    for var in args.secret_env:
        value = os.environ.get(var)
        if not value:
            return _usage(f"environment variable {var} is not set (or empty); export the secret")
        secrets.append(Secret(value))
    try:
        headers = _headers(args.headers)
        body = _read(args.body, "body")
    except _UsageError as exc:
        return _usage(str(exc))
    now = args.now
    try:
        verifier = make_verifier(
            args.provider,
            secrets[0],
            secrets[1] if len(secrets) > 1 else None,
            clock=(lambda: float(now)) if now is not None else time.time,
        )
    except (InvalidInput, PluginLoadError) as exc:
        return _usage(str(exc))
    try:
        delivery = verifier.verify(body, headers)
    except WebhookSignatureError as exc:
        print(f"rejected: {exc.reason}")
        return EXIT_REJECTED
    print(
        f"verified: provider={delivery.provider} event={delivery.event} "
        f"delivery={delivery.delivery_id} bytes={len(delivery.body)}"
    )
    return EXIT_OK


def _normalize(args: argparse.Namespace) -> int:
    from kradle_providers.errors import KradleError
    from kradle_providers.models.base import ProviderRef
    from kradle_providers.webhooks.normalizer import NormalizeContext
    from kradle_providers.webhooks.registry import NormalizerRegistry

    try:
        payload = _read(args.file, "payload")
    except _UsageError as exc:
        return _usage(str(exc))
    try:
        registry = NormalizerRegistry.from_plugins()
    except (ImportError, KradleError) as exc:
        return _usage(f"cannot load the provider plugin registry: {exc}")
    ctx = NormalizeContext(
        provider=ProviderRef(type=args.provider, instance=args.instance),
        event=args.event,
        delivery_id=args.delivery_id,
    )
    result = registry.normalize(args.provider, args.event, payload, ctx)
    if args.json:
        print(result.model_dump_json(indent=2, exclude_none=True))
    else:
        print(f"{result.outcome.value}: {len(result.events)} event(s)")
        if result.reason:
            print(f"reason: {result.reason}")
        for e in result.events:
            action = f" (native action: {e.native_action})" if e.native_action else ""
            print(f"  {e.action} {e.object_kind} {e.native_id}{action}")
    return EXIT_OK if result.ok else EXIT_REJECTED
