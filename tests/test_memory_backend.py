"""MemoryBackend: deterministic clock and sequence, change feed, request log, faults."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from kradle_providers.auth.secret import Secret
from kradle_providers.clock import StepClock
from kradle_providers.errors import AuthenticationError, InvalidInput, NotFound, RateLimited
from kradle_providers.testing.memory_backend import MemoryBackend, parse_time


def test_step_clock_advances_one_second_per_mutation_from_2024() -> None:
    backend = MemoryBackend()
    a = backend.seed_label("o/r", "a")
    b = backend.seed_label("o/r", "b")
    assert parse_time(a["updated_at"]) == datetime(2024, 1, 1, tzinfo=UTC)
    assert parse_time(b["updated_at"]) == datetime(2024, 1, 1, 0, 0, 1, tzinfo=UTC)
    assert (a["sequence"], b["sequence"]) == (1, 2)
    assert backend.sequence == 2


def test_injected_clock_is_called_once_per_mutation() -> None:
    calls: list[datetime] = []
    start = datetime(2030, 5, 1, tzinfo=UTC)

    def clock() -> datetime:
        calls.append(start)
        return start

    backend = MemoryBackend(clock=clock)
    label = backend.seed_label("o/r", "x")
    backend.external_change("label", label["id"], color="000000")
    assert len(calls) == 2
    assert backend.get("label", label["id"])["sequence"] == 2


def test_external_change_bumps_version_and_emits_event_without_a_request() -> None:
    backend = MemoryBackend()
    issue = backend.seed_issue("o/r", "t")
    changed = backend.external_change("issue", issue["id"], title="new")
    assert changed["title"] == "new"
    assert changed["sequence"] > issue["sequence"]
    assert changed["updated_at"] > issue["updated_at"]
    assert backend.events[-1]["event"] == "issue"
    assert backend.events[-1]["action"] == "updated"
    assert backend.events[-1]["object"]["title"] == "new"
    assert backend.requests == []


def test_external_change_refuses_provider_assigned_fields() -> None:
    backend = MemoryBackend()
    issue = backend.seed_issue("o/r", "t")
    with pytest.raises(InvalidInput):
        backend.external_change("issue", issue["id"], id=99)


def test_delete_emits_deleted_event_and_get_then_raises_not_found() -> None:
    backend = MemoryBackend()
    label = backend.seed_label("o/r", "gone")
    backend.delete("label", label["id"])
    assert backend.events[-1]["action"] == "deleted"
    assert backend.events[-1]["object"]["name"] == "gone"
    with pytest.raises(NotFound):
        backend.get("label", label["id"])


def test_unknown_kind_is_invalid_input_naming_the_kinds() -> None:
    with pytest.raises(InvalidInput, match="issue"):
        MemoryBackend().all("widget")


def test_events_have_unique_delivery_ids_and_subscribers_get_copies() -> None:
    backend = MemoryBackend()
    received: list[dict[str, object]] = []
    unsubscribe = backend.subscribe(received.append)
    backend.seed_label("o/r", "a")
    backend.seed_label("o/r", "b")
    unsubscribe()
    backend.seed_label("o/r", "c")
    assert [e["object"]["name"] for e in received] == ["a", "b"]  # type: ignore[index]
    received[0]["object"]["name"] = "mutated"  # type: ignore[index]
    assert backend.events[0]["object"]["name"] == "a"
    ids = [e["delivery_id"] for e in backend.events]
    assert len(ids) == len(set(ids)) == 3


def test_returned_objects_are_copies() -> None:
    backend = MemoryBackend()
    issue = backend.seed_issue("o/r", "t")
    issue["title"] = "hacked"
    assert backend.get("issue", issue["id"])["title"] == "t"


def test_objects_carry_fields_the_canonical_model_has_no_place_for() -> None:
    issue = MemoryBackend().seed_issue("o/r", "t")
    assert "internal_rank" in issue


def test_issue_and_pull_request_numbers_share_a_space_per_scope() -> None:
    backend = MemoryBackend()
    backend.seed_ref("o/r", "refs/heads/main", "a" * 40)
    backend.seed_ref("o/r", "refs/heads/f", "b" * 40)
    first = backend.seed_issue("o/r", "one")
    pr = backend.seed_pull_request("o/r", "pr", head="f")
    after = backend.seed_issue("o/r", "two")
    other_scope = backend.seed_issue("x/y", "elsewhere")
    backing = backend.find("issue", "o/r", number=pr["number"])
    assert (first["number"], pr["number"], after["number"]) == (1, 2, 3)
    assert other_scope["number"] == 1
    assert backing is not None
    assert backing["pull_request"] == {"id": pr["id"], "number": pr["number"]}
    assert pr["issue_id"] == backing["id"]


def test_handle_records_every_call_with_a_secret_free_summary() -> None:
    backend = MemoryBackend()
    backend.handle("listIssues", None, ref="o/r", page_size=5, secret=Secret("tok-abcdef-1"))
    record = backend.requests[-1]
    assert record.operation == "listIssues"
    assert record.args["page_size"] == 5
    assert "tok-abcdef-1" not in repr(backend.requests)
    assert backend.calls("listIssues") == [record]
    assert backend.calls("getIssue") == []


def test_credential_check() -> None:
    backend = MemoryBackend(accepted_token="right-token-123")
    backend.handle("getIssue", Secret("right-token-123"))
    with pytest.raises(AuthenticationError) as refused:
        backend.handle("getIssue", Secret("wrong-token-456"))
    with pytest.raises(AuthenticationError, match="no token"):
        backend.handle("getIssue", None)
    assert "wrong-token-456" not in str(refused.value)
    assert "right-token-123" not in str(refused.value)
    assert refused.value.status == 401


def test_fail_next_applies_to_the_named_operation_for_n_calls() -> None:
    backend = MemoryBackend()
    boom = RuntimeError("boom")
    backend.fail_next("getIssue", boom, times=2)
    backend.handle("listIssues", None)
    for _ in range(2):
        with pytest.raises(RuntimeError):
            backend.handle("getIssue", None)
    backend.handle("getIssue", None)
    assert len(backend.requests) == 4


def test_wildcard_fault_and_clear_faults() -> None:
    backend = MemoryBackend()
    backend.fail_next("*", ValueError("x"))
    with pytest.raises(ValueError):
        backend.handle("anything", None)
    backend.fail_next("*", ValueError("x"))
    backend.clear_faults()
    backend.handle("anything", None)
    with pytest.raises(InvalidInput):
        backend.fail_next("*", ValueError("x"), times=0)


def test_rate_limit_fault_carries_reset_and_retry_after() -> None:
    backend = MemoryBackend(clock=StepClock(datetime(2024, 6, 1, tzinfo=UTC)))
    backend.rate_limit_next("listIssues", retry_after=30)
    with pytest.raises(RateLimited) as limited:
        backend.handle("listIssues", None)
    assert limited.value.retry_after == 30
    assert limited.value.reset_at == datetime(2024, 6, 1, tzinfo=UTC) + timedelta(seconds=30)
    backend.handle("listIssues", None)


def test_seed_demo_is_deterministic_and_covers_every_kind() -> None:
    a, b = MemoryBackend(), MemoryBackend()
    assert a.seed_demo() == b.seed_demo() == "acme/widgets"
    assert a.events == b.events
    for kind in (
        "issue", "comment", "label", "milestone", "issue_event", "workflow", "pipeline", "job",
        "check", "artifact", "runner", "repository", "pull_request", "review", "ref", "commit",
        "deploy_key", "collaborator", "branch_protection",
    ):  # fmt: skip
        assert a.all(kind), kind


def test_logs_follow_their_job() -> None:
    backend = MemoryBackend()
    job = backend.seed_job("o/r", 1, "build", log="hello\n")
    assert backend.log_text(job["id"]) == "hello\n"
    backend.set_log(job["id"], "bye\n")
    assert backend.log_text(job["id"]) == "bye\n"
    backend.delete("job", job["id"])
    with pytest.raises(NotFound):
        backend.log_text(job["id"])


def test_repr_never_shows_the_accepted_token() -> None:
    backend = MemoryBackend(accepted_token="hidden-token-789")
    assert "hidden-token-789" not in repr(backend)
    assert "hidden-token-789" not in repr(backend.accepted_token)
