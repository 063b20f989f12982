"""Golden tests: every upstream GitHub webhook payload -> a checked-in NormalizeResult.

The upstream corpus is an extra conformance layer (see kradle_providers.testing.fixtures):
without it these tests are one named skip each. The plugin's own recorded deliveries have
their goldens in the package (test_github_fixtures.py).

Regenerate with ``KRADLE_UPDATE_GOLDEN=1 pytest plugins/github/tests/test_github_golden.py``
and review the diff by eye: a golden is only worth what its review was.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from kradle_provider_github.harness import GOLDEN_DELIVERY_ID
from kradle_provider_github.normalizers import NORMALIZERS

from kradle_providers.models import NormalizeOutcome, NormalizeResult, ProviderRef, SyncEvent
from kradle_providers.testing.fixtures import require_upstream, upstream_files
from kradle_providers.webhooks.normalizer import NormalizeContext

GOLDEN = Path(__file__).parent / "golden"
UPDATE = os.environ.get("KRADLE_UPDATE_GOLDEN") == "1"
DELIVERY = GOLDEN_DELIVERY_ID


def _fixtures() -> list[Path]:
    return upstream_files("github")


def _golden_path(fixture: Path) -> Path:
    return GOLDEN / fixture.parent.name / (fixture.name.removesuffix(".json") + ".golden.json")


def normalize_fixture(fixture: Path) -> NormalizeResult:
    event = fixture.parent.name
    context = NormalizeContext(
        provider=ProviderRef(type="github", instance="default"),
        event=event,
        delivery_id=DELIVERY,
        headers={"X-GitHub-Event": event, "X-GitHub-Delivery": DELIVERY},
    )
    return NORMALIZERS[event](context, json.loads(fixture.read_text()))


def render(result: NormalizeResult) -> str:
    return json.dumps(result.model_dump(mode="json"), sort_keys=True, indent=2) + "\n"


def test_all_upstream_fixtures_are_covered() -> None:
    require_upstream("github")
    fixtures = _fixtures()
    assert len(fixtures) == 111
    assert {f.parent.name for f in fixtures} <= set(NORMALIZERS)


@pytest.mark.parametrize("fixture", _fixtures(), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_golden(fixture: Path) -> None:
    result = normalize_fixture(fixture)
    text = render(result)
    golden = _golden_path(fixture)
    if UPDATE:
        golden.parent.mkdir(parents=True, exist_ok=True)
        golden.write_text(text)
    assert golden.exists(), f"no golden for {fixture}; run with KRADLE_UPDATE_GOLDEN=1"
    assert json.loads(text) == json.loads(golden.read_text())


@pytest.mark.parametrize("fixture", _fixtures(), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_events_validate_and_round_trip(fixture: Path) -> None:
    result = normalize_fixture(fixture)
    assert result.ok, result.reason
    dumped: dict[str, Any] = result.model_dump(mode="json")
    assert NormalizeResult.model_validate(dumped) == result
    for event in dumped["events"]:
        again = SyncEvent.model_validate(event)
        assert again.native_event == fixture.parent.name
        assert again.delivery_id == DELIVERY
        assert again.provider.type == "github"
        if again.object is not None:
            assert again.object.external.native_id == again.native_id
            assert again.object.kind == again.object_kind
            assert again.object.external.interface == again.interface
            assert again.object.external.extensions.provider_type == "github"


def test_outcomes_by_event() -> None:
    corpus = require_upstream("github")
    ignored = {
        str(f.relative_to(corpus))
        for f in _fixtures()
        if normalize_fixture(f).outcome is NormalizeOutcome.IGNORED
    }
    # Informational events only (`issues` on PR-backed issues are IssueEvents of the PR).
    assert ignored == {
        *(
            f"installation/{n}"
            for n in (
                "created.payload.json",
                "deleted.payload.json",
                "new_permissions_accepted.payload.json",
                "suspend.payload.json",
                "unsuspend.payload.json",
            )
        ),
        "ping/payload.json",
        "ping/with-app_id.payload.json",
    }


def test_no_stale_goldens() -> None:
    require_upstream("github")
    expected = {_golden_path(f) for f in _fixtures()}
    present = set(GOLDEN.glob("*/*.golden.json"))
    assert present == expected, f"goldens without fixture: {sorted(present - expected)}"
