"""Atlassian Document Format (Jira Cloud REST v3) <-> Markdown.

``adf_to_markdown`` renders any ADF document as CommonMark/GFM and never drops
content silently: what Markdown cannot carry (panels, mentions, media, colours,
merged table cells, unknown node types...) is rendered as close as Markdown
allows and named in the returned warnings. ``markdown_to_adf`` parses the
supported Markdown subset (paragraphs, headings, emphasis, strong, inline code,
strikethrough, links, nested bullet/ordered/task lists, fenced code, block
quotes, rules, hard breaks, simple GFM tables) into ADF; anything else (raw
HTML, images, footnotes, reference definitions) is kept as literal text and
named in the warnings.

The renderer emits one canonical Markdown form, so Markdown -> ADF -> Markdown
is stable after one pass. A soft line break in Markdown becomes an ADF
``hardBreak``: issue bodies written on GitHub and in Jira show line breaks as
typed, so the line structure is kept rather than folded into spaces.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from markdown_it import MarkdownIt
from markdown_it.tree import SyntaxTreeNode

__all__ = [
    "BLOCK_NODE_TYPES",
    "INLINE_NODE_TYPES",
    "Warnings",
    "adf_to_markdown",
    "markdown_to_adf",
    "plain_text",
]

JsonDict = dict[str, Any]

#: ADF node types that live inside paragraphs and headings.
INLINE_NODE_TYPES = frozenset(
    {
        "text",
        "hardBreak",
        "mention",
        "emoji",
        "inlineCard",
        "status",
        "date",
        "mediaInline",
        "placeholder",
        "inlineExtension",
    }
)

#: ADF block node types this module knows (anything else is "unknown").
BLOCK_NODE_TYPES = frozenset(
    {
        "doc",
        "paragraph",
        "heading",
        "bulletList",
        "orderedList",
        "listItem",
        "taskList",
        "taskItem",
        "decisionList",
        "decisionItem",
        "codeBlock",
        "blockquote",
        "rule",
        "table",
        "tableRow",
        "tableHeader",
        "tableCell",
        "panel",
        "expand",
        "nestedExpand",
        "mediaSingle",
        "mediaGroup",
        "media",
        "caption",
        "blockCard",
        "embedCard",
        "extension",
        "bodiedExtension",
        "layoutSection",
        "layoutColumn",
    }
)


class Warnings:
    """Ordered, de-duplicated conversion warnings (short stable strings)."""

    def __init__(self) -> None:
        self._seen: dict[str, None] = {}

    def add(self, message: str) -> None:
        """Record ``message`` once, keeping first-seen order."""
        self._seen.setdefault(message, None)

    def extend(self, messages: Iterable[str]) -> None:
        """Record every message of ``messages``."""
        for message in messages:
            self.add(message)

    def as_list(self) -> list[str]:
        """The warnings, first seen first."""
        return list(self._seen)


# --------------------------------------------------------------------------- #
# Small helpers over untrusted JSON
# --------------------------------------------------------------------------- #


def _type(node: Any) -> str:
    value = node.get("type") if isinstance(node, dict) else None
    return value if isinstance(value, str) else ""


def _children(node: Any) -> list[Any]:
    content = node.get("content") if isinstance(node, dict) else None
    return content if isinstance(content, list) else []


def _attrs(node: Any) -> JsonDict:
    attrs = node.get("attrs") if isinstance(node, dict) else None
    return attrs if isinstance(attrs, dict) else {}


def _str_attr(node: Any, name: str) -> str:
    value = _attrs(node).get(name)
    if value is None:
        return ""
    return value if isinstance(value, str) else str(value)


def _format_date(timestamp: str) -> str:
    try:
        moment = datetime.fromtimestamp(int(timestamp) / 1000, UTC)
    except (ValueError, OverflowError, OSError):
        return timestamp
    return moment.date().isoformat()


def plain_text(node: Any) -> str:
    """The human-readable text of an ADF node and its descendants."""
    kind = _type(node)
    if kind == "text":
        text = node.get("text")
        return text if isinstance(text, str) else ""
    if kind == "hardBreak":
        return "\n"
    if kind == "mention":
        text = _str_attr(node, "text") or _str_attr(node, "id")
        return text if text.startswith("@") else "@" + text
    if kind == "emoji":
        return _str_attr(node, "text") or _str_attr(node, "shortName")
    if kind in ("inlineCard", "blockCard", "embedCard"):
        return _str_attr(node, "url")
    if kind in ("status", "placeholder"):
        return _str_attr(node, "text")
    if kind == "date":
        return _format_date(_str_attr(node, "timestamp"))
    parts = [plain_text(child) for child in _children(node)]
    joiner = "" if all(_type(c) in INLINE_NODE_TYPES for c in _children(node)) else "\n"
    return joiner.join(p for p in parts if p)


# --------------------------------------------------------------------------- #
# Marks
# --------------------------------------------------------------------------- #

_MARK_ORDER = {"link": 0, "strong": 1, "em": 2, "strike": 3, "code": 4}


@dataclass(frozen=True)
class _Mark:
    kind: str
    href: str = ""
    title: str = ""

    def to_adf(self) -> JsonDict:
        if self.kind == "link":
            attrs: JsonDict = {"href": self.href}
            if self.title:
                attrs["title"] = self.title
            return {"type": "link", "attrs": attrs}
        return {"type": self.kind}


_CODE = _Mark("code")


def _sorted_marks(marks: Iterable[_Mark]) -> tuple[_Mark, ...]:
    return tuple(sorted(set(marks), key=lambda m: (_MARK_ORDER[m.kind], m.href, m.title)))


def _adf_text(text: str, marks: Iterable[_Mark]) -> JsonDict:
    node: JsonDict = {"type": "text", "text": text}
    ordered = _sorted_marks(marks)
    if ordered:
        node["marks"] = [m.to_adf() for m in ordered]
    return node


# --------------------------------------------------------------------------- #
# ADF -> Markdown
# --------------------------------------------------------------------------- #

_MD_ESCAPE = frozenset("\\`*_[]<|~")
_ENTITY_LIKE = re.compile(r"&(?=#[0-9]{1,7};|#[xX][0-9a-fA-F]{1,6};|[A-Za-z][A-Za-z0-9]{1,31};)")
_ORDERED_START = re.compile(r"\d{1,9}(?=[.)])")
_PLAIN_URL = re.compile(r"[^\s<>()\\]+")


_MD_ESCAPES = str.maketrans({c: "\\" + c for c in _MD_ESCAPE})


def _escape_md(text: str) -> str:
    escaped = text.translate(_MD_ESCAPES)
    if "&" not in escaped:
        return escaped
    return _ENTITY_LIKE.sub("\\\\&", escaped)


def _guard_line_start(line: str) -> str:
    """Escape what would start a block when it begins a paragraph line."""
    if not line:
        return line
    if line[0] in "#>+=-":
        return "\\" + line
    match = _ORDERED_START.match(line)
    if match:
        return line[: match.end()] + "\\" + line[match.end() :]
    return line


def _code_span(text: str, *, in_table: bool) -> str:
    if in_table:
        text = text.replace("|", "\\|")
    runs = [len(r) for r in re.findall(r"`+", text)]
    fence = "`" * (max(runs) + 1 if runs else 1)
    pad = (
        text.startswith("`")
        or text.endswith("`")
        or (text.startswith(" ") and text.endswith(" ") and text.strip(" ") != "")
    )
    space = " " if pad else ""
    return f"{fence}{space}{text}{space}{fence}"


def _link_destination(href: str) -> str:
    if _PLAIN_URL.fullmatch(href):
        return href
    inner = "".join("\\" + c if c in "<>\\" else c for c in href.replace("\n", " "))
    return f"<{inner}>"


def _link_close(mark: _Mark) -> str:
    title = ""
    if mark.title:
        escaped = mark.title.replace("\\", "\\\\").replace('"', '\\"')
        title = f' "{escaped}"'
    return f"]({_link_destination(mark.href)}{title})"


def _open_mark(mark: _Mark) -> str:
    return {"link": "[", "strong": "**", "em": "*", "strike": "~~"}[mark.kind]


def _close_mark(mark: _Mark) -> str:
    if mark.kind == "link":
        return _link_close(mark)
    return {"strong": "**", "em": "*", "strike": "~~"}[mark.kind]


@dataclass
class _Seg:
    """One inline run: ``text`` (with marks), ``ws``, ``raw`` Markdown or a ``break``."""

    kind: str
    text: str = ""
    marks: tuple[_Mark, ...] = ()


_LIST_TYPES = {"bulletList": "bullet", "orderedList": "ordered", "taskList": "bullet"}
_LIST_TYPES["decisionList"] = "bullet"


class _MarkdownRenderer:
    def __init__(self) -> None:
        self.warnings = Warnings()

    # -- blocks ---------------------------------------------------------- #

    def document(self, doc: Any) -> str:
        if not isinstance(doc, dict):
            self.warnings.add("ADF document is not a JSON object; nothing rendered")
            return ""
        if _type(doc) != "doc":
            return self.blocks([doc])
        return self.blocks(_children(doc))

    def blocks(self, nodes: Sequence[Any], *, in_item: bool = False) -> str:
        rendered: list[tuple[str, JsonDict | None]] = []
        prev_kind: str | None = None
        prev_alt = False
        pending_inline: list[Any] = []

        def flush_inline() -> None:
            nonlocal prev_kind
            if pending_inline:
                text = self.paragraph(list(pending_inline))
                pending_inline.clear()
                if text:
                    rendered.append((text, None))
                    prev_kind = None

        for node in nodes:
            if not isinstance(node, dict):
                self.warnings.add("invalid ADF node (not an object) ignored")
                continue
            kind = _type(node)
            if kind in INLINE_NODE_TYPES:
                pending_inline.append(node)
                continue
            flush_inline()
            list_kind = _LIST_TYPES.get(kind)
            alt = list_kind is not None and list_kind == prev_kind and not prev_alt
            text = self.block(node, alt=alt)
            if not text:
                continue
            rendered.append((text, node))
            prev_kind, prev_alt = list_kind, alt
        flush_inline()

        out: list[str] = []
        for index, (text, node) in enumerate(rendered):
            if index:
                prev_node = rendered[index - 1][1]
                tight = in_item and _tight_after(prev_node, node)
                out.append("\n" if tight else "\n\n")
            out.append(text)
        return "".join(out)

    def block(self, node: JsonDict, *, alt: bool = False) -> str:
        kind = _type(node)
        if kind == "paragraph":
            self._block_marks(node)
            return self.paragraph(_children(node))
        if kind == "heading":
            return self.heading(node)
        if kind in ("bulletList", "orderedList", "taskList", "decisionList"):
            return self.list_block(node, alt=alt)
        if kind == "codeBlock":
            return self.code_block(node)
        if kind == "blockquote":
            return self.quote(self.blocks(_children(node)))
        if kind == "rule":
            return "---"
        if kind == "table":
            return self.table(node)
        if kind == "panel":
            panel_type = _str_attr(node, "panelType") or "info"
            self.warnings.add(f"panel (type={panel_type}) rendered as blockquote")
            return self.quote(self.blocks(_children(node)))
        if kind in ("expand", "nestedExpand"):
            self.warnings.add(f"{kind} rendered as its title and content")
            title = _str_attr(node, "title")
            body = self.blocks(_children(node))
            head = self.paragraph([_text_node(title, "strong")]) if title.strip() else ""
            return "\n\n".join(p for p in (head, body) if p)
        if kind in ("mediaSingle", "mediaGroup"):
            self.warnings.add(f"{kind} rendered as attachment placeholder")
            return self.paragraph(_children(node))
        if kind == "media":
            return self.paragraph([node])
        if kind == "caption":
            return self.paragraph(_children(node))
        if kind in ("blockCard", "embedCard"):
            self.warnings.add(f"{kind} rendered as link")
            url = _str_attr(node, "url")
            return self.paragraph([_text_node(url, "link", href=url)]) if url else ""
        if kind == "extension":
            key = _str_attr(node, "extensionKey") or "unknown"
            self.warnings.add(f"extension ({key}) rendered as placeholder")
            return self.paragraph([_text_node(f"[extension: {key}]")])
        if kind == "bodiedExtension":
            key = _str_attr(node, "extensionKey") or "unknown"
            self.warnings.add(f"bodiedExtension ({key}) rendered as its content")
            return self.blocks(_children(node))
        if kind in ("layoutSection", "layoutColumn"):
            self.warnings.add(f"{kind} flattened")
            return self.blocks(_children(node))
        if kind in ("listItem", "taskItem", "decisionItem", "tableRow", "tableCell", "tableHeader"):
            self.warnings.add(f"{kind} outside its container rendered as text")
            return (
                self.blocks(_children(node))
                if kind in ("listItem", "tableCell")
                else (
                    self.paragraph(_children(node))
                    if kind in ("taskItem", "decisionItem")
                    else self.paragraph([_text_node(plain_text(node))])
                )
            )
        if kind == "doc":
            return self.blocks(_children(node))
        return self.unknown_block(node)

    def unknown_block(self, node: JsonDict) -> str:
        kind = _type(node) or "(missing type)"
        self.warnings.add(f"unknown node type '{kind}' rendered as text")
        children = _children(node)
        if children:
            if any(isinstance(c, dict) and _type(c) not in INLINE_NODE_TYPES for c in children):
                return self.blocks(children)
            return self.paragraph(children)
        text = _str_attr(node, "text")
        return self.paragraph([_text_node(text)]) if text else ""

    def _block_marks(self, node: JsonDict) -> None:
        for mark in node.get("marks") or []:
            name = _type(mark) or "(missing type)"
            self.warnings.add(f"{name} mark dropped")

    @staticmethod
    def _order(node: JsonDict) -> int:
        order = _attrs(node).get("order", 1)
        try:
            return max(0, int(order))
        except (TypeError, ValueError):
            return 1

    def paragraph(self, nodes: Sequence[Any]) -> str:
        segs: list[_Seg] = []
        self.collect(nodes, segs)
        while segs and segs[-1].kind == "break":
            segs.pop()
        text = self.inline(segs)
        lines = [_guard_line_start(line.lstrip(" \t")) for line in text.split("\n")]
        return "\n".join(lines).rstrip(" \t")

    def heading(self, node: JsonDict) -> str:
        self._block_marks(node)
        try:
            level = min(6, max(1, int(_attrs(node).get("level", 1))))
        except (TypeError, ValueError):
            level = 1
        segs: list[_Seg] = []
        self.collect(_children(node), segs)
        if any(s.kind == "break" for s in segs):
            self.warnings.add("hardBreak in heading rendered as space")
        segs = [_Seg("ws", " ") if s.kind == "break" else s for s in segs]
        text = self.inline(segs).strip(" \t")
        if text.endswith("#"):
            text = text[:-1] + "\\#"
        return ("#" * level + " " + text).rstrip()

    def code_block(self, node: JsonDict) -> str:
        text = "".join(
            c.get("text", "") if isinstance(c.get("text"), str) else ""
            for c in _children(node)
            if isinstance(c, dict)
        )
        language = _str_attr(node, "language").strip()
        language = language.split()[0] if language else ""
        runs = [len(r) for r in re.findall(r"^[ ]{0,3}(`+)", text, flags=re.M)]
        char = "~" if "`" in language else "`"
        if char == "~":
            runs = [len(r) for r in re.findall(r"^[ ]{0,3}(~+)", text, flags=re.M)]
        fence = char * max(3, max(runs, default=0) + 1)
        if not text:
            return f"{fence}{language}\n{fence}"
        return f"{fence}{language}\n{text}\n{fence}"

    @staticmethod
    def quote(body: str) -> str:
        if not body:
            return ""
        return "\n".join("> " + line if line else ">" for line in body.split("\n"))

    def list_block(self, node: JsonDict, *, alt: bool) -> str:
        kind = _type(node)
        if kind == "decisionList":
            self.warnings.add("decisionList rendered as bullet list")
        bullet = "*" if alt else "-"
        delim = ")" if alt else "."
        number = self._order(node)
        items: list[str] = []
        for child in _children(node):
            if not isinstance(child, dict):
                self.warnings.add("invalid ADF node (not an object) ignored")
                continue
            child_kind = _type(child)
            if kind == "taskList" and child_kind == "taskList":
                nested = self._indent(self.list_block(child, alt=False), 2)
                if items:
                    items[-1] = f"{items[-1]}\n{nested}" if nested else items[-1]
                elif nested:
                    items.append(f"{bullet} [ ]\n{nested}")
                continue
            if kind == "orderedList":
                marker = f"{number}{delim} "
                number += 1
            else:
                marker = f"{bullet} "
            if child_kind == "taskItem":
                box = "[x]" if _str_attr(child, "state").upper() == "DONE" else "[ ]"
                text = self.paragraph(_children(child))
                body = f"{box} {text}" if text else box
            elif child_kind == "decisionItem":
                body = self.paragraph(_children(child))
            elif child_kind == "listItem":
                body = self.blocks(_children(child), in_item=True)
            else:
                self.warnings.add(
                    f"{child_kind or '(missing type)'} inside {kind} rendered as item"
                )
                body = self.blocks([child], in_item=True)
            lines = body.split("\n")
            first = (marker + lines[0]).rstrip() if lines[0] else marker.rstrip()
            rest = self._indent("\n".join(lines[1:]), len(marker)) if len(lines) > 1 else ""
            items.append(f"{first}\n{rest}" if len(lines) > 1 else first)
        return "\n".join(items)

    @staticmethod
    def _indent(text: str, width: int) -> str:
        pad = " " * width
        return "\n".join(pad + line if line else "" for line in text.split("\n"))

    def table(self, node: JsonDict) -> str:
        rows: list[list[str]] = []
        header_row = False
        for r_index, row in enumerate(_children(node)):
            if _type(row) != "tableRow":
                self.warnings.add(f"{_type(row) or '(missing type)'} inside table rendered as row")
                rows.append([self.cell_text([row])])
                continue
            cells: list[str] = []
            all_header = bool(_children(row))
            for cell in _children(row):
                if _type(cell) != "tableHeader":
                    all_header = False
                attrs = _attrs(cell)
                colspan = _int(attrs.get("colspan"), 1)
                rowspan = _int(attrs.get("rowspan"), 1)
                if colspan > 1 or rowspan > 1:
                    self.warnings.add(
                        "table merged cells (colspan/rowspan) split into single cells"
                    )
                if attrs.get("background"):
                    self.warnings.add("table cell background dropped")
                cells.append(self.cell_text(_children(cell)))
                cells.extend([""] * (colspan - 1))
            if r_index == 0:
                header_row = all_header
            rows.append(cells)
        if not rows:
            self.warnings.add("empty table dropped")
            return ""
        if _attrs(node).get("isNumberColumnEnabled"):
            self.warnings.add("table number column dropped")
        width = max(len(r) for r in rows)
        if width == 0:
            self.warnings.add("empty table dropped")
            return ""
        if not header_row:
            self.warnings.add("table without header row: empty header row added")
            rows.insert(0, [""] * width)
        lines = []
        for index, row in enumerate(rows):
            row = row + [""] * (width - len(row))
            lines.append("| " + " | ".join(row) + " |")
            if index == 0:
                lines.append("| " + " | ".join(["---"] * width) + " |")
        return "\n".join(lines)

    def cell_text(self, blocks: Sequence[Any]) -> str:
        parts: list[str] = []
        for block in blocks:
            kind = _type(block)
            segs: list[_Seg] = []
            if kind == "paragraph":
                self.collect(_children(block), segs)
            elif kind in INLINE_NODE_TYPES:
                self.collect([block], segs)
            else:
                self.warnings.add(f"{kind or '(missing type)'} in table cell flattened to text")
                self.collect([_text_node(plain_text(block).replace("\n", " "))], segs)
            if any(s.kind == "break" for s in segs):
                self.warnings.add("hardBreak in table cell rendered as space")
            segs = [_Seg("ws", " ") if s.kind == "break" else s for s in segs]
            text = self.inline(segs, in_table=True).strip()
            if text:
                parts.append(text)
        return " ".join(parts)

    # -- inline ---------------------------------------------------------- #

    def marks(self, raw: Any) -> tuple[_Mark, ...]:
        marks: list[_Mark] = []
        for mark in raw if isinstance(raw, list) else []:
            kind = _type(mark)
            if kind in ("strong", "em", "strike", "code"):
                marks.append(_Mark(kind))
            elif kind == "link":
                marks.append(_Mark("link", _str_attr(mark, "href"), _str_attr(mark, "title")))
            elif kind == "subsup":
                sub = _str_attr(mark, "type") or "sup"
                self.warnings.add(f"subsup mark ({sub}) dropped")
            else:
                self.warnings.add(f"{kind or '(missing type)'} mark dropped")
        if _CODE in marks and any(m.kind not in ("code", "link") for m in marks):
            # Markdown can't nest emphasis inside a code span; ADF forbids it too.
            self.warnings.add("formatting on inline code dropped")
            marks = [m for m in marks if m.kind in ("code", "link")]
        links = [m for m in marks if m.kind == "link"]
        if len(links) > 1:
            marks = [m for m in marks if m.kind != "link"] + links[:1]
        return _sorted_marks(marks)

    def collect(self, nodes: Sequence[Any], out: list[_Seg]) -> None:
        for node in nodes:
            if not isinstance(node, dict):
                self.warnings.add("invalid ADF node (not an object) ignored")
                continue
            kind = _type(node)
            if kind == "text":
                text = node.get("text")
                text = text if isinstance(text, str) else ""
                marks = self.marks(node.get("marks"))
                for index, part in enumerate(text.split("\n")):
                    if index:
                        out.append(_Seg("break"))
                    if part:
                        out.append(_Seg("text", part, marks))
            elif kind == "hardBreak":
                out.append(_Seg("break"))
            elif kind == "mention":
                self.warnings.add("mention rendered as text")
                out.append(_Seg("raw", _escape_md(plain_text(node))))
            elif kind == "emoji":
                out.append(_Seg("raw", _escape_md(plain_text(node))))
            elif kind == "inlineCard":
                self.warnings.add("inlineCard rendered as link")
                url = _str_attr(node, "url")
                if url:
                    out.append(_Seg("text", url, (_Mark("link", url),)))
            elif kind in ("status", "placeholder", "date"):
                self.warnings.add(f"{kind} rendered as text")
                text = plain_text(node)
                if text:
                    out.append(_Seg("text", text, ()))
            elif kind in ("media", "mediaInline"):
                self.warnings.add(f"{kind} rendered as attachment placeholder")
                out.append(_Seg("raw", _media_placeholder(node)))
            elif kind == "inlineExtension":
                key = _str_attr(node, "extensionKey") or "unknown"
                self.warnings.add(f"inlineExtension ({key}) rendered as placeholder")
                out.append(_Seg("text", f"[extension: {key}]", ()))
            elif kind in ("paragraph", "caption", "heading"):
                if out:
                    out.append(_Seg("break"))
                self.collect(_children(node), out)
            elif kind in BLOCK_NODE_TYPES:
                self.warnings.add(f"{kind} inside inline content rendered as text")
                text = plain_text(node)
                if text:
                    out.append(_Seg("text", text, ()))
            else:
                self.warnings.add(
                    f"unknown node type '{kind or '(missing type)'}' rendered as text"
                )
                if _children(node):
                    self.collect(_children(node), out)
                elif _str_attr(node, "text"):
                    out.append(_Seg("text", _str_attr(node, "text"), ()))

    def inline(self, segs: Sequence[_Seg], *, in_table: bool = False) -> str:
        pieces = _split_whitespace(segs)
        out: list[str] = []
        stack: list[_Mark] = []

        def close_to(depth: int) -> None:
            while len(stack) > depth:
                out.append(_close_mark(stack.pop()))

        for piece in pieces:
            if piece.kind == "break":
                close_to(0)
                text = "".join(out).rstrip(" \t")
                out[:] = [text, "\\\n"]
                continue
            if piece.kind == "raw":
                close_to(0)
                out.append(piece.text)
                continue
            desired = [m for m in piece.marks if m.kind != "code"]
            keep = 0
            while keep < len(stack) and keep < len(desired) and stack[keep] == desired[keep]:
                keep += 1
            close_to(keep)
            for mark in desired[keep:]:
                out.append(_open_mark(mark))
                stack.append(mark)
            if _CODE in piece.marks:
                out.append(_code_span(piece.text, in_table=in_table))
            else:
                out.append(_escape_md(piece.text))
        close_to(0)
        return "".join(out)


def _tight_after(prev: JsonDict | None, node: JsonDict | None) -> bool:
    """A list may follow a paragraph line directly (CommonMark interruption rules)."""
    if node is None or (prev is not None and _type(prev) != "paragraph"):
        return False
    if _type(node) in ("bulletList", "taskList", "decisionList"):
        return True
    return _type(node) == "orderedList" and _MarkdownRenderer._order(node) == 1


def _int(value: Any, default: int) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def _text_node(text: str, *marks: str, href: str = "") -> JsonDict:
    node: JsonDict = {"type": "text", "text": text}
    adf_marks: list[JsonDict] = []
    for mark in marks:
        adf_marks.append(
            {"type": "link", "attrs": {"href": href}} if mark == "link" else {"type": mark}
        )
    if adf_marks:
        node["marks"] = adf_marks
    return node


def _media_placeholder(node: JsonDict) -> str:
    alt = _str_attr(node, "alt")
    if _str_attr(node, "type") == "external" and _str_attr(node, "url"):
        target = _str_attr(node, "url")
    else:
        target = "media:" + (_str_attr(node, "id") or _str_attr(node, "url") or "unknown")
    return f"![{_escape_md(alt or 'attachment')}]({_link_destination(target)})"


def _intersect(a: tuple[_Mark, ...], b: tuple[_Mark, ...]) -> tuple[_Mark, ...]:
    """The common leading marks: what stays open across a whitespace run."""
    shared: list[_Mark] = []
    for left, right in zip(a, b, strict=False):
        if left != right or left == _CODE:
            break
        shared.append(left)
    return tuple(shared)


def _split_whitespace(segs: Sequence[_Seg]) -> list[_Seg]:
    """Move whitespace outside emphasis delimiters (CommonMark flanking rules)."""
    pieces: list[_Seg] = []
    for seg in segs:
        if seg.kind == "ws":
            pieces.append(_Seg("ws", seg.text))
        elif seg.kind == "text" and _CODE not in seg.marks:
            core = seg.text.strip()
            if not core:
                pieces.append(_Seg("ws", seg.text))
                continue
            start = seg.text.index(core)
            lead, trail = seg.text[:start], seg.text[start + len(core) :]
            if lead:
                pieces.append(_Seg("ws", lead))
            pieces.append(_Seg("text", core, seg.marks))
            if trail:
                pieces.append(_Seg("ws", trail))
        else:
            pieces.append(seg)
    # A whitespace run keeps only the marks shared by its neighbours.
    for index, piece in enumerate(pieces):
        if piece.kind != "ws":
            continue
        before = _neighbour_marks(pieces, index, -1)
        after = _neighbour_marks(pieces, index, 1)
        pieces[index] = _Seg("text", piece.text, _intersect(before, after))
    merged: list[_Seg] = []
    for piece in pieces:
        if (
            merged
            and piece.kind == "text"
            and merged[-1].kind == "text"
            and merged[-1].marks == piece.marks
        ):
            merged[-1] = _Seg("text", merged[-1].text + piece.text, piece.marks)
        else:
            merged.append(piece)
    return merged


def _neighbour_marks(pieces: Sequence[_Seg], index: int, step: int) -> tuple[_Mark, ...]:
    position = index + step
    while 0 <= position < len(pieces):
        piece = pieces[position]
        if piece.kind == "text":
            return piece.marks
        if piece.kind != "ws":
            return ()
        position += step
    return ()


def adf_to_markdown(doc: Any) -> tuple[str, list[str]]:
    """Render an ADF document as Markdown; returns ``(markdown, warnings)``.

    Never raises on malformed input: invalid nodes are skipped with a warning.
    """
    renderer = _MarkdownRenderer()
    markdown = renderer.document(doc)
    return markdown, renderer.warnings.as_list()


# --------------------------------------------------------------------------- #
# Markdown -> ADF
# --------------------------------------------------------------------------- #

_TASK_PREFIX = re.compile(r"\[([ xX])\](?:[ \t]+|$)")
_FOOTNOTE = re.compile(r"(?<!\\)\[\^[A-Za-z0-9_-]+\](?!\()")
_MARK_OF_NODE = {"strong": "strong", "em": "em", "s": "strike"}
_LIST_ITEM_BLOCKS = frozenset(
    {"paragraph", "bulletList", "orderedList", "codeBlock", "mediaSingle"}
)
_QUOTE_BLOCKS = frozenset({"paragraph", "bulletList", "orderedList", "codeBlock", "mediaSingle"})


def _markdown_parser() -> MarkdownIt:
    return MarkdownIt("commonmark").enable(["table", "strikethrough"])


_PARSER = _markdown_parser()


class _AdfBuilder:
    def __init__(self) -> None:
        self.warnings = Warnings()
        self._local_ids = 0

    def _local_id(self) -> str:
        self._local_ids += 1
        return f"task-{self._local_ids}"

    def blocks(self, nodes: Sequence[SyntaxTreeNode]) -> list[JsonDict]:
        out: list[JsonDict] = []
        for node in nodes:
            out.extend(self.block(node))
        return out

    def block(self, node: SyntaxTreeNode) -> list[JsonDict]:
        kind = node.type
        if kind == "paragraph":
            return [{"type": "paragraph", "content": self.inline_of(node)}]
        if kind == "heading":
            level = int(node.tag[1:]) if node.tag[1:].isdigit() else 1
            return [{"type": "heading", "attrs": {"level": level}, "content": self.inline_of(node)}]
        if kind in ("fence", "code_block"):
            info = (node.info or "").strip()
            language = info.split()[0] if info else ""
            text = node.content
            if text.endswith("\n"):
                text = text[:-1]
            block: JsonDict = {"type": "codeBlock"}
            if language:
                block["attrs"] = {"language": language}
            block["content"] = [{"type": "text", "text": text}] if text else []
            return [block]
        if kind == "hr":
            return [{"type": "rule"}]
        if kind == "blockquote":
            inner = self.blocks(node.children)
            return [
                {"type": "blockquote", "content": self.restrict(inner, _QUOTE_BLOCKS, "blockquote")}
            ]
        if kind == "bullet_list":
            return [self.bullet_list(node)]
        if kind == "ordered_list":
            start = _int(node.attrs.get("start", 1), 1)
            return [
                {
                    "type": "orderedList",
                    "attrs": {"order": start},
                    "content": [self.list_item(item) for item in node.children],
                }
            ]
        if kind == "table":
            return [self.table(node)]
        if kind == "html_block":
            self.warnings.add("raw HTML kept as text")
            text = node.content.rstrip("\n")
            return [self.literal_paragraph(text)] if text else []
        self.warnings.add(f"Markdown {kind} kept as text")
        return [self.literal_paragraph(node.content)] if node.content else []

    @staticmethod
    def literal_paragraph(text: str) -> JsonDict:
        content: list[JsonDict] = []
        for index, line in enumerate(text.split("\n")):
            if index:
                content.append({"type": "hardBreak"})
            if line:
                content.append({"type": "text", "text": line})
        return {"type": "paragraph", "content": content}

    def restrict(
        self, blocks: list[JsonDict], allowed: frozenset[str], where: str
    ) -> list[JsonDict]:
        """Keep ADF valid: blocks a container can't hold become paragraphs."""
        out: list[JsonDict] = []
        for block in blocks:
            kind = _type(block)
            if kind in allowed:
                out.append(block)
            elif kind == "heading":
                self.warnings.add(f"heading in {where} rendered as bold paragraph")
                content = [
                    {**c, "marks": [*c.get("marks", []), {"type": "strong"}]}
                    if c.get("type") == "text"
                    and not any(m.get("type") == "code" for m in c.get("marks", []))
                    else c
                    for c in _children(block)
                ]
                out.append({"type": "paragraph", "content": content})
            elif kind == "blockquote" and where != "blockquote" and "blockquote" in allowed:
                out.append(block)
            elif kind in ("blockquote", "taskList") and kind not in allowed:
                self.warnings.add(f"{kind} in {where} flattened")
                out.extend(self.restrict(_children(block), allowed, where))
            else:
                self.warnings.add(f"{kind} in {where} flattened to text")
                out.append(self.literal_paragraph(plain_text(block)))
        return out

    def list_item(self, item: SyntaxTreeNode) -> JsonDict:
        content = self.restrict(self.blocks(item.children), _LIST_ITEM_BLOCKS, "list item")
        if not content or _type(content[0]) not in ("paragraph", "codeBlock", "mediaSingle"):
            # ADF requires a list item to open with a paragraph.
            content.insert(0, {"type": "paragraph", "content": []})
        return {"type": "listItem", "content": content}

    def bullet_list(self, node: SyntaxTreeNode) -> JsonDict:
        if node.children and all(self._is_task(item) for item in node.children):
            return self.task_list(node)
        return {"type": "bulletList", "content": [self.list_item(i) for i in node.children]}

    @staticmethod
    def _is_task(item: SyntaxTreeNode) -> bool:
        children = item.children
        if not children or children[0].type != "paragraph":
            return False
        inline = children[0].children[0] if children[0].children else None
        if inline is None or not _TASK_PREFIX.match(inline.content):
            return False
        first = inline.children[0] if inline.children else None
        if first is None or first.type != "text" or not _TASK_PREFIX.match(first.content):
            return False
        return all(c.type == "bullet_list" for c in children[1:])

    def task_list(self, node: SyntaxTreeNode) -> JsonDict:
        content: list[JsonDict] = []
        for item in node.children:
            paragraph = item.children[0]
            inline = self.inline_of(paragraph)
            first = inline[0]
            match = _TASK_PREFIX.match(first["text"])
            assert match is not None  # guaranteed by _is_task
            rest = first["text"][match.end() :]
            if rest:
                inline[0] = {**first, "text": rest}
            else:
                inline.pop(0)
            state = "DONE" if match.group(1) in "xX" else "TODO"
            content.append(
                {
                    "type": "taskItem",
                    "attrs": {"localId": self._local_id(), "state": state},
                    "content": inline,
                }
            )
            for nested in item.children[1:]:
                built = self.bullet_list(nested)
                if built["type"] == "taskList":
                    content.append(built)
                else:
                    self.warnings.add("bullet list inside task list rendered as tasks")
                    content.append(self._as_tasks(built))
        return {"type": "taskList", "attrs": {"localId": self._local_id()}, "content": content}

    def _as_tasks(self, bullet: JsonDict) -> JsonDict:
        items: list[JsonDict] = []
        for item in _children(bullet):
            blocks = _children(item)
            first = blocks[0] if blocks else {"content": []}
            items.append(
                {
                    "type": "taskItem",
                    "attrs": {"localId": self._local_id(), "state": "TODO"},
                    "content": _children(first),
                }
            )
        return {"type": "taskList", "attrs": {"localId": self._local_id()}, "content": items}

    def table(self, node: SyntaxTreeNode) -> JsonDict:
        rows: list[JsonDict] = []
        width = 0
        for section in node.children:
            for tr in section.children:
                cells: list[JsonDict] = []
                for cell in tr.children:
                    if "text-align" in str(cell.attrs.get("style", "")):
                        self.warnings.add("table column alignment dropped")
                    cell_type = "tableHeader" if cell.type == "th" else "tableCell"
                    cells.append(
                        {
                            "type": cell_type,
                            "attrs": {},
                            "content": [{"type": "paragraph", "content": self.inline_of(cell)}],
                        }
                    )
                width = max(width, len(cells))
                rows.append({"type": "tableRow", "content": cells})
        return {
            "type": "table",
            "attrs": {"isNumberColumnEnabled": False, "layout": "default"},
            "content": rows,
        }

    # -- inline ---------------------------------------------------------- #

    def inline_of(self, node: SyntaxTreeNode) -> list[JsonDict]:
        out: list[JsonDict] = []
        for child in node.children:
            if child.type == "inline":
                if _FOOTNOTE.search(child.content):
                    self.warnings.add("footnote kept as text")
                self.inline(child.children, (), out)
        return _merge_text(out)

    def inline(
        self, nodes: Sequence[SyntaxTreeNode], marks: tuple[_Mark, ...], out: list[JsonDict]
    ) -> None:
        for node in nodes:
            kind = node.type
            if kind == "text":
                if node.content:
                    out.append(_adf_text(node.content, marks))
            elif kind in ("softbreak", "hardbreak"):
                out.append({"type": "hardBreak"})
            elif kind == "code_inline":
                extra = [m for m in marks if m.kind != "link"]
                if extra:
                    self.warnings.add("formatting on inline code dropped")
                if node.content:
                    kept = (*tuple(m for m in marks if m.kind == "link"), _CODE)
                    out.append(_adf_text(node.content, kept))
            elif kind in _MARK_OF_NODE:
                mark = _Mark(_MARK_OF_NODE[kind])
                self.inline(node.children, (*marks, mark), out)
            elif kind == "link":
                href = str(node.attrs.get("href", ""))
                title = str(node.attrs.get("title", "") or "")
                inner = tuple(m for m in marks if m.kind != "link")
                self.inline(node.children, (*inner, _Mark("link", href, title)), out)
            elif kind == "image":
                self.warnings.add("image kept as text")
                alt = "".join(c.content for c in node.children if c.type == "text")
                src = str(node.attrs.get("src", ""))
                out.append(_adf_text(f"![{alt}]({src})", marks))
            elif kind == "html_inline":
                self.warnings.add("raw HTML kept as text")
                out.append(_adf_text(node.content, marks))
            else:
                self.warnings.add(f"Markdown {kind} kept as text")
                if node.content:
                    out.append(_adf_text(node.content, marks))


def _merge_text(nodes: list[JsonDict]) -> list[JsonDict]:
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


def markdown_to_adf(markdown: str) -> tuple[JsonDict, list[str]]:
    """Parse Markdown (the supported subset) into an ADF document.

    Returns ``(doc, warnings)``; constructs outside the subset are kept as
    literal text and named in ``warnings``.
    """
    builder = _AdfBuilder()
    env: dict[str, Any] = {}
    tokens = _PARSER.parse(markdown, env)
    if env.get("references"):
        builder.warnings.add("link reference definitions resolved into links and removed")
    tree = SyntaxTreeNode(tokens)
    content = builder.blocks(tree.children)
    return {"type": "doc", "version": 1, "content": content}, builder.warnings.as_list()
