"""End to end (issue 13, done-when): ``emulator serve`` + ``sync check`` + ``sync serve``.

Every part is its own process, talking real HTTP: the GitHub emulator from
``kradle-providers emulator serve``, ``sync check`` (Ready), ``sync serve``
which registers its webhook through the emulator's hooks API, backfills, and
then receives the emulator's signed delivery of an issue created through the
REST API; ``sync status`` shows the binding Ready and the new issue.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

pytest.importorskip("kradle_provider_github.emulator")

# The same one-repository binding the replica soak serves.
from tests.serve_replicas import BINDING

TOKEN = "ghp_e2eServeToken00000000000000000000001"


def _start(argv: list[str], env: dict[str, str], pattern: str) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "kradle_providers", *argv],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        match = re.search(pattern, line)
        if match:
            return proc, match.group(1)
    proc.kill()
    raise AssertionError(f"{argv[0]} did not start: {proc.stderr.read() if proc.stderr else ''}")


def _stop(proc: subprocess.Popen[str]) -> int:
    proc.send_signal(signal.SIGTERM)
    try:
        return proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        return proc.wait()


@pytest.fixture
def emulator(tmp_path: Path) -> Iterator[str]:
    argv = ["emulator", "serve", "github", "--port", "0", "--seed", "demo", "--token", TOKEN]
    proc, url = _start(argv, dict(os.environ), r"at (http://\S+)")
    try:
        yield url
    finally:
        _stop(proc)


def _status(env: dict[str, str], db: Path) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-m", "kradle_providers", "sync", "status", "--db", str(db), "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    report: dict[str, Any] = json.loads(done.stdout)
    return report


def _wait(predicate: Any, what: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def test_sync_serve_registers_receives_and_projects_the_emulators_deliveries(
    emulator: str, tmp_path: Path
) -> None:
    config, db = tmp_path / "widgets.yaml", tmp_path / "state.db"
    config.write_text(BINDING)
    env = {
        **os.environ,
        "GH_API": emulator,
        "GH_TOKEN": TOKEN,
        "GH_WEBHOOK_SECRET": "e2e-serve-secret-0001",
    }
    check = subprocess.run(
        [sys.executable, "-m", "kradle_providers", "sync", "check", "--config", str(config)],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert check.returncode == 0, check.stdout + check.stderr
    assert "Ready" in check.stdout

    argv = ["sync", "serve", "--config", str(config), "--db", str(db), "--port", "0"]
    serve, hook_url = _start([*argv, "--backfill-interval", "0"], env, r"POST (http://\S+)")
    try:
        _wait(
            lambda: (
                _status(env, db)["phases"]
                .get("widgets", {})
                .get("binding", {})
                .get("widgets", {})
                .get("phase")
                == "Ready"
            ),
            "the binding to be Ready",
        )
        api = httpx.Client(base_url=emulator, headers={"Authorization": f"token {TOKEN}"})
        hooks = api.get("/repos/acme/widgets/hooks").json()
        assert [h["config"]["url"] for h in hooks] == [hook_url]
        assert "issues" in hooks[0]["events"] and hooks[0]["config"]["secret"] == "********"
        before = _status(env, db)["objects"]["issueTracking/Issue"]
        created = api.post("/repos/acme/widgets/issues", json={"title": "Hello from e2e"})
        assert created.status_code == 201
        _wait(
            lambda: _status(env, db)["objects"]["issueTracking/Issue"] == before + 1,
            "the webhook's issue to be projected",
        )
        assert _status(env, db)["deliveries"].get("Succeeded", 0) >= 1
    finally:
        code = _stop(serve)
    assert code == 0
