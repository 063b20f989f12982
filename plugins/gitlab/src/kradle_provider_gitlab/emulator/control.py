"""The contract suite's control over the GitLab emulator (see ``BackendControl``)."""

from __future__ import annotations

from typing import Any

__all__ = ["GitLabControl"]


class GitLabControl:
    """Seeds, changes and faults for the contract suite."""

    def __init__(self, emulator: Any) -> None:
        self.emulator = emulator
