"""Declarative sync results: what a ``sync_*`` operation would do, or did."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from enum import StrEnum
from typing import Any

from pydantic import Field, JsonValue

from kradle_providers.models.base import CanonicalModel

__all__ = ["PlanAction", "PlannedChange", "SyncResult", "plan_changes"]


class PlanAction(StrEnum):
    """What a declarative sync does to one item."""

    CREATE = "create"
    UPDATE = "update"
    DELETE = "delete"
    UNCHANGED = "unchanged"


class PlannedChange(CanonicalModel):
    """One item of a plan. ``key`` identifies the item (label name, key material,
    branch); ``before``/``after`` are canonical dumps; ``fields`` names what differs."""

    action: PlanAction
    key: str
    before: JsonValue = None
    after: JsonValue = None
    fields: list[str] = Field(default_factory=list)


class SyncResult(CanonicalModel):
    """The plan of a declarative sync. With ``dry_run`` nothing was sent; otherwise
    every change was applied. A dry run's plan equals what the real run does."""

    kind: str
    dry_run: bool
    changes: list[PlannedChange] = Field(default_factory=list)

    def _keys(self, action: PlanAction) -> list[str]:
        return [c.key for c in self.changes if c.action is action]

    @property
    def created(self) -> list[str]:
        return self._keys(PlanAction.CREATE)

    @property
    def updated(self) -> list[str]:
        return self._keys(PlanAction.UPDATE)

    @property
    def deleted(self) -> list[str]:
        return self._keys(PlanAction.DELETE)

    @property
    def unchanged(self) -> list[str]:
        return self._keys(PlanAction.UNCHANGED)

    @property
    def is_noop(self) -> bool:
        """True when applying the plan changes nothing (the sync is converged)."""
        return all(c.action is PlanAction.UNCHANGED for c in self.changes)

    def summary(self) -> dict[str, int]:
        return {a.value: len(self._keys(a)) for a in PlanAction}


def plan_changes(
    current: Mapping[str, Mapping[str, Any]],
    desired: Mapping[str, Mapping[str, Any]],
    compared: Sequence[str],
    prune: bool,
    *,
    none_is_value: bool = False,
) -> list[PlannedChange]:
    """The plan of a declarative sync: what turns ``current`` into ``desired``.

    Both map an identity (label name, key material) to plain field values.
    ``compared`` names the fields that make an update. Unless ``none_is_value``,
    a desired None means "no opinion" and never causes an update. Deletions
    (with ``prune``) follow ``current``'s order. The plan depends only on its
    inputs, so a dry run and the real run agree.
    """
    changes: list[PlannedChange] = []
    for key, want in desired.items():
        have = current.get(key)
        if have is None:
            changes.append(PlannedChange(action=PlanAction.CREATE, key=key, after=dict(want)))
            continue
        before = {f: have.get(f) for f in want}

        def opinion(f: str, want: Mapping[str, Any] = want) -> bool:
            return none_is_value or want.get(f) is not None

        differing = [f for f in compared if opinion(f) and have.get(f) != want.get(f)]
        after = {f: (want.get(f) if opinion(f) else have.get(f)) for f in want}
        action = PlanAction.UPDATE if differing else PlanAction.UNCHANGED
        changes.append(
            PlannedChange(action=action, key=key, before=before, after=after, fields=differing)
        )
    if prune:
        for key, have in current.items():
            if key in desired:
                continue
            shown = ("name", "title", "key", "branch", *compared)
            before = {f: have.get(f) for f in shown if f in have}
            changes.append(PlannedChange(action=PlanAction.DELETE, key=key, before=before))
    return changes
