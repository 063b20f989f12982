"""The Jira manifest: valid, issue tracking only, and in step with the normalizers."""

from __future__ import annotations

import subprocess
import sys
from importlib import metadata
from importlib.resources import files
from pathlib import Path

import pytest
import yaml
from kradle_provider_jira.normalizers import EVENTS, INFORMATIONAL_EVENTS, NORMALIZERS
from kradle_provider_jira.plugin import JIRA_PLUGIN

from kradle_providers.manifest import IdempotencyMode, Manifest, load_manifest, validate_manifest
from kradle_providers.models import Interface
from kradle_providers.plugins.installed import has_normalizer
from kradle_providers.plugins.registry import load_registry
from kradle_providers.protocols.operations import operations_of
from kradle_providers.testing.fixtures import require_upstream

MANIFEST = Path(str(files("kradle_provider_jira") / "manifest.yaml"))


@pytest.fixture(scope="module")
def manifest() -> Manifest:
    return load_manifest(MANIFEST)


def test_manifest_has_no_findings() -> None:
    assert validate_manifest(yaml.safe_load(MANIFEST.read_text())) == []


def test_issue_tracking_only_with_reasons(manifest: Manifest) -> None:
    assert manifest.provider_type == "jira"
    assert manifest.supported_interfaces() == [Interface.ISSUE_TRACKING]
    assert "Jira has no CI/CD" in manifest.unsupported_reason("listPipelines")
    assert "Buildkite" in manifest.unsupported_reason("listPipelines")
    assert "git" in manifest.unsupported_reason("listPullRequests")
    assert manifest.spec.hosting == ["cloud", "data-center"]
    assert manifest.spec.auth_modes == [
        "cloud-api-token",
        "oauth2",
        "personal-access-token",
        "basic",
    ]
    assert manifest.spec.api.rest and manifest.spec.api.webhook and not manifest.spec.api.graphql
    assert manifest.spec.identity.native_id_fields == ["id", "key"]
    assert manifest.spec.identity.global_id_field is None


def test_every_issue_tracking_operation_is_declared(manifest: Manifest) -> None:
    declared = {
        o.operation for o in manifest.interface(Interface.ISSUE_TRACKING).operation_entries()
    }
    assert declared == {op.name for op in operations_of(Interface.ISSUE_TRACKING)}
    supported = set(manifest.interface(Interface.ISSUE_TRACKING).supported_operations())
    assert declared - supported == {"syncLabels"}
    assert "free-form" in manifest.unsupported_reason("syncLabels")


def test_write_idempotency_and_confirmation(manifest: Manifest) -> None:
    expected = {
        "createIssue": (IdempotencyMode.SYNTHETIC_KEY, ["jira:issue_created"]),
        "updateIssue": (IdempotencyMode.NATURAL, ["jira:issue_updated"]),
        "closeIssue": (IdempotencyMode.NATURAL, ["jira:issue_updated"]),
        "transitionIssue": (IdempotencyMode.NATURAL, ["jira:issue_updated"]),
        "createComment": (IdempotencyMode.SYNTHETIC_KEY, ["comment_created"]),
        "updateComment": (IdempotencyMode.NATURAL, ["comment_updated"]),
    }
    for name, (mode, events) in expected.items():
        decl = manifest.operation(name)
        assert decl is not None and decl.is_write
        assert decl.idempotency is not None and decl.idempotency.mode is mode, name
        assert decl.webhook_confirmation is not None
        assert decl.webhook_confirmation.events == events
        assert decl.requires.native_scopes == ["write:jira-work"]
    create = manifest.operation("createIssue")
    # The description says what the adapter does: the `kradle` property in the create itself.
    description = create.description if create is not None else None
    assert description and "issue.property[kradle].idempotencyKey" in description
    assert "(both flavours)" in description
    notes = manifest.spec.notes
    assert isinstance(notes, dict) and "duplicate" in notes["idempotency"]
    list_issues = manifest.operation("listIssues")
    assert list_issues is not None and list_issues.requires.native_scopes == ["read:jira-work"]


def test_every_declared_webhook_has_a_normalizer_and_a_fixture(manifest: Manifest) -> None:
    declared = manifest.webhook_events()
    assert set(declared) == set(EVENTS)
    for event in declared:
        assert has_normalizer(event, NORMALIZERS), event
        assert has_normalizer(event.replace(":", "_"), NORMALIZERS), event


def test_the_upstream_corpus_has_every_declared_event(manifest: Manifest) -> None:
    corpus = require_upstream("jira")
    for event in manifest.webhook_events():
        folder = corpus / event.replace(":", "_")
        assert list(folder.glob("*.json")), f"no upstream fixture for {event}"


def test_informational_flags_match_the_normalizers(manifest: Manifest) -> None:
    hooks = manifest.interface(Interface.ISSUE_TRACKING).webhook_entries()
    informational = {w.event for w in hooks if w.informational}
    assert informational == set(INFORMATIONAL_EVENTS)
    assert all(w.description for w in hooks)


def test_entry_point_and_registry_discovery() -> None:
    eps = [ep for ep in metadata.entry_points(group="kradle_providers") if ep.name == "jira"]
    assert [ep.value for ep in eps] == ["kradle_provider_jira.plugin"]
    registry = load_registry()
    assert "jira" in registry.names()
    assert registry.manifest("jira").provider_type == JIRA_PLUGIN.name == "jira"
    assert set(registry.normalizers("jira")) == set(NORMALIZERS)


def test_entry_point_module_is_light() -> None:
    code = (
        "import sys, kradle_provider_jira.plugin as p; "
        "heavy = [m for m in ('kradle_provider_jira.normalizers', 'kradle_provider_jira.mapping',"
        " 'kradle_provider_jira.richtext', 'httpx') if m in sys.modules]; "
        "print(','.join(heavy))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert out.stdout.strip() == ""


def test_labels_and_versions_declare_that_jira_keeps_no_version(manifest: Manifest) -> None:
    # Jira labels are bare strings and fix versions have no `updated`: hosts order them by
    # content. Everything else carries `updated` (changelog entries their `created`).
    assert manifest.version_fields("Label") == []
    assert manifest.version_fields("Milestone") == []
    for kind in ("Issue", "Comment", "IssueEvent"):
        assert manifest.version_fields(kind) == ["updated"]
