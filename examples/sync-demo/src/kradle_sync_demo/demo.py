"""The end-to-end demo: GitHub and Jira emulators, one binding, backfill, webhooks, writes.

``python -m kradle_sync_demo`` (the README's ``python3 dev.py demo``) runs
the sync engine the way a host would, against the GitHub and Jira emulators
served on loopback ports:

1. start both emulators (seed ``demo``) and point ``GH_API``/``GH_TOKEN``/
   ``GH_WEBHOOK_SECRET``/``JIRA_API``/``JIRA_USER``/``JIRA_TOKEN``/
   ``JIRA_WEBHOOK_SECRET`` at them;
2. load the ``widgets`` binding (``demo_config/widgets.yaml``, verbatim from
   the issue: git forge bidirectional and CI/CD external-owned on GitHub
   ``acme/widgets``, issue tracking reviewed-write on Jira ``WID``);
3. backfill it into a SQLite file with progress (rich bars on a terminal,
   plain lines otherwise, on stderr);
4. start the webhook receiver on a loopback port and subscribe both emulators
   to it, then send real signed deliveries over HTTP: a new Jira issue, an
   edited pull request, a duplicate delivery, a forged signature and an
   out-of-order pair;
5. propose a reviewed write (a Jira comment), show it reaches no provider
   until approved, approve, send and confirm it;
6. provoke a three-way conflict (the same Jira field changed here and there);
7. print the summary (``sync status --json``'s data) and the SQLite path.

``--db PATH`` keeps the state store where you want it (default: a new
temporary directory, printed). ``--tour`` runs the older walk-through of the
protocols on the in-memory reference provider instead.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, Any

from rich.console import Console
from rich.table import Table

from kradle_providers.auth.secret import Secret, redact
from kradle_providers.errors import KradleError, UnsupportedOperation
from kradle_providers.manifest.model import Manifest
from kradle_providers.models import ExternalRef, Interface, IssueCreate, LabelSpec, SyncResult
from kradle_providers.plugins.spec import ProviderConfig
from kradle_providers.protocols.adapter import ProviderAdapter
from kradle_providers.sync.phases import DeliveryPhase
from kradle_providers.testing.memory_backend import MemoryBackend
from kradle_providers.webhooks.normalizer import EventNormalizer, NormalizeContext

__all__ = ["BINDING_RESOURCE", "DEMO_TOKEN", "binding_text", "main", "run_demo", "run_tour"]

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


async def run_tour(console: Console | None = None) -> int:
    """The protocol walk-through on the in-memory provider (``--tour``); returns the exit code."""
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


# =========================================================================== the sync demo

BINDING_RESOURCE = "demo_config/widgets.yaml"
"""The binding the demo loads, as written in the issue (package data)."""

DEMO_BINDING = "widgets"


def binding_text() -> str:
    """The demo binding's YAML (``${VAR}`` not yet substituted)."""
    from importlib.resources import files

    return files("kradle_sync_demo").joinpath(BINDING_RESOURCE).read_text(encoding="utf-8")


class _SteppedClock:
    """Wall-clock time plus an offset the demo moves forward between two edits.

    GitHub stamps ``updated_at`` to the second; two edits within one second
    would carry the same version, so the demo steps the emulator's clock to
    give each edit its own, as real edits minutes apart would have.
    """

    def __init__(self) -> None:
        self.offset = timedelta(0)

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.offset

    def step(self, seconds: float = 60.0) -> None:
        self.offset += timedelta(seconds=seconds)


@dataclass
class _Demo:
    """What the steps share."""

    out: _Out
    gh: Any
    jira: Any
    clock: _SteppedClock
    store: Any = None
    bound: Any = None
    receiver: Any = None
    intents: Any = None
    env: dict[str, str] = field(default_factory=dict)
    new_issue: str = ""
    edited_pr: str = ""

    async def settle(self) -> None:
        """Wait until every emitted webhook was sent and the receiver processed it."""
        for _ in range(3):
            await self.gh.webhooks.flush()
            await self.jira.webhooks.flush()
            await self.receiver.drain()

    async def projection(self, interface: str, kind: str, number: str) -> Any:
        """The live projection whose native number (or id) is ``number``, if any."""
        async for proj in self.store.projections.iter_projections(
            binding=DEMO_BINDING, interface=Interface(interface), kind=kind
        ):
            external = (proj.object or {}).get("external") or {}
            if number in (str(external.get("native_number")), proj.key.native_id):
                return proj
        return None

    async def title_of(self, interface: str, kind: str, number: str) -> str | None:
        proj = await self.projection(interface, kind, number)
        if proj is None or proj.tombstoned or proj.object is None:
            return None
        title = proj.object.get("title")
        return str(title) if title is not None else None


def _status_code(delivery: Any) -> str:
    last = delivery.last
    if last is None:
        return "not sent"
    return str(last.status) if last.status is not None else f"error {last.error}"


async def _record_for(store: Any, delivery_id: str) -> list[Any]:
    """Every receiver record of one provider delivery id, oldest first."""
    found = []
    for phase in DeliveryPhase:
        for record in await store.deliveries.list_by_phase(phase):
            if record.delivery_id == delivery_id:
                found.append(record)
    return sorted(found, key=lambda r: r.received_at)


def _fresh_db(db: Path) -> None:
    """Start from an empty state store at ``db`` (the demo's steps assume a first sync)."""
    db.parent.mkdir(parents=True, exist_ok=True)
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)


async def run_demo(
    console: Console | None = None,
    *,
    db: Path | None = None,
    progress_out: IO[str] | None = None,
) -> int:
    """Run the end-to-end sync demo (see the module docstring); returns the exit code."""
    from kradle_providers.plugins.registry import load_registry
    from kradle_providers.store import SqliteStateStore
    from kradle_providers.testing.emulator.server import LoopbackServer

    out = _Out(console or Console())
    started = time.monotonic()
    if db is None:
        db = Path(tempfile.mkdtemp(prefix="kradle-demo-")) / "kradle-demo.db"
    _fresh_db(db)

    out.heading("Start the GitHub and Jira emulators on loopback ports")
    clock = _SteppedClock()
    gh_token = "ghp_demo" + secrets.token_hex(16)
    jira_token = "jira-demo-" + secrets.token_hex(12)
    # Emulators come from the installed plugins, as `kradle-providers emulator serve` gets them.
    registry = load_registry()
    github_emulator = registry.emulator_factory("github")
    jira_emulator = registry.emulator_factory("jira")
    if github_emulator is None or jira_emulator is None:
        out.line("the installed github and jira plugins must ship emulators")
        return 2
    gh = github_emulator(seed="demo", token=gh_token, options={"clock": clock})
    jira = jira_emulator(seed="demo", token=jira_token, flavor="cloud")
    demo = _Demo(out=out, gh=gh, jira=jira, clock=clock)
    async with LoopbackServer(gh.app) as gh_server, LoopbackServer(jira.app) as jira_server:
        out.line(
            f"GitHub emulator at {gh_server.url} (acme/widgets), Jira Cloud emulator at "
            f"{jira_server.url} (project WID), both seeded with the 'demo' data set."
        )
        demo.env = {
            "GH_API": gh_server.url,
            "GH_TOKEN": gh_token,
            "GH_WEBHOOK_SECRET": "whsec-gh-" + secrets.token_hex(12),
            "JIRA_API": jira_server.url,
            "JIRA_USER": "demo@acme.test",
            "JIRA_TOKEN": jira_token,
            "JIRA_WEBHOOK_SECRET": "whsec-jira-" + secrets.token_hex(12),
        }
        saved = {name: os.environ.get(name) for name in demo.env}
        os.environ.update(demo.env)
        out.line(
            "GH_API, GH_TOKEN, GH_WEBHOOK_SECRET, JIRA_API, JIRA_USER, JIRA_TOKEN and "
            "JIRA_WEBHOOK_SECRET are set in the environment; the binding reads them from there."
        )
        try:
            async with SqliteStateStore(db) as store:
                demo.store = store
                code = await _with_store(demo, db, progress_out)
        finally:
            for name, value in saved.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value
    out.heading("Done")
    out.line(f"State store: {db}")
    out.line(f"Inspect it with: kradle-providers sync status --db {db}")
    out.line(f"The demo took {time.monotonic() - started:.1f} s.")
    return code


async def _with_store(demo: _Demo, db: Path, progress_out: IO[str] | None) -> int:
    from kradle_providers.sync.binding import parse_binding
    from kradle_providers.sync.runtime import BoundBinding

    out = demo.out
    out.heading("Load the 'widgets' binding")
    text = binding_text()
    binding = parse_binding(text, source=BINDING_RESOURCE)
    rows = []
    for iface in binding.interfaces:
        spec = binding.interface(iface)
        prov = binding.provider(spec.provider)
        rows.append(
            [
                iface.value,
                f"{spec.provider} ({prov.type})",
                spec.mode.value,
                spec.external_ref.slug(),
            ]
        )
    out.table(["interface", "provider", "mode", "external ref"], rows)
    out.line(
        "Each interface comes from its own provider instance with its own mode; the "
        "credentials are references to environment variables, never values."
    )
    async with await BoundBinding.open(binding) as bound:
        demo.bound = bound
        out.line(
            "The installed plugins' manifests accept it: every mode has the operations it needs."
        )
        await _backfill(demo, db, progress_out)
        server = await _start_receiver(demo)
        try:
            await _webhooks(demo)
            await _reviewed_write(demo)
            await _conflict(demo)
        finally:
            await demo.settle()
            await server.__aexit__(None, None, None)
            await demo.receiver.aclose()
        await _summary(demo)
    return 0


async def _backfill(demo: _Demo, db: Path, progress_out: IO[str] | None) -> None:
    from kradle_providers.sync.backfill import Backfiller
    from kradle_providers.sync.progress import make_progress

    out = demo.out
    out.heading("Backfill every bound interface into SQLite")
    out.line(f"SQLite state store: {db}")
    progress = make_progress(progress_out)
    try:
        report = await Backfiller(demo.bound, demo.store, progress=progress).run()
    finally:
        progress.close()
    counts = await demo.store.projections.count_by_kind(DEMO_BINDING)
    seeded = {f"gitForge/{k}": v for k, v in demo.gh.counts().items()}
    seeded.update({f"cicd/{k}": v for k, v in demo.gh.counts().items()})
    seeded.update({f"issueTracking/{k}": v for k, v in demo.jira.counts().items()})
    rows = [[r.name, r.phase.value, r.counters.listed, r.counters.applied] for r in report.results]
    out.table(["stream", "phase", "listed", "applied"], rows)
    total = sum(counts.values())
    same = sum(1 for k, v in counts.items() if seeded.get(k) == v)
    out.line(
        f"{total} objects in {len(counts)} kinds; {same} kinds hold exactly the emulators' "
        "seeded counts. Every page was committed with its checkpoint, so a crash resumes "
        "from the last page."
    )
    if not report.ok:
        raise RuntimeError(
            "the backfill did not succeed: "
            + "; ".join(f"{r.name}: {r.error}" for r in report.results if r.error)
        )


async def _start_receiver(demo: _Demo) -> Any:
    """Start the receiver on a loopback port, subscribe the emulators; returns the server."""
    from kradle_providers.sync.intents import WriteIntentService, channels_for
    from kradle_providers.sync.reconciler import Reconciler
    from kradle_providers.testing.emulator.server import LoopbackServer
    from kradle_providers.webhooks.receiver import WebhookReceiver
    from kradle_providers.webhooks.registry import NormalizerRegistry

    out, store, bound = demo.out, demo.store, demo.bound
    out.heading("Start the webhook receiver and subscribe both emulators")
    demo.intents = WriteIntentService(store, channels_for(bound))
    # Every event that changes a projection may confirm a write awaiting it; deliveries
    # about other repositories or projects are recorded and never projected (scope).
    reconciler = Reconciler.for_binding(store, bound, confirm=demo.intents.confirm_from_event)
    demo.receiver = WebhookReceiver(
        bound.webhook_endpoints(),
        handle=reconciler,
        registry=NormalizerRegistry.from_plugins(),
        store=store.deliveries,
        dedupe=store.dedupe,
    )
    server = LoopbackServer(demo.receiver.app)
    await server.__aenter__()
    gh_url = f"{server.url}/github/gh"
    jira_url = f"{server.url}/jira/jira"
    demo.gh.webhooks.subscribe(gh_url, demo.env["GH_WEBHOOK_SECRET"])
    demo.jira.webhooks.subscribe(jira_url, demo.env["JIRA_WEBHOOK_SECRET"])
    out.line(
        f"POST {gh_url} and POST {jira_url}: each delivery is verified on its raw "
        "bytes, recorded, answered 202 and processed from a queue by the reconciler."
    )
    return server


async def _webhooks(demo: _Demo) -> None:
    """Real signed deliveries: new issue, edited PR, duplicate, forgery, out-of-order pair."""
    await _new_issue(demo)
    edited = await _edited_pr(demo)
    await _duplicate(demo, edited)
    await _forged(demo, edited)
    await _out_of_order(demo)


async def _new_issue(demo: _Demo) -> None:
    out = demo.out
    out.heading("A person creates a Jira issue")
    key = demo.jira.control.seed("Issue", title="Widgets rattle below -10 °C")[0]
    await demo.settle()
    title = await demo.title_of("issueTracking", "Issue", key)
    out.line(
        f"jira:issue_created for {key} arrived signed over HTTP; the projection now holds "
        f"{key} {title!r}."
    )
    if title is None:
        raise RuntimeError(f"the new issue {key} was not projected from its webhook")
    demo.new_issue = key


def _open_pull_numbers(gh: Any) -> list[str]:
    repo = gh.state.repo("acme", "widgets")
    pulls = gh.state.store["pulls"].filter(repo_id=repo["id"])
    return [str(p["number"]) for p in sorted(pulls, key=lambda p: p["number"])]


async def _edited_pr(demo: _Demo) -> Any:
    out, gh = demo.out, demo.gh
    out.heading("A person edits a pull request on GitHub")
    number = _open_pull_numbers(gh)[0]
    before = len(gh.webhooks.deliveries)
    demo.clock.step()
    gh.control.change("PullRequest", number, title="Sprocket cache: evict on resize")
    await demo.settle()
    sent = [d for d in gh.webhooks.deliveries[before:] if d.event == "pull_request"]
    title = await demo.title_of("gitForge", "PullRequest", number)
    out.line(
        f"pull_request.edited for #{number} was delivered ({_status_code(sent[-1])}); the "
        f"projection's title is now {title!r}."
    )
    if title != "Sprocket cache: evict on resize":
        raise RuntimeError(f"the edited PR #{number} was not projected: {title!r}")
    demo.edited_pr = number
    return sent[-1]


async def _duplicate(demo: _Demo, delivery: Any) -> None:
    out = demo.out
    out.heading("GitHub delivers the same webhook again")
    attempt = await demo.gh.webhooks.redeliver(delivery)
    await demo.settle()
    records = await _record_for(demo.store, delivery.id)
    note = records[-1].history[-1].note if records and records[-1].history else None
    out.line(
        f"Redelivery {delivery.id} answered {attempt.status} and was recorded again, but "
        f"its event was already applied: {note}."
    )
    out.line("Dedupe is by delivery id + action + object id, so a replay never applies twice.")


async def _forged(demo: _Demo, genuine: Any) -> None:
    out = demo.out
    out.heading("Someone forges a delivery")
    forged = demo.gh.webhooks.prepare(
        genuine.url,
        "pull_request",
        genuine.body.replace(b"Sprocket cache", b"Forged title"),
        secret="not-the-webhook-secret",
        headers={"x-github-hook-id": "1"},
    )
    attempt = await demo.gh.webhooks.send(forged)
    await demo.settle()
    title = await demo.title_of("gitForge", "PullRequest", demo.edited_pr)
    out.line(
        f"Signed with the wrong secret: answered {attempt.status}, recorded as "
        f"SignatureRejected and never processed (the title is still {title!r})."
    )
    if attempt.status != 401 or title is None or "Forged" in title:
        raise RuntimeError("a forged delivery was not rejected")


async def _out_of_order(demo: _Demo) -> None:
    out, gh = demo.out, demo.gh
    out.heading("Two updates of one pull request arrive newest first")
    number = _open_pull_numbers(gh)[1]
    before = len(gh.webhooks.deliveries)

    def two_edits() -> None:
        # Called outside the event loop, GitHub's deliveries are prepared but held
        # (the emulator sends them on the next flush); the demo sends them itself.
        gh.control.change("PullRequest", number, title="Gear alignment: first edit")
        demo.clock.step()
        gh.control.change("PullRequest", number, title="Gear alignment: second edit")

    demo.clock.step()
    await asyncio.to_thread(two_edits)
    held = [d for d in gh.webhooks.deliveries[before:] if d.event == "pull_request"]
    gh.webhooks.clear()  # the held pair is sent below, in reverse, and only there
    attempts = await gh.webhooks.send_all(held, order="reverse")
    await demo.settle()
    title = await demo.title_of("gitForge", "PullRequest", number)
    codes = ", ".join(str(a.status) for a in attempts)
    out.line(
        f"The second edit was delivered before the first (answers {codes}); the "
        f"projection of #{number} keeps the newest title {title!r}."
    )
    out.line("Projections are ordered by the provider's version fields, not by arrival.")
    if title != "Gear alignment: second edit":
        raise RuntimeError(f"out-of-order deliveries left #{number} at {title!r}")


def _writes(jira: Any, since: int) -> list[Any]:
    return [r for r in list(jira.requests)[since:] if r.method != "GET"]


async def _reviewed_write(demo: _Demo) -> None:
    out, jira, intents = demo.out, demo.jira, demo.intents
    out.heading("An agent proposes a Jira comment (reviewed-write)")
    key = demo.new_issue
    mark = len(list(jira.requests))
    intent = await intents.propose(
        DEMO_BINDING,
        "issueTracking",
        "createComment",
        payload={"body": "Reproduced at -12 °C; the sprocket shrinks. Proposed fix in #12."},
        actor="agent:triage-bot",
        object_id=key,
    )
    out.line(
        f"Intent {intent.id[:8]} on {key} is {intent.phase.value}; the Jira emulator has "
        f"received {len(_writes(jira, mark))} write request(s) since it was proposed."
    )
    if intent.phase.value != "PendingApproval" or _writes(jira, mark):
        raise RuntimeError("a reviewed write reached the provider before approval")
    approved = await intents.approve(intent.id, "alice@acme.test", note="looks right")
    out.line(f"alice@acme.test approved it: {approved.phase.value}.")
    sent = await intents.send(intent.id)
    writes = _writes(jira, mark)
    out.line(
        f"Sent with its idempotency key: {sent.phase.value} after "
        f"{len(writes)} write request(s) ({', '.join(f'{w.method} {w.path}' for w in writes)})."
    )
    await demo.settle()
    final = await demo.store.intents.get(intent.id)
    how = "webhook"
    if final.phase.value == "AwaitingConfirmation":
        await intents.confirm_by_read_back(binding=DEMO_BINDING)
        final = await demo.store.intents.get(intent.id)
        how = "read-back"
    out.line(
        f"Confirmed by {how}: {final.phase.value}, with the provider's response digest "
        f"{(final.response_digest or '')[:19]}…."
    )
    if final.phase.value != "Succeeded":
        raise RuntimeError(f"the approved write ended {final.phase.value}: {final.last_error}")


async def _conflict(demo: _Demo) -> None:
    out, jira, intents = demo.out, demo.jira, demo.intents
    out.heading("The same Jira field changes here and on Jira")
    key = "WID-2"
    base = await demo.title_of("issueTracking", "Issue", key)
    intent = await intents.propose(
        DEMO_BINDING,
        "issueTracking",
        "updateIssue",
        payload={"title": "Sprocket cache: document the eviction rules"},
        actor="agent:docs-bot",
        object_id=key,
    )
    jira.control.change("Issue", key, title="Sprocket cache: eviction rules (from Jira)")
    await demo.settle()
    await intents.approve(intent.id, "alice@acme.test")
    moved = await intents.send(intent.id)
    out.line(
        f"Local intent and a Jira edit both changed {key}'s title since the last sync "
        f"({base!r}); sending it found that and moved it to {moved.phase.value}."
    )
    if moved.conflict_id is None:
        raise RuntimeError(f"no conflict was raised; the intent is {moved.phase.value}")
    conflict = await demo.store.conflicts.get(moved.conflict_id)
    out.table(
        ["field", "base", "local", "external"],
        [[f.field, f.base, f.local, f.external] for f in conflict.fields],
    )
    out.line(
        f"Conflict {conflict.id[:8]} is {conflict.phase.value} ({conflict.reason.value}); "
        "resolve it with prefer-external, prefer-local, a manual merge, a reviewed "
        "change or ignore (`kradle-providers sync conflicts resolve`)."
    )


async def _summary(demo: _Demo) -> None:
    from kradle_providers.sync.status import status_report

    out = demo.out
    out.heading("Summary (the data of `sync status --json`)")
    report = await status_report(demo.store, binding=DEMO_BINDING)
    out.table(["objects", "count"], list(report["objects"].items()))
    for title in ("deliveries", "intents", "conflicts"):
        by_phase = report[title]
        out.table([title, "count"], sorted(by_phase.items()) or [["(none)", 0]])


# =========================================================================== entry point


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m kradle_sync_demo``; returns the exit code."""
    parser = argparse.ArgumentParser(
        prog="python -m kradle_sync_demo",
        description="The end-to-end sync demo against the GitHub and Jira emulators.",
    )
    parser.add_argument(
        "--db",
        type=Path,
        default=None,
        help="SQLite state store (default: kradle-demo.db in a new temp dir)",
    )
    parser.add_argument(
        "--tour",
        action="store_true",
        help="the protocol walk-through on the in-memory provider instead",
    )
    args = parser.parse_args(argv)
    if args.tour:
        return asyncio.run(run_tour())
    try:
        return asyncio.run(run_demo(db=args.db))
    except (KradleError, RuntimeError) as exc:
        print(f"demo failed: {redact(str(exc))}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
