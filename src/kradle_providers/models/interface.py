"""The three capability interfaces, in a module of its own: listing plugins needs it,
and it imports nothing (no pydantic)."""

from __future__ import annotations

from enum import StrEnum

__all__ = ["Interface"]


class Interface(StrEnum):
    """The three capability interfaces."""

    ISSUE_TRACKING = "issueTracking"
    CICD = "cicd"
    GIT_FORGE = "gitForge"
