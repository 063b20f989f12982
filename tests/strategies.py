"""Hypothesis strategies derived from the canonical models' own field annotations.

Deriving them from the annotations means a field added to a model is covered
by the round-trip tests without anyone remembering to extend a strategy.
"""

from __future__ import annotations

import types
from datetime import UTC, date, datetime
from enum import Enum
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from hypothesis import strategies as st
from pydantic import BaseModel

from kradle_providers.auth.secret import Secret

_JSON_LEAF = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**53), max_value=2**53),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=12),
)
JSON_VALUES = st.recursive(
    _JSON_LEAF,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=8,
)
DATETIMES = st.datetimes(
    min_value=datetime(1990, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
)


def for_type(tp: Any) -> st.SearchStrategy[Any]:
    """A strategy producing valid input values for annotation ``tp``."""
    origin = get_origin(tp)
    if origin is Annotated:
        return for_type(get_args(tp)[0])
    if origin in (Union, types.UnionType):
        return st.one_of(*(for_type(a) for a in get_args(tp)))
    if origin is Literal:
        return st.sampled_from(get_args(tp))
    if origin is list:
        return st.lists(for_type(get_args(tp)[0]), max_size=3)
    if origin is dict:
        key_t, value_t = get_args(tp)
        return st.dictionaries(for_type(key_t), for_type(value_t), max_size=3)
    if tp is type(None):
        return st.none()
    if isinstance(tp, type):
        if issubclass(tp, BaseModel):
            return models(tp)
        if issubclass(tp, Enum):
            return st.sampled_from(list(tp))
        if issubclass(tp, Secret):
            return st.text(min_size=8, max_size=20).map(Secret)
        if tp is bool:
            return st.booleans()
        if tp is int:
            return st.integers(min_value=0, max_value=10**9)
        if tp is str:
            return st.text(min_size=1, max_size=16)
        if tp is datetime:
            return DATETIMES
        if tp is date:
            return st.dates(min_value=date(1990, 1, 1), max_value=date(2100, 1, 1))
    if "JsonValue" in repr(tp):
        return JSON_VALUES
    raise NotImplementedError(f"no strategy for {tp!r}")


def models(cls: type[BaseModel]) -> st.SearchStrategy[Any]:
    """A strategy building valid instances of ``cls`` from its field annotations."""
    required: dict[str, st.SearchStrategy[Any]] = {}
    optional: dict[str, st.SearchStrategy[Any]] = {}
    for name, info in cls.model_fields.items():
        # Optional fields are sometimes omitted, so defaults are exercised too.
        (required if info.is_required() else optional)[name] = for_type(info.annotation)
    return st.fixed_dictionaries(required, optional=optional).map(
        lambda kwargs: cls.model_validate(kwargs)
    )
