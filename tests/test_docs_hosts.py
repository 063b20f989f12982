"""docs/hosts.md stays true: its python snippets run, in order, as one async session."""

from __future__ import annotations

import ast
import contextlib
import io
import re
from pathlib import Path
from typing import Any

import pytest

DOC = Path(__file__).resolve().parents[1] / "docs" / "hosts.md"
FENCE = re.compile(r"^```python\n(.*?)^```", re.S | re.M)


def snippets() -> list[str]:
    return FENCE.findall(DOC.read_text(encoding="utf-8"))


def test_the_guide_has_runnable_snippets() -> None:
    assert len(snippets()) >= 8


async def test_the_snippets_run_in_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, Any] = {"__name__": "hosts_md"}
    out = io.StringIO()
    for number, source in enumerate(snippets(), 1):
        code = compile(
            source, f"{DOC.name}#snippet-{number}", "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT
        )
        with contextlib.redirect_stdout(out):
            result = eval(code, namespace)  # our own documentation, run on purpose
            if result is not None:
                await result
    printed = out.getvalue()
    # What the guide says the snippets print.
    for expected in (
        "202 202 401",
        "PendingApproval",
        "AwaitingConfirmation",
        "Succeeded True",
        "Conflict",
        "Resolved ReadyToSend",
        "Add sprockets and gears (v2)",
    ):
        assert expected in printed, (expected, printed)
    assert namespace["report"]["conflicts"] == {"Resolved": 1}
