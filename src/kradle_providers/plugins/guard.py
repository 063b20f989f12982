"""The guarded adapter: the manifest decides what may be called, before any adapter code runs.

Hosts never call a provider's adapter directly. :class:`GuardedAdapter` is a
:class:`~kradle_providers.protocols.ProviderAdapter` (so it types as
IssueTracking, CiCd and GitForge) whose every canonical operation first checks
the manifest: an operation not declared as supported raises
:class:`~kradle_providers.errors.UnsupportedOperation` with the manifest's
reason; a declared one is passed to the wrapped adapter unchanged.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Sequence
from typing import Any, Self

from kradle_providers.auth.secret import Secret
from kradle_providers.manifest.model import Manifest
from kradle_providers.models.base import ExternalRef
from kradle_providers.protocols.adapter import ProviderAdapter
from kradle_providers.protocols.catalogue import CATALOGUE, Operation
from kradle_providers.protocols.credentials import CredentialReport
from kradle_providers.protocols.hooks import HookDelivery, HookRegistration
from kradle_providers.protocols.interfaces import UNSUPPORTED_MARK

__all__ = ["GuardedAdapter"]


class GuardedAdapter(ProviderAdapter):
    """A provider adapter restricted to the operations its manifest declares.

    Non-operation attributes (``provider_ref``, adapter-specific helpers) are
    read from the wrapped adapter. ``aclose`` and ``async with`` close it.
    """

    def __init__(self, adapter: ProviderAdapter, manifest: Manifest) -> None:
        super().__init__(instance=adapter.instance)
        self._adapter = adapter
        self._manifest = manifest
        self.provider_type = manifest.provider_type

    @property
    def adapter(self) -> ProviderAdapter:
        """The wrapped, unguarded adapter (for the provider's own tests and tools)."""
        return self._adapter

    @property
    def manifest(self) -> Manifest:
        """The manifest that decides which operations pass."""
        return self._manifest

    def supports(self, operation: str) -> bool:
        """Whether the canonical ``operation`` (camelCase) may be called."""
        return self._manifest.supports(operation)

    def require(self, operation: str) -> None:
        """Raise :class:`UnsupportedOperation` unless ``operation`` is declared supported."""
        self._manifest.require(operation)

    async def check_credentials(self) -> CredentialReport | None:
        """The wrapped adapter's credential check (not an operation: never refused)."""
        return await self._adapter.check_credentials()

    # Webhook management is not an operation either: forwarded as is.
    async def list_hooks(self, ref: ExternalRef) -> list[HookRegistration] | None:
        return await self._adapter.list_hooks(ref)

    async def ensure_hook(
        self, ref: ExternalRef, url: str, secret: Secret, events: Sequence[str]
    ) -> HookRegistration | None:
        return await self._adapter.ensure_hook(ref, url, secret, events)

    async def list_hook_deliveries(
        self, ref: ExternalRef, hook_id: str
    ) -> list[HookDelivery] | None:
        return await self._adapter.list_hook_deliveries(ref, hook_id)

    async def redeliver_hook_delivery(
        self, ref: ExternalRef, hook_id: str, delivery_id: str
    ) -> bool:
        return await self._adapter.redeliver_hook_delivery(ref, hook_id, delivery_id)

    async def aclose(self) -> None:
        """Close the wrapped adapter."""
        await self._adapter.aclose()

    async def __aenter__(self) -> Self:
        return self

    def __getattr__(self, name: str) -> Any:
        # Only reached when normal lookup fails; private and dunder names are not forwarded
        # so that copy/pickle probing and half-initialized instances fail cleanly.
        if name.startswith("_") or "_adapter" not in self.__dict__:
            raise AttributeError(name)
        return getattr(self.__dict__["_adapter"], name)

    def __repr__(self) -> str:
        return f"GuardedAdapter({self._adapter!r})"


def _dispatcher(op: Operation) -> Callable[..., Any]:
    operation, method = op.name, op.method
    default = getattr(ProviderAdapter, method)
    fn: Callable[..., Any]
    if inspect.iscoroutinefunction(default):

        async def call_async(self: GuardedAdapter, *args: Any, **kwargs: Any) -> Any:
            self.require(operation)
            return await getattr(self._adapter, method)(*args, **kwargs)

        fn = call_async
    else:
        # get_job_log: a plain def returning an async iterator; check at call time.
        def call_sync(self: GuardedAdapter, *args: Any, **kwargs: Any) -> Any:
            self.require(operation)
            return getattr(self._adapter, method)(*args, **kwargs)

        fn = call_sync
    # updated=() so the protocol default's "unsupported" mark is not copied over.
    wrapped = functools.update_wrapper(fn, default, updated=())
    wrapped.__qualname__ = f"GuardedAdapter.{method}"
    return wrapped


def _protocol_methods() -> set[str]:
    return {
        name
        for proto in ProviderAdapter.__mro__
        for name, value in vars(proto).items()
        if getattr(value, UNSUPPORTED_MARK, False)
    }


# Every protocol method is a catalogued operation and the reverse: the guard, the validator
# and the contract suite know only what the catalogue declares.
_uncatalogued = _protocol_methods() ^ {op.method for op in CATALOGUE}
if _uncatalogued:
    raise TypeError(
        f"protocol methods and protocols.catalogue.CATALOGUE disagree on {sorted(_uncatalogued)}"
    )
for _op in CATALOGUE:
    setattr(GuardedAdapter, _op.method, _dispatcher(_op))
del _op, _uncatalogued
