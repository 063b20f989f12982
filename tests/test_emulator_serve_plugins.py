"""``kradle-providers emulator serve NAME`` works for every installed plugin that ships one.

Each provider's emulator is started as its own process by the real CLI, answers
an authenticated request over HTTP, and stops cleanly on SIGTERM. A factory
with the wrong signature is refused with the fix instead of a traceback.
"""

from __future__ import annotations

import argparse
import signal
import subprocess
import sys

import httpx
import pytest

from kradle_providers.plugins.registry import load_registry
from kradle_providers.testing.emulator import cli as emulator_cli

TOKEN = "kradle-serve-token-0001"


def _with_emulators() -> list[str]:
    registry = load_registry()
    return [name for name in registry.names() if registry.emulator_factory(name) is not None]


@pytest.mark.parametrize("provider", _with_emulators())
def test_emulator_serve_starts_answers_and_stops(provider: str) -> None:
    argv = ["emulator", "serve", provider, "--token", TOKEN]
    proc = subprocess.Popen(
        [sys.executable, "-m", "kradle_providers", *argv],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None and proc.stderr is not None
        first = proc.stdout.readline().strip()
        assert first.startswith(f"Serving {provider} emulator at http://127.0.0.1:"), (
            first or proc.stderr.read()
        )
        url = first.rsplit(" ", 1)[1]
        response = httpx.get(f"{url}/", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10)
        assert response.status_code < 500, response.text
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=20) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_the_repository_plugins_all_ship_a_servable_emulator() -> None:
    # memory is in-process; every HTTP plugin in this repository has an emulator
    assert {"github", "gitlab", "jira", "buildkite", "acme"} <= set(_with_emulators())


class _EmulatorClass:
    def __init__(self, port: int = 0) -> None:
        self.port = port


def test_a_factory_with_the_wrong_signature_is_refused_with_the_fix(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(emulator_cli, "load_emulator_factory", lambda provider: _EmulatorClass)
    parser = argparse.ArgumentParser()
    emulator_cli.register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["emulator", "serve", "toy", "--seed", "demo"])
    assert args.handler(args) == emulator_cli.EXIT_USAGE
    err = capsys.readouterr().err
    assert "cannot be called as emulator serve calls it" in err
    assert "unexpected keyword argument 'seed'" in err
    assert "How to fix: point ProviderPlugin.emulator at a function" in err


def test_serve_admin_reports_requests_and_budget_to_another_process() -> None:
    argv = ["emulator", "serve", "github", "--seed", "demo", "--token", TOKEN, "--admin"]
    proc = subprocess.Popen(
        [sys.executable, "-m", "kradle_providers", *argv],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip().rsplit(" ", 1)[1]
        auth = {"Authorization": f"Bearer {TOKEN}"}
        assert httpx.get(f"{url}/_emulator/info", timeout=10).json()["provider"] == "github"
        first = httpx.get(f"{url}/repos/acme/widgets", headers=auth, timeout=10)
        assert first.status_code == 200
        tag = first.headers["etag"]
        again = httpx.get(
            f"{url}/repos/acme/widgets", headers={**auth, "If-None-Match": tag}, timeout=10
        )
        assert again.status_code == 304
        log = httpx.get(f"{url}/_emulator/requests", timeout=10).json()
        assert log["count"] == 2 and log["not_modified"] == 1
        assert log["by_operation"] == {"getRepository": 2}
        assert sum(log["budget_used"].values()) == 1  # GitHub does not bill a 304
        assert TOKEN not in str(log)
        assert httpx.delete(f"{url}/_emulator/requests", timeout=10).status_code == 204
        assert httpx.get(f"{url}/_emulator/requests", timeout=10).json()["count"] == 0
        assert httpx.post(f"{url}/_emulator/requests", timeout=10).status_code == 405
    finally:
        proc.send_signal(signal.SIGTERM)
        if proc.wait(timeout=20) is None:  # pragma: no cover
            proc.kill()


def test_without_admin_the_emulator_has_no_admin_routes() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "kradle_providers", "emulator", "serve", "github"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip().rsplit(" ", 1)[1]
        assert httpx.get(f"{url}/_emulator/requests", timeout=10).status_code != 200
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=20)
