"""Intake fast paths give exactly what the full path gives.

The plain-text wiki body skips the wiki parser and the Markdown renderer; it is
checked against them on every string of every shipped and upstream Jira payload
(each one read as a body) and on generated text around its limits. Timestamps
skip the fraction cut when there is nothing to cut; checked the same way.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from kradle_provider_jira import mapping, richtext

from kradle_providers.testing.fixtures import package_fixtures_dir, upstream_files


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield key
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def _payload_files() -> list[Path]:
    shipped = sorted((package_fixtures_dir("kradle_provider_jira") / "webhooks").rglob("*.json"))
    return shipped + upstream_files("jira")


def _fixture_strings() -> list[str]:
    seen: dict[str, None] = {}
    for path in _payload_files():
        for text in _strings(json.loads(path.read_text())):
            seen.setdefault(text, None)
    return list(seen)


def _assert_same_body(text: str) -> None:
    assert richtext.body_from_wiki(text) == richtext._converted_wiki(text)


def test_plain_wiki_bodies_match_the_converter_on_every_fixture_string() -> None:
    # Shipped payloads always; the upstream corpus too when present (its own tests say
    # when it is absent).
    strings = _fixture_strings()
    plain = [s for s in strings if richtext._plain_markdown(s) is not None]
    assert plain, "no fixture string takes the fast path: it would be untested"
    for text in strings:
        _assert_same_body(text)


# Blanks, line ends, punctuation the fast path accepts and every character that
# means something in wiki markup or Markdown, so both sides of its test are drawn.
_ALPHABET = st.sampled_from(
    list("abhqXé9 \t\r\n\u00a0\u2028.,;:'\"()/@$%=?#>") + list("*_-+^~{}[]!\\|&<`1.)bq")
)


@given(st.text(_ALPHABET, max_size=40))
@example("h1. Title")
@example("bq. quoted")
@example("line one\r\nline two\n\n\n  third  ")
@example("Why?? because")
@example("")
def test_plain_wiki_bodies_match_the_converter(text: str) -> None:
    _assert_same_body(text)


@pytest.mark.parametrize(
    ("text", "plain"),
    [
        ("Unit test description, not that long", True),
        ("wd\n\ndwd", True),
        ("*Creating Quick Filters*", False),
        ("cc: [~SomeOtherUser]", False),
        ("43", False),
    ],
)
def test_plain_wiki_detection(text: str, plain: bool) -> None:
    assert (richtext._plain_markdown(text) is not None) is plain


def _parse_datetime_reference(value: str) -> datetime | None:
    """parse_datetime of a string as it was before it skipped the fraction cut when it can."""
    if not value.strip():
        return None
    text = re.sub(r"(\.\d{6})\d+", r"\1", value.strip())
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    try:
        return parsed.astimezone(UTC)
    except OverflowError:
        return None


@given(
    st.one_of(
        st.datetimes().map(lambda d: d.isoformat()),
        st.from_regex(r"\A\s?\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,12})?([+-]\d\d:?\d\d|Z)?\s?\Z"),
        st.text(st.sampled_from(list("0123456789.-+:TZ ")), max_size=32),
    )
)
@example("2024-01-02T03:04:05.123456789+0000")
@example("  2024-01-02T03:04:05.000-0800 ")
def test_parse_datetime_matches_the_reference(text: str) -> None:
    assert mapping.parse_datetime(text) == _parse_datetime_reference(text)


def test_parse_datetime_matches_the_reference_on_every_fixture_string() -> None:
    for text in _fixture_strings():
        assert mapping.parse_datetime(text) == _parse_datetime_reference(text)
