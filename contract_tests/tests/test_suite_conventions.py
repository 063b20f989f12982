"""Conventions the suite applies to every provider: which delivery id goldens are
compared under, when two Markdown bodies mean the same, which version fields a
kind must carry, and how a harness declares what its provider's objects cannot do."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from kradle_contract_tests import scenarios
from kradle_contract_tests.calls import LISTINGS
from kradle_contract_tests.context import Ctx
from kradle_contract_tests.generate import Check
from kradle_contract_tests.runner import run_check
from kradle_contract_tests.scenarios import same_markdown

from kradle_providers.manifest.model import Manifest
from kradle_providers.models import NormalizeOutcome, NormalizeResult
from kradle_providers.plugins.registry import load_registry
from kradle_providers.testing.harness import Limitation, WebhookFixture, limitation
from kradle_providers.testing.memory_harness import MemoryHarness, create_harness
from kradle_providers.webhooks.normalizer import NormalizeContext

# --- Markdown equivalence ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("sent", "back"),
    [
        ("_italic_", "*italic*"),
        ("__bold__", "**bold**"),
        ("- one\n- two", "* one\n* two"),
        ("Contract **bold**, _italic_ and `code`.", "Contract __bold__, *italic* and `code`."),
        ("text\n", "text"),
    ],
)
def test_spellings_of_the_same_markdown_are_the_same(sent: str, back: str) -> None:
    assert same_markdown(sent, back)


@pytest.mark.parametrize(
    ("sent", "back"),
    [
        ("_italic_", "italic"),  # emphasis lost
        ("**bold**", "*bold*"),  # strong became emphasis
        ("- one\n- two", "1. one\n2. two"),  # list kind changed
        ("`code`", "code"),
        ("a", "b"),
    ],
)
def test_a_loss_of_meaning_is_not_the_same_markdown(sent: str, back: str) -> None:
    assert not same_markdown(sent, back)


@given(st.text(max_size=60))
def test_any_text_is_the_same_markdown_as_itself(text: str) -> None:
    assert same_markdown(text, text)


@given(st.text(alphabet="abc xyz", min_size=1, max_size=20).filter(str.strip))
def test_underscore_and_star_emphasis_are_the_same(word: str) -> None:
    word = word.strip()
    assert same_markdown(f"x _{word}_ y", f"x *{word}* y")


# --- golden delivery ids ---------------------------------------------------------------


def _ctx(normalizers: Mapping[str, Any]) -> Ctx:
    registry = load_registry()
    return Ctx(
        provider="memory",
        manifest=registry.manifest("memory"),
        harness=create_harness(),
        normalizers=normalizers,
    )


def _capture(seen: list[NormalizeContext]) -> Any:
    def normalizer(context: NormalizeContext, payload: Mapping[str, Any]) -> NormalizeResult:
        seen.append(context)
        return NormalizeResult(
            provider=context.provider.type,
            outcome=NormalizeOutcome.IGNORED,
            native_event=context.event,
        )

    return normalizer


def test_a_fixture_is_normalized_with_its_own_delivery_id_and_headers(tmp_path: Path) -> None:
    payload = tmp_path / "created.json"
    payload.write_text(json.dumps({"x": 1}))
    seen: list[NormalizeContext] = []
    ctx = _ctx({"thing": _capture(seen)})
    fixture = WebhookFixture(
        event="thing", payload=payload, headers={"X-Delivery": "d-1"}, delivery_id="d-1"
    )
    scenarios._normalize(ctx, fixture)
    assert seen[0].delivery_id == "d-1"
    assert seen[0].headers == {"X-Delivery": "d-1"}
    assert seen[0].provider.type == "memory" and seen[0].provider.instance == "default"


def test_without_a_delivery_id_the_fixture_stem_names_the_delivery(tmp_path: Path) -> None:
    payload = tmp_path / "created.json"
    payload.write_text("{}")
    seen: list[NormalizeContext] = []
    scenarios._normalize(_ctx({"thing": _capture(seen)}), WebhookFixture("thing", payload))
    assert seen[0].delivery_id == "contract-created"


# --- per-kind version fields -------------------------------------------------------------


def _manifest(objects: list[Any], version_fields: list[str]) -> Manifest:
    return Manifest.model_validate(
        {
            "apiVersion": "kradle.a5c.ai/v1alpha1",
            "kind": "ExternalProviderCapabilityManifest",
            "metadata": {"name": "x"},
            "spec": {
                "providerType": "x",
                "displayName": "X",
                "identity": {"versionFields": version_fields},
                "interfaces": {"issueTracking": {"supported": True, "objects": objects}},
            },
        }
    )


def test_a_kind_declares_its_own_version_fields_or_inherits_the_identity() -> None:
    manifest = _manifest(
        ["Issue", {"kind": "Label", "versionFields": []}, {"kind": "Comment"}], ["updated"]
    )
    assert manifest.version_fields("Issue") == ["updated"]
    assert manifest.version_fields("Comment") == ["updated"]
    assert manifest.version_fields("Label") == []
    assert manifest.version_fields("Milestone") == ["updated"]  # undeclared kind


# --- limitations -----------------------------------------------------------------------------


def test_limitation_reads_the_optional_harness_attribute() -> None:
    class Declaring:
        limitations = {"Label": {Limitation.NO_NATIVE_FIELDS: "labels are strings"}}

    assert limitation(Declaring(), "Label", Limitation.NO_NATIVE_FIELDS) == "labels are strings"
    assert limitation(Declaring(), "Label", Limitation.IMMUTABLE) is None
    assert limitation(Declaring(), "Issue", Limitation.NO_NATIVE_FIELDS) is None
    assert limitation(object(), "Label", Limitation.NO_NATIVE_FIELDS) is None


class _Limited(MemoryHarness):
    limitations = {
        "Label": {Limitation.NO_NATIVE_FIELDS: "declared for the test"},
        "IssueEvent": {Limitation.IMMUTABLE: "history is append-only"},
    }


@pytest.mark.parametrize(
    ("run", "reason"),
    [
        (lambda ctx: scenarios.extensions(ctx, "listLabels"), "declared for the test"),
        (
            lambda ctx: scenarios.list_while_changing(ctx, LISTINGS["listIssueEvents"]),
            "history is append-only",
        ),
    ],
)
def test_a_declared_limitation_skips_its_check_with_the_reason(run: Any, reason: str) -> None:
    check = Check(name="x", group="issueTracking", run=run)
    with pytest.raises(pytest.skip.Exception, match=reason):
        run_check(check, provider="memory", harness=_Limited)


def test_without_a_limitation_the_same_check_runs_and_passes() -> None:
    check = Check(
        name="x", group="issueTracking", run=lambda ctx: scenarios.extensions(ctx, "listLabels")
    )
    run_check(check, provider="memory", harness=create_harness)
