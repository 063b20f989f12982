"""JQL building and quoting, and the minute-granular incremental window.

Jira compares JQL dates at minute precision (``"yyyy-MM-dd HH:mm"``, read in
the user's time zone) while issues carry ``updated`` to the millisecond. An
incremental listing from a high-water mark therefore:

1. queries from the mark *truncated to the minute, minus one minute* (the
   overlap also absorbs clock/zone rounding at the boundary), ordered by
   ``updated ASC, key ASC``;
2. drops every issue whose ``(updated, key)`` is at or below the mark already
   seen (:class:`Mark`), so the overlap never yields an issue twice;
3. reports the largest exact ``updated`` seen as the next high-water mark.

Within one listing the mark advances item by item (the cursor carries the key
too), so issues sharing one ``updated`` millisecond across a page boundary
are all seen. Between listings only the time is known (``Page.high_water_mark``):
an issue changed in *the same millisecond* as the mark but after the listing
read it would be dropped; Jira's clock makes that practically impossible.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any

from kradle_providers.errors import InvalidInput

__all__ = [
    "ISSUE_ORDER",
    "KEY_ORDER",
    "Mark",
    "issue_sort_key",
    "jql_datetime",
    "jql_string",
    "search_jql",
    "window_start",
]

#: The total order incremental listings rely on (Jira sorts keys by project, then number).
ISSUE_ORDER = "ORDER BY updated ASC, key ASC"
#: A full listing pages by key: stable while issues change between pages.
KEY_ORDER = "ORDER BY key ASC"

_KEY = re.compile(r"^([A-Z][A-Z0-9_]*)-(\d+)$", re.IGNORECASE)


def jql_string(value: str) -> str:
    """``value`` as a double-quoted JQL string (backslash and quote escaped)."""
    if any(c in value for c in "\r\n\0"):
        raise InvalidInput("JQL values cannot contain line breaks or NUL characters", field="jql")
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def window_start(since: datetime) -> datetime:
    """The query start for ``since``: truncated to the minute, minus one minute (UTC)."""
    moment = _utc(since).replace(second=0, microsecond=0)
    return moment - timedelta(minutes=1)


def jql_datetime(moment: datetime, zone: tzinfo = UTC) -> str:
    """``moment`` as a quoted JQL datetime in ``zone`` (``"2024-01-02 10:15"``), floored."""
    local = _utc(moment).astimezone(zone)
    return f'"{local:%Y-%m-%d %H:%M}"'


def search_jql(
    project: str,
    *,
    since: datetime | None = None,
    state: str | None = None,
    zone: tzinfo = UTC,
    extra: str | None = None,
) -> str:
    """The listing JQL: project, optional window and state, stable order.

    ``state``: ``open`` (status category not Done), ``closed`` (Done), ``all``/None.
    With ``since`` the order is ``updated ASC, key ASC`` (the incremental walk);
    without it, ``key ASC``, which issues changing between pages cannot reorder.
    """
    clauses = [f"project = {jql_string(project)}"]
    if since is not None:
        clauses.append(f"updated >= {jql_datetime(window_start(since), zone)}")
    if state not in (None, "all"):
        if state == "open":
            clauses.append("statusCategory != Done")
        elif state == "closed":
            clauses.append("statusCategory = Done")
        else:
            raise InvalidInput("state must be 'open', 'closed' or 'all'", field="state")
    if extra:
        clauses.append(extra)
    return " AND ".join(clauses) + f" {ISSUE_ORDER if since is not None else KEY_ORDER}"


def issue_sort_key(key: str) -> tuple[str, int, str]:
    """How Jira orders issue keys: project, then the number numerically."""
    match = _KEY.match(key)
    if match is None:
        return (key.upper(), -1, key)
    return (match.group(1).upper(), int(match.group(2)), "")


@dataclass(frozen=True)
class Mark:
    """What an incremental listing has already delivered: ``(updated, key)``.

    ``key`` None means "every issue updated at or before ``updated``" (a
    high-water mark passed as ``since``).
    """

    updated: datetime
    key: str | None = None

    def covers(self, updated: datetime, key: str) -> bool:
        """True when an issue with this ``updated``/``key`` was already delivered."""
        mine, theirs = _utc(self.updated), _utc(updated)
        if theirs != mine:
            return theirs < mine
        if self.key is None:
            return True
        return issue_sort_key(key) <= issue_sort_key(self.key)

    def to_state(self) -> list[Any]:
        """JSON-safe form for a cursor."""
        return [_utc(self.updated).isoformat(), self.key]

    @classmethod
    def from_state(cls, state: Any) -> Mark | None:
        """Rebuild a mark from :meth:`to_state` output (None when absent)."""
        if state is None:
            return None
        if not isinstance(state, list) or len(state) != 2 or not isinstance(state[0], str):
            raise InvalidInput("not a cursor this Jira adapter issued", field="cursor")
        key = state[1] if isinstance(state[1], str) else None
        return cls(datetime.fromisoformat(state[0]), key)
