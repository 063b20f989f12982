"""The webhook payloads shipped in the package: recorded from the emulator, one per event.

``KRADLE_UPDATE_GOLDEN=1`` re-records them (and their goldens) from the ``demo``
seed; review the diff by eye. Without it, the payloads the emulator sends now
must still be the shipped ones, and each golden must still be what the
normalizer makes of its payload.
"""

from __future__ import annotations

import json
import os
from typing import Any

import pytest
from kradle_provider_buildkite.emulator import BuildkiteEmulator, create_emulator
from kradle_provider_buildkite.harness import (
    fixtures_dir,
    normalize_payload,
    webhook_fixtures,
)
from kradle_provider_buildkite.plugin import BUILDKITE_PLUGIN

from kradle_providers.models import NormalizeOutcome
from kradle_providers.testing.fixtures import declared_webhook_events, golden_text

UPDATE = os.environ.get("KRADLE_UPDATE_GOLDEN") == "1"


def _recorded(em: BuildkiteEmulator) -> dict[tuple[str, str], dict[str, Any]]:
    """(event, case) -> the payload the emulator sends for it, from the demo seed."""
    s = em.state
    widgets = s.pipeline_by_slug("widgets")
    assert widgets is not None

    def build(state: str, **eq: Any) -> dict[str, Any]:
        return next(b for b in s.builds.filter(pipeline_id=widgets["id"], state=state, **eq))

    def job(build_record: dict[str, Any], kind: str, state: str | None = None) -> dict[str, Any]:
        return next(
            j
            for j in s.jobs_of(build_record["id"])
            if j["type"] == kind and (state is None or j["state"] == state)
        )

    passed, failed, blocked = build("passed", blocked=False), build("failed"), build("blocked")
    running = build("running")
    pull = next(b for b in s.builds.filter(state="passed") if b["pull_request"])
    agent = s.agents.filter(connection_state="connected")[0]
    lost = s.agents.filter(connection_state="lost")[0]
    stopped = s.agents.filter(connection_state="stopped")[0]
    gone = s.agents.filter(connection_state="disconnected")[0]
    token = {"id": s.uuid(), "description": "Windows agents", "allowed_ip_addresses": "10.0.0.0/8"}
    p = em.payload
    return {
        ("build.scheduled", "scheduled"): p("build.scheduled", build=build("scheduled")),
        ("build.running", "running"): p("build.running", build=running),
        ("build.failing", "failing"): p("build.failing", build=build("failing")),
        ("build.finished", "passed"): p("build.finished", build=passed),
        ("build.finished", "pull-request"): p("build.finished", build=pull),
        ("build.finished", "failed"): p("build.finished", build=failed),
        ("build.finished", "blocked"): p("build.finished", build=blocked),
        ("build.skipped", "skipped"): p("build.skipped", build=build("skipped")),
        ("job.scheduled", "script"): p("job.scheduled", job=job(build("scheduled"), "script"),
                                       build=build("scheduled")),
        ("job.started", "script"): p("job.started", job=job(running, "script", "running"),
                                     build=running),
        ("job.finished", "script"): p("job.finished", job=job(failed, "script", "failed"),
                                      build=failed),
        ("job.finished", "trigger"): p("job.finished", job=job(passed, "trigger"), build=passed),
        ("job.finished", "waiter"): p("job.finished", job=job(passed, "waiter"), build=passed),
        ("job.activated", "manual"): p("job.activated", job=job(passed, "manual"), build=passed),
        ("job.promised_exit_status", "script"): p(
            "job.promised_exit_status", job=job(running, "script", "running"), build=running,
            promised_exit_status_reason="test_failure (2 failed after retries)",
        ),
        ("agent.connected", "connected"): p("agent.connected", agent=agent),
        ("agent.lost", "lost"): p("agent.lost", agent=lost),
        ("agent.disconnected", "disconnected"): p("agent.disconnected", agent=gone),
        ("agent.stopping", "stopping"): p("agent.stopping", agent=agent),
        ("agent.stopped", "stopped"): p("agent.stopped", agent=stopped),
        ("agent.blocked", "blocked"): p(
            "agent.blocked", agent=agent, blocked_ip="202.188.43.20", cluster_token=token
        ),
        ("cluster_token.registration_blocked", "blocked"): p(
            "cluster_token.registration_blocked", blocked_ip="202.188.43.20", cluster_token=token
        ),
        ("ping", "ping"): p("ping"),
    }  # fmt: skip


def test_fixtures_are_the_emulator_deliveries_and_goldens_hold() -> None:
    root = fixtures_dir()
    recorded = _recorded(create_emulator(seed="demo"))
    for (event, case), payload in recorded.items():
        path = root / "webhooks" / event / f"{case}.json"
        golden = root / "goldens" / event / f"{case}.golden.json"
        text = json.dumps(payload, indent=2, sort_keys=True) + "\n"
        if UPDATE:
            path.parent.mkdir(parents=True, exist_ok=True)
            golden.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
            golden.write_text(golden_text(normalize_payload(event, payload)))
        assert json.loads(path.read_text()) == payload, f"{path} is not what the emulator sends"
        assert json.loads(golden.read_text()) == json.loads(
            golden_text(normalize_payload(event, json.loads(path.read_text())))
        ), f"{golden} no longer matches the normalizer"
    shipped = {(f.event, f.payload.name.removesuffix(".json")) for f in webhook_fixtures()}
    assert shipped == set(recorded)


def test_every_declared_event_has_a_normalized_fixture() -> None:
    declared = declared_webhook_events("kradle_provider_buildkite:manifest.yaml")
    fixtures = webhook_fixtures()
    assert {f.event for f in fixtures} == set(declared)
    for fixture in fixtures:
        result = normalize_payload(fixture.event, json.loads(fixture.payload.read_text()))
        expected = (
            NormalizeOutcome.IGNORED if declared[fixture.event] else NormalizeOutcome.NORMALIZED
        )
        assert result.outcome is expected, (fixture.payload, result.reason)
        text = fixture.payload.read_text()
        assert "bkua_" not in text and "bkct_" not in text  # no credential is ever recorded
    assert BUILDKITE_PLUGIN.manifest == "kradle_provider_buildkite:manifest.yaml"


@pytest.mark.parametrize("event", ["build.finished", "job.finished", "agent.connected"])
def test_fixture_objects_map_like_rest_reads(event: str) -> None:
    """A delivery's object maps to the same canonical identity as the REST read of it."""
    fixture = next(f for f in webhook_fixtures() if f.event == event)
    result = normalize_payload(event, json.loads(fixture.payload.read_text()))
    first = result.events[0]
    assert first.object is not None
    assert first.object.external.provider.type == "buildkite"
    assert first.native_id == first.object.external.native_id
