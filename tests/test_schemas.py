"""The checked-in JSON Schemas: fresh, deterministic, and meaning what they say."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft202012Validator

from kradle_providers import cli, schema_gen
from kradle_providers.models import CANONICAL_KINDS

ROOT = Path(__file__).resolve().parents[1]
SCHEMAS = ROOT / "schemas"
FIXTURES = Path(__file__).parent / "fixtures" / "manifests"


@pytest.fixture(scope="module")
def generated() -> dict[str, str]:
    return schema_gen.generate_schemas()


def test_checked_in_schemas_are_fresh(generated: dict[str, str]) -> None:
    stale = schema_gen.stale_schemas(SCHEMAS, generated)
    assert stale == [], (
        f"stale schemas in {SCHEMAS}: {stale}; run `kradle-providers schemas generate` "
        "from the repository root and commit the result"
    )


def test_every_canonical_kind_and_event_has_a_schema(generated: dict[str, str]) -> None:
    expected = {f"objects/{kind}.schema.json" for kind in CANONICAL_KINDS} | {
        "manifest.schema.json",
        "events/sync-event.schema.json",
        "events/normalize-result.schema.json",
    }
    assert set(generated) == expected


def test_output_is_deterministic_sorted_and_newline_terminated(
    generated: dict[str, str],
) -> None:
    assert schema_gen.generate_schemas() == generated
    for relative, text in generated.items():
        assert text.endswith("}\n"), relative
        schema = json.loads(text)
        assert schema_gen.render_schema(schema) == text
        assert schema["$id"] == schema_gen.SCHEMA_BASE_URL + relative
        Draft202012Validator.check_schema(schema)


def _manifest_validator(generated: dict[str, str]) -> Draft202012Validator:
    return Draft202012Validator(json.loads(generated["manifest.schema.json"]))


@pytest.mark.parametrize("name", ["forge-full.yaml", "tracker-only.yaml", "ci-only.json"])
def test_manifest_schema_accepts_the_valid_fixtures(generated: dict[str, str], name: str) -> None:
    data = yaml.safe_load((FIXTURES / name).read_text())
    assert list(_manifest_validator(generated).iter_errors(data)) == []


def test_manifest_schema_uses_camel_case_and_bare_operation_names(
    generated: dict[str, str],
) -> None:
    schema = json.loads(generated["manifest.schema.json"])
    spec_props = schema["$defs"]["ManifestSpec"]["properties"]
    assert {"providerType", "displayName", "authModes", "rateLimitModel"} <= set(spec_props)
    assert "provider_type" not in spec_props
    ops = schema["$defs"]["InterfaceSpec"]["properties"]["operations"]["items"]["anyOf"]
    assert {"type": "string"} in ops
    validator = _manifest_validator(generated)
    base: dict[str, Any] = yaml.safe_load((FIXTURES / "tracker-only.yaml").read_text())
    base["spec"]["provider_type"] = base["spec"].pop("providerType")
    assert not validator.is_valid(base)


def test_manifest_schema_rejects_unknown_idempotency_mode(generated: dict[str, str]) -> None:
    data: dict[str, Any] = yaml.safe_load((FIXTURES / "tracker-only.yaml").read_text())
    data["spec"]["interfaces"]["issueTracking"]["operations"][2]["idempotency"]["mode"] = "maybe"
    assert not _manifest_validator(generated).is_valid(data)


def test_check_reports_stale_missing_and_extra_files(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    generated: dict[str, str],
) -> None:
    # Generation itself is covered above; reuse its output to keep this test fast.
    monkeypatch.setattr(schema_gen, "generate_schemas", lambda: generated)
    out = tmp_path / "schemas"
    assert cli.main(["schemas", "generate", "--out", str(out)]) == 0
    assert cli.main(["schemas", "generate", "--out", str(out), "--check"]) == 0
    assert "up to date" in capsys.readouterr().out

    (out / "manifest.schema.json").write_text("{}\n")
    (out / "objects" / "Issue.schema.json").unlink()
    (out / "objects" / "Gone.schema.json").write_text("{}\n")
    assert cli.main(["schemas", "generate", "--out", str(out), "--check"]) == 1
    report = capsys.readouterr().out
    assert "3 schema file(s)" in report
    for name in ("manifest.schema.json", "Issue.schema.json", "Gone.schema.json"):
        assert name in report
    assert "kradle-providers schemas generate" in report

    # Generating again repairs all three and leaves the directory exact.
    assert cli.main(["schemas", "generate", "--out", str(out)]) == 0
    assert "3 schema file(s) changed" in capsys.readouterr().out
    assert schema_gen.stale_schemas(out) == []
    assert not (out / "objects" / "Gone.schema.json").exists()


def test_generate_requires_a_subcommand() -> None:
    with pytest.raises(SystemExit) as info:
        cli.main(["schemas"])
    assert info.value.code == 2
