"""The `plugins`, `explain` and `matrix` commands, and the checked-in capability matrix."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from kradle_providers.plugins import cli
from kradle_providers.plugins.matrix import MATRIX_COMMAND, NO, YES
from kradle_providers.plugins.registry import ONLY_ENV, reset_default_registry

FIXTURES = Path(__file__).parent / "plugin_fixtures"
DOC = Path(__file__).resolve().parents[1] / "docs" / "capability-matrix.md"


def run(*argv: str) -> int:
    parser = argparse.ArgumentParser(prog="kradle-providers")
    sub = parser.add_subparsers(dest="command", required=True)
    cli.register(sub)
    args = parser.parse_args(argv)
    code: int = args.handler(args)
    return code


@pytest.fixture
def fixture_plugins(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.syspath_prepend(str(FIXTURES))
    monkeypatch.setenv(ONLY_ENV, "fixture-good,fixture-partial,fixture-broken")
    reset_default_registry()
    yield
    reset_default_registry()


@pytest.mark.usefixtures("fixture_plugins")
def test_plugins_lists_providers_and_load_errors_and_exits_zero(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert run("plugins") == 0
    out = capsys.readouterr().out
    assert "fixture-good (Fixture Good) 0.1.0, kradle-fixture-plugins" in out
    assert "  issueTracking: 3 operation(s)" in out
    assert "  cicd: 3 operation(s)" in out
    assert "  gitForge: 2 operation(s)" in out  # fixture-partial
    assert "1 plugin load error(s):" in out
    assert "'fixture-broken'" in out and "exploded on import" in out


@pytest.mark.usefixtures("fixture_plugins")
def test_plugins_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert run("plugins", "--json") == 0
    data = json.loads(capsys.readouterr().out)
    good = next(p for p in data["plugins"] if p["name"] == "fixture-good")
    assert good["operation_counts"] == {"issueTracking": 3, "cicd": 3, "gitForge": 0}
    assert good["version"] == "0.1.0"
    assert [e["entry_point"] for e in data["errors"]] == ["fixture-broken"]


@pytest.mark.usefixtures("fixture_plugins")
def test_explain_supported_operation_shows_everything_the_manifest_says(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert run("explain", "fixture-good", "createIssue") == 0
    out = capsys.readouterr().out
    for expected in (
        "fixture-good createIssue (issueTracking, write): supported",
        "native name: postIssue",
        "requires permissions: issueTracking.issues.write",
        "requires auth modes: token",
        "requires native scopes: repo",
        "idempotency: synthetic-key",
        "rate-limit cost: 2",
        "confirming webhooks: issue.created",
    ):
        assert expected in out


@pytest.mark.usefixtures("fixture_plugins")
def test_explain_accepts_snake_case_and_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert run("explain", "fixture-good", "list_issues", "--json") == 0
    data = json.loads(capsys.readouterr().out)
    assert data["operation"] == "listIssues" and data["supported"] is True


@pytest.mark.usefixtures("fixture_plugins")
def test_explain_unsupported_operation_says_why_and_exits_one(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert run("explain", "fixture-good", "closeIssue") == 1
    out = capsys.readouterr().out
    assert "NOT SUPPORTED" in out and "the fixture API cannot close issues" in out
    assert run("explain", "fixture-good", "mergePullRequest") == 1
    assert "the fixture service hosts no repositories" in capsys.readouterr().out


@pytest.mark.usefixtures("fixture_plugins")
def test_explain_unknown_operation_suggests_the_nearest_and_exits_two(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert run("explain", "fixture-good", "listPullRequest") == 2
    err = capsys.readouterr().err
    assert "did you mean listPullRequests" in err


@pytest.mark.usefixtures("fixture_plugins")
def test_explain_unknown_provider_lists_installed_and_exits_two(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert run("explain", "gitlab", "listIssues") == 2
    err = capsys.readouterr().err
    assert "no provider named 'gitlab'" in err and "fixture-good, fixture-partial" in err


@pytest.mark.usefixtures("fixture_plugins")
def test_matrix_markdown_cells_and_write(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run("matrix", "--format", "markdown") == 0
    captured = capsys.readouterr()
    out = captured.out
    assert "| operation | fixture-good | fixture-partial |" in out
    assert f"| `createIssue` | {YES} `postIssue` | {NO} |" in out
    assert f"| `closeIssue` | {NO} | {NO} |" in out
    assert f"| `listPullRequests` | {NO} | {YES} |" in out
    assert f"| *interface* | {NO} | {YES} |" in out  # gitForge section
    assert "exploded on import" in captured.err  # load errors go to stderr, not the doc

    target = tmp_path / "matrix.md"
    assert run("matrix", "--format", "markdown", "--write", str(target)) == 0
    assert target.read_text() == out


@pytest.mark.usefixtures("fixture_plugins")
def test_matrix_text_and_html(capsys: pytest.CaptureFixture[str]) -> None:
    assert run("matrix") == 0
    text = capsys.readouterr().out
    assert "[Issue tracking]" in text and "createIssue" in text and f"{YES} postIssue" in text
    assert run("matrix", "--format", "html") == 0
    page = capsys.readouterr().out
    assert '<td class="no" title="the fixture API cannot close issues">' in page
    assert "<th>fixture-partial</th>" in page


# The project's own providers: the checked-in matrix leaves out examples and third parties.
DOC_PROVIDERS = "memory,github,jira"
REGENERATE = (
    f"KRADLE_PROVIDERS_ONLY={DOC_PROVIDERS} {MATRIX_COMMAND} --write docs/capability-matrix.md"
)


def test_checked_in_capability_matrix_is_current(monkeypatch: pytest.MonkeyPatch) -> None:
    """Regenerated from the project's own plugins; fails when docs/capability-matrix.md is stale."""
    monkeypatch.setenv(ONLY_ENV, DOC_PROVIDERS)
    reset_default_registry()
    try:
        expected, _ = cli.render_matrix("markdown")
    finally:
        reset_default_registry()
    assert DOC.read_text(encoding="utf-8") == expected, f"stale: run `{REGENERATE}`"
