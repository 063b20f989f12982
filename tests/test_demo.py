"""The demo walk-through runs end to end on the memory provider."""

from __future__ import annotations

import subprocess
import sys

import pytest

from kradle_providers import demo


def test_demo_main_exits_zero_with_key_lines(capsys: pytest.CaptureFixture[str]) -> None:
    assert demo.main([]) == 0
    out = capsys.readouterr().out
    for expected in (
        "Installed providers",
        "memory",
        "In-memory reference provider",
        "retry with key demo-1 returned #5 again (no duplicate: True)",
        "page 1: #1 Widgets wobble, #2 Add sprockets",
        "changed since mark: #6 'Spring too stiff (reproduced)'",
        "changed nothing: True",
        "same plan as the dry run: True",
        "second run is a no-op: True",
        "NOT SUPPORTED",
        "requests that reached the provider: 0",
        "ping -> ignored; a malformed issue payload -> malformed",
    ):
        assert expected in out, expected
    assert "\x1b[" not in out  # plain output when not a terminal
    assert demo.DEMO_TOKEN not in out


def test_demo_runs_as_a_module() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "kradle_providers.demo"], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert "Normalize the provider's change events" in done.stdout
