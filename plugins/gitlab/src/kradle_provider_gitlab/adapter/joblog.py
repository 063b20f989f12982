"""GitLab job logs: ANSI colours and collapsible sections, cleaned for a host.

A trace is ``text/plain`` written for a terminal: SGR colour codes
(``\\x1b[32;1m``), erase-line codes (``\\x1b[0K``), carriage returns, and
section markers ``section_start:<unix>:<name>[<options>]\\r\\x1b[0K`` /
``section_end:<unix>:<name>\\r\\x1b[0K`` that GitLab's UI folds.
:func:`clean_line` gives the text a person reads; :class:`SectionTracker`
collects the section boundaries (name, start/end time, first/last line).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime

__all__ = ["JobLog", "LogSection", "SectionTracker", "clean_line"]

_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
_SECTION = re.compile(r"section_(start|end):(\d+):([A-Za-z0-9_.-]+)(?:\[[^\]]*\])?\r?")


def clean_line(line: str) -> str:
    """``line`` without ANSI codes and section markers (its newline kept)."""
    text = _SECTION.sub("", line)
    text = _ANSI.sub("", text)
    return text.replace("\r\n", "\n").replace("\r", "")


@dataclass
class LogSection:
    """One collapsible section: ``name``, its times and its lines (0-based, inclusive)."""

    name: str
    started_at: datetime
    first_line: int
    finished_at: datetime | None = None
    last_line: int | None = None


@dataclass
class SectionTracker:
    """Feeds on raw lines in order; records where each section starts and ends."""

    sections: list[LogSection] = field(default_factory=list)
    _open: dict[str, LogSection] = field(default_factory=dict)
    _line: int = 0

    def feed(self, raw: str) -> None:
        """Note the section markers of the next raw line."""
        for kind, stamp, name in _SECTION.findall(raw):
            when = datetime.fromtimestamp(int(stamp), UTC)
            if kind == "start":
                section = LogSection(name=name, started_at=when, first_line=self._line)
                self.sections.append(section)
                self._open[name] = section
            elif name in self._open:
                section = self._open.pop(name)
                section.finished_at = when
                section.last_line = self._line
        self._line += 1


@dataclass(frozen=True)
class JobLog:
    """A whole job log: clean (and redacted) ``text`` plus its ``sections``."""

    text: str
    sections: list[LogSection]
