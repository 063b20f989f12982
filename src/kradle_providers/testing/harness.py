"""What a provider plugin gives the contract-test suite.

A plugin names a harness factory in its :class:`~kradle_providers.plugins.spec.ProviderPlugin`
(``harness="my_plugin.testing:make_harness"``). The suite calls
``factory(**options)`` (``options`` come from ``--kradle-option`` flags, e.g. a
flavour) and drives the result through two faces:

- :meth:`ContractHarness.adapter` — an adapter bound to a backend, normally the
  plugin's emulator running in process;
- :attr:`ContractHarness.backend` — a control API over that backend, to seed
  objects, change them as a person on the provider's site would, inject faults
  and read the request log.

Everything is keyed by canonical names (``"Issue"``, ``"listIssues"``), so the
suite stays vendor-neutral.

A harness may also carry an optional ``limitations`` attribute: canonical kind
-> {:class:`Limitation`: reason}, for what the provider's objects of that kind
cannot do at all (a Jira label is a bare string with no fields; a changelog
entry is never edited). The suite skips the checks that need it, with the
reason; :func:`limitation` reads it. Declare only what the provider really
lacks: a skipped check proves nothing.

A harness may also carry ``hidden_by_default``: canonical kind -> seed
attributes of objects the provider's default listing filter hides beyond
closed issues and pull requests (GitLab confidential issues, GitHub draft pull
requests...). The suite seeds each and expects every listing of the kind to
return it; :func:`hidden_seeds` reads it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from kradle_providers.models.base import ExternalRef
from kradle_providers.plugins.spec import ProviderConfig
from kradle_providers.protocols.adapter import ProviderAdapter

__all__ = [
    "BackendControl",
    "ContractHarness",
    "EmulatorHarness",
    "Fault",
    "Limitation",
    "RecordedRequest",
    "WebhookFixture",
    "hidden_seeds",
    "limitation",
]


class Fault(StrEnum):
    """Faults the suite asks a backend to inject on its next matching request(s)."""

    RATE_LIMIT = "rate_limit"  # the provider's rate-limit answer (403/429 + reset)
    SERVER_ERROR = "server_error"  # a 5xx
    LOST_RESPONSE = "lost_response"  # request processed, response never arrives


class Limitation(StrEnum):
    """What objects of one canonical kind cannot do on the provider (see ``limitations``)."""

    IMMUTABLE = "immutable"
    """Nobody can change one after it exists (``BackendControl.change`` cannot apply)."""
    NO_NATIVE_FIELDS = "no_native_fields"
    """It has no provider field beyond the mapped ones (``set_native_field`` cannot apply)."""
    UNDELETABLE = "undeletable"
    """Nobody can delete one (``BackendControl.delete`` cannot apply)."""


def limitation(harness: object, kind: str, what: Limitation) -> str | None:
    """The reason ``harness`` declares that ``kind`` has limitation ``what``, else None."""
    declared = getattr(harness, "limitations", None)
    if not isinstance(declared, Mapping):
        return None
    per_kind = declared.get(kind)
    if not isinstance(per_kind, Mapping):
        return None
    reason = per_kind.get(what)
    return str(reason) if reason else None


def hidden_seeds(
    harness: object,
    kind: str,
    defaults: Mapping[str, Sequence[Mapping[str, Any]]] | None = None,
) -> list[dict[str, Any]]:
    """Seed attributes of ``kind`` objects a provider's default filter hides.

    ``defaults`` (the suite's: closed issues and pull requests) come first, then
    what ``harness.hidden_by_default`` adds for the provider (drafts,
    confidential issues, archived repositories...); each is passed to
    ``BackendControl.seed(kind, **attrs)`` and every declared listing of
    ``kind`` must return the object.
    """
    found = [dict(a) for a in (defaults or {}).get(kind, ())]
    declared = getattr(harness, "hidden_by_default", None)
    if isinstance(declared, Mapping):
        found += [dict(a) for a in declared.get(kind, ()) if dict(a) not in found]
    return found


@dataclass(frozen=True)
class RecordedRequest:
    """One request that reached the backend."""

    method: str
    path: str
    operation: str | None = None


@dataclass(frozen=True)
class WebhookFixture:
    """A real payload for ``event`` and, where checked in, its golden canonical output.

    ``headers`` are the delivery's headers and ``delivery_id`` the id intake
    would take from them (``X-GitHub-Delivery``, ``X-Atlassian-Webhook-Identifier``):
    the suite normalizes with exactly these, so a golden written by the plugin's
    own tests with the same values compares equal. Without a ``delivery_id`` the
    suite uses ``contract-<payload file stem>``.
    """

    event: str
    payload: Path
    golden: Path | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    delivery_id: str | None = None


@runtime_checkable
class BackendControl(Protocol):
    """Drives the provider's backend from outside the adapter."""

    def seed(self, kind: str, count: int = 1, **attrs: Any) -> list[str]:
        """Create ``count`` objects of canonical ``kind`` in the harness scope.

        Returns the ids the adapter's ``get_*`` operations accept (numbers,
        keys or native ids), in creation order.
        """
        ...

    def change(self, kind: str, object_id: str, **fields: Any) -> None:
        """Change an object as a person on the provider's site would (bumps its version).

        With no ``fields`` the backend picks a harmless visible change (a title).
        """
        ...

    def delete(self, kind: str, object_id: str) -> None:
        """Delete an object from outside."""
        ...

    def requests(self) -> Sequence[RecordedRequest]:
        """Every request that reached the backend so far, oldest first."""
        ...

    def inject_fault(self, fault: Fault, *, times: int = 1, method: str | None = None) -> None:
        """Make the next ``times`` requests (optionally only of HTTP ``method``) fail so."""
        ...

    def set_native_field(self, kind: str, object_id: str, name: str, value: Any) -> None:
        """Store a provider field the canonical model has no place for (extensions test)."""
        ...


@runtime_checkable
class ContractHarness(Protocol):
    """A provider under test: an adapter factory, its backend and its fixtures."""

    provider: str
    scope: ExternalRef
    backend: BackendControl
    credential: str
    """The credential the backend accepts; the suite uses it as a canary."""

    async def adapter(self, *, credential: str | None = None, **options: Any) -> ProviderAdapter:
        """A fresh adapter bound to the backend, with ``credential`` (default: the good one).

        ``options`` may carry ``page_size`` (the adapter's default page size) and
        ``on_rate_limit`` (``"wait"`` or ``"raise"``).
        """
        ...

    def webhook_fixtures(self) -> Sequence[WebhookFixture]:
        """Real payloads for the declared webhook events (and golden outputs)."""
        ...

    async def aclose(self) -> None:
        """Stop the backend and release resources."""
        ...


class EmulatorHarness:
    """Base of a :class:`ContractHarness` over a provider emulator running in process.

    A plugin subclasses it, sets ``provider`` (and ``limitations`` where its
    objects cannot do something at all) and implements :meth:`config` (the
    :class:`ProviderConfig` an adapter for the emulator uses) and
    :meth:`direct_adapter` (the adapter without the registry's guard). Adapters
    get a :class:`~kradle_providers.clock.SkippingClock` by default, so the
    suite's rate-limit checks wait for nothing.
    """

    provider: str = "abstract"
    limitations: Mapping[str, Mapping[Limitation, str]] = {}
    hidden_by_default: Mapping[str, Sequence[Mapping[str, Any]]] = {}

    def __init__(
        self, emulator: Any, *, scope: ExternalRef, credential: str, via_registry: bool = True
    ) -> None:
        self.emulator = emulator
        self.scope = scope
        self.backend: BackendControl = emulator.control
        self.credential = credential
        self._via_registry = via_registry
        self._adapters: list[ProviderAdapter] = []

    def config(self, *, credential: str | None = None, **options: Any) -> ProviderConfig:
        """The ProviderConfig an adapter bound to the emulator uses."""
        raise NotImplementedError

    def direct_adapter(self, config: ProviderConfig) -> ProviderAdapter:
        """The plugin's adapter for ``config``, without the registry's guard."""
        raise NotImplementedError

    async def adapter(self, *, credential: str | None = None, **options: Any) -> ProviderAdapter:
        """A fresh adapter bound to the emulator, guarded by the manifest by default."""
        from kradle_providers.clock import SkippingClock

        config = self.config(credential=credential, **{"clock": SkippingClock(), **options})
        adapter: ProviderAdapter
        if self._via_registry:
            from kradle_providers.plugins.registry import load_registry

            adapter = load_registry().create_adapter(self.provider, config)
        else:
            adapter = self.direct_adapter(config)
        self._adapters.append(adapter)
        return adapter

    def webhook_fixtures(self) -> Sequence[WebhookFixture]:
        """No fixtures unless the plugin has some."""
        return []

    async def aclose(self) -> None:
        """Close every adapter handed out, then the emulator if it needs closing."""
        adapters, self._adapters = self._adapters, []
        for adapter in adapters:
            await adapter.aclose()
        closer = getattr(self.emulator, "aclose", None)
        if closer is not None:
            await closer()
