"""The shipped ``sync backfill`` vs the vendors' well-known clients doing the same work.

For each provider its emulator runs in its own process (``kradle-providers
emulator serve PROVIDER --seed demo --latency-ms L``: the same injected
latency for every client), and each client runs in its own process too:

- us: ``kradle-providers sync backfill --config BINDING --db NEW.db --plain``,
  the command a user runs, with a binding of every interface the provider
  serves (every default kind);
- peers: this script with ``--peer NAME``: the vendor's client reading the same
  objects the way its documentation shows, tuned as a careful user would
  (100 per page, concurrency where the client has it):

  ====================  ==========================================================
  github / PyGithub     ``per_page=100``, 8 threads, no politeness pause
  github / githubkit    async, 8 at a time, its HTTP cache on (``http_cache=True``),
                        its response models built once per process and reused
  gitlab / python-gitlab  ``per_page=100``, keyset pagination where offered
  buildkite / pybuildkite  ``per_page=100``, ``with_pagination=True``
  jira / jira           ``maxResults=100`` pages, ``expand=changelog``
  ====================  ==========================================================

Every client's object counts per ``<interface>/<Kind>`` must equal what the
shipped command stored (``sync status --json``): the benchmark refuses to
compare clients that did different work. Times are wall clock of the whole
process, measured outside it (start-up and imports included, as a user meets
them); peak RSS is the whole process's ``ru_maxrss`` from ``os.wait4``. Runs
are interleaved (us, peer, peer, us...) and the medians of ``--runs`` printed
with their noise, then the ratios us/peer (below 1: we are faster / smaller).

    python benchmarks/backfill_peers.py                       # every provider, 20 ms, 5 runs
    python benchmarks/backfill_peers.py --providers github --runs 5 --latency-ms 20
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from measure import Child, median, run_child, spread

Counts = dict[str, int]
KRADLE = [sys.executable, "-m", "kradle_providers"]
THREADS = 8
PER_PAGE = 100


# --------------------------------------------------------------------------- GitHub


def _n(items: Iterable[Any]) -> int:
    return sum(1 for _ in items)


def pygithub(url: str, token: str) -> Counts:
    """PyGithub: 100 per page, independent listings and per-parent reads on 8 threads."""
    from github import Auth, Github

    gh = Github(
        base_url=url,
        auth=Auth.Token(token),
        per_page=PER_PAGE,
        retry=None,
        seconds_between_requests=0,  # PyGithub's politeness pause; the emulator needs none
        pool_size=THREADS,
    )
    repo = gh.get_repo("acme/widgets")
    with ThreadPoolExecutor(THREADS) as pool:
        top = {
            name: pool.submit(fn)
            for name, fn in {
                "issues": lambda: list(repo.get_issues(state="all")),
                "comments": lambda: _n(repo.get_issues_comments()),
                "events": lambda: _n(repo.get_issues_events()),
                "labels": lambda: _n(repo.get_labels()),
                "milestones": lambda: _n(repo.get_milestones(state="all")),
                "workflows": lambda: _n(repo.get_workflows()),
                "runs": lambda: list(repo.get_workflow_runs()),
                "runners": lambda: _n(repo.get_self_hosted_runners()),
                "pulls": lambda: list(repo.get_pulls(state="all")),
                "heads": lambda: list(repo.get_git_matching_refs("heads")),
                "tags": lambda: list(repo.get_git_matching_refs("tags")),
                "keys": lambda: _n(repo.get_keys()),
                "collaborators": lambda: _n(repo.get_collaborators()),
                "protection": lambda: repo.get_branch(repo.default_branch).get_protection(),
            }.items()
        }
        got: dict[str, Any] = {name: future.result() for name, future in top.items()}
        runs, pulls = got["runs"], got["pulls"]
        refs = got["heads"] + got["tags"]
        shas = {r.head_sha for r in runs} | {r.object.sha for r in refs}
        shas |= {p.head.sha for p in pulls}
        jobs = pool.map(lambda r: _n(r.jobs()), runs)
        artifacts = pool.map(lambda r: _n(r.get_artifacts()), runs)
        reviews = pool.map(lambda p: _n(p.get_reviews()), pulls)

        def checks_of(sha: str) -> int:
            commit = repo.get_commit(sha)  # lazy: no request
            return _n(commit.get_check_runs()) + _n(commit.get_statuses())

        checks = pool.map(checks_of, sorted(shas))
        return {
            "issueTracking/Issue": sum(1 for i in got["issues"] if i.pull_request is None),
            "issueTracking/Comment": got["comments"],
            "issueTracking/Label": got["labels"],
            "issueTracking/Milestone": got["milestones"],
            "issueTracking/IssueEvent": got["events"],
            "cicd/PipelineDefinition": got["workflows"],
            "cicd/Pipeline": len(runs),
            "cicd/Job": sum(jobs),
            "cicd/Artifact": sum(artifacts),
            "cicd/Check": sum(checks),
            "cicd/Runner": got["runners"],
            "gitForge/Repository": 1,
            "gitForge/PullRequest": len(pulls),
            "gitForge/Review": sum(reviews),
            "gitForge/Ref": len(refs),
            "gitForge/DeployKey": got["keys"],
            "gitForge/Collaborator": got["collaborators"],
            "gitForge/BranchProtection": 1 if got["protection"] else 0,
        }


def githubkit(url: str, token: str) -> Counts:
    """githubkit, async: 8 requests at a time, its own HTTP cache, its models reused."""
    import asyncio

    from githubkit import GitHub, TokenAuthStrategy

    async def read() -> Counts:
        gate = asyncio.Semaphore(THREADS)
        owner, name = "acme", "widgets"
        async with GitHub(TokenAuthStrategy(token), base_url=url + "/", http_cache=True) as kit:
            rest = kit.rest

            async def every(method: Any, map_func: Any = None, **kwargs: Any) -> list[Any]:
                async with gate:
                    pages = kit.paginate(
                        method, owner=owner, repo=name, per_page=PER_PAGE, map_func=map_func,
                        **kwargs,
                    )  # fmt: skip
                    return [item async for item in pages]

            async def one(coro: Any) -> Any:
                async with gate:
                    return (await coro).parsed_data

            def runs_of(r: Any) -> Any:
                return r.parsed_data.workflow_runs

            (
                issues, comments, events, labels, milestones, workflows, runs, runners,
                pulls, heads, tags, keys, collaborators, repo,
            ) = await asyncio.gather(
                every(rest.issues.async_list_for_repo, state="all"),
                every(rest.issues.async_list_comments_for_repo),
                every(rest.issues.async_list_events_for_repo),
                every(rest.issues.async_list_labels_for_repo),
                every(rest.issues.async_list_milestones, state="all"),
                every(rest.actions.async_list_repo_workflows, lambda r: r.parsed_data.workflows),
                every(rest.actions.async_list_workflow_runs_for_repo, runs_of),
                every(
                    rest.actions.async_list_self_hosted_runners_for_repo,
                    lambda r: r.parsed_data.runners,
                ),
                every(rest.pulls.async_list, state="all"),
                one(rest.git.async_list_matching_refs(owner, name, "heads")),
                one(rest.git.async_list_matching_refs(owner, name, "tags")),
                every(rest.repos.async_list_deploy_keys),
                every(rest.repos.async_list_collaborators),
                one(rest.repos.async_get(owner, name)),
            )  # fmt: skip
            protection = await one(
                rest.repos.async_get_branch_protection(owner, name, repo.default_branch)
            )
            refs = [*heads, *tags]
            shas = {r.head_sha for r in runs} | {r.object_.sha for r in refs}
            shas |= {p.head.sha for p in pulls}

            def jobs(run: Any) -> Any:
                return every(
                    rest.actions.async_list_jobs_for_workflow_run, lambda r: r.parsed_data.jobs,
                    run_id=run.id,
                )  # fmt: skip

            def artifacts(run: Any) -> Any:
                return every(
                    rest.actions.async_list_workflow_run_artifacts,
                    lambda r: r.parsed_data.artifacts, run_id=run.id,
                )  # fmt: skip

            def reviews(pull: Any) -> Any:
                return every(rest.pulls.async_list_reviews, pull_number=pull.number)

            def check_runs(sha: str) -> Any:
                return every(
                    rest.checks.async_list_for_ref, lambda r: r.parsed_data.check_runs, ref=sha
                )

            def statuses(sha: str) -> Any:
                return every(rest.repos.async_list_commit_statuses_for_ref, ref=sha)

            def total(lists: list[list[Any]]) -> int:
                return sum(len(x) for x in lists)

            job_lists, artifact_lists, review_lists, check_lists, status_lists = (
                await asyncio.gather(*(jobs(r) for r in runs)),
                await asyncio.gather(*(artifacts(r) for r in runs)),
                await asyncio.gather(*(reviews(p) for p in pulls)),
                await asyncio.gather(*(check_runs(s) for s in sorted(shas))),
                await asyncio.gather(*(statuses(s) for s in sorted(shas))),
            )
        return {
            "issueTracking/Issue": sum(1 for i in issues if not i.pull_request),
            "issueTracking/Comment": len(comments),
            "issueTracking/Label": len(labels),
            "issueTracking/Milestone": len(milestones),
            "issueTracking/IssueEvent": len(events),
            "cicd/PipelineDefinition": len(workflows),
            "cicd/Pipeline": len(runs),
            "cicd/Job": total(job_lists),
            "cicd/Artifact": total(artifact_lists),
            "cicd/Check": total(check_lists) + total(status_lists),
            "cicd/Runner": len(runners),
            "gitForge/Repository": 1,
            "gitForge/PullRequest": len(pulls),
            "gitForge/Review": total(review_lists),
            "gitForge/Ref": len(refs),
            "gitForge/DeployKey": len(keys),
            "gitForge/Collaborator": len(collaborators),
            "gitForge/BranchProtection": 1 if protection else 0,
        }

    return asyncio.run(read())


# --------------------------------------------------------------------------- GitLab


def python_gitlab(url: str, token: str) -> Counts:
    """python-gitlab: 100 per page, keyset pagination for issues, per-parent reads on 8 threads."""
    import gitlab

    gl = gitlab.Gitlab(url, private_token=token, per_page=PER_PAGE, keep_base_url=True)
    project = gl.projects.get("acme/platform/widgets", lazy=True)
    with ThreadPoolExecutor(THREADS) as pool:
        top = {
            name: pool.submit(fn)
            for name, fn in {
                "project": lambda: gl.projects.get("acme/platform/widgets"),
                "issues": lambda: list(
                    project.issues.list(iterator=True, pagination="keyset", order_by="id")
                ),
                "labels": lambda: _n(project.labels.list(iterator=True)),
                "milestones": lambda: _n(project.milestones.list(iterator=True)),
                "pipelines": lambda: list(project.pipelines.list(iterator=True)),
                "runners": lambda: _n(project.runners.list(iterator=True)),
                "mrs": lambda: list(project.mergerequests.list(iterator=True)),
                "branches": lambda: list(project.branches.list(iterator=True)),
                "tags": lambda: _n(project.tags.list(iterator=True)),
                "keys": lambda: _n(project.keys.list(iterator=True)),
                "members": lambda: _n(project.members_all.list(iterator=True)),
                "protected": lambda: [
                    b.name for b in project.protectedbranches.list(iterator=True)
                ],
            }.items()
        }
        got: dict[str, Any] = {name: future.result() for name, future in top.items()}

        def of_issue(issue: Any) -> tuple[int, int]:
            notes = list(issue.notes.list(iterator=True))
            events = sum(1 for n in notes if n.system)
            events += _n(issue.resourcestateevents.list(iterator=True))
            events += _n(issue.resourcelabelevents.list(iterator=True))
            events += _n(issue.resourcemilestoneevents.list(iterator=True))
            return sum(1 for n in notes if not n.system), events

        def of_pipeline(pipeline: Any) -> tuple[int, int]:
            jobs = list(pipeline.jobs.list(iterator=True))
            artifacts = sum(1 for j in jobs for a in j.artifacts or [] if a["file_type"] != "trace")
            return len(jobs) + _n(pipeline.bridges.list(iterator=True)), artifacts

        pipelines, mrs, branches = got["pipelines"], got["mrs"], got["branches"]
        heads = {p.sha for p in pipelines} | {b.commit["id"] for b in branches}
        heads |= {m.sha for m in mrs if m.sha}

        def statuses(sha: str) -> int:
            commit = project.commits.get(sha, lazy=True)
            return _n(commit.statuses.list(iterator=True, all=True))

        issues = list(pool.map(of_issue, got["issues"]))
        runs = list(pool.map(of_pipeline, pipelines))
        approvals = pool.map(lambda m: len(m.approvals.get().approved_by), mrs)
        checks = pool.map(statuses, sorted(heads))
        return {
            "issueTracking/Issue": len(got["issues"]),
            "issueTracking/Comment": sum(c for c, _ in issues),
            "issueTracking/IssueEvent": sum(e for _, e in issues),
            "issueTracking/Label": got["labels"],
            "issueTracking/Milestone": got["milestones"],
            "cicd/Pipeline": len(pipelines),
            "cicd/Job": sum(j for j, _ in runs),
            "cicd/Artifact": sum(a for _, a in runs),
            "cicd/Check": sum(checks),
            "cicd/Runner": got["runners"],
            "gitForge/Repository": 1,
            "gitForge/PullRequest": len(mrs),
            "gitForge/Review": sum(approvals),
            "gitForge/Ref": len(branches) + got["tags"],
            "gitForge/DeployKey": got["keys"],
            "gitForge/Collaborator": got["members"],
            "gitForge/BranchProtection": int(got["project"].default_branch in got["protected"]),
        }


# --------------------------------------------------------------------------- Buildkite


def pybuildkite(url: str, token: str) -> Counts:
    """pybuildkite: its pagination (100 per page by default), per-build artifacts on 8 threads."""
    from pybuildkite.buildkite import Buildkite

    bk = Buildkite()
    bk.set_access_token(token)
    bk.base_url = url + "/v2/"

    def every(fetch: Callable[[int], Any]) -> list[Any]:
        items: list[Any] = []
        page = 1
        while page:
            response = fetch(page)
            items += response.body
            page = response.next_page
        return items

    with ThreadPoolExecutor(THREADS) as pool:
        pipelines_f = pool.submit(
            every,
            lambda page: bk.pipelines().list_pipelines("acme", page=page, with_pagination=True),
        )
        builds_f = pool.submit(
            every,
            lambda page: bk.builds().list_all_for_pipeline(
                "acme", "widgets", include_retried_jobs=True, page=page, with_pagination=True
            ),
        )  # fmt: skip
        agents_f = pool.submit(
            every,
            lambda page: bk.agents().list_all("acme", page=page, with_pagination=True),
        )
        builds = builds_f.result()
        artifacts = pool.map(
            lambda b: len(
                every(
                    lambda page: bk.artifacts().list_artifacts_for_build(
                        "acme", "widgets", b["number"], page=page, with_pagination=True
                    )
                )
            ),
            builds,
        )
        return {
            "cicd/PipelineDefinition": len(pipelines_f.result()),
            "cicd/Pipeline": len(builds),
            "cicd/Job": sum(len(b["jobs"]) for b in builds),
            "cicd/Artifact": sum(artifacts),
            "cicd/Runner": len(agents_f.result()),
        }


# --------------------------------------------------------------------------- Jira


def jira_client(url: str, token: str) -> dict[str, Any]:
    """The jira client: one enhanced search (100 per page) with comments and changelogs."""
    from jira import JIRA

    client = JIRA(
        server=url,
        basic_auth=("bench@acme.test", token),
        options={"rest_api_version": "3"},
        get_server_info=True,  # the client's default; it tells Cloud (enhanced search) apart
        max_retries=0,
    )
    with ThreadPoolExecutor(THREADS) as pool:
        issues_f = pool.submit(
            client.enhanced_search_issues,
            "project = WID ORDER BY key ASC",
            maxResults=False,
            fields="*all",
            expand="changelog",
        )

        def labels() -> int:
            count, start = 0, 0
            while True:
                page = client._get_json("label", params={"startAt": start, "maxResults": 100})
                count += len(page["values"])
                start += len(page["values"])
                if page.get("isLast", True) or not page["values"]:
                    return count

        labels_f = pool.submit(labels)
        versions_f = pool.submit(client.project_versions, "WID")
        issues = issues_f.result()
        # The changelog histories' items, for the parent to count as events (kradle makes one
        # event per kind of change in a history; counting is not part of the timed work).
        histories = [h["items"] for i in issues for h in i.raw["changelog"]["histories"]]
        return {
            "issueTracking/Issue": len(issues),
            "issueTracking/Comment": sum(len(i.fields.comment.comments) for i in issues),
            "issueTracking/Label": labels_f.result(),
            "issueTracking/Milestone": len(versions_f.result()),
            CHANGELOG: histories,
        }


CHANGELOG = "_changelog"


def jira_events(histories: list[list[dict[str, Any]]]) -> int:
    """The IssueEvents kradle makes of the changelog histories a peer read."""
    from kradle_provider_jira.mapping import _group_items

    return sum(len(_group_items(items)) for items in histories)


# --------------------------------------------------------------------------- the providers


@dataclass(frozen=True)
class Provider:
    """How to serve one provider's emulator, bind it, and which peers read it."""

    name: str
    token: str
    binding: str  # {url} and {token} are filled in
    peers: dict[str, Callable[[str, str], dict[str, Any]]]
    serve_args: tuple[str, ...] = ()
    env: dict[str, str] = field(default_factory=dict)
    api_path: str = ""  # the API's path under the emulator's base URL


def binding(kind: str, auth: str, ref: str, interfaces: Iterable[str]) -> str:
    """A binding of ``interfaces`` to one provider at ``{url}`` (every default kind)."""
    lines = [
        "apiVersion: kradle.a5c.ai/v1alpha1",
        "kind: ExternalBackendBinding",
        "metadata: {name: bench}",
        "spec:",
        "  target: {kind: Repository, name: widgets}",
        "  providers:",
        f'    p: {{type: {kind}, apiBaseUrl: "{{url}}", auth: {auth}}}',
        "  interfaces:",
        *(f"    {i}: {{provider: p, mode: read-only, externalRef: {ref}}}" for i in interfaces),
    ]
    return "\n".join(lines) + "\n"


ALL_THREE = ("issueTracking", "cicd", "gitForge")
TOKEN_AUTH = "{token: {env: BENCH_TOKEN}}"

GITHUB = Provider(
    name="github",
    token="ghp_benchPeers000000000000000000000000001",
    binding=binding("github", TOKEN_AUTH, "{owner: acme, repository: widgets}", ALL_THREE),
    peers={"PyGithub": pygithub, "githubkit": githubkit},
    serve_args=("--option", "rate_limit=100000000"),
)

GITLAB = Provider(
    name="gitlab",
    token="glpat-benchPeers0000000001",
    binding=binding("gitlab", TOKEN_AUTH, "{owner: acme/platform, repository: widgets}", ALL_THREE),
    peers={"python-gitlab": python_gitlab},
    serve_args=("--option", "rate_limit=100000000"),
    api_path="/api/v4",
)

BUILDKITE = Provider(
    name="buildkite",
    token="bkua_benchPeers0000000001",
    binding=binding("buildkite", TOKEN_AUTH, "{owner: acme, pipeline: widgets}", ["cicd"]),
    peers={"pybuildkite": pybuildkite},
    serve_args=("--option", "rate_limit=100000000"),
    api_path="/v2",
)

JIRA = Provider(
    name="jira",
    token="jira-benchPeers-0001",
    binding=binding(
        "jira",
        "{basic: {username: {env: BENCH_USER}, password: {env: BENCH_TOKEN}}}",
        "{project: WID}",
        ["issueTracking"],
    ),
    peers={"jira": jira_client},
    serve_args=("--flavor", "cloud", "--option", "rate_limit=100000000"),
    env={"BENCH_USER": "bench@acme.test"},
)

PROVIDERS = {p.name: p for p in (GITHUB, GITLAB, BUILDKITE, JIRA)}


# --------------------------------------------------------------------------- running


@contextmanager
def served(provider: Provider, latency_ms: float) -> Iterator[str]:
    """The provider's emulator in its own process; yields its base URL."""
    argv = [*KRADLE, "emulator", "serve", provider.name, "--seed", "demo"]
    argv += ["--token", provider.token, "--latency-ms", str(latency_ms), *provider.serve_args]
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        if not first.startswith("Serving"):
            raise SystemExit(f"emulator serve {provider.name} did not start: {first!r}")
        yield first.split()[-1]
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def run_ours(provider: Provider, url: str, tmp: Path, run: int) -> tuple[Child, Counts]:
    config = tmp / f"{provider.name}.yaml"
    config.write_text(provider.binding.replace("{url}", url + provider.api_path))
    env = {**os.environ, "BENCH_TOKEN": provider.token, **provider.env}
    db = tmp / f"{provider.name}-{run}.db"
    child = run_child(
        [*KRADLE, "sync", "backfill", "--config", config, "--db", db, "--plain"], env=env
    )
    # Not timed: only the counts, to check every peer read the same objects.
    status = subprocess.run(
        [*KRADLE, "sync", "status", "--db", str(db), "--json"],
        capture_output=True, text=True, check=True, env=env,
    )  # fmt: skip
    counts: Counts = json.loads(status.stdout)["objects"]
    return child, counts


def run_peer(provider: Provider, peer: str, url: str) -> tuple[Child, Counts]:
    child = run_child(
        [sys.executable, __file__, "--peer", peer, "--provider", provider.name, "--url", url]
    )
    counts: dict[str, Any] = json.loads(child.stdout.strip().splitlines()[-1])
    if CHANGELOG in counts:
        counts["issueTracking/IssueEvent"] = jira_events(counts.pop(CHANGELOG))
    return child, counts


def _differences(ours: Counts, theirs: Counts) -> str:
    kinds = sorted(set(ours) | set(theirs))
    return ", ".join(
        f"{k} {ours.get(k, 0)} vs {theirs.get(k, 0)}"
        for k in kinds
        if ours.get(k, 0) != theirs.get(k, 0)
    )


def bench(provider: Provider, latency_ms: float, runs: int, peers: list[str]) -> None:
    times: dict[str, list[float]] = {"kradle sync backfill": []}
    rss: dict[str, list[float]] = {"kradle sync backfill": []}
    chosen = [p for p in provider.peers if not peers or p in peers]
    for peer in chosen:
        times[peer], rss[peer] = [], []
    objects = 0
    with served(provider, latency_ms) as url, tempfile.TemporaryDirectory() as tmp:
        for n in range(runs):
            child, ours = run_ours(provider, url, Path(tmp), n)
            times["kradle sync backfill"].append(child.seconds)
            rss["kradle sync backfill"].append(child.peak_rss_mib)
            objects = sum(ours.values())
            for peer in chosen:
                child, theirs = run_peer(provider, peer, url)
                if theirs != ours:
                    raise SystemExit(
                        f"{provider.name}: {peer} read different objects than sync backfill "
                        f"stored ({_differences(ours, theirs)}); the comparison would be unfair"
                    )
                times[peer].append(child.seconds)
                rss[peer].append(child.peak_rss_mib)
    us_t, us_m = median(times["kradle sync backfill"]), median(rss["kradle sync backfill"])
    print(f"\n{provider.name}: {objects:,} objects, {latency_ms:g} ms per request, "
          f"median of {runs} runs (noise: half the min-max range), "
          "every client read the same objects")  # fmt: skip
    print(f"  {'client':<22} {'wall s':>8} {'noise':>6} {'peak RSS MiB':>13} {'noise':>6} "
          f"{'us/peer wall':>13} {'us/peer RSS':>12}")  # fmt: skip
    for who in times:
        t, m = median(times[who]), median(rss[who])
        ratio = "" if who.startswith("kradle") else f"{us_t / t:>13.2f} {us_m / m:>12.2f}"
        print(f"  {who:<22} {t:>8.2f} {spread(times[who]):>6} {m:>13.1f} "
              f"{spread(rss[who]):>6} {ratio}", flush=True)  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--providers", nargs="+", default=list(PROVIDERS), choices=PROVIDERS)
    parser.add_argument("--peers", nargs="*", default=[], help="only these peers (default: all)")
    parser.add_argument("--latency-ms", type=float, default=20.0)
    parser.add_argument("--runs", type=int, default=5, help="runs per client (median)")
    parser.add_argument("--peer", help=argparse.SUPPRESS)
    parser.add_argument("--provider", help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.peer:
        provider = PROVIDERS[args.provider]
        print(json.dumps(provider.peers[args.peer](args.url, provider.token)))
        return 0
    for name in args.providers:
        bench(PROVIDERS[name], args.latency_ms, args.runs, args.peers)
    return 0


if __name__ == "__main__":
    sys.exit(main())
