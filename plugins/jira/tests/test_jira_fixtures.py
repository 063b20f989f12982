"""The webhook fixtures the plugin ships: recorded from its emulator, with goldens.

Every webhook event the manifest declares has at least one delivery under
``kradle_provider_jira/fixtures/webhooks/<folder>/<case>.json`` (body and
non-credential headers as the Cloud emulator sent them to a subscribed receiver;
the folder is the event with ``:`` as ``_``, the case its
``issue_event_type_name``) and its canonical output under ``fixtures/goldens``.
The emulator runs on a manual clock, so a recording is reproducible: the test
records again and compares.

Regenerate (into the source tree, never an installed copy) with
``KRADLE_UPDATE_GOLDEN=1 pytest plugins/jira/tests/test_jira_fixtures.py``
and review the diff.
"""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path
from typing import Any

import pytest
from kradle_provider_jira.emulator import create_emulator
from kradle_provider_jira.emulator.app import JiraEmulator
from kradle_provider_jira.emulator.views import Views
from kradle_provider_jira.harness import GOLDEN_DELIVERY_ID, webhook_fixtures
from kradle_provider_jira.normalizers import NORMALIZERS

from kradle_providers.testing.emulator.state import ManualClock
from kradle_providers.testing.fixtures import (
    accept_deliveries,
    declared_webhook_events,
    fixture_tree_differences,
    golden_text,
    normalize_fixture,
    package_fixtures_dir,
    write_recorded_deliveries,
)
from kradle_providers.testing.harness import WebhookFixture

PACKAGE = "kradle_provider_jira"
#: The package's source folder; only the plugin's own tests know it (regeneration writes here).
SOURCE = Path(__file__).resolve().parent.parent / "src" / PACKAGE / "fixtures"
UPDATE = os.environ.get("KRADLE_UPDATE_GOLDEN") == "1"
#: Every webhook event the manifest declares -> whether it is informational.
DECLARED = declared_webhook_events(f"{PACKAGE}:manifest.yaml")


def _drive(em: JiraEmulator) -> None:
    """Make the changes that emit each issue and comment event, as a person would."""
    control = em.control
    key = control.seed("Issue", summary="Recorded issue")[0]
    control.change("Issue", key, summary="Recorded issue, renamed")
    comment = control.seed("Comment", issue=key)[0]
    control.change("Comment", comment, body="Edited comment")
    control.delete("Comment", comment)
    control.delete("Issue", control.seed("Issue")[0])


def _composed(em: JiraEmulator) -> list[tuple[str, dict[str, Any]]]:
    """Events the emulator does not emit on its own (worklogs, attachments).

    Built from the emulator's REST v2 views with the keys of Jira's webhook
    documentation; sent through the same subscribed emitter, so headers are the
    emulator's. All are informational to the plugin.
    """
    views = Views(em.state, em.base_url, "2")
    issue = em.state.issue(em.control.seed("Issue", summary="Logged work")[0])
    assert issue is not None
    issue_json = views.issue(issue)
    user = views.user(em.me.account_id)
    now = em.jira_now()
    timestamp = int(em.clock().timestamp() * 1000)
    worklog = {
        "self": f"{issue_json['self']}/worklog/10100",
        "author": user,
        "updateAuthor": user,
        "comment": "Pairing on the parser",
        "created": now,
        "updated": now,
        "started": now,
        "timeSpent": "1h",
        "timeSpentSeconds": 3600,
        "id": "10100",
        "issueId": issue_json["id"],
    }
    attachment = {
        "self": views.url("/rest/api/2/attachment/10200"),
        "id": "10200",
        "filename": "trace.txt",
        "author": user,
        "created": now,
        "size": 512,
        "mimeType": "text/plain",
        "content": views.url("/secure/attachment/10200/trace.txt"),
    }
    out: list[tuple[str, dict[str, Any]]] = [
        (event, {"timestamp": timestamp, "webhookEvent": event, "worklog": worklog})
        for event in ("worklog_created", "worklog_updated", "worklog_deleted")
    ]
    out.append(
        (
            "jira:worklog_updated",
            {
                "timestamp": timestamp,
                "webhookEvent": "jira:worklog_updated",
                "issue_event_type_name": "issue_worklog_updated",
                "user": user,
                "issue": issue_json,
                "changelog": {"id": "10300", "items": []},
            },
        )
    )
    out.append(
        (
            "attachment_created",
            {
                "timestamp": timestamp,
                "webhookEvent": "attachment_created",
                "attachment": attachment,
            },
        )
    )
    return out


async def _record(root: Path) -> None:
    em = create_emulator(options={"clock": ManualClock()})
    em.webhooks.subscribe(secret="recording-secret", app=accept_deliveries)
    _drive(em)
    for event, payload in _composed(em):
        em.webhooks.emit(event, payload)
    await em.webhooks.flush()
    write_recorded_deliveries(
        em.webhooks.deliveries,
        root,
        case_of=lambda d: str(d.payload.get("issue_event_type_name") or "payload"),
        folder_of=lambda event: event.replace(":", "_"),
        delivery_header="X-Atlassian-Webhook-Identifier",
        delivery_id=GOLDEN_DELIVERY_ID,
    )


def record(root: Path) -> None:
    """Record every case into ``root`` (``fixtures/webhooks``) from a fresh emulator."""
    asyncio.run(_record(root))


def _case(fixture: WebhookFixture) -> str:
    return f"{fixture.payload.parent.name}/{fixture.payload.stem}"


def test_the_package_ships_a_recorded_delivery_for_every_declared_event() -> None:
    shipped = {f.event for f in webhook_fixtures()}
    assert set(DECLARED) <= shipped
    assert shipped <= set(NORMALIZERS)


def test_the_shipped_fixtures_are_what_the_emulator_records(tmp_path: Path) -> None:
    if UPDATE:
        record(SOURCE / "webhooks")
    record(tmp_path)
    shipped = package_fixtures_dir(PACKAGE) / "webhooks"
    assert fixture_tree_differences(tmp_path, shipped) == [], "KRADLE_UPDATE_GOLDEN=1 re-records"


def test_no_credential_or_signature_is_shipped() -> None:
    for fixture in webhook_fixtures():
        names = {name.lower() for name in fixture.headers}
        assert not names & {"x-hub-signature", "authorization"}
        assert "recording-secret" not in fixture.payload.read_text()
        assert fixture.headers["x-atlassian-webhook-identifier"] == GOLDEN_DELIVERY_ID
        assert fixture.delivery_id == GOLDEN_DELIVERY_ID


@pytest.mark.parametrize("fixture", webhook_fixtures(), ids=_case)
def test_golden(fixture: WebhookFixture) -> None:
    result = normalize_fixture(fixture, NORMALIZERS, "jira")
    assert result.ok, result.reason
    assert bool(result.events) is not DECLARED.get(fixture.event, False)
    golden = SOURCE / "goldens" / f"{_case(fixture)}.golden.json"
    if UPDATE:
        golden.parent.mkdir(parents=True, exist_ok=True)
        golden.write_text(golden_text(result))
    assert fixture.golden is not None, f"no golden for {fixture.payload}; KRADLE_UPDATE_GOLDEN=1"
    assert json.loads(golden_text(result)) == json.loads(fixture.golden.read_text())
