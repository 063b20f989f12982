"""The canonical operations: names, interfaces, write flags.

This table is the single source of truth the manifest validator, the plugin
registry's guard and the contract suite read. Names are the camelCase forms of
the protocol methods (``listIssues`` <-> ``list_issues``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from kradle_providers.models.base import Interface

__all__ = [
    "OPERATIONS",
    "OperationInfo",
    "camel_to_snake",
    "operations_of",
    "snake_to_camel",
]


def camel_to_snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def snake_to_camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


@dataclass(frozen=True)
class OperationInfo:
    """One canonical operation: its interface, whether it writes, what kind it lists/returns."""

    name: str
    interface: Interface
    write: bool
    kind: str
    declarative: bool = False

    @property
    def method(self) -> str:
        return camel_to_snake(self.name)


_IT, _CI, _GF = Interface.ISSUE_TRACKING, Interface.CICD, Interface.GIT_FORGE

_TABLE: list[tuple[str, Interface, bool, str]] = [
    # issue tracking
    ("listIssues", _IT, False, "Issue"),
    ("getIssue", _IT, False, "Issue"),
    ("createIssue", _IT, True, "Issue"),
    ("updateIssue", _IT, True, "Issue"),
    ("closeIssue", _IT, True, "Issue"),
    ("listTransitions", _IT, False, "Transition"),
    ("transitionIssue", _IT, True, "Issue"),
    ("listComments", _IT, False, "Comment"),
    ("createComment", _IT, True, "Comment"),
    ("updateComment", _IT, True, "Comment"),
    ("listLabels", _IT, False, "Label"),
    ("syncLabels", _IT, True, "Label"),
    ("listMilestones", _IT, False, "Milestone"),
    ("listIssueEvents", _IT, False, "IssueEvent"),
    # CI/CD
    ("listPipelineDefinitions", _CI, False, "PipelineDefinition"),
    ("listPipelines", _CI, False, "Pipeline"),
    ("getPipeline", _CI, False, "Pipeline"),
    ("listJobs", _CI, False, "Job"),
    ("getJobLog", _CI, False, "LogRef"),
    ("listArtifacts", _CI, False, "Artifact"),
    ("rerunPipeline", _CI, True, "Pipeline"),
    ("cancelPipeline", _CI, True, "Pipeline"),
    ("listRunners", _CI, False, "Runner"),
    ("registerRunner", _CI, True, "RunnerRegistration"),
    ("listChecks", _CI, False, "Check"),
    ("createCheck", _CI, True, "Check"),
    ("updateCheck", _CI, True, "Check"),
    # git forge
    ("listRepositories", _GF, False, "Repository"),
    ("getRepository", _GF, False, "Repository"),
    ("createRepository", _GF, True, "Repository"),
    ("updateRepository", _GF, True, "Repository"),
    ("listPullRequests", _GF, False, "PullRequest"),
    ("getPullRequest", _GF, False, "PullRequest"),
    ("createPullRequest", _GF, True, "PullRequest"),
    ("updatePullRequest", _GF, True, "PullRequest"),
    ("mergePullRequest", _GF, True, "PullRequest"),
    ("listReviews", _GF, False, "Review"),
    ("listRefs", _GF, False, "Ref"),
    ("getCommit", _GF, False, "Commit"),
    ("listDeployKeys", _GF, False, "DeployKey"),
    ("syncDeployKeys", _GF, True, "DeployKey"),
    ("listCollaborators", _GF, False, "Collaborator"),
    ("getBranchProtection", _GF, False, "BranchProtection"),
    ("syncBranchProtection", _GF, True, "BranchProtection"),
]

OPERATIONS: dict[str, OperationInfo] = {
    name: OperationInfo(name, iface, write, kind, declarative=name.startswith("sync"))
    for name, iface, write, kind in _TABLE
}
"""Every canonical operation by camelCase name."""


def operations_of(interface: Interface) -> list[OperationInfo]:
    """The operations of one interface, in protocol order."""
    return [op for op in OPERATIONS.values() if op.interface is interface]
