"""The manifest validator: schema findings and the meaning checks of SPEC §5."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from kradle_providers.errors import ManifestFinding
from kradle_providers.manifest import validate_manifest

FIXTURES = Path(__file__).parent / "fixtures" / "manifests"


def _fixture(name: str) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((FIXTURES / name).read_text())
    return data


@pytest.fixture
def forge() -> dict[str, Any]:
    return _fixture("forge-full.yaml")


@pytest.fixture
def tracker() -> dict[str, Any]:
    return _fixture("tracker-only.yaml")


def _errors(data: Any) -> list[ManifestFinding]:
    return [f for f in validate_manifest(data) if f.severity == "error"]


def _only_error(data: Any) -> ManifestFinding:
    errors = _errors(data)
    assert len(errors) == 1, "\n".join(map(str, errors))
    return errors[0]


def _ops(data: dict[str, Any], interface: str) -> list[Any]:
    ops: list[Any] = data["spec"]["interfaces"][interface]["operations"]
    return ops


@pytest.mark.parametrize("name", ["forge-full.yaml", "tracker-only.yaml"])
def test_valid_fixtures_have_no_findings(name: str) -> None:
    assert validate_manifest(_fixture(name)) == []


def test_single_interface_provider_with_unsupported_reasons_is_valid(
    tracker: dict[str, Any],
) -> None:
    assert tracker["spec"]["interfaces"]["cicd"] == {
        "supported": False,
        "reason": "Tracker has no CI/CD.",
    }
    assert validate_manifest(tracker) == []


# ------------------------------------------------------------- required rejections


def test_operation_from_another_interface(tracker: dict[str, Any]) -> None:
    _ops(tracker, "issueTracking").append("rerunPipeline")
    finding = _only_error(tracker)
    assert finding.path == "$.spec.interfaces.issueTracking.operations[8]"
    assert "cicd operation" in finding.message
    assert "spec.interfaces.cicd.operations" in finding.fix


def test_operation_from_another_interface_in_full_shape(tracker: dict[str, Any]) -> None:
    _ops(tracker, "issueTracking").append({"operation": "mergePullRequest"})
    finding = _only_error(tracker)
    assert finding.path == "$.spec.interfaces.issueTracking.operations[8].operation"
    assert "gitForge" in finding.message and "gitForge" in finding.fix


def test_unsupported_interface_listing_operations(tracker: dict[str, Any]) -> None:
    tracker["spec"]["interfaces"]["cicd"]["operations"] = ["listPipelines"]
    finding = _only_error(tracker)
    assert finding.path == "$.spec.interfaces.cicd.operations"
    assert "unsupported" in finding.message
    assert "supported: true" in finding.fix


def test_unsupported_interface_listing_webhooks(tracker: dict[str, Any]) -> None:
    tracker["spec"]["interfaces"]["gitForge"]["webhooks"] = ["push"]
    finding = _only_error(tracker)
    assert finding.path == "$.spec.interfaces.gitForge.webhooks"


def test_write_operation_not_flagged_write(tracker: dict[str, Any]) -> None:
    _ops(tracker, "issueTracking")[2]["write"] = False
    finding = _only_error(tracker)
    assert finding.path == "$.spec.interfaces.issueTracking.operations[2].write"
    assert "createIssue" in finding.message and "write: false" in finding.message
    assert "write: true" in finding.fix


def test_read_operation_flagged_write(tracker: dict[str, Any]) -> None:
    _ops(tracker, "issueTracking")[0] = {"operation": "listIssues", "write": True}
    finding = _only_error(tracker)
    assert finding.path == "$.spec.interfaces.issueTracking.operations[0].write"
    assert "read operation" in finding.message
    assert "write: false" in finding.fix


def test_required_auth_mode_not_declared(tracker: dict[str, Any]) -> None:
    _ops(tracker, "issueTracking")[2]["requires"]["authModes"] = ["basic-token", "oauth"]
    finding = _only_error(tracker)
    assert finding.path == "$.spec.interfaces.issueTracking.operations[2].requires.authModes[1]"
    assert "'oauth'" in finding.message and "basic-token, oauth2" in finding.message
    assert "did you mean 'oauth2'?" in finding.fix
    assert "spec.authModes" in finding.fix


def test_confirming_event_not_declared(tracker: dict[str, Any]) -> None:
    _ops(tracker, "issueTracking")[2]["webhookConfirmation"]["events"] = ["jira:issue_creatd"]
    finding = _only_error(tracker)
    assert (
        finding.path
        == "$.spec.interfaces.issueTracking.operations[2].webhookConfirmation.events[0]"
    )
    assert "not a webhook the issueTracking interface declares" in finding.message
    assert "did you mean 'jira:issue_created'?" in finding.fix


def test_confirming_event_may_name_an_action_of_a_declared_event(
    forge: dict[str, Any],
) -> None:
    # forge-full confirms mergePullRequest with `pull_request.closed`; `pull_request` is declared.
    forge["spec"]["interfaces"]["gitForge"]["webhooks"].remove("pull_request")
    paths = {f.path for f in _errors(forge)}
    assert paths == {
        "$.spec.interfaces.gitForge.operations[4].webhookConfirmation.events[0]",
        "$.spec.interfaces.gitForge.operations[5].webhookConfirmation.events[0]",
    }


def test_confirming_event_of_another_interface_is_rejected(forge: dict[str, Any]) -> None:
    # `check_run` is a cicd webhook; the issueTracking interface does not declare it.
    _ops(forge, "issueTracking")[3]["webhookConfirmation"]["events"] = ["check_run"]
    finding = _only_error(forge)
    assert finding.path.endswith("operations[3].webhookConfirmation.events[0]")


def test_duplicate_operation_bare_names(tracker: dict[str, Any]) -> None:
    _ops(tracker, "issueTracking").append("getIssue")
    finding = _only_error(tracker)
    assert finding.path == "$.spec.interfaces.issueTracking.operations[8]"
    assert "declared twice" in finding.message
    assert "$.spec.interfaces.issueTracking.operations[1]" in finding.message
    assert "one entry" in finding.fix


def test_duplicate_operation_across_bare_and_full_shapes(tracker: dict[str, Any]) -> None:
    _ops(tracker, "issueTracking").append({"operation": "listIssues", "native": "search"})
    finding = _only_error(tracker)
    assert finding.path == "$.spec.interfaces.issueTracking.operations[8].operation"
    assert "'listIssues' is declared twice" in finding.message


def test_wrong_api_version(tracker: dict[str, Any]) -> None:
    tracker["apiVersion"] = "kradle.a5c.ai/v1"
    finding = _only_error(tracker)
    assert finding.path == "$.apiVersion"
    assert "kradle.a5c.ai/v1alpha1" in finding.message
    assert finding.fix == "set apiVersion to 'kradle.a5c.ai/v1alpha1'"


def test_wrong_kind(tracker: dict[str, Any]) -> None:
    tracker["kind"] = "ProviderManifest"
    finding = _only_error(tracker)
    assert finding.path == "$.kind"
    assert "ExternalProviderCapabilityManifest" in finding.fix


def test_missing_provider_type(tracker: dict[str, Any]) -> None:
    del tracker["spec"]["providerType"]
    finding = _only_error(tracker)
    assert finding.path == "$.spec.providerType"
    assert "required" in finding.message
    assert "providerType:" in finding.fix


def test_invalid_provider_type(tracker: dict[str, Any]) -> None:
    tracker["spec"]["providerType"] = "Tracker Cloud"
    finding = _only_error(tracker)
    assert finding.path == "$.spec.providerType"
    assert "lowercase" in finding.fix


def test_misspelled_operation_suggests_the_nearest(tracker: dict[str, Any]) -> None:
    _ops(tracker, "issueTracking")[0] = "listIsues"
    finding = _only_error(tracker)
    assert finding.path == "$.spec.interfaces.issueTracking.operations[0]"
    assert "unknown operation 'listIsues'" in finding.message
    assert finding.fix == "did you mean 'listIssues'?"


def test_misspelling_prefers_names_of_the_same_interface(forge: dict[str, Any]) -> None:
    # Over all names `listCommits` is nearest to issueTracking's listComments; inside
    # gitForge the forge operation getCommit is the suggestion.
    _ops(forge, "gitForge").append("listCommits")
    assert _only_error(forge).fix == "did you mean 'getCommit'?"
    forge = _fixture("forge-full.yaml")
    _ops(forge, "issueTracking").append("listCommits")
    assert _only_error(forge).fix == "did you mean 'listComments'?"


def test_snake_case_operation_points_at_the_camel_case_name(tracker: dict[str, Any]) -> None:
    _ops(tracker, "issueTracking")[0] = "list_issues"
    finding = _only_error(tracker)
    assert "'listIssues'" in finding.fix and "camelCase" in finding.fix


def test_hopeless_operation_lists_the_interface_operations(tracker: dict[str, Any]) -> None:
    _ops(tracker, "issueTracking").append("zzz")
    finding = _only_error(tracker)
    assert "listIssues" in finding.fix and "listPipelines" not in finding.fix


def test_unknown_idempotency_mode(tracker: dict[str, Any]) -> None:
    _ops(tracker, "issueTracking")[2]["idempotency"]["mode"] = "synthetic"
    finding = _only_error(tracker)
    assert finding.path == "$.spec.interfaces.issueTracking.operations[2].idempotency.mode"
    assert "native-key, synthetic-key, natural, none" in finding.message
    assert finding.fix.startswith("did you mean 'synthetic-key'?")


# ------------------------------------------------------------------ other meaning


def test_supported_interface_without_operations(tracker: dict[str, Any]) -> None:
    tracker["spec"]["interfaces"]["issueTracking"]["operations"] = []
    finding = _only_error(tracker)
    assert finding.path == "$.spec.interfaces.issueTracking.operations"
    assert "no operations" in finding.message
    assert "supported: false" in finding.fix


def test_no_supported_interface(tracker: dict[str, Any]) -> None:
    tracker["spec"]["interfaces"]["issueTracking"] = {"supported": False, "reason": "none"}
    finding = _only_error(tracker)
    assert finding.path == "$.spec.interfaces"


def test_object_kind_of_another_interface(tracker: dict[str, Any]) -> None:
    tracker["spec"]["interfaces"]["issueTracking"]["objects"].append("PullRequest")
    finding = _only_error(tracker)
    assert finding.path == "$.spec.interfaces.issueTracking.objects[4]"
    assert "gitForge" in finding.fix


def test_unknown_object_kind_suggests_the_nearest(tracker: dict[str, Any]) -> None:
    tracker["spec"]["interfaces"]["issueTracking"]["objects"][0]["kind"] = "Issues"
    finding = _only_error(tracker)
    assert finding.path == "$.spec.interfaces.issueTracking.objects[0].kind"
    assert finding.fix.startswith("did you mean 'Issue'?")


def test_duplicate_webhook_event(tracker: dict[str, Any]) -> None:
    tracker["spec"]["interfaces"]["issueTracking"]["webhooks"].append({"event": "comment_created"})
    finding = _only_error(tracker)
    assert finding.path == "$.spec.interfaces.issueTracking.webhooks[3]"


def test_unknown_field_suggests_the_nearest(tracker: dict[str, Any]) -> None:
    tracker["spec"]["authMode"] = tracker["spec"].pop("authModes")
    errors = _errors(tracker)
    unknown = [f for f in errors if f.path == "$.spec.authMode"]
    assert unknown and unknown[0].fix == "did you mean 'authModes'?"
    # Without declared auth modes the required ones are undeclared too: all reported.
    assert any(f.path.endswith("requires.authModes[0]") for f in errors)


def test_wrong_type_in_a_bare_or_full_list_explains_both_shapes(tracker: dict[str, Any]) -> None:
    _ops(tracker, "issueTracking")[0] = 42
    finding = _only_error(tracker)
    assert finding.path == "$.spec.interfaces.issueTracking.operations[0]"
    assert "string" in finding.message and "mapping" in finding.message
    assert "integer" in finding.message


def test_wrong_scalar_type(tracker: dict[str, Any]) -> None:
    tracker["spec"]["api"]["rest"] = "yes"
    finding = _only_error(tracker)
    assert finding.path == "$.spec.api.rest"
    assert "boolean" in finding.message and "boolean" in finding.fix


def test_ill_typed_supported_flag_is_one_finding(tracker: dict[str, Any]) -> None:
    tracker["spec"]["interfaces"]["issueTracking"]["supported"] = "yes"
    findings = validate_manifest(tracker)
    assert [f.path for f in findings] == ["$.spec.interfaces.issueTracking.supported"]


def test_not_a_mapping() -> None:
    [finding] = validate_manifest(["not", "a", "manifest"])  # type: ignore[arg-type]
    assert finding.path == "$" and "mapping" in finding.message


def test_all_findings_are_reported_at_once() -> None:
    paths = {f.path for f in _errors(_fixture("invalid-many.yaml"))}
    assert paths == {
        "$.apiVersion",
        "$.spec.providerType",
        "$.spec.interfaces.issueTracking.operations[1]",
        "$.spec.interfaces.issueTracking.operations[2].write",
        "$.spec.interfaces.issueTracking.operations[2].idempotency.mode",
        "$.spec.interfaces.cicd.operations",
    }


def test_every_finding_has_path_message_and_fix() -> None:
    findings = validate_manifest(_fixture("invalid-many.yaml"))
    for finding in findings:
        assert finding.path.startswith("$")
        assert finding.message and finding.fix
        assert finding.severity in {"error", "warning"}


# ---------------------------------------------------------------------- warnings


@pytest.mark.parametrize(
    ("mutate", "path"),
    [
        (
            lambda d: d["spec"]["interfaces"]["cicd"].pop("reason"),
            "$.spec.interfaces.cicd.reason",
        ),
        (
            lambda d: d["spec"]["interfaces"]["cicd"].update(objects=["Pipeline"]),
            "$.spec.interfaces.cicd.objects",
        ),
        (
            lambda d: _ops(d, "issueTracking").__setitem__(
                0, {"operation": "listIssues", "supported": False}
            ),
            "$.spec.interfaces.issueTracking.operations[0].reason",
        ),
        (
            lambda d: _ops(d, "issueTracking").__setitem__(
                0, {"operation": "listIssues", "idempotency": {"mode": "natural"}}
            ),
            "$.spec.interfaces.issueTracking.operations[0].idempotency",
        ),
        (
            lambda d: _ops(d, "issueTracking").__setitem__(
                0,
                {"operation": "listIssues", "webhookConfirmation": {"events": ["comment_created"]}},
            ),
            "$.spec.interfaces.issueTracking.operations[0].webhookConfirmation",
        ),
        (lambda d: d["spec"]["authModes"].append("oauth2"), "$.spec.authModes[2]"),
    ],
)
def test_warnings_do_not_make_a_manifest_invalid(
    tracker: dict[str, Any], mutate: Any, path: str
) -> None:
    data = copy.deepcopy(tracker)
    mutate(data)
    findings = validate_manifest(data)
    assert [(f.path, f.severity) for f in findings] == [(path, "warning")]
