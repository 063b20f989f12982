"""Validation of a manifest against the installed plugin's code (SPEC §5, last check).

Every operation the manifest declares supported must be really implemented by
the adapter class (overridden, not the protocol's raising default), and every
webhook event it declares must have a normalizer.
"""

from __future__ import annotations

import inspect
import typing
from collections.abc import Mapping
from typing import Any

from kradle_providers.errors import ManifestFinding, PluginLoadError
from kradle_providers.manifest.model import Manifest
from kradle_providers.plugins.lazy import import_string
from kradle_providers.plugins.spec import ProviderPlugin
from kradle_providers.protocols.adapter import ProviderAdapter
from kradle_providers.protocols.interfaces import UNSUPPORTED_MARK
from kradle_providers.protocols.operations import OPERATIONS

__all__ = ["adapter_class", "has_normalizer", "validate_installed"]


def adapter_class(factory: Any) -> type[ProviderAdapter] | None:
    """The adapter class behind an adapter factory, found without calling it.

    Accepts the class itself, a classmethod bound to it (``Adapter.from_config``)
    or a function whose return annotation names a ProviderAdapter subclass.
    """
    candidate: Any = None
    if inspect.isclass(factory):
        candidate = factory
    elif inspect.ismethod(factory) and inspect.isclass(factory.__self__):
        candidate = factory.__self__
    elif callable(factory):
        try:
            candidate = typing.get_type_hints(factory).get("return")
        except Exception:  # unresolvable annotations: treat as unknown
            candidate = None
    if inspect.isclass(candidate) and issubclass(candidate, ProviderAdapter):
        return candidate
    return None


def has_normalizer(event: str, normalizers: Mapping[str, Any]) -> bool:
    """Whether ``event`` has a normalizer, looked up as the receiver looks it up."""
    from kradle_providers.webhooks.registry import find_normalizer

    return find_normalizer(normalizers, event) is not None


def _implements(cls: type[ProviderAdapter], method: str) -> bool:
    impl = getattr(cls, method, None)
    return impl is not None and not getattr(impl, UNSUPPORTED_MARK, False)


def validate_installed(plugin: ProviderPlugin, manifest: Manifest) -> list[ManifestFinding]:
    """Findings (JSON path, problem, fix) where the installed code falls short of the manifest."""
    findings: list[ManifestFinding] = []
    try:
        factory = import_string(plugin.adapter, what=f"{plugin.name} adapter")
    except PluginLoadError as exc:
        findings.append(
            ManifestFinding(
                "$.spec.interfaces",
                f"cannot check operations: {exc}",
                f"make {plugin.adapter!r} importable",
            )
        )
        cls = None
    else:
        cls = adapter_class(factory)
        if cls is None:
            findings.append(
                ManifestFinding(
                    "$.spec.interfaces",
                    f"cannot find the adapter class behind {plugin.adapter!r}",
                    "register the ProviderAdapter subclass, a classmethod of it, or a "
                    "function annotated to return it",
                )
            )
    normalizers: Mapping[str, Any] = {}
    normalizers_ok = True
    if plugin.normalizers is not None:
        try:
            loaded = import_string(plugin.normalizers, what=f"{plugin.name} normalizers")
        except PluginLoadError as exc:
            findings.append(
                ManifestFinding(
                    "$.spec.interfaces",
                    f"cannot check webhook events: {exc}",
                    f"make {plugin.normalizers!r} importable",
                )
            )
            normalizers_ok = False
        else:
            if isinstance(loaded, Mapping):
                normalizers = loaded
            else:
                findings.append(
                    ManifestFinding(
                        "$.spec.interfaces",
                        f"{plugin.normalizers!r} is a {type(loaded).__name__}, not a mapping",
                        "export a dict of native event name -> normalizer",
                    )
                )
                normalizers_ok = False

    for iface, spec in manifest.spec.interfaces.items():
        if not spec.supported:
            continue
        base = f"$.spec.interfaces.{iface.value}"
        if cls is not None:
            for index, decl in enumerate(spec.operation_entries()):
                info = OPERATIONS.get(decl.operation)
                if not decl.supported or info is None or info.interface is not iface:
                    continue  # unknown/misplaced names are the manifest validator's findings
                if not _implements(cls, info.method):
                    findings.append(
                        ManifestFinding(
                            f"{base}.operations[{index}]",
                            f"{decl.operation} is declared supported but "
                            f"{cls.__qualname__} does not implement {info.method}()",
                            f"implement {cls.__qualname__}.{info.method} or declare "
                            f"{decl.operation} with supported: false and a reason",
                        )
                    )
        if not normalizers_ok:
            continue
        for index, hook in enumerate(spec.webhook_entries()):
            if not has_normalizer(hook.event, normalizers):
                kind = "informational " if hook.informational else ""
                findings.append(
                    ManifestFinding(
                        f"{base}.webhooks[{index}]",
                        f"{kind}webhook event {hook.event!r} has no normalizer"
                        + ("" if plugin.normalizers else " (the plugin registers no normalizers)"),
                        f"add {hook.event!r} to the normalizers mapping "
                        + (
                            "(an informational event's normalizer returns outcome=ignored) "
                            if hook.informational
                            else ""
                        )
                        + "or remove the event from the manifest",
                    )
                )
    return findings
