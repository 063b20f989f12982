"""The shipped webhook fixtures are what the emulator sends: recorded again and compared.

The emulator runs on a manual clock with seeded delivery ids, so a recording is
reproducible. A project hook subscribed to every event receives the deliveries
of the changes below (one or more per declared event); the Release Hook, which
the emulator does not emit on its own, is composed from its project view as
GitLab's webhook documentation shapes it and sent through the same hook.

Regenerate (into the source tree) with ``KRADLE_UPDATE_GOLDEN=1 pytest
plugins/gitlab/tests/test_gitlab_recorded_fixtures.py plugins/gitlab/tests/test_gitlab_fixtures.py``
and review the diff.
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path

from kradle_provider_gitlab.emulator import GitLabEmulator, create_emulator
from kradle_provider_gitlab.emulator.webhooks import HOOK_FLAGS
from kradle_provider_gitlab.harness import GOLDEN_DELIVERY_ID

from kradle_providers.testing.emulator import Delivery, ManualClock
from kradle_providers.testing.fixtures import (
    accept_deliveries,
    declared_webhook_events,
    fixture_tree_differences,
    write_recorded_deliveries,
)

PACKAGE = "kradle_provider_gitlab"
#: The package's source folder; only the plugin's own tests know it (regeneration writes here).
SOURCE = Path(__file__).resolve().parent.parent / "src" / PACKAGE / "fixtures"
UPDATE = os.environ.get("KRADLE_UPDATE_GOLDEN") == "1"


def _drive(em: GitLabEmulator) -> None:
    """Make the changes that emit each declared event, as a person or CI would."""
    control, state = em.control, em.state
    issue = control.seed("Issue", title="Widgets crash on resize")[0]
    control.change("Issue", issue, state="closed")
    control.seed("Comment", issue=issue, body="Fixed in the next release")
    secret = control.seed("Issue", title="Security report", confidential=True)[0]
    control.seed("Comment", issue=secret, body="Triaged")
    mr = control.seed("PullRequest", title="Record hooks")[0]
    control.seed("Review", pull_request=mr)
    pipeline = control.seed("Pipeline", status="running")[0]
    control.seed("Job", pipeline=pipeline, status="running", log="running\n")
    control.change("Pipeline", pipeline, status="success")
    control.seed("Ref", name="refs/tags/v2.0.0")
    project = control.project
    state._emit(
        project["id"],
        "Release Hook",
        {
            "id": 1,
            "created_at": "2026-02-02 09:00:00 UTC",
            "description": "Widgets 2.0",
            "name": "v2.0.0",
            "released_at": "2026-02-02 09:00:00 UTC",
            "tag": "v2.0.0",
            "object_kind": "release",
            "project": state._project_hook_view(project),
            "url": f"{project['web_url']}/-/releases/v2.0.0",
            "action": "create",
            "assets": {"count": 0, "links": [], "sources": []},
            "commit": None,
        },
    )


def _case(delivery: Delivery) -> str:
    payload = json.loads(delivery.body)
    attrs = payload.get("object_attributes") or {}
    case = attrs.get("action") or attrs.get("status") or payload.get("build_status")
    return f"emulator.{case or payload.get('action') or payload['object_kind']}"


async def _record(into: Path) -> None:
    em = create_emulator(options={"clock": ManualClock(datetime(2026, 2, 2, 9, 0, tzinfo=UTC))})
    flags = {flag: True for flag in HOOK_FLAGS}
    em.state.add_hook(
        em.control.project, "http://receiver.test/hooks", "", flags, app=accept_deliveries
    )
    _drive(em)
    deliveries = await em.webhooks.flush()
    write_recorded_deliveries(
        deliveries,
        into,
        case_of=_case,
        folder_of=lambda event: event.lower().replace(" ", "_"),
        delivery_header="X-Gitlab-Event-UUID",
        delivery_id=GOLDEN_DELIVERY_ID,
    )


async def test_recording_again_gives_the_shipped_fixtures(tmp_path: Path) -> None:
    target = SOURCE / "webhooks" if UPDATE else tmp_path / "webhooks"
    await _record(target)
    recorded = {p.parent.name for p in target.glob("*/*.json")}
    folders = {
        e.lower().replace(" ", "_") for e in declared_webhook_events(f"{PACKAGE}:manifest.yaml")
    }
    assert folders <= recorded, f"declared events without a recording: {sorted(folders - recorded)}"
    assert fixture_tree_differences(target, SOURCE / "webhooks") == []
