"""What every benchmark here measures the same way: a child process's wall time and peak RSS,
and medians with their spread.

:func:`run_child` starts a command, reaps it with ``os.wait4`` and returns its wall time
(timed outside it, interpreter start-up and imports included, as a user meets them) and
the peak resident set size of the whole process (``ru_maxrss`` of that child alone, C
memory such as SQLite's page cache included). No tracemalloc anywhere: it slows Python
allocation several-fold and would time itself.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import tempfile
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Child", "ChildFailed", "median", "run_child", "spread"]


class ChildFailed(RuntimeError):
    """The measured command exited non-zero (the message holds its output)."""


@dataclass(frozen=True)
class Child:
    """One finished child: wall seconds, peak RSS in MiB, its output."""

    seconds: float
    peak_rss_mib: float
    stdout: str
    stderr: str


def run_child(
    argv: Sequence[str | Path],
    *,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    timeout: float = 1800.0,
) -> Child:
    """Run ``argv`` to completion; its output goes to files (a pipe could fill and stall it)."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        proc = subprocess.Popen([str(a) for a in argv], stdout=out, stderr=err, env=env, cwd=cwd)
        killer = threading.Timer(timeout, proc.kill)
        killer.start()
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        finally:
            killer.cancel()
        seconds = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)  # reaped here, not by Popen
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read().decode(), err.read().decode()
    if proc.returncode != 0:
        shown = " ".join(str(a) for a in argv)
        raise ChildFailed(f"{shown} exited {proc.returncode}:\n{stderr[-4000:]}{stdout[-2000:]}")
    # Linux reports ru_maxrss in KiB.
    return Child(seconds, usage.ru_maxrss / 1024, stdout, stderr)


def median(values: Sequence[float]) -> float:
    """The median."""
    return float(statistics.median(values))


def spread(values: Sequence[float]) -> str:
    """The noise of ``values``: half the min-max range as a percentage of the median."""
    mid = median(values)
    if mid == 0 or len(values) < 2:
        return "±0%"
    return f"±{(max(values) - min(values)) / 2 / mid * 100:.0f}%"
