"""Synthetic idempotency markers (kradle_providers.http.idempotency), shared by every plugin."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kradle_providers.errors import InvalidInput
from kradle_providers.http import (
    IDEMPOTENCY_MARKER_PREFIX,
    carries_idempotency_key,
    check_idempotency_key,
    marked_rich_text,
    with_idempotency_marker,
)

_keys = st.text(alphabet=st.sampled_from("abcdefXYZ0189._:/+=@-"), min_size=1, max_size=60).filter(
    lambda k: "--" not in k
)


@given(body=st.one_of(st.none(), st.text(max_size=200)), key=_keys)
def test_marker_round_trip(body: str | None, key: str) -> None:
    marked = with_idempotency_marker(body, key)
    assert carries_idempotency_key(marked, key)
    assert marked.startswith(body or "")
    assert with_idempotency_marker(marked, key) == marked  # embedding twice changes nothing
    prefix = IDEMPOTENCY_MARKER_PREFIX
    assert marked.count(prefix) == (body or "").count(prefix) + 1 or (
        body is not None and carries_idempotency_key(body, key)
    )


@given(key=_keys, other=_keys)
def test_marker_does_not_match_other_keys(key: str, other: str) -> None:
    if key != other:
        assert not carries_idempotency_key(with_idempotency_marker("text", key), other)


@pytest.mark.parametrize("bad", ["", "a b", "x-->y", "a--b", "new\nline", "x" * 201])
def test_bad_keys_are_refused(bad: str) -> None:
    with pytest.raises(InvalidInput, match="idempotency"):
        check_idempotency_key(bad)


def test_carries_key_ignores_non_strings() -> None:
    assert not carries_idempotency_key(None, "k")
    assert not carries_idempotency_key({"body": "k"}, "k")


@given(body=st.text(alphabet=st.characters(blacklist_categories=["Cs"]), max_size=100), key=_keys)
def test_rich_text_hides_the_marker_and_keeps_the_stored_text(body: str, key: str) -> None:
    stored = with_idempotency_marker(body, key)
    rich = marked_rich_text(stored)
    assert IDEMPOTENCY_MARKER_PREFIX not in rich.markdown or IDEMPOTENCY_MARKER_PREFIX in body
    if IDEMPOTENCY_MARKER_PREFIX not in body:
        assert rich.markdown == body.rstrip() or rich.markdown == body
        assert rich.source == stored


def test_rich_text_without_a_marker_is_plain_markdown() -> None:
    assert marked_rich_text("plain *text*").markdown == "plain *text*"
    assert marked_rich_text("plain *text*").source in (None, "plain *text*")


_marker_parts = st.lists(
    st.one_of(
        st.sampled_from(["\n\n", "\n", " ", "\t", "x", "-->", " -->", "<!-- ", "--"]),
        st.just(IDEMPOTENCY_MARKER_PREFIX),
        _keys.map(lambda k: with_idempotency_marker(None, k)),
        st.text(max_size=20),
    ),
    max_size=12,
).map("".join)


@given(text=_marker_parts)
def test_strip_trailing_marker_is_the_whole_text_regex(text: str) -> None:
    """The fast strip (regex on the tail from the last marker) = the regex on the whole text."""
    from kradle_providers.http.idempotency import _TRAILING, strip_trailing_marker

    assert strip_trailing_marker(text) == _TRAILING.sub("", text)
