"""Deliveries from the emulator go through the installed intake path: verify, then normalize.

The verifier is built from the plugin's declared ``WEBHOOKS`` (through the
registry, as the receiver and ``webhook verify`` do), in both of Buildkite's
modes; the event name comes from ``X-Buildkite-Event`` and the normalizer from
the installed plugin. Canary secrets never appear in results or errors.
"""

from __future__ import annotations

from typing import Any

import pytest
from kradle_provider_buildkite.emulator import create_emulator

from kradle_providers.errors import WebhookSignatureError
from kradle_providers.models import NormalizeOutcome
from kradle_providers.testing.emulator import ManualClock
from kradle_providers.webhooks.registry import NormalizerRegistry
from kradle_providers.webhooks.verify import make_verifier

SIGNATURE_CANARY = "bk-signature-canary-5f1e"
TOKEN_CANARY = "bk-token-canary-77aa"


@pytest.mark.parametrize(
    ("mode", "secret"), [("signature", SIGNATURE_CANARY), ("token", TOKEN_CANARY)]
)
async def test_emulator_deliveries_verify_and_normalize(mode: Any, secret: str) -> None:
    em = create_emulator(seed="demo", options={"clock": ManualClock()})
    em.webhooks.subscribe_service("http://receiver.test/bk", secret, mode=mode)
    widgets = em.state.pipeline_by_slug("widgets")
    assert widgets is not None
    blocked = em.state.builds.filter(pipeline_id=widgets["id"], state="blocked")[0]
    gate = next(j for j in em.state.jobs_of(blocked["id"]) if j["type"] == "manual")
    em.state.unblock_job(gate["id"], by=em.viewer_id)
    deliveries = em.webhooks.deliveries
    assert [d.event for d in deliveries] == ["job.activated", "build.running"]

    now = em.clock().timestamp()
    verifier = make_verifier("buildkite", secret, clock=lambda: now)
    normalizers = NormalizerRegistry.from_plugins()
    for delivery in deliveries:
        verified = verifier.verify(delivery.body, delivery.headers)
        assert verified.event == delivery.event
        result = normalizers.normalize("buildkite", verified.event, verified.body)
        assert result.outcome is NormalizeOutcome.NORMALIZED, result.reason
        assert secret not in result.model_dump_json()
    job_event = normalizers.normalize("buildkite", "job.activated", deliveries[0].body).events[0]
    assert job_event.object is not None and job_event.object.external.native_id == gate["id"]

    tampered = deliveries[0].body.replace(b'"unblocked"', b'"blocked"')
    with pytest.raises(WebhookSignatureError) as refused:
        make_verifier("buildkite", "wrong-secret", clock=lambda: now).verify(
            tampered, deliveries[0].headers
        )
    assert secret not in str(refused.value)


async def test_signatures_expire_outside_the_replay_window() -> None:
    em = create_emulator(options={"clock": ManualClock()})
    em.webhooks.subscribe_service("http://receiver.test/bk", SIGNATURE_CANARY, mode="signature")
    em.control.seed("Runner")  # an agent connects: agent.connected
    (delivery,) = em.webhooks.deliveries
    late = em.clock().timestamp() + 301
    with pytest.raises(WebhookSignatureError, match="replay window"):
        make_verifier("buildkite", SIGNATURE_CANARY, clock=lambda: late).verify(
            delivery.body, delivery.headers
        )
