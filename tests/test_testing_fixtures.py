"""Package webhook fixtures and the opt-in upstream layer (kradle_providers.testing.fixtures)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kradle_providers.testing.fixtures import (
    REQUIRE_UPSTREAM_ENV,
    UPSTREAM_ENV,
    VENDOR_SPECS_ENV,
    collect_webhook_fixtures,
    fixture_tree_differences,
    require_upstream,
    require_vendor_specs,
    upstream_files,
    write_webhook_fixture,
)


def test_an_absent_corpus_is_a_named_skip(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(UPSTREAM_ENV, raising=False)
    monkeypatch.delenv(REQUIRE_UPSTREAM_ENV, raising=False)
    with pytest.raises(pytest.skip.Exception, match=r"upstream corpus not available.*github"):
        require_upstream("github")
    assert upstream_files("github") == []


def test_an_absent_corpus_fails_when_required(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv(VENDOR_SPECS_ENV, str(tmp_path))  # there, but without this provider
    monkeypatch.setenv(REQUIRE_UPSTREAM_ENV, "1")
    with pytest.raises(pytest.fail.Exception, match=f"{REQUIRE_UPSTREAM_ENV}=1 requires it"):
        require_vendor_specs("jira")


def test_a_present_corpus_is_found(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    (tmp_path / "acme" / "ticket").mkdir(parents=True)
    (tmp_path / "acme" / "ticket" / "created.json").write_text("{}")
    monkeypatch.setenv(UPSTREAM_ENV, str(tmp_path))
    assert require_upstream("acme") == tmp_path / "acme"
    assert upstream_files("acme") == [tmp_path / "acme" / "ticket" / "created.json"]


def test_a_written_fixture_keeps_no_credential_or_signature(tmp_path: Path) -> None:
    headers = {
        "X-Acme-Event": "ticket",
        "X-Acme-Delivery": "d-1",
        "X-Hub-Signature-256": "sha256=abc",
        "Authorization": "Bearer canary-token",
    }
    payload = write_webhook_fixture(tmp_path, "ticket", "created", b'{"id":1}', headers)
    assert json.loads(payload.read_text()) == {"id": 1}
    kept = json.loads((tmp_path / "ticket" / "created.headers.json").read_text())
    assert kept == {"x-acme-delivery": "d-1", "x-acme-event": "ticket"}
    (fixture,) = collect_webhook_fixtures(tmp_path, tmp_path / "goldens", delivery_id="d-1")
    assert fixture.event == "ticket" and fixture.golden is None
    assert fixture.headers == kept


def test_tree_differences_name_each_file(tmp_path: Path) -> None:
    fresh, shipped = tmp_path / "fresh", tmp_path / "shipped"
    for root, value in ((fresh, 1), (shipped, 2)):
        write_webhook_fixture(root, "ticket", "created", json.dumps({"v": value}).encode(), {})
    write_webhook_fixture(fresh, "ticket", "closed", b"{}", {})
    assert fixture_tree_differences(fresh, shipped) == [
        "only recorded now: ticket/closed.headers.json",
        "only recorded now: ticket/closed.json",
        "differs: ticket/created.json",
    ]
    assert fixture_tree_differences(shipped, shipped) == []
