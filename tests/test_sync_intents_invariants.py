"""Write-intent invariants under random operation sequences (hypothesis).

Random sequences of propose / approve / reject / send (two concurrent workers)
/ provider faults (5xx, rate limit, lost response) / read-back confirmation /
clock ticks and timeouts never break SPEC §7: no provider call before
approval; every attempt is exactly one call (no intent sent twice); a lost
response retried with the same key never duplicates the write; a Succeeded
write carries a digest; a Conflict links its conflict.
"""

from __future__ import annotations

import asyncio
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from kradle_providers.errors import TransientProviderError
from kradle_providers.plugins.selection import BindingMode
from kradle_providers.sync.phases import WriteIntentPhase
from kradle_providers.sync.records import WriteIntent
from kradle_providers.testing.harness import Fault
from tests.test_sync_intents_support import BINDING, IT, Env, make_env

W = WriteIntentPhase

actions = st.one_of(
    st.tuples(st.just("propose"), st.integers(0, 1)),
    st.tuples(st.just("approve"), st.integers(0, 7)),
    st.tuples(st.just("reject"), st.integers(0, 7)),
    st.tuples(st.just("send"), st.just(0)),
    st.tuples(st.just("fault"), st.sampled_from(["5xx", "rate", "lost"])),
    st.tuples(st.just("confirm"), st.just(0)),
    st.tuples(st.just("tick"), st.sampled_from([1, 60, 700])),
)


async def _check(env: Env, titles: dict[str, str]) -> None:
    intents: list[WriteIntent] = await env.store.intents.find()
    calls = env.writes("createIssue")
    for intent in intents:
        mine = [c for c in calls if c.get("idempotency_key") == intent.idempotency_key]
        approved = any(h.phase is W.READY_TO_SEND for h in intent.history)
        if not approved:
            assert mine == [], f"{intent.id} reached the provider before approval"
        assert len(mine) == intent.attempts, "an attempt is exactly one provider call"
        assert len(env.issues_titled(titles[intent.id])) <= 1, "a write was duplicated"
        assert intent.phase is not W.SENDING  # every claimed send was finished
        if intent.phase is W.SUCCEEDED:
            assert intent.response_digest or intent.confirmation
        if intent.phase is W.CONFLICT:
            assert intent.conflict_id
            conflict = await env.store.conflicts.get(intent.conflict_id)
            assert conflict.intent_id == intent.id


async def _run(steps: list[tuple[str, Any]]) -> None:
    env = await make_env(BindingMode.REVIEWED_WRITE)
    other = env.worker()
    titles: dict[str, str] = {}
    ids: list[str] = []
    try:
        for n, (action, arg) in enumerate(steps):
            if action == "propose":
                title = f"t{n}"
                intent = await env.service.propose(
                    BINDING, IT, "createIssue", None, {"title": title}, f"agent:{arg}"
                )
                titles[intent.id] = title
                ids.append(intent.id)
            elif action in ("approve", "reject") and ids:
                intent = await env.store.intents.get(ids[arg % len(ids)])
                if intent.phase is W.PENDING_APPROVAL:
                    if action == "approve":
                        await env.service.approve(intent.id, "user:lead")
                    else:
                        await env.service.reject(intent.id, "user:lead", reason="no")
            elif action == "send":
                await asyncio.gather(env.service.send_ready(), other.send_ready())
            elif action == "fault":
                if arg == "5xx":
                    env.harness.state.fail_next(
                        "createIssue", TransientProviderError("HTTP 503", status=503)
                    )
                elif arg == "rate":
                    env.harness.state.rate_limit_next("createIssue", retry_after=30)
                else:
                    env.harness.backend.inject_fault(Fault.LOST_RESPONSE)
            elif action == "confirm":
                await env.service.confirm_by_read_back()
            elif action == "tick":
                env.clock.advance(seconds=arg)
            await _check(env, titles)
    finally:
        await env.aclose()


@given(st.lists(actions, max_size=25))
def test_write_intent_invariants_hold_for_any_sequence(steps: list[tuple[str, Any]]) -> None:
    asyncio.run(_run(steps))
