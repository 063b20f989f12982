"""map_each: one item that does not map never sinks a page; bugs still surface."""

from __future__ import annotations

import logging

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kradle_providers.errors import InvalidInput, KradleError
from kradle_providers.models import map_each


def _convert(value: int) -> str | None:
    if value < 0:
        raise InvalidInput(f"negative: {value}", field="value")
    return None if value == 0 else str(value)


def test_failing_items_are_skipped_and_reported(caplog: pytest.LogCaptureFixture) -> None:
    skipped: list[KradleError] = []
    with caplog.at_level(logging.WARNING):
        items = map_each([1, -2, 0, 3, -4], _convert, skipped=skipped, what="test item")
    assert items == ["1", "3"]  # None is a deliberate skip, not a failure
    assert [str(e) for e in skipped] == ["value: negative: -2", "value: negative: -4"]
    assert "skipped test item #1 of a page" in caplog.text


def test_an_unexpected_exception_is_not_swallowed() -> None:
    def broken(value: int) -> str:
        raise ZeroDivisionError(value)

    with pytest.raises(ZeroDivisionError):
        map_each([1], broken, skipped=[])


# --- fast paths keep the plain results ----------------------------------------------


_ENUM_VALUES = st.one_of(
    st.text(max_size=12),
    st.sampled_from(["OPEN", "Closed", "success", "SUCCESS", "unknown", "Unknown", "merged"]),
    st.none(),
    st.integers(),
    st.floats(allow_nan=False),
    st.booleans(),
    st.binary(max_size=8),
)


@given(value=_ENUM_VALUES)
def test_tolerant_coercion_is_the_enum_lookup(value: object) -> None:
    """Tolerant looks members up by value; the result is what calling the enum gives."""
    from enum import StrEnum

    from pydantic import BaseModel

    from kradle_providers.models import IssueState, PipelineState, Tolerant

    for enum_cls in (IssueState, PipelineState):

        class Holder(BaseModel):
            value: Tolerant[enum_cls]  # type: ignore[valid-type]

        def plain(v: object, enum_cls: type[StrEnum] = enum_cls) -> StrEnum:
            if isinstance(v, enum_cls):
                return v
            members = {m.value for m in enum_cls}
            if isinstance(v, str) and v.lower() in members:
                return enum_cls(v.lower())
            return enum_cls("unknown")

        got = Holder(value=value).value
        assert got is plain(value)
        assert Holder(value=got).value is got


@given(
    native=st.dictionaries(st.sampled_from("abcdefgh"), st.integers(), max_size=8),
    mapped=st.lists(st.sampled_from("abcdxyz"), max_size=6),
)
def test_rest_is_the_same_for_any_mapped(native: dict[str, int], mapped: list[str]) -> None:
    """rest() caches the set of a tuple; every form of ``mapped`` gives the same fields."""
    from kradle_providers.models.native import rest

    expected = {k: v for k, v in native.items() if k not in set(mapped)}
    for form in (mapped, tuple(mapped), frozenset(mapped)):
        assert list(rest(native, form).items()) == list(expected.items())  # order kept
    assert rest(native, iter(mapped)) == expected
