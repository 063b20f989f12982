"""The memory provider as a plugin: light entry point, valid manifest, registry integration."""

from __future__ import annotations

import subprocess
import sys
from importlib.resources import files

import yaml

from kradle_providers.manifest.model import IdempotencyMode, Manifest
from kradle_providers.manifest.validator import validate_manifest
from kradle_providers.models import Interface
from kradle_providers.protocols import OPERATIONS, is_implemented
from kradle_providers.testing.memory import MemoryAdapter
from kradle_providers.testing.memory_events import NORMALIZERS


def _manifest() -> Manifest:
    text = files("kradle_providers.testing").joinpath("memory_manifest.yaml").read_text()
    return Manifest.model_validate(yaml.safe_load(text))


def test_importing_the_entry_point_does_not_import_the_adapter() -> None:
    code = (
        "import sys, kradle_providers.testing.memory_plugin as p\n"
        "heavy = [m for m in ('kradle_providers.testing.memory',"
        " 'kradle_providers.testing.memory_backend', 'kradle_providers.testing.memory_events')"
        " if m in sys.modules]\n"
        "assert not heavy, heavy\n"
        "assert p.MEMORY_PLUGIN.name == 'memory'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_manifest_is_valid_and_declares_every_operation() -> None:
    text = files("kradle_providers.testing").joinpath("memory_manifest.yaml").read_text()
    validate_manifest(yaml.safe_load(text))  # raises ManifestError with findings
    manifest = _manifest()
    assert manifest.supported_interfaces() == list(Interface)
    assert all(manifest.supports(name) for name in OPERATIONS)
    for name, info in OPERATIONS.items():
        decl = manifest.operation(name)
        assert decl is not None
        assert decl.is_write == info.write
        if info.write:
            assert decl.idempotency is not None
            assert decl.requires.permissions and decl.requires.auth_modes == ["token"]
    assert manifest.operation("createIssue").idempotency.mode is IdempotencyMode.NATIVE_KEY  # type: ignore[union-attr]
    assert manifest.operation("syncLabels").idempotency.mode is IdempotencyMode.NATURAL  # type: ignore[union-attr]


def test_every_declared_operation_is_implemented_and_every_event_normalized() -> None:
    manifest = _manifest()
    adapter = MemoryAdapter()
    for info in OPERATIONS.values():
        assert is_implemented(adapter, info.method), info.name
    assert set(manifest.webhook_events()) == set(NORMALIZERS)
    ping = [
        w
        for _, spec in manifest.spec.interfaces.items()
        for w in spec.webhook_entries()
        if w.event == "ping"
    ]
    assert len(ping) == 1 and ping[0].informational


def test_registry_loads_memory_without_findings() -> None:
    from kradle_providers.plugins.registry import load_registry

    registry = load_registry(fresh=True)
    assert "memory" in registry.names()
    assert registry.validate_installed("memory") == []
    assert set(registry.normalizers("memory")) == set(NORMALIZERS)


async def test_lazy_package_attributes() -> None:
    import kradle_providers.testing as testing

    assert testing.MemoryAdapter is MemoryAdapter
    backend = testing.MemoryBackend()
    assert backend.sequence == 0
