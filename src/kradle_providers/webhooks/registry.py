"""The normalizer registry: (provider, native event) -> normalizer, with explained misses.

:meth:`NormalizerRegistry.normalize` never raises on input: an unknown provider
or event, a body that is not a JSON object, or a normalizer that crashes all
become a typed :class:`~kradle_providers.models.events.NormalizeResult`
(``unknown_event`` / ``malformed``) with a reason, and events a manifest
declares informational (a ping, a worklog) are ``ignored``.

Event names match exactly, or after folding case and separators, so GitLab's
``Issue Hook`` finds a normalizer registered as ``issue_hook`` and Jira's
``jira:issue_updated`` one registered as ``jira_issue_updated``.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Protocol

from kradle_providers.auth.secret import redact
from kradle_providers.models.base import ExternalRef, ProviderRef
from kradle_providers.models.events import NormalizeOutcome, NormalizeResult
from kradle_providers.webhooks.normalizer import EventNormalizer, NormalizeContext

__all__ = ["NormalizerRegistry", "PluginSource", "event_key", "find_normalizer"]

_MAX_REASON = 300


def event_key(event: str) -> str:
    """The folded form of an event name used as the fallback lookup key."""
    return re.sub(r"[^a-z0-9]+", "_", event.lower()).strip("_")


def find_normalizer(
    normalizers: Mapping[str, EventNormalizer], event: str
) -> EventNormalizer | None:
    """The normalizer of ``event``: registered under its exact name, else its folded form."""
    exact = normalizers.get(event)
    if exact is not None:
        return exact
    key = event_key(event)
    return next((fn for name, fn in normalizers.items() if event_key(name) == key), None)


class PluginSource(Protocol):
    """What the registry needs from the plugin registry (``plugins.registry.Registry``)."""

    def names(self) -> list[str]: ...

    def manifest(self, name: str) -> Any: ...

    def normalizers(self, name: str) -> Mapping[str, EventNormalizer]: ...


class _ProviderEntry:
    __slots__ = ("exact", "folded", "informational", "target_of")

    def __init__(self) -> None:
        self.exact: dict[str, EventNormalizer] = {}
        self.folded: dict[str, EventNormalizer] = {}
        self.informational: set[str] = set()
        self.target_of: Callable[[Any], ExternalRef | None] | None = None


class NormalizerRegistry:
    """Normalizers by provider and native event name."""

    def __init__(self) -> None:
        self._entries: dict[str, _ProviderEntry] = {}
        # Providers known from the plugin registry but not imported yet.
        self._loaders: dict[str, Callable[[], None]] = {}
        self._load_errors: dict[str, str] = {}
        self._lock = threading.Lock()

    # -- registration -------------------------------------------------------------

    def _entry(self, provider: str) -> _ProviderEntry:
        return self._entries.setdefault(provider, _ProviderEntry())

    def register(self, provider: str, event: str, fn: EventNormalizer) -> None:
        """Register ``fn`` for ``provider``'s native ``event`` (replacing any previous one)."""
        if not callable(fn):
            raise TypeError(f"normalizer for {provider}/{event} must be callable")
        entry = self._entry(provider)
        entry.exact[event] = fn
        entry.folded[event_key(event)] = fn

    def register_many(self, provider: str, mapping: Mapping[str, EventNormalizer]) -> None:
        """Register every ``event -> normalizer`` of ``mapping``."""
        for event, fn in mapping.items():
            self.register(provider, event, fn)

    def declare_target(self, provider: str, target_of: Callable[[Any], ExternalRef | None]) -> None:
        """How to read where a ``provider`` delivery happened (stamped as ``SyncEvent.target``)."""
        self._entry(provider).target_of = target_of

    def declare_informational(self, provider: str, events: Iterable[str]) -> None:
        """Events of ``provider`` that are acknowledged but produce no sync events."""
        entry = self._entry(provider)
        for event in events:
            entry.informational.add(event)
            entry.informational.add(event_key(event))

    @classmethod
    def from_plugins(cls, registry: PluginSource | None = None) -> NormalizerRegistry:
        """A registry fed by installed provider plugins, each imported on first use.

        ``registry`` defaults to :func:`kradle_providers.plugins.registry.load_registry`.
        """
        if registry is None:
            from kradle_providers.plugins.registry import load_registry

            registry = load_registry()
        source = registry
        out = cls()
        for name in source.names():
            out._loaders[name] = _loader(out, source, name)
        return out

    # -- lookup ---------------------------------------------------------------------

    def providers(self) -> list[str]:
        """Providers with registered (or loadable) normalizers, sorted."""
        return sorted(set(self._entries) | set(self._loaders))

    def events(self, provider: str) -> list[str]:
        """Native event names registered for ``provider``, sorted."""
        entry = self._load(provider)
        return sorted(entry.exact) if entry else []

    def _load(self, provider: str) -> _ProviderEntry | None:
        loader = self._loaders.get(provider)
        if loader is not None:
            with self._lock:
                if provider in self._loaders:
                    try:
                        loader()
                    except Exception as exc:  # a broken plugin explains, never crashes intake
                        self._load_errors[provider] = _describe(exc)
                    finally:
                        del self._loaders[provider]
        return self._entries.get(provider)

    def lookup(self, provider: str, event: str) -> EventNormalizer | None:
        """The normalizer for ``provider``/``event``, exact name first, then folded."""
        entry = self._load(provider)
        if entry is None:
            return None
        return entry.exact.get(event) or entry.folded.get(event_key(event))

    def is_informational(self, provider: str, event: str) -> bool:
        """Whether ``event`` is declared informational for ``provider``."""
        entry = self._load(provider)
        return entry is not None and (
            event in entry.informational or event_key(event) in entry.informational
        )

    # -- normalize ------------------------------------------------------------------

    def normalize(
        self,
        provider: str,
        event: str,
        payload: bytes | str | Mapping[str, Any],
        context: NormalizeContext | None = None,
    ) -> NormalizeResult:
        """Normalize one payload; every failure is an explained result, never an exception."""

        def result(outcome: NormalizeOutcome, reason: str) -> NormalizeResult:
            return NormalizeResult(
                provider=provider, native_event=event, outcome=outcome, reason=reason
            )

        entry = self._load(provider)
        if entry is None:
            why = self._load_errors.get(provider)
            if why:
                return result(
                    NormalizeOutcome.UNKNOWN_EVENT,
                    f"the {provider} plugin's normalizers failed to load: {why}",
                )
            known = ", ".join(self.providers()) or "none"
            return result(
                NormalizeOutcome.UNKNOWN_EVENT,
                f"no normalizers for provider {provider!r} (installed: {known}); "
                "install its provider plugin",
            )
        if self.is_informational(provider, event):
            return result(
                NormalizeOutcome.IGNORED,
                f"{event!r} is declared informational in the {provider} manifest",
            )
        fn = entry.exact.get(event) or entry.folded.get(event_key(event))
        if fn is None:
            return result(
                NormalizeOutcome.UNKNOWN_EVENT,
                f"no {provider} normalizer for event {event!r}; declare it in the manifest "
                "and register a normalizer, or stop subscribing to it",
            )
        if isinstance(payload, Mapping):
            data: Any = payload
        else:
            try:
                data = json.loads(payload)
            except (ValueError, UnicodeDecodeError) as exc:
                return result(NormalizeOutcome.MALFORMED, f"payload is not valid JSON: {exc}")
        if not isinstance(data, Mapping):
            return result(
                NormalizeOutcome.MALFORMED,
                f"payload must be a JSON object, got {type(data).__name__}",
            )
        ctx = context or NormalizeContext(provider=ProviderRef(type=provider), event=event)
        try:
            out = fn(ctx, data)
        except Exception as exc:  # contract: a normalizer never crashes intake
            return result(NormalizeOutcome.MALFORMED, f"normalizer raised {_describe(exc)}")
        if not isinstance(out, NormalizeResult):
            return result(
                NormalizeOutcome.MALFORMED,
                f"normalizer returned {type(out).__name__}, not a NormalizeResult",
            )
        out = _stamp_target(out, entry, data)
        if ctx.delivery_id and any(e.delivery_id is None for e in out.events):
            # The dedupe key needs the delivery id; fill it where the normalizer did not.
            out = out.model_copy(
                update={
                    "events": [
                        e
                        if e.delivery_id
                        else e.model_copy(update={"delivery_id": ctx.delivery_id})
                        for e in out.events
                    ]
                }
            )
        return out


def _stamp_target(out: NormalizeResult, entry: _ProviderEntry, data: Any) -> NormalizeResult:
    if entry.target_of is None or not out.events:
        return out
    try:
        target = entry.target_of(data)
    except Exception:  # a broken reader leaves the target unknown, never crashes intake
        target = None
    if target is None:
        return out
    events = [e if e.target else e.model_copy(update={"target": target}) for e in out.events]
    return out.model_copy(update={"events": events})


def _describe(exc: BaseException) -> str:
    text = redact(f"{type(exc).__name__}: {exc}")
    return text if len(text) <= _MAX_REASON else text[: _MAX_REASON - 1] + "…"


def _loader(out: NormalizerRegistry, source: PluginSource, name: str) -> Callable[[], None]:
    def load() -> None:
        normalizers = source.normalizers(name)
        manifest = source.manifest(name)
        out._entry(name)  # known even when it ships no normalizers
        out.register_many(name, normalizers)
        spec_of = getattr(source, "webhook_spec", None)
        try:
            spec = spec_of(name) if callable(spec_of) else None
        except Exception:  # the receiver reports a broken declaration; normalizing goes on
            spec = None
        target_of = getattr(spec, "target_from_payload", None)
        if target_of is not None:
            out.declare_target(name, target_of)
        webhook_events = getattr(manifest, "webhook_events", None)
        if callable(webhook_events):
            every = set(webhook_events(include_informational=True))
            active = set(webhook_events(include_informational=False))
            out.declare_informational(name, every - active)

    return load
