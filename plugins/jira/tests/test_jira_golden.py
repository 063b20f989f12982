"""Golden tests: every upstream Jira webhook payload -> a checked-in NormalizeResult.

The upstream corpus is an extra conformance layer (see kradle_providers.testing.fixtures):
without it these tests are one named skip each. The plugin's own recorded deliveries have
their goldens in the package (test_jira_fixtures.py).

Regenerate with ``KRADLE_UPDATE_GOLDEN=1 pytest plugins/jira/tests/test_jira_golden.py``
and review the diff by eye: a golden is only worth what its review was. Bodies
go through the rich-text converters, so a converter change shows up here too.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from kradle_provider_jira.harness import GOLDEN_DELIVERY_ID
from kradle_provider_jira.normalizers import NORMALIZERS

from kradle_providers.models import NormalizeResult, ProviderRef, SyncEvent
from kradle_providers.testing.fixtures import require_upstream, upstream_files
from kradle_providers.webhooks.normalizer import NormalizeContext

GOLDEN = Path(__file__).parent / "golden"
UPDATE = os.environ.get("KRADLE_UPDATE_GOLDEN") == "1"
DELIVERY = GOLDEN_DELIVERY_ID


def _fixtures() -> list[Path]:
    return upstream_files("jira")


def _golden_path(fixture: Path) -> Path:
    return GOLDEN / fixture.parent.name / (fixture.name.removesuffix(".json") + ".golden.json")


def normalize_fixture(fixture: Path) -> NormalizeResult:
    """Normalize as intake (and the contract suite) would: the folder name is the event
    (Jira sends no event header), the default instance, the golden delivery id."""
    event = fixture.parent.name
    context = NormalizeContext(
        provider=ProviderRef(type="jira"),
        event=event,
        delivery_id=DELIVERY,
        headers={"X-Atlassian-Webhook-Identifier": DELIVERY},
    )
    return NORMALIZERS[event](context, json.loads(fixture.read_text()))


def render(result: NormalizeResult) -> str:
    return json.dumps(result.model_dump(mode="json"), sort_keys=True, indent=2) + "\n"


def test_all_upstream_fixtures_are_covered() -> None:
    require_upstream("jira")
    fixtures = _fixtures()
    assert len(fixtures) == 46
    assert {f.parent.name for f in fixtures} <= set(NORMALIZERS)


def test_no_stale_goldens() -> None:
    require_upstream("jira")
    expected = {_golden_path(f) for f in _fixtures()}
    present = set(GOLDEN.glob("*/*.golden.json"))
    assert present - expected == set(), "goldens without a fixture; delete them"


@pytest.mark.parametrize("fixture", _fixtures(), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_golden(fixture: Path) -> None:
    text = render(normalize_fixture(fixture))
    golden = _golden_path(fixture)
    if UPDATE:
        golden.parent.mkdir(parents=True, exist_ok=True)
        golden.write_text(text)
    assert golden.exists(), f"no golden for {fixture}; run with KRADLE_UPDATE_GOLDEN=1"
    assert json.loads(text) == json.loads(golden.read_text())


@pytest.mark.parametrize("fixture", _fixtures(), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_results_validate_and_round_trip(fixture: Path) -> None:
    result = normalize_fixture(fixture)
    assert result.ok, result.reason
    assert result.native_event.replace(":", "_") == fixture.parent.name
    dumped: dict[str, Any] = result.model_dump(mode="json")
    assert NormalizeResult.model_validate(dumped) == result
    for event in dumped["events"]:
        again = SyncEvent.model_validate(event)
        assert again.delivery_id == DELIVERY
        assert again.provider == ProviderRef(type="jira")
        assert again.object is not None
        assert again.object.external.provider.instance == "default"
        # ordering facts: the payload timestamp is the sequence
        assert again.version.sequence is not None
