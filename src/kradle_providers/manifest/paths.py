"""JSON paths (``$.spec.interfaces.cicd.operations[2].idempotency.mode``) for findings."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable

__all__ = ["json_path"]

_PLAIN_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")


def json_path(parts: Iterable[str | int]) -> str:
    """The JSON path of a location given as keys and list indexes.

    Plain keys use dot notation; keys with other characters are quoted in
    brackets so that the path stays unambiguous (``$.metadata.labels["a.b"]``).
    """
    out = "$"
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        elif _PLAIN_KEY.fullmatch(part):
            out += f".{part}"
        else:
            out += f"[{json.dumps(part)}]"
    return out
