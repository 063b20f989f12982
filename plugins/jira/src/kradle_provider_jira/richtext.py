"""Jira rich text as canonical ``RichText``: the facade over ``adf`` and ``wiki``.

Jira Cloud (REST v3) stores bodies as Atlassian Document Format; Jira Data
Center (REST v2, and Cloud webhooks) uses wiki markup. Reading keeps the
provider's source untouched in ``RichText.source``; writing returns the native
body plus the warnings a host must show before it would lose something.
"""

from __future__ import annotations

import re
from typing import Any

from kradle_provider_jira.adf import Warnings, adf_to_markdown, markdown_to_adf
from kradle_provider_jira.wiki import adf_to_wiki, wiki_to_adf
from kradle_providers.models.richtext import RichText, SourceFormat

__all__ = [
    "adf_from_markdown",
    "body_from_adf",
    "body_from_field",
    "body_from_wiki",
    "wiki_from_markdown",
]


def body_from_adf(doc: Any) -> RichText:
    """A Cloud (ADF) body as ``RichText``; a string is read as wiki markup."""
    if isinstance(doc, str):
        return body_from_wiki(doc)
    if doc is None:
        return RichText(markdown="", source_format=SourceFormat.ADF, source=None)
    markdown, warnings = adf_to_markdown(doc)
    return RichText(
        markdown=markdown, source_format=SourceFormat.ADF, source=doc, warnings=warnings
    )


# Plain prose (most issue and comment bodies): letters, digits, blanks and punctuation
# that neither wiki markup nor Markdown gives a meaning to; a line must also start with
# a letter (not a heading ``h1.``/``bq.``, a list, a rule or a Markdown block marker).
_NOT_PLAIN = re.compile(r"[^\w \t\r\n.,;:'\"()/@$%=?#>]|_|\?\?")
_PLAIN_LINE_START = re.compile(r"(?!h[1-6]\.|bq\.)[^\W\d_]")


def _plain_markdown(source: str) -> str | None:
    """The Markdown of a wiki body without markup, or None to take the full converter.

    The converter's result for such text, without parsing: paragraphs split at blank
    lines, a line break inside one rendered as ``\\`` + newline, nothing escaped.
    """
    if _NOT_PLAIN.search(source):
        return None
    paragraphs: list[str] = []
    lines: list[str] = []
    for raw in source.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        line = raw.strip()
        if not line:
            if lines:
                paragraphs.append("\\\n".join(lines))
                lines = []
            continue
        if not _PLAIN_LINE_START.match(line):
            return None
        lines.append(line)
    if lines:
        paragraphs.append("\\\n".join(lines))
    return "\n\n".join(paragraphs)


def body_from_wiki(text: str | None) -> RichText:
    """A Data Center (wiki markup) body as ``RichText``."""
    source = text or ""
    markdown = _plain_markdown(source)
    if markdown is not None:
        return RichText(markdown=markdown, source_format=SourceFormat.WIKI, source=source)
    return _converted_wiki(source)


def _converted_wiki(source: str) -> RichText:
    """``body_from_wiki`` through the wiki parser and the Markdown renderer."""
    doc, parse_warnings = wiki_to_adf(source)
    markdown, render_warnings = adf_to_markdown(doc)
    warnings = Warnings()
    warnings.extend(parse_warnings)
    warnings.extend(render_warnings)
    return RichText(
        markdown=markdown,
        source_format=SourceFormat.WIKI,
        source=source,
        warnings=warnings.as_list(),
    )


def body_from_field(value: Any) -> RichText:
    """Whatever Jira put in a rich-text field: ADF object, wiki string or null."""
    if isinstance(value, dict):
        return body_from_adf(value)
    return body_from_wiki(value if isinstance(value, str) else None)


def adf_from_markdown(markdown: str) -> tuple[dict[str, Any], list[str]]:
    """Markdown to an ADF document for a Cloud write; returns ``(doc, warnings)``."""
    return markdown_to_adf(markdown)


def wiki_from_markdown(markdown: str) -> tuple[str, list[str]]:
    """Markdown to wiki markup for a Data Center write; returns ``(wiki, warnings)``."""
    doc, parse_warnings = markdown_to_adf(markdown)
    wiki, render_warnings = adf_to_wiki(doc)
    warnings = Warnings()
    warnings.extend(parse_warnings)
    warnings.extend(render_warnings)
    return wiki, warnings.as_list()
