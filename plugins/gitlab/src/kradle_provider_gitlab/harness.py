"""The GitLab provider under the contract-test suite."""

from __future__ import annotations

__all__ = ["GOLDEN_DELIVERY_ID", "event_of_folder"]

#: The X-Gitlab-Event-UUID the goldens are written with (tests/test_gitlab_golden.py).
GOLDEN_DELIVERY_ID = "00000000-0000-4000-8000-000000000000"


def event_of_folder(folder: str) -> str:
    """The ``X-Gitlab-Event`` of a fixture folder (``note_hook`` -> ``Note Hook``)."""
    return folder.replace("_", " ").title()
