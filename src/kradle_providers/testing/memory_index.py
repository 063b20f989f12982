"""The memory provider's listing indexes: every page is served in O(page), not O(N).

A listing is either *full* (ordered by id; the cursor holds the last id seen)
or *since* (ordered by ``(updated_at, sequence)``, the sequence unique per
mutation; the cursor holds the last key seen). :class:`Ordered` keeps both
orders of one listing's objects as sorted lists, so a page is a bisect to the
cursor plus ``page_size`` steps, whatever the number of objects behind it.

:class:`Indexes` keeps one :class:`Ordered` per ``(kind, scope)`` and one per
``(kind, scope, field, value)`` for the fields listings filter on (a comment's
issue, a job's pipeline...), plus numbers (issues, pull requests, milestones
are addressed by number). :class:`~kradle_providers.testing.memory_backend.MemoryBackend`
updates it on every insert, change and delete.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right, insort
from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import Any

__all__ = ["INDEXED_FIELDS", "Indexes", "Ordered", "VersionKey"]

VersionKey = tuple[datetime, int]
"""``(updated_at, sequence)``: the order of ``since`` listings (unique per object)."""

INDEXED_FIELDS: Mapping[str, tuple[str, ...]] = {
    "comment": ("issue_number",),
    "issue_event": ("issue_number",),
    "pipeline": ("workflow_id",),
    "job": ("pipeline_id",),
    "artifact": ("pipeline_id",),
    "check": ("head_sha",),
    "review": ("pull_request_id",),
}
"""The fields per-parent listings select on; each gets its own :class:`Ordered`."""


def _version(key: tuple[datetime, int, int]) -> VersionKey:
    return key[0], key[1]


class Ordered:
    """One listing's object ids in id order and in version order."""

    __slots__ = ("ids", "versions")

    def __init__(self) -> None:
        self.ids: list[int] = []
        self.versions: list[tuple[datetime, int, int]] = []

    def __len__(self) -> int:
        return len(self.ids)

    def add(self, oid: int, version: VersionKey) -> None:
        """Add an object (ids grow, so both inserts are appends in the common case)."""
        insort(self.ids, oid)
        insort(self.versions, (*version, oid))

    def remove(self, oid: int, version: VersionKey) -> None:
        """Remove an object added with ``version``."""
        i = bisect_left(self.ids, oid)
        if i < len(self.ids) and self.ids[i] == oid:
            del self.ids[i]
        key = (*version, oid)
        j = bisect_left(self.versions, key)
        if j < len(self.versions) and self.versions[j] == key:
            del self.versions[j]

    def after_id(self, after: int) -> Iterator[int]:
        """Ids greater than ``after``, ascending (lazily: a page reads only what it serves)."""
        ids = self.ids
        for i in range(bisect_right(ids, after), len(ids)):
            yield ids[i]

    def from_version(self, since: datetime, after: VersionKey | None) -> Iterator[int]:
        """Ids updated at or after ``since`` and past ``after``, in version order."""
        versions = self.versions
        start = bisect_left(versions, (since, 0), key=_version)  # sequences start at 1
        if after is not None:
            start = max(start, bisect_right(versions, after, key=_version))
        for i in range(start, len(versions)):
            yield versions[i][2]


class Indexes:
    """Every listing's :class:`Ordered` and the number-to-id map of one backend."""

    def __init__(self) -> None:
        self._ordered: dict[tuple[str, str, str, Any], Ordered] = {}
        self._numbers: dict[tuple[str, str, int], int] = {}

    @staticmethod
    def _keys(kind: str, obj: Mapping[str, Any]) -> Iterator[tuple[str, str, str, Any]]:
        scope = obj["scope"]
        yield kind, scope, "", None
        for name in INDEXED_FIELDS.get(kind, ()):
            value = obj.get(name)
            if value is not None:
                yield kind, scope, name, value

    def add(self, kind: str, obj: Mapping[str, Any], version: VersionKey) -> None:
        """Index a stored object (after an insert, or after a change with its new fields)."""
        for key in self._keys(kind, obj):
            self._ordered.setdefault(key, Ordered()).add(obj["id"], version)
        if obj.get("number") is not None:
            self._numbers[(kind, obj["scope"], int(obj["number"]))] = obj["id"]

    def remove(self, kind: str, obj: Mapping[str, Any], version: VersionKey) -> None:
        """Unindex an object as it was indexed (before a change, or on delete)."""
        for key in self._keys(kind, obj):
            ordered = self._ordered.get(key)
            if ordered is not None:
                ordered.remove(obj["id"], version)
                if not ordered:
                    del self._ordered[key]
        if obj.get("number") is not None:
            self._numbers.pop((kind, obj["scope"], int(obj["number"])), None)

    def ordered(self, kind: str, scope: str, field: str = "", value: Any = None) -> Ordered:
        """The listing of ``kind`` in ``scope`` (only ``field == value`` when given)."""
        return self._ordered.get((kind, scope, field, value if field else None)) or Ordered()

    def by_number(self, kind: str, scope: str, number: int) -> int | None:
        """The id of ``kind`` number ``number`` in ``scope``."""
        return self._numbers.get((kind, scope, number))
