"""Synthetic idempotency keys for Jira writes, carried as entity properties.

Jira has no idempotency header. The adapter stores the caller's key as the
property ``kradle`` = ``{"idempotencyKey": KEY}`` on what it creates, so a
later read can find the write again:

- issues and comments, both flavours: in the create request's ``properties``
  array, so the key is stored with the object in one request and a lost
  response cannot leave an issue without it. (Cloud's createIssue and Data
  Center's IssueUpdateBean both accept ``properties``: "can be set at issue
  create or update time", Jira Server REST 7.2+.)

Before re-sending a create whose response was lost, the transport calls the
adapter's read-back: for issues a JQL search on
``issue.property[kradle].idempotencyKey`` (falling back to scanning the newest
issues with their ``kradle`` property when the site does not index it); for
comments the newest comments of the issue with ``expand=properties``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from kradle_provider_jira.adapter.jql import jql_string
from kradle_providers.errors import InvalidInput

__all__ = [
    "PROPERTY_KEY",
    "carries_key",
    "check_key",
    "property_entry",
    "property_jql",
    "property_value",
]

PROPERTY_KEY = "kradle"
_KEY = re.compile(r"^[A-Za-z0-9._:/+=@-]{1,200}$")


def check_key(key: str) -> str:
    """Return ``key`` if it can be stored and searched, else raise InvalidInput."""
    if not isinstance(key, str) or not _KEY.match(key):
        raise InvalidInput(
            "idempotency keys must be 1-200 characters of letters, digits and ._:/+=@-; "
            "a UUID works",
            field="idempotency_key",
        )
    return key


def property_value(key: str) -> dict[str, str]:
    """The property value that carries ``key``."""
    return {"idempotencyKey": check_key(key)}


def property_entry(key: str) -> dict[str, Any]:
    """The ``properties`` array entry for a create request."""
    return {"key": PROPERTY_KEY, "value": property_value(key)}


def property_jql(project: str, key: str) -> str:
    """JQL finding the issue of ``project`` that carries ``key``."""
    return (
        f"project = {jql_string(project)} AND "
        f"issue.property[{PROPERTY_KEY}].idempotencyKey = {jql_string(check_key(key))}"
    )


def carries_key(properties: Any, key: str) -> bool:
    """True when a Jira ``properties`` value (object or array form) holds ``key``.

    Search results give ``{"kradle": {...}}``; ``expand=properties`` on comments
    gives ``[{"key": "kradle", "value": {...}}]``.
    """
    value: Any = None
    if isinstance(properties, Mapping):
        value = properties.get(PROPERTY_KEY)
    elif isinstance(properties, list):
        for entry in properties:
            if isinstance(entry, Mapping) and entry.get("key") == PROPERTY_KEY:
                value = entry.get("value")
                break
    return isinstance(value, Mapping) and value.get("idempotencyKey") == key
