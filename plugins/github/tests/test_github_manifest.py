"""The GitHub manifest, plugin registration and the webhook CLI."""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
import yaml
from kradle_provider_github.normalizers import NORMALIZERS
from kradle_provider_github.plugin import GITHUB_PLUGIN, kradle_register_providers

from kradle_providers.cli import main
from kradle_providers.manifest import Manifest, load_manifest, validate_manifest
from kradle_providers.models import Interface
from kradle_providers.plugins.spec import ProviderPlugin
from kradle_providers.protocols.operations import OPERATIONS
from kradle_providers.testing.fixtures import require_upstream, require_vendor_specs

MANIFEST = Path(str(resources.files("kradle_provider_github") / "manifest.yaml"))


@pytest.fixture(scope="module")
def manifest() -> Manifest:
    return load_manifest(MANIFEST)


@cache
def _operation_ids() -> frozenset[str]:
    spec = json.loads((require_vendor_specs("github") / "api.github.com.json").read_text())
    return frozenset(
        op["operationId"]
        for item in spec["paths"].values()
        for op in item.values()
        if isinstance(op, dict) and "operationId" in op
    )


def test_manifest_validates_without_findings() -> None:
    assert validate_manifest(yaml.safe_load(MANIFEST.read_text())) == []


def test_identity_hosting_auth(manifest: Manifest) -> None:
    spec = manifest.spec
    assert spec.provider_type == "github"
    assert spec.hosting == ["saas", "github-enterprise-server"]
    assert spec.auth_modes == ["github-app", "oauth-user", "personal-access-token"]
    assert (spec.api.rest, spec.api.graphql, spec.api.webhook) == (True, True, True)
    assert spec.identity.global_id_field == "node_id"
    assert spec.identity.version_fields == ["updated_at"]
    # Kinds whose objects carry other (or no) version, global id or URL fields say so.
    assert manifest.version_fields("PullRequest") == ["updated_at", "head_sha"]
    assert manifest.version_fields("Label") == []
    assert manifest.global_id_field("Issue") == "node_id"
    assert manifest.global_id_field("DeployKey") is None
    assert manifest.url_field("Issue") == "html_url"
    assert manifest.url_field("BranchProtection") is None
    assert manifest.supported_interfaces() == list(Interface)


def test_every_canonical_operation_is_declared(manifest: Manifest) -> None:
    declared = {
        decl.operation: decl
        for _, iface in manifest.spec.interfaces.items()
        for decl in iface.operation_entries()
    }
    assert set(declared) == set(OPERATIONS)
    unsupported = {name for name, decl in declared.items() if not decl.supported}
    assert unsupported == {"listTransitions", "transitionIssue"}
    assert manifest.unsupported_reason("transitionIssue") == (
        "GitHub issues have no workflow transitions; use updateIssue/closeIssue"
    )


def test_native_names_are_github_operation_ids(manifest: Manifest) -> None:
    require_vendor_specs("github")
    known = _operation_ids()
    for name in OPERATIONS:
        decl = manifest.operation(name)
        assert decl is not None
        if not decl.supported:
            continue
        assert decl.native, f"{name} has no native name"
        for native in decl.native.split(" + "):
            assert native in known, f"{name}: {native!r} is not an operationId of GitHub's API"
    assert manifest.operation("listIssues").native == "issues/list-for-repo"  # type: ignore[union-attr]


def test_writes_declare_idempotency_and_confirmations(manifest: Manifest) -> None:
    modes = {}
    for name, info in OPERATIONS.items():
        decl = manifest.operation(name)
        assert decl is not None
        if decl.supported and info.write:
            assert decl.idempotency is not None, name
            modes[name] = decl.idempotency.mode.value
        if decl.supported:
            assert decl.requires.permissions and decl.requires.native_scopes, name
            assert decl.rate_limit_cost, name
    assert (
        modes["createIssue"]
        == modes["createComment"]
        == modes["createPullRequest"]
        == "synthetic-key"
    )
    assert modes["createCheck"] == "synthetic-key"
    assert modes["registerRunner"] == "none"
    assert modes["mergePullRequest"] == modes["rerunPipeline"] == modes["syncLabels"] == "natural"
    confirm = {
        name: manifest.operation(name).webhook_confirmation.events  # type: ignore[union-attr]
        for name in (
            "createIssue",
            "createComment",
            "createPullRequest",
            "createCheck",
            "syncLabels",
            "syncDeployKeys",
            "syncBranchProtection",
            "rerunPipeline",
        )
    }
    assert confirm == {
        "createIssue": ["issues"],
        "createComment": ["issue_comment"],
        "createPullRequest": ["pull_request"],
        "createCheck": ["check_run"],
        "syncLabels": ["label"],
        "syncDeployKeys": ["deploy_key"],
        "syncBranchProtection": ["branch_protection_rule"],
        "rerunPipeline": ["workflow_run"],
    }


def test_objects_name_their_native_kinds(manifest: Manifest) -> None:
    objects = {
        entry.kind: entry.native
        for _, iface in manifest.spec.interfaces.items()
        for entry in iface.object_entries()
    }
    assert objects["Issue"] == "issue"
    assert objects["Comment"] == "issue_comment"
    assert objects["Pipeline"] == ["workflow_run", "check_suite"]
    assert objects["PipelineDefinition"] == "workflow"
    assert objects["Job"] == "workflow_job"
    assert objects["Check"] == ["check_run", "status"]


def test_webhooks_have_normalizers_and_fixtures(manifest: Manifest) -> None:
    events = manifest.webhook_events()
    assert len(events) == len(set(events))
    assert set(events) == set(NORMALIZERS)
    informational = set(events) - set(manifest.webhook_events(include_informational=False))
    assert informational == {"installation", "ping"}
    forge = {w.event: w for w in manifest.spec.interfaces.git_forge.webhook_entries()}
    assert forge["installation"].informational and forge["ping"].informational


def test_the_upstream_corpus_has_every_declared_event(manifest: Manifest) -> None:
    corpus = require_upstream("github")
    for event in manifest.webhook_events():
        assert len(list((corpus / event).glob("*.json"))) >= 1, event


def test_plugin_registers_github() -> None:
    registered: list[ProviderPlugin] = []
    register: Callable[[ProviderPlugin], None] = registered.append
    kradle_register_providers(register)
    assert registered == [GITHUB_PLUGIN]
    plugin = registered[0]
    assert plugin.name == "github"
    assert plugin.manifest == "kradle_provider_github:manifest.yaml"
    assert plugin.normalizers == "kradle_provider_github.normalizers:NORMALIZERS"
    assert plugin.distribution == "kradle-provider-github"


def test_entry_point_is_installed() -> None:
    from importlib.metadata import entry_points

    eps = {ep.name: ep.value for ep in entry_points(group="kradle_providers")}
    assert eps.get("github") == "kradle_provider_github.plugin"


def test_cli_webhook_normalize(capsys: pytest.CaptureFixture[str]) -> None:
    path = require_upstream("github") / "issues" / "opened.payload.json"
    code = main(
        [
            "webhook",
            "normalize",
            "--provider",
            "github",
            "--event",
            "issues",
            "--file",
            str(path),
            "--json",
        ]
    )
    out: dict[str, Any] = json.loads(capsys.readouterr().out)
    assert code == 0
    assert out["outcome"] == "normalized"
    assert out["events"][0]["object_kind"] == "Issue"
    assert out["events"][0]["native_id"] == "444500041"


def test_cli_manifest_validate(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["manifest", "validate", str(MANIFEST)]) == 0
    assert "valid" in capsys.readouterr().out


def test_cli_normalizes_every_upstream_fixture(capsys: pytest.CaptureFixture[str]) -> None:
    """``kradle-providers webhook normalize --provider github --event E --file X --json``."""
    import json

    payloads = sorted(require_upstream("github").glob("*/*.json"))
    informational = {"installation", "ping"}
    for payload in payloads:
        event = payload.parent.name
        argv = ["webhook", "normalize", "--provider", "github", "--event", event]
        assert main([*argv, "--file", str(payload), "--json"]) == 0, payload
        result = json.loads(capsys.readouterr().out)
        expected = "ignored" if event in informational else "normalized"
        assert result["outcome"] == expected, (payload, result.get("reason"))
        assert bool(result["events"]) == (expected == "normalized"), payload
