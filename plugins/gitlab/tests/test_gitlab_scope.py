"""Deliveries name their project, so a binding never projects another project's changes."""

from __future__ import annotations

import json

import pytest
from kradle_provider_gitlab.harness import create_harness
from kradle_provider_gitlab.webhooks import WEBHOOKS

from kradle_providers.models.base import ExternalRef
from kradle_providers.sync.scope import in_scope
from kradle_providers.testing.fixtures import package_webhook_fixtures

SCOPE = ExternalRef(owner="acme/platform", repository="widgets")


def payloads() -> list[tuple[str, dict[str, object]]]:
    fixtures = package_webhook_fixtures("kradle_provider_gitlab")
    return [(f.payload.name, json.loads(f.payload.read_text())) for f in fixtures]


@pytest.mark.parametrize(("name", "payload"), payloads())
def test_every_shipped_delivery_is_inside_the_harness_project(
    name: str, payload: dict[str, object]
) -> None:
    assert WEBHOOKS.target_from_payload is not None
    target = WEBHOOKS.target_from_payload(payload)
    assert target is not None, name
    assert in_scope(target, create_harness().scope)


def test_another_project_or_group_is_outside() -> None:
    assert WEBHOOKS.target_from_payload is not None
    other = {"project": {"path_with_namespace": "acme/platform/gadgets"}}
    assert not in_scope(WEBHOOKS.target_from_payload(other), SCOPE)
    other_group = {"project": {"path_with_namespace": "globex/platform/widgets"}}
    assert not in_scope(WEBHOOKS.target_from_payload(other_group), SCOPE)
    job_hook = {"project_name": "acme / platform / widgets"}
    assert in_scope(WEBHOOKS.target_from_payload(job_hook), SCOPE)
    assert WEBHOOKS.target_from_payload({"object_kind": "issue"}) is None
