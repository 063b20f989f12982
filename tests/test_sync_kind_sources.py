"""What a backfill lists per kind: hydration-only kinds, the Check walk, per-stream budgets."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kradle_providers.errors import NotFound
from kradle_providers.models.base import Interface
from kradle_providers.plugins.registry import load_registry
from kradle_providers.protocols.page import Page, decode_cursor, encode_cursor
from kradle_providers.store import SqliteStateStore
from kradle_providers.sync.backfill import Backfiller
from kradle_providers.sync.binding import BindingRefused, parse_binding
from kradle_providers.sync.progress import PlainProgress
from kradle_providers.sync.runtime import (
    CHECK_HEAD_SOURCES,
    KIND_SOURCES,
    BoundBinding,
    ProviderOverride,
    default_kinds,
)
from kradle_providers.testing.memory_backend import MemoryBackend

BINDING = """\
apiVersion: kradle.a5c.ai/v1alpha1
kind: ExternalBackendBinding
metadata: {name: mem}
spec:
  target: {kind: Repository, name: widgets}
  providers:
    m: {type: memory}
  interfaces:
    gitForge: {provider: m, mode: read-only, externalRef: {owner: acme, repository: widgets}KINDS}
"""


@pytest.fixture
async def store() -> AsyncIterator[SqliteStateStore]:
    async with SqliteStateStore(":memory:") as s:
        yield s


# -- Commit: a hydration kind ------------------------------------------------------


def test_commit_is_not_a_default_kind_but_can_be_asked_for() -> None:
    manifest = load_registry().manifest("memory")
    assert "Commit" not in default_kinds(manifest, Interface.GIT_FORGE)
    assert "Ref" in default_kinds(manifest, Interface.GIT_FORGE)
    assert "Commit" in default_kinds(manifest, Interface.GIT_FORGE, unlisted=True)
    binding = parse_binding(BINDING.replace("KINDS", ""), environ={})
    assert "Commit" not in binding.validate_against().kinds[Interface.GIT_FORGE]
    explicit = parse_binding(BINDING.replace("KINDS", ", kinds: [Ref, Commit]"), environ={})
    assert explicit.validate_against().kinds[Interface.GIT_FORGE] == ("Ref", "Commit")


def test_an_unknown_kind_is_still_refused() -> None:
    binding = parse_binding(BINDING.replace("KINDS", ", kinds: [Commitz]"), environ={})
    with pytest.raises(BindingRefused, match="cannot list Commitz"):
        binding.validate_against()


async def test_commits_asked_for_are_the_heads_of_the_refs(store: SqliteStateStore) -> None:
    backend = MemoryBackend()
    backend.seed_demo()
    text = BINDING.replace("KINDS", ", kinds: [Ref, Commit]")
    async with await BoundBinding.open(
        parse_binding(text, environ={}),
        overrides={"m": ProviderOverride(options={"backend": backend})},
    ) as bound:
        report = await Backfiller(bound, store).run()
        refs = [
            p.object
            async for p in store.projections.iter_projections(binding="mem", kind="Ref")
            if p.object is not None
        ]
    assert report.ok, report.to_dict()
    counts = await store.projections.count_by_kind("mem")
    assert counts["gitForge/Commit"] == len({r["sha"] for r in refs}) > 0


# -- Check: every known head commit, once ------------------------------------------


@dataclass
class HeadsAdapter:
    """A stand-in adapter: pages of heads per source and checks per sha."""

    heads: dict[str, list[str]]  # operation -> head shas, in listing order
    checks: dict[str, int]  # sha -> number of checks on it
    page_size: int
    unsupported: frozenset[str] = frozenset()
    missing: frozenset[str] = frozenset()  # shas whose commit is gone (NotFound)
    check_calls: list[str] = field(default_factory=list)

    def supports(self, operation: str) -> bool:
        return operation not in self.unsupported

    def _page(self, op: str, attr: str, cursor: str | None) -> Page[Any]:
        assert self.supports(op), f"{op} called although unsupported"
        start = int(decode_cursor(cursor)["at"]) if cursor else 0
        shas = self.heads.get(op, [])[start : start + self.page_size]
        end = start + len(shas)
        more = end < len(self.heads.get(op, []))
        return Page(
            items=[SimpleNamespace(**{attr: sha}) for sha in shas],
            next_cursor=encode_cursor({"at": end}) if more else None,
        )

    async def list_pipelines(self, ref: Any, *, cursor: str | None = None) -> Page[Any]:
        return self._page("listPipelines", "sha", cursor)

    async def list_refs(self, ref: Any, *, cursor: str | None = None) -> Page[Any]:
        return self._page("listRefs", "sha", cursor)

    async def list_pull_requests(self, ref: Any, *, cursor: str | None = None) -> Page[Any]:
        return self._page("listPullRequests", "head_sha", cursor)

    async def list_checks(self, ref: Any, sha: str, *, cursor: str | None = None) -> Page[Any]:
        self.check_calls.append(sha)
        if sha in self.missing:
            raise NotFound(f"no commit {sha}")
        # Two checks per page, to exercise the per-sha paging.
        start = int(decode_cursor(cursor)["at"]) if cursor else 0
        total = self.checks.get(sha, 0)
        ids = [f"{sha}:{i}" for i in range(start, min(total, start + 2))]
        more = start + 2 < total
        return Page(items=ids, next_cursor=encode_cursor({"at": start + 2}) if more else None)


CHECK_SOURCE = next(s for s in KIND_SOURCES[Interface.CICD] if s.kind == "Check")
OPS = [op for op, _, _ in CHECK_HEAD_SOURCES]
SHAS = st.sampled_from([f"{i:040x}" for i in range(12)])


async def walk(adapter: HeadsAdapter, crash_after: int | None = None) -> list[Any]:
    """Every page of the Check listing; with ``crash_after``, restart from that stored cursor."""
    items: list[Any] = []
    cursor: str | None = None
    pages = 0
    while True:
        page = await CHECK_SOURCE.fetch(adapter, None, cursor, None)  # type: ignore[arg-type]
        pages += 1
        if crash_after is not None and pages == crash_after:
            # The page is lost in the crash; the re-run starts from the last checkpoint.
            crash_after = None
            pages -= 1
            continue
        items += page.items
        if page.next_cursor is None:
            return items
        cursor = page.next_cursor


@given(
    heads=st.fixed_dictionaries({op: st.lists(SHAS, max_size=8) for op in OPS}),
    checks=st.dictionaries(SHAS, st.integers(0, 5)),
    page_size=st.integers(1, 4),
    unsupported=st.frozensets(st.sampled_from(OPS)),
    missing=st.frozensets(SHAS, max_size=2),
)
async def test_checks_of_every_known_head_listed_once(
    heads: dict[str, list[str]],
    checks: dict[str, int],
    page_size: int,
    unsupported: frozenset[str],
    missing: frozenset[str],
) -> None:
    adapter = HeadsAdapter(heads, checks, page_size, unsupported, missing)
    items = await walk(adapter)
    known = {sha for op, shas in heads.items() if op not in unsupported for sha in shas}
    expected = sorted(f"{sha}:{i}" for sha in known - missing for i in range(checks.get(sha, 0)))
    assert sorted(items) == expected  # every check of a known head, none twice
    assert sorted(set(adapter.check_calls)) == sorted(known)
    # Each sha is listed once (one call per page of its checks, at most three).
    for sha in known:
        pages = 1 if sha in missing else max(1, -(-checks.get(sha, 0) // 2))
        assert adapter.check_calls.count(sha) == pages


@given(
    heads=st.fixed_dictionaries({op: st.lists(SHAS, min_size=1, max_size=8) for op in OPS}),
    checks=st.dictionaries(SHAS, st.integers(1, 3)),
    page_size=st.integers(1, 3),
    crash_after=st.integers(1, 6),
)
async def test_a_walk_resumed_from_a_checkpoint_loses_nothing(
    heads: dict[str, list[str]], checks: dict[str, int], page_size: int, crash_after: int
) -> None:
    complete = await walk(HeadsAdapter(heads, checks, page_size))
    resumed = await walk(HeadsAdapter(heads, checks, page_size), crash_after)
    assert set(resumed) == set(complete)


async def test_no_supported_head_source_lists_nothing() -> None:
    adapter = HeadsAdapter({"listRefs": ["a" * 40]}, {"a" * 40: 1}, 5, frozenset(OPS))
    assert await walk(adapter) == []
    assert adapter.check_calls == []


# -- progress: each stream shows its own provider's budget -------------------------

TWO_PROVIDERS = """\
apiVersion: kradle.a5c.ai/v1alpha1
kind: ExternalBackendBinding
metadata: {name: two}
spec:
  target: {kind: Repository, name: widgets}
  providers:
    code: {type: memory}
    work: {type: memory}
  interfaces:
    gitForge:
      {provider: code, mode: read-only, externalRef: {owner: acme, repository: widgets},
       kinds: [DeployKey]}
    issueTracking:
      {provider: work, mode: read-only, externalRef: {owner: acme, repository: widgets},
       kinds: [Label]}
"""


def _budget(remaining: int) -> list[dict[str, Any]]:
    return [{"scope": "core", "limit": 5000, "remaining": remaining, "reset_at": None}]


async def test_plain_progress_shows_each_streams_own_budget(store: SqliteStateStore) -> None:
    backend = MemoryBackend()
    backend.seed_demo()
    override = ProviderOverride(options={"backend": backend})
    out = io.StringIO()
    async with await BoundBinding.open(
        parse_binding(TWO_PROVIDERS, environ={}), overrides={"code": override, "work": override}
    ) as bound:
        snapshots = {"code": _budget(4000), "work": _budget(90)}
        bound.budget_snapshots = lambda: snapshots  # type: ignore[method-assign]
        report = await Backfiller(bound, store, progress=PlainProgress(out)).run()
    assert report.ok, report.to_dict()
    lines = [line for line in out.getvalue().splitlines() if "listed=" in line]
    issues = [line for line in lines if line.startswith("issueTracking/")]
    forge = [line for line in lines if line.startswith("gitForge/")]
    assert issues and forge
    assert any("budget[work/core=90/5000]" in line for line in issues)
    assert all("code/" not in line for line in issues)
    assert all("work/" not in line for line in forge)
    assert any("budget[code/core=4000/5000]" in line for line in forge)
