"""The GitHub emulator's state: collections of internal records and lookups.

Records are small and normalized (an issue stores label names, assignee
logins and a milestone number); :mod:`.objects` renders them into the full
JSON objects GitHub returns, so nested users, labels and milestones always
agree with their own endpoints.
"""

from __future__ import annotations

import base64
import hashlib
from datetime import datetime
from typing import Any

from kradle_providers.testing.emulator import Collection, Now, Store, iso_z

__all__ = ["GitHubState", "fake_sha", "node_id"]


def node_id(prefix: str, number: int) -> str:
    """A global node id in GitHub's current style (``I_kwDO…``), stable per object."""
    raw = base64.b64encode(f"{prefix}:{number}".encode()).decode().rstrip("=")
    return f"{prefix}_kwDO{raw}"


def fake_sha(*parts: object) -> str:
    """A deterministic 40-hex git object id for ``parts``."""
    return hashlib.sha1("/".join(str(p) for p in parts).encode(), usedforsecurity=False).hexdigest()


_COLLECTIONS = (
    "users",
    "repos",
    "issues",
    "comments",
    "labels",
    "milestones",
    "events",
    "pulls",
    "reviews",
    "commits",
    "branches",
    "tags",
    "workflows",
    "runs",
    "jobs",
    "artifacts",
    "check_runs",
    "check_suites",
    "statuses",
    "runners",
    "keys",
    "collaborators",
    "protections",
)


class GitHubState:
    """Every collection of the emulator plus lookups by GitHub's natural keys."""

    def __init__(self, store: Store, clock: Now) -> None:
        self.store = store
        self.clock = clock
        self._index: dict[str, dict[tuple[int, int], Any]] = {}
        for name in _COLLECTIONS:
            store.collection(name)

    def __getattr__(self, name: str) -> Collection:
        # Collections are reached as attributes: state.issues, state.runs …
        if name in _COLLECTIONS:
            return self.store[name]
        raise AttributeError(name)

    def now(self) -> str:
        """The current time as GitHub writes it."""
        return iso_z(self.clock())

    def now_dt(self) -> datetime:
        """The current time."""
        return self.clock()

    def next_id(self, kind: str, start: int) -> int:
        """The next database id of ``kind`` (each kind has its own realistic range)."""
        return self.store.sequence(f"id:{kind}", start=start)

    # -- lookups ------------------------------------------------------------

    def user(self, login: str) -> dict[str, Any] | None:
        """The user or organization called ``login`` (case-insensitive, as GitHub)."""
        exact = self.store["users"].find_one(login=login)
        if exact is not None:
            return exact
        wanted = login.lower()
        for record in self.store["users"].filter(lambda u: u["login"].lower() == wanted):
            return record
        return None

    def repo(self, owner: str, name: str) -> dict[str, Any] | None:
        """The repository ``owner/name`` (case-insensitive)."""
        full = f"{owner}/{name}".lower()
        for record in self.store["repos"].filter(lambda r: r["full_name"].lower() == full):
            return record
        return None

    def _indexed(self, name: str, repo_id: int, number: int) -> dict[str, Any] | None:
        collection = self.store[name]
        index = self._index.setdefault(name, {})
        known = index.get((repo_id, number))
        if known is not None:
            found = collection.get(known)
            if found is not None and found["repo_id"] == repo_id and found["number"] == number:
                return found
        # Not indexed yet (or the store was restored): scan once and remember.
        found = collection.find_one(repo_id=repo_id, number=number)
        if found is not None:
            index[(repo_id, number)] = found["id"]
        return found

    def issue(self, repo_id: int, number: int) -> dict[str, Any] | None:
        """Issue (or PR-backed issue) ``number`` of the repository."""
        return self._indexed("issues", repo_id, number)

    def pull(self, repo_id: int, number: int) -> dict[str, Any] | None:
        """Pull request ``number`` of the repository."""
        return self._indexed("pulls", repo_id, number)

    def label(self, repo_id: int, name: str) -> dict[str, Any] | None:
        """Label ``name`` of the repository (case-insensitive, as GitHub)."""
        wanted = name.lower()
        found = self.store["labels"].filter(
            lambda label: label["repo_id"] == repo_id and label["name"].lower() == wanted
        )
        return found[0] if found else None

    def milestone(self, repo_id: int, number: int) -> dict[str, Any] | None:
        """Milestone ``number`` of the repository."""
        return self.store["milestones"].find_one(repo_id=repo_id, number=number)

    def branch(self, repo_id: int, name: str) -> dict[str, Any] | None:
        """Branch ``name`` of the repository."""
        return self.store["branches"].find_one(repo_id=repo_id, name=name)

    def commit(self, repo_id: int, ref: str) -> dict[str, Any] | None:
        """The commit a sha (full or 7+ prefix), branch or tag names."""
        commits = self.store["commits"]
        branch = self.branch(repo_id, ref.removeprefix("refs/heads/").removeprefix("heads/"))
        if branch is not None:
            return commits.find_one(repo_id=repo_id, sha=branch["sha"])
        tag = self.store["tags"].find_one(repo_id=repo_id, name=ref.removeprefix("refs/tags/"))
        if tag is not None:
            return commits.find_one(repo_id=repo_id, sha=tag["sha"])
        if len(ref) >= 7 and all(c in "0123456789abcdef" for c in ref.lower()):
            found = commits.filter(lambda c: c["repo_id"] == repo_id and c["sha"].startswith(ref))
            if len(found) == 1:
                return found[0]
        return None

    def next_issue_number(self, repo_id: int) -> int:
        """Issues and pull requests share one number sequence per repository."""
        return self.store.sequence(f"repo:{repo_id}:number")

    def comment_count(self, issue_id: int) -> int:
        """How many comments an issue has (GitHub's ``comments`` field)."""
        return len(self.store["comments"].filter(issue_id=issue_id))
