"""Every webhook the emulator emits validates against GitHub's webhook payload schema."""

from __future__ import annotations

import json
from typing import Any

import pytest
from jsonschema import Draft7Validator
from kradle_provider_github.emulator import GitHubEmulator, create_emulator

from kradle_providers.testing.fixtures import require_vendor_specs
from kradle_providers.testing.harness import Fault

R = "/repos/acme/widgets"


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    return dict(json.loads((require_vendor_specs("github") / "schema.json").read_text()))


def _validate(schema: dict[str, Any], event: str, payload: dict[str, Any]) -> list[str]:
    action = payload.get("action", "event")
    name = f"{event}${action}"
    assert name in schema["definitions"], f"the schema has no definition {name}"
    validator = Draft7Validator(
        {"$ref": f"#/definitions/{name}", **{"definitions": schema["definitions"]}}
    )
    return [
        f"{'/'.join(map(str, e.absolute_path))}: {e.message[:200]}"
        for e in validator.iter_errors(payload)
    ]


async def test_every_emitted_webhook_matches_the_schema(schema: dict[str, Any]) -> None:
    emulator: GitHubEmulator = create_emulator()
    emulator.webhooks.subscribe("http://receiver.test/hook", "s3cret")
    control = emulator.control
    headers = {"authorization": f"Bearer {emulator.token}"}
    async with emulator.client(headers=headers) as client:
        number = (await client.post(f"{R}/issues", json={"title": "A", "labels": ["bug"]})).json()[
            "number"
        ]
        await client.patch(f"{R}/issues/{number}", json={"title": "B", "assignees": ["alice"]})
        comment = (await client.post(f"{R}/issues/{number}/comments", json={"body": "hi"})).json()
        await client.patch(f"{R}/issues/comments/{comment['id']}", json={"body": "edited"})
        await client.patch(f"{R}/issues/{number}", json={"state": "closed"})
        await client.patch(f"{R}/issues/{number}", json={"state": "open"})
        await client.patch(f"{R}/labels/bug", json={"new_name": "defect"})
        await client.delete(f"{R}/labels/defect")
        pr = control.seed("PullRequest")[0]
        await client.patch(f"{R}/pulls/{pr}", json={"title": "Better"})
        await client.put(f"{R}/pulls/{pr}/merge", json={})
        key = (
            await client.post(f"{R}/keys", json={"title": "k", "key": "ssh-ed25519 AAAAC3Nza1"})
        ).json()
        await client.delete(f"{R}/keys/{key['id']}")
        body = {
            "required_status_checks": None,
            "enforce_admins": True,
            "required_pull_request_reviews": None,
            "restrictions": None,
        }
        await client.put(f"{R}/branches/main/protection", json=body)
        await client.put(f"{R}/branches/main/protection", json={**body, "enforce_admins": False})
        await client.delete(f"{R}/branches/main/protection")
        sha = (await client.get(f"{R}/commits/main")).json()["sha"]
        check = (await client.post(f"{R}/check-runs", json={"name": "c", "head_sha": sha})).json()
        await client.patch(f"{R}/check-runs/{check['id']}", json={"conclusion": "success"})
        await client.post(f"{R}/statuses/{sha}", json={"state": "success", "context": "x"})
        run = control.seed("Pipeline", status="in_progress", conclusion=None)[0]
        await client.post(f"{R}/actions/runs/{run}/cancel")
        await client.post(f"{R}/actions/runs/{run}/rerun")
    control.seed("Milestone")
    control.seed("Label")
    deliveries = await emulator.webhooks.flush()
    seen = set()
    for delivery in deliveries:
        problems = _validate(schema, delivery.event, delivery.payload)
        assert not problems, (delivery.event, delivery.payload.get("action"), problems[:5])
        seen.add(f"{delivery.event}.{delivery.payload.get('action', '')}")
    for expected in (
        "issues.opened",
        "issues.edited",
        "issues.assigned",
        "issues.closed",
        "issues.reopened",
        "issue_comment.created",
        "issue_comment.edited",
        "label.created",
        "label.edited",
        "label.deleted",
        "pull_request.opened",
        "pull_request.edited",
        "pull_request.closed",
        "push.",
        "deploy_key.created",
        "deploy_key.deleted",
        "branch_protection_rule.created",
        "branch_protection_rule.edited",
        "branch_protection_rule.deleted",
        "check_run.created",
        "check_run.completed",
        "status.",
        "workflow_run.requested",
        "workflow_run.completed",
        "milestone.created",
    ):
        assert expected in seen, f"{expected} was not emitted (got {sorted(seen)})"
    assert Fault.RATE_LIMIT  # the harness vocabulary is importable next to the schema
