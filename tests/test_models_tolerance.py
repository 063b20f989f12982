"""map_each: one item that does not map never sinks a page; bugs still surface."""

from __future__ import annotations

import logging

import pytest

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
