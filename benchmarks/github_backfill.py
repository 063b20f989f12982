"""Full backfill of acme/widgets: kradle's GitHub adapter vs PyGithub, against the emulator.

Runs the GitHub emulator (``--seed demo``) on a loopback port with a fixed
per-request latency, then reads the whole repository twice:

1. with :class:`kradle_provider_github.adapter.GitHubAdapter`: per_page=100,
   comments listed repository-wide, reviews hydrated through GraphQL (100 PRs
   per query), independent listings concurrently;
2. with PyGithub, the way its documentation shows (``repo.get_issues(state="all")``,
   ``issue.get_comments()`` per issue, ``pr.get_reviews()`` per PR, ``run.jobs()``...).

It prints the requests each made (from the emulator's request log), the
minimum possible (``ceil(N/100)`` per listing), wall times and ratios; then
backfills again with the same adapter on unchanged data and prints the
rate-limit budget that cost (0: every page is a 304, which GitHub does not charge).

    python benchmarks/github_backfill.py --latency-ms 20
"""

from __future__ import annotations

import argparse
import asyncio
import math
import time
from collections.abc import Awaitable, Callable
from typing import Any

from kradle_provider_github.adapter import GitHubAdapter
from kradle_provider_github.emulator import create_emulator

from kradle_providers.auth import Secret
from kradle_providers.models import ExternalRef
from kradle_providers.plugins.spec import ProviderConfig
from kradle_providers.protocols.page import Page, collect
from kradle_providers.testing.emulator import LoopbackServer

REPO = ExternalRef(owner="acme", repository="widgets")
RECENT_COMMITS = 10


def with_latency(app: Any, latency_s: float) -> Any:
    """The ASGI app behind a fixed network delay per HTTP request."""

    async def delayed(scope: Any, receive: Any, send: Any) -> None:
        if scope.get("type") == "http" and latency_s > 0:
            await asyncio.sleep(latency_s)
        await app(scope, receive, send)

    return delayed


def request_count(emulator: Any) -> int:
    return len(emulator.control.requests())


async def adapter_backfill(
    adapter: GitHubAdapter, seen: dict[str, Any], concurrency: int = 8
) -> dict[str, int]:
    """Read everything; returns the number of objects per kind.

    ``seen`` is the sync state kept between runs: each pull request's version
    and its reviews. Reviews are hydrated (GraphQL) only for pull requests
    whose ``updated_at`` moved (a review bumps it), so a run on unchanged data
    sends no GraphQL query; every REST page is a conditional request.
    """
    gate = asyncio.Semaphore(concurrency)

    async def all_of(fetch: Callable[[str | None], Awaitable[Page[Any]]]) -> list[Any]:
        async with gate:
            return await collect(fetch)

    (
        issues,
        pulls,
        comments,
        labels,
        milestones,
        workflows,
        runs,
        keys,
    ) = await asyncio.gather(
        all_of(lambda c: adapter.list_issues(REPO, cursor=c)),
        all_of(lambda c: adapter.list_pull_requests(REPO, cursor=c)),
        all_of(lambda c: adapter.list_comments(REPO, cursor=c)),
        all_of(lambda c: adapter.list_labels(REPO, cursor=c)),
        all_of(lambda c: adapter.list_milestones(REPO, cursor=c)),
        all_of(lambda c: adapter.list_pipeline_definitions(REPO, cursor=c)),
        all_of(lambda c: adapter.list_pipelines(REPO, cursor=c)),
        all_of(lambda c: adapter.list_deploy_keys(REPO, cursor=c)),
    )
    versions: dict[str, Any] = seen.setdefault("pr_versions", {})
    known_reviews: dict[str, list[Any]] = seen.setdefault("reviews", {})
    changed = [
        p.external.native_number or ""
        for p in pulls
        if versions.get(p.external.native_number) != p.external.version.updated_at
    ]
    # First run: every PR changed, so hydrate the whole repository in ceil(N/100) queries.
    reviews_task = asyncio.ensure_future(
        adapter.hydrate_reviews(REPO, None if len(changed) == len(pulls) else changed)
    )

    def jobs_of(run_id: str) -> Awaitable[list[Any]]:
        return all_of(lambda c: adapter.list_jobs(REPO, run_id, cursor=c))

    jobs = await asyncio.gather(*(jobs_of(r.external.native_id) for r in runs))
    shas = list(dict.fromkeys(r.sha for r in runs if r.sha))[:RECENT_COMMITS]

    def checks_of(sha: str) -> Awaitable[list[Any]]:
        return all_of(lambda c: adapter.list_checks(REPO, sha, cursor=c))

    checks = await asyncio.gather(*(checks_of(sha) for sha in shas))
    protection = await adapter.get_branch_protection(REPO, "main")
    hydrated = await reviews_task
    known_reviews.update({n: hydrated.get(n, []) for n in changed})
    versions.update({p.external.native_number: p.external.version.updated_at for p in pulls})
    reviews = {p.external.native_number: known_reviews.get(p.external.native_number or "", [])
               for p in pulls}  # fmt: skip
    return {
        "issues": len(issues),
        "pull_requests": len(pulls),
        "comments": len(comments),
        "labels": len(labels),
        "milestones": len(milestones),
        "workflows": len(workflows),
        "runs": len(runs),
        "jobs": sum(len(j) for j in jobs),
        "reviews": sum(len(r) for r in reviews.values()),
        "checks": sum(len(c) for c in checks),
        "deploy_keys": len(keys),
        "branch_protection": 1 if protection else 0,
    }


def minimum_requests(counts: dict[str, int], prs: int, runs: int, commits: int) -> int:
    """The fewest requests any client needs: ceil(N/100) per listing (at least one each)."""

    def pages(n: int) -> int:
        return max(1, math.ceil(n / 100))

    total = pages(counts["issues"] + counts["pull_requests"])  # one issues listing holds both
    total += pages(counts["pull_requests"])
    for kind in ("comments", "labels", "milestones", "workflows", "runs", "deploy_keys"):
        total += pages(counts[kind])
    total += runs  # jobs are listed per run
    total += pages(prs)  # reviews: one GraphQL page per 100 PRs
    total += commits * 2  # check runs + statuses per commit
    total += 1  # branch protection
    return total


def pygithub_backfill(url: str, token: str) -> dict[str, int]:
    """The same data read with PyGithub as its documentation shows."""
    from github import Auth, Github

    # PyGithub's defaults (30 per page) as its docs use them, without its
    # 0.25 s politeness pause between requests (the emulator needs none; with
    # it PyGithub would spend minutes sleeping and the comparison would time sleep).
    gh = Github(base_url=url, auth=Auth.Token(token), seconds_between_requests=0)
    repo = gh.get_repo("acme/widgets")
    counts = dict.fromkeys(("issues", "comments", "pull_requests", "reviews"), 0)
    for issue in repo.get_issues(state="all"):
        counts["issues"] += 1
        counts["comments"] += sum(1 for _ in issue.get_comments())
    for pr in repo.get_pulls(state="all"):
        counts["pull_requests"] += 1
        counts["reviews"] += sum(1 for _ in pr.get_reviews())
    counts["labels"] = sum(1 for _ in repo.get_labels())
    counts["milestones"] = sum(1 for _ in repo.get_milestones(state="all"))
    counts["workflows"] = sum(1 for _ in repo.get_workflows())
    runs = list(repo.get_workflow_runs())
    counts["runs"] = len(runs)
    counts["jobs"] = sum(sum(1 for _ in run.jobs()) for run in runs)
    shas = list(dict.fromkeys(run.head_sha for run in runs))[:RECENT_COMMITS]
    checks = 0
    for sha in shas:
        commit = repo.get_commit(sha)
        checks += sum(1 for _ in commit.get_check_runs())
        checks += sum(1 for _ in commit.get_statuses())
    counts["checks"] = checks
    counts["deploy_keys"] = sum(1 for _ in repo.get_keys())
    repo.get_branch("main").get_protection()
    counts["branch_protection"] = 1
    return counts


def remaining_budget(url: str, token: str) -> dict[str, int]:
    """The credential's remaining budget per resource, from GitHub's free ``/rate_limit``."""
    import httpx

    answer = httpx.get(f"{url}/rate_limit", headers={"Authorization": f"Bearer {token}"})
    answer.raise_for_status()
    resources = answer.json()["resources"]
    return {name: int(resources[name]["remaining"]) for name in ("core", "graphql")}


async def main_async(latency_ms: float, skip_pygithub: bool) -> None:
    emulator = create_emulator(seed="demo")
    server = LoopbackServer(with_latency(emulator.app, latency_ms / 1000)).start()
    try:
        adapter = GitHubAdapter.from_config(
            ProviderConfig(api_base_url=server.url, auth=Secret(emulator.token))
        )
        start_requests = request_count(emulator)
        t0 = time.perf_counter()
        seen: dict[str, Any] = {}
        counts = await adapter_backfill(adapter, seen)
        ours_wall = time.perf_counter() - t0
        ours = request_count(emulator) - start_requests
        minimum = minimum_requests(
            counts,
            prs=counts["pull_requests"],
            runs=counts["runs"],
            commits=min(RECENT_COMMITS, counts["runs"]),
        )
        print(f"objects: {counts}")
        print(f"latency per request: {latency_ms:.0f} ms")
        print(f"minimum possible requests (ceil(N/100) per listing): {minimum}")
        print(f"kradle adapter: {ours} requests, {ours_wall:.2f} s, {ours / minimum:.2f}x minimum")

        if not skip_pygithub:
            start_requests = request_count(emulator)
            t0 = time.perf_counter()
            theirs_counts = await asyncio.to_thread(pygithub_backfill, server.url, emulator.token)
            theirs_wall = time.perf_counter() - t0
            theirs = request_count(emulator) - start_requests
            print(f"PyGithub objects: {theirs_counts}")
            print(
                f"PyGithub: {theirs} requests, {theirs_wall:.2f} s, {theirs / minimum:.2f}x minimum"
            )
            print(
                f"ratio PyGithub/kradle: {theirs / max(ours, 1):.1f}x requests, "
                f"{theirs_wall / max(ours_wall, 1e-9):.1f}x wall time"
            )

        before = remaining_budget(server.url, emulator.token)
        start_requests = request_count(emulator)
        t0 = time.perf_counter()
        again = await adapter_backfill(adapter, seen)
        wall = time.perf_counter() - t0
        requests_again = request_count(emulator) - start_requests
        after = remaining_budget(server.url, emulator.token)
        spent = {scope: before[scope] - after[scope] for scope in before}
        assert again == counts, "the second backfill saw different data"
        print(
            f"second run on unchanged data: {requests_again} "
            f"requests (conditional), {wall:.2f} s, rate-limit budget spent: {spent} "
            f"(total {sum(spent.values())})"
        )
        await adapter.aclose()
    finally:
        server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--latency-ms", type=float, default=20.0)
    parser.add_argument("--skip-pygithub", action="store_true")
    args = parser.parse_args()
    asyncio.run(main_async(args.latency_ms, args.skip_pygithub))


if __name__ == "__main__":
    main()
