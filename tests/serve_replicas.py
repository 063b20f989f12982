"""The acceptance run of issue 14: ``sync serve`` replicas on one store, one SIGKILLed at a time.

:func:`run` starts the GitHub emulator in this process (loopback, ``demo``
seed), ``replicas`` ``kradle-providers sync serve`` processes on one store
(each its own port, the same binding; each backfills at start), proposes a few
write intents, and POSTs ``deliveries`` signed GitHub ``issues`` deliveries
round-robin to the live replicas (a refused or cut-off POST goes to the next
replica, as a provider redelivers). Every ``kill_every`` seconds one replica
is SIGKILLed and restarted. It then waits until every accepted delivery and
every write is finished and returns the counts (:class:`Outcome`). Used by
``tests/test_replicas_serve_crash.py`` and ``benchmarks/replicas_soak.py``.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import httpx
from kradle_provider_github.emulator import create_emulator
from kradle_provider_github.webhooks import WEBHOOKS

from kradle_providers.models import Interface
from kradle_providers.store import open_state_store
from kradle_providers.sync.binding import load_binding
from kradle_providers.sync.intents import WriteIntentService, channels_for
from kradle_providers.sync.phases import DeliveryPhase, WriteIntentPhase
from kradle_providers.sync.runtime import BoundBinding
from kradle_providers.testing.emulator.server import LoopbackServer

__all__ = ["Outcome", "run"]

TOKEN = "ghp_replicaSoakToken000000000000000000001"
SECRET = "replica-soak-webhook-secret-0001"
RATE_LIMIT = 5000
"""The emulator's requests per hour for the token (GitHub's default)."""
EDITS_FROM = 1_900_000_000
"""The ``updated_at`` (epoch seconds, in 2030) of the first delivered edit."""
BINDING = """\
apiVersion: kradle.a5c.ai/v1alpha1
kind: ExternalBackendBinding
metadata: {name: widgets}
spec:
  target: {kind: Repository, name: widgets}
  providers:
    gh: {type: github, apiBaseUrl: "${GH_API}", auth: {token: {env: GH_TOKEN}},
         webhookSecret: {env: GH_WEBHOOK_SECRET}}
  interfaces:
    issueTracking: {provider: gh, mode: bidirectional,
                    externalRef: {owner: acme, repository: widgets}, kinds: [Issue, Comment]}
"""
_HANDLED = re.compile(r"(\d+) event\(s\) handled")
"""The receiver's note on a ``Succeeded`` delivery: how many of its events were new."""
_MARKER = re.compile(rb"kradle-idempotency-key: ([\w.:-]+)")


@dataclass
class Outcome:
    """What the run showed."""

    accepted: int = 0
    answered: Counter[int] = field(default_factory=Counter)
    refused: int = 0
    kills: int = 0
    phases: dict[str, int] = field(default_factory=dict)
    stored: int = 0
    succeeded_once: int = 0
    lost: int = 0
    doubled: int = 0
    doubled_ids: list[str] = field(default_factory=list)
    redelivered: int = 0
    projections: dict[str, tuple[str, str]] = field(default_factory=dict)
    writes: dict[str, str] = field(default_factory=dict)
    write_requests: Counter[str] = field(default_factory=Counter)
    created_per_key: Counter[str] = field(default_factory=Counter)
    emulator_requests: int = 0
    rate_limited: int = 0
    seconds: float = 0.0

    def summary(self) -> dict[str, Any]:
        """The counts, printable."""
        return {
            "deliveries accepted (2xx)": self.accepted,
            "answers": dict(self.answered),
            "POSTs refused or cut off (sent again)": self.refused,
            "replicas SIGKILLed": self.kills,
            "delivery phases": self.phases,
            "handled exactly once": self.succeeded_once,
            "stored twice (cut-off POST sent again), handled once": self.redelivered,
            "lost": self.lost,
            "doubled": self.doubled,
            "doubled ids": self.doubled_ids,
            "writes": dict(Counter(self.writes.values())),
            "writes created twice": sum(1 for n in self.created_per_key.values() if n > 1),
            "emulator requests": self.emulator_requests,
            "emulator requests answered 429/403 (rate limited)": self.rate_limited,
            "rate-limit budget per hour": RATE_LIMIT,
            "seconds": round(self.seconds, 1),
        }


def _issues(api: str, count: int) -> list[dict[str, Any]]:
    """Open ``count`` issues on the emulator (before any replica listens); their id and number."""
    with httpx.Client(base_url=api, headers={"Authorization": f"token {TOKEN}"}) as client:
        made = [
            client.post("/repos/acme/widgets/issues", json={"title": f"soak issue {n}"})
            for n in range(count)
        ]
    return [{"id": r.json()["id"], "number": r.json()["number"]} for r in made]


def _delivery(n: int, issues: list[dict[str, Any]]) -> tuple[str, bytes]:
    """Delivery ``n``: ``issues``/``edited`` for one of ``issues``, newer each time.

    Its ``updated_at`` lies after anything the emulator stamps, so the last
    delivery of each issue wins over every backfill in any order.
    """
    source = resources.files("kradle_provider_github") / "fixtures/webhooks/issues/edited.json"
    payload = json.loads(source.read_text())
    target = issues[n % len(issues)]
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(EDITS_FROM + n))
    issue = payload["issue"]
    issue.update(
        id=target["id"],
        number=target["number"],
        title=f"issue {target['number']} edit {n}",
        updated_at=stamp,
        url=f"{issue['url'].rsplit('/', 1)[0]}/{target['number']}",
    )
    return f"soak-{n:06d}", json.dumps(payload).encode()


class _Replicas:
    """``sync serve`` processes on one store; kill and restart them one at a time."""

    def __init__(self, n: int, config: Path, db: str, env: dict[str, str], lease: float) -> None:
        self.config, self.db, self.env, self.lease = config, db, env, lease
        self.procs: list[subprocess.Popen[str] | None] = [None] * n
        self.urls: list[str | None] = [None] * n
        for i in range(n):
            self.start(i)

    def start(self, i: int) -> None:
        argv = [
            sys.executable,
            "-m",
            "kradle_providers",
            "sync",
            "serve",
            "--config",
            str(self.config),
            "--db",
            self.db,
            "--port",
            "0",
            "--backfill-interval",
            "0",
            "--write-interval",
            "0.5",
            "--lease",
            str(self.lease),
        ]
        proc = subprocess.Popen(
            argv, env=self.env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
        )
        assert proc.stdout is not None
        line = proc.stdout.readline()
        match = re.search(r"POST (http://\S+)", line)
        if not match:
            proc.kill()
            raise RuntimeError(f"sync serve did not start: {line!r}")
        self.procs[i], self.urls[i] = proc, match.group(1)

    def kill(self, i: int) -> None:
        proc = self.procs[i]
        self.urls[i] = None
        if proc is not None:
            proc.send_signal(signal.SIGKILL)
            proc.wait()

    def live(self) -> list[str]:
        return [u for u in self.urls if u is not None]

    def stop(self) -> None:
        for proc in self.procs:
            if proc is not None and proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.procs:
            if proc is not None:
                try:
                    proc.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()


def _killer(replicas: _Replicas, every: float, stop: threading.Event, outcome: Outcome) -> None:
    """SIGKILL one replica (in turn) every ``every`` seconds and start it again."""
    for i in itertools.cycle(range(len(replicas.procs))):
        if stop.wait(every):
            return
        replicas.kill(i)
        outcome.kills += 1
        replicas.start(i)


def _post_all(
    replicas: _Replicas, bodies: list[tuple[str, bytes]], outcome: Outcome, span: float = 0.0
) -> None:
    """POST every delivery round-robin until a replica answers 2xx (as a provider redelivers).

    Spread over at least ``span`` seconds, so the kills land while deliveries flow
    however fast the replicas answer.
    """
    turn = itertools.count()
    start = time.monotonic()
    with httpx.Client(timeout=30) as client:
        for n, (delivery_id, body) in enumerate(bodies):
            time.sleep(max(0.0, start + span * n / len(bodies) - time.monotonic()))
            headers = WEBHOOKS.headers_for(body, SECRET, event="issues", delivery_id=delivery_id)
            while True:
                live = replicas.live()
                if not live:
                    time.sleep(0.05)
                    continue
                try:
                    answer = client.post(
                        live[next(turn) % len(live)], content=body, headers=headers
                    )
                except httpx.TransportError:
                    outcome.refused += 1
                    continue
                outcome.answered[answer.status_code] += 1
                if answer.is_success:
                    outcome.accepted += 1
                    break
                outcome.refused += 1


async def _propose(db: str, writes: int, config: Path) -> list[str]:
    """Propose ``writes`` issue creations (bidirectional: ready to send, no approval needed)."""
    async with (
        await BoundBinding.open(load_binding(config)) as bound,
        open_state_store(db) as store,
    ):
        service = WriteIntentService(store, channels_for(bound))
        ids = []
        for n in range(writes):
            intent = await service.propose(
                "widgets",
                Interface.ISSUE_TRACKING,
                "createIssue",
                None,
                {"title": f"soak write {n}"},
                "soak",
                idempotency_key=f"soak-write-{n}",
            )
            ids.append(intent.id)
        return ids


async def _settled(db: str, ids: list[str], intents: list[str], deadline: float) -> bool:
    """Wait until every delivery and every write is finished (or the deadline)."""
    busy = (WriteIntentPhase.READY_TO_SEND, WriteIntentPhase.SENDING, WriteIntentPhase.RETRYING)
    async with open_state_store(db) as store:
        waiting = list(ids)
        while time.monotonic() < deadline:
            still = []
            for delivery_id in waiting:
                records = await store.deliveries.find_by_delivery_id("github", delivery_id)
                if not any(r.phase is DeliveryPhase.SUCCEEDED for r in records):
                    still.append(delivery_id)
            waiting = still
            pending = [i for i in intents if (await store.intents.get(i)).phase in busy]
            if not waiting and not pending:
                return True
            await asyncio.sleep(0.5)
    return False


async def _read(
    db: str, outcome: Outcome, ids: list[str], intents: list[str], numbers: set[str]
) -> None:
    async with open_state_store(db) as store:
        phases = await store.deliveries.count_by_phase()
        outcome.phases = {p.value: n for p, n in phases.items()}
        outcome.stored = sum(phases.values())
        for delivery_id in ids:
            records = await store.deliveries.find_by_delivery_id("github", delivery_id)
            # A POST cut off after the intake stored it is sent again and stored
            # again; the event must still be handled once (the second is a duplicate).
            handled = sum(
                int(m.group(1))
                for r in records
                for h in r.history
                if h.phase is DeliveryPhase.SUCCEEDED
                and (m := _HANDLED.match(h.note or "")) is not None
            )
            outcome.redelivered += len(records) - 1 if records else 0
            if handled == 0:
                outcome.lost += 1
            elif handled > 1:
                outcome.doubled += 1
                outcome.doubled_ids.append(delivery_id)
            else:
                outcome.succeeded_once += 1
        async for projection in store.projections.iter_projections(binding="widgets", kind="Issue"):
            obj = projection.object or {}
            external: Any = obj.get("external") or {}
            number = str(external.get("native_number") or projection.key.native_id)
            if number in numbers:
                outcome.projections[number] = (
                    str(obj.get("title")),
                    str(projection.version.updated_at),
                )
        for intent_id in intents:
            outcome.writes[intent_id] = (await store.intents.get(intent_id)).phase.value


def run(
    db: str,
    *,
    deliveries: int,
    issues: int = 50,
    replicas: int = 3,
    kill_every: float = 3.0,
    writes: int = 3,
    lease: float = 5.0,
    workdir: Path,
    timeout: float = 600.0,
) -> Outcome:
    """The acceptance run on store ``db`` (see the module docstring).

    ``lease`` (seconds) is each replica's claim lease: how soon the work a
    killed replica held is taken over.
    """
    outcome = Outcome()
    started = time.monotonic()
    config = workdir / "widgets.yaml"
    config.write_text(BINDING)
    app = create_emulator(seed="demo", token=TOKEN, options={"rate_limit": RATE_LIMIT})
    with LoopbackServer(app) as emulator:
        made = _issues(emulator.url, issues)
        bodies = [_delivery(n, made) for n in range(deliveries)]
        env = {
            **os.environ,
            "GH_API": emulator.url,
            "GH_TOKEN": TOKEN,
            "GH_WEBHOOK_SECRET": SECRET,
        }
        os.environ.update(env)  # the binding reads its address and secrets from there
        intents = asyncio.run(_propose(db, writes, config)) if writes else []
        serving = _Replicas(replicas, config, db, env, lease)
        stop = threading.Event()
        killer = threading.Thread(target=_killer, args=(serving, kill_every, stop, outcome))
        try:
            if kill_every > 0:
                killer.start()
            _post_all(serving, bodies, outcome, span=8 * kill_every)
            stop.set()
            if killer.is_alive():
                killer.join()
            deadline = time.monotonic() + timeout
            settled = asyncio.run(_settled(db, [d for d, _ in bodies], intents, deadline))
        finally:
            stop.set()
            if killer.is_alive():
                killer.join()
            serving.stop()
        if not settled:
            raise AssertionError("the replicas did not finish within the timeout")
        numbers = {str(i["number"]) for i in made}
        asyncio.run(_read(db, outcome, [d for d, _ in bodies], intents, numbers))
        for request in app.requests:
            outcome.emulator_requests += 1
            if request.status in (403, 429) and request.fault is None:
                outcome.rate_limited += 1
            if request.method == "POST" and request.path == "/repos/acme/widgets/issues":
                found = _MARKER.search(request.body)
                if found is None:
                    continue  # the issues opened before the run
                key = found.group(1).decode()
                outcome.write_requests[key] += 1
                if request.status == 201:
                    outcome.created_per_key[key] += 1
    outcome.seconds = time.monotonic() - started
    return outcome
