"""The webhook fixtures shipped in the package, normalized against their shipped goldens.

The payloads were recorded from the emulator's hook deliveries (the Release
Hook shaped after GitLab's webhook documentation); the goldens beside them in
``fixtures/goldens`` are what the contract suite compares too. Regenerate with
``KRADLE_UPDATE_GOLDEN=1`` and review the diff.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from kradle_provider_gitlab.harness import GOLDEN_DELIVERY_ID, webhook_fixtures
from kradle_provider_gitlab.normalizers import NORMALIZERS

from kradle_providers.models import NormalizeOutcome, ProviderRef
from kradle_providers.plugins.registry import load_registry
from kradle_providers.testing.fixtures import package_fixtures_dir
from kradle_providers.webhooks.normalizer import NormalizeContext

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
        context = NormalizeContext(
            provider=ProviderRef(type="gitlab", instance="default"),
            event=fixture.event,
            delivery_id=GOLDEN_DELIVERY_ID,
            headers=dict(fixture.headers),
        )
        result = NORMALIZERS[fixture.event](context, json.loads(fixture.payload.read_text()))
        assert result.outcome is not NormalizeOutcome.MALFORMED, (fixture.payload, result.reason)
        rendered = result.model_dump(mode="json")
        golden = (
            goldens
            / fixture.payload.parent.name
            / (fixture.payload.name.removesuffix(".json") + ".golden.json")
        )
        if UPDATE:
            golden.parent.mkdir(parents=True, exist_ok=True)
            golden.write_text(json.dumps(rendered, sort_keys=True, indent=2) + "\n")
        assert fixture.golden == golden or UPDATE, f"no golden for {fixture.payload}"
        assert rendered == json.loads(Path(golden).read_text()), fixture.payload
