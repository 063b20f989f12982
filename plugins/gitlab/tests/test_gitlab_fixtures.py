"""The webhook fixtures shipped in the package, normalized against their shipped goldens.

The payloads were recorded from the emulator's hook deliveries (the Release
Hook shaped after GitLab's webhook documentation); the goldens beside them in
``fixtures/goldens`` are what the contract suite compares too. Regenerate with
``KRADLE_UPDATE_GOLDEN=1`` and review the diff.
"""

from __future__ import annotations

import json
import os

from kradle_provider_gitlab.harness import GOLDEN_DELIVERY_ID, webhook_fixtures
from kradle_provider_gitlab.normalizers import NORMALIZERS

from kradle_providers.plugins.registry import load_registry
from kradle_providers.testing.fixtures import golden_text, normalize_fixture, package_fixtures_dir

UPDATE = os.environ.get("KRADLE_UPDATE_GOLDEN") == "1"


def test_every_declared_event_has_a_shipped_fixture_with_its_golden() -> None:
    fixtures = webhook_fixtures()
    manifest = load_registry().manifest("gitlab")
    declared = set(manifest.webhook_events())
    assert declared <= {f.event for f in fixtures}
    goldens = package_fixtures_dir("kradle_provider_gitlab") / "goldens"
    for fixture in fixtures:
        assert fixture.event in NORMALIZERS
        assert "X-Gitlab-Token" not in fixture.headers  # no credentials in shipped files
        result = normalize_fixture(fixture, NORMALIZERS, "gitlab")
        assert fixture.delivery_id == GOLDEN_DELIVERY_ID
        rendered = golden_text(result)
        golden = (
            goldens
            / fixture.payload.parent.name
            / (fixture.payload.name.removesuffix(".json") + ".golden.json")
        )
        if UPDATE:
            golden.parent.mkdir(parents=True, exist_ok=True)
            golden.write_text(rendered)
        assert fixture.golden == golden or UPDATE, f"no golden for {fixture.payload}"
        assert json.loads(rendered) == json.loads(golden.read_text()), fixture.payload
