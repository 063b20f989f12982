"""Markdown -> ADF: the supported subset, and literal text + warnings for the rest."""

from __future__ import annotations

from typing import Any

from kradle_provider_jira.adf import markdown_to_adf


def content(md: str) -> list[dict[str, Any]]:
    doc, warnings = markdown_to_adf(md)
    assert doc["type"] == "doc" and doc["version"] == 1
    assert warnings == []
    result: list[dict[str, Any]] = doc["content"]
    return result


def test_inline_marks() -> None:
    [paragraph] = content('**b** *i* ~~s~~ `c` [l](https://x.example "T")')
    assert paragraph["content"] == [
        {"type": "text", "text": "b", "marks": [{"type": "strong"}]},
        {"type": "text", "text": " "},
        {"type": "text", "text": "i", "marks": [{"type": "em"}]},
        {"type": "text", "text": " "},
        {"type": "text", "text": "s", "marks": [{"type": "strike"}]},
        {"type": "text", "text": " "},
        {"type": "text", "text": "c", "marks": [{"type": "code"}]},
        {"type": "text", "text": " "},
        {
            "type": "text",
            "text": "l",
            "marks": [{"type": "link", "attrs": {"href": "https://x.example", "title": "T"}}],
        },
    ]


def test_line_breaks_become_hard_breaks() -> None:
    [paragraph] = content("one\ntwo\\\nthree")
    assert [n["type"] for n in paragraph["content"]] == [
        "text",
        "hardBreak",
        "text",
        "hardBreak",
        "text",
    ]


def test_blocks() -> None:
    blocks = content("# H\n\n> quote\n\n---\n\n```py\nx = 1\n```\n\n1. a\n   - b\n2. c")
    assert blocks[0] == {
        "type": "heading",
        "attrs": {"level": 1},
        "content": [{"type": "text", "text": "H"}],
    }
    assert blocks[1]["type"] == "blockquote"
    assert blocks[2] == {"type": "rule"}
    assert blocks[3] == {
        "type": "codeBlock",
        "attrs": {"language": "py"},
        "content": [{"type": "text", "text": "x = 1"}],
    }
    ordered = blocks[4]
    assert ordered["type"] == "orderedList" and ordered["attrs"] == {"order": 1}
    first_item = ordered["content"][0]["content"]
    assert [b["type"] for b in first_item] == ["paragraph", "bulletList"]


def test_task_list() -> None:
    [tasks] = content("- [x] done\n- [ ] todo")
    assert tasks["type"] == "taskList"
    assert [i["attrs"]["state"] for i in tasks["content"]] == ["DONE", "TODO"]
    assert tasks["content"][0]["content"] == [{"type": "text", "text": "done"}]


def test_table() -> None:
    [table] = content("| a | b |\n| --- | --- |\n| 1 | `x\\|y` |")
    header, row = table["content"]
    assert [c["type"] for c in header["content"]] == ["tableHeader", "tableHeader"]
    assert row["content"][1]["content"][0]["content"] == [
        {"type": "text", "text": "x|y", "marks": [{"type": "code"}]}
    ]


def test_unsupported_markdown_is_kept_as_text_and_warned() -> None:
    doc, warnings = markdown_to_adf(
        "![logo](logo.png) <b>bold</b> note[^1]\n\n<div>\nblock\n</div>\n\n[ref]: https://x.example"
    )
    texts = "".join(n.get("text", "") for block in doc["content"] for n in block.get("content", []))
    assert "![logo](logo.png)" in texts
    assert "<b>" in texts and "</b>" in texts
    assert "[^1]" in texts
    assert "<div>" in texts
    assert set(warnings) == {
        "link reference definitions resolved into links and removed",
        "image kept as text",
        "raw HTML kept as text",
        "footnote kept as text",
    }


def test_blocks_adf_cannot_nest_are_flattened_with_warning() -> None:
    doc, warnings = markdown_to_adf("- # heading in item\n\n> > nested quote")
    item = doc["content"][0]["content"][0]
    assert item["content"][0]["type"] == "paragraph"
    assert item["content"][0]["content"][0]["marks"] == [{"type": "strong"}]
    assert doc["content"][1]["content"][0]["type"] == "paragraph"
    assert warnings == [
        "heading in list item rendered as bold paragraph",
        "blockquote in blockquote flattened",
    ]


def test_formatting_on_code_is_reported() -> None:
    doc, warnings = markdown_to_adf("**`code`**")
    assert doc["content"][0]["content"] == [
        {"type": "text", "text": "code", "marks": [{"type": "code"}]}
    ]
    assert warnings == ["formatting on inline code dropped"]


def test_empty_markdown() -> None:
    assert markdown_to_adf("") == ({"type": "doc", "version": 1, "content": []}, [])
