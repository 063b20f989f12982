"""GitHub native -> canonical mapping: statuses, PR-backed issues, envelopes, REST shapes."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from kradle_provider_github import mapping
from kradle_provider_github.harness import webhook_fixtures
from kradle_provider_github.mapping import MappingError

from kradle_providers.errors import KradleError
from kradle_providers.models import (
    CheckKind,
    IssueState,
    Permission,
    PipelineState,
    ProviderRef,
    PullRequestState,
    RefKind,
    ReviewState,
    RunnerState,
    Visibility,
)
from kradle_providers.testing.fixtures import require_upstream

PROVIDER = ProviderRef(type="github", instance="ghe")


def fixture(path: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((require_upstream("github") / path).read_text())
    return data


# --- pipeline status ------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "conclusion", "state", "native"),
    [
        ("requested", None, PipelineState.QUEUED, "requested"),
        ("queued", None, PipelineState.QUEUED, "queued"),
        ("pending", None, PipelineState.QUEUED, "pending"),
        ("waiting", None, PipelineState.WAITING, "waiting"),
        ("in_progress", None, PipelineState.RUNNING, "in_progress"),
        ("completed", "success", PipelineState.SUCCEEDED, "completed/success"),
        ("completed", "failure", PipelineState.FAILED, "completed/failure"),
        ("completed", "cancelled", PipelineState.CANCELLED, "completed/cancelled"),
        ("completed", "skipped", PipelineState.SKIPPED, "completed/skipped"),
        ("completed", "neutral", PipelineState.NEUTRAL, "completed/neutral"),
        ("completed", "timed_out", PipelineState.TIMED_OUT, "completed/timed_out"),
        (
            "completed",
            "action_required",
            PipelineState.ACTION_REQUIRED,
            "completed/action_required",
        ),
        ("completed", "stale", PipelineState.TIMED_OUT, "completed/stale"),
        ("completed", "startup_failure", PipelineState.FAILED, "completed/startup_failure"),
        ("completed", "brand_new", PipelineState.UNKNOWN, "completed/brand_new"),
        ("teleporting", None, PipelineState.UNKNOWN, "teleporting"),
        (None, None, PipelineState.UNKNOWN, None),
    ],
)
def test_pipeline_status(
    status: str | None, conclusion: str | None, state: PipelineState, native: str | None
) -> None:
    result = mapping.pipeline_status(status, conclusion)
    assert result.state is state
    assert result.native == native


# --- envelope and extensions ------------------------------------------------------


def test_issue_envelope_and_nothing_dropped() -> None:
    native = fixture("issues/opened.payload.json")["issue"]
    issue = mapping.issue(native, provider=PROVIDER, etag='W/"abc"')
    ext = issue.external
    assert ext.provider == PROVIDER
    assert ext.native_kind == "issue"
    assert ext.native_id == "444500041"
    assert ext.native_number == "1"
    assert ext.node_id == native["node_id"]
    assert ext.url == native["html_url"]
    assert ext.api_url == native["url"]
    assert ext.version.etag == 'W/"abc"'
    assert ext.version.updated_at is not None
    assert issue.status.state is IssueState.OPEN
    assert issue.labels == ["bug"]
    assert issue.milestone is not None and issue.milestone.native_number == "1"
    assert issue.body is not None and issue.body.markdown == native["body"]
    # Every native key is either mapped or kept; unmapped ones are kept verbatim.
    for key in ("reactions", "author_association", "repository_url", "active_lock_reason"):
        assert ext.extensions.fields[key] == native[key]
    assert "title" not in ext.extensions.fields


def test_new_unknown_fields_are_kept_in_extensions() -> None:
    native = copy.deepcopy(fixture("pull_request/opened.payload.json")["pull_request"])
    native["shiny_new_field"] = {"x": [1, 2]}
    pr = mapping.pull_request(native)
    assert pr.external.extensions.fields["shiny_new_field"] == {"x": [1, 2]}
    # Partly mapped sub-objects keep what was not mapped.
    head = pr.external.extensions.fields["head"]
    assert isinstance(head, dict) and "ref" not in head
    assert head["repo"] == native["head"]["repo"]


def test_unknown_enum_values_are_tolerated_with_native_kept() -> None:
    native = copy.deepcopy(fixture("milestone/created.payload.json")["milestone"])
    native["state"] = "archived"
    ms = mapping.milestone(native)
    assert ms.state.value == "unknown"
    assert ms.native_state == "archived"
    repo = copy.deepcopy(fixture("repository/created.payload.json")["repository"])
    repo["visibility"] = "secret"
    assert mapping.repository(repo).visibility is Visibility.UNKNOWN


# --- PR-backed issues -----------------------------------------------------------


def test_pr_backed_issue_links_its_pull_request() -> None:
    native = fixture("issues/milestoned.payload.json")["issue"]
    assert mapping.is_pull_request_backed(native)
    issue = mapping.issue(native)
    assert issue.pull_request is not None
    assert issue.pull_request.kind == "PullRequest"
    assert issue.pull_request.native_number == str(native["number"])
    assert issue.pull_request.url == native["pull_request"]["html_url"]
    plain = fixture("issues/opened.payload.json")["issue"]
    assert not mapping.is_pull_request_backed(plain)
    assert mapping.issue(plain).pull_request is None


def test_comment_on_pr_backed_issue_links_the_pull_request() -> None:
    payload = fixture("issue_comment/created.payload.json")
    parent = copy.deepcopy(payload["issue"])
    parent["pull_request"] = {"html_url": "https://github.com/Codertocat/Hello-World/pull/1"}
    comment = mapping.issue_comment(payload["comment"], issue=parent)
    assert comment.issue.kind == "PullRequest"
    assert comment.issue.native_number == "1"
    # From REST alone, the comment's own html_url says whether it is on a PR.
    rest = copy.deepcopy(payload["comment"])
    rest["html_url"] = "https://github.com/o/r/pull/7#issuecomment-1"
    rest["issue_url"] = "https://api.github.com/repos/o/r/issues/7"
    from_rest = mapping.issue_comment(rest)
    assert (from_rest.issue.kind, from_rest.issue.native_number) == ("PullRequest", "7")
    assert from_rest.issue.url == "https://github.com/o/r/pull/7"


# --- pull requests ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("state", "merged", "merged_at", "draft", "expected"),
    [
        ("open", False, None, False, PullRequestState.OPEN),
        ("open", False, None, True, PullRequestState.DRAFT),
        ("closed", False, None, False, PullRequestState.CLOSED),
        ("closed", True, "2019-05-15T15:21:18Z", False, PullRequestState.MERGED),
        ("closed", None, "2019-05-15T15:21:18Z", False, PullRequestState.MERGED),
        ("weird", False, None, False, PullRequestState.UNKNOWN),
    ],
)
def test_pull_request_status(
    state: str, merged: bool | None, merged_at: str | None, draft: bool, expected: PullRequestState
) -> None:
    native = copy.deepcopy(fixture("pull_request/opened.payload.json")["pull_request"])
    native.update(state=state, merged=merged, merged_at=merged_at, draft=draft)
    pr = mapping.pull_request(native)
    assert pr.status.state is expected
    assert pr.status.native == state
    assert pr.issue is not None and pr.issue.native_number == str(native["number"])
    assert pr.external.version.sha == native["head"]["sha"]


def test_review_state_from_rest_uppercase() -> None:
    native = copy.deepcopy(fixture("pull_request_review/submitted.payload.json")["review"])
    native["state"] = "CHANGES_REQUESTED"
    review = mapping.review(native)
    assert review.state is ReviewState.CHANGES_REQUESTED
    assert review.native_state == "CHANGES_REQUESTED"
    assert review.pull_request.native_number == "2"
    assert review.external.api_url is not None
    assert review.external.api_url.endswith(f"/pulls/2/reviews/{native['id']}")


# --- CI/CD REST shapes ---------------------------------------------------------------


def test_commit_status_identity_is_sha_and_context() -> None:
    payload = fixture("status/payload.json")
    native = {k: v for k, v in payload.items() if k not in ("repository", "sender")}
    check = mapping.commit_status(native)
    assert check.check_kind is CheckKind.COMMIT_STATUS
    assert check.external.native_id == f"{payload['sha']}:default"
    assert check.external.extensions.fields["id"] == payload["id"]
    assert check.status.state is PipelineState.SUCCEEDED
    pending = mapping.commit_status({**native, "state": "pending", "id": 2})
    assert pending.external.native_id == check.external.native_id
    assert pending.status.state is PipelineState.RUNNING
    assert pending.finished_at is None
    error = mapping.commit_status({**native, "state": "error"})
    assert (error.status.state, error.status.native) == (PipelineState.FAILED, "error")


def test_runner_states() -> None:
    base = {
        "id": 23,
        "name": "MBP",
        "os": "macos",
        "status": "online",
        "busy": True,
        "labels": [{"id": 5, "name": "self-hosted", "type": "read-only"}],
    }
    busy = mapping.runner(base)
    assert busy.state is RunnerState.BUSY and busy.busy
    assert busy.labels == ["self-hosted"]
    assert busy.external.extensions.fields["labels"] == base["labels"]
    assert mapping.runner({**base, "busy": False}).state is RunnerState.ONLINE
    assert mapping.runner({**base, "status": "offline"}).state is RunnerState.OFFLINE
    odd = mapping.runner({**base, "status": "napping"})
    assert (odd.state, odd.native_state) == (RunnerState.UNKNOWN, "napping")


def test_artifact_and_workflow() -> None:
    art = mapping.artifact(
        {
            "id": 11,
            "node_id": "MDg6QXJ0aWZhY3QxMQ==",
            "name": "Rails",
            "size_in_bytes": 556,
            "url": "https://api.github.com/repos/o/r/actions/artifacts/11",
            "archive_download_url": "https://api.github.com/repos/o/r/actions/artifacts/11/zip",
            "expired": False,
            "created_at": "2020-01-10T14:59:22Z",
            "expires_at": "2020-03-21T14:59:22Z",
            "updated_at": "2020-02-21T14:59:22Z",
            "workflow_run": {"id": 2332938, "head_branch": "main", "head_sha": "abc"},
        }
    )
    assert art.pipeline is not None and art.pipeline.native_id == "2332938"
    assert art.size_bytes == 556
    assert art.external.extensions.fields["workflow_run"] == {
        "head_branch": "main",
        "head_sha": "abc",
    }
    wf = mapping.workflow(fixture("workflow_run/completed.payload.json")["workflow"])
    assert wf.active and wf.path == ".github/workflows/test.yml"
    assert not mapping.workflow({"id": 1, "name": "x", "state": "disabled_manually"}).active


def test_check_run_summary_and_output_rest() -> None:
    native = copy.deepcopy(fixture("check_run/completed.payload.json")["check_run"])
    native["output"]["summary"] = "All good"
    check = mapping.check_run(native)
    assert check.summary == "All good"
    output = check.external.extensions.fields["output"]
    assert isinstance(output, dict) and "summary" not in output
    assert check.external.version.sha == native["head_sha"]


# --- git forge REST shapes --------------------------------------------------------------


def test_ref_branch_commit() -> None:
    ref = mapping.ref(
        {
            "ref": "refs/tags/v1",
            "node_id": "MDM6UmVm",
            "url": "https://api.github.com/repos/o/r/git/refs/tags/v1",
            "object": {"type": "commit", "sha": "aa" * 20, "url": "u"},
        },
        repository="o/r",
    )
    assert (ref.name, ref.ref_kind, ref.sha) == ("refs/tags/v1", RefKind.TAG, "aa" * 20)
    assert ref.external.native_id == "o/r:refs/tags/v1"
    assert ref.external.extensions.fields["object"] == {"type": "commit", "url": "u"}
    br = mapping.branch(
        {"name": "main", "commit": {"sha": "bb" * 20}, "protected": True}, repository="o/r"
    )
    assert (br.name, br.external.native_id) == ("refs/heads/main", "o/r:refs/heads/main")
    assert br.external.extensions.fields == {"protected": True}
    commit = mapping.commit(
        {
            "sha": "cc" * 20,
            "node_id": "C_1",
            "url": "https://api.github.com/repos/o/r/commits/cc",
            "html_url": "https://github.com/o/r/commit/cc",
            "commit": {
                "message": "Fix all the bugs",
                "author": {"name": "Mona", "email": "m@x", "date": "2011-04-14T16:00:49Z"},
                "committer": {"name": "Mona", "email": "m@x", "date": "2011-04-15T16:00:49Z"},
                "tree": {"sha": "t"},
            },
            "author": {"login": "octocat", "id": 1, "type": "User"},
            "committer": {"login": "web-flow", "id": 2, "type": "User"},
            "parents": [{"sha": "dd" * 20, "url": "p"}],
            "stats": {"total": 3},
        }
    )
    assert commit.parents == ["dd" * 20]
    assert commit.author is not None and commit.author.actor is not None
    assert commit.author.actor.username == "octocat"
    assert commit.external.extensions.fields["commit"] == {"tree": {"sha": "t"}}
    assert commit.external.extensions.fields["stats"] == {"total": 3}
    assert mapping.ref_kind("refs/pull/1/head") is RefKind.OTHER
    assert mapping.full_ref("v1", "tag") == "refs/tags/v1"


def test_collaborator_permission() -> None:
    user = {"login": "octocat", "id": 1, "type": "User", "site_admin": False}
    by_role = mapping.collaborator({**user, "role_name": "maintain"})
    assert (by_role.permission, by_role.native_permission) == (Permission.MAINTAIN, "maintain")
    by_flags = mapping.collaborator(
        {**user, "permissions": {"admin": False, "maintain": False, "push": True, "pull": True}}
    )
    assert (by_flags.permission, by_flags.native_permission) == (Permission.WRITE, "push")
    assert by_flags.actor.username == "octocat"
    assert by_flags.external.extensions.fields["site_admin"] is False


def test_branch_protection_rest_and_rule() -> None:
    rest = mapping.branch_protection(
        {
            "url": "https://api.github.com/repos/o/r/branches/main/protection",
            "required_status_checks": {
                "strict": True,
                "contexts": ["ci"],
                "checks": [{"context": "lint", "app_id": None}],
            },
            "required_pull_request_reviews": {
                "dismiss_stale_reviews": True,
                "require_code_owner_reviews": False,
                "required_approving_review_count": 2,
                "dismissal_restrictions": {},
            },
            "enforce_admins": {"enabled": True, "url": "x"},
            "required_linear_history": {"enabled": False},
            "allow_force_pushes": {"enabled": False},
            "allow_deletions": {"enabled": True},
            "required_signatures": {"enabled": False},
        },
        repository="o/r",
        branch="main",
    )
    assert rest.external.native_id == "o/r:main"
    assert rest.required_status_checks == ["ci", "lint"]
    assert rest.strict_status_checks and rest.dismiss_stale_reviews and rest.enforce_admins
    assert rest.required_approving_reviews == 2
    assert rest.allow_deletions and not rest.allow_force_pushes
    assert rest.external.extensions.fields["required_signatures"] == {"enabled": False}
    rule_native = fixture("branch_protection_rule/edited.payload.json")["rule"]
    rule = mapping.branch_protection_rule(rule_native)
    assert rule.branch == "production"
    # Reviews enforcement is "off": approving reviews are not required.
    assert rule.required_approving_reviews is None
    assert rule.required_status_checks == ["basic-CI"]
    everyone = mapping.branch_protection_rule(
        {
            **rule_native,
            "pull_request_reviews_enforcement_level": "everyone",
            "allow_force_pushes_enforcement_level": "everyone",
        }
    )
    assert everyone.required_approving_reviews == 1 and everyone.allow_force_pushes


def test_issue_event_changes_and_pr_target() -> None:
    issue = fixture("issues/opened.payload.json")["issue"]
    labeled = mapping.issue_event(
        {
            "id": 1,
            "node_id": "n",
            "url": "u",
            "event": "labeled",
            "created_at": "2020-01-01T00:00:00Z",
            "label": {"name": "bug", "color": "f00"},
            "actor": {"login": "a", "id": 3},
        },
        issue=issue,
    )
    assert labeled.event_type.value == "labeled"
    assert [(c.field, c.to_value) for c in labeled.changes] == [("labels", "bug")]
    assert labeled.issue.kind == "Issue"
    renamed = mapping.issue_event(
        {
            "id": 2,
            "event": "renamed",
            "rename": {"from": "a", "to": "b"},
            "issue": fixture("issues/milestoned.payload.json")["issue"],
        }
    )
    assert [(c.field, c.from_value, c.to_value) for c in renamed.changes] == [("title", "a", "b")]
    assert renamed.issue.kind == "PullRequest"
    odd = mapping.issue_event({"id": 3, "event": "convert_to_draft"}, issue=issue)
    assert (odd.event_type.value, odd.native_event) == ("unknown", "convert_to_draft")
    with pytest.raises(MappingError, match="pass issue="):
        mapping.issue_event({"id": 4, "event": "closed"})


# --- malformed input -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("func", "native", "field"),
    [
        (mapping.issue, {"id": 1, "title": 5}, "title"),
        (mapping.issue, {"title": "x"}, "id"),
        (mapping.issue, {"id": True, "title": "x"}, "id"),
        (mapping.label, {"id": 1}, "name"),
        (mapping.workflow_job, {"id": 1, "name": "j"}, "run_id"),
        (mapping.pull_request, {"id": 1, "title": "t", "labels": "bug"}, "labels"),
        (mapping.repository, {"id": 1, "name": "r"}, "full_name"),
    ],
)
def test_malformed_objects_raise_mapping_error(
    func: Any, native: dict[str, Any], field: str
) -> None:
    with pytest.raises(MappingError) as info:
        func(native)
    assert info.value.field == field
    assert field in str(info.value)


def test_not_an_object() -> None:
    with pytest.raises(MappingError, match="expected a JSON object"):
        mapping.issue(["nope"])


def test_bad_timestamp_is_a_mapping_error() -> None:
    native = copy.deepcopy(fixture("label/created.payload.json")["label"])
    assert mapping.label(native).name
    issue = copy.deepcopy(fixture("issues/opened.payload.json")["issue"])
    issue["updated_at"] = "yesterday-ish"
    with pytest.raises(MappingError):
        mapping.issue(issue)


def test_runner_registration_token_is_a_secret_and_not_in_extensions() -> None:
    token = "AABF3JGZDX3P5PMEXLND6TS6FCWO6"
    reg = mapping.runner_registration(
        {"token": token, "expires_at": "2020-01-22T12:13:35.123-08:00"}, repository="o/r"
    )
    assert reg.token.reveal() == token
    assert token not in repr(reg)
    assert token not in reg.model_dump_json()
    assert "token" not in reg.external.extensions.fields
    assert reg.external.native_id.startswith("o/r:")


def test_private_flag_wins_over_contradicting_visibility() -> None:
    repo = copy.deepcopy(fixture("repository/privatized.payload.json")["repository"])
    assert (repo["private"], repo["visibility"]) == (True, "public")
    assert mapping.repository(repo).visibility is Visibility.PRIVATE
    del repo["visibility"]
    assert mapping.repository(repo).visibility is Visibility.PRIVATE
    repo["private"] = False
    assert mapping.repository(repo).visibility is Visibility.PUBLIC


# --- old and partial shapes: map with a warning, never fail ------------------------


def _shipped(event: str, case: str) -> dict[str, Any]:
    (found,) = [f for f in webhook_fixtures() if f.event == event and f.payload.stem == case]
    data: dict[str, Any] = json.loads(found.payload.read_text())
    return data


def test_a_label_without_id_maps_by_name_with_a_warning() -> None:
    native = _shipped("label", "created")["label"]
    del native["id"]
    mapped = mapping.label(native)
    assert mapped.external.native_id == native["name"]
    assert [w.field for w in mapped.external.warnings] == ["id"]
    dumped = mapped.model_dump(mode="json")
    assert dumped["external"]["warnings"][0]["field"] == "id"
    assert type(mapped).model_validate(dumped) == mapped


def test_a_repository_without_full_name_maps_with_a_warning() -> None:
    native = _shipped("repository", "edited")["repository"]
    expected = native.pop("full_name")
    mapped = mapping.repository(native)
    assert mapped.full_name == expected
    assert [w.field for w in mapped.external.warnings] == ["full_name"]


def test_complete_objects_carry_no_warnings_and_serialize_as_before() -> None:
    mapped = mapping.label(_shipped("label", "created")["label"])
    assert mapped.external.warnings == []
    assert "warnings" not in mapped.model_dump(mode="json")["external"]


def test_mapping_errors_are_kradle_errors() -> None:
    with pytest.raises(KradleError):
        mapping.label({"id": 1})


_OPTIONAL = {
    "label": (mapping.label, ("label", "created", "label"), {"name"}),
    # GitHub always sends an owner; without it and full_name there is no repository name.
    "repository": (mapping.repository, ("repository", "edited", "repository"), {"name", "owner"}),
}


@given(data=st.data())
def test_deleting_any_optional_key_never_raises(data: st.DataObject) -> None:
    kind = data.draw(st.sampled_from(sorted(_OPTIONAL)))
    mapper, (event, case, key), required = _OPTIONAL[kind]
    native = _shipped(event, case)[key]
    dropped = data.draw(
        st.lists(st.sampled_from(sorted(set(native) - required)), unique=True, max_size=4)
    )
    for name in dropped:
        del native[name]
    mapped = mapper(native)
    assert mapped.external.native_id


#: Object mappers over the objects the shipped deliveries carry (event, case, key).
_MAPPERS = {
    "label": (mapping.label, ("label", "created", "label")),
    "repository": (mapping.repository, ("repository", "edited", "repository")),
    "milestone": (mapping.milestone, ("milestone", "created", "milestone")),
    "issue": (mapping.issue, ("issues", "opened", "issue")),
    "pull_request": (mapping.pull_request, ("pull_request", "opened", "pull_request")),
    "workflow_run": (mapping.workflow_run, ("workflow_run", "completed", "workflow_run")),
    "workflow_job": (mapping.workflow_job, ("workflow_job", "completed", "workflow_job")),
    "check_run": (mapping.check_run, ("check_run", "created", "check_run")),
    "check_suite": (mapping.check_suite, ("check_suite", "completed", "check_suite")),
    "deploy_key": (mapping.deploy_key, ("deploy_key", "created", "key")),
    "rule": (mapping.branch_protection_rule, ("branch_protection_rule", "created", "rule")),
}


@given(data=st.data())
def test_a_mapping_failure_is_always_a_kradle_error(data: st.DataObject) -> None:
    """Whatever keys a real object lacks, mapping it maps or raises a MappingError."""
    kind = data.draw(st.sampled_from(sorted(_MAPPERS)))
    mapper, (event, case, key) = _MAPPERS[kind]
    native = _shipped(event, case)[key]
    for name in data.draw(st.lists(st.sampled_from(sorted(native)), unique=True, max_size=6)):
        del native[name]
    try:
        mapped = mapper(native)
    except MappingError as exc:
        assert exc.kind and str(exc).startswith("GitHub ")
    else:
        assert mapped.external.native_id
