"""Backfill progress reporting: rich progress bars on a terminal, plain lines otherwise.

The backfill calls a :class:`ProgressReporter`; :func:`make_progress` picks
:class:`RichProgress` when the output is a terminal and :class:`PlainProgress`
otherwise. Hosts and tests inject their own (or :class:`NullProgress`).
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from typing import IO, Any, Protocol

from kradle_providers.sync.phases import BackfillPhase
from kradle_providers.sync.records import SyncCounters

__all__ = [
    "NullProgress",
    "PlainProgress",
    "ProgressReporter",
    "RecordingProgress",
    "RichProgress",
    "make_progress",
]


class ProgressReporter(Protocol):
    """What a backfill tells about its streams as it goes."""

    def stream_started(self, stream: str) -> None:
        """A stream (``<interface>/<Kind>``) begins (or resumes)."""
        ...

    def stream_progress(
        self,
        stream: str,
        counters: SyncCounters,
        *,
        budget: Mapping[str, Any] | None = None,
    ) -> None:
        """A page was applied; ``budget`` is the rate-limit budget snapshot, if known."""
        ...

    def stream_finished(
        self, stream: str, phase: BackfillPhase, counters: SyncCounters, error: str | None
    ) -> None:
        """A stream ended in ``phase`` (Succeeded, RateLimited or Failed)."""
        ...

    def close(self) -> None:
        """Stop drawing."""
        ...


def _summary(counters: SyncCounters) -> str:
    return (
        f"listed={counters.listed} hydrated={counters.hydrated} applied={counters.applied} "
        f"unchanged={counters.unchanged} tombstoned={counters.tombstoned} pages={counters.pages}"
    )


def _budget_text(budget: Mapping[str, Any] | None) -> str:
    if not budget:
        return ""
    parts = []
    for alias, scopes in budget.items():
        for scope in scopes or ():
            if scope.get("remaining") is not None:
                parts.append(f"{alias}/{scope.get('scope')}={scope['remaining']}/{scope['limit']}")
    return f" budget[{' '.join(parts)}]" if parts else ""


class NullProgress:
    """Reports nothing."""

    def stream_started(self, stream: str) -> None:
        """Ignored."""

    def stream_progress(
        self, stream: str, counters: SyncCounters, *, budget: Mapping[str, Any] | None = None
    ) -> None:
        """Ignored."""

    def stream_finished(
        self, stream: str, phase: BackfillPhase, counters: SyncCounters, error: str | None
    ) -> None:
        """Ignored."""

    def close(self) -> None:
        """Nothing to stop."""


class RecordingProgress(NullProgress):
    """Keeps every report as a tuple in :attr:`events` (tests, hosts that poll)."""

    def __init__(self) -> None:
        self.events: list[tuple[str, str, Any]] = []

    def stream_started(self, stream: str) -> None:
        """Record the start."""
        self.events.append(("started", stream, None))

    def stream_progress(
        self, stream: str, counters: SyncCounters, *, budget: Mapping[str, Any] | None = None
    ) -> None:
        """Record the counters."""
        self.events.append(("progress", stream, counters))

    def stream_finished(
        self, stream: str, phase: BackfillPhase, counters: SyncCounters, error: str | None
    ) -> None:
        """Record the end."""
        self.events.append(("finished", stream, phase))


class PlainProgress(NullProgress):
    """One line per page and per stream end, for logs and pipes."""

    def __init__(self, out: IO[str] | None = None) -> None:
        self._out = out if out is not None else sys.stderr

    def _line(self, text: str) -> None:
        print(text, file=self._out, flush=True)

    def stream_started(self, stream: str) -> None:
        """Print the start."""
        self._line(f"{stream}: started")

    def stream_progress(
        self, stream: str, counters: SyncCounters, *, budget: Mapping[str, Any] | None = None
    ) -> None:
        """Print the counters after a page."""
        self._line(f"{stream}: {_summary(counters)}{_budget_text(budget)}")

    def stream_finished(
        self, stream: str, phase: BackfillPhase, counters: SyncCounters, error: str | None
    ) -> None:
        """Print the end, with the (redacted) error if any."""
        tail = f": {error}" if error else ""
        self._line(f"{stream}: {phase.value} ({_summary(counters)}){tail}")


class RichProgress(NullProgress):
    """A live rich progress display: one row per stream with its counters."""

    def __init__(self, out: IO[str] | None = None) -> None:
        from rich.console import Console
        from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

        self._progress = Progress(
            SpinnerColumn(),
            TextColumn("[bold]{task.description}"),
            TextColumn("{task.fields[detail]}"),
            TimeElapsedColumn(),
            console=Console(file=out if out is not None else sys.stderr),
            transient=False,
        )
        self._tasks: dict[str, Any] = {}
        self._progress.start()

    def stream_started(self, stream: str) -> None:
        """Add the stream's row."""
        self._tasks[stream] = self._progress.add_task(stream, total=None, detail="starting")

    def stream_progress(
        self, stream: str, counters: SyncCounters, *, budget: Mapping[str, Any] | None = None
    ) -> None:
        """Update the stream's row."""
        task = self._tasks.get(stream)
        if task is not None:
            detail = _summary(counters) + _budget_text(budget)
            self._progress.update(task, completed=counters.listed, detail=detail)

    def stream_finished(
        self, stream: str, phase: BackfillPhase, counters: SyncCounters, error: str | None
    ) -> None:
        """Close the stream's row with its outcome."""
        task = self._tasks.get(stream)
        if task is not None:
            detail = f"{phase.value} {_summary(counters)}" + (f" {error}" if error else "")
            self._progress.update(task, total=counters.listed or 1, completed=counters.listed or 1)
            self._progress.update(task, detail=detail)

    def close(self) -> None:
        """Stop the live display."""
        self._progress.stop()


def make_progress(out: IO[str] | None = None, *, force_plain: bool = False) -> ProgressReporter:
    """Rich bars when ``out`` (default stderr) is a terminal and rich is installed
    (``kradle-providers[cli]``), plain lines otherwise."""
    from kradle_providers.extras import has_extra

    stream = out if out is not None else sys.stderr
    if not force_plain and stream.isatty() and has_extra("rich"):
        return RichProgress(stream)
    return PlainProgress(stream)
