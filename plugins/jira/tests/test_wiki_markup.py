"""Jira wiki markup <-> ADF/Markdown: constructs, escaping and lossy macros."""

from __future__ import annotations

import pytest
from kradle_provider_jira.richtext import body_from_wiki, wiki_from_markdown
from kradle_provider_jira.wiki import adf_to_wiki, wiki_to_adf


@pytest.mark.parametrize(
    ("wiki", "markdown"),
    [
        ("*bold* _it_ -gone- {{mono}}", "**bold** *it* ~~gone~~ `mono`"),
        (
            "[Example|https://example.com] [https://x.example]",
            "[Example](https://example.com) [https://x.example](https://x.example)",
        ),
        ("h2. Section", "## Section"),
        ("* a\n** b\n# c\n## d", "- a\n  - b\n\n1. c\n   1. d"),
        ("{code:python}\nx = 1\n{code}", "```python\nx = 1\n```"),
        ("{code}\nplain\n{code}", "```\nplain\n```"),
        ("{noformat}\n*not bold*\n{noformat}", "```\n*not bold*\n```"),
        ("bq. quoted", "> quoted"),
        ("{quote}\none\n\ntwo\n{quote}", "> one\n>\n> two"),
        ("----", "---"),
        ("||h1||h2||\n|a|b|", "| h1 | h2 |\n| --- | --- |\n| a | b |"),
        ("line one\nline two\\\\three", "line one\\\nline two\\\nthree"),
        ("well-known snake_case a - b", "well-known snake\\_case a - b"),
        ("\\*literal\\* &amp; &#92;", "\\*literal\\* & \\\\"),
    ],
)
def test_wiki_to_markdown(wiki: str, markdown: str) -> None:
    body = body_from_wiki(wiki)
    assert body.markdown == markdown
    assert body.warnings == []
    assert body.source == wiki


@pytest.mark.parametrize(
    ("wiki", "markdown", "warning"),
    [
        (
            "{panel:title=Note}\ninside\n{panel}",
            "> inside",
            "panel (type=info) rendered as blockquote",
        ),
        (
            "{warning}\ncareful\n{warning}",
            "> careful",
            "panel (type=warning) rendered as blockquote",
        ),
        ("{color:red}red{color} text", "red text", "textColor mark dropped"),
        ("[~jdoe] said", "@jdoe said", "mention rendered as text"),
        (
            "!screenshot.png|thumbnail!",
            "![attachment](media:screenshot.png)",
            "media rendered as attachment placeholder",
        ),
        ("{anchor:top}Top", "Top", "wiki {anchor} dropped"),
        ("+under+", "under", "underline mark dropped"),
        ("x ^2^", "x 2", "subsup mark (sup) dropped"),
        ("[Some Page]", "\\[Some Page\\]", "wiki page link kept as text"),
    ],
)
def test_lossy_wiki_constructs_warn(wiki: str, markdown: str, warning: str) -> None:
    body = body_from_wiki(wiki)
    assert body.markdown == markdown
    assert warning in body.warnings


def test_panel_title_is_reported() -> None:
    assert "wiki {panel} title dropped" in body_from_wiki("{panel:title=T}\nx\n{panel}").warnings


def test_markdown_to_wiki() -> None:
    wiki, warnings = wiki_from_markdown(
        "# Title\n\n**b** *i* ~~s~~ `c` [l](https://x.example)\n\n- a\n  - b\n\n1. one\n\n"
        "```js\nlet x;\n```\n\n> q\n\n---\n\n| h |\n| --- |\n| v |"
    )
    assert wiki == (
        "h1. Title\n\n*b* _i_ -s- {{c}} [l|https://x.example]\n\n* a\n** b\n\n# one\n\n"
        "{code:js}\nlet x;\n{code}\n\n{quote}\nq\n{quote}\n\n----\n\n||h||\n|v|"
    )
    assert warnings == []


def test_markdown_text_is_escaped_for_wiki() -> None:
    wiki, _ = wiki_from_markdown("\\# a \\*b\\* {x} [y] |z| c\\\\d --e")
    assert wiki == "\\# a \\*b\\* \\{x\\} \\[y\\] \\|z\\| c&#92;d \\-\\-e"
    assert body_from_wiki(wiki).markdown == "\\# a \\*b\\* {x} \\[y\\] \\|z\\| c\\\\d --e"


def test_markdown_only_constructs_warn_when_written_as_wiki() -> None:
    wiki, warnings = wiki_from_markdown('3. three\n\n- [ ] task\n\n[l](https://x.example "title")')
    assert wiki == "# three\n\n* \\[ \\] task\n\n[l|https://x.example]"
    assert warnings == [
        "orderedList start number dropped",
        "taskList rendered as bullet list",
        "link title dropped",
    ]


def test_adf_panels_and_mentions_render_as_wiki_macros() -> None:
    wiki, warnings = adf_to_wiki(
        {
            "type": "doc",
            "version": 1,
            "content": [
                {
                    "type": "panel",
                    "attrs": {"panelType": "note"},
                    "content": [{"type": "paragraph", "content": [{"type": "text", "text": "n"}]}],
                },
                {
                    "type": "paragraph",
                    "content": [{"type": "mention", "attrs": {"id": "jdoe", "text": "@J"}}],
                },
            ],
        }
    )
    assert wiki == "{note}\nn\n{note}\n\n[~jdoe]"
    assert warnings == []


def test_unclosed_macros_and_odd_input_never_raise() -> None:
    for text in [
        "{code}\nunterminated",
        "{quote}",
        "*",
        "[",
        "!a.png",
        "||",
        "{color:red}x",
        "h7. x",
    ]:
        doc, _ = wiki_to_adf(text)
        assert doc["type"] == "doc"
        body_from_wiki(text)


def test_windows_line_endings() -> None:
    body = body_from_wiki("[~Test] creating a test comment\r\n\r\na second line")
    assert body.markdown == "@Test creating a test comment\n\na second line"
