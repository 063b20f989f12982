"""The command stays light: what ``--help`` and ``plugins`` import, and the manifest summary cache.

Behaviour, not timing (benchmarks/cli.py times the commands): every check runs a
fresh interpreter and reads its ``sys.modules``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from importlib.metadata import EntryPoint
from pathlib import Path

import pytest

from kradle_providers.plugins.manifest_source import ManifestSummary, SummaryCache
from kradle_providers.plugins.registry import ENTRY_POINT_GROUP, Registry

HEAVY = (
    "pydantic",
    "httpx",
    "yaml",
    "jsonschema",
    "starlette",
    "kradle_providers.manifest.model",
    "kradle_providers.manifest.validator",
    "kradle_providers.models.events",
    "kradle_providers.testing.emulator.app",
)

FIXTURES = Path(__file__).parent / "plugin_fixtures"


def modules_after(code: str, env: dict[str, str] | None = None) -> tuple[set[str], str]:
    """The modules a fresh interpreter holds after ``code`` (which prints to stdout)."""
    script = (
        "import contextlib, io, json, sys\n"
        "out = io.StringIO()\n"
        "with contextlib.redirect_stdout(out):\n"
        + "".join(f"    {line}\n" for line in code.splitlines())
        + "print(json.dumps({'modules': sorted(sys.modules), 'out': out.getvalue()}))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, **(env or {})},
    )
    data = json.loads(done.stdout.splitlines()[-1])
    return set(data["modules"]), data["out"]


def heavy(modules: set[str]) -> list[str]:
    return sorted(m for m in HEAVY if m in modules)


def test_importing_the_cli_and_building_its_parser_imports_nothing_heavy() -> None:
    modules, _ = modules_after("from kradle_providers.cli import build_parser\nbuild_parser()")
    assert heavy(modules) == []
    assert "asyncio" not in modules


def test_help_lists_every_command_without_importing_them() -> None:
    modules, out = modules_after(
        "from kradle_providers.cli import main\n"
        "try:\n    main(['--help'])\nexcept SystemExit:\n    pass"
    )
    assert heavy(modules) == []
    for command in ("plugins", "manifest", "emulator", "sync", "webhook", "schemas"):
        assert command in out


def test_plugins_lists_from_the_cache_without_pydantic(tmp_path: Path) -> None:
    env = {"KRADLE_CACHE_DIR": str(tmp_path)}
    code = "from kradle_providers.cli import main\nmain(['plugins', '--json'])"
    first_modules, first = modules_after(code, env)
    assert "kradle_providers.manifest.validator" in first_modules  # validated once
    second_modules, second = modules_after(code, env)
    assert heavy(second_modules) == []
    assert json.loads(second) == json.loads(first)
    assert json.loads(second)["plugins"], "the workspace's plugins are installed"


def registry_of(cache: SummaryCache, *names: str) -> Registry:
    registry = Registry(summaries=cache)
    registry.load_entry_points([EntryPoint(n, v, ENTRY_POINT_GROUP) for n, v in names])
    return registry


@pytest.fixture
def plugin_copy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the good fixture plugin whose manifest a test may edit."""
    root = tmp_path / "site"
    shutil.copytree(FIXTURES / "kradle_fixture_good", root / "kradle_fixture_good")
    monkeypatch.syspath_prepend(str(root))
    for name in list(sys.modules):
        if name.startswith("kradle_fixture_good"):
            monkeypatch.delitem(sys.modules, name)
    return root / "kradle_fixture_good"


def test_a_cached_manifest_lists_the_same_and_loads_its_model_on_use(
    tmp_path: Path, plugin_copy: Path
) -> None:
    ep = ("fixture-good", "kradle_fixture_good.plugin")
    fresh = registry_of(SummaryCache(tmp_path / "cache"), ep)
    cached = registry_of(SummaryCache(tmp_path / "cache"), ep)
    (a,), (b,) = fresh.plugins(), cached.plugins()
    assert (a.display_name, a.interfaces, a.operation_counts) == (
        b.display_name,
        b.interfaces,
        b.operation_counts,
    )
    assert b.manifest == a.manifest  # built on first use from the same file
    assert ManifestSummary.of(b.manifest) == ManifestSummary.of(a.manifest)


def test_an_edited_manifest_is_validated_again_and_an_invalid_one_always_reported(
    tmp_path: Path, plugin_copy: Path
) -> None:
    ep = ("fixture-good", "kradle_fixture_good.plugin")
    registry_of(SummaryCache(tmp_path / "cache"), ep)  # cached while valid
    manifest = next(plugin_copy.glob("*.yaml"))
    text = manifest.read_text()
    manifest.write_text(text.replace("displayName", "displayNam"))
    for _ in range(2):  # the broken text is never cached: reported on every discovery
        broken = registry_of(SummaryCache(tmp_path / "cache"), ep)
        assert broken.names() == []
        (error,) = broken.errors
        assert "invalid manifest" in error.error
        assert "displayName" in error.error
    manifest.write_text(text.replace("Fixture Good", "Fixture Renamed"))
    (info,) = registry_of(SummaryCache(tmp_path / "cache"), ep).plugins()
    assert info.display_name == "Fixture Renamed"


def test_each_area_registers_exactly_the_commands_mapped_to_it() -> None:
    import argparse
    import importlib

    from kradle_providers.cli import COMMANDS

    for area in set(COMMANDS.values()):
        sub = argparse.ArgumentParser().add_subparsers()
        importlib.import_module(area).register(sub)
        assert set(sub.choices) == {c for c, a in COMMANDS.items() if a == area}, area


def test_a_command_imports_only_its_own_area() -> None:
    modules, _ = modules_after(
        "from kradle_providers.cli import build_parser\nbuild_parser('sync')"
    )
    assert "kradle_providers.sync.cli" in modules
    assert "kradle_providers.testing.emulator.cli" not in modules
    assert "kradle_providers.plugins.cli" not in modules
