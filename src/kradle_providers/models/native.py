"""Reading a vendor's JSON objects field by field, for a plugin's mapping module.

Every provider maps native JSON (REST responses, webhook payloads) onto the
canonical models, and every one needs the same checked reads: a string or
null, an id that is an integer or a string, an array, an object. They check
the type up front so a malformed object is a :class:`MappingError` naming the
vendor, the native kind and the field, never an ``AttributeError`` deep
inside a mapper (an adapter's listing then skips that one item, see
:func:`~kradle_providers.models.tolerance.map_each`).

>>> read = NativeReader("Acme")
>>> read.opt_text({"title": None}, "title", "ticket") is None
True
>>> read.ident({"id": 7}, "ticket")
'7'
>>> try:
...     read.text({"title": 3}, "title", "ticket")
... except MappingError as exc:
...     print(exc)
Acme ticket.title: expected a string, got int
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from functools import lru_cache
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from kradle_providers.errors import KradleError

__all__ = ["MappingError", "Native", "NativeReader", "rest", "type_name"]

M = TypeVar("M", bound=BaseModel)
Native = Mapping[str, Any]
"""A vendor's JSON object as parsed."""


class MappingError(KradleError, ValueError):
    """A vendor object lacks the shape its kind requires.

    ``vendor`` names the provider as its users know it, ``kind`` the native
    kind being mapped, ``field`` the offending field. A listing skips (and
    reports) the one object; a normalizer answers ``malformed``.
    """

    def __init__(self, vendor: str, kind: str, message: str, *, field: str | None = None) -> None:
        self.vendor = vendor
        self.kind = kind
        self.field = field
        where = f"{kind}.{field}" if field else kind
        super().__init__(f"{vendor} {where}: {message}")


def type_name(value: Any) -> str:
    """The JSON name of a value's type, for error messages (``object``, ``array``...)."""
    return {dict: "object", list: "array", str: "string", bool: "boolean", type(None): "null"}.get(
        type(value), type(value).__name__
    )


def rest(native: Native, mapped: Iterable[str]) -> dict[str, Any]:
    """The fields of ``native`` not in ``mapped``: what goes to ``extensions.fields``.

    Mappers pass the same tuples (or frozensets) for every object of a kind, so the set
    of a tuple is built once, not per call."""
    if type(mapped) is tuple:
        skip = _skip_set(mapped)
    else:
        skip = mapped if isinstance(mapped, frozenset) else frozenset(mapped)
    return {k: v for k, v in native.items() if k not in skip}


@lru_cache(maxsize=1024)
def _skip_set(mapped: tuple[str, ...]) -> frozenset[str]:
    return frozenset(mapped)


class NativeReader:
    """Type-checked reads of one vendor's JSON objects; errors name the vendor.

    A plugin's mapping module makes one (``read = NativeReader("GitHub")``)
    and reads every field through it.
    """

    __slots__ = ("vendor",)

    def __init__(self, vendor: str) -> None:
        self.vendor = vendor

    def __repr__(self) -> str:
        return f"NativeReader({self.vendor!r})"

    def error(self, kind: str, message: str, *, field: str | None = None) -> MappingError:
        """A :class:`MappingError` for this vendor (raise it)."""
        return MappingError(self.vendor, kind, message, field=field)

    def obj(self, value: Any, kind: str, field: str | None = None) -> Native:
        """``value`` itself, which must be a JSON object."""
        # ``type(...) is dict`` first: parsed JSON is dicts, and the ABC check is slow.
        if type(value) is not dict and not isinstance(value, Mapping):
            raise self.error(kind, f"expected a JSON object, got {type_name(value)}", field=field)
        return value

    def opt_obj(self, native: Native, key: str, kind: str) -> Native | None:
        """``native[key]``: a JSON object, or ``None`` when null or absent."""
        value = native.get(key)
        return None if value is None else self.obj(value, kind, key)

    def ident(self, native: Native, kind: str, key: str = "id") -> str:
        """``native[key]`` as a string id; it must be an integer or a non-empty string."""
        value = native.get(key)
        if isinstance(value, bool) or not isinstance(value, int | str) or value == "":
            raise self.error(
                kind, f"expected an id (integer or string), got {type_name(value)}", field=key
            )
        return str(value)

    @staticmethod
    def opt_ident(native: Native, key: str) -> str | None:
        """``native[key]`` as a string id, or ``None`` when it is not one."""
        value = native.get(key)
        if isinstance(value, bool) or not isinstance(value, int | str) or value == "":
            return None
        return str(value)

    def text(self, native: Native, key: str, kind: str) -> str:
        """``native[key]``, which must be a string."""
        value = native.get(key)
        if not isinstance(value, str):
            raise self.error(kind, f"expected a string, got {type_name(value)}", field=key)
        return value

    def opt_text(self, native: Native, key: str, kind: str) -> str | None:
        """``native[key]``: a string, or ``None`` when null or absent."""
        value = native.get(key)
        if value is None or isinstance(value, str):
            return value
        raise self.error(kind, f"expected a string or null, got {type_name(value)}", field=key)

    def opt_int(self, native: Native, key: str, kind: str) -> int | None:
        """``native[key]``: an integer, or ``None`` when null or absent (booleans refused)."""
        value = native.get(key)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.error(
                kind, f"expected an integer or null, got {type_name(value)}", field=key
            )
        return value

    def flag(self, native: Native, key: str, kind: str, default: bool = False) -> bool:
        """``native[key]``: a boolean, ``default`` when null or absent."""
        value = native.get(key)
        if value is None:
            return default
        if not isinstance(value, bool):
            raise self.error(kind, f"expected a boolean, got {type_name(value)}", field=key)
        return value

    def array(self, native: Native, key: str, kind: str) -> list[Any]:
        """``native[key]``: an array, empty when null or absent."""
        value = native.get(key)
        if value is None:
            return []
        if not isinstance(value, list):
            raise self.error(kind, f"expected an array, got {type_name(value)}", field=key)
        return value

    def build(self, cls: type[M], kind: str, data: dict[str, Any]) -> M:
        """Validate the mapped ``data`` as ``cls``; the first problem becomes a MappingError."""
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            first = exc.errors()[0]
            loc = ".".join(str(p) for p in first["loc"])
            raise self.error(kind, f"{first['msg']} (at {loc})") from None
