"""``sync check`` (issue 13 item 4): provider phases with reasons a person can act on.

The GitHub and Jira emulators are served on loopback ports, so the checks
talk real HTTP: good credentials are Ready (with who they are and the
budget), a wrong token is Failed "refused (401)", an address nobody answers
is Failed "cannot connect", a classic token without ``repo`` is Degraded with
the missing scopes and the operations that need them. ``sync status`` shows
the phases recorded by ``sync check --db``.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kradle_providers.store import SqliteStateStore
from kradle_providers.sync import cli
from kradle_providers.sync.binding import parse_binding
from kradle_providers.sync.check import check_binding
from kradle_providers.sync.phases import ProviderPhase
from kradle_providers.sync.runtime import BoundBinding
from kradle_providers.testing.emulator.server import LoopbackServer

gh_emulator = pytest.importorskip("kradle_provider_github.emulator")
jira_emulator = pytest.importorskip("kradle_provider_jira.emulator")

GH_TOKEN = "ghp_checkTestToken0000000000000000000001"
JIRA_TOKEN = "jira-check-token-0001"
BINDING = """\
apiVersion: kradle.a5c.ai/v1alpha1
kind: ExternalBackendBinding
metadata: {name: widgets}
spec:
  target: {kind: Repository, name: widgets}
  providers:
    gh: {type: github, apiBaseUrl: "${GH_API}", auth: {token: {env: GH_TOKEN}}}
    jira: {type: jira, apiBaseUrl: "${JIRA_API}",
           auth: {basic: {username: ops@acme.test, password: {env: JIRA_TOKEN}}}}
  interfaces:
    gitForge: {provider: gh, mode: bidirectional, externalRef: {owner: acme, repository: widgets}}
    issueTracking: {provider: jira, mode: reviewed-write, externalRef: {project: WID}}
"""


@pytest.fixture(scope="module")
def apis() -> Iterator[tuple[Any, str, str]]:
    gh = gh_emulator.create_emulator(seed="demo", token=GH_TOKEN)
    jira = jira_emulator.create_emulator(seed="demo", token=JIRA_TOKEN)
    with LoopbackServer(gh.app) as g, LoopbackServer(jira.app) as j:
        yield gh, g.url, j.url


def dead_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}"  # closed again: nobody answers


def env(
    monkeypatch: pytest.MonkeyPatch, gh_api: str, jira_api: str, *, gh_token: str = GH_TOKEN
) -> dict[str, str]:
    values = {
        "GH_API": gh_api,
        "JIRA_API": jira_api,
        "GH_TOKEN": gh_token,
        "JIRA_TOKEN": JIRA_TOKEN,
    }
    for k, v in values.items():
        monkeypatch.setenv(k, v)
    return values


async def check(values: dict[str, str], store: SqliteStateStore | None = None) -> Any:
    async with await BoundBinding.open(parse_binding(BINDING, environ=values)) as bound:
        return await check_binding(bound, store=store)


async def test_good_credentials_are_ready_with_identity_and_budget(
    apis: tuple[Any, str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    _, gh_api, jira_api = apis
    result = await check(env(monkeypatch, gh_api, jira_api))
    assert result.ok and result.problems == []
    gh, jira = result.providers
    assert gh.phase is ProviderPhase.READY and jira.phase is ProviderPhase.READY
    assert gh.history == ["Pending", "Authenticating", "Discovering", "Ready"]
    assert gh.identity and gh.budget["limit"] == 5000 and gh.budget["remaining"] > 0
    assert jira.identity
    assert [t.ok for t in result.targets] == [True, True]


async def test_wrong_token_fails_with_the_refusal(
    apis: tuple[Any, str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    _, gh_api, jira_api = apis
    canary = "ghp_wrongCanaryToken00000000000000000009"
    result = await check(env(monkeypatch, gh_api, jira_api, gh_token=canary))
    gh = result.providers[0]
    assert gh.phase is ProviderPhase.FAILED
    assert gh.history == ["Pending", "Authenticating", "Failed"]
    assert gh.reason is not None and "refused (401)" in gh.reason and gh_api in gh.reason
    assert not result.ok and result.targets[0].reason == "not checked: provider gh failed"
    assert canary not in json.dumps(result.to_dict())
    assert result.providers[1].phase is ProviderPhase.READY  # Jira unaffected


async def test_dead_address_fails_with_cannot_connect(
    apis: tuple[Any, str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    _, gh_api, _ = apis
    dead = dead_url()
    result = await check(env(monkeypatch, gh_api, dead))
    jira = result.providers[1]
    assert jira.phase is ProviderPhase.FAILED
    assert jira.reason is not None and jira.reason.startswith(f"cannot connect to {dead}")


async def test_classic_token_without_repo_scope_is_degraded_naming_what_it_lacks(
    apis: tuple[Any, str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    gh_em, gh_api, jira_api = apis
    gh_em.token_scopes = "read:org, gist"
    try:
        result = await check(env(monkeypatch, gh_api, jira_api))
    finally:
        gh_em.token_scopes = None
    gh = result.providers[0]
    assert gh.phase is ProviderPhase.DEGRADED and result.ok  # it works, partly
    assert gh.scopes == ["read:org", "gist"]
    assert "pull_requests:write" in gh.missing_scopes
    assert "createPullRequest" in gh.missing_scopes["pull_requests:write"]
    assert gh.reason is not None and "lacks pull_requests:write" in gh.reason
    gh_em.token_scopes = "repo"
    try:
        result = await check(env(monkeypatch, gh_api, jira_api))
    finally:
        gh_em.token_scopes = None
    assert result.providers[0].phase is ProviderPhase.READY


def test_cli_check_exit_codes_and_status_shows_the_phases(
    apis: tuple[Any, str, str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _, gh_api, jira_api = apis
    config = tmp_path / "b.yaml"
    config.write_text(BINDING)
    db = tmp_path / "s.db"
    env(monkeypatch, gh_api, jira_api)
    assert cli.main(["sync", "check", "--config", str(config), "--db", str(db)]) == 0
    out = capsys.readouterr().out
    assert "provider gh (github/gh) Ready as" in out and "target gitForge acme/widgets: ok" in out
    env(monkeypatch, gh_api, jira_api, gh_token="ghp_wrongCanaryToken00000000000000000009")
    assert cli.main(["sync", "check", "--config", str(config), "--db", str(db)]) == 1
    out = capsys.readouterr().out
    assert "provider gh (github/gh) Failed" in out and "refused (401)" in out
    assert cli.main(["sync", "status", "--db", str(db), "--json"]) == 0
    phases = json.loads(capsys.readouterr().out)["phases"]["widgets"]["provider"]
    assert phases["gh"]["phase"] == "Failed" and phases["jira"]["phase"] == "Ready"
    assert cli.main(["sync", "status", "--db", str(db)]) == 0
    assert "provider widgets/gh Failed: the credential was refused" in capsys.readouterr().out
