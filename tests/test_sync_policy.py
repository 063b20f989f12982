"""The write authorization pipeline (SPEC §8) and audit redaction of every write attempt."""

from __future__ import annotations

from datetime import timedelta

import pytest

from kradle_providers.auth.secret import Secret
from kradle_providers.errors import InvalidInput, PermissionDenied, UnsupportedOperation
from kradle_providers.plugins.selection import BindingMode
from kradle_providers.sync.phases import WriteIntentPhase
from kradle_providers.sync.policy import (
    ProviderGrant,
    WritePolicy,
    check_approver,
    check_write,
    required_permissions,
)
from tests.test_sync_intents_support import BINDING, IT, make_env, memory_manifest

W = WriteIntentPhase


async def _decide(mode: BindingMode, **kw: object) -> W:
    decision = await check_write(
        manifest=memory_manifest(),
        interface=IT,
        operation="updateIssue",
        mode=mode,
        actor="user:a",
        **kw,  # type: ignore[arg-type]
    )
    return decision.phase


@pytest.mark.parametrize(
    ("mode", "phase"),
    [
        (BindingMode.READ_ONLY, W.REJECTED),
        (BindingMode.EXTERNAL_OWNED, W.REJECTED),
        (BindingMode.REVIEWED_WRITE, W.PENDING_APPROVAL),
        (BindingMode.BIDIRECTIONAL, W.READY_TO_SEND),
        (BindingMode.WRITE_THROUGH, W.READY_TO_SEND),
        (BindingMode.KRADLE_OWNED, W.READY_TO_SEND),
    ],
)
async def test_binding_mode_decides_the_first_phase(mode: BindingMode, phase: W) -> None:
    assert await _decide(mode) is phase


async def test_host_approval_rule_overrides_the_mode_default() -> None:
    policy = WritePolicy(needs_approval=lambda actor, op, mode: actor.startswith("agent:"))
    decision = await check_write(
        manifest=memory_manifest(),
        interface=IT,
        operation="createIssue",
        mode=BindingMode.BIDIRECTIONAL,
        actor="agent:bot",
        policy=policy,
    )
    assert decision.phase is W.PENDING_APPROVAL


async def test_permissions_come_from_the_manifest() -> None:
    assert required_permissions(memory_manifest(), "createIssue") == ("issueTracking.issues.write",)
    granted: set[tuple[str, str]] = set()

    def authorize(actor: str, permission: str) -> bool:
        granted.add((actor, permission))
        return False

    with pytest.raises(PermissionDenied, match="did not grant"):
        await _decide(BindingMode.BIDIRECTIONAL, authorize=authorize)
    assert granted == {("user:a", "issueTracking.issues.write")}


async def test_provider_scope_and_auth_mode_are_checked_when_known() -> None:
    assert await _decide(BindingMode.BIDIRECTIONAL, grant=ProviderGrant(auth_mode="token"))
    with pytest.raises(PermissionDenied, match="auth modes"):
        await _decide(BindingMode.BIDIRECTIONAL, grant=ProviderGrant(auth_mode="basic"))


async def test_actor_attribution_and_capability() -> None:
    with pytest.raises(InvalidInput, match="attributed"):
        await check_write(
            manifest=memory_manifest(),
            interface=IT,
            operation="createIssue",
            mode=BindingMode.BIDIRECTIONAL,
            actor="",
        )
    with pytest.raises(UnsupportedOperation, match="short-lived secret"):
        await check_write(
            manifest=memory_manifest(),
            interface=IT.__class__("cicd"),
            operation="registerRunner",
            mode=BindingMode.BIDIRECTIONAL,
            actor="u",
        )
    with pytest.raises(PermissionDenied):
        await check_approver("user:x", authorize=lambda a, p: False)
    with pytest.raises(InvalidInput):
        await check_approver("")


def test_backoff_grows_and_is_capped_and_respects_retry_after() -> None:
    policy = WritePolicy(backoff_base=timedelta(seconds=2), backoff_max=timedelta(seconds=30))
    assert [policy.backoff(n).total_seconds() for n in (1, 2, 3, 4, 5, 6)] == [
        2,
        4,
        8,
        16,
        30,
        30,
    ]
    assert policy.backoff(1, retry_after=90).total_seconds() == 90


async def test_audit_never_contains_a_secret() -> None:
    """Canary in the adapter credential, in a payload field named token, and in errors."""
    env = await make_env()
    canary = env.harness.credential  # the adapter's credential, a registered Secret
    payload_canary = "payload-canary-5f0e9d1c2b"
    Secret(payload_canary)  # the host knows it is a secret
    try:
        with pytest.raises(InvalidInput):
            await env.service.propose(
                BINDING, IT, "createIssue", None, {"title": "x", "token": canary}, "u"
            )
        intent = await env.service.propose(
            BINDING, IT, "createIssue", None, {"title": "x", "body": payload_canary}, "u"
        )
        assert payload_canary not in intent.model_dump_json()
        await env.service.send_ready()
        await env.service.propose(BINDING, IT, "createIssue", None, {"title": "y"}, "u")
        env.harness.state.fail_next(
            "createIssue", PermissionDenied(f"token {canary} lacks scope", provider="memory")
        )
        [failed] = await env.service.send_ready()
        assert failed.phase is W.FAILED and canary not in (failed.last_error or "")
        events = await env.store.audit.find()
        sends = [e for e in events if e.action == "write.send"]
        assert len(sends) == 2
        for event in sends:
            assert event.actor == "u" and event.binding == BINDING
            assert event.interface is IT and event.operation == "createIssue"
            assert event.target and event.request_digest and event.response_digest
        dump = "".join(e.model_dump_json() for e in events)
        dump += "".join(i.model_dump_json() for i in await env.store.intents.find())
        assert canary not in dump and payload_canary not in dump
    finally:
        await env.aclose()
