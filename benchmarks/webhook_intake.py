"""Webhook intake throughput on real upstream payloads.

Loads every vendor payload under ``fixtures/upstream/<provider>/<event>/*.json``
(REST API samples in ``rest_api_*`` folders are not webhook deliveries and are
skipped), signs each as its provider would (the installed plugin's ``WebhookSpec``),
then measures, in the same run and on the same payloads:

- intake: signature verification + normalization through the normalizer registry
  of the installed plugins (payloads without an installed normalizer still go
  through the lookup and count as unknown) + dedupe of the resulting events;
- baseline: HMAC-SHA256 + ``json.loads`` alone.

It prints the median deliveries/s over ``--repeat`` repetitions and the ratio.

    .venv/bin/python benchmarks/webhook_intake.py [--fixtures DIR] [--repeat 7] [--rounds 3]
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import statistics
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from kradle_providers.models.base import ProviderRef
from kradle_providers.testing.fixtures import upstream_corpus
from kradle_providers.webhooks.dedupe import InMemoryDedupeStore, event_dedupe_key
from kradle_providers.webhooks.normalizer import NormalizeContext
from kradle_providers.webhooks.registry import NormalizerRegistry
from kradle_providers.webhooks.verify import WebhookVerifier, make_verifier, webhook_spec

SECRET = "benchmark-webhook-secret"
NOW = 1_700_000_000
# The upstream corpus (``$KRADLE_UPSTREAM_FIXTURES``, which dev.py sets when ../shared is there).
DEFAULT_FIXTURES = upstream_corpus()


@dataclass(frozen=True)
class Delivery:
    provider: str
    event: str | None
    body: bytes
    headers: dict[str, str]


def native_event(provider: str, folder: str, body: bytes) -> str | None:
    """The event name the provider would send for a payload in ``folder``."""
    if provider == "gitlab":
        return " ".join(w.capitalize() for w in folder.split("_"))  # issue_hook -> Issue Hook
    if provider == "buildkite":
        payload = json.loads(body)
        event = payload.get("event") if isinstance(payload, dict) else None
        return event if isinstance(event, str) else folder
    if provider == "jira":
        return None  # Jira sends no event header; the verifier reads webhookEvent
    return folder


def load(fixtures: Path) -> list[Delivery]:
    from kradle_providers.plugins.registry import load_registry

    registry = load_registry()
    specs = {n: webhook_spec(n) for n in registry.names() if registry.plugin(n).webhooks}
    out: list[Delivery] = []
    for path in sorted(fixtures.glob("*/*/*.json")):
        provider, folder = path.parts[-3], path.parts[-2]
        if folder.startswith("rest_api_"):
            continue
        body = path.read_bytes()
        event = native_event(provider, folder, body)
        if provider not in specs:
            continue  # no installed plugin for this provider
        headers = specs[provider].headers_for(
            body, SECRET, event=event, timestamp=NOW, delivery_id=f"bench-{len(out)}"
        )
        out.append(Delivery(provider, event, body, headers))
    return out


def intake_pass(
    deliveries: list[Delivery],
    verifiers: dict[str, WebhookVerifier],
    registry: NormalizerRegistry,
    dedupe: InMemoryDedupeStore,
    outcomes: Counter[str] | None = None,
) -> None:
    for d in deliveries:
        v = verifiers[d.provider].verify(d.body, d.headers)
        ctx = NormalizeContext(
            provider=ProviderRef(type=d.provider), event=v.event, delivery_id=v.delivery_id
        )
        result = registry.normalize(d.provider, v.event, v.body, ctx)
        for event in result.events:
            dedupe.check_and_mark(event_dedupe_key(event))
        if outcomes is not None:
            outcomes[f"{d.provider}:{result.outcome.value}"] += 1


def baseline_pass(deliveries: list[Delivery], key: bytes) -> None:
    for d in deliveries:
        hmac.new(key, d.body, hashlib.sha256).hexdigest()
        json.loads(d.body)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fixtures", type=Path, default=DEFAULT_FIXTURES)
    parser.add_argument("--repeat", type=int, default=7, help="repetitions (median reported)")
    parser.add_argument("--rounds", type=int, default=3, help="passes over the payloads per rep")
    args = parser.parse_args(argv)

    if args.fixtures is None:
        print(
            "no upstream corpus: pass --fixtures DIR or set KRADLE_UPSTREAM_FIXTURES",
            file=sys.stderr,
        )
        return 2
    deliveries = load(args.fixtures)
    if not deliveries:
        print(f"no payloads under {args.fixtures}", file=sys.stderr)
        return 2
    verifiers: dict[str, WebhookVerifier] = {}
    for provider in {d.provider for d in deliveries}:
        verifiers[provider] = make_verifier(provider, SECRET, clock=lambda: float(NOW))
    registry = NormalizerRegistry.from_plugins()
    outcomes: Counter[str] = Counter()
    # Warm-up (imports plugin normalizers lazily) and outcome census, untimed.
    intake_pass(deliveries, verifiers, registry, InMemoryDedupeStore(), outcomes)

    n = len(deliveries) * args.rounds
    size = sum(len(d.body) for d in deliveries) * args.rounds
    intake_rates: list[float] = []
    base_rates: list[float] = []
    key = SECRET.encode()
    for _ in range(args.repeat):
        dedupe = InMemoryDedupeStore()
        t0 = time.perf_counter()
        for _ in range(args.rounds):
            intake_pass(deliveries, verifiers, registry, dedupe)
        intake_rates.append(n / (time.perf_counter() - t0))
        t0 = time.perf_counter()
        for _ in range(args.rounds):
            baseline_pass(deliveries, key)
        base_rates.append(n / (time.perf_counter() - t0))

    intake = statistics.median(intake_rates)
    base = statistics.median(base_rates)
    mib = size / args.rounds / 1024 / 1024
    print(f"payloads: {len(deliveries)} ({mib:.2f} MiB) from {args.fixtures.resolve()}")
    print(f"installed normalizers: {', '.join(registry.providers()) or 'none'}")
    print("outcomes: " + ", ".join(f"{k}={v}" for k, v in sorted(outcomes.items())))
    try:
        from rich.console import Console
        from rich.table import Table

        table = Table(title=f"webhook intake, median of {args.repeat} x {args.rounds} passes")
        for col in ("pipeline", "deliveries/s", "MiB/s"):
            table.add_column(col, justify="right" if col != "pipeline" else "left")
        for name, rate in (("verify+normalize+dedupe", intake), ("hmac+json.loads", base)):
            table.add_row(name, f"{rate:,.0f}", f"{rate * size / n / 1024 / 1024:,.1f}")
        Console().print(table)
    except ImportError:  # pragma: no cover - rich is a core dependency
        print(f"verify+normalize+dedupe: {intake:,.0f} deliveries/s")
        print(f"hmac+json.loads:        {base:,.0f} deliveries/s")
    print(f"ratio intake/baseline (deliveries/s): {intake / base:.2f}")
    unknown = sum(v for k, v in outcomes.items() if k.endswith(":unknown_event"))
    if unknown:
        # Unknown events are answered from the lookup alone, before any JSON parse
        # (Jira's is still parsed once by its verifier to read webhookEvent).
        print(
            f"note: {unknown}/{len(deliveries)} payloads have no installed normalizer and "
            "skip parsing; install provider plugins to measure full normalization"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
