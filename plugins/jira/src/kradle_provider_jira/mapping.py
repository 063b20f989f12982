"""Jira JSON -> canonical objects: issues, comments, fix versions, changelogs, transitions.

The same functions serve the REST adapter and the webhook normalizers: a Jira
webhook carries the very issue, comment and changelog objects the REST API
returns, so a webhook and a read of one object give the same canonical object.
Both API generations are read: Cloud REST v3 (ADF bodies) and Data Center /
Server REST v2 and webhooks (wiki-markup bodies); the body's JSON type decides.

Mapping rules worth knowing:

- Issue status: ``statusCategory.key`` ``new`` -> open/todo, ``indeterminate``
  -> open/in_progress, ``done`` -> closed/done with the resolution name as
  reason; ``native`` is the status name. Without a known category, an issue
  with a resolution is closed, else open.
- Issue ``author`` is the ``creator`` (else the ``reporter``); ``reporter`` is
  a separate Jira role and is always kept in extensions.
- ``milestone`` is the first fix version; when there are several, the whole
  ``fixVersions`` list is kept in extensions too.
- ``extensions.fields`` holds every ``fields.*`` key the model has no place
  for (custom fields included) and every unmapped top-level key (``expand``,
  ``renderedFields``, ``changelog`` ...). Nothing is silently dropped.
- Changelog items name fields in Jira's words (``Fix Version``, ``Status``);
  :func:`change_field` gives the canonical name where the model has one
  (``summary`` -> ``title``, ``assignee`` -> ``assignees``, ``fixVersions`` ->
  ``milestone`` ...) and Jira's field id otherwise.
- A changelog history becomes one :class:`IssueEvent` per kind of change, with
  native id ``<historyId>:<eventType>`` (a ``resolution`` change joins the
  status change it accompanies).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import quote

from pydantic import JsonValue

from kradle_providers.models import (
    Actor,
    Comment,
    ExternalEnvelope,
    FieldChange,
    Interface,
    Issue,
    IssueEvent,
    IssueEventType,
    IssueState,
    IssueStatus,
    Label,
    MappingWarning,
    Milestone,
    MilestoneState,
    ObjectRef,
    ProviderRef,
    RichText,
    StatusCategory,
    Transition,
)
from kradle_providers.models.native import MappingError, NativeReader

__all__ = [
    "CHANGELOG_KIND",
    "COMMENT_KIND",
    "ISSUE_KIND",
    "LABEL_KIND",
    "PROVIDER_TYPE",
    "TRANSITION_KIND",
    "VERSION_KIND",
    "MappingError",
    "actor_from_user",
    "body_from_jira",
    "browse_url",
    "change_field",
    "changelog_event_type",
    "comment_from_jira",
    "comment_issue_ref",
    "field_changes",
    "issue_events_from_changelog",
    "issue_from_jira",
    "issue_ref",
    "issue_status",
    "label_from_jira",
    "milestone_from_version",
    "parse_date",
    "parse_datetime",
    "site_url",
    "transition_from_jira",
]

PROVIDER_TYPE = "jira"
ISSUE_KIND = "issue"
COMMENT_KIND = "comment"
LABEL_KIND = "label"
VERSION_KIND = "version"
CHANGELOG_KIND = "changelog"
TRANSITION_KIND = "transition"

_SCHEMA_VERSION = "1"


read = NativeReader("Jira")
"""Checked reads of Jira JSON; a wrong type is a :class:`MappingError`."""


# --- scalars -------------------------------------------------------------------

# Jira sends ``+0000`` / ``-0800`` offsets and up to nine fraction digits (DC);
# ``datetime.fromisoformat`` takes at most six, so the rest is cut first.
_LONG_FRACTION = re.compile(r"(\.\d{6})\d+")


def parse_datetime(value: Any) -> datetime | None:
    """A Jira timestamp as an aware UTC datetime; ``None`` when absent or unreadable.

    Accepts ``2024-01-02T03:04:05.000+0000`` (Cloud and DC), ``-0800`` and
    ``+05:30`` offsets, ``Z``, naive forms (taken as UTC) and epoch
    milliseconds (webhook ``timestamp``).
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        try:
            return datetime.fromtimestamp(value / 1000, tz=UTC)
        except (OverflowError, OSError, ValueError):
            return None
    if not isinstance(value, str):
        return None
    text = value.strip()
    if not text:
        return None
    if "." in text and _LONG_FRACTION.search(text):  # rare: sub() costs even on no match
        text = _LONG_FRACTION.sub(r"\1", text)
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    try:
        return parsed.astimezone(UTC)
    except OverflowError:  # year 1 with a positive offset, year 9999 with a negative one
        return None


def parse_date(value: Any) -> date | None:
    """A Jira date (``2024-01-31``, a version's ``releaseDate``); ``None`` when unreadable."""
    if not isinstance(value, str):
        return None
    try:
        return date.fromisoformat(value.strip()[:10])
    except ValueError:
        return None


def _str(value: Any) -> str | None:
    """An id-like value as a string (Jira mixes ``"10000"`` and ``10000``)."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, str):
        return value or None
    if isinstance(value, int):
        return str(value)
    return None


def _name(value: Any) -> str | None:
    """The ``name`` of a named Jira object (status, priority, issue type, resolution)."""
    if isinstance(value, Mapping):
        name = value.get("name")
        if isinstance(name, str):
            return name
    return None


def _json(value: Any) -> JsonValue:
    # Payloads come from json.loads, so values are JSON already; typed for mypy.
    return value  # type: ignore[no-any-return]


# --- addresses -------------------------------------------------------------------


def site_url(self_url: Any) -> str | None:
    """The site base of a REST ``self`` URL: everything before ``/rest/``.

    ``https://acme.atlassian.net/rest/api/3/issue/1`` -> ``https://acme.atlassian.net``;
    a Data Center context path is kept (``http://host:8080/jira``).
    """
    if not isinstance(self_url, str) or "://" not in self_url:
        return None
    head, sep, _ = self_url.partition("/rest/")
    return head.rstrip("/") if sep and head else None


def browse_url(site: str | None, key: str | None) -> str | None:
    """The web address of an issue: ``{site}/browse/{key}``."""
    if not site or not key:
        return None
    return f"{site}/browse/{quote(key, safe='-_.~')}"


def _ext(fields: Mapping[str, Any]) -> dict[str, Any]:
    """The envelope's ``Extensions`` as data: the envelope validates it in one pass."""
    if not all(type(k) is str for k in fields):  # JSON keys are; other callers' may not be
        fields = {str(k): v for k, v in fields.items()}
    return {"provider_type": PROVIDER_TYPE, "schema_version": _SCHEMA_VERSION, "fields": fields}


def _envelope(
    provider: ProviderRef,
    native_kind: str,
    native_id: str,
    *,
    native_number: str | None = None,
    url: str | None = None,
    api_url: str | None = None,
    updated_at: datetime | None = None,
    extensions: Mapping[str, Any],
    warnings: list[MappingWarning] | None = None,
) -> ExternalEnvelope:
    return ExternalEnvelope(
        provider=provider,
        interface=Interface.ISSUE_TRACKING,
        native_kind=native_kind,
        native_id=native_id,
        native_number=native_number,
        url=url,
        api_url=api_url,
        # Sub-models as data: validated inside the envelope's own validation, without a
        # model __init__ of their own first (several envelopes per delivery).
        version={"updated_at": updated_at},
        extensions=_ext(extensions),
        warnings=warnings or [],
    )


def _require_id(raw: Mapping[str, Any], what: str) -> str:
    native_id = _str(raw.get("id"))
    if native_id is None:
        raise read.error(what, "has no `id`; pass the object exactly as Jira returned it")
    return native_id


# --- people and bodies -------------------------------------------------------------


def actor_from_user(user: Any) -> Actor | None:
    """A Jira user (Cloud ``accountId`` or DC ``name``/``key``) as an :class:`Actor`.

    ``native_id`` is the stable id: ``accountId`` on Cloud, ``key`` (else
    ``name``) on Data Center; ``username`` is the DC login name.
    """
    if not isinstance(user, Mapping):
        return None
    account_id = _str(user.get("accountId"))
    name = _str(user.get("name"))
    key = _str(user.get("key"))
    display = user.get("displayName")
    email = user.get("emailAddress")
    native_id = account_id or key or name
    if native_id is None and not isinstance(display, str):
        return None
    return Actor(
        username=name,
        display_name=display if isinstance(display, str) else None,
        native_id=native_id,
        # Cloud hides addresses behind privacy settings and sends a placeholder ("?").
        email=email if isinstance(email, str) and "@" in email else None,
        is_bot=user.get("accountType") == "app",
    )


def body_from_jira(value: Any) -> RichText | None:
    """A rich-text field as :class:`RichText`: an ADF object (Cloud v3) or wiki markup (v2).

    ``None`` for an empty field.
    """
    if value is None:
        return None
    from kradle_provider_jira.richtext import body_from_field

    return body_from_field(value)


def _empty_body() -> RichText:
    from kradle_provider_jira.richtext import body_from_field

    return body_from_field(None)


# --- issues ---------------------------------------------------------------------------

_CATEGORY = {
    "new": (IssueState.OPEN, StatusCategory.TODO),
    "indeterminate": (IssueState.OPEN, StatusCategory.IN_PROGRESS),
    "done": (IssueState.CLOSED, StatusCategory.DONE),
}


def issue_status(status: Any, resolution: Any = None) -> IssueStatus:
    """A Jira status (+ resolution) as :class:`IssueStatus` (module notes)."""
    native = _name(status)
    category_key = None
    if isinstance(status, Mapping) and isinstance(status.get("statusCategory"), Mapping):
        category_key = status["statusCategory"].get("key")
    resolution_name = _name(resolution)
    if isinstance(category_key, str) and category_key in _CATEGORY:
        state, category = _CATEGORY[category_key]
    else:
        state = IssueState.CLOSED if resolution_name else IssueState.OPEN
        category = StatusCategory.UNKNOWN
    return IssueStatus(
        state=state,
        reason=resolution_name if state is IssueState.CLOSED else None,
        category=category,
        native=native,
    )


# ``fields.*`` keys the Issue model carries; every other field goes to extensions.
_MAPPED_FIELDS = frozenset(
    {
        "summary",
        "description",
        "status",
        "labels",
        "assignee",
        "creator",
        "issuetype",
        "priority",
        "created",
        "updated",
        "resolutiondate",
    }
)
_MAPPED_TOP = frozenset({"id", "key", "self", "fields"})


def issue_ref(raw: Mapping[str, Any], *, site: str | None = None) -> ObjectRef:
    """A reference to an issue from any object with ``id``/``key``/``self``."""
    key = _str(raw.get("key"))
    return ObjectRef(
        kind="Issue",
        native_id=_str(raw.get("id")),
        native_number=key,
        url=browse_url(site or site_url(raw.get("self")), key),
    )


def _milestone_ref(version: Any) -> ObjectRef | None:
    if not isinstance(version, Mapping) or _str(version.get("id")) is None:
        return None
    return ObjectRef(kind="Milestone", native_id=_str(version.get("id")))


def issue_from_jira(
    raw: Mapping[str, Any], provider: ProviderRef, *, site: str | None = None
) -> Issue:
    """A Jira issue (REST or webhook ``issue``) as a canonical :class:`Issue`.

    ``site`` overrides the web base derived from ``self`` (OAuth 3LO ``self``
    URLs point at ``api.atlassian.com``, not at the site).
    Raises :class:`MappingError` when ``raw`` is not an issue object.
    """
    raw = read.obj(raw, "issue")
    native_id = _require_id(raw, "issue")
    fields = raw.get("fields")
    if fields is None:
        fields = {}
    fields = read.obj(fields, "issue's `fields`")
    base = site or site_url(raw.get("self"))
    key = _str(raw.get("key"))

    extensions: dict[str, Any] = {k: v for k, v in fields.items() if k not in _MAPPED_FIELDS}
    for top, value in raw.items():
        if top not in _MAPPED_TOP:
            extensions[top if top not in extensions else f"issue.{top}"] = value

    status = issue_status(fields.get("status"), fields.get("resolution"))
    if status.state is IssueState.CLOSED or fields.get("resolution") is None:
        extensions.pop("resolution", None)  # carried as the status reason (or empty)

    fix_versions = fields.get("fixVersions")
    milestone = None
    if isinstance(fix_versions, list) and fix_versions:
        milestone = _milestone_ref(fix_versions[0])
    if (
        fix_versions is None
        or fix_versions == []
        or (isinstance(fix_versions, list) and len(fix_versions) == 1 and milestone is not None)
    ):
        extensions.pop("fixVersions", None)  # fully carried by `milestone`

    labels_raw = fields.get("labels")
    labels = [x for x in labels_raw if isinstance(x, str)] if isinstance(labels_raw, list) else []
    if isinstance(labels_raw, list) and len(labels) != len(labels_raw):
        extensions["labels"] = labels_raw  # something that is not a label name: keep it

    assignee = actor_from_user(fields.get("assignee"))
    creator = actor_from_user(fields.get("creator"))
    comments = fields.get("comment")
    comments_count = None
    if isinstance(comments, Mapping) and isinstance(comments.get("total"), int):
        comments_count = comments["total"]

    summary = fields.get("summary")
    warnings = []
    if key is None:
        warnings.append(MappingWarning(field="key", message="no issue key: no number or web page"))
    if not isinstance(summary, str):
        warnings.append(MappingWarning(field="fields.summary", message="no summary: empty title"))
    times: dict[str, datetime | None] = {}
    for name in ("created", "updated", "resolutiondate"):
        value = fields.get(name)
        times[name] = parse_datetime(value)
        if value is not None and times[name] is None:
            extensions[name] = value  # unreadable: keep the raw value
    updated_at = times["updated"]

    return Issue(
        external=_envelope(
            provider,
            ISSUE_KIND,
            native_id,
            native_number=key,
            url=browse_url(base, key),
            api_url=_str(raw.get("self")),
            updated_at=updated_at,
            extensions=extensions,
            warnings=warnings,
        ),
        title=summary if isinstance(summary, str) else "",
        # Cloud webhooks send "" for an empty description where REST sends null.
        body=body_from_jira(fields.get("description") or None),
        status=status,
        labels=labels,
        assignees=[assignee] if assignee else [],
        author=creator or actor_from_user(fields.get("reporter")),
        milestone=milestone,
        issue_type=_name(fields.get("issuetype")),
        priority=_name(fields.get("priority")),
        comments_count=comments_count,
        created_at=times["created"],
        updated_at=updated_at,
        closed_at=times["resolutiondate"],
    )


# --- comments --------------------------------------------------------------------------

_COMMENT_SELF = re.compile(r"/rest/api/[^/]+/issue/([^/?#]+)/comment/")


def comment_issue_ref(comment: Mapping[str, Any]) -> ObjectRef | None:
    """The issue of a comment, read from its ``self`` URL (``.../issue/10013/comment/1``).

    Data Center ``comment_*`` webhooks carry no ``issue`` object; this is the
    only reference they give.
    """
    self_url = comment.get("self")
    if not isinstance(self_url, str):
        return None
    match = _COMMENT_SELF.search(self_url)
    if match is None:
        return None
    ident = match.group(1)
    if ident.isdigit():
        return ObjectRef(kind="Issue", native_id=ident)
    return ObjectRef(kind="Issue", native_number=ident, url=browse_url(site_url(self_url), ident))


_COMMENT_MAPPED = frozenset({"id", "self", "body", "author", "created", "updated"})


def comment_from_jira(
    raw: Mapping[str, Any],
    provider: ProviderRef,
    issue: ObjectRef | None = None,
    *,
    site: str | None = None,
) -> Comment:
    """A Jira comment as a canonical :class:`Comment`.

    ``issue`` is the comment's issue (from the payload or the request); without
    it the issue is read from the comment's ``self`` URL. The web address is
    the issue's with ``focusedCommentId`` when the issue key is known.
    """
    raw = read.obj(raw, "comment")
    native_id = _require_id(raw, "comment")
    ref = issue or comment_issue_ref(raw)
    if ref is None:
        raise read.error(
            "comment",
            f"{native_id} names no issue: pass the issue reference, "
            "or give the comment's `self` URL (…/issue/<id>/comment/<id>)",
        )
    base = site or site_url(raw.get("self"))
    url = None
    issue_url = ref.url or browse_url(base, ref.native_number)
    if issue_url:
        url = f"{issue_url}?focusedCommentId={quote(native_id)}"
    extensions = {k: v for k, v in raw.items() if k not in _COMMENT_MAPPED}
    body = body_from_jira(raw.get("body"))
    updated_at = parse_datetime(raw.get("updated"))
    return Comment(
        external=_envelope(
            provider,
            COMMENT_KIND,
            native_id,
            url=url,
            api_url=_str(raw.get("self")),
            updated_at=updated_at,
            extensions=extensions,
        ),
        issue=ref,
        body=body if body is not None else _empty_body(),
        author=actor_from_user(raw.get("author")),
        created_at=parse_datetime(raw.get("created")),
        updated_at=updated_at,
    )


# --- labels, fix versions, transitions ----------------------------------------------------


def label_from_jira(name: str, provider: ProviderRef, *, site: str | None = None) -> Label:
    """A Jira label (a bare string on issues) as a :class:`Label`; its id is its name."""
    jql = 'labels = "' + name.replace('"', '\\"') + '"'
    url = f"{site}/issues/?jql={quote(jql)}" if site else None
    return Label(
        external=_envelope(provider, LABEL_KIND, name, url=url, extensions={}),
        name=name,
    )


_VERSION_MAPPED = frozenset({"id", "self", "name", "description", "released", "releaseDate"})


def milestone_from_version(
    raw: Mapping[str, Any],
    provider: ProviderRef,
    *,
    project_key: str | None = None,
    site: str | None = None,
) -> Milestone:
    """A Jira (fix) version as a :class:`Milestone`: released -> closed, releaseDate -> due_on.

    The web address needs the project key (versions carry only ``projectId``).
    """
    raw = read.obj(raw, "version")
    native_id = _require_id(raw, "version")
    released = raw.get("released") is True
    base = site or site_url(raw.get("self"))
    url = f"{base}/projects/{project_key}/versions/{native_id}" if base and project_key else None
    extensions = {k: v for k, v in raw.items() if k not in _VERSION_MAPPED}
    due_on = parse_date(raw.get("releaseDate"))
    if raw.get("releaseDate") is not None and due_on is None:
        extensions["releaseDate"] = raw.get("releaseDate")
    name = raw.get("name")
    description = raw.get("description")
    return Milestone(
        external=_envelope(
            provider,
            VERSION_KIND,
            native_id,
            url=url,
            api_url=_str(raw.get("self")),
            extensions=extensions,
        ),
        title=name if isinstance(name, str) else native_id,
        description=description if isinstance(description, str) and description else None,
        state=MilestoneState.CLOSED if released else MilestoneState.OPEN,
        native_state="released" if released else "unreleased",
        due_on=due_on,
    )


_TRANSITION_MAPPED = frozenset({"id", "name", "to"})


def transition_from_jira(raw: Mapping[str, Any], provider: ProviderRef) -> Transition:
    """A workflow transition (``getTransitions`` item) as a :class:`Transition`.

    ``to_status`` is the target status, normalized like an issue's status; the
    target's id and the rest of the transition stay in extensions.
    """
    raw = read.obj(raw, "transition")
    native_id = _require_id(raw, "transition")
    extensions = {k: v for k, v in raw.items() if k not in _TRANSITION_MAPPED}
    target = raw.get("to")
    if isinstance(target, Mapping) and _str(target.get("id")) is not None:
        extensions["toStatusId"] = _str(target.get("id"))
    name = raw.get("name")
    return Transition(
        external=_envelope(provider, TRANSITION_KIND, native_id, extensions=extensions),
        name=name if isinstance(name, str) else native_id,
        to_status=issue_status(target),
    )


# --- changelogs ------------------------------------------------------------------------------

# Changelog field (id or display name, lower case, no spaces) -> canonical field.
_CANONICAL_FIELD = {
    "summary": "title",
    "description": "body",
    "status": "status",
    "labels": "labels",
    "assignee": "assignees",
    "fixversion": "milestone",
    "fixversions": "milestone",
    "issuetype": "issue_type",
    "priority": "priority",
}


def _field_key(item: Mapping[str, Any]) -> str:
    for name in (item.get("fieldId"), item.get("field")):
        if isinstance(name, str) and name:
            key = name.replace(" ", "").lower()
            if key in _CANONICAL_FIELD or key == "resolution":
                return key
    for name in (item.get("fieldId"), item.get("field")):
        if isinstance(name, str) and name:
            return name
    return "unknown"


def change_field(item: Mapping[str, Any]) -> str:
    """The canonical field a changelog item changes, else Jira's field id (``customfield_1``)."""
    key = _field_key(item)
    return _CANONICAL_FIELD.get(key, key)


def _label_set(value: Any) -> list[str]:
    # The changelog joins labels with spaces; a label itself never has one.
    if not isinstance(value, str):
        return []
    return value.split()


def _change_values(item: Mapping[str, Any], field: str) -> tuple[JsonValue, JsonValue]:
    before, after = item.get("fromString"), item.get("toString")
    if field == "labels":
        return _json(_label_set(before)), _json(_label_set(after))
    return _json(before if isinstance(before, str) else None), _json(
        after if isinstance(after, str) else None
    )


def field_changes(items: Any) -> list[FieldChange]:
    """Changelog ``items`` as :class:`FieldChange` values (display strings; labels as lists)."""
    out: list[FieldChange] = []
    for item in items if isinstance(items, list) else []:
        if not isinstance(item, Mapping):
            continue
        field = change_field(item)
        before, after = _change_values(item, field)
        out.append(FieldChange(field=field, from_value=before, to_value=after))
    return out


def changelog_event_type(item: Mapping[str, Any]) -> IssueEventType:
    """What one changelog item means: transitioned, (un)labeled, (un)assigned, renamed, ...

    Labels: ``labeled`` when a label was added, else ``unlabeled`` when one was
    removed. Assignee / fix version: set -> assigned / milestoned, cleared ->
    unassigned / demilestoned.
    """
    key = _field_key(item)
    if key == "status":
        return IssueEventType.TRANSITIONED
    if key == "summary":
        return IssueEventType.RENAMED
    if key == "labels":
        before, after = (
            set(_label_set(item.get("fromString"))),
            set(_label_set(item.get("toString"))),
        )
        if after - before:
            return IssueEventType.LABELED
        if before - after:
            return IssueEventType.UNLABELED
        return IssueEventType.EDITED
    is_set = item.get("to") is not None or item.get("toString") not in (None, "")
    if key == "assignee":
        return IssueEventType.ASSIGNED if is_set else IssueEventType.UNASSIGNED
    if key in ("fixversion", "fixversions"):
        return IssueEventType.MILESTONED if is_set else IssueEventType.DEMILESTONED
    return IssueEventType.EDITED


def _group_items(
    items: Sequence[Mapping[str, Any]],
) -> list[tuple[IssueEventType, list[Mapping[str, Any]]]]:
    kinds = [changelog_event_type(item) for item in items]
    has_transition = IssueEventType.TRANSITIONED in kinds
    groups: dict[IssueEventType, list[Mapping[str, Any]]] = {}
    for item, kind in zip(items, kinds, strict=True):
        if has_transition and _field_key(item) == "resolution":
            kind = IssueEventType.TRANSITIONED  # a resolution is part of its transition
        groups.setdefault(kind, []).append(item)
    return list(groups.items())


_HISTORY_MAPPED = frozenset({"id", "author", "created", "items"})


def issue_events_from_changelog(
    history: Mapping[str, Any],
    provider: ProviderRef,
    issue: ObjectRef,
    *,
    actor: Actor | None = None,
    created_at: datetime | None = None,
) -> list[IssueEvent]:
    """One changelog history (REST ``getChangeLogs`` value or webhook ``changelog``) as events.

    One :class:`IssueEvent` per kind of change, native id
    ``<historyId>:<eventType>``, in the order the kinds first appear. ``actor``
    and ``created_at`` fill in what a webhook changelog lacks (it has no
    ``author``/``created``; the payload's ``user``/``timestamp`` say it).
    """
    history = read.obj(history, "changelog history")
    history_id = _require_id(history, "changelog history")
    raw_items = history.get("items")
    items = [i for i in raw_items if isinstance(i, Mapping)] if isinstance(raw_items, list) else []
    who = actor_from_user(history.get("author")) or actor
    when = parse_datetime(history.get("created")) or created_at
    rest = {k: v for k, v in history.items() if k not in _HISTORY_MAPPED}
    events: list[IssueEvent] = []
    for kind, group in _group_items(items):
        native_fields = _unique(str(i.get("field") or i.get("fieldId") or "unknown") for i in group)
        events.append(
            IssueEvent(
                external=_envelope(
                    provider,
                    CHANGELOG_KIND,
                    f"{history_id}:{kind.value}",
                    url=issue.url,
                    updated_at=when,
                    extensions={**rest, "historyId": history_id, "items": list(group)},
                ),
                issue=issue,
                event_type=kind,
                native_event=",".join(native_fields),
                actor=who,
                changes=field_changes(list(group)),
                created_at=when,
            )
        )
    return events


def _unique(values: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(values))
