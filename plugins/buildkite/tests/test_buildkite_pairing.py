"""Buildkite paired with a forge and a tracker: one binding, three providers, linked builds.

The binding takes gitForge from GitHub (``acme/widgets``), cicd from Buildkite
(organization ``acme``, pipeline ``widgets``) and issueTracking from Jira
(``WID``); the three emulators run in process with their ``demo`` seeds. A
backfill through the sync engine fills all three interfaces (Buildkite's kinds
to the emulator's counts), and every Buildkite build that built a pull request
is linked to the GitHub pull request and commit it built: by the PR number the
build records (``pull_request.id``) and the head sha. A host asks the store for
the builds of a pull request with the projection listing it already has.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from kradle_provider_buildkite.emulator import create_emulator as buildkite_emulator

from kradle_providers.auth import MappingResolver
from kradle_providers.models.base import Interface
from kradle_providers.store import SqliteStateStore
from kradle_providers.sync.backfill import Backfiller
from kradle_providers.sync.binding import parse_binding
from kradle_providers.sync.runtime import BoundBinding, ProviderOverride

github = pytest.importorskip("kradle_provider_github.emulator")
jira = pytest.importorskip("kradle_provider_jira.emulator")

BINDING = """\
apiVersion: kradle.a5c.ai/v1alpha1
kind: ExternalBackendBinding
metadata: {name: widgets}
spec:
  target: {kind: Repository, name: widgets}
  providers:
    gh:   {type: github, apiBaseUrl: "${GH_API}", auth: {token: {env: GH_TOKEN}}}
    bk:   {type: buildkite, apiBaseUrl: "${BK_API}", auth: {token: {env: BK_TOKEN}}}
    jira: {type: jira, apiBaseUrl: "${JIRA_API}",
           auth: {basic: {username: {env: JIRA_USER}, password: {env: JIRA_TOKEN}}}}
  interfaces:
    gitForge:      {provider: gh,   mode: read-only, kinds: [PullRequest],
                    externalRef: {owner: acme, repository: widgets}}
    cicd:          {provider: bk,   mode: external-owned,
                    externalRef: {owner: acme, pipeline: widgets}}
    issueTracking: {provider: jira, mode: read-only, kinds: [Issue], externalRef: {project: WID}}
"""


@pytest.fixture(scope="module")
def emulators() -> dict[str, Any]:
    return {
        "gh": github.create_emulator(seed="demo"),
        # Buildkite allows 200 requests a minute: a backfill of 130 builds' jobs and
        # artifacts would wait for the next window (it does; not what this test is for).
        "bk": buildkite_emulator(seed="demo", options={"rate_limit": 100_000}),
        "jira": jira.create_emulator(seed="demo", flavor="cloud"),
    }


@pytest.fixture
async def store() -> AsyncIterator[SqliteStateStore]:
    async with SqliteStateStore(":memory:") as s:
        yield s


async def builds_of_pull_request(
    store: SqliteStateStore, binding: str, number: int, head_sha: str | None = None
) -> list[dict[str, Any]]:
    """The builds (Pipeline projections) that built pull request ``number`` (at ``head_sha``).

    Buildkite records the pull request it built in ``pull_request.id``; the
    projection keeps it in ``external.extensions.fields``.
    """
    found = []
    async for projection in store.projections.iter_projections(
        binding=binding, interface=Interface.CICD, kind="Pipeline"
    ):
        build = projection.object or {}
        fields = build["external"]["extensions"]["fields"]  # type: ignore[index,call-overload]
        pull = fields.get("pull_request") or {}
        if pull.get("id") == str(number) and (head_sha is None or build["sha"] == head_sha):
            found.append(build)
    return found


def bk_pull_numbers(bk: Any) -> set[str]:
    return {b["pull_request"]["id"] for b in bk.state.builds.all() if b["pull_request"]}


async def test_three_providers_backfill_and_builds_link_to_pull_requests(
    emulators: dict[str, Any], store: SqliteStateStore
) -> None:
    gh, bk, jr = emulators["gh"], emulators["bk"], emulators["jira"]
    environ = {
        "GH_API": gh.base_url,
        "GH_TOKEN": gh.token,
        "BK_API": bk.api_url,
        "BK_TOKEN": bk.token,
        "JIRA_API": jr.base_url,
        "JIRA_USER": "pairing@acme.test",
        "JIRA_TOKEN": jr.token,
    }
    overrides = {name: ProviderOverride(transport=em.transport()) for name, em in emulators.items()}
    binding = parse_binding(BINDING, environ=environ)
    resolver = MappingResolver({"env": environ})
    async with await BoundBinding.open(binding, resolver=resolver, overrides=overrides) as bound:
        report = await Backfiller(bound, store).run()
    assert report.ok, report.to_dict()
    counts = await store.projections.count_by_kind("widgets")
    expected_ci = {f"cicd/{kind}": n for kind, n in bk.counts("widgets").items()}
    assert {k: v for k, v in counts.items() if k.startswith("cicd/")} == expected_ci
    assert counts["gitForge/PullRequest"] == gh.counts("acme/widgets")["PullRequest"]
    assert counts["issueTracking/Issue"] == jr.counts()["Issue"]

    pulls = {}
    async for projection in store.projections.iter_projections(
        binding="widgets", interface=Interface.GIT_FORGE, kind="PullRequest"
    ):
        pull = projection.object or {}
        pulls[pull["external"]["native_number"]] = pull  # type: ignore[index,call-overload]
    linked = 0
    async for projection in store.projections.iter_projections(
        binding="widgets", interface=Interface.CICD, kind="Pipeline"
    ):
        build = projection.object or {}
        pr = build["external"]["extensions"]["fields"].get("pull_request")  # type: ignore[index,call-overload,union-attr]
        if not pr:
            continue
        pull = pulls[pr["id"]]  # the GitHub pull request this build built
        assert pull["head_sha"] == build["sha"] and pull["head_ref"] == build["ref"]  # type: ignore[index,call-overload]
        assert pr["base"] == pull["base_ref"]  # type: ignore[index,call-overload]
        linked += 1
    assert linked >= 20

    number = int(next(iter(sorted(bk_pull_numbers(bk)))))
    head = pulls[str(number)]["head_sha"]  # type: ignore[index,call-overload]
    builds = await builds_of_pull_request(store, "widgets", number, head)
    assert builds and all(b["sha"] == head for b in builds)
    assert {b["external"]["native_number"] for b in builds} == {  # type: ignore[index,call-overload]
        str(b["number"])
        for b in bk.state.builds.all()
        if (b["pull_request"] or {}).get("id") == str(number)
    }
