"""Structured log records of the sync engine, and the CLI's logging setup.

Engine modules log with ``extra=`` fields from :data:`FIELDS` (``binding``,
``provider``, ``instance``, ``interface``, ``delivery_id``, ``intent_id``,
``phase``, ...), never a secret: a host's JSON formatter picks them up, or use
:class:`JsonFormatter`. :func:`configure_cli_logging` is what the command line
uses: warnings and the engine's own records, without httpx's line per request.
"""

from __future__ import annotations

import json
import logging
import sys
from typing import Any, TextIO

from kradle_providers.auth.secret import redact

__all__ = ["FIELDS", "JsonFormatter", "configure_cli_logging", "fields_of"]

FIELDS: tuple[str, ...] = (
    "binding",
    "provider",
    "instance",
    "interface",
    "kind",
    "native_id",
    "delivery_id",
    "intent_id",
    "operation",
    "phase",
    "outcome",
)
"""The structured fields engine records may carry (``record.<field>``)."""

_QUIET = ("httpx", "httpcore")


def fields_of(record: logging.LogRecord) -> dict[str, Any]:
    """The structured fields set on ``record``."""
    return {f: getattr(record, f) for f in FIELDS if getattr(record, f, None) is not None}


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time, level, logger, message and the structured fields.

    Messages and field values are redacted against every registered secret.
    """

    def format(self, record: logging.LogRecord) -> str:
        data: dict[str, Any] = {
            "at": self.formatTime(record, "%Y-%m-%dT%H:%M:%S"),
            "level": record.levelname,
            "logger": record.name,
            "message": redact(record.getMessage()),
        }
        data.update({k: redact(str(v)) for k, v in fields_of(record).items()})
        if record.exc_info:
            data["error"] = redact(self.formatException(record.exc_info))
        return json.dumps(data, sort_keys=True)


class _FieldsFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        text = redact(super().format(record))
        extra = " ".join(f"{k}={redact(str(v))}" for k, v in fields_of(record).items())
        return f"{text} [{extra}]" if extra else text


def configure_cli_logging(
    level: int = logging.WARNING, *, json_lines: bool = False, stream: TextIO | None = None
) -> logging.Handler:
    """Log the engine's records at ``level`` to ``stream`` (stderr); httpx stays quiet.

    httpx logs every request at INFO (a backfill makes thousands); it is held
    at WARNING whatever ``level`` is.
    """
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(
        JsonFormatter() if json_lines else _FieldsFormatter("%(levelname)s %(name)s: %(message)s")
    )
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(level)
    for name in _QUIET:
        logging.getLogger(name).setLevel(max(level, logging.WARNING))
    return handler
