"""``sync intents`` and ``sync conflicts`` commands over a real SQLite file."""

from __future__ import annotations

import argparse
import asyncio
import json
from pathlib import Path

import pytest

from kradle_providers.plugins.selection import BindingMode
from kradle_providers.store import SqliteStateStore
from kradle_providers.sync import cli_writes
from kradle_providers.sync.phases import ConflictPhase, WriteIntentPhase
from tests.test_sync_intents_support import BINDING, IT, make_env

W = WriteIntentPhase


def run(*argv: str) -> int:
    parser = argparse.ArgumentParser(prog="kradle-providers")
    sub = parser.add_subparsers(dest="command", required=True)
    sync = sub.add_parser("sync")
    cli_writes.register(sync.add_subparsers(dest="sync_command", required=True))
    args = parser.parse_args(["sync", *argv])
    code: int = args.handler(args)
    return code


def _seed(db: Path) -> tuple[str, str, str]:
    """A pending intent, and a conflict with its intent, in ``db``."""

    async def work() -> tuple[str, str, str]:
        env = await make_env(BindingMode.REVIEWED_WRITE, db=str(db))
        try:
            pending = await env.service.propose(
                BINDING, IT, "createIssue", None, {"title": "Pending"}, "agent:a"
            )
            [number] = env.harness.backend.seed("Issue", title="Old")
            env.harness.backend.change("Issue", number, title="New")
            stale = await env.service.propose(
                BINDING,
                IT,
                "updateIssue",
                None,
                {"title": "Mine"},
                "agent:a",
                object_id=number,
                expected_version="1",
            )
            await env.service.approve(stale.id, "user:lead")
            [moved] = await env.service.send_ready()
            assert moved.conflict_id
            return pending.id, stale.id, moved.conflict_id
        finally:
            await env.aclose()

    return asyncio.run(work())


async def _get(db: Path, intent_id: str) -> W:
    async with SqliteStateStore(db) as store:
        return (await store.intents.get(intent_id)).phase


def test_intents_list_approve_reject(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "s.db"
    pending, _, _ = _seed(db)
    assert run("intents", "list", "--db", str(db), "--phase", "PendingApproval") == 0
    out = capsys.readouterr().out
    assert pending in out and "createIssue" in out
    assert run("intents", "list", "--db", str(db), "--json") == 0
    listed = json.loads(capsys.readouterr().out)
    assert {i["phase"] for i in listed} == {"PendingApproval", "Conflict"}

    assert run("intents", "approve", pending, "--actor", "user:lead", "--db", str(db)) == 0
    assert asyncio.run(_get(db, pending)) is W.READY_TO_SEND
    # Approving twice, or rejecting an approved-and-queued intent twice, is refused (1).
    assert run("intents", "approve", pending, "--actor", "user:lead", "--db", str(db)) == 1
    assert "cannot go from ReadyToSend" in capsys.readouterr().err
    assert run("intents", "reject", pending, "--reason", "changed mind", "--db", str(db)) == 0
    assert asyncio.run(_get(db, pending)) is W.REJECTED
    assert run("intents", "reject", "nope", "--reason", "x", "--db", str(db)) == 1


def test_usage_errors_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "s.db"
    _seed(db)
    with pytest.raises(SystemExit) as exc:
        run("intents", "approve", "x", "--db", str(db))  # --actor missing
    assert exc.value.code == 2
    assert run("intents", "approve", "x", "--actor", "a", "--send", "--db", str(db)) == 2
    assert run("intents", "list", "--phase", "Bogus", "--db", str(db)) == 2
    assert run("conflicts", "resolve", "x", "--resolution", "manual-merge", "--value", "t") == 2
    with pytest.raises(SystemExit):
        run("conflicts", "resolve", "x", "--resolution", "whatever")
    assert run("intents", "list", "--db", str(tmp_path / "missing.db")) == 1
    assert "no state store" in capsys.readouterr().err


def test_conflicts_list_and_resolve(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "s.db"
    _, stale, conflict_id = _seed(db)
    assert run("conflicts", "list", "--db", str(db)) == 0
    out = capsys.readouterr().out
    assert conflict_id in out and "precondition_failed" in out and "title" in out
    assert run("conflicts", "list", "--db", str(db), "--json", "--phase", "open") == 0
    [listed] = json.loads(capsys.readouterr().out)
    assert listed["intent_id"] == stale

    # A manual merge without values is refused; with values it re-queues the write.
    assert (
        run("conflicts", "resolve", conflict_id, "--resolution", "manual-merge", "--db", str(db))
        == 1
    )
    code = run(
        "conflicts",
        "resolve",
        conflict_id,
        "--resolution",
        "manual-merge",
        "--value",
        'title="Merged"',
        "--actor",
        "user:lead",
        "--db",
        str(db),
    )
    assert code == 0
    assert "resolved" in capsys.readouterr().out

    async def check() -> None:
        async with SqliteStateStore(db) as store:
            conflict = await store.conflicts.get(conflict_id)
            assert conflict.phase is ConflictPhase.RESOLVED
            intent = await store.intents.get(stale)
            assert intent.phase is W.READY_TO_SEND and intent.payload == {"title": "Merged"}

    asyncio.run(check())
    again = ("conflicts", "resolve", conflict_id, "--resolution", "prefer-external")
    assert run(*again, "--db", str(db)) == 1


BINDING_YAML = """
apiVersion: kradle.a5c.ai/v1alpha1
kind: ExternalBackendBinding
metadata: {name: widgets}
spec:
  target: {kind: Repository, name: widgets}
  providers:
    mem: {type: memory}
  interfaces:
    issueTracking:
      provider: mem
      mode: reviewed-write
      externalRef: {owner: acme, repository: widgets}
"""


def test_approve_and_send_now_through_the_binding(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "s.db"
    config = tmp_path / "binding.yaml"
    config.write_text(BINDING_YAML)
    pending, _, _ = _seed(db)
    code = run(
        "intents", "approve", pending, "--actor", "user:lead", "--db", str(db),
        "--config", str(config), "--send",
    )  # fmt: skip
    assert code == 0
    assert "sent" in capsys.readouterr().out
    assert asyncio.run(_get(db, pending)) is W.AWAITING_CONFIRMATION
