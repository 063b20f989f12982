"""Builders shared by the write-intent, conflict and policy tests (no tests here).

An :class:`Env` is one binding ``widgets`` whose issue-tracking interface writes to
the memory provider through its contract harness (canary credential, request
log, lost-response fault), over an in-memory SQLite store on a fake clock.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import yaml

from kradle_providers.manifest.loader import load_manifest_resource, manifest_from_data
from kradle_providers.manifest.model import Manifest
from kradle_providers.models.base import Interface
from kradle_providers.plugins.selection import BindingMode
from kradle_providers.protocols.adapter import ProviderAdapter
from kradle_providers.protocols.catalogue import operations_of
from kradle_providers.store import SqliteStateStore
from kradle_providers.sync.intents import WriteChannel, WriteIntentService
from kradle_providers.sync.policy import Authorizer, WritePolicy, allow_all
from kradle_providers.testing.memory_harness import MemoryHarness

T0 = datetime(2024, 6, 1, 9, 0, tzinfo=UTC)
BINDING = "widgets"
IT = Interface.ISSUE_TRACKING


class ManualClock:
    """A clock that moves only when told to."""

    def __init__(self, start: datetime = T0) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


def memory_manifest(**unsupported: str) -> Manifest:
    """The memory manifest, with the named operations declared unsupported (name=reason)."""
    manifest = load_manifest_resource("kradle_providers.testing:memory_manifest.yaml")
    if not unsupported:
        return manifest
    data: Any = yaml.safe_load(yaml.safe_dump(manifest.model_dump(mode="json", by_alias=True)))
    for spec in data["spec"]["interfaces"].values():
        for op in spec.get("operations", []):
            if isinstance(op, dict) and op["operation"] in unsupported:
                op["supported"] = False
                op["reason"] = unsupported[op["operation"]]
    return manifest_from_data(data)


@dataclass
class Env:
    """One binding over the memory harness; see the module docstring."""

    harness: MemoryHarness
    adapter: ProviderAdapter
    store: SqliteStateStore
    clock: ManualClock
    service: WriteIntentService
    channel: WriteChannel
    paused: bool = False
    mode: BindingMode = BindingMode.BIDIRECTIONAL
    extra: list[WriteIntentService] = field(default_factory=list)

    @property
    def scope(self) -> str:
        return self.harness.scope.slug()

    def writes(self, operation: str | None = None) -> list[dict[str, Any]]:
        """Args of every write call that reached the backend."""
        return [
            r.args
            for r in self.harness.state.requests
            if r.operation in WRITE_OPS and (operation is None or r.operation == operation)
        ]

    def issues_titled(self, title: str) -> list[dict[str, Any]]:
        return [i for i in self.harness.state.all("issue", self.scope) if i["title"] == title]

    def worker(self) -> WriteIntentService:
        """A second service over the same store and backend (another worker)."""
        other = WriteIntentService(
            self.store, [self.channel], policy=self.service.policy, clock=self.clock
        )
        self.extra.append(other)
        return other

    async def aclose(self) -> None:
        await self.store.aclose()
        await self.harness.aclose()


WRITE_OPS = {op.name for op in operations_of(IT) if op.write}


async def make_env(
    mode: BindingMode = BindingMode.BIDIRECTIONAL,
    *,
    authorize: Authorizer = allow_all,
    policy: WritePolicy | None = None,
    manifest: Manifest | None = None,
    adapter_factory: Callable[[MemoryHarness], Any] | None = None,
    db: str = ":memory:",
) -> Env:
    harness = MemoryHarness()
    adapter = adapter_factory(harness) if adapter_factory is not None else await harness.adapter()
    clock = ManualClock()
    store = SqliteStateStore(db, clock=clock)
    await store.open()
    holder: dict[str, Env] = {}
    channel = WriteChannel(
        binding=BINDING,
        interface=IT,
        adapter=adapter,
        manifest=manifest or memory_manifest(),
        mode=mode,
        target=harness.scope,
        paused=lambda: holder["env"].paused,
    )
    service = WriteIntentService(store, [channel], authorize=authorize, policy=policy, clock=clock)
    env = Env(harness, adapter, store, clock, service, channel, mode=mode)
    holder["env"] = env
    return env
