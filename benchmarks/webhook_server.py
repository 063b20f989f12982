"""`sync serve-webhooks` against the HTTP floor: deliveries/s, latency, drain, store transactions.

In one run, alternating, ``--repeat`` times each:

- **floor**: uvicorn + Starlette, one ``POST`` route that checks GitHub's
  ``X-Hub-Signature-256`` (HMAC-SHA256, constant-time compare), ``json.loads`` the body
  and answers 202 with a small JSON body: what any webhook endpoint does at least;
- **floor + intake**: the floor's server running, in the request, the intake step
  of ``benchmarks/webhook_intake.py``: the plugin's ``Verifier``, the
  ``NormalizerRegistry`` and an in-memory dedupe, nothing stored or projected. Whatever
  keeps pace on one event loop does at least this per delivery, so its ratio to the floor
  is the **ceiling** of any receiver that normalizes what it answers;
- **ours**: the shipped command, ``kradle-providers sync serve-webhooks`` (its own
  process, a fresh store each run: SQLite by default, ``--db postgres`` for the test
  PostgreSQL server), bound to a GitHub repository; every delivery is a distinct
  ``issues`` event (its own delivery id and issue), so each one is recorded, verified,
  normalized, deduped and projected.

The load is ``--clients`` keep-alive HTTP/1.1 connections on loopback, each sending
its next signed delivery as soon as the previous answer came, for ``--seconds``
(after a warm-up that is not timed). Printed per server: deliveries/s answered 2xx
(median of the runs, min-max), p50/p99 latency (median of the runs' percentiles), and
for ours: the backlog when the load stopped, how long it took to drain (every answered
delivery ``Succeeded``), the processing rate, and the store transactions per delivery
(the store's counters, printed by the command at exit). Both rows also get the server
process's CPU time per delivery (ours includes the drain): on a shared machine it moves
less than the rates. Ratios are ours/floor.

    .venv/bin/python benchmarks/webhook_server.py [--clients 10] [--seconds 3] [--repeat 5]
        [--db sqlite|postgres]
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import json
import os
import re
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SECRET = "benchmark-webhook-secret-0001"
PG_DSN = os.environ.get("KRADLE_TEST_POSTGRES_DSN", "postgresql://postgres@127.0.0.1:5432/test")
BINDING = """\
apiVersion: kradle.a5c.ai/v1alpha1
kind: ExternalBackendBinding
metadata: {name: widgets}
spec:
  target: {kind: Repository, name: widgets}
  providers:
    gh: {type: github, apiBaseUrl: "http://127.0.0.1:9", auth: {token: {env: GH_TOKEN}},
         webhookSecret: {env: GH_WEBHOOK_SECRET}}
  interfaces:
    issueTracking: {provider: gh, mode: bidirectional,
                    externalRef: {owner: acme, repository: widgets}, kinds: [Issue]}
"""
UNFINISHED = ("Received", "Queued", "Normalizing", "Processing", "Retrying")


# --------------------------------------------------------------------------- the floor


def floor_app() -> Any:
    """uvicorn + Starlette + HMAC + json.loads: the least a webhook endpoint does."""
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    key = SECRET.encode()

    async def receive(request: Request) -> JSONResponse:
        body = await request.body()
        sent = request.headers.get("x-hub-signature-256", "")
        want = "sha256=" + hmac.new(key, body, hashlib.sha256).hexdigest()
        if not hmac.compare_digest(sent, want):
            return JSONResponse({"error": "signature_rejected"}, status_code=401)
        payload = json.loads(body)
        return JSONResponse(
            {
                "id": uuid.uuid4().hex,
                "delivery_id": request.headers.get("x-github-delivery"),
                "action": payload.get("action"),
            },
            status_code=202,
        )

    return Starlette(routes=[Route("/{provider}/{instance}", receive, methods=["POST"])])


def intake_app() -> Any:
    """The floor's route running ``webhook_intake.py``'s intake step on each delivery."""
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route
    from webhook_intake import intake_step

    from kradle_providers.errors import WebhookSignatureError
    from kradle_providers.plugins.registry import load_registry
    from kradle_providers.webhooks.dedupe import InMemoryDedupeStore
    from kradle_providers.webhooks.registry import NormalizerRegistry
    from kradle_providers.webhooks.verify import lower_headers, make_verifier

    registry = load_registry()
    verifier = make_verifier("github", SECRET, spec=registry.webhook_spec("github"))
    step = intake_step("github", verifier, NormalizerRegistry.from_plugins(registry))
    dedupe = InMemoryDedupeStore()

    async def receive(request: Request) -> JSONResponse:
        body = await request.body()
        try:
            v = step(body, lower_headers(request.headers.items()), dedupe)
        except WebhookSignatureError:
            return JSONResponse({"error": "signature_rejected"}, status_code=401)
        answer = {"id": uuid.uuid4().hex, "delivery_id": v.delivery_id, "phase": "Succeeded"}
        return JSONResponse(answer, status_code=202)

    return Starlette(routes=[Route("/{provider}/{instance}", receive, methods=["POST"])])


def serve_floor(port: int, app: Any) -> None:
    import uvicorn

    uvicorn.run(
        app,
        host="127.0.0.1",
        port=port,
        log_level="warning",
        access_log=False,
        lifespan="off",
    )


# --------------------------------------------------------------------------- deliveries


def deliveries(count: int, start: int, path: str) -> list[bytes]:
    """``count`` signed ``issues`` deliveries (distinct issue and delivery ids) as raw requests."""
    import kradle_provider_github

    base = Path(kradle_provider_github.__file__).parent / "fixtures" / "webhooks" / "issues"
    payload = json.loads((base / "opened.json").read_text())
    key = SECRET.encode()
    out = []
    for n in range(start, start + count):
        payload["issue"]["id"] = 2_000_000_000 + n
        payload["issue"]["number"] = n + 1
        payload["issue"]["title"] = f"benchmark issue {n}"
        payload["issue"]["node_id"] = f"I_bench{n}"
        body = json.dumps(payload).encode()
        sig = "sha256=" + hmac.new(key, body, hashlib.sha256).hexdigest()
        head = (
            f"POST {path} HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\n"
            f"user-agent: GitHub-Hookshot/benchmark\r\nx-github-event: issues\r\n"
            f"x-github-delivery: {uuid.uuid4()}\r\nx-github-hook-id: 1\r\n"
            f"x-hub-signature-256: {sig}\r\ncontent-length: {len(body)}\r\n\r\n"
        )
        out.append(head.encode() + body)
    return out


# --------------------------------------------------------------------------- load


@dataclass
class Load:
    ok: int = 0
    refused: dict[int, int] = field(default_factory=dict)
    latencies: list[float] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def rate(self) -> float:
        return self.ok / self.seconds

    def pct(self, q: float) -> float:
        lat = sorted(self.latencies)
        return lat[min(len(lat) - 1, int(q * len(lat)))] * 1000


async def _client(port: int, requests: list[bytes], deadline: float, load: Load) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        for req in requests:
            if time.perf_counter() >= deadline:
                return
            t0 = time.perf_counter()
            writer.write(req)
            head = await reader.readuntil(b"\r\n\r\n")
            status = int(head[9:12])
            m = re.search(rb"(?i)content-length: *(\d+)", head)
            if m:
                await reader.readexactly(int(m.group(1)))
            load.latencies.append(time.perf_counter() - t0)
            if 200 <= status < 300:
                load.ok += 1
            else:
                load.refused[status] = load.refused.get(status, 0) + 1
    finally:
        writer.close()


async def drive(port: int, requests: list[bytes], clients: int, seconds: float) -> Load:
    """Send ``requests`` over ``clients`` connections for ``seconds``."""
    load = Load()
    per = [requests[i::clients] for i in range(clients)]
    t0 = time.perf_counter()
    await asyncio.gather(*(_client(port, p, t0 + seconds, load) for p in per))
    load.seconds = time.perf_counter() - t0
    return load


# --------------------------------------------------------------------------- servers


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_port(port: int, proc: subprocess.Popen[bytes], timeout: float = 30.0) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if proc.poll() is not None:
            raise RuntimeError(
                f"server exited early: {proc.stderr.read().decode() if proc.stderr else ''}"
            )
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("server did not start listening")


class Backlog:
    """Counts unfinished and succeeded deliveries in the server's store."""

    def __init__(self, db: str) -> None:
        self.db = db
        if db.startswith("postgresql"):
            import psycopg

            dsn, _, schema = db.partition("?schema=")
            self.pg: Any = psycopg.connect(dsn, autocommit=True)
            self.pg.execute(f'SET search_path TO "{schema}"')
        else:
            self.pg = None

    def counts(self) -> tuple[int, int]:
        sql = (
            "SELECT COALESCE(SUM(CASE WHEN phase IN ({}) THEN 1 ELSE 0 END), 0), "
            "COALESCE(SUM(CASE WHEN phase = 'Succeeded' THEN 1 ELSE 0 END), 0) FROM deliveries"
        ).format(", ".join(f"'{p}'" for p in UNFINISHED))
        if self.pg is not None:
            row = self.pg.execute(sql).fetchone()
        else:
            with sqlite3.connect(f"file:{self.db}?mode=ro", uri=True, timeout=30) as conn:
                row = conn.execute(sql).fetchone()
        return int(row[0]), int(row[1])

    def wait_drained(self, timeout: float = 120.0) -> float:
        t0 = time.perf_counter()
        while time.perf_counter() - t0 < timeout:
            if self.counts()[0] == 0:
                return time.perf_counter() - t0
            time.sleep(0.01)
        return float("inf")

    def close(self) -> None:
        if self.pg is not None:
            self.pg.close()


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) a process used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass
class Run:
    load: Load
    backlog: int = 0
    drain: float = 0.0
    txns: float | None = None
    cpu: float = 0.0  # server CPU seconds for the timed load (and, for ours, the drain)

    @property
    def cpu_ms(self) -> float:
        """Server CPU per delivery answered 2xx (ms): less noisy than rates on a shared box."""
        return self.cpu * 1000 / max(1, self.load.ok)

    @property
    def processed_rate(self) -> float:
        return self.load.ok / (self.load.seconds + self.drain)


def run_floor(
    args: argparse.Namespace, reqs: list[bytes], warm: list[bytes], *, app: str = "floor"
) -> Run:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, __file__, "--floor-server", str(port), "--floor-app", app],
        stderr=subprocess.PIPE,
    )
    try:
        wait_port(port, proc)
        asyncio.run(drive(port, warm, args.clients, 60))
        cpu = cpu_seconds(proc.pid)
        load = asyncio.run(drive(port, reqs, args.clients, args.seconds))
        return Run(load, cpu=cpu_seconds(proc.pid) - cpu)
    finally:
        proc.terminate()
        proc.wait()


def run_ours(args: argparse.Namespace, reqs: list[bytes], warm: list[bytes], tmp: Path) -> Run:
    port = free_port()
    if args.db == "postgres":
        db = f"{PG_DSN}?schema=bench_{uuid.uuid4().hex[:10]}"
    else:
        db = str(tmp / f"serve-{uuid.uuid4().hex[:8]}.db")
    config = tmp / "binding.yaml"
    config.write_text(BINDING)
    env = {
        **os.environ,
        "GH_TOKEN": "ghp_benchmark000000000000000000000000001",
        "GH_WEBHOOK_SECRET": SECRET,
    }
    cmd = [
        str(Path(sys.executable).parent / "kradle-providers"),
        "sync",
        "serve-webhooks",
        "--config",
        str(config),
        "--db",
        db,
        "--port",
        str(port),
    ]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    backlog = None
    try:
        wait_port(port, proc)
        backlog = Backlog(db)
        asyncio.run(drive(port, warm, args.clients, 60))
        backlog.wait_drained()
        cpu = cpu_seconds(proc.pid)
        load = asyncio.run(drive(port, reqs, args.clients, args.seconds))
        pending = backlog.counts()[0]
        drain = backlog.wait_drained()
        cpu = cpu_seconds(proc.pid) - cpu
        proc.terminate()
        out, err = proc.communicate(timeout=60)
        m = re.search(rb"(\d+) store transactions? for (\d+) deliver", out + err)
        txns = int(m.group(1)) / int(m.group(2)) if m and int(m.group(2)) else None
        return Run(load, backlog=pending, drain=drain, txns=txns, cpu=cpu)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        if backlog is not None:
            if backlog.pg is not None:
                schema = db.partition("?schema=")[2]
                backlog.pg.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
            backlog.close()


def spread(values: list[float], fmt: str = "{:.0f}") -> str:
    mid, lo, hi = (fmt.format(v) for v in (statistics.median(values), min(values), max(values)))
    return f"{mid} ({lo}-{hi})"


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--clients", type=int, default=10)
    p.add_argument("--seconds", type=float, default=3.0)
    p.add_argument("--repeat", type=int, default=5)
    p.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    p.add_argument("--floor-server", type=int, help=argparse.SUPPRESS)
    p.add_argument("--floor-app", choices=("floor", "intake"), help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.floor_server:
        serve_floor(args.floor_server, intake_app() if args.floor_app == "intake" else floor_app())
        return 0
    floors: list[Run] = []
    intakes: list[Run] = []
    ours: list[Run] = []
    cap = int(args.seconds * 8000) + 1000
    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        for r in range(args.repeat):
            base = r * (cap + 1000)
            warm = deliveries(500, base, "/github/gh")
            reqs = deliveries(cap, base + 500, "/github/gh")
            floors.append(run_floor(args, reqs, warm))
            intakes.append(run_floor(args, reqs, warm, app="intake"))
            ours.append(run_ours(args, reqs, warm, tmp))
            f, i, o = floors[-1], intakes[-1], ours[-1]
            print(
                f"run {r + 1}: floor {f.load.rate:.0f}/s p99 {f.load.pct(0.99):.1f} ms | "
                f"floor + intake {i.load.rate:.0f}/s p99 {i.load.pct(0.99):.1f} ms | ours "
                f"{o.load.rate:.0f}/s p99 {o.load.pct(0.99):.1f} ms, refused {o.load.refused}, "
                f"backlog {o.backlog}, drain {o.drain:.2f} s, txns/delivery {o.txns} | "
                f"server CPU ms/delivery floor {f.cpu_ms:.2f} floor + intake {i.cpu_ms:.2f} "
                f"ours {o.cpu_ms:.2f}",
                flush=True,
            )
    print()
    print(
        f"webhook server, {args.clients} clients, {args.seconds:g} s per run, "
        f"{args.repeat} runs, store {args.db}: median (min-max)"
    )
    print(f"{'':24}{'floor':>22}{'floor + intake':>22}{'ours':>22}{'ceiling':>9}{'ours/floor':>12}")

    def row(label: str, value: Any, fmt: str = "{:.0f}") -> None:
        f, i, o = ([value(x) for x in runs] for runs in (floors, intakes, ours))
        mf, mi, mo = (statistics.median(v) for v in (f, i, o))
        print(
            f"{label:24}{spread(f, fmt):>22}{spread(i, fmt):>22}{spread(o, fmt):>22}"
            f"{mi / mf:>9.2f}{mo / mf:>12.2f}"
        )

    row("deliveries/s", lambda x: x.load.rate)
    row("p50 ms", lambda x: x.load.pct(0.50), "{:.1f}")
    row("p99 ms", lambda x: x.load.pct(0.99), "{:.1f}")
    row("server CPU ms/delivery", lambda x: x.cpu_ms, "{:.2f}")
    pad = " " * 44
    print(f"{'backlog at load end':24}{pad}{spread([float(x.backlog) for x in ours]):>22}")
    print(f"{'drain s':24}{pad}{spread([x.drain for x in ours], '{:.2f}'):>22}")
    print(f"{'processed/s':24}{pad}{spread([x.processed_rate for x in ours]):>22}")
    tx = [x.txns for x in ours if x.txns is not None]
    if tx:
        print(f"{'store txns/delivery':24}{pad}{spread(tx, '{:.2f}'):>22}")
    print()
    print("targets: ours/floor >= 0.60, p99 ratio <= 2.0, drain <= 1 s, txns/delivery <= 2")
    print("ceiling: floor + intake / floor, the most a receiver that normalizes can reach here")
    return 0


if __name__ == "__main__":
    sys.exit(main())
