"""The projection ordering rule: when an incoming state replaces the stored one.

The reconciler must converge to the same state whatever order webhooks,
replays and backfill pages arrive in. Every applied state (a live object or a
deletion) gets a rank, and the stored state is replaced only by a higher rank:

1. the envelope version's sort key (``updated_at``, then ``sequence``);
2. at an equal sort key, a deletion beats a live state (a "deleted" event
   usually repeats the object's last version);
3. at an equal sort key between two live states, the content digest breaks the
   tie: the choice is arbitrary but the same on every replica and in every
   order, so all of them converge.

An incoming state equal in rank to the stored one is ``unchanged``; a lower one
is ``stale`` and ignored.

Exception: a state *without any ordering information* (no ``updated_at``, no
``sequence``) cannot be ordered, so for it the last writer wins (a provider
that versions nothing has only "what we saw last"). Once an object has been
seen with a version, an unversioned state for it is stale.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

__all__ = ["ApplyOutcome", "Head", "decide", "encode_sort_key"]


class ApplyOutcome(StrEnum):
    """What applying one state to the projection did."""

    INSERTED = "inserted"
    UPDATED = "updated"
    RESURRECTED = "resurrected"
    TOMBSTONED = "tombstoned"
    UNCHANGED = "unchanged"
    STALE = "stale"

    @property
    def changed(self) -> bool:
        """Whether the stored projection was written."""
        return self not in (ApplyOutcome.UNCHANGED, ApplyOutcome.STALE)


@dataclass(frozen=True, slots=True)
class Head:
    """The ordering-relevant part of one state of an object.

    ``sort_key`` is the version's sort key encoded by :func:`encode_sort_key`
    (the form the store keeps and compares).
    """

    sort_key: str
    tombstoned: bool
    digest: str | None

    @property
    def versioned(self) -> bool:
        """Whether the state carries any ordering information."""
        return self.sort_key != _NO_SORT_KEY

    def _tie_rank(self) -> tuple[bool, str]:
        return (self.tombstoned, "" if self.tombstoned else (self.digest or ""))


def decide(stored: Head | None, incoming: Head) -> ApplyOutcome:
    """The outcome of applying ``incoming`` over ``stored`` (``None``: never seen)."""
    if stored is None:
        return ApplyOutcome.TOMBSTONED if incoming.tombstoned else ApplyOutcome.INSERTED
    if incoming.sort_key < stored.sort_key:
        return ApplyOutcome.STALE
    if incoming.sort_key == stored.sort_key:
        same = incoming._tie_rank() == stored._tie_rank()
        if same:
            return ApplyOutcome.UNCHANGED
        if incoming.versioned and incoming._tie_rank() < stored._tie_rank():
            return ApplyOutcome.STALE
    if incoming.tombstoned:
        return ApplyOutcome.TOMBSTONED
    return ApplyOutcome.RESURRECTED if stored.tombstoned else ApplyOutcome.UPDATED


def encode_sort_key(key: tuple[datetime, int]) -> str:
    """A string whose lexical order is the sort key's order (for SQL ``ORDER BY``)."""
    when, sequence = key
    if when.tzinfo is not UTC:
        when = when.astimezone(UTC) if when.tzinfo else when.replace(tzinfo=UTC)
    # Offset keeps negative sequences ordered; clamp what does not fit in 20 digits.
    seq = min(max(sequence + 2**63, 0), 10**20 - 1)
    # isoformat pads the year to 4 digits and, with timespec, is fixed width.
    return f"{when.isoformat(timespec='microseconds')}|{seq:020d}"


_NO_SORT_KEY = encode_sort_key((datetime.min.replace(tzinfo=UTC), -1))
