"""Provider and binding phases, moved by the rules of :mod:`~kradle_providers.sync.phases`
and kept in the state store.

A :class:`PhaseTracker` moves one provider instance or one binding through its
phase machine (every move checked by :func:`~kradle_providers.sync.phases.transition`),
keeps the history, and appends every move to the store's audit stream
(``action`` ``phase.provider`` / ``phase.binding``, ``target`` the provider
alias or binding name, ``details`` ``{from, to, reason}``), so the current
phase of each survives the process and :func:`current_phases` (what
``sync status`` shows) reads it back. Reasons are redacted like every audit text.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Generic, TypeVar

from kradle_providers.store.protocol import StateStore
from kradle_providers.sync.phases import (
    INITIAL_PHASES,
    PHASE_ACTIONS,
    BindingPhase,
    ProviderPhase,
    transition,
)
from kradle_providers.sync.records import AuditEvent, AuditOutcome

__all__ = ["PHASE_ACTIONS", "PhaseState", "PhaseTracker", "current_phases"]

P = TypeVar("P", ProviderPhase, BindingPhase)


_ACTOR = "kradle:sync"
_FAILED = {ProviderPhase.FAILED.value, BindingPhase.FAILED.value}


@dataclass(frozen=True)
class PhaseState:
    """Where one provider instance or binding stands, as last recorded."""

    phase: str
    reason: str | None
    at: datetime


@dataclass
class PhaseTracker(Generic[P]):
    """One subject (a provider alias or the binding) moving through its phases.

    ``start`` is where it stands now (default: the family's initial phase: a
    check or a bring-up starts from ``Pending``); ``store`` persists each move
    (``None``: in memory only).
    """

    family: type[P]
    binding: str
    subject: str
    start: P | None = None
    store: StateStore | None = None
    phase: P = field(init=False)
    reason: str | None = field(init=False, default=None)
    history: list[P] = field(init=False, default_factory=list)

    def __post_init__(self) -> None:
        initial = self.start if self.start is not None else INITIAL_PHASES[self.family]
        self.phase = self.family(initial.value)
        self.history = [self.phase]

    async def move(self, new: P, reason: str | None = None) -> P:
        """Go to ``new`` (checked against the transition table) and record it."""
        previous = self.phase
        self.phase = transition(previous, new)
        self.reason = reason
        self.history.append(self.phase)
        if self.store is not None:
            await self.store.audit.append(
                AuditEvent(
                    actor=_ACTOR,
                    action=PHASE_ACTIONS[self.family],
                    binding=self.binding,
                    target=self.subject,
                    outcome=AuditOutcome.FAILED
                    if self.phase.value in _FAILED
                    else AuditOutcome.SUCCEEDED,
                    details={"from": previous.value, "to": self.phase.value, "reason": reason},
                )
            )
        return self.phase


async def current_phases(
    store: StateStore, *, binding: str | None = None
) -> dict[str, dict[str, dict[str, PhaseState]]]:
    """``binding -> "provider"|"binding" -> subject -> PhaseState``: the last recorded phases."""
    actions = {
        v: ("provider" if k is ProviderPhase else "binding") for k, v in PHASE_ACTIONS.items()
    }
    out: dict[str, dict[str, dict[str, PhaseState]]] = {}
    after = 0
    while True:
        page = await store.audit.find(binding=binding, after_id=after, limit=1000)
        if not page:
            return out
        for event in page:
            kind = actions.get(event.action)
            if kind is None or event.binding is None or event.target is None:
                continue
            to, reason = event.details.get("to"), event.details.get("reason")
            out.setdefault(event.binding, {}).setdefault(kind, {})[event.target] = PhaseState(
                phase=str(to), reason=reason if isinstance(reason, str) else None, at=event.at
            )
        after = page[-1].id or after + len(page)
