"""Operation names: camelCase in manifests and the catalogue, snake_case as protocol methods."""

from __future__ import annotations

import re

__all__ = ["camel_to_snake", "snake_to_camel"]


def camel_to_snake(name: str) -> str:
    """``listIssues`` -> ``list_issues``."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def snake_to_camel(name: str) -> str:
    """``list_issues`` -> ``listIssues``."""
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)
