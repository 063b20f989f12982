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
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping
from importlib import resources
from pathlib import Path

from kradle_providers.errors import InvalidInput
from kradle_providers.testing.harness import WebhookFixture

__all__ = [
    "REQUIRE_UPSTREAM_ENV",
    "UPSTREAM_ENV",
    "UPSTREAM_SKIP_REASON",
    "collect_webhook_fixtures",
    "package_fixtures_dir",
    "package_webhook_fixtures",
    "require_upstream",
    "upstream_corpus",
]

UPSTREAM_ENV = "KRADLE_UPSTREAM_FIXTURES"
"""The folder of the upstream corpus (``<folder>/<provider>/<event>/*.json``)."""

REQUIRE_UPSTREAM_ENV = "KRADLE_REQUIRE_UPSTREAM"
"""Set to ``1`` to make a missing upstream corpus a test failure instead of a skip."""

UPSTREAM_SKIP_REASON = f"upstream corpus not available (set {UPSTREAM_ENV})"


def upstream_corpus(provider: str | None = None) -> Path | None:
    """The upstream corpus folder (of ``provider``), or ``None`` when it is not there."""
    root = os.environ.get(UPSTREAM_ENV)
    if not root:
        return None
    path = Path(root) / provider if provider else Path(root)
    return path if path.is_dir() else None


def require_upstream(provider: str | None = None) -> Path:
    """The upstream corpus folder; else skip the calling test (fail when it is required)."""
    import pytest

    path = upstream_corpus(provider)
    if path is not None:
        return path
    where = f" for {provider}" if provider else ""
    if os.environ.get(REQUIRE_UPSTREAM_ENV) == "1":
        pytest.fail(f"{UPSTREAM_SKIP_REASON}{where}, and {REQUIRE_UPSTREAM_ENV}=1 requires it")
    pytest.skip(f"{UPSTREAM_SKIP_REASON}{where}")


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
