"""Bindings: the YAML form, env substitution, validation against manifests, opening."""

from __future__ import annotations

from pathlib import Path

import pytest

from kradle_providers.auth import MappingResolver, Secret, SecretNotFound, SecretRef
from kradle_providers.auth.forms import BasicCredentials
from kradle_providers.models.base import ExternalRef, Interface
from kradle_providers.plugins.registry import load_registry
from kradle_providers.plugins.selection import BindingMode, BindingRefused
from kradle_providers.sync.binding import (
    Binding,
    BindingError,
    BindingMetadata,
    BindingSpec,
    BindingTarget,
    InterfaceSpec,
    ProviderInstanceSpec,
    TombstonePolicy,
    load_binding,
    parse_binding,
    substitute_env,
)
from kradle_providers.sync.runtime import BoundBinding, default_kinds
from kradle_providers.testing.memory_backend import MemoryBackend

EXAMPLE = """\
apiVersion: kradle.a5c.ai/v1alpha1
kind: ExternalBackendBinding
metadata: {name: widgets}
spec:
  target: {kind: Repository, name: widgets}
  providers:
    gh:   {type: github, apiBaseUrl: "${GH_API}", auth: {token: {env: GH_TOKEN}}, webhookSecret: {env: GH_WEBHOOK_SECRET}}
    jira: {type: jira, apiBaseUrl: "${JIRA_API}", auth: {basic: {username: {env: JIRA_USER}, password: {env: JIRA_TOKEN}}}}
  interfaces:
    gitForge:      {provider: gh,   mode: bidirectional,  externalRef: {owner: acme, repository: widgets}}
    cicd:          {provider: gh,   mode: external-owned, externalRef: {owner: acme, repository: widgets}}
    issueTracking: {provider: jira, mode: reviewed-write, externalRef: {project: WID}}
"""  # noqa: E501

ENV = {
    "GH_API": "http://127.0.0.1:9001",
    "JIRA_API": "http://127.0.0.1:9002",
    "GH_TOKEN": "ghp-test-token-value",
    "GH_WEBHOOK_SECRET": "gh-hook-secret",
    "JIRA_USER": "dev@example.com",
    "JIRA_TOKEN": "jira-api-token-value",
}

MEMORY = """\
apiVersion: kradle.a5c.ai/v1alpha1
kind: ExternalBackendBinding
metadata: {name: mem}
spec:
  target: {kind: Repository, name: widgets}
  providers:
    m: {type: memory, auth: {token: {env: MEM_TOKEN}}, webhookSecret: {env: MEM_HOOK}}
  interfaces:
    issueTracking: {provider: m, mode: read-only, externalRef: {owner: acme, repository: widgets}}
    gitForge: {provider: m, mode: read-only, externalRef: {owner: acme, repository: widgets}}
"""


def test_example_parses_as_written_with_env_values() -> None:
    binding = parse_binding(EXAMPLE, environ=ENV)
    assert binding.name == "widgets"
    assert binding.interfaces == [Interface.GIT_FORGE, Interface.CICD, Interface.ISSUE_TRACKING]
    gh = binding.provider("gh")
    assert gh.api_base_url == "http://127.0.0.1:9001"
    assert gh.auth == {"token": SecretRef.env("GH_TOKEN")}
    assert gh.webhook_secret == SecretRef.env("GH_WEBHOOK_SECRET")
    jira = binding.provider("jira")
    assert jira.auth is not None and isinstance(jira.auth["basic"], BasicCredentials)
    assert jira.auth["basic"].username == SecretRef.env("JIRA_USER")
    assert binding.interface("cicd").mode is BindingMode.EXTERNAL_OWNED
    assert binding.interface("issueTracking").external_ref == ExternalRef(project="WID")
    assert binding.instance_name("gh") == "gh"  # instance defaults to the alias
    assert binding.interface("gitForge").tombstones is TombstonePolicy.KEEP
    # No secret value is in the model: only references.
    assert "ghp-test-token-value" not in repr(binding)


def test_example_validates_against_installed_github_and_jira() -> None:
    registry = load_registry()
    if not {"github", "jira"} <= set(registry.names()):
        pytest.skip("github and jira plugins are not installed")
    validated = parse_binding(EXAMPLE, environ=ENV).validate_against(registry)
    assert set(validated.selections) == set(Interface)
    assert "PullRequest" in validated.kinds[Interface.GIT_FORGE]
    assert "Review" in validated.kinds[Interface.GIT_FORGE]
    assert "Pipeline" in validated.kinds[Interface.CICD]
    assert "Issue" in validated.kinds[Interface.ISSUE_TRACKING]
    assert "Transition" not in validated.kinds[Interface.ISSUE_TRACKING]


def test_unset_variable_is_named_with_its_path() -> None:
    env = {k: v for k, v in ENV.items() if k != "JIRA_API"}
    with pytest.raises(BindingError, match=r"spec\.providers\.jira\.apiBaseUrl.*JIRA_API"):
        parse_binding(EXAMPLE, environ=env, source="b.yaml")


def test_dollar_escape_and_nesting() -> None:
    data = {"a": ["x${A}y", "$${A}", {"b": "${B}-${A}"}], "n": 3}
    assert substitute_env(data, {"A": "1", "B": "2"}) == {
        "a": ["x1y", "${A}", {"b": "2-1"}],
        "n": 3,
    }
    with pytest.raises(BindingError, match="not a variable name"):
        substitute_env("${not valid}", {})


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda t: t.replace("kind: ExternalBackendBinding", "kind: Other"), "kind"),
        (lambda t: t.replace("provider: jira,", "provider: nope,"), "not a provider alias"),
        (lambda t: t.replace("reviewed-write", "sometimes"), "mode"),
        (lambda t: t.replace("{name: widgets}\n", "{name: 'bad name'}\n", 1), "metadata.name"),
        (lambda t: "- not a mapping\n", "mapping"),
    ],
)
def test_invalid_documents_explain(mutate: object, message: str) -> None:
    text = mutate(EXAMPLE)  # type: ignore[operator]
    with pytest.raises(BindingError, match=message):
        parse_binding(text, environ=ENV)


def test_refused_mode_names_missing_operations() -> None:
    registry = load_registry()
    if "jira" not in registry.names():
        pytest.skip("jira plugin is not installed")
    text = EXAMPLE.replace(
        "cicd:          {provider: gh,", "cicd:          {provider: jira,"
    ).replace(
        "external-owned, externalRef: {owner: acme, repository: widgets}",
        "read-only, externalRef: {project: WID}",
    )
    with pytest.raises(BindingRefused) as info:
        parse_binding(text, environ=ENV).validate_against(registry)
    assert "jira.listPipelines" in info.value.missing
    assert "cicd" in str(info.value)


def test_cross_org_refused_unless_allowed() -> None:
    text = MEMORY.replace(
        "gitForge: {provider: m, mode: read-only, externalRef: {owner: acme,",
        "gitForge: {provider: m, mode: read-only, externalRef: {owner: other,",
    )
    with pytest.raises(BindingRefused, match="cross-org"):
        parse_binding(text, environ={}).validate_against(load_registry())
    allowed = text.replace("spec:\n", "spec:\n  allowCrossOrg: true\n")
    parse_binding(allowed, environ={}).validate_against(load_registry())


def test_unknown_provider_type_and_unlistable_kind_refused() -> None:
    text = MEMORY.replace("type: memory", "type: nosuch")
    with pytest.raises(BindingRefused, match="nosuch"):
        parse_binding(text, environ={}).validate_against(load_registry())
    kinds = MEMORY.replace(
        "issueTracking: {provider: m, mode: read-only,",
        "issueTracking: {provider: m, mode: read-only, kinds: [Issue, Pipeline],",
    )
    with pytest.raises(BindingRefused, match="cannot list Pipeline"):
        parse_binding(kinds, environ={}).validate_against(load_registry())


def test_python_objects_and_json_file(tmp_path: Path) -> None:
    binding = Binding(
        metadata=BindingMetadata(name="py"),
        spec=BindingSpec(
            target=BindingTarget(kind="Repository", name="widgets"),
            providers={"m": ProviderInstanceSpec(type="memory", instance="main")},
            interfaces={
                Interface.ISSUE_TRACKING: InterfaceSpec(
                    provider="m",
                    mode=BindingMode.READ_ONLY,
                    external_ref=ExternalRef(owner="acme", repository="widgets"),
                    kinds=["Issue", "Label"],
                )
            },
        ),
    )
    path = tmp_path / "b.json"
    import json

    path.write_text(json.dumps(binding.to_document()))
    again = load_binding(path, environ={})
    assert again == binding
    assert again.validate_against(load_registry()).kinds[Interface.ISSUE_TRACKING] == (
        "Issue",
        "Label",
    )
    with pytest.raises(BindingError, match="cannot read"):
        load_binding(tmp_path / "missing.yaml")


def test_default_kinds_follow_the_manifest() -> None:
    manifest = load_registry().manifest("memory")
    assert default_kinds(manifest, Interface.CICD) == (
        "PipelineDefinition",
        "Pipeline",
        "Job",
        "Artifact",
        "Check",
        "Runner",
    )
    assert default_kinds(manifest, Interface.GIT_FORGE)[0] == "Repository"


def test_auth_form_must_be_one_the_provider_takes() -> None:
    # memory's plugin lists no forms of its own, so core's token/bearer/basic apply.
    text = MEMORY.replace(
        "auth: {token: {env: MEM_TOKEN}}", "auth: {githubApp: {appId: 1, installationId: 2}}"
    )
    with pytest.raises(BindingRefused) as info:
        parse_binding(text, environ={}).validate_against(load_registry())
    assert "spec.providers.m.auth: memory does not take a 'githubApp' credential" in str(info.value)
    assert "use one of: token, bearer, basic" in str(info.value)


@pytest.mark.parametrize(
    ("auth", "message"),
    [
        ("{token: {env: A}, bearer: {env: B}}", "exactly one credential form"),
        ("{basic: {username: u}}", r"password"),
        ("{token: {nope: A}}", "token"),
    ],
)
def test_core_auth_forms_are_checked_when_read(auth: str, message: str) -> None:
    text = MEMORY.replace("auth: {token: {env: MEM_TOKEN}}", f"auth: {auth}")
    with pytest.raises(BindingError, match=message):
        parse_binding(text, environ={})


async def test_open_resolves_secrets_and_shares_one_adapter_per_alias() -> None:
    backend = MemoryBackend(accepted_token="mem-token-1")
    backend.seed_demo()
    resolver = MappingResolver(
        {"env": {"MEM_TOKEN": Secret("mem-token-1"), "MEM_HOOK": Secret("hook-1")}}
    )
    from kradle_providers.sync.runtime import ProviderOverride

    binding = parse_binding(MEMORY, environ={})
    async with await BoundBinding.open(
        binding, resolver=resolver, overrides={"m": ProviderOverride(options={"backend": backend})}
    ) as bound:
        assert set(bound.adapters) == {"m"}
        assert bound.adapter_for("issueTracking") is bound.adapter_for("gitForge")
        issues = await bound.adapter_for("issueTracking").list_issues(
            ExternalRef(owner="acme", repository="widgets")
        )
        assert len(issues.items) == 3
        (endpoint,) = bound.webhook_endpoints()
        assert endpoint.provider == "memory" and endpoint.instance == "m"
        assert endpoint.secret == Secret("hook-1")
        assert "hook-1" not in repr(endpoint)
        kinds = [p.kind for p in bound.streams("gitForge")]
        assert kinds[0] == "Repository" and "PullRequest" in kinds
        assert bound.routes() == {("memory", "m"): {Interface.ISSUE_TRACKING, Interface.GIT_FORGE}}


async def test_open_fails_on_unresolvable_secret() -> None:
    with pytest.raises(SecretNotFound):
        await BoundBinding.open(parse_binding(MEMORY, environ={}), resolver=MappingResolver({}))
