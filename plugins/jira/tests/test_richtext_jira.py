"""The rich-text facade, and every upstream Jira fixture body converting cleanly."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from kradle_provider_jira.richtext import (
    adf_from_markdown,
    body_from_adf,
    body_from_field,
    body_from_wiki,
    wiki_from_markdown,
)

from kradle_providers.models.richtext import SourceFormat, source_digest
from kradle_providers.testing.fixtures import require_upstream, upstream_files


def _bodies(value: Any) -> Iterator[Any]:
    if isinstance(value, dict):
        for key, child in value.items():
            if key in ("description", "body") and (isinstance(child, str) or _is_adf(child)):
                yield child
            yield from _bodies(child)
    elif isinstance(value, list):
        for child in value:
            yield from _bodies(child)


def _is_adf(value: Any) -> bool:
    return isinstance(value, dict) and value.get("type") == "doc"


def _fixture_bodies() -> list[Any]:
    bodies: list[Any] = []
    for path in upstream_files("jira"):
        bodies.extend(_bodies(json.loads(path.read_text(encoding="utf-8"))))
    return bodies


FIXTURE_BODIES = _fixture_bodies()


def test_every_upstream_fixture_body_converts() -> None:
    require_upstream("jira")
    assert len(FIXTURE_BODIES) > 20
    for value in FIXTURE_BODIES:
        body = body_from_field(value)
        assert body.source == value
        assert body.source_digest == source_digest(value)
        if value.strip():
            assert body.markdown.strip()
        # what we read can be written back in both flavours
        adf_from_markdown(body.markdown)
        wiki_from_markdown(body.markdown)


def test_upstream_style_wiki_description() -> None:
    text = "test\n\n_Issue created from a [message in Mattermost|https://chat.example/pl/1]_."
    body = body_from_wiki(text)
    # the emphasis covers the link too; Markdown closes it around the link
    assert body.markdown == (
        "test\n\n*Issue created from a* [*message in Mattermost*](https://chat.example/pl/1)."
    )
    assert body.source_format == SourceFormat.WIKI
    assert not body.lossy


def test_body_from_adf_keeps_source_and_warnings() -> None:
    doc = {
        "type": "doc",
        "version": 1,
        "content": [
            {
                "type": "paragraph",
                "content": [{"type": "mention", "attrs": {"id": "1", "text": "@Ann"}}],
            }
        ],
    }
    body = body_from_adf(doc)
    assert body.markdown == "@Ann"
    assert body.source == doc
    assert body.source_format == SourceFormat.ADF
    assert body.warnings == ["mention rendered as text"]
    assert body.lossy


def test_body_from_adf_accepts_wiki_strings_and_null() -> None:
    assert body_from_adf("*x*").source_format == SourceFormat.WIKI
    assert body_from_adf("*x*").markdown == "**x**"
    empty = body_from_adf(None)
    assert empty.markdown == ""
    assert body_from_field(None).markdown == ""


def test_adf_from_markdown_round_trips_through_body() -> None:
    doc, warnings = adf_from_markdown("Hello **world**")
    assert warnings == []
    assert body_from_adf(doc).markdown == "Hello **world**"
