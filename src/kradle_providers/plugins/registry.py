"""The plugin registry: discovers provider plugins through entry points and pluggy.

Discovery imports each entry-point module (kept light by convention), calls its
``kradle_register_providers`` hook and checks each provider's manifest (package
data): a manifest whose text validated before is known from its cached summary
(:class:`~kradle_providers.plugins.manifest_source.SummaryCache`) and its model is
built on first use, so listing plugins imports neither pydantic nor the validator.
Adapters, normalizers, emulators and harnesses are imported only when a
provider is used. A plugin that fails (import error, raising hook, invalid
manifest, duplicate name) becomes a :class:`LoadError`; the others still load.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import metadata
from typing import TYPE_CHECKING, Any, Protocol

import pluggy

from kradle_providers.auth.secret import redact
from kradle_providers.errors import (
    KradleError,
    ManifestError,
    ManifestFinding,
    NotFound,
    PluginLoadError,
)
from kradle_providers.models.interface import Interface
from kradle_providers.plugins import hookspecs
from kradle_providers.plugins.lazy import import_string
from kradle_providers.plugins.manifest_source import (
    ManifestSummary,
    SummaryCache,
    manifest_text,
    read_manifest,
)
from kradle_providers.plugins.spec import ProviderConfig, ProviderPlugin

if TYPE_CHECKING:  # imported lazily at run time to keep discovery light
    from kradle_providers.auth.forms import AuthForm
    from kradle_providers.manifest.model import Manifest
    from kradle_providers.plugins.guard import GuardedAdapter
    from kradle_providers.webhooks.normalizer import EventNormalizer
    from kradle_providers.webhooks.spec import WebhookSpec

__all__ = [
    "ENTRY_POINT_GROUP",
    "ONLY_ENV",
    "EntryPointLike",
    "LoadError",
    "PluginInfo",
    "Registry",
    "UnknownProvider",
    "load_registry",
    "reset_default_registry",
]

ENTRY_POINT_GROUP = "kradle_providers"
"""The entry-point group provider plugins register under."""

ONLY_ENV = "KRADLE_PROVIDERS_ONLY"
"""Comma-separated entry-point names to load; the others are not imported at all."""

_PROVIDER_NAME = re.compile(r"^[a-z][a-z0-9-]*$")


class EntryPointLike(Protocol):
    """What the registry needs of an entry point (``importlib.metadata.EntryPoint`` fits)."""

    @property
    def name(self) -> str: ...

    @property
    def value(self) -> str: ...

    def load(self) -> Any: ...


@dataclass(frozen=True)
class LoadError:
    """A plugin (or one provider of it) that could not be loaded.

    ``entry_point`` is the entry-point name, ``distribution`` the installed
    distribution when known, ``provider`` the provider name when the failure is
    about one provider, ``error`` the cause with secrets redacted.
    """

    entry_point: str
    distribution: str | None
    error: str
    provider: str | None = None

    def __str__(self) -> str:
        dist = f" ({self.distribution})" if self.distribution else ""
        what = f" provider {self.provider!r}" if self.provider else ""
        return f"plugin {self.entry_point!r}{dist}{what}: {self.error}"

    def to_dict(self) -> dict[str, str | None]:
        return {
            "entry_point": self.entry_point,
            "distribution": self.distribution,
            "provider": self.provider,
            "error": self.error,
        }


@dataclass(frozen=True)
class PluginInfo:
    """An installed provider as listings show it."""

    name: str
    version: str | None
    distribution: str | None
    entry_point: str
    display_name: str
    interfaces: list[Interface]
    operation_counts: dict[Interface, int]
    _manifest: Callable[[], Manifest] = field(repr=False, compare=False)

    @property
    def manifest(self) -> Manifest:
        """The provider's manifest (its model is built on first use)."""
        return self._manifest()

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "display_name": self.display_name,
            "version": self.version,
            "distribution": self.distribution,
            "entry_point": self.entry_point,
            "interfaces": [i.value for i in self.interfaces],
            "operation_counts": {i.value: n for i, n in self.operation_counts.items()},
        }


class UnknownProvider(NotFound):
    """No installed provider has this name; the message lists the installed ones."""

    def __init__(self, name: str, installed: Iterable[str], load_error: LoadError | None = None):
        names = sorted(installed)
        self.name = name
        self.installed = names
        if load_error is not None:
            message = (
                f"provider {name!r} is installed but failed to load: {load_error.error}; "
                "fix the plugin and retry (`kradle-providers plugins` lists load errors)"
            )
        else:
            listed = ", ".join(names) if names else "none"
            message = (
                f"no provider named {name!r} is installed (installed: {listed}); "
                "install its plugin distribution or check the name"
            )
        super().__init__(message, provider=name)


@dataclass
class _Entry:
    plugin: ProviderPlugin
    summary: ManifestSummary
    entry_point: str
    distribution: str | None
    version: str | None
    loaded: Manifest | None = None
    normalizers: Mapping[str, Any] | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def manifest(self) -> Manifest:
        """The validated manifest, built on first use when its summary came from the cache."""
        with self.lock:
            if self.loaded is None:
                try:
                    self.loaded = read_manifest(self.plugin.manifest)
                except ManifestError as exc:  # it validated when discovered: edited since
                    raise PluginLoadError(
                        redact(
                            f"the {self.summary.provider_type} manifest "
                            f"{self.plugin.manifest!r} changed since discovery and is now "
                            f"invalid: {exc}"
                        )
                    ) from exc
            return self.loaded


def _dist_of(ep: EntryPointLike) -> tuple[str | None, str | None]:
    dist = getattr(ep, "dist", None)
    if dist is None:
        return None, None
    try:
        return dist.metadata["Name"], dist.version
    except Exception:  # a broken dist-info must not break listing
        return None, None


def _parse_only(only: Iterable[str] | str | None) -> set[str] | None:
    if only is None:
        raw = os.environ.get(ONLY_ENV, "").strip()
        if not raw:
            return None
        only = raw
    if isinstance(only, str):
        only = only.split(",")
    names = {n.strip() for n in only if n.strip()}
    return names


class Registry:
    """The installed provider plugins, their manifests and their load errors."""

    def __init__(self, *, summaries: SummaryCache | None = None) -> None:
        self._entries: dict[str, _Entry] = {}
        self._errors: list[LoadError] = []
        self._pm = pluggy.PluginManager(hookspecs.PROJECT_NAME)
        self._pm.add_hookspecs(hookspecs)
        # No cache unless given one: load_registry passes the user's.
        self._summaries = summaries if summaries is not None else SummaryCache(enabled=False)

    # -- loading ---------------------------------------------------------------

    def load_entry_points(self, entry_points: Iterable[EntryPointLike]) -> None:
        """Import each entry point and register what its hook declares; failures are recorded."""
        for ep in entry_points:
            dist_name, dist_version = _dist_of(ep)
            try:
                module = ep.load()
            except Exception as exc:  # a broken plugin must not stop the others
                self._record(ep.name, dist_name, f"import failed: {type(exc).__name__}: {exc}")
                continue
            self.register_plugin_object(
                module, entry_point=ep.name, distribution=dist_name, version=dist_version
            )
        self._summaries.save()

    def register_plugin_object(
        self,
        plugin_object: object,
        *,
        entry_point: str,
        distribution: str | None = None,
        version: str | None = None,
    ) -> None:
        """Register a pluggy plugin (module or object with hookimpls) and collect its providers."""
        try:
            self._pm.register(plugin_object, name=entry_point)
        except Exception as exc:  # bad hookimpl signature, name clash
            self._record(entry_point, distribution, f"not a valid plugin: {exc}")
            return
        collected: list[ProviderPlugin] = []

        def register(provider: ProviderPlugin) -> None:
            collected.append(provider)

        others = [p for p in self._pm.get_plugins() if p is not plugin_object]
        caller = self._pm.subset_hook_caller("kradle_register_providers", remove_plugins=others)
        try:
            caller(register=register)
        except Exception as exc:  # a raising hook is this plugin's failure only
            self._record(
                entry_point,
                distribution,
                f"kradle_register_providers raised {type(exc).__name__}: {exc}",
            )
            return
        if not collected:
            self._record(
                entry_point,
                distribution,
                "registered no provider; its module must implement the "
                "kradle_register_providers hook (decorated with hookimpl)",
            )
        for provider in collected:
            self.add_provider(
                provider, entry_point=entry_point, distribution=distribution, version=version
            )

    def add_provider(
        self,
        provider: ProviderPlugin,
        *,
        entry_point: str,
        distribution: str | None = None,
        version: str | None = None,
    ) -> bool:
        """Add one provider after reading its manifest; False (and a load error) on failure."""
        distribution = provider.distribution or distribution
        version = provider.version or version
        if not isinstance(provider, ProviderPlugin):
            self._record(
                entry_point,
                distribution,
                f"register() was called with {type(provider).__name__}, not ProviderPlugin",
            )
            return False
        name = provider.name
        if not _PROVIDER_NAME.match(name):
            self._record(
                entry_point,
                distribution,
                "provider name must be lowercase letters, digits and dashes",
                provider=name,
            )
            return False
        if name in self._entries:
            first = self._entries[name]
            self._record(
                entry_point,
                distribution,
                f"duplicate provider name {name!r}: already registered by plugin "
                f"{first.entry_point!r} ({first.distribution or 'unknown distribution'}); "
                "uninstall one of the two distributions",
                provider=name,
            )
            return False
        try:
            manifest, summary = self._read_manifest(provider.manifest)
        except ManifestError as exc:
            self._record(entry_point, distribution, f"invalid manifest: {exc}", provider=name)
            return False
        except Exception as exc:  # a broken loader must not break listing
            self._record(
                entry_point,
                distribution,
                f"cannot read manifest {provider.manifest!r}: {type(exc).__name__}: {exc}",
                provider=name,
            )
            return False
        if summary.provider_type != name:
            self._record(
                entry_point,
                distribution,
                f"manifest providerType {summary.provider_type!r} differs from the "
                f"registered name {name!r}; make them equal",
                provider=name,
            )
            return False
        self._entries[name] = _Entry(
            provider, summary, entry_point, distribution, version, loaded=manifest
        )
        return True

    def _read_manifest(self, ref: str) -> tuple[Manifest | None, ManifestSummary]:
        """The manifest's summary: cached when this text validated before, else validated now
        (then the model is returned too). Raises what :func:`read_manifest` raises."""
        try:
            key: str | None = SummaryCache.key(manifest_text(ref))
        except Exception:  # unreadable: read_manifest explains it
            key = None
        if key is not None:
            cached = self._summaries.get(key)
            if cached is not None:
                return None, cached
        manifest = read_manifest(ref)
        summary = ManifestSummary.of(manifest)
        if key is not None:
            self._summaries.put(key, summary)
        return manifest, summary

    def _record(
        self, entry_point: str, distribution: str | None, error: str, provider: str | None = None
    ) -> None:
        self._errors.append(LoadError(entry_point, distribution, redact(error), provider))

    # -- queries ---------------------------------------------------------------

    @property
    def errors(self) -> list[LoadError]:
        """Every plugin or provider that failed to load, in discovery order."""
        return list(self._errors)

    def names(self) -> list[str]:
        """Installed provider names, sorted."""
        return sorted(self._entries)

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def plugins(self) -> list[PluginInfo]:
        """Every loaded provider with version, interfaces and supported-operation counts."""
        infos: list[PluginInfo] = []
        for name in self.names():
            entry = self._entries[name]
            summary = entry.summary
            infos.append(
                PluginInfo(
                    name=name,
                    version=entry.version,
                    distribution=entry.distribution,
                    entry_point=entry.entry_point,
                    display_name=summary.display_name,
                    interfaces=[Interface(i) for i in summary.interfaces],
                    operation_counts={Interface(i): n for i, n in summary.operation_counts.items()},
                    _manifest=lambda entry=entry: entry.manifest,  # type: ignore[misc]
                )
            )
        return infos

    def _entry(self, name: str) -> _Entry:
        entry = self._entries.get(name)
        if entry is None:
            failed = next((e for e in self._errors if e.provider == name), None)
            if failed is None:
                failed = next(
                    (e for e in self._errors if e.entry_point == name and e.provider is None),
                    None,
                )
            raise UnknownProvider(name, self._entries, failed)
        return entry

    def manifest(self, name: str) -> Manifest:
        """The manifest of provider ``name``; :class:`UnknownProvider` if not installed."""
        return self._entry(name).manifest

    def plugin(self, name: str) -> ProviderPlugin:
        """The registration of provider ``name``."""
        return self._entry(name).plugin

    def create_adapter(self, name: str, config: ProviderConfig | None = None) -> GuardedAdapter:
        """Import the adapter (first use), build it from ``config`` and guard it by the manifest."""
        from kradle_providers.plugins.guard import GuardedAdapter
        from kradle_providers.protocols.adapter import ProviderAdapter

        entry = self._entry(name)
        factory = import_string(entry.plugin.adapter, what=f"{name} adapter")
        config = config if config is not None else ProviderConfig()
        try:
            adapter = factory(config)
        except KradleError:
            raise
        except Exception as exc:
            raise PluginLoadError(
                redact(
                    f"the {name} adapter factory {entry.plugin.adapter!r} failed: "
                    f"{type(exc).__name__}: {exc}; check the ProviderConfig"
                )
            ) from exc
        if not isinstance(adapter, ProviderAdapter):
            raise PluginLoadError(
                f"the {name} adapter factory {entry.plugin.adapter!r} returned "
                f"{type(adapter).__name__}, not a ProviderAdapter subclass"
            )
        # ignore: mypy takes the protocols' stub bodies for abstract methods (spine typing gap).
        return GuardedAdapter(adapter, entry.manifest)

    def normalizers(self, name: str) -> Mapping[str, EventNormalizer]:
        """Native event name -> normalizer for provider ``name`` (imported on first use)."""
        entry = self._entry(name)
        with entry.lock:
            if entry.normalizers is None:
                ref = entry.plugin.normalizers
                if ref is None:
                    entry.normalizers = {}
                else:
                    value = import_string(ref, what=f"{name} normalizers")
                    if not isinstance(value, Mapping):
                        raise PluginLoadError(
                            f"{name} normalizers {ref!r} is a {type(value).__name__}, "
                            "not a mapping of event name -> normalizer"
                        )
                    entry.normalizers = value
            return entry.normalizers

    def webhook_spec(self, name: str) -> WebhookSpec | None:
        """The provider's webhook declaration (imported on first use), or None if it has none."""
        from kradle_providers.webhooks.spec import WebhookSpec

        ref = self._entry(name).plugin.webhooks
        if ref is None:
            return None
        value = import_string(ref, what=f"{name} webhooks")
        if not isinstance(value, WebhookSpec):
            raise PluginLoadError(
                f"{name} webhooks {ref!r} is a {type(value).__name__}, not a WebhookSpec"
            )
        return value

    def auth_forms(self, name: str) -> tuple[AuthForm, ...]:
        """The credential forms the provider's plugin adds to bindings (may be empty)."""
        from kradle_providers.auth.forms import AuthForm

        ref = self._entry(name).plugin.auth_forms
        if ref is None:
            return ()
        value = import_string(ref, what=f"{name} auth forms")
        if isinstance(value, AuthForm):
            value = (value,)
        if not isinstance(value, Sequence) or not all(isinstance(f, AuthForm) for f in value):
            raise PluginLoadError(f"{name} auth forms {ref!r} is not a sequence of AuthForm")
        return tuple(value)

    def emulator_factory(self, name: str) -> Callable[..., Any] | None:
        """The provider's emulator factory (imported on first use), or None if it ships none."""
        return self._factory(name, self._entry(name).plugin.emulator, "emulator")

    def harness_factory(self, name: str) -> Callable[..., Any] | None:
        """The provider's contract-test harness factory, or None if it ships none."""
        return self._factory(name, self._entry(name).plugin.harness, "harness")

    @staticmethod
    def _factory(name: str, ref: str | None, what: str) -> Callable[..., Any] | None:
        if ref is None:
            return None
        value = import_string(ref, what=f"{name} {what}")
        if not callable(value):
            raise PluginLoadError(f"{name} {what} {ref!r} is not callable")
        return value  # type: ignore[no-any-return]

    def validate_installed(self, name: str) -> list[ManifestFinding]:
        """Check the manifest against the installed code (see :mod:`.installed`)."""
        from kradle_providers.plugins.installed import validate_installed

        entry = self._entry(name)
        return validate_installed(entry.plugin, entry.manifest)


_default: dict[frozenset[str] | None, Registry] = {}
_default_lock = threading.Lock()


def _select(
    entry_points: Iterable[EntryPointLike] | None, only: set[str] | None
) -> list[EntryPointLike]:
    eps: Iterable[EntryPointLike] = (
        entry_points if entry_points is not None else metadata.entry_points(group=ENTRY_POINT_GROUP)
    )
    seen: set[str] = set()
    chosen: list[EntryPointLike] = []
    for ep in eps:
        if only is not None and ep.name not in only:
            continue  # never imported
        # The same distribution on sys.path twice yields the same entry point twice.
        key = f"{ep.name}={ep.value}"
        if key in seen:
            continue
        seen.add(key)
        chosen.append(ep)
    return chosen


def load_registry(
    *,
    only: Iterable[str] | str | None = None,
    entry_points: Iterable[EntryPointLike] | None = None,
    fresh: bool = False,
) -> Registry:
    """The registry of installed provider plugins.

    ``only`` (default: ``$KRADLE_PROVIDERS_ONLY``, comma-separated) restricts
    which entry points are imported. ``entry_points`` replaces discovery (tests).
    Without ``entry_points`` and ``fresh``, one registry per ``only`` set is
    cached for the process.
    """
    selected = _parse_only(only)
    cacheable = entry_points is None and not fresh
    key = frozenset(selected) if selected is not None else None
    if cacheable:
        with _default_lock:
            cached = _default.get(key)
            if cached is not None:
                return cached
    registry = Registry(summaries=SummaryCache() if cacheable else None)
    registry.load_entry_points(_select(entry_points, selected))
    if cacheable:
        with _default_lock:
            registry = _default.setdefault(key, registry)
    return registry


def reset_default_registry() -> None:
    """Forget the cached registries (after installing a plugin at run time, or in tests)."""
    with _default_lock:
        _default.clear()
