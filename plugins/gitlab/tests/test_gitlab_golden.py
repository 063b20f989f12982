"""Golden tests: every upstream GitLab webhook payload -> a checked-in NormalizeResult.

The upstream corpus (``KRADLE_UPSTREAM_FIXTURES``) holds GitLab's own example
payloads (via go-gitlab and go-playground); the goldens beside this file are
reviewed outputs. Regenerate with ``KRADLE_UPDATE_GOLDEN=1`` and review the
diff by eye: a golden is only worth what its review was.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from kradle_provider_gitlab.harness import GOLDEN_DELIVERY_ID, event_of_folder
from kradle_provider_gitlab.normalizers import NORMALIZERS

from kradle_providers.models import NormalizeOutcome, NormalizeResult, ProviderRef, SyncEvent
from kradle_providers.testing.fixtures import require_upstream
from kradle_providers.webhooks.normalizer import NormalizeContext

GOLDEN = Path(__file__).parent / "golden"
UPDATE = os.environ.get("KRADLE_UPDATE_GOLDEN") == "1"


@pytest.fixture(scope="module")
def corpus() -> Path:
    return require_upstream("gitlab")


def _fixtures(corpus: Path) -> list[Path]:
    return sorted(corpus.glob("*/*.json"))


def _golden_path(fixture: Path) -> Path:
    return GOLDEN / fixture.parent.name / (fixture.name.removesuffix(".json") + ".golden.json")


def normalize_fixture(fixture: Path) -> NormalizeResult:
    event = event_of_folder(fixture.parent.name)
    context = NormalizeContext(
        provider=ProviderRef(type="gitlab", instance="default"),
        event=event,
        delivery_id=GOLDEN_DELIVERY_ID,
        headers={"X-Gitlab-Event": event, "X-Gitlab-Event-UUID": GOLDEN_DELIVERY_ID},
    )
    return NORMALIZERS[event](context, json.loads(fixture.read_text()))


def render(result: NormalizeResult) -> str:
    return json.dumps(result.model_dump(mode="json"), sort_keys=True, indent=2) + "\n"


def test_every_upstream_payload_has_its_golden(corpus: Path) -> None:
    fixtures = _fixtures(corpus)
    assert len(fixtures) == 21
    assert {event_of_folder(f.parent.name) for f in fixtures} <= set(NORMALIZERS)
    mismatched: list[str] = []
    for fixture in fixtures:
        text = render(normalize_fixture(fixture))
        golden = _golden_path(fixture)
        if UPDATE:
            golden.parent.mkdir(parents=True, exist_ok=True)
            golden.write_text(text)
        assert golden.exists(), f"no golden for {fixture}; run with KRADLE_UPDATE_GOLDEN=1"
        if json.loads(text) != json.loads(golden.read_text()):
            mismatched.append(str(fixture.relative_to(corpus)))
    assert not mismatched, f"normalizer output differs from the golden for {mismatched}"


def test_events_validate_and_round_trip(corpus: Path) -> None:
    for fixture in _fixtures(corpus):
        result = normalize_fixture(fixture)
        assert result.outcome is not NormalizeOutcome.MALFORMED, (fixture, result.reason)
        dumped: dict[str, Any] = result.model_dump(mode="json")
        assert NormalizeResult.model_validate(dumped) == result
        for event in dumped["events"]:
            again = SyncEvent.model_validate(event)
            assert again.delivery_id == GOLDEN_DELIVERY_ID
            assert again.provider.type == "gitlab"
            if again.object is not None:
                assert again.object.external.native_id == again.native_id
                assert again.object.kind == again.object_kind
                assert again.object.external.extensions.provider_type == "gitlab"


def test_outcomes_by_event(corpus: Path) -> None:
    ignored = {
        str(f.relative_to(corpus))
        for f in _fixtures(corpus)
        if normalize_fixture(f).outcome is NormalizeOutcome.IGNORED
    }
    # Release hooks are informational; snippets are not a synced kind.
    assert ignored == {
        "release_hook/go-gitlab.release.json",
        "note_hook/go-gitlab.note_snippet.json",
    }


def test_no_stale_goldens(corpus: Path) -> None:
    expected = {_golden_path(f) for f in _fixtures(corpus)}
    present = set(GOLDEN.glob("*/*.golden.json"))
    assert present == expected, f"goldens without fixture: {sorted(present - expected)}"
