"""Builders of Jira's JSON shapes (Cloud REST v3 / Data Center REST v2).

The emulator keeps its own records (see :mod:`.state`); everything a client
sees is built here, from Atlassian's REST documentation and the Cloud OpenAPI
description: issues and their ``fields``, statuses with their category,
resolutions, users (Cloud ``accountId`` vs Data Center ``name``/``key``),
comments, versions, changelog histories and workflow transitions.

Jira writes timestamps as ``2024-01-02T10:15:30.000+0000`` (milliseconds,
numeric offset without colon); :func:`jira_time` renders that format.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from kradle_provider_jira.adf import adf_to_markdown
from kradle_provider_jira.richtext import adf_from_markdown, wiki_from_markdown
from kradle_provider_jira.wiki import adf_to_wiki, wiki_to_adf

__all__ = [
    "DONE",
    "IN_PROGRESS",
    "PRIORITIES",
    "RESOLUTIONS",
    "STATUSES",
    "TODO",
    "TRANSITIONS",
    "Body",
    "Status",
    "Transition",
    "User",
    "available_transitions",
    "jira_date",
    "jira_time",
    "render_body",
    "status_json",
]

JsonDict = dict[str, Any]


def jira_time(when: datetime) -> str:
    """``2024-01-02T10:15:30.000+0000``: how Jira writes a timestamp (UTC here)."""
    when = when.astimezone(UTC)
    return when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}+0000"


def jira_date(when: datetime) -> str:
    """``2024-01-02``: how Jira writes a date (version release dates)."""
    return when.astimezone(UTC).strftime("%Y-%m-%d")


def parse_jira_time(text: str) -> datetime:
    """Read :func:`jira_time` output back (tests, control API)."""
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%f%z")


# -- statuses and workflow --------------------------------------------------


@dataclass(frozen=True)
class Status:
    """A workflow status and its category (``new``/``indeterminate``/``done``)."""

    id: str
    name: str
    description: str
    category_id: int
    category_key: str
    category_color: str
    category_name: str
    icon: str


TODO = "To Do"
IN_PROGRESS = "In Progress"
DONE = "Done"

STATUSES: Mapping[str, Status] = {
    TODO: Status(
        "10000", TODO, "", 2, "new", "blue-gray", "To Do", "images/icons/statuses/open.png"
    ),
    IN_PROGRESS: Status(
        "3",
        IN_PROGRESS,
        "This issue is being actively worked on at the moment by the assignee.",
        4,
        "indeterminate",
        "yellow",
        "In Progress",
        "images/icons/statuses/inprogress.png",
    ),
    DONE: Status("10001", DONE, "", 3, "done", "green", "Done", "images/icons/statuses/closed.png"),
}
"""The emulated workflow's statuses by name."""


@dataclass(frozen=True)
class Transition:
    """A workflow transition: its id and name, where it leads, from where it is available."""

    id: str
    name: str
    to: str
    sources: tuple[str, ...]
    has_screen: bool = False


TRANSITIONS: Sequence[Transition] = (
    Transition("11", "To Do", TODO, (IN_PROGRESS,)),
    Transition("21", "In Progress", IN_PROGRESS, (TODO,)),
    # Done has a screen with the resolution field: the only transition that may set it.
    Transition("31", "Done", DONE, (TODO, IN_PROGRESS), has_screen=True),
    Transition("41", "Reopen", TODO, (DONE,)),
)
"""To Do -> In Progress -> Done, Stop progress (11) and Reopen (41) back to To Do."""


def available_transitions(status: str) -> list[Transition]:
    """The transitions a user may take from ``status``, in workflow order."""
    return [t for t in TRANSITIONS if status in t.sources]


RESOLUTIONS: Mapping[str, tuple[str, str]] = {
    "Done": ("10000", "Work has taken place and no further action is needed."),
    "Won't Do": ("10001", "This issue won't be actioned."),
    "Duplicate": ("10002", "The problem is a duplicate of an existing issue."),
    "Cannot Reproduce": ("10003", "This issue couldn't be reproduced."),
}
"""Resolutions by name: ``(id, description)``."""

PRIORITIES: Mapping[str, tuple[str, str]] = {
    "Highest": ("1", "#d04437"),
    "High": ("2", "#f15C75"),
    "Medium": ("3", "#f79232"),
    "Low": ("4", "#707070"),
    "Lowest": ("5", "#999999"),
}
"""Priorities by name: ``(id, status colour)``."""

ISSUE_TYPES: Mapping[str, tuple[str, str, int]] = {
    "Task": ("10001", "A small, distinct piece of work.", 0),
    "Bug": ("10002", "A problem or error.", 0),
    "Story": ("10003", "Functionality or a feature expressed as a user goal.", 0),
    "Epic": ("10000", "A big user story that needs to be broken down.", 1),
}
"""Issue types by name: ``(id, description, hierarchy level)``."""


def status_json(base: str, api: str, status: Status) -> JsonDict:
    """A status with its ``statusCategory`` as Jira embeds it in issues and transitions."""
    return {
        "self": f"{base}/rest/api/{api}/status/{status.id}",
        "description": status.description,
        "iconUrl": f"{base}/{status.icon}",
        "name": status.name,
        "id": status.id,
        "statusCategory": {
            "self": f"{base}/rest/api/{api}/statuscategory/{status.category_id}",
            "id": status.category_id,
            "key": status.category_key,
            "colorName": status.category_color,
            "name": status.category_name,
        },
    }


def resolution_json(base: str, api: str, name: str) -> JsonDict:
    """A resolution object (``{self, id, description, name}``)."""
    rid, description = RESOLUTIONS[name]
    return {
        "self": f"{base}/rest/api/{api}/resolution/{rid}",
        "id": rid,
        "description": description,
        "name": name,
    }


def priority_json(base: str, api: str, name: str) -> JsonDict:
    """A priority object."""
    pid, _color = PRIORITIES[name]
    return {
        "self": f"{base}/rest/api/{api}/priority/{pid}",
        "iconUrl": f"{base}/images/icons/priorities/{name.lower()}.svg",
        "name": name,
        "id": pid,
    }


def issuetype_json(base: str, api: str, name: str) -> JsonDict:
    """An issue type object."""
    tid, description, level = ISSUE_TYPES[name]
    return {
        "self": f"{base}/rest/api/{api}/issuetype/{tid}",
        "id": tid,
        "description": description,
        "iconUrl": f"{base}/images/icons/issuetypes/{name.lower()}.svg",
        "name": name,
        "subtask": False,
        "hierarchyLevel": level,
    }


def transition_json(base: str, api: str, transition: Transition, *, fields: bool) -> JsonDict:
    """One entry of ``GET …/transitions`` (``fields`` with ``expand=transitions.fields``)."""
    out: JsonDict = {
        "id": transition.id,
        "name": transition.name,
        "to": status_json(base, api, STATUSES[transition.to]),
        "hasScreen": transition.has_screen,
        "isGlobal": False,
        "isInitial": False,
        "isAvailable": True,
        "isConditional": False,
        "isLooped": False,
    }
    if fields:
        out["fields"] = {}
        if transition.has_screen:
            out["fields"]["resolution"] = {
                "required": False,
                "schema": {"type": "resolution", "system": "resolution"},
                "name": "Resolution",
                "key": "resolution",
                "operations": ["set"],
                "allowedValues": [resolution_json(base, api, n) for n in RESOLUTIONS],
            }
    return out


# -- users -----------------------------------------------------------------


@dataclass(frozen=True)
class User:
    """A person: Cloud identifies by ``account_id``, Data Center by ``name``/``key``."""

    account_id: str
    name: str
    display_name: str
    email: str
    time_zone: str = "Etc/UTC"

    @property
    def key(self) -> str:
        """The Data Center user key (``JIRAUSER`` + number for newer users)."""
        return self.name

    def avatar_urls(self, base: str) -> JsonDict:
        """The four avatar sizes."""
        return {
            size: f"{base}/secure/useravatar?size={size}&ownerId={self.name}"
            for size in ("48x48", "24x24", "16x16", "32x32")
        }

    def ref(self, cloud: bool) -> str:
        """What a changelog ``from``/``to`` carries for this user."""
        return self.account_id if cloud else self.name

    def to_json(self, base: str, api: str, *, cloud: bool, full: bool = False) -> JsonDict:
        """The user as embedded in issues (``full``: as ``/myself`` answers)."""
        if cloud:
            out: JsonDict = {
                "self": f"{base}/rest/api/{api}/user?accountId={self.account_id}",
                "accountId": self.account_id,
                "emailAddress": self.email,
                "avatarUrls": self.avatar_urls(base),
                "displayName": self.display_name,
                "active": True,
                "timeZone": self.time_zone,
                "accountType": "atlassian",
            }
        else:
            out = {
                "self": f"{base}/rest/api/{api}/user?username={self.name}",
                "name": self.name,
                "key": self.key,
                "emailAddress": self.email,
                "avatarUrls": self.avatar_urls(base),
                "displayName": self.display_name,
                "active": True,
                "timeZone": self.time_zone,
            }
        if full:
            out["locale"] = "en_US"
            out["groups"] = {"size": 1, "items": []}
            out["applicationRoles"] = {"size": 1, "items": []}
            out["expand"] = "groups,applicationRoles"
            if not cloud:
                out["deleted"] = False
        return out


# -- rich-text bodies --------------------------------------------------------


@dataclass(frozen=True)
class Body:
    """A stored rich-text body in the form it was written: ``markdown``, ``adf`` or ``wiki``.

    The seed writes Markdown; a v3 client writes ADF, a v2 client wiki markup.
    :func:`render_body` produces what each API version answers.
    """

    format: str
    value: Any

    @classmethod
    def markdown(cls, text: str) -> Body:
        """A body from Markdown (seed data, control API)."""
        return cls("markdown", text)

    def plain(self) -> str:
        """A plain rendering for changelog strings and JQL text search."""
        if self.format == "adf":
            text, _ = adf_to_markdown(self.value)
            return text
        return str(self.value)


@functools.lru_cache(maxsize=4096)
def _render_cached(fmt: str, raw: str, api: str) -> str:
    value: Any = json.loads(raw)
    if api == "3":
        if fmt == "adf":
            out: Any = value
        elif fmt == "wiki":
            out, _ = wiki_to_adf(value)
        else:
            out, _ = adf_from_markdown(value)
    elif fmt == "wiki":
        out = value
    elif fmt == "adf":
        out, _ = adf_to_wiki(value)
    else:
        out, _ = wiki_from_markdown(value)
    return json.dumps(out)


def render_body(body: Body | None, api: str) -> Any:
    """The body as REST ``api`` answers it: an ADF document (``3``) or a wiki string (``2``).

    An absent body is ``null`` in both versions.
    """
    if body is None:
        return None
    return json.loads(_render_cached(body.format, json.dumps(body.value), api))


def rendered_html(body: Body | None) -> str | None:
    """A minimal HTML rendering for ``expand=renderedFields`` / ``renderedBody``."""
    if body is None:
        return None
    text = body.plain()
    escaped = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return "".join(f"<p>{para}</p>" for para in escaped.split("\n\n") if para)
