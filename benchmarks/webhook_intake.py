"""Webhook intake per provider: verify + normalize + dedupe against the HMAC + json.loads floor.

For every installed provider plugin (or ``--providers a,b``) the payloads are:

- the deliveries the plugin ships (``<package>/fixtures/webhooks``, read through its
  contract harness, so each has the event name and headers the provider sends);
- plus, when ``$KRADLE_UPSTREAM_FIXTURES`` is set, the vendor's own payloads under
  ``<corpus>/<provider>/<folder>/*.json`` (``rest_api_*`` folders are API samples, not
  deliveries; a folder's event name is the shipped folder of the same folded name).

Each is signed as the provider signs it (the plugin's ``WebhookSpec``). A payload that
the registry answers without normalizing (``ignored`` informational events,
``unknown_event``) skips parsing, so it is counted and reported apart, never timed
with the others. In one run, over the same bytes, per provider:

- **intake**: ``Verifier.verify`` (signature on the raw bytes) + ``NormalizerRegistry.normalize``
  (the body parsed once: a verifier that had to read the event from the body hands its
  parse on) + event dedupe;
- **floor**: HMAC-SHA256 + constant-time compare + ``json.loads``;
- **githubkit** (GitHub only): ``githubkit.webhooks.verify`` + its event model's
  ``TypeAdapter.validate_json``, the adapter built once per event (githubkit's own
  ``parse`` builds one per call);
- **models**: pydantic-core validating the very events intake produced, from ready
  dicts (``model_validate`` of their ``model_dump``), and nothing else.

Printed: deliveries/s as the median of ``--repeat`` repetitions (each ``--rounds`` passes),
the min-max spread, and the ratios intake/floor and intake/githubkit. **ceiling** is
floor / (floor + models): the most of the floor an intake can reach that verifies, parses
and hands on these canonical events (pydantic v2 models, SPEC section 2) even if
mapping, dedupe and verifying beyond the floor's HMAC cost nothing. Where it is below
the 0.6 target, no normalizer to these models reaches the target on this machine.

    .venv/bin/python benchmarks/webhook_intake.py [--providers github,jira] [--repeat 7]
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import json
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from kradle_providers.models.base import ProviderRef
from kradle_providers.models.events import NormalizeOutcome, SyncEvent
from kradle_providers.plugins.registry import Registry, load_registry
from kradle_providers.testing.fixtures import upstream_corpus
from kradle_providers.webhooks.dedupe import InMemoryDedupeStore, event_dedupe_key
from kradle_providers.webhooks.normalizer import NormalizeContext
from kradle_providers.webhooks.registry import NormalizerRegistry, event_key
from kradle_providers.webhooks.verify import VerifiedDelivery, Verifier, make_verifier

SECRET = "benchmark-webhook-secret"
NOW = 1_700_000_000


@dataclass(frozen=True)
class Delivery:
    source: str  # "shipped" or "upstream"
    event: str
    body: bytes = field(repr=False)
    headers: dict[str, str] = field(repr=False)


@dataclass
class Provider:
    name: str
    deliveries: list[Delivery]
    verifier: Verifier
    skipped: Counter[str] = field(default_factory=Counter)


def shipped(registry: Registry, name: str) -> list[tuple[str, str, bytes]]:
    """(folder, event, body) of every delivery the plugin ships, through its harness."""
    factory = registry.harness_factory(name)
    if factory is None:
        return []
    harness = factory()
    try:
        return [
            (f.payload.parent.name, f.event, f.payload.read_bytes())
            for f in harness.webhook_fixtures()
        ]
    finally:
        close = getattr(harness, "aclose", None)
        if close is not None:
            asyncio.run(close())


def upstream(name: str, event_of_folder: dict[str, str]) -> list[tuple[str, str, bytes]]:
    root = upstream_corpus(name)
    if root is None:
        return []
    out = []
    for path in sorted(root.glob("*/*.json")):
        folder = path.parent.name
        if folder.startswith("rest_api_"):
            continue
        out.append((folder, event_of_folder.get(event_key(folder), folder), path.read_bytes()))
    return out


def load(registry: Registry, names: Sequence[str]) -> list[Provider]:
    providers = []
    for name in names:
        spec = registry.webhook_spec(name)
        if spec is None:
            continue
        ours = shipped(registry, name)
        events = {event_key(folder): event for folder, event, _ in ours}
        deliveries = []
        for source, cases in (("shipped", ours), ("upstream", upstream(name, events))):
            for _, event, body in cases:
                headers = spec.headers_for(
                    body, SECRET, event=event, timestamp=NOW, delivery_id=f"d-{len(deliveries)}"
                )
                deliveries.append(Delivery(source, event, body, headers))
        if deliveries:
            verifier = make_verifier(name, SECRET, spec=spec, clock=lambda: float(NOW))
            providers.append(Provider(name, deliveries, verifier))
    return providers


def intake_step(
    provider: str, verifier: Verifier, registry: NormalizerRegistry
) -> Callable[[bytes, Mapping[str, str], InMemoryDedupeStore], VerifiedDelivery]:
    """Intake of one delivery: verify, normalize, dedupe (``webhook_server.py`` serves it)."""
    ref = ProviderRef(type=provider)

    def step(
        body: bytes, headers: Mapping[str, str], dedupe: InMemoryDedupeStore
    ) -> VerifiedDelivery:
        v = verifier.verify(body, headers)
        ctx = NormalizeContext(provider=ref, event=v.event, delivery_id=v.delivery_id)
        result = registry.normalize(provider, v.event, v.payload(), ctx)
        for event in result.events:
            dedupe.check_and_mark(event_dedupe_key(event))
        return v

    return step


def intake(provider: str, verifier: Verifier, registry: NormalizerRegistry) -> Callable[..., Any]:
    step = intake_step(provider, verifier, registry)

    def run(deliveries: list[Delivery], dedupe: InMemoryDedupeStore) -> None:
        for d in deliveries:
            step(d.body, d.headers, dedupe)

    return run


def floor(deliveries: list[Delivery], _: object) -> None:
    key = SECRET.encode()
    for d in deliveries:
        digest = hmac.new(key, d.body, hashlib.sha256).hexdigest()
        hmac.compare_digest(digest, digest)
        json.loads(d.body)


def models(events: list[tuple[type[SyncEvent], dict[str, Any]]]) -> Callable[..., Any]:
    """Validate ``(event model, dumped event)`` pairs: the canonical events' own cost."""

    def run(deliveries: list[Delivery], _: object) -> None:
        for cls, data in events:
            cls.model_validate(data)

    return run


def githubkit_pipeline() -> tuple[Callable[[Delivery], bool], Callable[..., Any]] | None:
    """(can parse, run) for githubkit with one TypeAdapter per event, or None if absent."""
    try:
        import importlib

        from githubkit.webhooks import WebhookNamespace, verify
        from pydantic import TypeAdapter
    except ImportError:
        return None
    adapters: dict[str, Any] = {}
    # Where githubkit's own ``parse`` finds each event's model.
    package = sys.modules[WebhookNamespace.__module__].__package__

    def adapter(event: str) -> Any:
        if event not in adapters:
            module = importlib.import_module(f".{event}", package)
            adapters[event] = TypeAdapter(module.Event)
        return adapters[event]

    def parses(d: Delivery) -> bool:
        try:
            adapter(d.event).validate_json(d.body)
        except Exception:
            return False
        return True

    def run(deliveries: list[Delivery], _: object) -> None:
        for d in deliveries:
            if not verify(SECRET, d.body, d.headers["x-hub-signature-256"]):
                raise AssertionError("githubkit refused a signature")
            adapters[d.event].validate_json(d.body)

    return parses, run


def measure(
    runs: dict[str, Callable[..., Any]], deliveries: list[Delivery], repeat: int, rounds: int
) -> dict[str, list[float]]:
    """deliveries/s of each pipeline per repetition, interleaved so they share the noise."""
    rates: dict[str, list[float]] = {name: [] for name in runs}
    n = len(deliveries) * rounds
    for _ in range(repeat):
        for name, run in runs.items():
            dedupe = InMemoryDedupeStore()
            t0 = time.perf_counter()
            for _ in range(rounds):
                run(deliveries, dedupe)
            rates[name].append(n / (time.perf_counter() - t0))
    return rates


def fmt(rates: list[float]) -> str:
    spread = f"({min(rates):,.0f}-{max(rates):,.0f})"
    return f"{statistics.median(rates):>8,.0f} {spread:<18}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--providers", default=None, help="comma-separated (default: all)")
    parser.add_argument("--repeat", type=int, default=7, help="repetitions (median reported)")
    parser.add_argument("--rounds", type=int, default=3, help="passes over the payloads per rep")
    args = parser.parse_args(argv)
    if args.repeat < 5:
        parser.error("--repeat must be at least 5 (medians of >= 5 runs)")

    registry = load_registry()
    names = args.providers.split(",") if args.providers else registry.names()
    providers = load(registry, names)
    if not providers:
        print(f"no webhook payloads for {', '.join(names)}", file=sys.stderr)
        return 2
    normalizers = NormalizerRegistry.from_plugins(registry)
    kit = githubkit_pipeline()
    corpus = upstream_corpus()
    print(f"upstream corpus: {corpus if corpus else 'not set (KRADLE_UPSTREAM_FIXTURES)'}")
    print(f"median deliveries/s of {args.repeat} x {args.rounds} passes (min-max)\n")
    header = f"{'provider':<10} {'n':>4} {'intake':>27} {'floor':>27} {'ratio':>6} {'ceiling':>7}"
    if kit:
        header += f" {'githubkit':>27} {'ratio':>6}"
    print(header)
    notes = []
    for p in providers:
        run = intake(p.name, p.verifier, normalizers)
        timed = []
        events: dict[int, list[tuple[type[SyncEvent], dict[str, Any]]]] = {}  # by id(delivery)
        for d in p.deliveries:  # untimed census: also imports the normalizers
            v = p.verifier.verify(d.body, d.headers)
            result = normalizers.normalize(p.name, v.event, v.payload())
            if result.outcome is NormalizeOutcome.NORMALIZED:
                timed.append(d)
                events[id(d)] = [(type(e), e.model_dump()) for e in result.events]
            else:
                p.skipped[result.outcome.value] += 1
        runs = {"intake": run, "floor": floor}
        if kit and p.name == "github":
            parses, kit_run = kit
            failed = [d for d in timed if not parses(d)]
            if failed:
                notes.append(f"github: githubkit rejects {len(failed)} payloads (left out)")
                timed = [d for d in timed if d not in failed]
            runs["githubkit"] = kit_run
        if not timed:
            notes.append(f"{p.name}: no payload is normalized: {dict(p.skipped)}")
            continue
        runs["models"] = models([e for d in timed for e in events[id(d)]])
        rates = measure(runs, timed, args.repeat, args.rounds)
        mid = {k: statistics.median(v) for k, v in rates.items()}
        # Rates are deliveries/s, so per-delivery times add as reciprocals.
        ceiling = (1 / mid["floor"]) / (1 / mid["floor"] + 1 / mid["models"])
        line = f"{p.name:<10} {len(timed):>4} {fmt(rates['intake'])} {fmt(rates['floor'])}"
        line += f" {mid['intake'] / mid['floor']:>6.2f} {ceiling:>7.2f}"
        if "githubkit" in rates:
            line += f" {fmt(rates['githubkit'])} {mid['intake'] / mid['githubkit']:>6.2f}"
        print(line, flush=True)
        sources = Counter(d.source for d in timed)
        notes.append(
            f"{p.name}: timed {len(timed)} normalized payloads "
            f"({', '.join(f'{k} {v}' for k, v in sorted(sources.items()))}); "
            + (
                "not timed (answered without parsing): "
                + ", ".join(f"{k} {v}" for k, v in sorted(p.skipped.items()))
                if p.skipped
                else "none skipped"
            )
        )
    print()
    for note in notes:
        print(note)
    print(
        "\ntargets: intake/floor >= 0.60 (out of reach where the ceiling is below it), "
        "intake/githubkit >= 2.0"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
