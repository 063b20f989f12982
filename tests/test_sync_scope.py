"""Binding scope (issue 13 item 2): changes outside a binding's target are never projected.

Deliveries come from the plugins' own emulators, signed and sent over HTTP to
the receiver: GitHub changes in ``acme/widgets`` (the binding's target), in
``acme/gadgets`` (same organization, other repository) and in
``globex/widgets`` (other organization, same repository name); Jira changes in
project ``WID`` and in another project. Every delivery is recorded and
answered 202; only the target's changes reach the projections.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest

from kradle_providers.models.base import ExternalRef
from kradle_providers.store import SqliteStateStore
from kradle_providers.sync.binding import parse_binding
from kradle_providers.sync.phases import DeliveryPhase
from kradle_providers.sync.reconciler import Reconciler
from kradle_providers.sync.runtime import BoundBinding, ProviderOverride
from kradle_providers.sync.scope import in_scope, outside_reason
from kradle_providers.webhooks.receiver import WebhookReceiver
from kradle_providers.webhooks.registry import NormalizerRegistry

gh_emulator = pytest.importorskip("kradle_provider_github.emulator")
jira_emulator = pytest.importorskip("kradle_provider_jira.emulator")

GH_TOKEN = "ghp_scopeTestToken0000000000000000000001"
SECRET = "scope-webhook-secret-0001"

BINDING = """\
apiVersion: kradle.a5c.ai/v1alpha1
kind: ExternalBackendBinding
metadata: {name: widgets}
spec:
  target: {kind: Repository, name: widgets}
  providers:
    gh: {type: github, apiBaseUrl: "https://api.github.test", auth: {token: {env: GH_TOKEN}},
         webhookSecret: {env: GH_WEBHOOK_SECRET}}
  interfaces:
    issueTracking: {provider: gh, mode: read-only, externalRef: {owner: acme, repository: widgets}}
    gitForge: {provider: gh, mode: read-only, externalRef: {owner: acme, repository: widgets}}
"""


def test_scope_compares_the_fields_both_sides_name_case_insensitively() -> None:
    widgets = ExternalRef(owner="acme", repository="widgets")
    assert in_scope(ExternalRef(owner="ACME", repository="Widgets"), widgets)
    assert in_scope(None, widgets)
    assert in_scope(ExternalRef(owner="acme", repository="gadgets"), ExternalRef(owner="acme"))
    why = outside_reason(ExternalRef(owner="acme", repository="gadgets"), widgets)
    assert why is not None and "acme/gadgets" in why and "acme/widgets" in why
    assert not in_scope(ExternalRef(owner="globex", repository="widgets"), widgets)
    # An organization-level change names no repository: not about this repository.
    assert not in_scope(ExternalRef(owner="acme"), widgets)
    assert not in_scope(ExternalRef(project="OTHER"), ExternalRef(project="WID"))
    assert in_scope(ExternalRef(project="wid"), ExternalRef(project="WID"))


@pytest.fixture
async def store() -> AsyncIterator[SqliteStateStore]:
    async with SqliteStateStore(":memory:") as s:
        yield s


async def projected(store: SqliteStateStore, kind: str) -> list[dict[str, Any]]:
    out = []
    async for p in store.projections.iter_projections(binding="widgets", kind=kind):
        assert p.object is not None
        out.append(p.object)
    return out


async def test_github_deliveries_of_other_repositories_are_recorded_never_projected(
    store: SqliteStateStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GH_TOKEN", GH_TOKEN)
    monkeypatch.setenv("GH_WEBHOOK_SECRET", SECRET)
    gh = gh_emulator.create_emulator(token=GH_TOKEN)
    binding = parse_binding(BINDING, environ={})
    async with await BoundBinding.open(
        binding, overrides={"gh": ProviderOverride(transport=gh.transport())}
    ) as bound:
        receiver = WebhookReceiver(
            bound.webhook_endpoints(),
            handle=Reconciler.for_binding(store, bound),
            registry=NormalizerRegistry.from_plugins(),
            store=store.deliveries,
            dedupe=store.dedupe,
        )
        gh.webhooks.subscribe("http://receiver.test/github/gh", SECRET, app=receiver.app)
        mut, state = gh.mutations, gh.state
        mut.create_user("globex", type="Organization")
        widgets = state.repo("acme", "widgets")
        gadgets = mut.create_repo("acme", "gadgets")
        foreign = mut.create_repo("globex", "widgets")
        for repo in (widgets, gadgets, foreign):
            mut.create_issue(repo["id"], f"Issue in {repo['full_name']}", user="octocat")
        sent = await gh.webhooks.flush()
        await receiver.drain()

    assert sent and all(d.last and d.last.status == 202 for d in sent)
    repos = {json.loads(d.body)["repository"]["full_name"] for d in sent}
    assert {"acme/widgets", "acme/gadgets", "globex/widgets"} <= repos
    records = await store.deliveries.list_by_phase(DeliveryPhase.SUCCEEDED)
    assert len(records) == len(sent)
    titles = [str(o.get("title")) for o in await projected(store, "Issue")]
    assert titles == ["Issue in acme/widgets"]


JIRA_BINDING = """\
apiVersion: kradle.a5c.ai/v1alpha1
kind: ExternalBackendBinding
metadata: {name: widgets}
spec:
  target: {kind: Repository, name: widgets}
  providers:
    jira: {type: jira, apiBaseUrl: "https://jira.test",
           auth: {basic: {username: ops@acme.test, password: {env: JIRA_TOKEN}}},
           webhookSecret: {env: JIRA_WEBHOOK_SECRET}}
  interfaces:
    issueTracking: {provider: jira, mode: read-only, externalRef: {project: WID}}
"""


async def test_jira_deliveries_of_other_projects_are_recorded_never_projected(
    store: SqliteStateStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("JIRA_TOKEN", "jira-scope-token-0001")
    monkeypatch.setenv("JIRA_WEBHOOK_SECRET", SECRET)
    jira = jira_emulator.create_emulator(token="jira-scope-token-0001")
    binding = parse_binding(JIRA_BINDING, environ={})
    async with await BoundBinding.open(
        binding, overrides={"jira": ProviderOverride(transport=jira.transport())}
    ) as bound:
        receiver = WebhookReceiver(
            bound.webhook_endpoints(),
            handle=Reconciler.for_binding(store, bound),
            registry=NormalizerRegistry.from_plugins(),
            store=store.deliveries,
            dedupe=store.dedupe,
        )
        jira.webhooks.subscribe("http://receiver.test/jira", SECRET, app=receiver.app)
        state = jira.state
        other = state.add_project("OPS", "Operations", state.projects["WID"].lead)
        for project in (state.projects["WID"], other):
            state.create_issue(project, summary=f"Issue in {project.key}", actor=project.lead)
        sent = await jira.webhooks.flush()
        await receiver.drain()

    assert len(sent) == 2 and all(d.last and d.last.status == 202 for d in sent)
    assert {json.loads(d.body)["issue"]["key"].split("-")[0] for d in sent} == {"WID", "OPS"}
    assert len(await store.deliveries.list_by_phase(DeliveryPhase.SUCCEEDED)) == 2
    titles = [str(o.get("title")) for o in await projected(store, "Issue")]
    assert titles == ["Issue in WID"]
