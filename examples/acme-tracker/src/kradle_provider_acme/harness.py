"""The Acme contract-test harness: the adapter on the in-process emulator.

Seed kinds: ``Issue`` (title, body, state), ``Comment`` (issue = ticket number,
body), ``Label`` (name, color). Every seed and change advances the emulator
clock one second, so versions order and ``since`` listings are exact; the
adapter's HTTP client uses a fake clock, so rate-limit waits take no time.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from typing import Any

from kradle_provider_acme.adapter import AcmeAdapter
from kradle_provider_acme.emulator import BASE_URL, AcmeEmulator, create_emulator
from kradle_providers.auth.schemes import BearerAuth
from kradle_providers.errors import InvalidInput
from kradle_providers.http import ManualClock
from kradle_providers.models import ExternalRef
from kradle_providers.plugins.spec import ProviderConfig
from kradle_providers.protocols.adapter import ProviderAdapter
from kradle_providers.testing.emulator import Collection, FaultKind, Rule
from kradle_providers.testing.fixtures import package_webhook_fixtures
from kradle_providers.testing.harness import Fault, RecordedRequest, WebhookFixture

__all__ = ["AcmeControl", "AcmeHarness", "create_harness"]

PROJECT = "WID"
_EVENTS = {"Issue": "ticket", "Comment": "comment"}
_FAULTS = {
    Fault.RATE_LIMIT: FaultKind.RATE_LIMIT,
    Fault.SERVER_ERROR: FaultKind.STATUS,
    Fault.LOST_RESPONSE: FaultKind.DROPPED,
}


class AcmeControl:
    """BackendControl over an :class:`AcmeEmulator`."""

    def __init__(self, app: AcmeEmulator) -> None:
        self.app = app
        self._n = 0

    def _collection(self, kind: str) -> Collection:
        table = {"Issue": self.app.tickets, "Comment": self.app.comments, "Label": self.app.labels}
        if kind not in table:
            raise InvalidInput(f"Acme has no {kind}; seed Issue, Comment or Label", field="kind")
        return table[kind]

    def seed(self, kind: str, count: int = 1, **attrs: Any) -> list[str]:
        """Create ``count`` tickets, comments or labels in project WID."""
        ids: list[str] = []
        for _ in range(count):
            self._n += 1
            self.app.manual_clock.advance(1)
            row: dict[str, Any] = {"project": PROJECT}
            if kind == "Issue":
                row |= {"title": f"Ticket {self._n}", "body": None, "state": "open",
                        "labels": [], "reporter": "wile", "priority": "normal"}  # fmt: skip
            elif kind == "Comment":
                ticket = attrs.get("issue") or self.seed("Issue")[0]
                row |= {"ticket": int(ticket), "body": f"Comment {self._n}", "author": "wile"}
            else:
                row |= {"name": f"label-{self._n}", "color": "ff0000"}
            row |= {k: v for k, v in attrs.items() if k != "issue"}
            if kind == "Issue" and row["state"] == "closed":
                row["state"] = "done"  # the canonical closed state is Acme's "done"
            created = self._collection(kind).insert(row)
            if kind == "Issue":
                created = self._collection(kind).update(
                    created["id"],
                    {"number": created["id"],
                     "html_url": f"https://acme.example/WID/tickets/{created['id']}"},
                )  # fmt: skip
            else:
                self._collection(kind).update(
                    created["id"], {"html_url": f"https://acme.example/WID/{created['id']}"}
                )
            ids.append(str(created["id"]))
            if kind in _EVENTS:
                self._emit(kind, "created", int(created["id"]))
        return ids

    def _emit(self, kind: str, action: str, object_id: int) -> None:
        # What Acme sends to registered webhooks when someone changes a ticket or comment.
        event = f"{_EVENTS[kind]}.{action}"
        row = self._collection(kind).get(object_id)
        self.app.webhooks.emit(event, {"event": event, _EVENTS[kind]: row})

    def change(self, kind: str, object_id: str, **fields: Any) -> None:
        """Edit as a person on acme.example would (title/body/description)."""
        self.app.manual_clock.advance(1)
        collection = self._collection(kind)
        current = collection.get(int(object_id)) or {}
        if not fields:
            name = {"Issue": "title", "Comment": "body", "Label": "description"}[kind]
            fields = {name: f"{current.get(name) or ''} (edited)"}
        collection.update(int(object_id), fields)
        if kind == "Issue":
            self._emit(kind, "updated", int(object_id))

    def delete(self, kind: str, object_id: str) -> None:
        """Delete from outside."""
        self._collection(kind).delete(int(object_id))

    def requests(self) -> Sequence[RecordedRequest]:
        """Every request the emulator received."""
        return [RecordedRequest(r.method, r.path, r.operation) for r in self.app.requests]

    def inject_fault(self, fault: Fault, *, times: int = 1, method: str | None = None) -> None:
        """Fail the next ``times`` requests (of ``method``) with ``fault``."""
        fields: dict[str, Any] = {"kind": _FAULTS[fault], "times": times}
        if method:
            fields["method"] = method.upper()
        if fault is Fault.SERVER_ERROR:
            fields["status"] = 502
        self.app.faults.add(Rule(**fields))

    def set_native_field(self, kind: str, object_id: str, name: str, value: Any) -> None:
        """Store a field the canonical model has no place for."""
        self.app.manual_clock.advance(1)
        self._collection(kind).update(int(object_id), {name: value})


class AcmeHarness:
    """A fresh emulator with a random canary token."""

    provider = "acme"

    def __init__(self) -> None:
        self.credential = f"acme-canary-{secrets.token_hex(12)}"
        self.app = create_emulator(token=self.credential)
        self.backend = AcmeControl(self.app)
        self.scope = ExternalRef(project=PROJECT)

    async def adapter(self, *, credential: str | None = None, **options: Any) -> ProviderAdapter:
        """The Acme adapter on the in-process emulator (fake clock: waits cost nothing)."""
        config = ProviderConfig(
            api_base_url=f"{BASE_URL}/api/v1",
            auth=BearerAuth(credential or self.credential),
            transport=self.app.transport(),
        )
        return AcmeAdapter.from_config(config, clock=ManualClock())

    def webhook_fixtures(self) -> Sequence[WebhookFixture]:
        """The payloads this package ships (``fixtures/webhooks``) with their goldens."""
        return package_webhook_fixtures("kradle_provider_acme")

    async def aclose(self) -> None:
        """Nothing to release: the emulator runs in process."""


def create_harness(**options: Any) -> AcmeHarness:
    """The harness factory named by the plugin (no options)."""
    return AcmeHarness()
