"""Mapping a page of provider objects: one object that does not map never sinks the page.

Adapters map each native item of a listing with :func:`map_each`; an item whose
mapping fails with a :class:`~kradle_providers.errors.KradleError` is skipped,
logged and reported (``Page.extra["skipped"]``), and the rest of the page is
returned. Objects that merely lack a field map with a
:class:`~kradle_providers.models.base.MappingWarning` instead of failing.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from kradle_providers.errors import KradleError

__all__ = ["SKIPPED", "map_each"]

T = TypeVar("T")

SKIPPED = "skipped"
"""The ``Page.extra`` key listing the errors of the items a page skipped."""

_log = logging.getLogger(__name__)


def map_each(
    natives: Iterable[Any],
    convert: Callable[[Any], T | None],
    *,
    skipped: list[KradleError],
    what: str = "item",
) -> list[T]:
    """Every ``convert(native)`` that is not ``None``; failures go to ``skipped``.

    ``what`` names the items in the log line (``"GitHub issue"``).
    """
    items: list[T] = []
    for index, native in enumerate(natives):
        try:
            converted = convert(native)
        except KradleError as exc:
            _log.warning("skipped %s #%d of a page: %s", what, index, exc)
            skipped.append(exc)
            continue
        if converted is not None:
            items.append(converted)
    return items
