"""What a store did: calls and transactions, for operators and the benchmarks."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["StoreCounters"]


@dataclass
class StoreCounters:
    """Calls run and transactions committed since the store opened.

    A statement run on its own (autocommit) that changes rows counts as a
    transaction: it is one to the database. ``sync serve-webhooks`` prints them
    per delivery at exit.
    """

    calls: int = 0
    transactions: int = 0
