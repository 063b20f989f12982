"""Broken variants of the memory provider; copied into pytester's folder by the tests.

Each is a small provider registered under its own name, with the memory
manifest (renamed, sometimes edited) and the memory harness.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml

import kradle_providers.testing
from kradle_providers.auth.secret import Secret
from kradle_providers.models import (
    Comment,
    ExternalRef,
    Issue,
    IssueCreate,
    IssueState,
    IssueUpdate,
    Label,
    LabelSpec,
    NormalizeResult,
    Pipeline,
    PipelineState,
    RichText,
    SyncResult,
)
from kradle_providers.plugins.hookspecs import hookimpl
from kradle_providers.plugins.spec import ProviderPlugin
from kradle_providers.protocols.adapter import ProviderAdapter
from kradle_providers.protocols.page import Page, decode_cursor, encode_cursor
from kradle_providers.testing.memory import MemoryAdapter
from kradle_providers.testing.memory_events import NORMALIZERS
from kradle_providers.testing.memory_harness import MemoryHarness
from kradle_providers.testing.memory_webhooks import WEBHOOKS
from kradle_providers.webhooks.normalizer import NormalizeContext
from kradle_providers.webhooks.schemes import HmacSignature, SecretLike

HERE = Path(__file__).parent
MEMORY_MANIFEST = Path(kradle_providers.testing.__file__).parent / "memory_manifest.yaml"


def manifest_for(name: str, drop: tuple[str, ...] = (), edit: Any = None) -> str:
    data = yaml.safe_load(MEMORY_MANIFEST.read_text())
    data["metadata"]["name"] = name
    data["spec"]["providerType"] = name
    for spec in data["spec"]["interfaces"].values():
        spec["operations"] = [o for o in spec["operations"] if o["operation"] not in drop]
    if edit is not None:
        edit(data["spec"]["interfaces"])
    path = HERE / f"{name}.manifest.yaml"
    path.write_text(yaml.safe_dump(data))
    return str(path)


class DropsLastPage(MemoryAdapter):
    """listLabels forgets the last page: it ends the listing one page early."""

    async def list_labels(
        self, ref: ExternalRef, *, cursor: str | None = None, page_size: int | None = None
    ) -> Page[Label]:
        page = await super().list_labels(ref, cursor=cursor, page_size=page_size)
        if page.next_cursor is not None:
            following = await super().list_labels(ref, cursor=page.next_cursor, page_size=page_size)
            if following.next_cursor is None:
                return Page(items=page.items, high_water_mark=page.high_water_mark)
        return page


class NotIdempotent(MemoryAdapter):
    """createIssue ignores its idempotency key (the manifest still says native-key)."""

    async def create_issue(
        self, ref: ExternalRef, data: IssueCreate, *, idempotency_key: str | None = None
    ) -> Any:
        return await super().create_issue(ref, data)


class NeverCloses(MemoryAdapter):
    """closeIssue and cancelPipeline answer with the new state but change nothing."""

    async def cancel_pipeline(self, ref: ExternalRef, pipeline_id: str) -> Pipeline:
        pipeline = await self.get_pipeline(ref, pipeline_id)
        status = pipeline.status.model_copy(update={"state": PipelineState.CANCELLED})
        return pipeline.model_copy(update={"status": status})

    async def close_issue(
        self, ref: ExternalRef, issue_id: str, *, reason: str | None = None
    ) -> Issue:
        issue = await self.get_issue(ref, issue_id)
        status = issue.status.model_copy(update={"state": IssueState.CLOSED})
        return issue.model_copy(update={"status": status})


class HidesClosed(MemoryAdapter):
    """listIssues leaves out ``state=all``: the provider's default hides closed issues."""

    async def list_issues(
        self,
        ref: ExternalRef,
        *,
        since: datetime | None = None,
        state: str | None = None,
        cursor: str | None = None,
        page_size: int | None = None,
    ) -> Page[Issue]:
        return await super().list_issues(
            ref, since=since, state="open", cursor=cursor, page_size=page_size
        )


class NewestFirstOffset(MemoryAdapter):
    """listIssues pages newest first by offset (as ``?page=N&sort=created&direction=desc``
    does) and does not drop the objects an insert shifts onto the next page."""

    async def list_issues(
        self,
        ref: ExternalRef,
        *,
        since: datetime | None = None,
        state: str | None = None,
        cursor: str | None = None,
        page_size: int | None = None,
    ) -> Page[Issue]:
        everything: list[Issue] = []
        inner: str | None = None
        while True:
            page = await super().list_issues(ref, since=since, state=state, cursor=inner)
            everything += page.items
            if page.next_cursor is None:
                break
            inner = page.next_cursor
        everything.sort(key=lambda i: int(i.external.native_number or 0), reverse=True)
        offset = int(decode_cursor(cursor)["offset"]) if cursor else 0
        size = page_size or 100
        more = offset + size < len(everything)
        return Page(
            items=everything[offset : offset + size],
            next_cursor=encode_cursor({"offset": offset + size}) if more else None,
            high_water_mark=page.high_water_mark,
        )


class FirstPageOnly(MemoryAdapter):
    """listComments of the whole repository returns its first page only."""

    async def list_comments(
        self,
        ref: ExternalRef,
        *,
        issue_id: str | None = None,
        since: datetime | None = None,
        cursor: str | None = None,
        page_size: int | None = None,
    ) -> Page[Comment]:
        page = await super().list_comments(
            ref, issue_id=issue_id, since=since, cursor=cursor, page_size=page_size
        )
        if issue_id is None:
            return Page(items=page.items, high_water_mark=page.high_water_mark)
        return page


def _api_url(issue: Issue) -> Issue:
    api = f"https://api.memory.test/repos/acme/widgets/issues/{issue.external.native_number}"
    external = issue.external.model_copy(update={"url": api, "api_url": api})
    return issue.model_copy(update={"external": external})


class UrlIsApi(MemoryAdapter):
    """Issues carry the API address as their browser url."""

    async def get_issue(self, ref: ExternalRef, issue_id: str) -> Issue:
        return _api_url(await super().get_issue(ref, issue_id))


class UpdateDropsBody(MemoryAdapter):
    """updateIssue sends the title only and returns the body it was given."""

    async def update_issue(
        self,
        ref: ExternalRef,
        issue_id: str,
        data: IssueUpdate,
        *,
        expected_version: str | None = None,
    ) -> Issue:
        sent = data.model_copy(update={"body": None})
        issue = await super().update_issue(ref, issue_id, sent, expected_version=expected_version)
        if data.body is None:
            return issue
        return issue.model_copy(update={"body": RichText(markdown=data.body)})


class DropsCloseReason(MemoryAdapter):
    """closeIssue closes without the reason it was given."""

    async def close_issue(
        self, ref: ExternalRef, issue_id: str, *, reason: str | None = None
    ) -> Issue:
        return await super().close_issue(ref, issue_id)


class SyncPlansOnly(MemoryAdapter):
    """syncLabels returns the plan of a real run but applies nothing."""

    async def sync_labels(
        self,
        ref: ExternalRef,
        desired: Sequence[LabelSpec],
        *,
        prune: bool = True,
        dry_run: bool = False,
    ) -> SyncResult:
        planned = await super().sync_labels(ref, desired, prune=prune, dry_run=True)
        return planned.model_copy(update={"dry_run": dry_run})


class Unimplemented(MemoryAdapter):
    """listMilestones is declared but left to the protocol default."""

    list_milestones = ProviderAdapter.list_milestones


def leaky_issue(context: NormalizeContext, payload: Mapping[str, Any]) -> NormalizeResult:
    """Copies the delivery headers (with the secret) into the result."""
    result = NORMALIZERS["issue"](context, payload)
    return result.model_copy(update={"reason": f"headers: {dict(context.headers)}"})


def leaky_hook(context: NormalizeContext, payload: Mapping[str, Any]) -> NormalizeResult:
    """Copies the delivery's own headers (a token scheme's secret among them) into the result."""
    result = NORMALIZERS["issue"](context, payload)
    hook = {k: v for k, v in context.headers.items() if k.lower() != "authorization"}
    return result.model_copy(update={"reason": f"delivery: {hook}"})


@dataclass(frozen=True)
class FailsOpen:
    """Checks the HMAC when the header is there, and lets an unsigned delivery through."""

    inner: HmacSignature

    @property
    def headers(self) -> tuple[str, ...]:
        return self.inner.headers

    def verify(
        self, body: bytes, headers: Mapping[str, str], secrets: Sequence[Secret], *, now: float
    ) -> int | None:
        if "x-memory-signature" not in headers:
            return None
        return self.inner.verify(body, headers, secrets, now=now)

    def sign(self, body: bytes, secret: SecretLike, *, timestamp: int) -> dict[str, str]:
        return self.inner.sign(body, secret, timestamp=timestamp)


FAILS_OPEN = dataclasses.replace(WEBHOOKS, scheme=FailsOpen(HmacSignature("X-Memory-Signature")))


LEAKY_NORMALIZERS = {**NORMALIZERS, "issue": leaky_issue}
HOOK_LEAKY_NORMALIZERS = {**NORMALIZERS, "issue": leaky_hook}


def _no_ci(interfaces: dict[str, Any]) -> None:
    interfaces["cicd"] = {"supported": False, "reason": "no CI here, use Buildkite"}


def harness(adapter_class: type[MemoryAdapter], name: str) -> Callable[..., MemoryHarness]:
    def make(**options: Any) -> MemoryHarness:
        return MemoryHarness(provider=name, adapter_class=adapter_class)

    return make


brokenpages_harness = harness(DropsLastPage, "brokenpages")
brokenidem_harness = harness(NotIdempotent, "brokenidem")
brokenunimpl_harness = harness(Unimplemented, "brokenunimpl")
brokenclose_harness = harness(NeverCloses, "brokenclose")
brokenhidden_harness = harness(HidesClosed, "brokenhidden")
brokennewest_harness = harness(NewestFirstOffset, "brokennewest")
brokenwide_harness = harness(FirstPageOnly, "brokenwide")
brokenurl_harness = harness(UrlIsApi, "brokenurl")
brokenupdate_harness = harness(UpdateDropsBody, "brokenupdate")
brokenreason_harness = harness(DropsCloseReason, "brokenreason")
brokensync_harness = harness(SyncPlansOnly, "brokensync")
plain_harness = harness(MemoryAdapter, "plain")


class EmulatorClass:
    """``ProviderPlugin.emulator`` names an emulator class, not the factory the CLI calls."""

    def __init__(self, port: int = 0) -> None:
        self.port = port


def optioned_harness(**options: Any) -> MemoryHarness:
    if options != {"flavor": "datacenter"}:
        raise ValueError(f"expected flavor=datacenter, got {options}")
    return MemoryHarness(provider="optioned")


PROVIDERS = [
    ("brokenpages", (), None, "DropsLastPage", "brokenpages_harness", None),
    ("brokenidem", (), None, "NotIdempotent", "brokenidem_harness", None),
    ("brokenunimpl", (), None, "Unimplemented", "brokenunimpl_harness", None),
    ("brokenundeclared", ("listMilestones",), None, "MemoryAdapter", "plain_harness", None),
    ("brokenleak", (), None, "MemoryAdapter", "plain_harness", "LEAKY_NORMALIZERS"),
    ("brokenshape", (), _no_ci, "MemoryAdapter", "plain_harness", None),
    ("optioned", (), None, "MemoryAdapter", "optioned_harness", None),
    ("brokenemu", (), None, "MemoryAdapter", "plain_harness", None),
    ("brokenclose", (), None, "NeverCloses", "brokenclose_harness", None),
    ("brokenhookleak", (), None, "MemoryAdapter", "plain_harness", "HOOK_LEAKY_NORMALIZERS"),
    ("brokenhidden", (), None, "HidesClosed", "brokenhidden_harness", None),
    ("brokennewest", (), None, "NewestFirstOffset", "brokennewest_harness", None),
    ("brokenwide", (), None, "FirstPageOnly", "brokenwide_harness", None),
    ("brokenurl", (), None, "UrlIsApi", "brokenurl_harness", None),
    ("brokenupdate", (), None, "UpdateDropsBody", "brokenupdate_harness", None),
    ("brokensig", (), None, "MemoryAdapter", "plain_harness", None),
    ("brokenreason", (), None, "DropsCloseReason", "brokenreason_harness", None),
    ("brokensync", (), None, "SyncPlansOnly", "brokensync_harness", None),
]
EMULATORS = {"brokenemu": "EmulatorClass"}
WEBHOOK_SPECS = {"brokensig": "FAILS_OPEN"}


@hookimpl
def kradle_register_providers(register: Callable[[ProviderPlugin], None]) -> None:
    for name, drop, edit, adapter, make, normalizers in PROVIDERS:
        register(
            ProviderPlugin(
                name=name,
                manifest=manifest_for(name, drop, edit),
                adapter=f"{__name__}:{adapter}.from_config",
                normalizers=f"{__name__}:{normalizers}"
                if normalizers
                else "kradle_providers.testing.memory_events:NORMALIZERS",
                harness=f"{__name__}:{make}",
                emulator=f"{__name__}:{EMULATORS[name]}" if name in EMULATORS else None,
                webhooks=f"{__name__}:{WEBHOOK_SPECS[name]}"
                if name in WEBHOOK_SPECS
                else "kradle_providers.testing.memory_webhooks:WEBHOOKS",
            )
        )
