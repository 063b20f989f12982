"""Declarative sync results: what a ``sync_*`` operation would do, or did."""

from __future__ import annotations

from enum import StrEnum

from pydantic import Field, JsonValue

from kradle_providers.models.base import CanonicalModel

__all__ = ["PlanAction", "PlannedChange", "SyncResult"]


class PlanAction(StrEnum):
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
