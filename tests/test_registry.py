"""The plugin registry: resilient discovery, lazy imports, load errors, lookups."""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
from importlib.metadata import EntryPoint
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kradle_providers.auth.secret import Secret
from kradle_providers.errors import NotFound, PluginLoadError
from kradle_providers.models.base import Interface
from kradle_providers.plugins.hookspecs import hookimpl
from kradle_providers.plugins.registry import (
    ENTRY_POINT_GROUP,
    ONLY_ENV,
    Registry,
    UnknownProvider,
    _parse_only,
    load_registry,
    reset_default_registry,
)
from kradle_providers.plugins.spec import ProviderConfig, ProviderPlugin

FIXTURES = Path(__file__).parent / "plugin_fixtures"
ENTRY_POINTS = {
    "fixture-good": "kradle_fixture_good.plugin",
    "fixture-partial": "kradle_fixture_partial",
    "fixture-broken": "kradle_fixture_broken",
    "fixture-hookfail": "kradle_fixture_hookfail",
    "fixture-badmanifest": "kradle_fixture_badmanifest",
}
LAZY_MODULES = (
    "kradle_fixture_good.adapter",
    "kradle_fixture_good.events",
    "kradle_fixture_good.emulator",
)


def eps(*names: str) -> list[EntryPoint]:
    return [EntryPoint(n, ENTRY_POINTS[n], ENTRY_POINT_GROUP) for n in names]


@pytest.fixture(autouse=True)
def fixture_plugins(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.syspath_prepend(str(FIXTURES))
    monkeypatch.delenv(ONLY_ENV, raising=False)
    reset_default_registry()
    yield
    reset_default_registry()


def test_failing_plugins_are_recorded_and_the_others_load() -> None:
    registry = load_registry(entry_points=eps(*ENTRY_POINTS))
    assert registry.names() == ["fixture-good", "fixture-partial"]
    by_ep = {e.entry_point: e for e in registry.errors}
    assert set(by_ep) == {"fixture-broken", "fixture-hookfail", "fixture-badmanifest"}
    assert "RuntimeError: fixture plugin exploded on import" in by_ep["fixture-broken"].error
    assert "raised ValueError: hook failed while registering" in by_ep["fixture-hookfail"].error
    bad = by_ep["fixture-badmanifest"]
    assert bad.provider == "fixture-badmanifest"
    assert "invalid manifest" in bad.error
    assert "displayName" in bad.error  # the finding names the missing field


def test_plugin_info_lists_interfaces_and_supported_operation_counts() -> None:
    registry = load_registry(entry_points=eps("fixture-good"))
    (info,) = registry.plugins()
    assert info.name == "fixture-good"
    assert info.display_name == "Fixture Good"
    assert info.entry_point == "fixture-good"
    assert info.interfaces == [Interface.ISSUE_TRACKING, Interface.CICD]
    # closeIssue is declared but unsupported: not counted.
    assert info.operation_counts == {
        Interface.ISSUE_TRACKING: 3,
        Interface.CICD: 3,
        Interface.GIT_FORGE: 0,
    }
    assert info.to_dict()["interfaces"] == ["issueTracking", "cicd"]


def test_real_entry_point_discovery_reads_distribution_and_version() -> None:
    registry = load_registry(only=["fixture-good"], fresh=True)
    (info,) = registry.plugins()
    assert (info.distribution, info.version) == ("kradle-fixture-plugins", "0.1.0")
    assert registry.errors == []


def test_only_restricts_which_entry_points_are_imported(monkeypatch: pytest.MonkeyPatch) -> None:
    loaded: list[str] = []

    class Tracking(EntryPoint):
        def load(self):  # type: ignore[no-untyped-def]
            loaded.append(self.name)
            return super().load()

    points = [Tracking(n, v, ENTRY_POINT_GROUP) for n, v in ENTRY_POINTS.items()]
    registry = load_registry(only="fixture-good, fixture-partial", entry_points=points)
    assert loaded == ["fixture-good", "fixture-partial"]
    assert registry.errors == []

    loaded.clear()
    monkeypatch.setenv(ONLY_ENV, "fixture-partial")
    load_registry(entry_points=points)
    assert loaded == ["fixture-partial"]


def test_env_only_applies_to_real_discovery(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ONLY_ENV, "fixture-good,fixture-broken")
    registry = load_registry()
    assert "fixture-good" in registry.names()
    assert "fixture-partial" not in registry.names()
    assert [e.entry_point for e in registry.errors] == ["fixture-broken"]


@given(
    names=st.lists(st.from_regex(r"[a-z][a-z0-9-]{0,12}", fullmatch=True), max_size=6),
    pad=st.sampled_from(["", " ", "  ", "\t"]),
)
def test_only_parser_round_trips_comma_separated_names(names: list[str], pad: str) -> None:
    raw = ",".join(f"{pad}{n}{pad}" for n in names) + ("," if names else "")
    assert _parse_only(raw) == set(names)
    assert _parse_only(names) == set(names)


def test_default_registry_is_cached_and_fresh_is_not() -> None:
    first = load_registry(only=["fixture-good"])
    assert load_registry(only=["fixture-good"]) is first
    assert load_registry(only=["fixture-good"], fresh=True) is not first
    reset_default_registry()
    assert load_registry(only=["fixture-good"]) is not first


def test_duplicate_provider_name_is_a_load_error_for_the_second() -> None:
    class Twin:
        def __init__(self, marker: str) -> None:
            self.marker = marker

        @hookimpl
        def kradle_register_providers(self, register) -> None:  # type: ignore[no-untyped-def]
            register(
                ProviderPlugin(
                    name="fixture-good",
                    manifest="kradle_fixture_good:manifest.yaml",
                    adapter="kradle_fixture_good.adapter:FixtureAdapter",
                )
            )

    registry = Registry()
    registry.register_plugin_object(Twin("a"), entry_point="first", distribution="dist-a")
    registry.register_plugin_object(Twin("b"), entry_point="second", distribution="dist-b")
    assert registry.names() == ["fixture-good"]
    (error,) = registry.errors
    assert (error.entry_point, error.distribution, error.provider) == (
        "second",
        "dist-b",
        "fixture-good",
    )
    assert "duplicate provider name" in error.error and "'first'" in error.error


def test_manifest_provider_type_must_equal_registered_name() -> None:
    registry = Registry()
    ok = registry.add_provider(
        ProviderPlugin(
            name="other-name",
            manifest="kradle_fixture_good:manifest.yaml",
            adapter="kradle_fixture_good.adapter:FixtureAdapter",
        ),
        entry_point="ep",
    )
    assert not ok
    assert "providerType 'fixture-good' differs" in registry.errors[0].error


def test_missing_manifest_resource_is_a_load_error() -> None:
    registry = Registry()
    registry.add_provider(
        ProviderPlugin(
            name="ghost",
            manifest="kradle_fixture_good:nope.yaml",
            adapter="x:y",
        ),
        entry_point="ghost",
    )
    assert registry.names() == []
    assert registry.errors[0].provider == "ghost"


def test_plugin_registering_nothing_is_reported() -> None:
    registry = Registry()
    registry.register_plugin_object(object(), entry_point="empty")
    assert "registered no provider" in registry.errors[0].error


def test_load_error_text_is_redacted() -> None:
    canary = "sk-fixture-canary-7f3a9c1e"
    Secret(canary)

    class Leaky(EntryPoint):
        def load(self):  # type: ignore[no-untyped-def]
            raise RuntimeError(f"could not authenticate with {canary}")

    registry = load_registry(entry_points=[Leaky("leaky", "x", ENTRY_POINT_GROUP)])
    (error,) = registry.errors
    assert canary not in error.error and canary not in str(error)
    assert "could not authenticate with ***" in error.error


def test_unknown_provider_lists_installed_names() -> None:
    registry = load_registry(entry_points=eps("fixture-good", "fixture-partial"))
    with pytest.raises(UnknownProvider) as info:
        registry.manifest("gitlab")
    assert isinstance(info.value, NotFound)
    assert "fixture-good, fixture-partial" in str(info.value)
    with pytest.raises(UnknownProvider):
        registry.plugin("gitlab")
    with pytest.raises(UnknownProvider):
        registry.create_adapter("gitlab", ProviderConfig())


def test_unknown_provider_that_failed_to_load_says_so() -> None:
    registry = load_registry(entry_points=eps("fixture-badmanifest"))
    with pytest.raises(UnknownProvider, match="failed to load: invalid manifest"):
        registry.manifest("fixture-badmanifest")


def test_adapter_normalizers_and_emulator_are_imported_on_first_use() -> None:
    for name in LAZY_MODULES:
        sys.modules.pop(name, None)
    registry = load_registry(entry_points=eps("fixture-good"))
    assert registry.manifest("fixture-good").provider_type == "fixture-good"
    assert not any(name in sys.modules for name in LAZY_MODULES)

    guarded = registry.create_adapter("fixture-good", ProviderConfig(instance="acme"))
    assert "kradle_fixture_good.adapter" in sys.modules
    assert guarded.instance == "acme"
    assert guarded.manifest is registry.manifest("fixture-good")

    normalizers = registry.normalizers("fixture-good")
    assert set(normalizers) == {"issue.created", "ping"}
    assert registry.normalizers("fixture-good") is normalizers

    factory = registry.emulator_factory("fixture-good")
    assert factory is not None and factory(port=1)["emulator"] == "fixture-good"
    assert registry.harness_factory("fixture-good") is None


def test_adapter_factory_errors(tmp_path: Path) -> None:
    canary = "glpat-fixture-canary-0042"
    Secret(canary)
    pkg = tmp_path / "kradle_fixture_factories2.py"
    pkg.write_text(
        "def raising(config):\n"
        f"    raise ValueError('bad token {canary}')\n"
        "def not_an_adapter(config):\n"
        "    return object()\n"
    )
    sys.path.insert(0, str(tmp_path))
    importlib.invalidate_caches()
    try:
        registry = Registry()
        manifest_path = str(FIXTURES / "kradle_fixture_good" / "manifest.yaml")
        for attr in ("raising", "not_an_adapter", "missing"):
            registry._entries.clear()
            registry.add_provider(
                ProviderPlugin(
                    name="fixture-good",
                    manifest=manifest_path,
                    adapter=f"kradle_fixture_factories2:{attr}",
                ),
                entry_point=attr,
            )
            with pytest.raises(PluginLoadError) as info:
                registry.create_adapter("fixture-good")
            assert canary not in str(info.value)
            expected = {
                "raising": "raising' failed: ValueError: bad token ***",
                "not_an_adapter": "returned object, not a ProviderAdapter subclass",
                "missing": "'missing' not found",
            }[attr]
            assert expected in str(info.value)
    finally:
        sys.path.remove(str(tmp_path))
        sys.modules.pop("kradle_fixture_factories2", None)


def test_validate_installed_passes_for_a_consistent_plugin() -> None:
    registry = load_registry(entry_points=eps("fixture-good"))
    assert registry.validate_installed("fixture-good") == []


def test_validate_installed_names_unimplemented_operations_and_missing_normalizers() -> None:
    registry = load_registry(entry_points=eps("fixture-partial"))
    findings = registry.validate_installed("fixture-partial")
    assert [f.path for f in findings] == [
        "$.spec.interfaces.gitForge.operations[1]",
        "$.spec.interfaces.gitForge.webhooks[1]",
    ]
    op, hook = findings
    assert "getPullRequest" in op.message and "PartialAdapter" in op.message
    assert "implement PartialAdapter.get_pull_request" in op.fix
    assert "informational webhook event 'push' has no normalizer" in hook.message
    assert "add 'push' to the normalizers mapping" in hook.fix


SUBPROCESS_SCRIPT = """
import json, sys
from kradle_providers.plugins.registry import load_registry
registry = load_registry()
infos = registry.plugins()
lazy = []
for info in infos:
    plugin = registry.plugin(info.name)
    for ref in (plugin.adapter, plugin.normalizers, plugin.emulator, plugin.harness):
        if ref:
            lazy.append(ref.partition(":")[0])
heavy = ["httpx", "cryptography", "jwt", "starlette", "uvicorn"]
print(json.dumps({
    "names": [i.name for i in infos],
    "errors": [e.entry_point for e in registry.errors],
    "lazy": sorted(set(lazy)),
    "lazy_imported": sorted(m for m in set(lazy) if m in sys.modules),
    "heavy_imported": sorted(m for m in heavy if m in sys.modules),
}))
"""


@pytest.fixture(scope="module")
def listing_in_fresh_process() -> dict[str, list[str]]:
    """List installed plugins plus the fixtures in a new interpreter; report its imports."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(FIXTURES), *filter(None, [env.get("PYTHONPATH")])])
    env.pop(ONLY_ENV, None)
    proc = subprocess.run(
        [sys.executable, "-c", SUBPROCESS_SCRIPT],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    result: dict[str, list[str]] = json.loads(proc.stdout)
    return result


def test_listing_plugins_imports_no_adapter_normalizer_or_emulator_module(
    listing_in_fresh_process: dict[str, list[str]],
) -> None:
    result = listing_in_fresh_process
    assert {"fixture-good", "fixture-partial"} <= set(result["names"])
    # A plugin raising on import (and one whose hook raises) did not stop the others.
    assert {"fixture-broken", "fixture-hookfail", "fixture-badmanifest"} <= set(result["errors"])
    assert "kradle_fixture_good.adapter" in result["lazy"]
    assert result["lazy_imported"] == []


def test_listing_plugins_imports_no_http_or_crypto_stack(
    listing_in_fresh_process: dict[str, list[str]],
) -> None:
    assert listing_in_fresh_process["heavy_imported"] == [], (
        "listing plugins imported an HTTP/crypto stack; find the eager import with "
        "`python -X importtime -c 'from kradle_providers.plugins.registry import load_registry; "
        "load_registry().plugins()'`"
    )
