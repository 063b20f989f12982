"""ADF -> Markdown: every node type renders, and every loss is named."""

from __future__ import annotations

from typing import Any

import pytest
from kradle_provider_jira.adf import adf_to_markdown


def doc(*content: dict[str, Any]) -> dict[str, Any]:
    return {"type": "doc", "version": 1, "content": list(content)}


def para(*content: dict[str, Any]) -> dict[str, Any]:
    return {"type": "paragraph", "content": list(content)}


def text(value: str, *marks: str, **attrs: Any) -> dict[str, Any]:
    node: dict[str, Any] = {"type": "text", "text": value}
    if marks:
        node["marks"] = [
            {"type": m, "attrs": attrs[m]} if m in attrs else {"type": m} for m in marks
        ]
    return node


def render(*content: dict[str, Any]) -> tuple[str, list[str]]:
    return adf_to_markdown(doc(*content))


def test_marks_render_as_markdown_emphasis() -> None:
    md, warnings = render(
        para(
            text("bold", "strong"),
            text(" "),
            text("it", "em"),
            text(" "),
            text("gone", "strike"),
            text(" "),
            text("x()", "code"),
            text(" "),
            text("site", "link", link={"href": "https://a.example/x y"}),
        )
    )
    assert md == "**bold** *it* ~~gone~~ `x()` [site](<https://a.example/x y>)"
    assert warnings == []


def test_whitespace_is_moved_outside_delimiters() -> None:
    md, _ = render(para(text("a "), text(" bold ", "strong"), text("b")))
    assert md == "a  **bold** b"


def test_text_that_looks_like_markdown_is_escaped() -> None:
    md, _ = render(para(text("# not *a* heading")), para(text("1. not a list")))
    assert md == "\\# not \\*a\\* heading\n\n1\\. not a list"


def test_lossy_marks_keep_text_and_warn() -> None:
    md, warnings = render(
        para(
            text("u", "underline"),
            text("c", "textColor", textColor={"color": "#ff0000"}),
            text("2", "subsup", subsup={"type": "sup"}),
        )
    )
    assert md == "uc2"
    assert warnings == [
        "underline mark dropped",
        "textColor mark dropped",
        "subsup mark (sup) dropped",
    ]


def test_headings_rules_breaks_and_code_blocks() -> None:
    md, warnings = render(
        {"type": "heading", "attrs": {"level": 3}, "content": [text("Title #")]},
        para(text("one"), {"type": "hardBreak"}, text("two")),
        {"type": "rule"},
        {
            "type": "codeBlock",
            "attrs": {"language": "python"},
            "content": [text("```\nprint()")],
        },
    )
    assert md == "### Title \\#\n\none\\\ntwo\n\n---\n\n````python\n```\nprint()\n````"
    assert warnings == []


def test_nested_lists_with_order_attribute() -> None:
    nested = {
        "type": "orderedList",
        "attrs": {"order": 1},
        "content": [{"type": "listItem", "content": [para(text("inner"))]}],
    }
    md, warnings = render(
        {
            "type": "orderedList",
            "attrs": {"order": 4},
            "content": [
                {"type": "listItem", "content": [para(text("four")), nested]},
                {"type": "listItem", "content": [para(text("five"))]},
            ],
        },
        {"type": "bulletList", "content": [{"type": "listItem", "content": [para(text("a"))]}]},
        {"type": "bulletList", "content": [{"type": "listItem", "content": [para(text("b"))]}]},
    )
    assert md == "4. four\n   1. inner\n5. five\n\n- a\n\n* b"
    assert warnings == []


def test_task_list_renders_gfm_checkboxes() -> None:
    md, warnings = render(
        {
            "type": "taskList",
            "attrs": {"localId": "l"},
            "content": [
                {
                    "type": "taskItem",
                    "attrs": {"localId": "1", "state": "DONE"},
                    "content": [text("done")],
                },
                {
                    "type": "taskItem",
                    "attrs": {"localId": "2", "state": "TODO"},
                    "content": [text("todo")],
                },
            ],
        }
    )
    assert md == "- [x] done\n- [ ] todo"
    assert warnings == []


def test_blockquote_and_panel() -> None:
    md, warnings = render(
        {"type": "blockquote", "content": [para(text("q1")), para(text("q2"))]},
        {"type": "panel", "attrs": {"panelType": "warning"}, "content": [para(text("careful"))]},
    )
    assert md == "> q1\n>\n> q2\n\n> careful"
    assert warnings == ["panel (type=warning) rendered as blockquote"]


def cell(kind: str, value: str, **attrs: Any) -> dict[str, Any]:
    return {"type": kind, "attrs": attrs, "content": [para(text(value))]}


def test_simple_table_renders_as_gfm() -> None:
    md, warnings = render(
        {
            "type": "table",
            "content": [
                {
                    "type": "tableRow",
                    "content": [cell("tableHeader", "h1"), cell("tableHeader", "h|2")],
                },
                {"type": "tableRow", "content": [cell("tableCell", "a"), cell("tableCell", "b")]},
            ],
        }
    )
    assert md == "| h1 | h\\|2 |\n| --- | --- |\n| a | b |"
    assert warnings == []


def test_merged_cells_and_missing_header_are_warned() -> None:
    md, warnings = render(
        {
            "type": "table",
            "content": [
                {"type": "tableRow", "content": [cell("tableCell", "wide", colspan=2)]},
                {"type": "tableRow", "content": [cell("tableCell", "a"), cell("tableCell", "b")]},
            ],
        }
    )
    assert md == "|  |  |\n| --- | --- |\n| wide |  |\n| a | b |"
    assert "table merged cells (colspan/rowspan) split into single cells" in warnings
    assert "table without header row: empty header row added" in warnings


@pytest.mark.parametrize(
    ("node", "expected_md", "expected_warning"),
    [
        (
            {"type": "mention", "attrs": {"id": "abc", "text": "@Ada Lovelace"}},
            "@Ada Lovelace",
            "mention rendered as text",
        ),
        ({"type": "emoji", "attrs": {"shortName": ":smile:", "text": "😄"}}, "😄", None),
        ({"type": "emoji", "attrs": {"shortName": ":smile:"}}, ":smile:", None),
        (
            {"type": "inlineCard", "attrs": {"url": "https://x.example/1"}},
            "[https://x.example/1](https://x.example/1)",
            "inlineCard rendered as link",
        ),
        (
            {"type": "status", "attrs": {"text": "IN PROGRESS"}},
            "IN PROGRESS",
            "status rendered as text",
        ),
        (
            {"type": "date", "attrs": {"timestamp": "1700000000000"}},
            "2023-11-14",
            "date rendered as text",
        ),
        (
            {"type": "mediaInline", "attrs": {"id": "m1", "type": "file"}},
            "![attachment](media:m1)",
            "mediaInline rendered as attachment placeholder",
        ),
    ],
)
def test_inline_lossy_nodes(
    node: dict[str, Any], expected_md: str, expected_warning: str | None
) -> None:
    md, warnings = render(para(node))
    assert md == expected_md
    assert warnings == ([expected_warning] if expected_warning else [])


def test_media_single_renders_placeholder() -> None:
    md, warnings = render(
        {
            "type": "mediaSingle",
            "attrs": {"layout": "center"},
            "content": [
                {"type": "media", "attrs": {"id": "f-1", "type": "file", "collection": "c"}}
            ],
        }
    )
    assert md == "![attachment](media:f-1)"
    assert warnings == [
        "mediaSingle rendered as attachment placeholder",
        "media rendered as attachment placeholder",
    ]


def test_expand_decisions_extensions_and_cards() -> None:
    md, warnings = render(
        {"type": "expand", "attrs": {"title": "More"}, "content": [para(text("hidden"))]},
        {
            "type": "decisionList",
            "attrs": {"localId": "d"},
            "content": [
                {
                    "type": "decisionItem",
                    "attrs": {"localId": "1", "state": "DECIDED"},
                    "content": [text("ship")],
                }
            ],
        },
        {"type": "extension", "attrs": {"extensionKey": "jira-chart", "extensionType": "x"}},
        {
            "type": "bodiedExtension",
            "attrs": {"extensionKey": "box"},
            "content": [para(text("inside"))],
        },
        {"type": "blockCard", "attrs": {"url": "https://x.example"}},
    )
    assert md == (
        "**More**\n\nhidden\n\n- ship\n\n\\[extension: jira-chart\\]\n\ninside\n\n"
        "[https://x.example](https://x.example)"
    )
    assert warnings == [
        "expand rendered as its title and content",
        "decisionList rendered as bullet list",
        "extension (jira-chart) rendered as placeholder",
        "bodiedExtension (box) rendered as its content",
        "blockCard rendered as link",
    ]


def test_unknown_nodes_keep_their_text_and_are_named() -> None:
    md, warnings = render(
        {"type": "fancyWidget", "content": [para(text("kept"))]},
        para({"type": "sparkle", "content": [text("shiny")]}),
    )
    assert md == "kept\n\nshiny"
    assert warnings == [
        "unknown node type 'fancyWidget' rendered as text",
        "unknown node type 'sparkle' rendered as text",
    ]


@pytest.mark.parametrize("bad", [None, "text", 3, [], {"type": "doc", "content": "nope"}])
def test_malformed_documents_never_raise(bad: Any) -> None:
    md, warnings = adf_to_markdown(bad)
    assert md == ""
    assert isinstance(warnings, list)


def test_invalid_child_nodes_are_reported() -> None:
    md, warnings = adf_to_markdown({"type": "doc", "content": ["junk", para(text("ok"))]})
    assert md == "ok"
    assert warnings == ["invalid ADF node (not an object) ignored"]
