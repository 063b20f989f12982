"""Build and job deliveries name their pipeline, so a binding never projects another's."""

from __future__ import annotations

import json

from kradle_provider_buildkite.webhooks import WEBHOOKS

from kradle_providers.models.base import ExternalRef
from kradle_providers.sync.scope import in_scope
from kradle_providers.testing.fixtures import package_webhook_fixtures

SCOPE = ExternalRef(owner="acme", pipeline="widgets")


def test_build_and_job_deliveries_name_their_pipeline() -> None:
    assert WEBHOOKS.target_from_payload is not None
    seen = 0
    for fixture in package_webhook_fixtures("kradle_provider_buildkite"):
        if not fixture.event.startswith(("build.", "job.")):
            continue
        target = WEBHOOKS.target_from_payload(json.loads(fixture.payload.read_text()))
        assert target is not None and target.owner == "acme", fixture.payload
        assert target.pipeline, fixture.payload
        seen += 1
    assert seen >= 5


def test_another_pipeline_or_organization_is_outside() -> None:
    assert WEBHOOKS.target_from_payload is not None
    url = "https://api.buildkite.com/v2/organizations/{org}/pipelines/{p}"

    def target(org: str, pipeline: str) -> ExternalRef | None:
        assert WEBHOOKS.target_from_payload is not None
        return WEBHOOKS.target_from_payload({"pipeline": {"url": url.format(org=org, p=pipeline)}})

    assert in_scope(target("acme", "widgets"), SCOPE)
    assert not in_scope(target("acme", "gadgets"), SCOPE)
    assert not in_scope(target("globex", "widgets"), SCOPE)
    assert WEBHOOKS.target_from_payload({"event": "ping"}) is None
