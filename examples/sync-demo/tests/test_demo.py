"""The demo module: the binding it ships, its options, and the in-memory tour.

The end-to-end run of the demo itself (emulators, backfill, webhooks, writes)
is in ``tests/test_e2e_sync.py``.
"""

from __future__ import annotations

import subprocess
import sys

import pytest
import yaml
from kradle_sync_demo import demo

from kradle_providers.sync.binding import BindingError, parse_binding

ISSUE_BINDING = """\
apiVersion: kradle.a5c.ai/v1alpha1
kind: ExternalBackendBinding
metadata: {name: widgets}
spec:
  target: {kind: Repository, name: widgets}
  providers:
    gh:   {type: github, apiBaseUrl: "${GH_API}", auth: {token: {env: GH_TOKEN}}, webhookSecret: {env: GH_WEBHOOK_SECRET}}
    jira: {type: jira, apiBaseUrl: "${JIRA_API}", auth: {basic: {username: {env: JIRA_USER}, password: {env: JIRA_TOKEN}}}, webhookSecret: {env: JIRA_WEBHOOK_SECRET}}
  interfaces:
    gitForge:      {provider: gh,   mode: bidirectional,  externalRef: {owner: acme, repository: widgets}}
    cicd:          {provider: gh,   mode: external-owned, externalRef: {owner: acme, repository: widgets}}
    issueTracking: {provider: jira, mode: reviewed-write, externalRef: {project: WID}}
"""  # noqa: E501 - verbatim from the issue

ENV = {
    "GH_API": "http://127.0.0.1:1",
    "GH_TOKEN": "gh-token-value",
    "GH_WEBHOOK_SECRET": "s",
    "JIRA_API": "http://127.0.0.1:2",
    "JIRA_USER": "u",
    "JIRA_TOKEN": "jira-token-value",
    "JIRA_WEBHOOK_SECRET": "jira-hook-secret",
}


def test_the_shipped_binding_is_the_issue_example_verbatim() -> None:
    assert demo.binding_text() == ISSUE_BINDING
    binding = parse_binding(demo.binding_text(), environ=ENV)
    assert binding.name == "widgets"
    modes = {i.value: binding.interface(i).mode.value for i in binding.interfaces}
    assert modes == {
        "gitForge": "bidirectional",
        "cicd": "external-owned",
        "issueTracking": "reviewed-write",
    }
    assert binding.provider("gh").api_base_url == ENV["GH_API"]
    # The document keeps references, never the values.
    document = yaml.safe_dump(binding.to_document())
    assert "GH_TOKEN" in document and "JIRA_TOKEN" in document
    assert "gh-token-value" not in document and "jira-token-value" not in document


def test_the_binding_needs_its_environment() -> None:
    with pytest.raises(BindingError, match="GH_API"):
        parse_binding(demo.binding_text(), environ={})


def test_help_lists_the_options(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        demo.main(["--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    assert "--db" in out and "--tour" in out


def test_tour_exits_zero_with_key_lines(capsys: pytest.CaptureFixture[str]) -> None:
    assert demo.main(["--tour"]) == 0
    out = capsys.readouterr().out
    for expected in (
        "Installed providers",
        "memory",
        "In-memory test double",
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


def test_tour_runs_as_a_module() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "kradle_sync_demo", "--tour"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert "Normalize the provider's change events" in done.stdout
