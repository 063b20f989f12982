"""The request plan of the shipped backfill on the demo seed (issue 16 item 1).

Each run uses a new binding (new adapters, new HTTP clients: what a new
process has) and reopens the SQLite file, as ``sync backfill`` run twice does:

- a re-sync of unchanged data lists no jobs, artifacts or reviews of
  unchanged runs and pull requests, and its listings are revalidated with the
  validators the first run stored (304s, which GitHub does not bill);
- a new run is hydrated, and only that run (GitHub lists runs by creation
  date, so a run is "new since" once, when it is created);
- without the store's validators (a store that forgets them), the same
  re-sync reads every listing again: what the persisted validators save.

Performance figures are in ``benchmarks/backfill_plan.py``; this asserts behaviour.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

from kradle_provider_github.emulator import create_emulator

from kradle_providers.auth.refs import MappingResolver
from kradle_providers.http.conditional import CachedEntry, CacheKey
from kradle_providers.store import SqliteStateStore
from kradle_providers.sync.backfill import Backfiller
from kradle_providers.sync.binding import parse_binding
from kradle_providers.sync.runtime import BoundBinding, ProviderOverride

TOKEN = "ghp_backfillPlan000000000000000000000001"
BINDING = """\
apiVersion: kradle.a5c.ai/v1alpha1
kind: ExternalBackendBinding
metadata: {name: plan}
spec:
  target: {kind: Repository, name: widgets}
  providers:
    gh: {type: github, apiBaseUrl: "https://api.github.com", auth: {token: {env: GH_TOKEN}}}
  interfaces:
    gitForge: {provider: gh, mode: read-only, externalRef: {owner: acme, repository: widgets}}
    cicd:     {provider: gh, mode: read-only, externalRef: {owner: acme, repository: widgets}}
"""
CHILD_LISTINGS = ("listJobsForWorkflowRun", "listWorkflowRunArtifacts", "listReviews")


class ForgetfulValidators:
    """A validator backend that keeps nothing (a store without the validators table)."""

    async def get(self, key: CacheKey) -> CachedEntry | None:
        return None

    async def put(self, key: CacheKey, entry: CachedEntry) -> None:
        return None

    async def invalidate(self, key: CacheKey) -> None:
        return None


async def backfill(emulator: Any, db: Path, *, forget: bool = False) -> Counter[str]:
    """One run as a new process makes it; returns the requests per operation it sent."""
    before = len(emulator.requests)
    bound = await BoundBinding.open(
        parse_binding(BINDING, environ={}),
        resolver=MappingResolver({"env": {"GH_TOKEN": TOKEN}}),
        overrides={"gh": ProviderOverride(transport=emulator.transport())},
    )
    async with bound, SqliteStateStore(db) as store:
        backfiller = Backfiller(bound, store)
        if forget:
            bound.share_validators_with(ForgetfulValidators())
        report = await backfiller.run()
    assert report.ok, report.to_dict()
    sent = emulator.requests[before:]
    ops = Counter(r.operation or "?" for r in sent)
    ops["_304"] = sum(1 for r in sent if r.status == 304)
    ops["_total"] = len(sent)
    return ops


async def test_resync_lists_no_children_of_unchanged_parents_and_revalidates(
    tmp_path: Path,
) -> None:
    emulator = create_emulator(seed="demo", token=TOKEN)
    fresh = await backfill(emulator, tmp_path / "sync.db")
    assert all(fresh[op] > 0 for op in CHILD_LISTINGS)
    again = await backfill(emulator, tmp_path / "sync.db")
    assert again["listJobsForWorkflowRun"] == 0
    assert again["listWorkflowRunArtifacts"] == 0
    assert again["listReviews"] <= 1  # at most a pull request in the overlap window
    # Everything else was revalidated from the stored validators: nearly all 304s.
    assert again["_total"] - again["_304"] <= 5, again

    emulator.control.seed("Pipeline")  # a new run since the last backfill
    third = await backfill(emulator, tmp_path / "sync.db")
    assert third["listJobsForWorkflowRun"] == 1
    assert third["listWorkflowRunArtifacts"] == 1


async def test_without_stored_validators_the_resync_reads_everything_again(
    tmp_path: Path,
) -> None:
    emulator = create_emulator(seed="demo", token=TOKEN)
    await backfill(emulator, tmp_path / "sync.db", forget=True)
    again = await backfill(emulator, tmp_path / "sync.db", forget=True)
    assert again["_304"] == 0
    assert again["_total"] > 100
