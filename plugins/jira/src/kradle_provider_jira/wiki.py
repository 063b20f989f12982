"""Jira wiki markup (Data Center REST v2) <-> Atlassian Document Format.

Wiki markup is converted through ADF so that one Markdown renderer and one
Markdown parser (``adf.py``) serve both Jira flavours: ``wiki_to_adf`` parses
wiki text into ADF (``{panel}`` -> panel, ``[~user]`` -> mention, ``!file!`` ->
media, ``{color}`` -> textColor, ...) and ``adf_to_wiki`` renders ADF back as
wiki markup. Whatever a direction cannot carry is named in the warnings.

A single newline inside a wiki paragraph is a line break in Jira, so it maps to
an ADF ``hardBreak`` and back.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from kradle_provider_jira.adf import (
    INLINE_NODE_TYPES,
    JsonDict,
    Warnings,
    plain_text,
)

__all__ = ["adf_to_wiki", "wiki_to_adf"]

# --------------------------------------------------------------------------- #
# wiki -> ADF
# --------------------------------------------------------------------------- #

_HEADING = re.compile(r"^h([1-6])\.(?:[ \t]+(.*))?$")
_BQ = re.compile(r"^bq\.(?:[ \t]+(.*))?$")
_RULE = re.compile(r"^-{4,}[ \t]*$")
_LIST = re.compile(r"^([*#]+|-)[ \t]+(.*)$")
_BLOCK_MACRO = re.compile(
    r"^\{(code|noformat|quote|panel|info|note|warning|tip)(?::([^}]*))?\}(.*)$"
)
_ENTITY = re.compile(r"&(#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});")
_PANEL_TYPES = {
    "panel": "info",
    "info": "info",
    "note": "note",
    "warning": "warning",
    "tip": "success",
}
_EFFECTS = {
    "*": "strong",
    "_": "em",
    "-": "strike",
    "+": "underline",
    "^": "sup",
    "~": "sub",
}
_URL = re.compile(r"^(?:[a-zA-Z][a-zA-Z0-9+.-]*://|mailto:|#|/)")
# The characters ``_WikiParser._inline`` gives a meaning to; any other is plain text.
_INLINE_MARKUP = frozenset("\n\\{[!?" + "".join(_EFFECTS))
_INLINE_MARKUP_AT = re.compile("[" + re.escape("".join(sorted(_INLINE_MARKUP))) + "]")


def _decode_entities(text: str) -> str:
    return _ENTITY.sub(lambda m: html.unescape(m.group(0)), text)


@dataclass
class _Item:
    markers: str
    content: list[JsonDict] = field(default_factory=list)


class _WikiParser:
    def __init__(self) -> None:
        self.warnings = Warnings()

    # -- blocks ---------------------------------------------------------- #

    def parse(self, text: str) -> list[JsonDict]:
        lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
        return self.blocks(lines)

    def blocks(self, lines: list[str]) -> list[JsonDict]:
        out: list[JsonDict] = []
        para: list[str] = []
        items: list[_Item] = []
        rows: list[JsonDict] = []

        def flush() -> None:
            if para:
                content = self.inline("\n".join(para))
                if content:
                    out.append({"type": "paragraph", "content": content})
                para.clear()
            if items:
                out.extend(self.build_lists(items, 0))
                items.clear()
            if rows:
                out.append(
                    {
                        "type": "table",
                        "attrs": {"isNumberColumnEnabled": False, "layout": "default"},
                        "content": list(rows),
                    }
                )
                rows.clear()

        index = 0
        while index < len(lines):
            line = lines[index].strip()
            index += 1
            if not line:
                flush()
                continue
            macro = _BLOCK_MACRO.match(line)
            if macro:
                flush()
                name, params, rest = macro.group(1), macro.group(2) or "", macro.group(3)
                body, after, index = self._macro_body(name, rest, lines, index)
                out.extend(self.macro_block(name, params, body))
                if after.strip():
                    lines.insert(index, after)
                continue
            heading = _HEADING.match(line)
            if heading:
                flush()
                out.append(
                    {
                        "type": "heading",
                        "attrs": {"level": int(heading.group(1))},
                        "content": self.inline(heading.group(2) or ""),
                    }
                )
                continue
            quote = _BQ.match(line)
            if quote:
                flush()
                out.append(
                    {
                        "type": "blockquote",
                        "content": [
                            {"type": "paragraph", "content": self.inline(quote.group(1) or "")}
                        ],
                    }
                )
                continue
            if _RULE.match(line):
                flush()
                out.append({"type": "rule"})
                continue
            listed = _LIST.match(line)
            if listed:
                if para or rows:
                    saved = list(items)
                    items.clear()
                    flush()
                    items.extend(saved)
                items.append(_Item(listed.group(1), self.inline(listed.group(2))))
                continue
            if line.startswith("|"):
                if para or items:
                    saved_rows = list(rows)
                    rows.clear()
                    flush()
                    rows.extend(saved_rows)
                rows.append(self.table_row(line))
                continue
            if items or rows:
                flush()
            para.append(line)
        flush()
        return out

    @staticmethod
    def _macro_body(name: str, rest: str, lines: list[str], index: int) -> tuple[str, str, int]:
        """Collect a block macro's body up to its closing tag.

        Returns the body, what follows the closing tag on its line, and the
        index of the first line not consumed.
        """
        closing = "{" + name + "}"
        text = "\n".join([rest, *lines[index:]])
        position = text.find(closing)
        if position < 0:
            body, after, consumed = text, "", len(lines) - index
        else:
            body = text[:position]
            tail = text[position + len(closing) :]
            after = tail.split("\n", 1)[0]
            consumed = body.count("\n")
        if body.startswith("\n") and not rest:
            body = body[1:]
        if body.endswith("\n"):
            body = body[:-1]
        return body, after, index + consumed

    def macro_block(self, name: str, params: str, body: str) -> list[JsonDict]:
        if name in ("code", "noformat"):
            language = ""
            if name == "code":
                for param in params.split("|"):
                    key, _, value = param.partition("=")
                    if not value and key.strip():
                        language = key.strip()
                    elif key.strip() == "language":
                        language = value.strip()
            block: JsonDict = {"type": "codeBlock"}
            if language:
                block["attrs"] = {"language": language}
            block["content"] = [{"type": "text", "text": body}] if body else []
            return [block]
        inner = self.blocks(body.split("\n"))
        if name == "quote":
            return [{"type": "blockquote", "content": inner}]
        if "title=" in params:
            self.warnings.add(f"wiki {{{name}}} title dropped")
        return [{"type": "panel", "attrs": {"panelType": _PANEL_TYPES[name]}, "content": inner}]

    def build_lists(self, items: Sequence[_Item], level: int) -> list[JsonDict]:
        lists: list[JsonDict] = []
        current: JsonDict | None = None
        current_type = ""
        index = 0
        while index < len(items):
            item = items[index]
            marker = item.markers[level] if len(item.markers) > level else "*"
            list_type = "orderedList" if marker == "#" else "bulletList"
            if current is None or list_type != current_type:
                current = {"type": list_type, "content": []}
                if list_type == "orderedList":
                    current["attrs"] = {"order": 1}
                lists.append(current)
                current_type = list_type
            deeper: list[_Item] = []
            own = item if len(item.markers) <= level + 1 else None
            start = index + 1 if own else index
            index = start
            while index < len(items) and len(items[index].markers) > level + 1:
                deeper.append(items[index])
                index += 1
            content: list[JsonDict] = [{"type": "paragraph", "content": own.content if own else []}]
            if deeper:
                content.extend(self.build_lists(deeper, level + 1))
            current["content"].append({"type": "listItem", "content": content})
        return lists

    def table_row(self, line: str) -> JsonDict:
        cells: list[JsonDict] = []
        position = 0
        while position < len(line) and line[position] == "|":
            header = line.startswith("||", position)
            position += 2 if header else 1
            start = position
            depth_link = 0
            while position < len(line):
                char = line[position]
                if char == "\\" and position + 1 < len(line):
                    position += 2
                    continue
                if char == "[":
                    depth_link += 1
                elif char == "]" and depth_link:
                    depth_link -= 1
                elif char == "{" and line.startswith("{{", position):
                    end = line.find("}}", position + 2)
                    if end >= 0:
                        position = end + 2
                        continue
                elif char == "|" and not depth_link:
                    break
                position += 1
            raw = line[start:position]
            if position >= len(line) and not raw.strip():
                break
            cells.append(
                {
                    "type": "tableHeader" if header else "tableCell",
                    "attrs": {},
                    "content": [{"type": "paragraph", "content": self.inline(raw.strip())}],
                }
            )
        return {"type": "tableRow", "content": cells}

    # -- inline ---------------------------------------------------------- #

    def inline(self, text: str) -> list[JsonDict]:
        out: list[JsonDict] = []
        self._inline(text, (), out)
        return _merge(out)

    def _inline(self, text: str, marks: tuple[JsonDict, ...], out: list[JsonDict]) -> None:
        buf: list[str] = []

        def flush() -> None:
            if buf:
                out.append(_text(_decode_entities("".join(buf)), marks))
                buf.clear()

        position, length = 0, len(text)
        while position < length:
            char = text[position]
            if char not in _INLINE_MARKUP:
                # A run of plain characters goes to the buffer at once, not one by one.
                special = _INLINE_MARKUP_AT.search(text, position)
                stop = special.start() if special else length
                buf.append(text[position:stop])
                position = stop
                continue
            if char == "\n" or text.startswith("\\\\", position):
                flush()
                out.append({"type": "hardBreak"})
                position += 1 if char == "\n" else 2
                continue
            if char == "\\" and position + 1 < length and not text[position + 1].isalnum():
                buf.append(text[position + 1])
                position += 2
                continue
            if text.startswith("{{", position):
                end = _find_unescaped(text, "}}", position + 2)
                if end > position + 2:
                    flush()
                    code = _decode_entities(_unescape(text[position + 2 : end]))
                    out.append(_text(code, (*_no_code(marks), {"type": "code"})))
                    position = end + 2
                    continue
            if char == "{":
                handled = self._inline_macro(text, position, marks, out, flush)
                if handled:
                    position = handled
                    continue
            if char == "[":
                end = _find_unescaped(text, "]", position + 1)
                if end > position + 1:
                    flush()
                    self._link(text[position + 1 : end], marks, out, buf)
                    position = end + 1
                    continue
            if char == "!":
                match = re.compile(r"!([^!\s|][^!|\n]*?)(\|[^!\n]*)?!").match(text, position)
                if match and ("." in match.group(1) or "://" in match.group(1)):
                    flush()
                    target = match.group(1)
                    attrs: JsonDict = (
                        {"type": "external", "url": target}
                        if "://" in target
                        else {"type": "file", "id": target, "collection": ""}
                    )
                    out.append(
                        {"type": "mediaSingle", "content": [{"type": "media", "attrs": attrs}]}
                    )
                    position = match.end()
                    continue
            if char in _EFFECTS or text.startswith("??", position):
                token = "??" if text.startswith("??", position) else char
                closing = _effect_end(text, position, token)
                if closing is not None:
                    flush()
                    self._inline(
                        text[position + len(token) : closing],
                        (*marks, *_effect_mark(token, self.warnings)),
                        out,
                    )
                    position = closing + len(token)
                    continue
            buf.append(char)
            position += 1
        flush()

    def _inline_macro(
        self,
        text: str,
        position: int,
        marks: tuple[JsonDict, ...],
        out: list[JsonDict],
        flush: Any,
    ) -> int:
        match = re.compile(r"\{(color|anchor)(?::([^}]*))?\}").match(text, position)
        if not match:
            return 0
        flush()
        if match.group(1) == "anchor":
            self.warnings.add("wiki {anchor} dropped")
            return match.end()
        end = text.find("{color}", match.end())
        stop = end if end >= 0 else len(text)
        color = (match.group(2) or "").strip()
        self._inline(
            text[match.end() : stop],
            (*marks, {"type": "textColor", "attrs": {"color": color}}),
            out,
        )
        return stop + len("{color}") if end >= 0 else stop

    def _link(
        self, inner: str, marks: tuple[JsonDict, ...], out: list[JsonDict], buf: list[str]
    ) -> None:
        if inner.startswith("~"):
            user = inner[1:]
            out.append({"type": "mention", "attrs": {"id": user, "text": "@" + user}})
            return
        if inner.startswith("^"):
            self.warnings.add("wiki attachment link rendered as text")
            out.append(_text(_decode_entities(inner[1:]), marks))
            return
        label, sep, target = inner.rpartition("|")
        if not sep:
            label, target = inner, inner
        target = target.strip()
        if not _URL.match(target):
            self.warnings.add("wiki page link kept as text")
            out.append(_text(_decode_entities("[" + inner + "]"), marks))
            return
        link = {"type": "link", "attrs": {"href": target}}
        if sep:
            self._inline(label, (*_no_link(marks), link), out)
        else:
            out.append(_text(target, (*_no_link(marks), link)))


def _effect_mark(token: str, warnings: Warnings) -> tuple[JsonDict, ...]:
    if token == "??":
        warnings.add("wiki citation rendered as emphasis")
        return ({"type": "em"},)
    kind = _EFFECTS[token]
    if kind in ("sub", "sup"):
        return ({"type": "subsup", "attrs": {"type": kind}},)
    return ({"type": kind},)


def _is_boundary(char: str) -> bool:
    return char == "" or not char.isalnum()


def _effect_end(text: str, position: int, token: str) -> int | None:
    """Where the effect opened at ``position`` closes, or None when it doesn't."""
    before = text[position - 1] if position else ""
    after_open = text[position + len(token) : position + len(token) + 1]
    if not _is_boundary(before) or after_open in ("", " ", "\t", "\n") or after_open == token[0]:
        return None
    start = position + len(token)
    search = start
    while True:
        end = _find_unescaped(text, token, search)
        if end < 0 or "\n" in text[position:end]:
            return None
        after = text[end + len(token) : end + len(token) + 1]
        if (
            end > start
            and not text[end - 1].isspace()
            and _is_boundary(after)
            and after != token[0]
        ):
            return end
        search = end + 1


def _find_unescaped(text: str, needle: str, start: int) -> int:
    """The first ``needle`` from ``start`` not escaped by a backslash (no needle has one)."""
    position = start
    while True:
        found = text.find(needle, position)
        if found < 0:
            return -1
        escape = text.find("\\", position, found)
        if escape < 0:
            return found
        position = escape + 2  # a backslash escapes the character after it


def _unescape(text: str) -> str:
    return re.sub(r"\\([^A-Za-z0-9\s])", r"\1", text)


def _no_code(marks: tuple[JsonDict, ...]) -> tuple[JsonDict, ...]:
    return tuple(m for m in marks if m.get("type") == "link")


def _no_link(marks: tuple[JsonDict, ...]) -> tuple[JsonDict, ...]:
    return tuple(m for m in marks if m.get("type") != "link")


def _text(text: str, marks: tuple[JsonDict, ...]) -> JsonDict:
    node: JsonDict = {"type": "text", "text": text}
    unique: list[JsonDict] = []
    for mark in marks:
        if mark not in unique:
            unique.append(mark)
    if unique:
        node["marks"] = unique
    return node


def _merge(nodes: list[JsonDict]) -> list[JsonDict]:
    merged: list[JsonDict] = []
    for node in nodes:
        if node.get("type") == "text" and not node.get("text"):
            continue
        if (
            merged
            and node.get("type") == "text"
            and merged[-1].get("type") == "text"
            and merged[-1].get("marks") == node.get("marks")
        ):
            merged[-1] = {**merged[-1], "text": merged[-1]["text"] + node["text"]}
        else:
            merged.append(node)
    return merged


def wiki_to_adf(text: str) -> tuple[JsonDict, list[str]]:
    """Parse Jira wiki markup into an ADF document; returns ``(doc, warnings)``."""
    parser = _WikiParser()
    content = parser.parse(text if isinstance(text, str) else str(text))
    # media are block-level in ADF: lift mediaSingle out of paragraphs
    content = _lift_media(content)
    return {"type": "doc", "version": 1, "content": content}, parser.warnings.as_list()


def _lift_media(blocks: list[JsonDict]) -> list[JsonDict]:
    out: list[JsonDict] = []
    for block in blocks:
        if block.get("type") == "paragraph" and any(
            c.get("type") == "mediaSingle" for c in block.get("content", [])
        ):
            run: list[JsonDict] = []
            for child in block["content"]:
                if child.get("type") == "mediaSingle":
                    if any(c.get("type") != "hardBreak" for c in run):
                        out.append({"type": "paragraph", "content": run})
                    run = []
                    out.append(child)
                else:
                    run.append(child)
            if any(c.get("type") != "hardBreak" for c in run):
                out.append({"type": "paragraph", "content": run})
            continue
        if isinstance(block.get("content"), list) and block.get("type") != "paragraph":
            block = {**block, "content": _lift_media(block["content"])}
        out.append(block)
    return out


# --------------------------------------------------------------------------- #
# ADF -> wiki
# --------------------------------------------------------------------------- #

_WIKI_ALWAYS = frozenset("{}[]|!")
_WIKI_EFFECT = frozenset("*_-+^~")
_ENTITY_LIKE = re.compile(r"&(?=#[0-9]{1,7};|#[xX][0-9a-fA-F]{1,6};|[A-Za-z][A-Za-z0-9]{1,31};)")
_MARK_OPEN = {"strong": "*", "em": "_", "strike": "-", "underline": "+"}


def _escape_wiki(text: str) -> str:
    out: list[str] = []
    for index, char in enumerate(text):
        prev = text[index - 1] if index else ""
        nxt = text[index + 1] if index + 1 < len(text) else ""
        if char == "\\":
            out.append("&#92;")
        elif char == "&" and _ENTITY_LIKE.match(text, index):
            out.append("&amp;")
        elif char in _WIKI_ALWAYS:
            out.append("\\" + char)
        elif char in _WIKI_EFFECT:
            quiet = (prev.isalnum() and nxt.isalnum()) or (
                prev in (" ", "\t") and nxt in (" ", "\t")
            )
            out.append(char if quiet else "\\" + char)
        elif char == "?" and "?" in (prev, nxt):
            out.append("\\?")
        else:
            out.append(char)
    return "".join(out)


def _guard_wiki_line(line: str) -> str:
    if not line:
        return line
    if line[0] == "#":
        # "*", "-" and "|" are already escaped as text; a leading "*" or "-"
        # here is an effect delimiter, not a list marker.
        return "\\" + line
    if re.match(r"h[1-6]\.", line):
        return "&#104;" + line[1:]
    if line.startswith("bq."):
        return "&#98;" + line[1:]
    return line


def _content(node: Any) -> list[Any]:
    content = node.get("content") if isinstance(node, dict) else None
    return content if isinstance(content, list) else []


def _attrs(node: Any) -> JsonDict:
    attrs = node.get("attrs") if isinstance(node, dict) else None
    return attrs if isinstance(attrs, dict) else {}


class _WikiRenderer:
    def __init__(self) -> None:
        self.warnings = Warnings()

    def blocks(self, nodes: Sequence[Any]) -> str:
        parts = [self.block(n) for n in nodes if isinstance(n, dict)]
        return "\n\n".join(p for p in parts if p)

    def block(self, node: JsonDict) -> str:
        kind = node.get("type")
        content = _content(node)
        attrs = _attrs(node)
        if kind == "paragraph":
            return self.paragraph(content)
        if kind == "heading":
            level = min(6, max(1, int(attrs.get("level", 1) or 1)))
            return f"h{level}. " + self.inline(content, line_break="\\\\").strip()
        if kind in ("bulletList", "orderedList", "taskList", "decisionList"):
            return "\n".join(self.list_lines(node, ""))
        if kind == "codeBlock":
            text = "".join(c.get("text", "") for c in content if isinstance(c, dict))
            language = str(attrs.get("language") or "").strip()
            opener, closer = (
                (f"{{code:{language}}}", "{code}") if language else ("{noformat}", "{noformat}")
            )
            if closer in text:
                self.warnings.add(f"codeBlock containing {closer} cannot be represented exactly")
            return f"{opener}\n{text}\n{closer}"
        if kind == "blockquote":
            return "{quote}\n" + self.blocks(content) + "\n{quote}"
        if kind == "rule":
            return "----"
        if kind == "table":
            return "\n".join(self.table_row(r) for r in content if isinstance(r, dict))
        if kind == "panel":
            macro = {"info": "info", "note": "note", "warning": "warning", "success": "tip"}.get(
                str(attrs.get("panelType")), "panel"
            )
            if macro == "panel":
                self.warnings.add(f"panel (type={attrs.get('panelType')}) rendered as plain panel")
            return f"{{{macro}}}\n" + self.blocks(content) + f"\n{{{macro}}}"
        if kind in ("mediaSingle", "mediaGroup"):
            return " ".join(
                self.media(c) for c in content if isinstance(c, dict) and c.get("type") == "media"
            )
        if kind in INLINE_NODE_TYPES:
            return self.paragraph([node])
        self.warnings.add(f"{kind} rendered as text in wiki markup")
        return _guard_wiki_line(_escape_wiki(plain_text(node)))

    def media(self, node: JsonDict) -> str:
        attrs = _attrs(node)
        target = str(attrs.get("url") or attrs.get("id") or "")
        return f"!{target}!" if target else ""

    def paragraph(self, content: Sequence[Any]) -> str:
        text = self.inline(content, line_break="\n")
        lines = [_guard_wiki_line(line.strip(" \t")) for line in text.split("\n")]
        while lines and not lines[-1]:
            lines.pop()
        return "\n".join(lines)

    def list_lines(self, node: JsonDict, prefix: str) -> list[str]:
        kind = node.get("type")
        if kind == "orderedList":
            order = (node.get("attrs") or {}).get("order", 1)
            if order not in (1, None):
                self.warnings.add("orderedList start number dropped")
        if kind == "taskList":
            self.warnings.add("taskList rendered as bullet list")
        if kind == "decisionList":
            self.warnings.add("decisionList rendered as bullet list")
        marker = prefix + ("#" if kind == "orderedList" else "*")
        lines: list[str] = []
        for item in node.get("content") or []:
            if not isinstance(item, dict):
                continue
            item_kind = item.get("type")
            children = item.get("content") or []
            if item_kind in ("bulletList", "orderedList", "taskList"):
                lines.extend(self.list_lines(item, marker))
                continue
            if item_kind in ("taskItem", "decisionItem"):
                box = ""
                if item_kind == "taskItem":
                    done = str(_attrs(item).get("state", "")).upper() == "DONE"
                    box = "\\[x\\] " if done else "\\[ \\] "
                text = self.inline(children, line_break="\\\\").strip()
                lines.append(f"{marker} {box}{text}")
                continue
            texts: list[str] = []
            nested: list[str] = []
            for child in children:
                child_kind = child.get("type") if isinstance(child, dict) else None
                if child_kind in ("bulletList", "orderedList", "taskList"):
                    nested.extend(self.list_lines(child, marker))
                elif child_kind == "paragraph":
                    if nested:
                        self.warnings.add("list item content after a nested list moved up")
                    texts.append(self.inline(child.get("content") or [], line_break="\\\\").strip())
                else:
                    self.warnings.add(f"{child_kind} in list item flattened to text")
                    texts.append(_escape_wiki(plain_text(child)).replace("\n", "\\\\"))
            if len(texts) > 1:
                self.warnings.add("list item with several paragraphs joined with line breaks")
            lines.append(f"{marker} " + "\\\\".join(t for t in texts))
            lines.extend(nested)
        return [line.rstrip() for line in lines]

    def table_row(self, row: JsonDict) -> str:
        out: list[str] = []
        last = "|"
        for cell in row.get("content") or []:
            if not isinstance(cell, dict):
                continue
            attrs = cell.get("attrs") or {}
            if (attrs.get("colspan") or 1) > 1 or (attrs.get("rowspan") or 1) > 1:
                self.warnings.add("table merged cells (colspan/rowspan) split into single cells")
            last = "||" if cell.get("type") == "tableHeader" else "|"
            texts = []
            for block in cell.get("content") or []:
                if isinstance(block, dict) and block.get("type") == "paragraph":
                    texts.append(self.inline(block.get("content") or [], line_break="\\\\").strip())
                elif isinstance(block, dict):
                    self.warnings.add(f"{block.get('type')} in table cell flattened to text")
                    texts.append(_escape_wiki(plain_text(block)).replace("\n", "\\\\"))
            text = "\\\\".join(t for t in texts if t)
            out.append(last + (text or " "))
        return "".join(out) + last if out else ""

    def inline(self, nodes: Sequence[Any], *, line_break: str) -> str:
        out: list[str] = []
        stack: list[JsonDict] = []
        pieces = _wiki_pieces(nodes)

        def close_to(depth: int) -> None:
            while len(stack) > depth:
                out.append(self._close(stack.pop()))

        for kind, value, marks in pieces:
            if kind == "break":
                close_to(0)
                out.append(line_break)
                continue
            if kind == "node":
                close_to(0)
                out.append(self._inline_node(value))
                continue
            wanted = self._marks(marks)
            keep = 0
            while keep < len(stack) and keep < len(wanted) and stack[keep] == wanted[keep]:
                keep += 1
            close_to(keep)
            for mark in wanted[keep:]:
                out.append(self._open(mark))
                stack.append(mark)
            text = value["text"]
            if any(m.get("type") == "code" for m in marks):
                out.append("{{" + _escape_wiki(text) + "}}")
            else:
                out.append(_escape_wiki(text))
        close_to(0)
        return "".join(out)

    def _marks(self, marks: list[JsonDict]) -> list[JsonDict]:
        kept: list[JsonDict] = []
        for mark in marks:
            kind = mark.get("type")
            if kind == "code":
                continue
            if kind not in _WIKI_MARK_ORDER:
                self.warnings.add(f"{kind} mark dropped")
                continue
            if kind == "link" and (mark.get("attrs") or {}).get("title"):
                self.warnings.add("link title dropped")
            kept.append(mark)
        return sorted(kept, key=_mark_rank)

    @staticmethod
    def _open(mark: JsonDict) -> str:
        kind = mark.get("type")
        attrs = mark.get("attrs") or {}
        if kind == "link":
            return "["
        if kind == "textColor":
            return "{color:" + str(attrs.get("color", "")) + "}"
        if kind == "subsup":
            return "~" if attrs.get("type") == "sub" else "^"
        return _MARK_OPEN[str(kind)]

    @staticmethod
    def _close(mark: JsonDict) -> str:
        kind = mark.get("type")
        attrs = mark.get("attrs") or {}
        if kind == "link":
            return "|" + str(attrs.get("href", "")) + "]"
        if kind == "textColor":
            return "{color}"
        if kind == "subsup":
            return "~" if attrs.get("type") == "sub" else "^"
        return _MARK_OPEN[str(kind)]

    def _inline_node(self, node: JsonDict) -> str:
        kind = node.get("type")
        attrs = _attrs(node)
        if kind == "mention":
            return "[~" + str(attrs.get("id", "")) + "]"
        if kind == "emoji":
            return _escape_wiki(plain_text(node))
        if kind == "inlineCard":
            url = str(attrs.get("url", ""))
            return f"[{url}]" if url else ""
        if kind in ("media", "mediaInline"):
            return self.media(node)
        self.warnings.add(f"{kind} rendered as text in wiki markup")
        return _escape_wiki(plain_text(node))


_WIKI_MARK_ORDER = ["link", "textColor", "strong", "em", "strike", "underline", "subsup", "code"]


def _mark_rank(mark: JsonDict) -> int:
    kind = mark.get("type")
    return _WIKI_MARK_ORDER.index(kind) if kind in _WIKI_MARK_ORDER else len(_WIKI_MARK_ORDER)


def _wiki_pieces(nodes: Sequence[Any]) -> list[tuple[str, JsonDict, list[JsonDict]]]:
    """Split inline nodes into text runs with whitespace moved outside effects."""
    raw: list[tuple[str, JsonDict, list[JsonDict]]] = []
    for node in nodes:
        if not isinstance(node, dict):
            continue
        kind = node.get("type")
        if kind == "hardBreak":
            raw.append(("break", node, []))
        elif kind == "text" and isinstance(node.get("text"), str):
            marks = sorted(
                (m for m in node.get("marks") or [] if isinstance(m, dict)), key=_mark_rank
            )
            for index, part in enumerate(node["text"].split("\n")):
                if index:
                    raw.append(("break", node, []))
                if not part:
                    continue
                if any(m.get("type") == "code" for m in marks):
                    raw.append(("text", {"text": part}, marks))
                    continue
                core = part.strip()
                if not core:
                    raw.append(("ws", {"text": part}, []))
                    continue
                start = part.index(core)
                if start:
                    raw.append(("ws", {"text": part[:start]}, []))
                raw.append(("text", {"text": core}, marks))
                if part[start + len(core) :]:
                    raw.append(("ws", {"text": part[start + len(core) :]}, []))
        else:
            raw.append(("node", node, []))
    pieces: list[tuple[str, JsonDict, list[JsonDict]]] = []
    for index, (kind, value, marks) in enumerate(raw):
        if kind == "ws":
            before = _neighbour(raw, index, -1)
            after = _neighbour(raw, index, 1)
            shared = []
            for left, right in zip(before, after, strict=False):
                if left != right or left.get("type") == "code":
                    break
                shared.append(left)
            kind, marks = "text", shared
        if pieces and kind == "text" and pieces[-1][0] == "text" and pieces[-1][2] == marks:
            pieces[-1] = ("text", {"text": pieces[-1][1]["text"] + value["text"]}, marks)
        else:
            pieces.append((kind, value, marks))
    return pieces


def _neighbour(
    raw: Sequence[tuple[str, JsonDict, list[JsonDict]]], index: int, step: int
) -> list[JsonDict]:
    position = index + step
    while 0 <= position < len(raw):
        kind, _, marks = raw[position]
        if kind == "text":
            return marks
        if kind != "ws":
            return []
        position += step
    return []


def adf_to_wiki(doc: Any) -> tuple[str, list[str]]:
    """Render an ADF document as Jira wiki markup; returns ``(wiki, warnings)``."""
    renderer = _WikiRenderer()
    if not isinstance(doc, dict):
        renderer.warnings.add("ADF document is not a JSON object; nothing rendered")
        return "", renderer.warnings.as_list()
    nodes = doc.get("content") if doc.get("type") == "doc" else [doc]
    text = renderer.blocks(nodes if isinstance(nodes, list) else [])
    return text, renderer.warnings.as_list()
