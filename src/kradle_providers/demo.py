"""A short walk-through of kradle-providers on the in-memory reference provider.

Run it with ``python -m kradle_providers.demo``. It lists the installed
providers, summarizes the memory provider's manifest, creates issues (safely
retried with an idempotency key), pages through them, lists incrementally from
a high-water mark after a change made "on the provider's site", converges
labels declaratively (dry run, real run, no-op), explains an operation a
provider does not declare, and normalizes the provider's change events into
canonical sync events. Output uses rich on a terminal and plain text otherwise.
"""

from __future__ import annotations

import asyncio
import sys
from collections import Counter
from collections.abc import Sequence
from typing import Any

from rich.console import Console
from rich.table import Table

from kradle_providers.auth.secret import Secret
from kradle_providers.errors import KradleError, UnsupportedOperation
from kradle_providers.manifest.model import Manifest
from kradle_providers.models import ExternalRef, IssueCreate, LabelSpec, SyncResult
from kradle_providers.plugins.spec import ProviderConfig
from kradle_providers.protocols.adapter import ProviderAdapter
from kradle_providers.testing.memory_backend import MemoryBackend
from kradle_providers.webhooks.normalizer import EventNormalizer, NormalizeContext

__all__ = ["main", "run"]

DEMO_TOKEN = "memory-demo-token-0001"
"""The credential the demo's in-memory backend accepts (not a real secret)."""


class _Out:
    """Prints headings, lines and tables: rich on a terminal, plain text otherwise."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.rich = console.is_terminal
        self.step = 0

    def heading(self, text: str) -> None:
        self.step += 1
        title = f"{self.step}. {text}"
        if self.rich:
            self.console.rule(f"[bold]{title}[/bold]", align="left")
        else:
            self.console.print(f"\n== {title}", markup=False, highlight=False, soft_wrap=True)

    def line(self, text: str = "") -> None:
        self.console.print(
            f"  {text}" if text else "", markup=False, highlight=False, soft_wrap=True
        )

    def table(self, headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
        cells = [[str(c) for c in row] for row in rows]
        if self.rich:
            table = Table(*headers, show_edge=False, pad_edge=False)
            for row in cells:
                table.add_row(*row)
            self.console.print(table)
            return
        widths = [max(len(h), *(len(r[i]) for r in cells)) for i, h in enumerate(headers)]
        for row in [list(headers), *cells]:
            text = "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True))
            self.console.print(f"  {text.rstrip()}", markup=False, highlight=False, soft_wrap=True)


def _plan_rows(result: SyncResult) -> list[list[str]]:
    return [[c.action.value, c.key, ", ".join(c.fields)] for c in result.changes]


def _restricted(manifest: Manifest) -> Manifest:
    """The memory manifest as an issue-tracking-only deployment would declare it."""
    data = manifest.model_dump(by_alias=True, exclude_none=True)
    data["spec"]["interfaces"]["cicd"] = {
        "supported": False,
        "reason": "this deployment only offers issue tracking",
    }
    return Manifest.model_validate(data)


def _load_provider(
    out: _Out, config: ProviderConfig
) -> tuple[ProviderAdapter, Manifest, dict[str, EventNormalizer]]:
    """The memory provider through the plugin registry (or directly, if it is absent)."""
    try:
        from kradle_providers.plugins.registry import load_registry
    except ImportError:  # pragma: no cover - only before the registry exists
        registry = None
    else:
        registry = load_registry()
    if registry is not None and "memory" in registry:
        out.table(
            ["provider", "version", "interfaces", "operations"],
            [
                [
                    info.name,
                    info.version or "-",
                    ", ".join(i.value for i in info.interfaces),
                    sum(info.operation_counts.values()),
                ]
                for info in registry.plugins()
            ],
        )
        for error in registry.errors:
            out.line(f"not loaded: {error}")
        adapter: ProviderAdapter = registry.create_adapter("memory", config)
        return adapter, registry.manifest("memory"), dict(registry.normalizers("memory"))
    # Fallback: the registry is unavailable, so load the memory provider by hand.
    from importlib.resources import files

    import yaml

    from kradle_providers.testing.memory import MemoryAdapter
    from kradle_providers.testing.memory_events import NORMALIZERS

    text = files("kradle_providers.testing").joinpath("memory_manifest.yaml").read_text()
    out.line("plugin registry unavailable; loaded the memory provider directly")
    manifest = Manifest.model_validate(yaml.safe_load(text))
    return MemoryAdapter.from_config(config), manifest, dict(NORMALIZERS)


async def run(console: Console | None = None) -> int:
    """Run the walk-through, printing to ``console``; returns the exit code."""
    out = _Out(console or Console())
    backend = MemoryBackend(accepted_token=DEMO_TOKEN, max_page_size=100)
    scope = backend.seed_demo("acme", "widgets")
    ref = ExternalRef(owner="acme", repository="widgets")
    config = ProviderConfig(instance="demo", auth=Secret(DEMO_TOKEN), options={"backend": backend})

    out.heading("Installed providers")
    adapter, manifest, normalizers = _load_provider(out, config)

    out.heading("The memory provider's manifest")
    spec = manifest.spec
    out.line(f"{spec.display_name} (providerType {spec.provider_type})")
    out.line(f"hosting: {', '.join(spec.hosting)}; auth modes: {', '.join(spec.auth_modes)}")
    out.table(
        ["interface", "supported", "operations", "webhook events"],
        [
            [iface.value, "yes" if s.supported else "no", len(s.supported_operations()),
             len(s.webhook_entries())]
            for iface, s in spec.interfaces.items()
        ],
    )  # fmt: skip

    out.heading("Create issues (a retried write with the same idempotency key)")
    first_event = len(backend.events)
    created = []
    for n, title in enumerate(["Gears grind", "Spring too stiff", "Bolt missing"], start=1):
        issue = await adapter.create_issue(
            ref, IssueCreate(title=title, labels=["bug"]), idempotency_key=f"demo-{n}"
        )
        created.append(issue)
        out.line(f"created #{issue.external.native_number} {issue.title!r}")
    retried = await adapter.create_issue(
        ref, IssueCreate(title="Gears grind", labels=["bug"]), idempotency_key="demo-1"
    )
    out.line(
        f"retry with key demo-1 returned #{retried.external.native_number} again "
        f"(no duplicate: {retried.external.native_id == created[0].external.native_id})"
    )

    out.heading("Page through open issues, two at a time")
    cursor: str | None = None
    page_no = 0
    mark = None
    while True:
        page = await adapter.list_issues(ref, state="open", cursor=cursor, page_size=2)
        page_no += 1
        titles = ", ".join(f"#{i.external.native_number} {i.title}" for i in page.items)
        out.line(f"page {page_no}: {titles}")
        mark = page.high_water_mark
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    out.line(f"high-water mark: {mark.isoformat() if mark else '-'}")

    out.heading("Incremental listing after a change on the provider's site")
    target = created[1]
    backend.external_change(
        "issue", int(target.external.native_id), title="Spring too stiff (reproduced)"
    )
    out.line(f"someone renamed #{target.external.native_number} on the provider's site")
    changed = await adapter.list_issues(ref, since=mark)
    for issue in changed.items:
        version = issue.external.version
        out.line(
            f"changed since mark: #{issue.external.native_number} {issue.title!r} "
            f"(version {version.sequence}, updated {version.updated_at:%H:%M:%S})"
        )
    out.line("the mark is inclusive: an object changed exactly at it is listed again")

    out.heading("Declarative label sync: dry run, real run, then a no-op")
    desired = [
        LabelSpec(name="bug", color="d73a4a"),
        LabelSpec(name="triage", color="fbca04", description="Needs a first look"),
    ]
    events_before = len(backend.events)
    plan = await adapter.sync_labels(ref, desired, dry_run=True)
    out.line(
        f"dry run plan {plan.summary()} (changed nothing: {len(backend.events) == events_before})"
    )
    out.table(["action", "label", "fields"], _plan_rows(plan))
    applied = await adapter.sync_labels(ref, desired)
    same = applied.changes == plan.changes
    out.line(f"real run {applied.summary()} (same plan as the dry run: {same})")
    again = await adapter.sync_labels(ref, desired)
    out.line(f"second run is a no-op: {again.is_noop}")

    out.heading("Explaining an operation a provider does not offer")
    from kradle_providers.plugins.explain import explain_operation
    from kradle_providers.plugins.guard import GuardedAdapter

    limited = _restricted(manifest)
    for text in explain_operation(limited, "listPipelines").lines():
        out.line(text)
    inner = getattr(adapter, "adapter", adapter)
    # The registry's guard, over a manifest that leaves CI/CD out.
    guarded = GuardedAdapter(inner, limited)
    calls_before = len(backend.requests)
    try:
        await guarded.list_pipelines(ref)
    except UnsupportedOperation as exc:
        out.line(f"calling it anyway: UnsupportedOperation: {exc}")
    out.line(f"requests that reached the provider: {len(backend.requests) - calls_before}")
    try:
        explain_operation(limited, "deleteIssues")
    except KradleError as exc:
        out.line(f"an unknown name: {exc}")

    out.heading("Normalize the provider's change events into canonical sync events")
    outcomes: Counter[str] = Counter()
    kinds: Counter[str] = Counter()
    for event in backend.events[first_event:]:
        normalizer = normalizers.get(event["event"])
        if normalizer is None:
            outcomes["no normalizer"] += 1
            continue
        context = NormalizeContext(
            provider=adapter.provider_ref, event=event["event"], delivery_id=event["delivery_id"]
        )
        result = normalizer(context, event)
        outcomes[result.outcome.value] += 1
        for sync_event in result.events:
            kinds[f"{sync_event.object_kind} {sync_event.action.value}"] += 1
    out.table(["sync event", "count"], sorted(kinds.items()))
    out.line(f"outcomes: {dict(sorted(outcomes.items()))}")
    ping = normalizers["ping"](
        NormalizeContext(provider=adapter.provider_ref, event="ping"), {"zen": "hi"}
    )
    bad = normalizers["issue"](
        NormalizeContext(provider=adapter.provider_ref, event="issue"), {"action": "exploded"}
    )
    out.line(f"ping -> {ping.outcome.value}; a malformed issue payload -> {bad.outcome.value}")
    out.line(f"  ({bad.reason})")

    out.heading("Done")
    out.line(f"{len(backend.requests)} adapter calls, {len(backend.events)} provider events, "
             f"scope {scope}")  # fmt: skip
    await adapter.aclose()
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m kradle_providers.demo``; returns the exit code."""
    return asyncio.run(run())


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
