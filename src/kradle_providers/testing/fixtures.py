"""Webhook fixtures: the ones a plugin ships in its package, and the optional upstream corpus.

A plugin ships its own webhook fixtures as package data, so its tests and the
contract suite run wherever it is installed::

    <package>/fixtures/webhooks/<folder>/<case>.json          the delivery body
    <package>/fixtures/webhooks/<folder>/<case>.headers.json  its headers (optional,
                                                              no credentials)
    <package>/fixtures/goldens/<folder>/<case>.golden.json    the expected NormalizeResult

Real payloads published by the vendors (the *upstream corpus*) are an extra
conformance layer, located by ``$KRADLE_UPSTREAM_FIXTURES`` (a folder with one
sub-folder per provider). Tests over it call :func:`require_upstream`: one named
skip when the corpus is absent, a failure when ``$KRADLE_REQUIRE_UPSTREAM=1``
(CI sets it, so the layer cannot silently vanish there).

The vendors' published API descriptions (OpenAPI documents, webhook schemas)
are the same kind of extra layer, located by ``$KRADLE_VENDOR_SPECS`` (one
sub-folder per provider) and required through :func:`require_vendor_specs`.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable, Iterable, Mapping
from importlib import resources
from pathlib import Path
from typing import Any

from kradle_providers.auth.secret import is_sensitive_header
from kradle_providers.errors import InvalidInput
from kradle_providers.manifest import load_manifest_resource
from kradle_providers.models import NormalizeResult, ProviderRef
from kradle_providers.testing.emulator.webhooks import Delivery
from kradle_providers.testing.harness import WebhookFixture
from kradle_providers.webhooks.normalizer import EventNormalizer, NormalizeContext

__all__ = [
    "REQUIRE_UPSTREAM_ENV",
    "UPSTREAM_ENV",
    "UPSTREAM_SKIP_REASON",
    "VENDOR_SPECS_ENV",
    "accept_deliveries",
    "collect_webhook_fixtures",
    "declared_webhook_events",
    "fixture_tree_differences",
    "golden_text",
    "normalize_fixture",
    "package_fixtures_dir",
    "package_webhook_fixtures",
    "require_upstream",
    "require_vendor_specs",
    "upstream_corpus",
    "upstream_files",
    "write_recorded_deliveries",
    "write_webhook_fixture",
]

UPSTREAM_ENV = "KRADLE_UPSTREAM_FIXTURES"
"""The folder of the upstream corpus (``<folder>/<provider>/<event>/*.json``)."""

REQUIRE_UPSTREAM_ENV = "KRADLE_REQUIRE_UPSTREAM"
"""Set to ``1`` to make a missing upstream corpus a test failure instead of a skip."""

UPSTREAM_SKIP_REASON = f"upstream corpus not available (set {UPSTREAM_ENV})"

VENDOR_SPECS_ENV = "KRADLE_VENDOR_SPECS"
"""The folder of the vendors' API descriptions (``<folder>/<provider>/...``)."""


def _env_folder(env: str, provider: str | None) -> Path | None:
    root = os.environ.get(env)
    if not root:
        return None
    path = Path(root) / provider if provider else Path(root)
    return path if path.is_dir() else None


def _require(env: str, what: str, provider: str | None) -> Path:
    import pytest

    path = _env_folder(env, provider)
    if path is not None:
        return path
    reason = f"{what} not available (set {env})" + (f" for {provider}" if provider else "")
    if os.environ.get(REQUIRE_UPSTREAM_ENV) == "1":
        pytest.fail(f"{reason}, and {REQUIRE_UPSTREAM_ENV}=1 requires it")
    pytest.skip(reason)


def upstream_corpus(provider: str | None = None) -> Path | None:
    """The upstream corpus folder (of ``provider``), or ``None`` when it is not there."""
    return _env_folder(UPSTREAM_ENV, provider)


def upstream_files(provider: str, pattern: str = "*/*.json") -> list[Path]:
    """The corpus files of ``provider`` matching ``pattern`` (none when it is absent).

    For collection-time parametrization; pair it with a test that calls
    :func:`require_upstream` so an absent corpus is one named skip (or a failure).
    """
    root = upstream_corpus(provider)
    return sorted(root.glob(pattern)) if root is not None else []


def require_upstream(provider: str | None = None) -> Path:
    """The upstream corpus folder; else skip the calling test (fail when it is required)."""
    return _require(UPSTREAM_ENV, "upstream corpus", provider)


def require_vendor_specs(provider: str) -> Path:
    """``provider``'s API descriptions folder; else skip (fail when the corpus is required)."""
    return _require(VENDOR_SPECS_ENV, "vendor API descriptions", provider)


def package_fixtures_dir(package: str) -> Path:
    """``<package>/fixtures`` of an installed (or editable) package."""
    root = Path(str(resources.files(package))) / "fixtures"
    if not root.is_dir():
        raise InvalidInput(
            f"package {package!r} has no fixtures folder at {root}; ship "
            "fixtures/webhooks/<event>/<case>.json as package data",
            field="package",
        )
    return root


def collect_webhook_fixtures(
    payloads: Path,
    goldens: Path,
    *,
    event_of: Callable[[str], str] = str,
    headers: Mapping[str, str] | None = None,
    delivery_id: str | None = None,
) -> list[WebhookFixture]:
    """Every ``<payloads>/<folder>/<case>.json`` with its golden under ``goldens`` if present.

    ``event_of`` turns a folder name into the native event name; ``headers``
    are added to each case's own ``<case>.headers.json``; ``delivery_id`` is the
    id intake would read from them (goldens are written with it).
    """
    fixtures: list[WebhookFixture] = []
    if not payloads.is_dir():
        return fixtures
    for folder in sorted(p for p in payloads.iterdir() if p.is_dir()):
        for payload in sorted(folder.glob("*.json")):
            if payload.name.endswith(".headers.json"):
                continue
            case = payload.name.removesuffix(".json")
            own = folder / f"{case}.headers.json"
            case_headers = dict(headers or {})
            if own.is_file():
                case_headers.update(json.loads(own.read_text(encoding="utf-8")))
            golden = goldens / folder.name / f"{case}.golden.json"
            fixtures.append(
                WebhookFixture(
                    event=event_of(folder.name),
                    payload=payload,
                    golden=golden if golden.is_file() else None,
                    headers=case_headers,
                    delivery_id=delivery_id,
                )
            )
    return fixtures


def package_webhook_fixtures(
    package: str,
    *,
    event_of: Callable[[str], str] = str,
    headers: Mapping[str, str] | None = None,
    delivery_id: str | None = None,
) -> list[WebhookFixture]:
    """The webhook fixtures ``package`` ships (see the module docstring for the layout)."""
    root = package_fixtures_dir(package)
    return collect_webhook_fixtures(
        root / "webhooks",
        root / "goldens",
        event_of=event_of,
        headers=headers,
        delivery_id=delivery_id,
    )


def write_webhook_fixture(
    webhooks: Path, folder: str, case: str, body: bytes, headers: Mapping[str, str]
) -> Path:
    """Write one recorded delivery in the package layout; return the payload's path.

    The body is re-indented for review; headers that carry a credential or a
    signature (by name, see ``is_sensitive_header``) are left out: a fixture is
    replayed unsigned or signed anew with the test's own secret.
    """
    target = webhooks / folder
    target.mkdir(parents=True, exist_ok=True)
    payload = target / f"{case}.json"
    payload.write_text(json.dumps(json.loads(body), indent=2) + "\n", encoding="utf-8")
    kept = {name.lower(): value for name, value in headers.items() if not is_sensitive_header(name)}
    (target / f"{case}.headers.json").write_text(
        json.dumps(dict(sorted(kept.items())), indent=2) + "\n", encoding="utf-8"
    )
    return payload


async def accept_deliveries(scope: Mapping[str, Any], receive: Any, send: Any) -> None:
    """An ASGI receiver that takes every delivery (subscribe it to record an emulator)."""
    await send({"type": "http.response.start", "status": 204, "headers": []})
    await send({"type": "http.response.body", "body": b""})


def write_recorded_deliveries(
    deliveries: Iterable[Delivery],
    webhooks: Path,
    *,
    case_of: Callable[[Delivery], str],
    folder_of: Callable[[str], str] = str,
    delivery_header: str,
    delivery_id: str,
) -> list[Path]:
    """Replace ``webhooks`` with the first delivery of every (event folder, case).

    ``case_of`` names a delivery's case (e.g. its ``action``); its delivery id
    header is set to ``delivery_id``, the id the goldens are written with.
    """
    shutil.rmtree(webhooks, ignore_errors=True)
    seen: set[tuple[str, str]] = set()
    written: list[Path] = []
    for delivery in deliveries:
        if delivery.last is None or not delivery.last.ok:
            raise AssertionError(f"delivery {delivery.event} was not accepted: {delivery.last}")
        key = (folder_of(delivery.event), case_of(delivery))
        if key in seen:
            continue
        seen.add(key)
        headers = {**delivery.headers, delivery_header.lower(): delivery_id}
        written.append(write_webhook_fixture(webhooks, *key, delivery.body, headers))
    return written


def normalize_fixture(
    fixture: WebhookFixture, normalizers: Mapping[str, EventNormalizer], provider: str
) -> NormalizeResult:
    """Normalize a shipped fixture as intake and the contract suite do."""
    context = NormalizeContext(
        provider=ProviderRef(type=provider),
        event=fixture.event,
        delivery_id=fixture.delivery_id,
        headers=dict(fixture.headers),
    )
    return normalizers[fixture.event](context, json.loads(fixture.payload.read_text()))


def golden_text(result: NormalizeResult) -> str:
    """A golden file's text: the result as sorted, indented JSON."""
    return json.dumps(result.model_dump(mode="json"), sort_keys=True, indent=2) + "\n"


def declared_webhook_events(manifest: str) -> dict[str, bool]:
    """Every webhook event a manifest resource (``"pkg:manifest.yaml"``) declares ->
    whether it is informational."""
    loaded = load_manifest_resource(manifest)
    normalized = set(loaded.webhook_events(include_informational=False))
    return {event: event not in normalized for event in loaded.webhook_events()}


def fixture_tree_differences(fresh: Path, shipped: Path) -> list[str]:
    """How a fresh recording differs from the shipped fixtures (JSON compared by value)."""
    ours = {p.relative_to(fresh) for p in fresh.rglob("*.json")}
    theirs = {p.relative_to(shipped) for p in shipped.rglob("*.json")}
    found = [f"only recorded now: {p}" for p in sorted(ours - theirs)]
    found += [f"only shipped: {p}" for p in sorted(theirs - ours)]
    found += [
        f"differs: {p}"
        for p in sorted(ours & theirs)
        if json.loads((fresh / p).read_text()) != json.loads((shipped / p).read_text())
    ]
    return found
