"""The emulator on a real loopback port, and the `emulator serve` command."""

from __future__ import annotations

import argparse
import os
import select
import signal
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import httpx
import pytest
from test_emulator_toy import AUTH, WidgetEmulator

from kradle_providers.testing.emulator import FaultKind, LoopbackServer
from kradle_providers.testing.emulator import cli as emulator_cli

TESTS_DIR = Path(__file__).parent
SRC_DIR = TESTS_DIR.parent / "src"


async def test_loopback_serves_the_same_app_and_state() -> None:
    app = WidgetEmulator()
    async with app.client(headers=AUTH) as local:
        await local.post("/widgets", json={"name": "made-in-process"})
    async with app.serve() as server:
        assert server.url.startswith("http://127.0.0.1:")
        assert server.port > 0
        async with httpx.AsyncClient(base_url=server.url, headers=AUTH) as remote:
            listed = await remote.get("/widgets")
            created = await remote.post("/widgets", json={"name": "made-over-tcp"})
            missing = await remote.get("/nowhere")
    assert [w["name"] for w in listed.json()] == ["made-in-process"]
    assert created.status_code == 201
    assert missing.status_code == 404
    assert [w["name"] for w in app.widgets.all()] == ["made-in-process", "made-over-tcp"]
    assert len(app.unmatched) == 1


async def test_loopback_faults_dropped_timeout_truncated() -> None:
    app = WidgetEmulator()
    app.faults.add(kind=FaultKind.DROPPED, match="POST /widgets")
    app.faults.add(kind=FaultKind.TIMEOUT, match="GET /widgets", delay=30.0)
    app.faults.add(kind=FaultKind.TRUNCATED, match="GET /widgets/1")
    async with (
        LoopbackServer(app) as server,
        httpx.AsyncClient(base_url=server.url, headers=AUTH, timeout=0.5) as client,
    ):
        with pytest.raises(httpx.RemoteProtocolError):
            await client.post("/widgets", json={"name": "lost-response"})
        with pytest.raises(httpx.ReadTimeout):
            await client.get("/widgets")
        truncated = await client.get("/widgets/1")
        listed = await client.get("/widgets")
    assert [w["name"] for w in listed.json()] == ["lost-response"]
    assert truncated.status_code == 200
    assert len(truncated.content) == int(truncated.headers["content-length"])
    assert truncated.content != listed.content


def test_background_thread_server_starts_and_stops() -> None:
    app = WidgetEmulator()
    app.widgets.insert({"name": "threaded"})
    with LoopbackServer(app) as server:
        response = httpx.get(f"{server.url}/widgets", headers=AUTH, timeout=5)
        assert server.started
    assert response.json()[0]["name"] == "threaded"
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{server.url}/widgets", timeout=2)


def _parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="command", required=True)
    emulator_cli.register(sub)
    return parser.parse_args(argv)


def test_cli_provider_without_emulator_exits_2(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(emulator_cli, "load_emulator_factory", lambda provider: None)
    args = _parse(["emulator", "serve", "toy"])
    assert args.handler(args) == 2
    assert "ships no emulator" in capsys.readouterr().err


def test_cli_unknown_provider_and_bad_option_exit_2(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from kradle_providers.errors import NotFound

    def unknown(provider: str) -> Any:
        raise NotFound(f"no provider named {provider!r} is installed (installed: github)")

    monkeypatch.setattr(emulator_cli, "load_emulator_factory", unknown)
    args = _parse(["emulator", "serve", "nope"])
    assert args.handler(args) == 2
    assert "no provider named 'nope'" in capsys.readouterr().err
    args = _parse(["emulator", "serve", "toy", "--option", "novalue"])
    assert args.handler(args) == 2
    assert "KEY=VALUE" in capsys.readouterr().err


def test_cli_with_real_registry_reports_unknown_provider(
    capsys: pytest.CaptureFixture[str],
) -> None:
    pytest.importorskip("kradle_providers.plugins.registry")
    args = _parse(["emulator", "serve", "no-such-provider-xyz"])
    assert args.handler(args) == 2
    assert "no-such-provider-xyz" in capsys.readouterr().err


SERVE_SCRIPT = textwrap.dedent(
    """
    import argparse, sys
    sys.path.insert(0, {tests!r})
    from test_emulator_toy import WidgetEmulator
    from kradle_providers.testing.emulator import cli

    def factory(*, seed, token, flavor, options):
        app = WidgetEmulator()
        app.widgets.insert({{"name": f"{{seed}}/{{token}}/{{flavor}}/{{options}}"}})
        return app

    cli.load_emulator_factory = lambda provider: factory
    parser = argparse.ArgumentParser()
    cli.register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(sys.argv[1:])
    sys.exit(args.handler(args))
    """
)


def test_cli_serve_prints_url_serves_and_stops_on_sigterm() -> None:
    script = SERVE_SCRIPT.format(tests=str(TESTS_DIR))
    env = {**os.environ, "PYTHONPATH": str(SRC_DIR)}
    argv = [
        *("emulator", "serve", "toy", "--seed", "demo", "--token", "t0k"),
        *("--flavor", "cloud", "--option", "k=v", "--latency-ms", "1"),
    ]
    proc = subprocess.Popen(
        [sys.executable, "-c", script, *argv],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert proc.stdout is not None
        ready, _, _ = select.select([proc.stdout], [], [], 30)
        assert ready, "the CLI printed nothing within 30 s"
        first = proc.stdout.readline().strip()
        assert first.startswith("Serving toy emulator at http://127.0.0.1:")
        url = first.rsplit(" ", 1)[1]
        listed = httpx.get(f"{url}/widgets", headers=AUTH, timeout=10).json()
        assert listed[0]["name"] == "demo/t0k/cloud/{'k': 'v'}"
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=20) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
