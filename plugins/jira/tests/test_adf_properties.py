"""Properties of ADF <-> Markdown: stable round trips, nothing dropped silently."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from hypothesis import given
from hypothesis import strategies as st
from kradle_provider_jira.adf import (
    BLOCK_NODE_TYPES,
    INLINE_NODE_TYPES,
    adf_to_markdown,
    markdown_to_adf,
)
from richtext_strategies import documents, plain_words

JsonDict = dict[str, Any]


@given(documents())
def test_markdown_to_adf_to_markdown_is_stable_on_the_subset(doc: JsonDict) -> None:
    md, render_warnings = adf_to_markdown(doc)
    assert render_warnings == []
    adf1, warnings1 = markdown_to_adf(md)
    md1, warnings2 = adf_to_markdown(adf1)
    adf2, warnings3 = markdown_to_adf(md1)
    md2, warnings4 = adf_to_markdown(adf2)
    assert md2 == md1
    assert adf2 == adf1
    assert warnings1 == warnings2 == warnings3 == warnings4 == []
    # Canonical Markdown is a fixed point, not merely stable after one pass.
    assert md1 == md


def _text(words: list[str]) -> JsonDict:
    return {"type": "text", "text": " ".join(words)}


texts = st.lists(plain_words, min_size=1, max_size=3).map(_text)


def _para(children: list[JsonDict]) -> JsonDict:
    return {"type": "paragraph", "content": children}


UNSUPPORTED_INLINE: dict[str, Callable[[JsonDict], JsonDict]] = {
    "mention": lambda t: {"type": "mention", "attrs": {"id": "acc-1", "text": "@Someone"}},
    "status": lambda t: {"type": "status", "attrs": {"text": "DONE", "color": "green"}},
    "date": lambda t: {"type": "date", "attrs": {"timestamp": "1700000000000"}},
    "inlineCard": lambda t: {"type": "inlineCard", "attrs": {"url": "https://x.example"}},
    "mediaInline": lambda t: {"type": "mediaInline", "attrs": {"id": "m", "type": "file"}},
    "placeholder": lambda t: {"type": "placeholder", "attrs": {"text": "type here"}},
    "inlineExtension": lambda t: {"type": "inlineExtension", "attrs": {"extensionKey": "k"}},
}

UNSUPPORTED_BLOCK: dict[str, Callable[[JsonDict], JsonDict]] = {
    "panel": lambda t: {"type": "panel", "attrs": {"panelType": "info"}, "content": [_para([t])]},
    "expand": lambda t: {"type": "expand", "attrs": {"title": "T"}, "content": [_para([t])]},
    "nestedExpand": lambda t: {"type": "nestedExpand", "attrs": {}, "content": [_para([t])]},
    "decisionList": lambda t: {
        "type": "decisionList",
        "attrs": {"localId": "d"},
        "content": [
            {"type": "decisionItem", "attrs": {"localId": "i", "state": "DECIDED"}, "content": [t]}
        ],
    },
    "mediaSingle": lambda t: {
        "type": "mediaSingle",
        "content": [{"type": "media", "attrs": {"id": "f", "type": "file", "collection": ""}}],
    },
    "mediaGroup": lambda t: {
        "type": "mediaGroup",
        "content": [{"type": "media", "attrs": {"id": "g", "type": "file", "collection": ""}}],
    },
    "blockCard": lambda t: {"type": "blockCard", "attrs": {"url": "https://x.example/card"}},
    "extension": lambda t: {"type": "extension", "attrs": {"extensionKey": "macro"}},
    "bodiedExtension": lambda t: {
        "type": "bodiedExtension",
        "attrs": {"extensionKey": "box"},
        "content": [_para([t])],
    },
    "layoutSection": lambda t: {
        "type": "layoutSection",
        "content": [{"type": "layoutColumn", "attrs": {"width": 50}, "content": [_para([t])]}],
    },
}

# Unsupported block builders above that embed the generated text node.
CARRY_TEXT = {"panel", "expand", "nestedExpand", "decisionList", "bodiedExtension", "layoutSection"}

unknown_types = (
    st.text(st.sampled_from(list("qwzvk")), min_size=3, max_size=8)
    .map(lambda s: "x" + s)
    .filter(lambda s: s not in BLOCK_NODE_TYPES and s not in INLINE_NODE_TYPES)
)


@st.composite
def lossy_documents(draw: st.DrawFn) -> tuple[JsonDict, set[str], list[str]]:
    """A document mixing plain paragraphs with unsupported nodes.

    Returns the document, the unsupported node types it contains and the text
    of every text node in it.
    """
    blocks: list[JsonDict] = []
    used: set[str] = set()
    words: list[str] = []
    for _ in range(draw(st.integers(1, 6))):
        text = draw(texts)
        words.append(text["text"])
        choice = draw(
            st.sampled_from(["plain", "inline", "block", "unknown-block", "unknown-inline"])
        )
        if choice == "plain":
            blocks.append(_para([text]))
        elif choice == "inline":
            name = draw(st.sampled_from(sorted(UNSUPPORTED_INLINE)))
            used.add(name)
            blocks.append(
                _para([text, {"type": "text", "text": " "}, UNSUPPORTED_INLINE[name](text)])
            )
        elif choice == "block":
            name = draw(st.sampled_from(sorted(UNSUPPORTED_BLOCK)))
            used.add(name)
            node = UNSUPPORTED_BLOCK[name](text)
            blocks.append(node)
            if name not in CARRY_TEXT:
                blocks.append(_para([text]))
        elif choice == "unknown-block":
            name = draw(unknown_types)
            used.add(name)
            blocks.append({"type": name, "content": [_para([text])]})
        else:
            name = draw(unknown_types)
            used.add(name)
            blocks.append(_para([{"type": name, "content": [text]}]))
    return {"type": "doc", "version": 1, "content": blocks}, used, words


@given(lossy_documents())
def test_unsupported_nodes_always_warn_and_keep_text(
    case: tuple[JsonDict, set[str], list[str]],
) -> None:
    doc, used, words = case
    md, warnings = adf_to_markdown(doc)
    for node_type in used:
        assert any(node_type in w for w in warnings), (node_type, warnings)
    for text in words:
        assert text in md
    if not used:
        assert warnings == []
