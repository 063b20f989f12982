"""Goldens: written to the author's source tree, never into site-packages; all differences shown."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from kradle_contract_tests.context import ContractViolation
from kradle_contract_tests.generate import Check, checks_for
from kradle_contract_tests.goldens import (
    GOLDENS_DIR_ENV,
    UPDATE_GOLDENS_ENV,
    declared_goldens_dir,
    golden_path,
)
from kradle_contract_tests.runner import run_check
from kradle_contract_tests.scenarios import golden_differences

from kradle_providers.plugins.registry import load_registry

pytest.importorskip("kradle_provider_acme")
EVENT = "ticket.created"


def _fixtures_check() -> Check:
    manifest = load_registry().manifest("acme")
    return next(c for c in checks_for(manifest) if c.name == f"webhooks::{EVENT}::fixtures")


def _run() -> None:
    factory = load_registry().harness_factory("acme")
    assert factory is not None
    run_check(_fixtures_check(), provider="acme", harness=factory)


def test_goldens_are_written_to_and_read_from_the_declared_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(GOLDENS_DIR_ENV, str(tmp_path))
    monkeypatch.setenv(UPDATE_GOLDENS_ENV, "1")
    _run()
    written = sorted((tmp_path / EVENT).glob("*.golden.json"))
    assert written, "no golden written under KRADLE_GOLDENS_DIR"
    monkeypatch.delenv(UPDATE_GOLDENS_ENV)
    _run()  # the written goldens are the ones compared
    golden = json.loads(written[0].read_text())
    event = golden["events"][0]
    event["provider"]["type"] = "not-acme"
    event["kind"] = "NotAKind"
    written[0].write_text(json.dumps(golden))
    with pytest.raises(ContractViolation) as failure:
        _run()
    message = str(failure.value)
    assert "in 2 place(s)" in message
    assert "$.events[0].kind is " in message
    assert "$.events[0].provider.type is 'acme', golden has 'not-acme'" in message


def test_updating_goldens_inside_site_packages_fails_with_the_fix(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    installed = tmp_path / "lib" / "site-packages" / "kradle_provider_acme" / "goldens"
    monkeypatch.setenv(GOLDENS_DIR_ENV, str(installed))
    monkeypatch.setenv(UPDATE_GOLDENS_ENV, "1")
    with pytest.raises(ContractViolation) as failure:
        _run()
    assert "into an installed package" in str(failure.value)
    assert '[tool.kradle-providers] goldens = "src/<your_package>/fixtures/goldens"' in str(
        failure.value
    )
    assert f"(pip install -e .), or set {GOLDENS_DIR_ENV}" in str(failure.value)
    assert not installed.exists()


def _source_tree(root: Path, provider: str = "acme", goldens: str | None = "src/gold") -> Path:
    lines = ["[project]", 'name = "kradle-provider-x"', "",
             "[project.entry-points.kradle_providers]", f'{provider} = "x.plugin"']  # fmt: skip
    if goldens is not None:
        lines += ["", "[tool.kradle-providers]", f'goldens = "{goldens}"']
    root.mkdir(parents=True, exist_ok=True)
    (root / "pyproject.toml").write_text("\n".join(lines) + "\n")
    (root / "tests").mkdir(exist_ok=True)
    return root


def test_the_declared_folder_is_found_from_inside_the_source_tree(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv(GOLDENS_DIR_ENV, raising=False)
    tree = _source_tree(tmp_path / "acme-src")
    installed = tmp_path / "venv/lib/site-packages/kradle_provider_acme/fixtures/goldens"
    golden = installed / EVENT / "ticket.created.golden.json"
    assert declared_goldens_dir("acme", tree / "tests") == tree / "src/gold"
    # an enclosing project registering another provider, or none, declares nothing
    assert declared_goldens_dir("github", tree / "tests") is None
    assert declared_goldens_dir("acme", tmp_path) is None
    no_folder = _source_tree(tmp_path / "bare", goldens=None)
    assert declared_goldens_dir("acme", no_folder) is None
    assert golden_path(golden, "acme") == golden  # the cwd is outside the tree: the package's


def test_goldens_of_an_installed_plugin_are_written_to_its_declared_source_tree(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tree = _source_tree(tmp_path / "acme-src")
    monkeypatch.chdir(tree / "tests")
    monkeypatch.delenv(GOLDENS_DIR_ENV, raising=False)
    monkeypatch.setenv(UPDATE_GOLDENS_ENV, "1")
    _run()
    written = sorted((tree / "src/gold" / EVENT).glob("*.golden.json"))
    assert written, "no golden written into the declared folder"
    monkeypatch.delenv(UPDATE_GOLDENS_ENV)
    _run()
    written[0].write_text(json.dumps({"outcome": "changed"}))
    with pytest.raises(ContractViolation) as failure:
        _run()  # read from the declared folder too, not from the package
    assert "$.outcome is 'normalized', golden has 'changed'" in str(failure.value)


def test_golden_differences_lists_every_difference() -> None:
    expected = {"a": 1, "b": [1, 2], "c": {"d": "x"}, "gone": True}
    actual = {"a": 2, "b": [1, 3, 4], "c": {"d": "y"}, "new": None}
    assert golden_differences(expected, actual) == [
        "$.a is 2, golden has 1",
        "$.b has 3 items, golden has 2",
        "$.b[1] is 3, golden has 2",
        "$.c.d is 'y', golden has 'x'",
        "$.gone is missing (golden: True)",
        "$.new is new: None",
    ]
    assert golden_differences(expected, expected) == []
