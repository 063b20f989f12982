"""The normalizer registry: (provider, native event) -> normalizer, with explained misses.

:meth:`NormalizerRegistry.normalize` never raises on input: an unknown provider
or event, a body that is not a JSON object, or a normalizer that crashes all
become a typed :class:`~kradle_providers.models.events.NormalizeResult`
(``unknown_event`` / ``malformed``) with a reason, and events a manifest
declares informational (a ping, a worklog) are ``ignored``.

Event names match exactly, or after folding case and separators, so GitLab's
``Issue Hook`` finds a normalizer registered as ``issue_hook`` and Jira's
``jira:issue_updated`` one registered as ``jira_issue_updated``. What an event
name resolves to is remembered per provider, so a delivery costs one dict lookup.

Bodies are parsed once, with pydantic-core's JSON parser (about twice as fast as
:func:`json.loads` on webhook payloads); whatever it refuses (a BOM, UTF-16, a lone
surrogate) goes to :func:`json.loads`, so what parses and what the errors say are
exactly :func:`json.loads`'s.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable, Iterable, Mapping
from typing import Any, NamedTuple, Protocol

from pydantic_core import from_json

from kradle_providers.auth.secret import redact
from kradle_providers.models.base import ExternalRef, ProviderRef
from kradle_providers.models.events import NormalizeOutcome, NormalizeResult
from kradle_providers.webhooks.normalizer import EventNormalizer, NormalizeContext

__all__ = ["NormalizerRegistry", "PluginSource", "event_key", "find_normalizer", "parse_json"]

_MAX_REASON = 300


def event_key(event: str) -> str:
    """The folded form of an event name used as the fallback lookup key."""
    return re.sub(r"[^a-z0-9]+", "_", event.lower()).strip("_")


def parse_json(body: bytes | str) -> Any:
    """``json.loads(body)``, faster: pydantic-core's parser, :func:`json.loads` for what it
    refuses (so results and errors are :func:`json.loads`'s).

    Only keys are interned: values are mostly unique, and caching them costs more than it
    saves (measured on the vendors' payloads: 10-30 % slower than ``"keys"``)."""
    try:
        return from_json(body, cache_strings="keys")
    except ValueError:
        return json.loads(body)


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


class _Resolved(NamedTuple):
    """What one native event name of a provider comes to."""

    informational: bool
    fn: EventNormalizer | None


class _ProviderEntry:
    __slots__ = ("exact", "folded", "informational", "resolved", "target_of")

    def __init__(self) -> None:
        self.exact: dict[str, EventNormalizer] = {}
        self.folded: dict[str, EventNormalizer] = {}
        self.informational: set[str] = set()
        self.target_of: Callable[[Any], ExternalRef | None] | None = None
        # event name -> resolution, filled on first use, cleared by every registration
        self.resolved: dict[str, _Resolved] = {}

    def resolve(self, event: str) -> _Resolved:
        found = self.resolved.get(event)
        if found is None:
            key = event_key(event)
            found = _Resolved(
                event in self.informational or key in self.informational,
                self.exact.get(event) or self.folded.get(key),
            )
            self.resolved[event] = found
        return found


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
        entry.resolved.clear()

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
        entry.resolved.clear()

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
        return None if entry is None else entry.resolve(event).fn

    def is_informational(self, provider: str, event: str) -> bool:
        """Whether ``event`` is declared informational for ``provider``."""
        entry = self._load(provider)
        return entry is not None and entry.resolve(event).informational

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
        informational, fn = entry.resolve(event)
        if informational:
            return result(
                NormalizeOutcome.IGNORED,
                f"{event!r} is declared informational in the {provider} manifest",
            )
        if fn is None:
            return result(
                NormalizeOutcome.UNKNOWN_EVENT,
                f"no {provider} normalizer for event {event!r}; declare it in the manifest "
                "and register a normalizer, or stop subscribing to it",
            )
        # Exact types first: the Mapping ABC check is slow, and bodies are bytes or dicts.
        if type(payload) is dict or (
            type(payload) is not bytes and type(payload) is not str and isinstance(payload, Mapping)
        ):
            data: Any = payload
        else:
            try:
                data = parse_json(payload)
            except (ValueError, UnicodeDecodeError) as exc:
                return result(NormalizeOutcome.MALFORMED, f"payload is not valid JSON: {exc}")
        if type(data) is not dict and not isinstance(data, Mapping):
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
        return _stamp(out, entry, data, ctx.delivery_id)


def _stamp(
    out: NormalizeResult, entry: _ProviderEntry, data: Any, delivery_id: str | None
) -> NormalizeResult:
    """Fill each event's ``target`` (from the plugin's reader) and ``delivery_id`` (the dedupe
    key needs it) where the normalizer left them empty.

    In place: the events were built by this call's normalizer, for this delivery alone.
    """
    if not out.events:
        return out
    target = None
    if entry.target_of is not None:
        try:
            target = entry.target_of(data)
        except Exception:  # a broken reader leaves the target unknown, never crashes intake
            target = None
    for event in out.events:
        if target is not None and not event.target:
            event.target = target
        if delivery_id and not event.delivery_id:
            event.delivery_id = delivery_id
    return out


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
