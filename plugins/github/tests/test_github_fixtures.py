"""The webhook fixtures the plugin ships: recorded from its emulator, with goldens.

Every webhook event the manifest declares has at least one delivery under
``kradle_provider_github/fixtures/webhooks/<event>/<action>.json`` (body and
non-credential headers, as the emulator sent them to a subscribed receiver) and
its canonical output under ``fixtures/goldens``. The emulator runs on a manual
clock, so a recording is reproducible: the test records again and compares.

Regenerate (into the source tree, never an installed copy) with
``KRADLE_UPDATE_GOLDEN=1 pytest plugins/github/tests/test_github_fixtures.py``
and review the diff.
"""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path
from typing import Any

import pytest
from kradle_provider_github.emulator import GitHubEmulator, create_emulator
from kradle_provider_github.harness import GOLDEN_DELIVERY_ID, webhook_fixtures
from kradle_provider_github.normalizers import NORMALIZERS

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

PACKAGE = "kradle_provider_github"
#: The package's source folder; only the plugin's own tests know it (regeneration writes here).
SOURCE = Path(__file__).resolve().parent.parent / "src" / PACKAGE / "fixtures"
UPDATE = os.environ.get("KRADLE_UPDATE_GOLDEN") == "1"
#: Every webhook event the manifest declares -> whether it is informational.
DECLARED = declared_webhook_events(f"{PACKAGE}:manifest.yaml")


def _drive(em: GitHubEmulator) -> None:
    """Make the changes that emit each declared event, as a person or CI would."""
    control, mut, state = em.control, em.mutations, em.state
    issue = control.seed("Issue")[0]
    control.change("Issue", issue, title="Renamed issue")
    control.seed("Comment", issue=issue)
    label = control.seed("Label", name="triage")[0]
    control.delete("Label", label)
    control.seed("Milestone")
    control.seed("PullRequest")
    control.seed("Pipeline")
    control.seed("Check")
    control.seed("DeployKey")
    control.seed("BranchProtection")
    repo = control.repo
    main = state.branch(repo["id"], repo["default_branch"])
    assert main is not None
    mut.create_status(repo["id"], main["sha"], {"state": "success", "context": "ci"}, "octocat")


def _composed(em: GitHubEmulator) -> list[tuple[str, dict[str, Any]]]:
    """Events the emulator does not emit on its own yet, built from its webhook renderers.

    Each body is the emulator's envelope and REST objects with the event's own
    keys from GitHub's webhook documentation; they are sent through the same
    subscribed emitter, so headers and signing are the emulator's.
    """
    control, hooks, state = em.control, em.payloads(), em.state
    repo = control.repo
    rid = repo["id"]
    envelope = hooks.envelope(rid, "octocat")
    job_id = control.seed("Job")[0]
    job = state.jobs.get(int(job_id))
    check = state.check_runs.get(int(control.seed("Check")[0]))
    check_run = hooks.check_run("completed", check, em.app_record, "octocat")["check_run"]
    pull_number = int(control.seed("PullRequest")[0])
    pull = state.pull(rid, pull_number)
    review = state.reviews.get(int(control.seed("Review", pull_request=pull_number)[0]))
    rendered_review = hooks.r.review(review)
    pull_object = hooks.pull_request_object(pull)
    ref = control.seed("Ref", name="feature/recorded")[0].removeprefix("refs/heads/")
    ref_event = {
        "ref": ref,
        "ref_type": "branch",
        "master_branch": repo["default_branch"],
        "description": None,
        "pusher_type": "user",
    }
    api = hooks.r.repo_api(rid)
    comment_id = 1_800_000_001
    review_comment = {
        "url": f"{api}/pulls/comments/{comment_id}",
        "pull_request_review_id": review["id"],
        "id": comment_id,
        "node_id": f"PRRC_{comment_id}",
        "diff_hunk": "@@ -1 +1 @@\n-old\n+new",
        "path": "README.md",
        "commit_id": pull["head_sha"],
        "original_commit_id": pull["head_sha"],
        "user": envelope["sender"],
        "body": "Could this be shorter?",
        "created_at": review["submitted_at"],
        "updated_at": review["submitted_at"],
        "html_url": f"{pull_object['html_url']}#discussion_r{comment_id}",
        "pull_request_url": pull_object["url"],
        "author_association": "OWNER",
        "line": 1,
        "original_line": 1,
        "side": "RIGHT",
        "start_line": None,
        "start_side": None,
        "position": 1,
        "original_position": 1,
        "subject_type": "line",
        "in_reply_to_id": None,
        "reactions": hooks.r.reactions(f"{api}/pulls/comments/{comment_id}"),
    }
    installation = {
        "id": 1,
        "account": envelope["sender"],
        "repository_selection": "selected",
        "access_tokens_url": f"{hooks.r.api}/app/installations/1/access_tokens",
        "repositories_url": f"{hooks.r.api}/installation/repositories",
        "html_url": f"{hooks.r.web}/settings/installations/1",
        "app_id": em.app_id,
        "target_id": envelope["sender"]["id"],
        "target_type": envelope["sender"]["type"],
        "permissions": {"contents": "read", "issues": "write", "metadata": "read"},
        "events": ["issues", "push"],
        "created_at": review["submitted_at"],
        "updated_at": review["submitted_at"],
        "single_file_name": None,
        "suspended_by": None,
        "suspended_at": None,
    }
    hook_id = em.webhooks.subscriptions[0].id
    return [
        ("workflow_job", hooks.workflow_job("completed", job, "octocat")),
        (
            "check_suite",
            {"action": "completed", "check_suite": check_run["check_suite"]} | envelope,
        ),
        (
            "pull_request_review",
            {"action": "submitted", "review": rendered_review, "pull_request": pull_object}
            | envelope,
        ),
        (
            "pull_request_review_comment",
            {"action": "created", "comment": review_comment, "pull_request": pull_object}
            | envelope,
        ),
        ("create", ref_event | envelope),
        ("delete", {k: v for k, v in ref_event.items() if k in ("ref", "ref_type")} | envelope),
        (
            "repository",
            {"action": "edited", "changes": {"description": {"from": None}}} | envelope,
        ),
        (
            "installation",
            {
                "action": "created",
                "installation": installation,
                "repositories": [
                    {k: envelope["repository"][k] for k in ("id", "node_id", "name", "full_name")}
                    | {"private": envelope["repository"]["private"]}
                ],
                "requester": None,
                "sender": envelope["sender"],
            },
        ),
        (
            "ping",
            {
                "zen": "Keep it logically awesome.",
                "hook_id": hook_id,
                "hook": {
                    "type": "Repository",
                    "id": hook_id,
                    "name": "web",
                    "active": True,
                    "events": ["*"],
                    "config": {"content_type": "json", "insecure_ssl": "0", "url": "***"},
                    "updated_at": review["submitted_at"],
                    "created_at": review["submitted_at"],
                    "url": f"{api}/hooks/{hook_id}",
                    "test_url": f"{api}/hooks/{hook_id}/test",
                    "ping_url": f"{api}/hooks/{hook_id}/pings",
                    "deliveries_url": f"{api}/hooks/{hook_id}/deliveries",
                    "last_response": {"code": None, "status": "unused", "message": None},
                },
            }
            | envelope,
        ),
    ]


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
        case_of=lambda d: str(d.payload.get("action") or "payload"),
        delivery_header="X-GitHub-Delivery",
        delivery_id=GOLDEN_DELIVERY_ID,
    )


def record(root: Path) -> None:
    """Record every case into ``root`` (``fixtures/webhooks``) from a fresh emulator."""
    asyncio.run(_record(root))


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
        assert not names & {"x-hub-signature", "x-hub-signature-256", "authorization"}
        assert "recording-secret" not in fixture.payload.read_text()
        assert fixture.headers["x-github-event"] == fixture.event
        assert fixture.delivery_id == GOLDEN_DELIVERY_ID


def _case(fixture: WebhookFixture) -> str:
    return f"{fixture.payload.parent.name}/{fixture.payload.stem}"


@pytest.mark.parametrize("fixture", webhook_fixtures(), ids=_case)
def test_golden(fixture: WebhookFixture) -> None:
    result = normalize_fixture(fixture, NORMALIZERS, "github")
    assert result.ok, result.reason
    assert bool(result.events) is not DECLARED.get(fixture.event, False)
    golden = SOURCE / "goldens" / f"{_case(fixture)}.golden.json"
    if UPDATE:
        golden.parent.mkdir(parents=True, exist_ok=True)
        golden.write_text(golden_text(result))
    assert fixture.golden is not None, f"no golden for {fixture.payload}; KRADLE_UPDATE_GOLDEN=1"
    assert json.loads(golden_text(result)) == json.loads(fixture.golden.read_text())
