"""Buildkite's own Python client (pybuildkite) reads the whole seeded organization.

The emulator is served on a loopback port and pybuildkite talks to it as it
talks to api.buildkite.com (only ``base_url`` changes): organizations,
pipelines, every build of every pipeline page by page (Link headers, its
``next_page``), every job with retries, logs in each format, every artifact
and a download through the redirect, every agent. Counts equal the seed.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from kradle_provider_buildkite.emulator import BuildkiteEmulator, create_emulator

from kradle_providers.testing.emulator import LoopbackServer

pybuildkite = pytest.importorskip("pybuildkite.buildkite")


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[BuildkiteEmulator, Any]]:
    # pybuildkite makes one request per build's artifacts: lift the 200/minute limit.
    emulator = create_emulator(seed="demo", options={"rate_limit": 100_000})
    with LoopbackServer(emulator) as server:
        client = pybuildkite.Buildkite()
        client.set_access_token(emulator.token)
        client.base_url = server.url + "/v2/"
        yield emulator, client
    emulator.assert_no_unmatched()


def _all_pages(fetch: Any) -> list[Any]:
    """Follow pybuildkite's ``next_page`` until the last page."""
    items: list[Any] = []
    page = 1
    while page:
        response = fetch(page)
        items += response.body
        page = response.next_page
    return items


@pytest.fixture(scope="module")
def read(served: tuple[BuildkiteEmulator, Any]) -> dict[str, list[Any]]:
    """Everything pybuildkite lists in organization ``acme``, page by page."""
    _, bk = served
    pipelines = _all_pages(
        lambda page: bk.pipelines().list_pipelines("acme", page=page, with_pagination=True)
    )
    builds: list[dict[str, Any]] = []
    for pipeline in pipelines:
        builds += _all_pages(
            lambda page, slug=pipeline["slug"]: bk.builds().list_all_for_pipeline(
                "acme", slug, include_retried_jobs=True, page=page, with_pagination=True
            )
        )
    artifacts = [
        a
        for b in builds
        for a in bk.artifacts().list_artifacts_for_build("acme", b["pipeline"]["slug"], b["number"])
    ]
    agents = _all_pages(lambda page: bk.agents().list_all("acme", page=page, with_pagination=True))
    return {
        "PipelineDefinition": pipelines,
        "Pipeline": builds,
        "Job": [j for b in builds for j in b["jobs"]],
        "Artifact": artifacts,
        "Runner": agents,
    }


def test_pybuildkite_reads_every_seeded_object(
    served: tuple[BuildkiteEmulator, Any], read: dict[str, list[Any]]
) -> None:
    emulator, bk = served
    counts = emulator.counts()
    assert [o["slug"] for o in bk.organizations().list_all()] == ["acme"]
    assert {kind: len(items) for kind, items in read.items()} == counts
    assert len(read["Pipeline"]) >= 150 and len(read["PipelineDefinition"]) == 3
    assert len({b["id"] for b in read["Pipeline"]}) == len(read["Pipeline"])
    for pipeline in read["PipelineDefinition"]:
        assert bk.pipelines().get_pipeline("acme", pipeline["slug"])["id"] == pipeline["id"]
    org_builds = _all_pages(
        lambda page: bk.builds().list_all_for_org("acme", page=page, with_pagination=True)
    )
    assert len(org_builds) == counts["Pipeline"]


async def test_sync_backfill_counts_equal_pybuildkites(
    served: tuple[BuildkiteEmulator, Any], read: dict[str, list[Any]]
) -> None:
    """A sync backfill of the organization stores exactly what pybuildkite read."""
    from kradle_providers.auth import MappingResolver
    from kradle_providers.store import SqliteStateStore
    from kradle_providers.sync.backfill import Backfiller
    from kradle_providers.sync.binding import parse_binding
    from kradle_providers.sync.runtime import BoundBinding, ProviderOverride

    emulator, _ = served
    binding = parse_binding(
        "apiVersion: kradle.a5c.ai/v1alpha1\n"
        "kind: ExternalBackendBinding\n"
        "metadata: {name: bk}\n"
        "spec:\n"
        "  target: {kind: Repository, name: widgets}\n"
        "  providers:\n"
        '    bk: {type: buildkite, apiBaseUrl: "${BK_API}", auth: {token: {env: BK_TOKEN}}}\n'
        "  interfaces:\n"
        "    cicd: {provider: bk, mode: read-only, externalRef: {owner: acme}}\n",
        environ={"BK_API": emulator.api_url},
    )
    resolver = MappingResolver({"env": {"BK_TOKEN": emulator.token}})
    # In process: the same emulator state the loopback server serves, without socket overhead.
    overrides = {"bk": ProviderOverride(transport=emulator.transport())}
    async with SqliteStateStore(":memory:") as store:
        async with await BoundBinding.open(binding, resolver=resolver, overrides=overrides) as b:
            report = await Backfiller(b, store).run()
        assert report.ok, report.to_dict()
        stored = await store.projections.count_by_kind("bk")
    assert stored == {f"cicd/{kind}": len(items) for kind, items in read.items()}


def test_pybuildkite_filters_builds_by_state_and_branch(
    served: tuple[BuildkiteEmulator, Any],
) -> None:
    emulator, bk = served
    from pybuildkite.builds import BuildState

    failed = bk.builds().list_all_for_pipeline("acme", "widgets", states=[BuildState.FAILED])
    expected = [b for b in emulator.state.builds.filter(state="failed")]
    widgets = emulator.state.pipeline_by_slug("widgets")
    assert widgets is not None
    assert {b["number"] for b in failed} == {
        b["number"] for b in expected if b["pipeline_id"] == widgets["id"]
    }
    on_main = bk.builds().list_all_for_pipeline("acme", "widgets", branch="main")
    assert on_main and all(b["branch"] == "main" for b in on_main)


def test_pybuildkite_reads_logs_artifacts_and_a_single_build(
    served: tuple[BuildkiteEmulator, Any],
) -> None:
    _, bk = served
    from pybuildkite.jobs import LogFormat

    build = bk.builds().get_build_by_number("acme", "widgets", 1)
    script = next(j for j in build["jobs"] if j["type"] == "script")
    as_json = bk.jobs().get_job_log("acme", "widgets", 1, script["id"], LogFormat.JSON)
    raw = bk.jobs().get_job_log("acme", "widgets", 1, script["id"], LogFormat.TEXT)
    html = bk.jobs().get_job_log("acme", "widgets", 1, script["id"], LogFormat.HTML)
    assert "\x1b[" in as_json["content"] and as_json["size"] == len(raw)
    assert raw.decode() == as_json["content"]
    assert b'<span class="term-fg' in html and b"\x1b[" not in html
    (artifact, *_) = bk.artifacts().list_artifacts_for_build("acme", "widgets", 1)
    content = bk.artifacts().download_artifact(
        "acme", "widgets", 1, artifact["job_id"], artifact["id"]
    )
    assert len(content) == artifact["file_size"]
    assert (
        bk.artifacts().get_artifact("acme", "widgets", 1, artifact["job_id"], artifact["id"])[
            "sha1sum"
        ]
        == artifact["sha1sum"]
    )
