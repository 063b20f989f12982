"""Nearest-name suggestions ("did you mean X?") for manifest findings."""

from __future__ import annotations

import difflib
from collections.abc import Iterable

__all__ = ["did_you_mean", "nearest"]


def nearest(
    word: str, candidates: Iterable[str], *, preferred: Iterable[str] = (), cutoff: float = 0.6
) -> str | None:
    """The candidate closest to ``word``, or None when nothing is close enough.

    ``preferred`` candidates win when one of them is close enough: a misspelled
    CI/CD operation should be matched against CI/CD names before the others.
    Matching ignores case so ``listissues`` still finds ``listIssues``.
    """
    lowered = word.lower()
    for pool in (list(preferred), list(candidates)):
        by_lower = {c.lower(): c for c in pool}
        if lowered in by_lower:
            return by_lower[lowered]
        match = difflib.get_close_matches(lowered, list(by_lower), n=1, cutoff=cutoff)
        if match:
            return by_lower[match[0]]
    return None


def did_you_mean(
    word: str, candidates: Iterable[str], *, preferred: Iterable[str] = (), cutoff: float = 0.6
) -> str:
    """``"did you mean 'X'?"`` for the nearest candidate, else an empty string."""
    match = nearest(word, candidates, preferred=preferred, cutoff=cutoff)
    return f"did you mean {match!r}?" if match is not None else ""
