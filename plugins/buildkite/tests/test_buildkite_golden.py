"""Golden tests: every upstream Buildkite payload -> a checked-in NormalizeResult.

The upstream corpus (Buildkite's documentation examples and go-buildkite's test
payloads) is an extra layer that only CI has. Regenerate with
``KRADLE_UPDATE_GOLDEN=1 pytest plugins/buildkite/tests/test_buildkite_golden.py``
and review the diff by eye: a golden is only worth what its review was.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from kradle_provider_buildkite.harness import GOLDEN_DELIVERY_ID, normalize_payload

from kradle_providers.models import NormalizeOutcome, NormalizeResult
from kradle_providers.testing.fixtures import golden_text, require_upstream

GOLDEN = Path(__file__).parent / "golden"
UPDATE = os.environ.get("KRADLE_UPDATE_GOLDEN") == "1"


def _corpus() -> Path:
    return require_upstream("buildkite")


def _webhooks(root: Path) -> list[Path]:
    return sorted(p for p in root.glob("*/*.json") if not p.parent.name.startswith("rest_api_"))


def _golden_path(fixture: Path) -> Path:
    return GOLDEN / fixture.parent.name / (fixture.name.removesuffix(".json") + ".golden.json")


def _event(fixture: Path) -> str:
    """The X-Buildkite-Event of a corpus folder (``build_finished`` -> ``build.finished``)."""
    named = json.loads(fixture.read_text()).get("event")
    assert isinstance(named, str) and named.replace(".", "_") == fixture.parent.name
    return named


def _normalize(fixture: Path) -> NormalizeResult:
    return normalize_payload(_event(fixture), json.loads(fixture.read_text()))


def test_golden_every_upstream_payload() -> None:
    root = _corpus()
    fixtures = _webhooks(root)
    assert len(fixtures) == 9
    for fixture in fixtures:
        text = golden_text(_normalize(fixture))
        golden = _golden_path(fixture)
        if UPDATE:
            golden.parent.mkdir(parents=True, exist_ok=True)
            golden.write_text(text)
        assert golden.is_file(), f"no golden for {fixture}; run with KRADLE_UPDATE_GOLDEN=1"
        assert json.loads(text) == json.loads(golden.read_text()), fixture.name
    present = set(GOLDEN.glob("*/*.golden.json"))
    assert present == {_golden_path(f) for f in fixtures}, "goldens without an upstream payload"


def test_outcomes_by_event() -> None:
    """Abbreviated documentation payloads are explained as malformed, never guessed."""
    root = _corpus()
    outcomes = {f.parent.name: _normalize(f) for f in _webhooks(root)}
    assert {k: r.outcome for k, r in outcomes.items()} == {
        "agent_blocked": NormalizeOutcome.IGNORED,
        "agent_connected": NormalizeOutcome.MALFORMED,
        "build_finished": NormalizeOutcome.MALFORMED,
        "build_scheduled": NormalizeOutcome.NORMALIZED,
        "cluster_token_registration_blocked": NormalizeOutcome.IGNORED,
        "job_finished": NormalizeOutcome.MALFORMED,
        "job_promised_exit_status": NormalizeOutcome.NORMALIZED,
        "job_started": NormalizeOutcome.MALFORMED,
        "ping": NormalizeOutcome.IGNORED,
    }
    assert "abbreviated" in (outcomes["build_finished"].reason or "")
    scheduled = outcomes["build_scheduled"].events
    assert [e.object_kind for e in scheduled] == ["Pipeline"]
    assert scheduled[0].action.value == "created"
    assert scheduled[0].object is not None
    assert scheduled[0].object.external.native_number == "1"
    promised = outcomes["job_promised_exit_status"].events[0]
    assert promised.object_kind == "Job" and promised.native_action == "promised_exit_status"
    assert promised.delivery_id == GOLDEN_DELIVERY_ID


def test_rest_api_objects_map() -> None:
    """Buildkite's documented REST objects (Get a build / job / agent) map whole."""
    from kradle_provider_buildkite import mapping

    root = _corpus()

    def load(folder: str) -> dict[str, object]:
        (path,) = sorted((root / folder).glob("*.json"))
        loaded: dict[str, object] = json.loads(path.read_text())
        return loaded

    native_build = load("rest_api_build")
    build = mapping.build(native_build)
    assert build.external.native_id == "f62a1b4d-10f9-4790-bc1c-e2c3a0c80983"
    assert build.external.native_number == "2"
    assert build.sha == "abcd0b72a1e580e90712cdd9eb26d3fb41cd09c8"
    assert build.status.state.value == "succeeded"
    assert build.definition is not None
    assert build.definition.native_id == "849411f9-9e6d-4739-a0d8-e247088e9b52"
    assert build.external.extensions.fields["rebuilt_from"] == native_build["rebuilt_from"]
    assert "jobs" not in build.external.extensions.fields
    job = mapping.job(load("rest_api_job"))
    assert job.external.native_kind == "script"
    assert job.pipeline.native_number == "1"
    assert job.status.state.value == "succeeded"
    agent = mapping.agent(load("rest_api_agent"))
    assert agent.name == "my-agent" and agent.state.value == "online"
    assert agent.labels == ["key1=val1", "key2=val2"]
