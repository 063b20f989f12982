"""MemoryAdapter, CI/CD and git forge operations."""

from __future__ import annotations

import pytest

from kradle_providers.auth.secret import Secret, register_secret_value
from kradle_providers.errors import Conflict, InvalidInput, NotFound, PreconditionFailed
from kradle_providers.models import (
    BranchProtectionSpec,
    CheckInput,
    DeployKeySpec,
    ExternalRef,
    MergeMethod,
    Permission,
    PipelineState,
    PullRequestCreate,
    PullRequestState,
    PullRequestUpdate,
    RefKind,
    RepositoryCreate,
    RepositoryUpdate,
    ReviewState,
)
from kradle_providers.testing.memory import MemoryAdapter
from kradle_providers.testing.memory_backend import MemoryBackend

REF = ExternalRef(owner="acme", repository="widgets")


@pytest.fixture
def backend() -> MemoryBackend:
    b = MemoryBackend()
    b.seed_demo()
    return b


@pytest.fixture
def adapter(backend: MemoryBackend) -> MemoryAdapter:
    return MemoryAdapter(backend)


async def _run_id(adapter: MemoryAdapter) -> str:
    return (await adapter.list_pipelines(REF)).items[0].external.native_id


# --- CI/CD -----------------------------------------------------------------------


async def test_pipelines_jobs_artifacts(adapter: MemoryAdapter) -> None:
    (definition,) = (await adapter.list_pipeline_definitions(REF)).items
    assert definition.path == ".memory/workflows/ci.yml"
    runs = (await adapter.list_pipelines(REF, definition_id=definition.external.native_id)).items
    assert len(runs) == 1
    run = await adapter.get_pipeline(REF, runs[0].external.native_id)
    assert run.status.state is PipelineState.SUCCEEDED
    assert run.status.native == "success"
    assert run.definition is not None
    assert run.definition.native_id == definition.external.native_id
    jobs = (await adapter.list_jobs(REF, run.external.native_id)).items
    assert [j.name for j in jobs] == ["build", "test"]
    assert all(j.pipeline.native_id == run.external.native_id for j in jobs)
    (artifact,) = (await adapter.list_artifacts(REF, run.external.native_id)).items
    assert artifact.name == "widgets.tar.gz"
    with pytest.raises(NotFound):
        await adapter.get_pipeline(REF, "424242")
    with pytest.raises(NotFound):
        await adapter.list_jobs(REF, "424242")


async def test_job_log_is_lazy_streamed_and_redacted(
    adapter: MemoryAdapter, backend: MemoryBackend
) -> None:
    run_id = await _run_id(adapter)
    job = (await adapter.list_jobs(REF, run_id)).items[0]
    register_secret_value("log-canary-secret-77")
    backend.set_log(int(job.external.native_id), "start\ntoken=log-canary-secret-77\nend\n")
    calls = len(backend.requests)
    stream = adapter.get_job_log(REF, job.external.native_id)
    assert len(backend.requests) == calls  # nothing fetched yet
    first = await anext(stream)
    assert first == "start\n"
    assert backend.requests[-1].operation == "getJobLog"
    rest = [chunk async for chunk in stream]
    assert rest == ["token=***\n", "end\n"]
    missing = adapter.get_job_log(REF, "999999")
    with pytest.raises(NotFound):
        await anext(missing)


async def test_rerun_and_cancel(adapter: MemoryAdapter, backend: MemoryBackend) -> None:
    run_id = await _run_id(adapter)
    with pytest.raises(Conflict):
        await adapter.cancel_pipeline(REF, run_id)
    rerun = await adapter.rerun_pipeline(REF, run_id)
    assert rerun.attempt == 2
    assert rerun.status.state is PipelineState.QUEUED
    jobs = (await adapter.list_jobs(REF, run_id)).items
    assert {j.status.state for j in jobs} == {PipelineState.QUEUED}
    same = await adapter.rerun_pipeline(REF, run_id)
    assert same.attempt == 2  # still queued: nothing to rerun
    cancelled = await adapter.cancel_pipeline(REF, run_id)
    assert cancelled.status.state is PipelineState.CANCELLED
    again = await adapter.cancel_pipeline(REF, run_id)
    assert again.external.version == cancelled.external.version
    jobs = (await adapter.list_jobs(REF, run_id)).items
    assert {j.status.state for j in jobs} == {PipelineState.CANCELLED}


async def test_rerun_failed_only(adapter: MemoryAdapter, backend: MemoryBackend) -> None:
    run_id = await _run_id(adapter)
    _build, test = (await adapter.list_jobs(REF, run_id)).items
    backend.external_change("job", int(test.external.native_id), status="failure")
    backend.external_change("pipeline", int(run_id), status="failure")
    await adapter.rerun_pipeline(REF, run_id, failed_only=True)
    states = {j.name: j.status.state for j in (await adapter.list_jobs(REF, run_id)).items}
    assert states == {"build": PipelineState.SUCCEEDED, "test": PipelineState.QUEUED}


async def test_runners_and_registration_token_is_never_kept(
    adapter: MemoryAdapter, backend: MemoryBackend
) -> None:
    (runner,) = (await adapter.list_runners(REF)).items
    assert runner.name == "memory-runner-1"
    registration = await adapter.register_runner(REF)
    token = registration.token.reveal()
    assert isinstance(registration.token, Secret)
    assert token.startswith("MRT_")
    assert registration.expires_at is not None
    assert token not in repr(registration)
    assert token not in registration.model_dump_json()
    assert token not in repr(vars(adapter))
    assert token not in repr(backend.events) + repr(backend.requests) + repr(vars(backend))
    other = await adapter.register_runner(REF)
    assert other.token != registration.token


async def test_checks_create_idempotent_update_list(adapter: MemoryAdapter) -> None:
    sha = "c" * 40
    data = CheckInput(name="lint", sha=sha, state=PipelineState.RUNNING)
    created = await adapter.create_check(REF, data, idempotency_key="chk")
    again = await adapter.create_check(REF, data, idempotency_key="chk")
    assert created.external.native_id == again.external.native_id
    assert created.status.state is PipelineState.RUNNING
    done = await adapter.update_check(
        REF,
        created.external.native_id,
        CheckInput(name="lint", sha=sha, state=PipelineState.FAILED, summary="2 errors"),
    )
    assert done.status.state is PipelineState.FAILED
    assert done.summary == "2 errors"
    assert done.finished_at is not None
    same = await adapter.update_check(
        REF,
        created.external.native_id,
        CheckInput(name="lint", sha=sha, state=PipelineState.FAILED, summary="2 errors"),
    )
    assert same.external.version == done.external.version
    listed = (await adapter.list_checks(REF, sha)).items
    assert [c.external.native_id for c in listed] == [created.external.native_id]
    with pytest.raises(NotFound):
        await adapter.update_check(REF, "999999", data)


# --- git forge -----------------------------------------------------------------


async def test_repositories(adapter: MemoryAdapter) -> None:
    repo = await adapter.get_repository(REF)
    assert repo.full_name == "acme/widgets"
    assert repo.external.native_kind == "repository"
    created = await adapter.create_repository(
        ExternalRef(owner="acme"), RepositoryCreate(name="gadgets"), idempotency_key="r1"
    )
    again = await adapter.create_repository(
        ExternalRef(owner="acme"), RepositoryCreate(name="gadgets"), idempotency_key="r1"
    )
    assert created.external.native_id == again.external.native_id
    with pytest.raises(Conflict):
        await adapter.create_repository(ExternalRef(owner="acme"), RepositoryCreate(name="gadgets"))
    names = [r.name for r in (await adapter.list_repositories(ExternalRef(owner="acme"))).items]
    assert names == ["widgets", "gadgets"]
    updated = await adapter.update_repository(
        ExternalRef(owner="acme", repository="gadgets"),
        RepositoryUpdate(description="Gadgets", archived=True),
    )
    assert updated.description == "Gadgets" and updated.archived
    with pytest.raises(NotFound):
        await adapter.get_repository(ExternalRef(owner="acme", repository="nope"))
    with pytest.raises(InvalidInput):
        await adapter.list_repositories(ExternalRef(project="X"))


async def test_pull_request_lifecycle(adapter: MemoryAdapter, backend: MemoryBackend) -> None:
    backend.seed_ref("acme/widgets", "refs/heads/fix", "f" * 40)
    data = PullRequestCreate(title="Fix", head="fix", base="main", body="b")
    pr = await adapter.create_pull_request(REF, data, idempotency_key="p")
    assert (
        await adapter.create_pull_request(REF, data, idempotency_key="p")
    ).external.native_id == (pr.external.native_id)
    with pytest.raises(Conflict):
        await adapter.create_pull_request(REF, data)
    with pytest.raises(InvalidInput):
        await adapter.create_pull_request(
            REF, PullRequestCreate(title="x", head="nope", base="main")
        )
    number = pr.external.native_number
    assert number is not None
    assert pr.issue is not None and pr.issue.native_number == number
    updated = await adapter.update_pull_request(REF, number, PullRequestUpdate(title="Fix it"))
    backing = await adapter.get_issue(REF, number)
    assert backing.title == "Fix it"
    with pytest.raises(PreconditionFailed):
        await adapter.update_pull_request(
            REF, number, PullRequestUpdate(title="x"), expected_version='"1"'
        )
    with pytest.raises(PreconditionFailed):
        await adapter.merge_pull_request(REF, number, expected_head_sha="0" * 40)
    merged = await adapter.merge_pull_request(
        REF, number, method=MergeMethod.SQUASH, expected_head_sha=updated.head_sha
    )
    assert merged.status.state is PullRequestState.MERGED
    assert merged.merge_commit_sha is not None
    commit = await adapter.get_commit(REF, merged.merge_commit_sha)
    assert len(commit.parents) == 1
    main = [r for r in (await adapter.list_refs(REF)).items if r.name == "refs/heads/main"]
    assert main[0].sha == merged.merge_commit_sha
    again = await adapter.merge_pull_request(REF, number)
    assert again.external.version == merged.external.version
    with pytest.raises(Conflict):
        await adapter.update_pull_request(REF, number, PullRequestUpdate(state="open"))
    assert [
        p.external.native_number
        for p in (await adapter.list_pull_requests(REF, state="merged")).items
    ] == [number]
    assert (await adapter.get_issue(REF, number)).status.state.value == "closed"


async def test_closed_pull_request_cannot_merge(adapter: MemoryAdapter) -> None:
    (pr,) = (await adapter.list_pull_requests(REF)).items
    number = str(pr.external.native_number)
    closed = await adapter.update_pull_request(REF, number, PullRequestUpdate(state="closed"))
    assert closed.status.state is PullRequestState.CLOSED
    with pytest.raises(Conflict, match="reopen"):
        await adapter.merge_pull_request(REF, number)
    with pytest.raises(NotFound):
        await adapter.get_pull_request(REF, "999")


async def test_reviews_refs_commits_collaborators(adapter: MemoryAdapter) -> None:
    (pr,) = (await adapter.list_pull_requests(REF)).items
    (review,) = (await adapter.list_reviews(REF, str(pr.external.native_number))).items
    assert review.state is ReviewState.APPROVED
    assert review.native_state == "APPROVED"
    refs = (await adapter.list_refs(REF)).items
    assert {r.ref_kind for r in refs} == {RefKind.BRANCH, RefKind.TAG}
    tags = (await adapter.list_refs(REF, prefix="refs/tags/")).items
    assert [t.name for t in tags] == ["refs/tags/v0.1.0"]
    assert tags[0].external.native_id == "refs/tags/v0.1.0"
    commit = await adapter.get_commit(REF, tags[0].sha[:7])
    assert commit.sha == tags[0].sha
    with pytest.raises(NotFound):
        await adapter.get_commit(REF, "deadbee")
    with pytest.raises(NotFound):
        await adapter.get_commit(REF, "ab")
    (collaborator,) = (await adapter.list_collaborators(REF)).items
    assert collaborator.permission is Permission.ADMIN
    assert collaborator.actor.username == "octo"


async def test_sync_deploy_keys(adapter: MemoryAdapter, backend: MemoryBackend) -> None:
    existing = (await adapter.list_deploy_keys(REF)).items[0]
    desired = [
        DeployKeySpec(title="renamed", key=existing.key, read_only=True),
        DeployKeySpec(title="ci", key="ssh-ed25519 AAAACInew ci", read_only=False),
    ]
    events_before = len(backend.events)
    dry = await adapter.sync_deploy_keys(REF, desired, dry_run=True)
    assert len(backend.events) == events_before
    assert dry.updated == [existing.key] and dry.created == ["ssh-ed25519 AAAACInew ci"]
    real = await adapter.sync_deploy_keys(REF, desired)
    assert real.changes == dry.changes
    assert (await adapter.sync_deploy_keys(REF, desired)).is_noop
    keys = {k.title: k for k in (await adapter.list_deploy_keys(REF)).items}
    assert set(keys) == {"renamed", "ci"} and not keys["ci"].read_only
    pruned = await adapter.sync_deploy_keys(REF, desired[1:])
    assert pruned.deleted == [existing.key]


async def test_branch_protection_sync(adapter: MemoryAdapter, backend: MemoryBackend) -> None:
    current = await adapter.get_branch_protection(REF, "main")
    assert current.required_approving_reviews == 1
    spec = BranchProtectionSpec(required_approving_reviews=None, enforce_admins=True)
    dry = await adapter.sync_branch_protection(REF, "main", spec, dry_run=True)
    assert sorted(dry.changes[0].fields) == ["enforce_admins", "required_approving_reviews"]
    assert (await adapter.get_branch_protection(REF, "main")).enforce_admins is False
    real = await adapter.sync_branch_protection(REF, "main", spec)
    assert real.changes == dry.changes
    after = await adapter.get_branch_protection(REF, "main")
    assert after.enforce_admins and after.required_approving_reviews is None
    assert (await adapter.sync_branch_protection(REF, "main", spec)).is_noop
    with pytest.raises(NotFound):
        await adapter.get_branch_protection(REF, "dev")
    created = await adapter.sync_branch_protection(REF, "dev", BranchProtectionSpec())
    assert created.created == ["dev"]
    removed = await adapter.sync_branch_protection(REF, "dev", None)
    assert removed.deleted == ["dev"]
    assert (await adapter.sync_branch_protection(REF, "dev", None)).is_noop
    with pytest.raises(NotFound):
        await adapter.get_branch_protection(REF, "dev")
