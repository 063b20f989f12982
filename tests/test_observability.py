"""Observability (issue 13 item 8): structured records, metrics, audit hooks, no secrets.

Records carry binding/provider/interface/delivery/intent fields; a canary
token never appears in any record, formatted line, check result or audit
record; the CLI keeps httpx's per-request INFO lines out; metrics go through
the hook (recording, and OpenTelemetry when installed).
"""

from __future__ import annotations

import io
import json
import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kradle_providers.http.audit import AuditRecord
from kradle_providers.logs import JsonFormatter, configure_cli_logging, fields_of
from kradle_providers.metrics import OpenTelemetryMetrics, RecordingMetrics, timed
from kradle_providers.store import SqliteStateStore
from kradle_providers.sync.backfill import Backfiller
from kradle_providers.sync.binding import parse_binding
from kradle_providers.sync.check import check_binding
from kradle_providers.sync.runtime import BoundBinding, ProviderOverride
from kradle_providers.testing.emulator.server import LoopbackServer
from kradle_providers.testing.memory_backend import MemoryBackend

gh_emulator = pytest.importorskip("kradle_provider_github.emulator")

MEMORY = """\
apiVersion: kradle.a5c.ai/v1alpha1
kind: ExternalBackendBinding
metadata: {name: mem}
spec:
  target: {kind: Repository, name: widgets}
  providers:
    m: {type: memory}
  interfaces:
    issueTracking: {provider: m, mode: read-only, externalRef: {owner: acme, repository: widgets}}
"""
GH = """\
apiVersion: kradle.a5c.ai/v1alpha1
kind: ExternalBackendBinding
metadata: {name: widgets}
spec:
  target: {kind: Repository, name: widgets}
  providers:
    gh: {type: github, apiBaseUrl: "${GH_API}", auth: {token: {env: GH_TOKEN}}}
  interfaces:
    gitForge: {provider: gh, mode: read-only, externalRef: {owner: acme, repository: widgets}}
"""
GOOD = "ghp_observabilityGood00000000000000000001"
CANARY = "ghp_canaryObservability0000000000000000007"


async def test_backfill_records_carry_structured_fields_and_metrics_count_objects(
    caplog: pytest.LogCaptureFixture,
) -> None:
    backend = MemoryBackend()
    backend.seed_demo()
    metrics = RecordingMetrics()
    caplog.set_level(logging.INFO, logger="kradle_providers")
    async with (
        await BoundBinding.open(
            parse_binding(MEMORY, environ={}),
            overrides={"m": ProviderOverride(options={"backend": backend})},
        ) as bound,
        SqliteStateStore(":memory:") as store,
    ):
        report = await Backfiller(bound, store, metrics=metrics).run()
        counts = await store.projections.count_by_kind("mem")
    streams = [r for r in caplog.records if r.name == "kradle_providers.sync.backfill"]
    assert {fields_of(r)["kind"] for r in streams} == {r.kind for r in report.results}
    assert all(fields_of(r)["binding"] == "mem" for r in streams)
    assert all(fields_of(r)["interface"] == "issueTracking" for r in streams)
    assert metrics.total("kradle.sync.backfill.applied", binding="mem") == sum(counts.values())
    assert len(metrics.durations("kradle.sync.backfill.stream")) == len(report.results)


@pytest.fixture(scope="module")
def github() -> Iterator[tuple[Any, str]]:
    gh = gh_emulator.create_emulator(seed="demo", token=GOOD)
    with LoopbackServer(gh.app) as server:
        yield gh, server.url


async def test_no_canary_secret_in_records_results_or_audit_hooks(
    github: tuple[Any, str], caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, url = github
    monkeypatch.setenv("GH_TOKEN", CANARY)
    caplog.set_level(logging.DEBUG)
    audited: list[AuditRecord] = []
    async with await BoundBinding.open(parse_binding(GH, environ={"GH_API": url})) as bound:
        assert bound.add_audit_hook(audited.append) == ["gh"]
        result = await check_binding(bound)
    assert result.providers[0].phase.value == "Failed"
    assert audited and {a.status for a in audited} == {401}
    formatter = JsonFormatter()
    lines = [formatter.format(r) for r in caplog.records]
    assert any("the credential was refused" in line for line in lines)
    haystack = "\n".join(
        [*lines, *(repr(r.__dict__) for r in caplog.records), *map(repr, audited)]
    ) + json.dumps(result.to_dict())
    assert CANARY not in haystack


def test_cli_logging_keeps_httpx_quiet_and_shows_engine_records(github: tuple[Any, str]) -> None:
    _, url = github
    stream = io.StringIO()
    root = logging.getLogger()
    level = root.level
    handler = configure_cli_logging(logging.INFO, stream=stream)
    try:
        logging.getLogger("httpx").info("HTTP Request: GET %s", url)
        logging.getLogger("kradle_providers.sync.check").info(
            "provider gh Ready", extra={"binding": "widgets", "provider": "github"}
        )
    finally:
        root.removeHandler(handler)
        root.setLevel(level)
    text = stream.getvalue()
    assert "HTTP Request" not in text
    assert "provider gh Ready [binding=widgets provider=github]" in text


def test_sync_check_cli_prints_no_httpx_lines(github: tuple[Any, str], tmp_path: Path) -> None:
    _, url = github
    config = tmp_path / "b.yaml"
    config.write_text(GH)
    env = {**os.environ, "GH_API": url, "GH_TOKEN": GOOD, "KRADLE_LOG": "info"}
    done = subprocess.run(
        [sys.executable, "-m", "kradle_providers", "sync", "check", "--config", str(config)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "HTTP Request" not in done.stderr
    assert "provider gh Ready" in done.stderr  # the engine's own record, with its fields
    assert "binding=widgets" in done.stderr


def test_timed_records_durations_even_when_the_block_raises() -> None:
    metrics = RecordingMetrics()
    with pytest.raises(ValueError), timed(metrics, "op", {"binding": "b"}):
        raise ValueError("boom")
    assert len(metrics.durations("op")) == 1


def test_opentelemetry_metrics_reach_the_meter() -> None:
    sdk = pytest.importorskip("opentelemetry.sdk.metrics")
    export = pytest.importorskip("opentelemetry.sdk.metrics.export")
    reader = export.InMemoryMetricReader()
    provider = sdk.MeterProvider(metric_readers=[reader])
    metrics = OpenTelemetryMetrics(provider.get_meter("test"))
    metrics.count("kradle.sync.events", 3, {"binding": "b", "outcome": "applied"})
    metrics.count("kradle.sync.events", 2, {"binding": "b", "outcome": "applied"})
    metrics.timing("kradle.sync.writes.tick", 0.25, {"binding": "b"})
    data = reader.get_metrics_data()
    found = {
        m.name: m for rm in data.resource_metrics for sm in rm.scope_metrics for m in sm.metrics
    }
    [point] = found["kradle.sync.events"].data.data_points
    assert point.value == 5 and dict(point.attributes) == {"binding": "b", "outcome": "applied"}
    [hist] = found["kradle.sync.writes.tick"].data.data_points
    assert hist.count == 1 and hist.sum == pytest.approx(0.25)
