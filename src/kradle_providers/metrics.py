"""Counters and timings of the sync engine, through a small hook a host implements.

The engine reports what it does (deliveries processed, writes sent and
confirmed, backfill pages applied, their durations) to a :class:`Metrics`
object; the default, :data:`NO_METRICS`, drops everything. A host passes its
own (Prometheus, StatsD, ...) or :class:`OpenTelemetryMetrics`, which needs the
``otel`` extra (``pip install kradle-providers[otel]``) and is imported only
when built. :class:`RecordingMetrics` keeps everything in memory (tests, the CLI).

Names are dotted (``kradle.sync.delivery.processed``); attributes are small
strings (binding, provider, interface, phase): never an id with unbounded
cardinality, never a secret.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any, Protocol, runtime_checkable

__all__ = [
    "NO_METRICS",
    "Metrics",
    "NoMetrics",
    "OpenTelemetryMetrics",
    "RecordingMetrics",
    "timed",
]

Attributes = Mapping[str, str]


@runtime_checkable
class Metrics(Protocol):
    """Where the engine reports counters and timings."""

    def count(self, name: str, value: int = 1, attributes: Attributes | None = None) -> None:
        """Add ``value`` to the counter ``name``."""

    def timing(self, name: str, seconds: float, attributes: Attributes | None = None) -> None:
        """Record one duration of ``name``, in seconds."""


class NoMetrics:
    """Drops everything (the default)."""

    def count(self, name: str, value: int = 1, attributes: Attributes | None = None) -> None:
        return None

    def timing(self, name: str, seconds: float, attributes: Attributes | None = None) -> None:
        return None


NO_METRICS: Metrics = NoMetrics()


def _key(name: str, attributes: Attributes | None) -> tuple[str, tuple[tuple[str, str], ...]]:
    return name, tuple(sorted((attributes or {}).items()))


class RecordingMetrics:
    """Keeps counters and timings in memory; :meth:`total` sums a counter over attributes."""

    def __init__(self) -> None:
        self.counters: Counter[tuple[str, tuple[tuple[str, str], ...]]] = Counter()
        self.timings: dict[tuple[str, tuple[tuple[str, str], ...]], list[float]] = {}

    def count(self, name: str, value: int = 1, attributes: Attributes | None = None) -> None:
        self.counters[_key(name, attributes)] += value

    def timing(self, name: str, seconds: float, attributes: Attributes | None = None) -> None:
        self.timings.setdefault(_key(name, attributes), []).append(seconds)

    def total(self, name: str, **attributes: str) -> int:
        """The counter ``name`` summed over every series whose attributes include ``attributes``."""
        wanted = set(attributes.items())
        return sum(
            v for (n, attrs), v in self.counters.items() if n == name and wanted <= set(attrs)
        )

    def durations(self, name: str) -> list[float]:
        """Every duration recorded for ``name``, whatever its attributes."""
        return [s for (n, _), values in self.timings.items() if n == name for s in values]


class OpenTelemetryMetrics:
    """Reports to an OpenTelemetry meter: counters, and timings as histograms (seconds).

    ``meter`` defaults to the global meter provider's ``kradle_providers``
    meter. Needs ``opentelemetry-api`` (the ``otel`` extra).
    """

    def __init__(self, meter: Any = None) -> None:
        try:
            from opentelemetry import metrics as otel_metrics
        except ImportError as exc:  # pragma: no cover - depends on the environment
            raise ImportError(
                "OpenTelemetryMetrics needs opentelemetry-api; install it with "
                "`pip install kradle-providers[otel]`"
            ) from exc
        self._meter = meter if meter is not None else otel_metrics.get_meter("kradle_providers")
        self._counters: dict[str, Any] = {}
        self._histograms: dict[str, Any] = {}

    def count(self, name: str, value: int = 1, attributes: Attributes | None = None) -> None:
        counter = self._counters.get(name)
        if counter is None:
            counter = self._counters[name] = self._meter.create_counter(name)
        counter.add(value, attributes=dict(attributes or {}))

    def timing(self, name: str, seconds: float, attributes: Attributes | None = None) -> None:
        hist = self._histograms.get(name)
        if hist is None:
            hist = self._histograms[name] = self._meter.create_histogram(name, unit="s")
        hist.record(seconds, attributes=dict(attributes or {}))


@contextmanager
def timed(metrics: Metrics, name: str, attributes: Attributes | None = None) -> Iterator[None]:
    """Record how long the block took as ``name`` (also when it raises)."""
    start = time.perf_counter()
    try:
        yield
    finally:
        metrics.timing(name, time.perf_counter() - start, attributes)
