"""Stored records -> the JSON Buildkite's REST API and webhooks send.

Shapes follow Buildkite's REST API documentation (Builds, Jobs, Pipelines,
Agents, Artifacts, Clusters): every documented key is present, ``null`` where
Buildkite sends ``null`` (a waiter job has no agent, a build without a pull
request has ``pull_request: null``). ``api`` is the API root the client used
(``http://host/v2``), ``web`` the site root.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from kradle_provider_buildkite.emulator.state import BuildkiteState

__all__ = ["Renderer", "graphql_id"]

Record = Mapping[str, Any]


def graphql_id(kind: str, uuid: str) -> str:
    """Buildkite's GraphQL id: base64 of ``"<Kind>---<uuid>"``."""
    return base64.b64encode(f"{kind}---{uuid}".encode()).decode()


@dataclass(frozen=True)
class Renderer:
    """Renders records with URLs under ``api`` (REST) and ``web`` (site)."""

    state: BuildkiteState
    api: str
    web: str
    cache: dict[str, dict[str, Any]] = field(default_factory=dict, compare=False, repr=False)

    @property
    def org(self) -> str:
        return self.state.org_slug

    def user(self, user_id: str | None) -> dict[str, Any] | None:
        user = self.state.view(self.state.users, user_id) if user_id else None
        if user is None:
            return None
        return {
            "id": user["id"],
            "graphql_id": graphql_id("User", user["id"]),
            "name": user["name"],
            "email": user["email"],
            "avatar_url": f"https://www.gravatar.com/avatar/{user['id'][:32]}",
            "created_at": user["created_at"],
        }

    def organization(self) -> dict[str, Any]:
        org = self.state.organization
        base = f"{self.api}/organizations/{self.org}"
        return {
            "id": org["id"],
            "graphql_id": graphql_id("Organization", org["id"]),
            "url": base,
            "web_url": f"{self.web}/{self.org}",
            "name": org["name"],
            "slug": self.org,
            "agents_url": f"{base}/agents",
            "emojis_url": f"{base}/emojis",
            "pipelines_url": f"{base}/pipelines",
            "created_at": org["created_at"],
        }

    def pipeline(self, p: Record) -> dict[str, Any]:
        # One answer renders the same pipeline for every build: render it once.
        cached = self.cache.get(p["id"])
        if cached is None:
            cached = self.cache[p["id"]] = self._pipeline(p)
        return dict(cached)

    def _pipeline(self, p: Record) -> dict[str, Any]:
        base = f"{self.api}/organizations/{self.org}/pipelines/{p['slug']}"
        counts = self.state.pipeline_counts(p["id"])
        return {
            "id": p["id"],
            "graphql_id": graphql_id("Pipeline", p["id"]),
            "url": base,
            "web_url": f"{self.web}/{self.org}/{p['slug']}",
            "name": p["name"],
            "description": p["description"],
            "slug": p["slug"],
            "repository": p["repository"],
            "cluster_id": p["cluster_id"],
            "cluster_url": f"{self.api}/organizations/{self.org}/clusters/{p['cluster_id']}",
            "branch_configuration": p["branch_configuration"],
            "default_branch": p["default_branch"],
            "skip_queued_branch_builds": False,
            "skip_queued_branch_builds_filter": None,
            "cancel_running_branch_builds": False,
            "cancel_running_branch_builds_filter": None,
            "allow_rebuilds": True,
            "provider": {
                "id": "github",
                "webhook_url": f"https://webhook.buildkite.com/deliver/{p['id'][:24]}",
                "settings": {
                    "repository": p["repository_slug"],
                    "build_pull_requests": True,
                    "pull_request_branch_filter_enabled": False,
                    "publish_commit_status": True,
                    "trigger_mode": "code",
                },
            },
            "builds_url": f"{base}/builds",
            "badge_url": f"https://badge.buildkite.com/{p['id'].replace('-', '')}.svg",
            "created_by": self.user(p["creator_id"]),
            "created_at": p["created_at"],
            "archived_at": p["archived_at"],
            "env": p["env"],
            "scheduled_builds_count": counts["scheduled"],
            "running_builds_count": counts["running"],
            "scheduled_jobs_count": 0,
            "running_jobs_count": counts["running_jobs"],
            "waiting_jobs_count": 0,
            "visibility": "private",
            "tags": p["tags"],
            "configuration": p["configuration"],
            "steps": p["steps"],
            **p["extra"],
        }

    def _build_base(self, b: Record) -> str:
        slug = self.state.pipeline_of(b)["slug"]
        return f"{self.api}/organizations/{self.org}/pipelines/{slug}/builds/{b['number']}"

    def build(
        self, b: Record, *, with_jobs: bool = True, include_retried: bool = False
    ) -> dict[str, Any]:
        """A build; webhooks send it without ``jobs`` (as Buildkite does)."""
        p = self.state.pipeline_of(b)
        jobs = self.state.jobs_of(b["id"], include_retried=True)
        counts: dict[str, int] = {}
        for j in jobs:
            counts[j["state"]] = counts.get(j["state"], 0) + 1
        rebuilt = self.state.builds.get(b["rebuilt_from"]) if b["rebuilt_from"] else None
        body: dict[str, Any] = {
            "id": b["id"],
            "graphql_id": graphql_id("Build", b["id"]),
            "url": self._build_base(b),
            "web_url": f"{self.web}/{self.org}/{p['slug']}/builds/{b['number']}",
            "number": b["number"],
            "state": b["state"],
            "cancel_reason": b["cancel_reason"],
            "blocked": b["blocked"],
            "blocked_state": b["blocked_state"],
            "message": b["message"],
            "commit": b["commit"],
            "branch": b["branch"],
            "tag": b["tag"],
            "env": b["env"],
            "source": b["source"],
            "author": b["author"],
            "creator": self.user(b["creator_id"]),
            "created_at": b["created_at"],
            "scheduled_at": b["scheduled_at"],
            "started_at": b["started_at"],
            "finished_at": b["finished_at"],
            "failing_at": b["failing_at"],
            "meta_data": b["meta_data"],
            "pull_request": b["pull_request"],
            "merge_queue": None,
            "rebuilt_from": None
            if rebuilt is None
            else {
                "id": rebuilt["id"],
                "number": rebuilt["number"],
                "url": self._build_base(rebuilt),
            },
            "job_state_counts": {"total": len(jobs), "states": counts},
            "pipeline": self.pipeline(p),
            **b["extra"],
        }
        if with_jobs:
            shown = jobs if include_retried else [j for j in jobs if not j["retried"]]
            body["jobs"] = [self.job(j, b) for j in shown]
        return body

    def job(self, j: Record, b: Record | None = None) -> dict[str, Any]:
        """A job in Buildkite's shape for its type (script, waiter, manual, trigger)."""
        b = b or self.state.builds.get(j["build_id"])
        assert b is not None
        base = self._build_base(b)
        p = self.state.pipeline_of(b)
        web = f"{self.web}/{self.org}/{p['slug']}/builds/{b['number']}#{j['id']}"
        common: dict[str, Any] = {
            "id": j["id"],
            "graphql_id": graphql_id("Job", j["id"]),
            "type": j["type"],
            "state": j["state"],
            "step_key": j["step_key"],
            "step": {"id": j["step_id"], "signature": None},
            "build_url": base,
        }
        if j["type"] == "waiter":
            return {**common, "continue_on_failure": j["continue_on_failure"]}
        if j["type"] == "manual":
            unblocker = self.user(j["unblocked_by"])
            return {
                **common,
                "label": j["name"],
                "web_url": web,
                "unblocked_by": unblocker,
                "unblocked_at": j["unblocked_at"],
                "unblockable": j["state"] == "blocked",
                "unblock_url": f"{base}/jobs/{j['id']}/unblock",
                "fields": j["fields"],
            }
        timing = {
            "created_at": j["created_at"],
            "scheduled_at": j["scheduled_at"],
            "runnable_at": j["runnable_at"],
            "started_at": j["started_at"],
            "finished_at": j["finished_at"],
        }
        if j["type"] == "trigger":
            target = (
                self.state.builds.get(j["triggered_build_id"]) if j["triggered_build_id"] else None
            )
            return {
                **common,
                "name": j["name"],
                "web_url": web,
                **timing,
                "async": j["async"],
                "triggered_build": None
                if target is None
                else {
                    "id": target["id"],
                    "number": target["number"],
                    "url": self._build_base(target),
                    "web_url": self.build(target, with_jobs=False)["web_url"],
                },
            }
        agent = self.state.view(self.state.agents, j["agent_id"]) if j["agent_id"] else None
        return {
            **common,
            "name": j["name"],
            "priority": {"number": 0},
            "agent_query_rules": j["agent_query_rules"],
            "web_url": web,
            "log_url": f"{base}/jobs/{j['id']}/log",
            "raw_log_url": f"{base}/jobs/{j['id']}/log.txt",
            "artifacts_url": f"{base}/jobs/{j['id']}/artifacts",
            "command": j["command"],
            "soft_failed": j["soft_failed"],
            "exit_status": j["exit_status"],
            "signal": None,
            "signal_reason": None,
            "broken_reason": None,
            "artifact_paths": j["artifact_paths"],
            "agent": None if agent is None else self.agent(agent, with_job=False),
            **timing,
            "concurrency_wait_time_ms": None,
            "expired_at": None,
            "retried": j["retried"],
            "retried_in_job_id": j["retried_in_job_id"],
            "retries_count": j["retries_count"],
            "retry_source": j["retry_source"],
            "retry_type": j["retry_type"],
            "retried_by": self.user(j["retried_by"]),
            "parallel_group_index": None,
            "parallel_group_total": None,
            "matrix": None,
            "cluster_id": p["cluster_id"],
            "cluster_url": f"{self.api}/organizations/{self.org}/clusters/{p['cluster_id']}",
            "cluster_queue_id": None,
            "cluster_queue_url": None,
            **j["extra"],
        }

    def artifact(self, a: Record) -> dict[str, Any]:
        j = self.state.jobs.get(a["job_id"])
        assert j is not None
        b = self.state.builds.get(j["build_id"])
        assert b is not None
        base = f"{self._build_base(b)}/jobs/{j['id']}/artifacts/{a['id']}"
        return {
            "id": a["id"],
            "job_id": a["job_id"],
            "url": base,
            "download_url": f"{base}/download",
            "state": a["state"],
            "path": a["path"],
            "dirname": a["path"].rpartition("/")[0] or ".",
            "filename": a["path"].rpartition("/")[2],
            "mime_type": a["mime_type"],
            "file_size": len(a["content"].encode()),
            "glob_path": a["glob_path"],
            "original_path": a["path"],
            "sha1sum": a["sha1sum"],
            **a["extra"],
        }

    def agent(self, a: Record, *, with_job: bool = True) -> dict[str, Any]:
        org_api = f"{self.api}/organizations/{self.org}"
        body: dict[str, Any] = {
            "id": a["id"],
            "graphql_id": graphql_id("Agent", a["id"]),
            "url": f"{org_api}/agents/{a['id']}",
            "web_url": f"{self.web}/organizations/{self.org}/agents/{a['id']}",
            "name": a["name"],
            "connection_state": a["connection_state"],
            "hostname": a["hostname"],
            "ip_address": a["ip_address"],
            "user_agent": f"buildkite-agent/{a['version']} ({a['os_id']}; amd64)",
            "version": a["version"],
            "os_id": a["os_id"],
            "arch": "amd64",
            "creator": self.user(a["creator_id"]),
            "created_at": a["created_at"],
            "connected_at": a["connected_at"],
            "disconnected_at": a["disconnected_at"],
            "lost_at": a["lost_at"],
            "stopped_at": a["stopped_at"],
            "last_job_finished_at": a["last_job_finished_at"],
            "priority": a["priority"],
            "meta_data": a["meta_data"],
            "cluster_id": a["cluster_id"],
            **a["extra"],
        }
        if with_job:
            current = self.state.jobs.get(a["job_id"]) if a["job_id"] else None
            body["job"] = None if current is None else self.job(current)
        return body

    def cluster(self, c: Record) -> dict[str, Any]:
        url = f"{self.api}/organizations/{self.org}/clusters/{c['id']}"
        return {
            "id": c["id"],
            "graphql_id": graphql_id("Cluster", c["id"]),
            "default_queue_id": None,
            "name": c["name"],
            "description": c["description"],
            "emoji": ":toolbox:",
            "color": "#A9CCE3",
            "url": url,
            "web_url": f"{self.web}/organizations/{self.org}/clusters/{c['id']}",
            "queues_url": f"{url}/queues",
            "default_queue_url": None,
            "created_at": c["created_at"],
            "created_by": self.user(c["creator_id"]),
        }

    def cluster_token(self, t: Record) -> dict[str, Any]:
        url = f"{self.api}/organizations/{self.org}/clusters/{t['cluster_id']}"
        return {
            "id": t["id"],
            "graphql_id": graphql_id("ClusterToken", t["id"]),
            "description": t["description"],
            "allowed_ip_addresses": t["allowed_ip_addresses"],
            "url": f"{url}/tokens/{t['id']}",
            "cluster_url": url,
            "created_at": t["created_at"],
            "created_by": self.user(t["creator_id"]),
            "expires_at": t["expires_at"],
        }
