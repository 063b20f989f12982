"""The Buildkite provider under the contract-test suite."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from kradle_providers.models import NormalizeResult, ProviderRef
from kradle_providers.webhooks.normalizer import NormalizeContext

__all__ = ["GOLDEN_DELIVERY_ID", "normalize_payload", "render"]

#: The X-Buildkite-Delivery-ID... Buildkite sends no delivery id header; the
#: goldens are written with this one (as the contract suite normalizes them).
GOLDEN_DELIVERY_ID = "00000000-0000-4000-8000-00000000b001"


def normalize_payload(event: str, payload: Any) -> NormalizeResult:
    """Normalize ``payload`` as the goldens are written (instance ``default``)."""
    from kradle_provider_buildkite.normalizers import NORMALIZERS

    context = NormalizeContext(
        provider=ProviderRef(type="buildkite", instance="default"),
        event=event,
        delivery_id=GOLDEN_DELIVERY_ID,
        headers={"X-Buildkite-Event": event},
    )
    normalizer = NORMALIZERS.get(event) or NORMALIZERS[event.split(".", 1)[0]]
    return normalizer(context, payload)


def render(result: NormalizeResult) -> str:
    """A golden file's text."""
    dumped: Mapping[str, Any] = result.model_dump(mode="json")
    return json.dumps(dumped, sort_keys=True, indent=2) + "\n"
