"""The request plan of the shipped ``sync backfill``, per provider, against its served emulator.

For each provider (GitHub, Jira, GitLab, Buildkite) this serves the
provider's emulator (``kradle-providers emulator serve PROVIDER --seed demo
--admin``) in its own process, writes a binding of every interface the
provider serves, and runs the real command ``kradle-providers sync backfill``
in a subprocess twice against one SQLite store:

1. **fresh**: an empty store. The requests it makes (from the emulator's
   ``GET /_emulator/requests``) are compared with the **floor**: one request
   per 100 objects of every repository-wide listing, plus, for kinds the
   vendor lists only per parent (jobs of a run, notes of an issue ...), one
   request per parent (per 100 children), plus one per single-object read
   (the repository, its default branch's protection). Object counts are read
   from the store the run filled (``sync status --json``) and, per parent, from
   its projections.
2. **re-sync**: the same command again, from a new process, on unchanged data.
   It prints the rate-limit budget the emulator charged (304s the vendor does
   not bill are free) and the requests made.

Targets (issue 16, item 1): fresh <= 1.15 x floor; re-sync budget <= 5.
The request counts are deterministic: one run per provider is the
measurement (``--repeat N`` re-runs to show they do not vary); wall times are
printed as medians with their spread.

    python benchmarks/backfill_plan.py [--providers github,jira] [--repeat 5] [--latency-ms 0]
        [--concurrency 8]

Wall times include the process start of each command; with ``--latency-ms`` and
``--concurrency 1`` vs the default 8 they show what bounded hydration buys.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

CLI = [sys.executable, "-m", "kradle_providers"]
TOKEN = "bench-token-0000000000000000000000000001"
PER_PAGE = 100

BINDINGS: dict[str, str] = {
    "github": """\
    p: {type: github, apiBaseUrl: "${API}", auth: {token: {env: TOKEN}}}
  interfaces:
    gitForge:      {provider: p, mode: read-only, externalRef: {owner: acme, repository: widgets}}
    cicd:          {provider: p, mode: read-only, externalRef: {owner: acme, repository: widgets}}
    issueTracking: {provider: p, mode: read-only, externalRef: {owner: acme, repository: widgets}}
""",
    "jira": """\
    p: {type: jira, apiBaseUrl: "${API}",
        auth: {basic: {username: {env: USER}, password: {env: TOKEN}}}}
  interfaces:
    issueTracking: {provider: p, mode: read-only, externalRef: {project: WID}}
""",
    "gitlab": """\
    p: {type: gitlab, apiBaseUrl: "${API}", auth: {token: {env: TOKEN}}}
  interfaces:
    issueTracking: {provider: p, mode: read-only, externalRef: &ref
                    {owner: acme/platform, repository: widgets}}
    cicd:          {provider: p, mode: read-only, externalRef: *ref}
    gitForge:      {provider: p, mode: read-only, externalRef: *ref}
""",
    "buildkite": """\
    p: {type: buildkite, apiBaseUrl: "${API}", auth: {token: {env: TOKEN}}}
  interfaces:
    cicd: {provider: p, mode: read-only, externalRef: {owner: acme, pipeline: widgets}}
""",
}

EMULATOR_ARGS: dict[str, list[str]] = {
    "jira": ["--flavor", "cloud"],
    # The floor is about requests, not the vendor's per-minute cap.
    "gitlab": ["--option", "rate_limit=1000000"],
    "buildkite": ["--option", "rate_limit=1000000"],
}

# Where the REST API lives below the emulator's routes (Buildkite's routes carry /v2 themselves).
API_SUFFIX = {"buildkite": "/v2"}

# Kinds the vendor lists only per parent: kind -> (parent kind, field of the parent's id in the
# child's canonical object, listings per parent). Every other kind has a repository-wide
# listing (Jira's comments and changelogs: its issue search), or comes inline with its parent
# (Buildkite's jobs, inside the build listing).
PER_PARENT: dict[str, dict[str, tuple[str, str, int]]] = {
    "github": {
        "cicd/Job": ("cicd/Pipeline", "pipeline", 1),
        "cicd/Artifact": ("cicd/Pipeline", "pipeline", 1),
        "gitForge/Review": ("gitForge/PullRequest", "pull_request", 1),
    },
    "jira": {},
    "gitlab": {
        # Jobs and bridges (trigger jobs) are two listings per pipeline.
        "cicd/Job": ("cicd/Pipeline", "pipeline", 2),
        # Notes serve comments and system events; label, milestone and state events are three.
        "issueTracking/Comment": ("issueTracking/Issue", "issue", 1),
        "issueTracking/IssueEvent": ("issueTracking/Issue", "issue", 3),
        "gitForge/Review": ("gitForge/PullRequest", "pull_request", 1),
        "gitForge/Comment": ("gitForge/PullRequest", "issue", 1),
    },
    "buildkite": {
        "cicd/Artifact": ("cicd/Pipeline", "pipeline", 1),
    },
}

INLINE: dict[str, tuple[str, ...]] = {
    "github": (),
    "jira": (),
    "gitlab": (),
    "buildkite": ("cicd/Job",),
}

# Checks are listed per commit: per distinct head sha (of runs, refs and pull requests), one
# listing per check endpoint (GitHub: check runs and commit statuses; GitLab: statuses).
CHECK_LISTINGS = {"github": 2, "gitlab": 1, "jira": 0, "buildkite": 0}
HEADS = {"cicd/Pipeline": "sha", "gitForge/Ref": "sha", "gitForge/PullRequest": "head_sha"}

# Kinds read one object at a time (one request each, whatever the count).
SINGLE: dict[str, tuple[str, ...]] = {
    "github": ("gitForge/Repository", "gitForge/BranchProtection"),
    "gitlab": ("gitForge/Repository", "gitForge/BranchProtection"),
    "jira": (),
    "buildkite": (),
}


@dataclass
class Served:
    provider: str
    process: subprocess.Popen[str]
    origin: str
    api: str

    def admin(self, method: str = "GET") -> dict[str, Any]:
        req = urllib.request.Request(f"{self.origin}/_emulator/requests", method=method)
        with urllib.request.urlopen(req, timeout=30) as answer:
            body = answer.read()
        return json.loads(body) if body else {}


@contextmanager
def serve(provider: str, latency_ms: float) -> Iterator[Served]:
    argv = [*CLI, "emulator", "serve", provider, "--seed", "demo", "--token", TOKEN, "--admin"]
    argv += [*EMULATOR_ARGS.get(provider, []), "--latency-ms", str(latency_ms)]
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        origin = line.rsplit(" ", 1)[-1].strip().rstrip("/")
        with urllib.request.urlopen(f"{origin}/_emulator/info", timeout=30) as answer:
            info = json.loads(answer.read())
        yield Served(
            provider, proc, origin, origin + info["base_path"] + API_SUFFIX.get(provider, "")
        )
    finally:
        proc.terminate()
        proc.wait(timeout=30)


@dataclass
class Run:
    seconds: float
    requests: int
    not_modified: int
    budget: int
    by_operation: dict[str, int] = field(default_factory=dict)


def backfill(served: Served, config: Path, db: Path, concurrency: int) -> Run:
    served.admin("DELETE")
    env = {**os.environ, "API": served.api, "TOKEN": TOKEN, "USER": "bench@acme.test"}
    argv = [*CLI, "sync", "backfill", "--config", str(config), "--db", str(db), "--json"]
    argv += ["--concurrency", str(concurrency)]
    started = time.perf_counter()
    done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=900)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"sync backfill failed for {served.provider}:\n{done.stdout}{done.stderr}")
    log = served.admin()
    return Run(
        seconds=seconds,
        requests=log["count"],
        not_modified=log["not_modified"],
        budget=sum(log["budget_used"].values()),
        by_operation=log["by_operation"],
    )


def _payload_field(payload: dict[str, Any], path: str) -> str | None:
    value: Any = payload
    for part in path.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    if isinstance(value, dict):  # a reference to the parent: its identity is the whole ref
        return json.dumps(value, sort_keys=True)
    return None if value is None else str(value)


def floor(provider: str, db: Path) -> tuple[int, dict[str, int]]:
    """The request floor of a fresh backfill of what ``db`` holds, and its terms per kind."""
    con = sqlite3.connect(db)
    try:
        rows = con.execute(
            "SELECT interface, kind, object FROM projections WHERE tombstoned = 0"
        ).fetchall()
    finally:
        con.close()
    counts: Counter[str] = Counter()
    children: dict[str, Counter[str]] = {}
    heads: set[str] = set()
    per_parent = PER_PARENT[provider]
    for interface, kind, payload in rows:
        name = f"{interface}/{kind}"
        counts[name] += 1
        obj = json.loads(payload or "{}")
        if name in HEADS and (sha := _payload_field(obj, HEADS[name])):
            heads.add(sha)
        if name in per_parent:
            parent_id = _payload_field(obj, per_parent[name][1])
            children.setdefault(name, Counter())[parent_id or "?"] += 1
    terms: dict[str, int] = {}
    for name, n in sorted(counts.items()):
        if name in SINGLE[provider]:
            terms[name] = n
        elif name in INLINE[provider]:
            terms[name] = 0
        elif name == "cicd/Check" and CHECK_LISTINGS[provider]:
            terms[name] = len(heads) * CHECK_LISTINGS[provider]
        elif name not in per_parent:
            terms[name] = math.ceil(n / PER_PAGE)
    for name, (parent_kind, _, listings) in per_parent.items():
        seen = children.get(name, Counter())
        # Every parent costs a request per listing even when it has no children.
        empty = max(0, counts[parent_kind] - len(seen))
        terms[name] = listings * (empty + sum(math.ceil(c / PER_PAGE) for c in seen.values()))
    return sum(terms.values()), terms


def binding(provider: str) -> str:
    return (
        "apiVersion: kradle.a5c.ai/v1alpha1\n"
        "kind: ExternalBackendBinding\n"
        "metadata: {name: bench}\n"
        "spec:\n"
        "  target: {kind: Repository, name: widgets}\n"
        "  providers:\n" + BINDINGS[provider]
    )


def spread(values: list[float]) -> str:
    med = statistics.median(values)
    if len(values) < 2:
        return f"{med:.2f}s"
    return f"{med:.2f}s ±{(max(values) - min(values)) / 2:.2f}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--providers", default="github,jira,gitlab,buildkite")
    parser.add_argument("--repeat", type=int, default=1, help="runs per provider (medians)")
    parser.add_argument("--latency-ms", type=float, default=0.0)
    parser.add_argument(
        "--concurrency", type=int, default=8, help="sync backfill --concurrency (default 8)"
    )
    parser.add_argument("--verbose", action="store_true", help="requests per operation")
    args = parser.parse_args()
    rows = []
    ok = True
    for provider in args.providers.split(","):
        fresh_runs: list[Run] = []
        again_runs: list[Run] = []
        with serve(provider, args.latency_ms) as served, tempfile.TemporaryDirectory() as tmp:
            config = Path(tmp) / "binding.yaml"
            config.write_text(binding(provider))
            for i in range(args.repeat):
                db = Path(tmp) / f"sync-{i}.db"
                fresh_runs.append(backfill(served, config, db, args.concurrency))
                again_runs.append(backfill(served, config, db, args.concurrency))
            total, terms = floor(provider, db)
        fresh, again = fresh_runs[0], again_runs[0]
        varies = (
            len({(r.requests, s.budget) for r, s in zip(fresh_runs, again_runs, strict=True)}) > 1
        )
        ratio = fresh.requests / total if total else float("inf")
        ok &= ratio <= 1.15 and again.budget <= 5
        rows.append(
            (
                provider,
                fresh.requests,
                total,
                ratio,
                again.budget,
                again.requests,
                again.not_modified,
                spread([r.seconds for r in fresh_runs]),
                spread([r.seconds for r in again_runs]),
                "yes" if varies else "no",
            )
        )
        if args.verbose:
            print(f"\n{provider}: floor terms {terms}")
            print(f"  fresh by operation: {dict(sorted(fresh.by_operation.items()))}")
            print(f"  re-sync by operation: {dict(sorted(again.by_operation.items()))}")
    header = (
        "provider",
        "fresh req",
        "floor",
        "ratio",
        "re-sync budget",
        "re-sync req",
        "304s",
        "fresh wall",
        "re-sync wall",
        "varies",
    )
    print()
    print(" | ".join(header))
    for row in rows:
        p, fr, fl, ra, bu, rq, nm, fw, rw, va = row
        print(f"{p} | {fr} | {fl} | {ra:.2f} | {bu} | {rq} | {nm} | {fw} | {rw} | {va}")
    print(f"\ntargets: ratio <= 1.15, re-sync budget <= 5 -> {'met' if ok else 'NOT met'}")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
