"""Stateful in-memory provider state for emulators.

A :class:`Store` holds named :class:`Collection` objects: lists of JSON-like
dicts with auto-assigned ids, created/updated timestamps taken from an
injectable clock, and a version counter per object. Objects are copied in and
out, so a handler (or a test) can never change state except through the store,
and what a test sees is what the emulator would serve.
"""

from __future__ import annotations

import copy
import hashlib
import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any

from kradle_providers.clock import Now, system_clock

__all__ = [
    "Collection",
    "RecordMeta",
    "Store",
    "content_digest",
    "iso_z",
]

TimestampFormat = Callable[[datetime], Any]


def iso_z(when: datetime) -> str:
    """``2024-01-01T00:00:00Z``: the timestamp format most REST APIs use."""
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def content_digest(obj: Any) -> str:
    """A stable hex digest of a JSON-like object (key order does not matter)."""
    raw = json.dumps(obj, sort_keys=True, separators=(",", ":"), default=str).encode()
    return hashlib.sha256(raw).hexdigest()


@dataclass(frozen=True)
class RecordMeta:
    """Bookkeeping of one stored object: version counter, times, content digest."""

    version: int
    created: datetime
    updated: datetime
    digest: str

    @property
    def etag(self) -> str:
        """A strong entity tag derived from the content (``"<digest>"``)."""
        return f'"{self.digest[:32]}"'


@dataclass
class _Record:
    data: dict[str, Any]
    version: int
    created: datetime
    updated: datetime


class Collection:
    """A named list of objects with auto ids, timestamps and versions.

    - ``id_field``: the key holding the id (``id``, ``key``, ``iid``…).
    - ``id_factory``: turns the next sequence number into an id (default: the
      number itself; Jira-style string ids are ``lambda n: str(10000 + n)``).
    - ``created_field`` / ``updated_field``: keys written on insert/update
      (``None`` to skip); ``timestamp_format`` renders them (default ``iso_z``).

    Lookups accept the id or its string form, so a path parameter can be passed
    as is.
    """

    def __init__(
        self,
        name: str,
        *,
        clock: Now = system_clock,
        id_field: str = "id",
        id_factory: Callable[[int], Any] | None = None,
        created_field: str | None = "created_at",
        updated_field: str | None = "updated_at",
        timestamp_format: TimestampFormat = iso_z,
    ) -> None:
        self.name = name
        self.clock = clock
        self.id_field = id_field
        self.id_factory = id_factory
        self.created_field = created_field
        self.updated_field = updated_field
        self.timestamp_format = timestamp_format
        self._records: dict[str, _Record] = {}
        self._counter = 0

    # -- writes -------------------------------------------------------------

    def next_id(self) -> Any:
        """Allocate the next id (used by :meth:`insert` when none is given)."""
        self._counter += 1
        return self.id_factory(self._counter) if self.id_factory else self._counter

    def insert(self, obj: Mapping[str, Any], *, id: Any = None) -> dict[str, Any]:
        """Store a copy of ``obj`` with an id and timestamps; return the stored copy.

        An id already in ``obj`` (or given as ``id``) is kept; inserting an id
        that exists raises ``KeyError`` (emulators answer that as a conflict).
        """
        data = copy.deepcopy(dict(obj))
        if id is None:
            id = data.get(self.id_field)
        if id is None:
            id = self.next_id()
            while str(id) in self._records:
                id = self.next_id()
        elif isinstance(id, int) and id > self._counter:
            self._counter = id  # keep auto ids above seeded ones
        key = str(id)
        if key in self._records:
            raise KeyError(f"{self.name}: id {id!r} already exists")
        data[self.id_field] = id
        now = self.clock()
        if self.created_field and self.created_field not in data:
            data[self.created_field] = self.timestamp_format(now)
        if self.updated_field and self.updated_field not in data:
            data[self.updated_field] = self.timestamp_format(now)
        self._records[key] = _Record(data=data, version=1, created=now, updated=now)
        return copy.deepcopy(data)

    def update(
        self, id: Any, changes: Mapping[str, Any] | None = None, **fields: Any
    ) -> dict[str, Any]:
        """Merge ``changes``/``fields`` into an object; return the new copy.

        The version and updated timestamp move only when the content really
        changed, as providers do (a no-op PATCH keeps the ETag). Raises
        ``KeyError`` for an unknown id.
        """
        record = self._require(id)
        merged = copy.deepcopy(record.data)
        merged.update(copy.deepcopy(dict(changes or {})))
        merged.update(copy.deepcopy(fields))
        merged[self.id_field] = record.data[self.id_field]
        if merged != record.data:
            now = self.clock()
            explicit = self.updated_field in (changes or {}) or self.updated_field in fields
            if self.updated_field and not explicit:
                merged[self.updated_field] = self.timestamp_format(now)
            record.data = merged
            record.version += 1
            record.updated = now
        return copy.deepcopy(record.data)

    def delete(self, id: Any) -> dict[str, Any] | None:
        """Remove an object; return it, or ``None`` when it did not exist."""
        record = self._records.pop(self._key(id), None)
        return record.data if record else None

    def clear(self) -> None:
        """Remove every object (the id sequence keeps counting)."""
        self._records.clear()

    # -- reads --------------------------------------------------------------

    def get(self, id: Any) -> dict[str, Any] | None:
        """A copy of the object with this id, or ``None``."""
        record = self._records.get(self._key(id))
        return copy.deepcopy(record.data) if record else None

    def __contains__(self, id: object) -> bool:
        return self._key(id) in self._records

    def __len__(self) -> int:
        return len(self._records)

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return iter(self.all())

    def all(self) -> list[dict[str, Any]]:
        """Copies of every object in insertion order."""
        return [copy.deepcopy(r.data) for r in self._records.values()]

    def filter(
        self, predicate: Callable[[dict[str, Any]], bool] | None = None, **equals: Any
    ) -> list[dict[str, Any]]:
        """Objects whose fields equal ``equals`` and that satisfy ``predicate``."""
        out = []
        for record in self._records.values():
            data = record.data
            if any(data.get(k) != v for k, v in equals.items()):
                continue
            if predicate is not None and not predicate(data):
                continue
            out.append(copy.deepcopy(data))
        return out

    def peek(
        self, predicate: Callable[[Mapping[str, Any]], bool] | None = None, **equals: Any
    ) -> list[Mapping[str, Any]]:
        """Read-only views (no copies) of matching objects, for large listings.

        Handlers that filter, sort and paginate thousands of objects use this to
        avoid copying what they will not answer; the views must not be kept
        beyond the request (they follow later changes).
        """
        out: list[Mapping[str, Any]] = []
        for record in self._records.values():
            data = record.data
            if any(data.get(k) != v for k, v in equals.items()):
                continue
            if predicate is not None and not predicate(data):
                continue
            out.append(MappingProxyType(data))
        return out

    def find_one(self, **equals: Any) -> dict[str, Any] | None:
        """The first object whose fields equal ``equals``, or ``None``."""
        found = self.filter(**equals)
        return found[0] if found else None

    def meta(self, id: Any) -> RecordMeta:
        """Version, times and content digest of one object (``KeyError`` if unknown)."""
        record = self._require(id)
        return RecordMeta(
            version=record.version,
            created=record.created,
            updated=record.updated,
            digest=content_digest(record.data),
        )

    # -- internals ----------------------------------------------------------

    @staticmethod
    def _key(id: object) -> str:
        return str(id)

    def _require(self, id: Any) -> _Record:
        try:
            return self._records[self._key(id)]
        except KeyError:
            raise KeyError(f"{self.name}: no object with id {id!r}") from None

    def _snapshot(self) -> dict[str, Any]:
        return {"counter": self._counter, "records": copy.deepcopy(self._records)}

    def _restore(self, snap: dict[str, Any]) -> None:
        self._counter = snap["counter"]
        self._records = copy.deepcopy(snap["records"])


class Store:
    """All of one emulator's state: named collections plus named counters.

    ``store.collection("issues", id_field="id")`` creates a collection on first
    use and returns the same one afterwards. ``store.sequence("repo:1:number")``
    hands out 1, 2, 3 … per name (per-repository issue numbers, build numbers).
    ``snapshot()``/``restore()`` let a test rewind state.
    """

    def __init__(self, *, clock: Now = system_clock) -> None:
        self.clock = clock
        self._collections: dict[str, Collection] = {}
        self._sequences: dict[str, int] = {}

    def collection(self, name: str, **options: Any) -> Collection:
        """The collection called ``name``, created with ``options`` on first use."""
        existing = self._collections.get(name)
        if existing is not None:
            return existing
        options.setdefault("clock", self.clock)
        created = Collection(name, **options)
        self._collections[name] = created
        return created

    def __getitem__(self, name: str) -> Collection:
        try:
            return self._collections[name]
        except KeyError:
            known = ", ".join(sorted(self._collections)) or "none"
            raise KeyError(
                f"no collection {name!r} (known: {known}); create it with store.collection()"
            ) from None

    def __contains__(self, name: object) -> bool:
        return name in self._collections

    @property
    def names(self) -> list[str]:
        """Names of the collections created so far."""
        return sorted(self._collections)

    def sequence(self, name: str, *, start: int = 1) -> int:
        """Return the next number of the counter ``name`` (first call: ``start``)."""
        value = self._sequences.get(name, start - 1) + 1
        self._sequences[name] = value
        return value

    def snapshot(self) -> dict[str, Any]:
        """A deep copy of all state, for :meth:`restore`."""
        return {
            "collections": {n: c._snapshot() for n, c in self._collections.items()},
            "sequences": dict(self._sequences),
        }

    def restore(self, snapshot: Mapping[str, Any]) -> None:
        """Return to a :meth:`snapshot` (collections created since are emptied)."""
        saved = snapshot["collections"]
        for name, coll in self._collections.items():
            if name in saved:
                coll._restore(saved[name])
            else:
                coll._restore({"counter": 0, "records": {}})
        self._sequences = dict(snapshot["sequences"])
