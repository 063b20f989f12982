"""The Buildkite adapter against the emulator in process: every operation, end to end."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from kradle_provider_buildkite.adapter import BuildkiteAdapter
from kradle_provider_buildkite.harness import BuildkiteHarness, create_harness

from kradle_providers.auth import BearerAuth, Secret, register_secret_value
from kradle_providers.errors import InvalidInput, NotFound, UnsupportedOperation
from kradle_providers.http import ProviderRejectedInput
from kradle_providers.models import ExternalRef, PipelineState
from kradle_providers.plugins.spec import ProviderConfig
from kradle_providers.protocols.page import Page, collect

SCOPE = ExternalRef(owner="acme", pipeline="widgets")


@pytest.fixture
async def demo() -> AsyncIterator[BuildkiteHarness]:
    harness = create_harness(seed="demo", via_registry=False)
    yield harness
    await harness.aclose()


async def _adapter(harness: BuildkiteHarness, **options: object) -> BuildkiteAdapter:
    adapter = await harness.adapter(**options)
    assert isinstance(adapter, BuildkiteAdapter)
    return adapter


async def test_reads_the_whole_organization(demo: BuildkiteHarness) -> None:
    em = demo.emulator
    adapter = await _adapter(demo, page_size=40)
    definitions = await collect(lambda c: adapter.list_pipeline_definitions(SCOPE, cursor=c))
    assert len(definitions) == em.counts()["PipelineDefinition"]
    widgets = next(d for d in definitions if d.path == "widgets")
    steps = widgets.external.extensions.fields["steps"]
    assert [s["type"] for s in steps] == [
        "script",
        "script",
        "waiter",
        "manual",
        "script",
        "trigger",
    ]
    builds = []
    for definition in definitions:
        builds += await collect(
            lambda c, slug=definition.path: adapter.list_pipelines(
                SCOPE, definition_id=slug, cursor=c
            )
        )
    assert len(builds) == em.counts()["Pipeline"]
    by_uuid = await adapter.list_pipelines(SCOPE, definition_id=widgets.external.native_id)
    assert by_uuid.items and all(
        b.definition and b.definition.native_id == widgets.external.native_id for b in by_uuid.items
    )
    org_wide = await collect(lambda c: adapter.list_pipelines(ExternalRef(owner="acme"), cursor=c))
    assert {b.external.native_id for b in org_wide} == {b.external.native_id for b in builds}
    with_pr = [b for b in builds if b.external.extensions.fields.get("pull_request")]
    assert with_pr and all(b.ref and b.ref.startswith("feature/") for b in with_pr)
    assert all(b.sha and len(b.sha) == 40 for b in builds)
    assert {b.status.state for b in builds} >= {
        PipelineState.QUEUED, PipelineState.RUNNING, PipelineState.SUCCEEDED,
        PipelineState.FAILED, PipelineState.BLOCKED, PipelineState.CANCELLED,
        PipelineState.SKIPPED, PipelineState.WAITING,
    }  # fmt: skip
    jobs = 0
    for build in builds:
        page = await adapter.list_jobs(SCOPE, build.external.native_id, page_size=100)
        assert page.next_cursor is None
        jobs += len(page.items)
    assert jobs == em.counts()["Job"]


async def test_jobs_keep_their_kind_retries_and_build(demo: BuildkiteHarness) -> None:
    em = demo.emulator
    retried = next(j for j in em.state.jobs.all() if j["retried"])
    build = em.state.builds.get(retried["build_id"])
    cold = await _adapter(demo)  # knows no UUID yet: looks the build up
    jobs = (await cold.list_jobs(SCOPE, build["id"], page_size=100)).items
    kinds = {j.external.native_kind for j in jobs}
    assert kinds == {"script", "waiter", "manual", "trigger"}
    old = next(j for j in jobs if j.external.native_id == retried["id"])
    new = next(j for j in jobs if j.external.native_id == retried["retried_in_job_id"])
    assert old.external.extensions.fields["retried"] is True
    assert new.external.extensions.fields["retry_source"]["job_id"] == old.external.native_id
    assert all(j.pipeline.native_number == str(build["number"]) for j in jobs)
    waiter = next(j for j in jobs if j.external.native_kind == "waiter")
    assert waiter.name == "waiter" and waiter.runner_name is None
    by_number = await cold.list_jobs(SCOPE, str(build["number"]), page_size=2)
    assert len(by_number.items) == 2 and by_number.next_cursor is not None


async def test_job_log_is_lazy_streamed_and_redacted(demo: BuildkiteHarness) -> None:
    canary = "bkua_canary_" + "c4n4ry" * 4
    register_secret_value(canary)
    job_id = demo.backend.seed("Job", log=f"line one\nexport TOKEN={canary}\n\x1b[32mok\x1b[0m\n")[
        0
    ]
    adapter = await _adapter(demo)
    before = len(demo.emulator.requests)
    stream = adapter.get_job_log(SCOPE, job_id)
    assert len(demo.emulator.requests) == before  # nothing fetched yet
    text = "".join([chunk async for chunk in stream])
    assert canary not in text and "export TOKEN=" in text and "\x1b[32mok" in text
    assert demo.emulator.requests[-1].headers.get("accept") == "text/plain"


async def test_artifacts_runners_and_registration(demo: BuildkiteHarness) -> None:
    em = demo.emulator
    adapter = await _adapter(demo)
    artifacts = (await adapter.list_artifacts(SCOPE, "1")).items
    assert artifacts and all(a.download_url and a.external.version.sha for a in artifacts)
    assert all(a.pipeline and a.pipeline.native_number == "1" for a in artifacts)
    runners = await collect(lambda c: adapter.list_runners(SCOPE, cursor=c))
    assert len(runners) == em.counts()["Runner"]
    assert {r.state.value for r in runners} == {"online", "busy", "offline"}
    registration = await adapter.register_runner(SCOPE)
    value = registration.token.reveal()
    assert value.startswith("bkct_") and value not in repr(registration)
    assert value not in registration.model_dump_json()
    assert registration.expires_at is not None
    assert value not in json.dumps(em.state.tokens.all())


async def test_rebuild_retry_failed_cancel_and_unblock(demo: BuildkiteHarness) -> None:
    em = demo.emulator
    widgets = em.state.pipeline_by_slug("widgets")
    adapter = await _adapter(demo)
    failed = [b for b in em.state.builds.filter(pipeline_id=widgets["id"], state="failed")][-1]
    rebuilt = await adapter.rerun_pipeline(SCOPE, str(failed["number"]))
    assert int(rebuilt.external.native_number or 0) > failed["number"]
    assert rebuilt.external.extensions.fields["rebuilt_from"]["id"] == failed["id"]
    again = await adapter.rerun_pipeline(SCOPE, failed["id"], failed_only=True)
    assert again.status.state is PipelineState.RUNNING
    assert any(j["retry_source"] for j in em.state.jobs.filter(build_id=failed["id"]))
    running = em.state.builds.filter(pipeline_id=widgets["id"], state="running")[0]
    canceled = await adapter.cancel_pipeline(SCOPE, str(running["number"]))
    assert canceled.status.state is PipelineState.CANCELLED
    with pytest.raises(ProviderRejectedInput, match="can't be canceled"):
        await adapter.cancel_pipeline(SCOPE, str(running["number"]))
    blocked = em.state.builds.filter(pipeline_id=widgets["id"], state="blocked")[0]
    gate = next(j for j in em.state.jobs_of(blocked["id"]) if j["type"] == "manual")
    job = await adapter.unblock_job(SCOPE, gate["id"], fields={"notes": "ok"})
    assert job.status.native == "unblocked" and job.status.state is PipelineState.SUCCEEDED


async def test_incremental_listing_sees_builds_finished_or_created_since(
    demo: BuildkiteHarness,
) -> None:
    em = demo.emulator
    widgets = em.state.pipeline_by_slug("widgets")
    assert widgets is not None
    adapter = await _adapter(demo)
    marks = []
    cursor = None
    while True:
        page = await adapter.list_pipelines(SCOPE, cursor=cursor)
        marks.append(page.high_water_mark)
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    mark = max(m for m in marks if m is not None)
    em.clock.set(mark + timedelta(minutes=5))
    running = em.state.builds.filter(pipeline_id=widgets["id"], state="running")[0]
    em.state.set_build_state(running["id"], "passed")
    fresh = demo.backend.seed("Pipeline", status="scheduled")[0]
    since = await collect(
        lambda c: adapter.list_pipelines(SCOPE, since=mark, cursor=c, page_size=1)
    )
    numbers = [b.external.native_number for b in since]
    assert numbers[-1] == fresh  # finished since first, then created since
    assert str(running["number"]) in numbers and len(set(numbers)) == len(numbers)
    # `since` is inclusive: the rest changed exactly at the mark (the seed's last retries).
    others = [b for b in since if b.external.native_number not in (fresh, str(running["number"]))]
    assert others and all(b.external.version.updated_at == mark for b in others)


async def test_errors_and_inputs() -> None:
    harness = create_harness(via_registry=True)
    try:
        adapter = await harness.adapter()
        with pytest.raises(NotFound, match="No build found"):
            await adapter.get_pipeline(SCOPE, "987654")
        with pytest.raises(InvalidInput):
            await adapter.get_pipeline(SCOPE, "not-a-build")
        with pytest.raises(InvalidInput, match="pipeline slug"):
            await adapter.get_pipeline(ExternalRef(owner="acme"), "1")
        with pytest.raises(UnsupportedOperation, match="no check runs"):
            await adapter.list_checks(SCOPE, "0" * 40)
        with pytest.raises(InvalidInput, match="unknown Buildkite option"):
            BuildkiteAdapter(ProviderConfig(options={"pagesize": 3}))
        bearer = BuildkiteAdapter(
            ProviderConfig(
                api_base_url=harness.emulator.api_url,
                auth=BearerAuth(Secret(harness.credential)),
                transport=harness.emulator.transport(),
            )
        )
        page: Page[object] = await bearer.list_pipeline_definitions(SCOPE)  # type: ignore[assignment]
        assert len(page.items) == 1
        await bearer.aclose()
    finally:
        await harness.aclose()


async def test_jobs_of_a_listed_build_come_from_the_listing(demo: BuildkiteHarness) -> None:
    em = demo.emulator
    adapter = await _adapter(demo)
    scope = ExternalRef(owner="acme", pipeline="widgets")
    page = await adapter.list_pipelines(scope)
    build = page.items[0]
    uuid = build.external.native_id
    assert uuid is not None

    def build_reads() -> int:
        return sum(1 for r in em.requests if r.operation == "getBuild")

    before = build_reads()
    listed = await collect(lambda c: adapter.list_jobs(scope, uuid, cursor=c))
    assert build_reads() == before  # the build listing carried them
    again = await collect(lambda c: adapter.list_jobs(scope, uuid, cursor=c))
    assert build_reads() == before + 1  # taken once: a later ask reads the build
    assert [j.external.native_id for j in listed] == [j.external.native_id for j in again]
    assert listed, "the demo build has jobs"
