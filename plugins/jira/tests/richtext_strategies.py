"""Hypothesis strategies: ADF documents built from the supported Markdown subset.

Documents are generated as ADF (the subset's AST) and rendered to Markdown by
the converter under test, so the properties exercise canonical Markdown.
"""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

JsonDict = dict[str, Any]

# Letters plus the punctuation both markups must escape.
TRICKY = "*_[]`\\#<>|~&!-+.()=:{}^?"
WORD_ALPHABET = st.sampled_from(list("abcXYZ019") + list(TRICKY))
words = st.text(WORD_ALPHABET, min_size=1, max_size=6)
plain_words = st.text(st.sampled_from(list("abcdefxyz0123")), min_size=1, max_size=8)

MARK_SETS: list[tuple[str, ...]] = [
    (),
    ("strong",),
    ("em",),
    ("strike",),
    ("code",),
    ("link",),
    ("strong", "em"),
    ("em", "strike"),
    ("link", "strong"),
    ("link", "code"),
]


def _marks(names: tuple[str, ...], href: str, title: str) -> list[JsonDict]:
    marks: list[JsonDict] = []
    for name in names:
        if name == "link":
            attrs: JsonDict = {"href": href}
            if title:
                attrs["title"] = title
            marks.append({"type": "link", "attrs": attrs})
        else:
            marks.append({"type": name})
    return marks


@st.composite
def inline_content(draw: st.DrawFn, *, breaks: bool = True, titles: bool = True) -> list[JsonDict]:
    """Text runs separated by spaces (or hard breaks), each with a mark set."""
    nodes: list[JsonDict] = []
    for index in range(draw(st.integers(1, 4))):
        if index:
            if breaks and draw(st.booleans()) and draw(st.booleans()):
                nodes.append({"type": "hardBreak"})
            else:
                nodes.append({"type": "text", "text": " "})
        names = draw(st.sampled_from(MARK_SETS))
        text = " ".join(draw(st.lists(words, min_size=1, max_size=3)))
        href = "https://example.com/" + draw(plain_words)
        title = draw(plain_words) if titles and draw(st.booleans()) else ""
        node: JsonDict = {"type": "text", "text": text}
        if names:
            node["marks"] = _marks(names, href, title)
        nodes.append(node)
    return nodes


def paragraph(*, breaks: bool = True, titles: bool = True) -> st.SearchStrategy[JsonDict]:
    return inline_content(breaks=breaks, titles=titles).map(
        lambda c: {"type": "paragraph", "content": c}
    )


def heading(*, titles: bool = True) -> st.SearchStrategy[JsonDict]:
    return st.builds(
        lambda level, content: {"type": "heading", "attrs": {"level": level}, "content": content},
        st.integers(1, 6),
        inline_content(breaks=False, titles=titles),
    )


code_text = st.lists(
    st.text(st.sampled_from(list("ab {}x=;`~#*-\t")), max_size=10), min_size=1, max_size=3
).map("\n".join)


def code_block() -> st.SearchStrategy[JsonDict]:
    def build(language: str, text: str) -> JsonDict:
        node: JsonDict = {"type": "codeBlock"}
        if language:
            node["attrs"] = {"language": language}
        node["content"] = [{"type": "text", "text": text}] if text else []
        return node

    return st.builds(build, st.sampled_from(["", "python", "js", "c++"]), code_text)


def lists(depth: int, *, ordered_starts: bool, titles: bool) -> st.SearchStrategy[JsonDict]:
    def item(children: list[JsonDict]) -> JsonDict:
        return {"type": "listItem", "content": children}

    nested: st.SearchStrategy[list[JsonDict]] = st.just([])
    if depth > 0:
        nested = st.lists(
            lists(depth - 1, ordered_starts=ordered_starts, titles=titles), max_size=1
        )
    items = st.lists(
        st.builds(lambda p, n: item([p, *n]), paragraph(titles=titles), nested),
        min_size=1,
        max_size=3,
    )
    start = st.integers(1, 12) if ordered_starts else st.just(1)
    bullet = items.map(lambda xs: {"type": "bulletList", "content": xs})
    ordered = st.builds(
        lambda xs, n: {"type": "orderedList", "attrs": {"order": n}, "content": xs}, items, start
    )
    return st.one_of(bullet, ordered)


def table(*, titles: bool = True) -> st.SearchStrategy[JsonDict]:
    def cell(kind: str, content: list[JsonDict]) -> JsonDict:
        return {"type": kind, "attrs": {}, "content": [{"type": "paragraph", "content": content}]}

    @st.composite
    def build(draw: st.DrawFn) -> JsonDict:
        width = draw(st.integers(1, 3))
        inline = inline_content(breaks=False, titles=titles)
        rows = [
            {
                "type": "tableRow",
                "content": [cell("tableHeader", draw(inline)) for _ in range(width)],
            }
        ]
        for _ in range(draw(st.integers(0, 2))):
            rows.append(
                {
                    "type": "tableRow",
                    "content": [cell("tableCell", draw(inline)) for _ in range(width)],
                }
            )
        return {
            "type": "table",
            "attrs": {"isNumberColumnEnabled": False, "layout": "default"},
            "content": rows,
        }

    return build()


def documents(*, ordered_starts: bool = True, titles: bool = True) -> st.SearchStrategy[JsonDict]:
    """ADF documents using only constructs of the supported Markdown subset."""
    quote_inner = st.one_of(
        paragraph(titles=titles),
        code_block(),
        lists(1, ordered_starts=ordered_starts, titles=titles),
    )
    block = st.one_of(
        paragraph(titles=titles),
        heading(titles=titles),
        code_block(),
        st.just({"type": "rule"}),
        lists(2, ordered_starts=ordered_starts, titles=titles),
        st.lists(quote_inner, min_size=1, max_size=3).map(
            lambda c: {"type": "blockquote", "content": c}
        ),
        table(titles=titles),
    )
    return st.lists(block, min_size=1, max_size=5).map(
        lambda c: {"type": "doc", "version": 1, "content": c}
    )
