"""A JQL subset: tokenizer, recursive-descent parser and evaluator.

Grammar (keywords are case-insensitive, as in Jira)::

    query    := [or] [ORDER BY sortkey ("," sortkey)*]
    or       := and (OR and)*
    and      := not (AND not)*
    not      := NOT not | "(" or ")" | clause
    clause   := field op value
              | field [NOT] IN "(" value ("," value)* ")"
              | field IS [NOT] (EMPTY | NULL)
    op       := "=" | "!=" | ">" | ">=" | "<" | "<=" | "~" | "!~"
    sortkey  := field [ASC | DESC]
    field    := name | issue.property[KEY].path | cf[NNNNN]
    value    := name | "quoted" | 'quoted' | relative date (-5m, -2d)

Date comparisons are minute-granular, as Jira's: the issue's timestamp is
truncated to the minute and compared with the JQL value (``yyyy-MM-dd HH:mm``,
``yyyy/MM/dd HH:mm``, ``yyyy-MM-dd``), read in the user's time zone (UTC in
the emulator). That is why an incremental sync must overlap its window.

:func:`parse` raises :class:`JqlError` with Jira's wording; the emulator
answers it as a 400 ``errorMessages`` body.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

__all__ = [
    "And",
    "Clause",
    "JqlError",
    "Not",
    "Or",
    "Query",
    "SortKey",
    "Token",
    "parse",
    "parse_datetime",
    "tokenize",
    "truncate_minute",
]

_OPERATORS = ("!=", ">=", "<=", "!~", "=", ">", "<", "~")
_KEYWORDS = frozenset({"and", "or", "not", "in", "is", "empty", "null", "order", "by"})
_WORD = re.compile(r"[A-Za-z0-9_.\-\[\]]+")
_RELATIVE = re.compile(r"^([-+]?)(\d+)([mhdw])$")


class JqlError(ValueError):
    """A query Jira would refuse; ``str()`` is the message Jira answers."""


@dataclass(frozen=True)
class Token:
    """A lexical token: ``kind`` is ``word``, ``string``, ``op`` or ``punct``."""

    kind: str
    text: str
    position: int

    def is_keyword(self, word: str) -> bool:
        """Whether this is the (unquoted) keyword ``word``."""
        return self.kind == "word" and self.text.lower() == word


def tokenize(text: str) -> list[Token]:
    """Split ``text`` into tokens; an unterminated string is a :class:`JqlError`."""
    tokens: list[Token] = []
    i = 0
    while i < len(text):
        char = text[i]
        if char.isspace():
            i += 1
            continue
        if char in "\"'":
            end = i + 1
            value: list[str] = []
            while end < len(text) and text[end] != char:
                if text[end] == "\\" and end + 1 < len(text):
                    end += 1
                value.append(text[end])
                end += 1
            if end >= len(text):
                raise JqlError(
                    f"Error in the JQL Query: The quoted string {text[i:]} has not been "
                    f"completed. (line 1, character {i + 1})"
                )
            tokens.append(Token("string", "".join(value), i))
            i = end + 1
            continue
        if char in "(),":
            tokens.append(Token("punct", char, i))
            i += 1
            continue
        op = next((o for o in _OPERATORS if text.startswith(o, i)), None)
        if op is not None:
            tokens.append(Token("op", op, i))
            i += len(op)
            continue
        match = _WORD.match(text, i)
        if match is None:
            raise JqlError(
                f"Error in the JQL Query: The character '{char}' is a reserved JQL character. "
                f"You must enclose it in a string or use the escape '\\u{ord(char):04x}' "
                f"instead. (line 1, character {i + 1})"
            )
        tokens.append(Token("word", match.group(), i))
        i = match.end()
    return tokens


# -- syntax tree ---------------------------------------------------------------


@dataclass(frozen=True)
class Clause:
    """``field op value`` (``values`` for IN, ``None`` value for EMPTY)."""

    field: str
    operator: str
    values: tuple[str | None, ...]


@dataclass(frozen=True)
class And:
    """All parts hold."""

    parts: tuple[Node, ...]


@dataclass(frozen=True)
class Or:
    """Any part holds."""

    parts: tuple[Node, ...]


@dataclass(frozen=True)
class Not:
    """The part does not hold."""

    part: Node


Node = Clause | And | Or | Not


@dataclass(frozen=True)
class SortKey:
    """One ``ORDER BY`` key."""

    field: str
    descending: bool = False


@dataclass(frozen=True)
class Query:
    """A parsed query: the condition (``None``: every issue) and the order."""

    where: Node | None
    order: tuple[SortKey, ...] = field(default_factory=tuple)

    def fields(self) -> set[str]:
        """The (normalized) field names the condition uses."""
        found: set[str] = set()

        def walk(node: Node) -> None:
            if isinstance(node, Clause):
                found.add(node.field)
            elif isinstance(node, Not):
                walk(node.part)
            else:
                for part in node.parts:
                    walk(part)

        if self.where is not None:
            walk(self.where)
        return found


# -- parser ------------------------------------------------------------------

_FIELD_ALIASES = {
    "issuekey": "key",
    "issue": "key",
    "type": "issuetype",
    "fixversion": "fixVersion",
    "fixversions": "fixVersion",
    "label": "labels",
    "statuscategory": "statusCategory",
}
SUPPORTED_FIELDS = frozenset(
    {
        "project",
        "key",
        "id",
        "status",
        "statusCategory",
        "labels",
        "fixVersion",
        "updated",
        "created",
        "resolved",
        "resolution",
        "issuetype",
        "summary",
        "text",
        "assignee",
        "reporter",
        "priority",
    }
)
DATE_FIELDS = frozenset({"updated", "created", "resolved"})
_PROPERTY = re.compile(r"^issue\.property\[([^\]]+)\]\.(.+)$", re.IGNORECASE)
_CUSTOM = re.compile(r"^cf\[(\d+)\]$", re.IGNORECASE)


def normalize_field(name: str) -> str:
    """The canonical name of a JQL field (aliases, ``cf[n]`` -> ``customfield_n``)."""
    custom = _CUSTOM.match(name)
    if custom:
        return f"customfield_{custom.group(1)}"
    prop = _PROPERTY.match(name)
    if prop:
        return f"issue.property[{prop.group(1)}].{prop.group(2)}"
    lowered = name.lower()
    if lowered in _FIELD_ALIASES:
        return _FIELD_ALIASES[lowered]
    for known in SUPPORTED_FIELDS:
        if known.lower() == lowered:
            return known
    if lowered.startswith("customfield_"):
        return lowered
    return name


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = tokenize(text)
        self.i = 0

    def peek(self) -> Token | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def take(self) -> Token:
        token = self.peek()
        if token is None:
            raise JqlError(
                "Error in the JQL Query: Expecting either a value, list or function but got "
                "end of query."
            )
        self.i += 1
        return token

    def error_at(self, token: Token | None, expected: str) -> JqlError:
        if token is None:
            return JqlError(f"Error in the JQL Query: Expecting {expected} but got end of query.")
        return JqlError(
            f"Error in the JQL Query: Expecting {expected} but got '{token.text}'. "
            f"(line 1, character {token.position + 1})"
        )

    def keyword(self, word: str) -> bool:
        token = self.peek()
        if token is not None and token.is_keyword(word):
            self.i += 1
            return True
        return False

    def query(self) -> Query:
        where: Node | None = None
        token = self.peek()
        if token is not None and not token.is_keyword("order"):
            where = self.or_expr()
        order: list[SortKey] = []
        if self.keyword("order"):
            if not self.keyword("by"):
                raise self.error_at(self.peek(), "'by'")
            while True:
                name = self.take()
                if name.kind not in ("word", "string"):
                    raise self.error_at(name, "a field name")
                descending = False
                if self.keyword("desc"):
                    descending = True
                else:
                    self.keyword("asc")
                order.append(SortKey(self._field(name), descending))
                token = self.peek()
                if token is not None and token.kind == "punct" and token.text == ",":
                    self.i += 1
                    continue
                break
        if self.peek() is not None:
            raise self.error_at(self.peek(), "either 'OR' or 'AND'")
        return Query(where, tuple(order))

    def or_expr(self) -> Node:
        parts = [self.and_expr()]
        while self.keyword("or"):
            parts.append(self.and_expr())
        return parts[0] if len(parts) == 1 else Or(tuple(parts))

    def and_expr(self) -> Node:
        parts = [self.not_expr()]
        while self.keyword("and"):
            parts.append(self.not_expr())
        return parts[0] if len(parts) == 1 else And(tuple(parts))

    def not_expr(self) -> Node:
        if self.keyword("not"):
            return Not(self.not_expr())
        token = self.peek()
        if token is not None and token.kind == "punct" and token.text == "(":
            self.i += 1
            inner = self.or_expr()
            closing = self.peek()
            if closing is None or closing.text != ")":
                raise self.error_at(closing, "')'")
            self.i += 1
            return inner
        return self.clause()

    def _field(self, token: Token) -> str:
        name = normalize_field(token.text)
        if (
            name not in SUPPORTED_FIELDS
            and not name.startswith("issue.property[")
            and not name.startswith("customfield_")
        ):
            raise JqlError(
                f"Field '{token.text}' does not exist or you do not have permission to view it."
            )
        return name

    def value(self) -> str:
        token = self.take()
        if token.kind not in ("word", "string") or (
            token.kind == "word" and token.text.lower() in _KEYWORDS
        ):
            raise self.error_at(token, "either a value, list or function")
        return token.text

    def clause(self) -> Clause:
        name_token = self.take()
        if name_token.kind not in ("word", "string") or name_token.text.lower() in _KEYWORDS:
            raise self.error_at(name_token, "a field name")
        name = self._field(name_token)
        token = self.peek()
        if token is None:
            raise self.error_at(None, "operator")
        if token.kind == "op":
            self.i += 1
            return Clause(name, token.text, (self.value(),))
        negated = False
        if token.is_keyword("not"):
            self.i += 1
            negated = True
            token = self.peek()
        if token is not None and token.is_keyword("in"):
            self.i += 1
            opening = self.take()
            if opening.text != "(":
                raise self.error_at(opening, "'('")
            values = [self.value()]
            while True:
                sep = self.take()
                if sep.text == ")":
                    break
                if sep.text != ",":
                    raise self.error_at(sep, "',' or ')'")
                values.append(self.value())
            return Clause(name, "not in" if negated else "in", tuple(values))
        if not negated and token is not None and token.is_keyword("is"):
            self.i += 1
            is_not = self.keyword("not")
            empty = self.take()
            if not (empty.is_keyword("empty") or empty.is_keyword("null")):
                raise self.error_at(empty, "'EMPTY' or 'NULL'")
            return Clause(name, "is not" if is_not else "is", (None,))
        raise self.error_at(token, "operator")


def parse(text: str) -> Query:
    """Parse ``text`` (empty: every issue, unordered)."""
    return _Parser(text or "").query()


# -- values --------------------------------------------------------------------

_DATE_FORMATS = ("%Y-%m-%d %H:%M", "%Y/%m/%d %H:%M", "%Y-%m-%d", "%Y/%m/%d")


def truncate_minute(when: datetime) -> datetime:
    """``when`` without seconds and fractions: the precision JQL compares at."""
    return when.replace(second=0, microsecond=0)


def parse_datetime(value: str, field_name: str, *, now: datetime) -> datetime:
    """A JQL date value (absolute in UTC, or relative like ``-15m``/``-2d``)."""
    relative = _RELATIVE.match(value.strip())
    if relative:
        sign = -1 if relative.group(1) == "-" else 1
        amount = int(relative.group(2)) * sign
        unit = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}[relative.group(3)]
        return truncate_minute(now + timedelta(**{unit: amount}))
    for fmt in _DATE_FORMATS:
        try:
            return datetime.strptime(value.strip(), fmt).replace(tzinfo=UTC)
        except ValueError:
            continue
    raise JqlError(
        f"Date value '{value}' for field '{field_name}' is invalid. Valid formats include: "
        "'yyyy/MM/dd HH:mm', 'yyyy-MM-dd HH:mm', 'yyyy/MM/dd', 'yyyy-MM-dd', or a period "
        "format e.g. '-5d', '4w 2d'."
    )


# -- evaluation ------------------------------------------------------------------

Resolver = Callable[[Mapping[str, Any], str], Any]
"""``(issue, field) -> value``: a string, a list of strings, a datetime or None."""


def _compare(left: Any, operator: str, right: Any) -> bool:
    if operator == "=":
        return bool(left == right)
    if operator == "!=":
        return bool(left != right)
    if left is None:
        return False
    if operator == ">":
        return bool(left > right)
    if operator == ">=":
        return bool(left >= right)
    if operator == "<":
        return bool(left < right)
    if operator == "<=":
        return bool(left <= right)
    raise JqlError(f"The operator '{operator}' is not supported by the emulator.")


def _key_number(key: str) -> tuple[str, int]:
    project, _, number = key.partition("-")
    return project, int(number) if number.isdigit() else 0


def evaluate(node: Node, issue: Mapping[str, Any], resolve: Resolver, *, now: datetime) -> bool:
    """Whether ``issue`` satisfies ``node``; ``resolve`` reads its field values."""
    if isinstance(node, And):
        return all(evaluate(p, issue, resolve, now=now) for p in node.parts)
    if isinstance(node, Or):
        return any(evaluate(p, issue, resolve, now=now) for p in node.parts)
    if isinstance(node, Not):
        return not evaluate(node.part, issue, resolve, now=now)
    value = resolve(issue, node.field)
    op = node.operator
    if op in ("is", "is not"):
        empty = value is None or value == [] or value == ""
        return empty if op == "is" else not empty
    if node.field in DATE_FIELDS:
        if value is None:
            return op in ("!=", "not in")
        when = truncate_minute(value)
        targets = [parse_datetime(str(v), node.field, now=now) for v in node.values]
        if op == "in":
            return when in targets
        if op == "not in":
            return when not in targets
        return _compare(when, op, targets[0])
    if op in ("~", "!~"):
        needle = str(node.values[0]).lower().strip("*")
        found = needle in str(value or "").lower()
        return found if op == "~" else not found
    wanted = [str(v).lower() for v in node.values if v is not None]
    if node.field in ("key", "id") and op in (">", ">=", "<", "<="):
        return _compare(_key_number(str(value)), op, _key_number(node.values[0] or ""))
    held = [str(v).lower() for v in value] if isinstance(value, list) else None
    if held is not None:
        hit = any(w in held for w in wanted)
        if op in ("=", "in"):
            return hit
        if op in ("!=", "not in"):
            return not hit
        raise JqlError(f"The operator '{op}' is not supported by the '{node.field}' field.")
    text = None if value is None else str(value).lower()
    if op in ("=", "in"):
        return text in wanted
    if op in ("!=", "not in"):
        return text is not None and text not in wanted
    if op in (">", ">=", "<", "<="):
        return _compare(text, op, wanted[0])
    raise JqlError(f"The operator '{op}' is not supported by the '{node.field}' field.")


def sort_issues(
    issues: Sequence[Mapping[str, Any]], order: Sequence[SortKey], resolve: Resolver
) -> list[Mapping[str, Any]]:
    """``issues`` in ``ORDER BY`` order; ties (and no order) fall back to key descending.

    Jira orders by key descending when a query names no order; the emulator
    also breaks ties by key so paging is deterministic.
    """
    result = sorted(issues, key=lambda i: _key_number(str(i["key"])), reverse=not order)
    keys = list(order)
    if keys and keys[-1].field not in ("key", "id"):
        # A final tie-break on the key keeps equal timestamps in a stable order.
        keys.append(SortKey("key", keys[-1].descending))
    for sort_key in reversed(keys):
        name = sort_key.field

        def by_field(issue: Mapping[str, Any], name: str = name) -> tuple[int, Any]:
            return _sortable(resolve(issue, name), name)

        result.sort(key=by_field, reverse=sort_key.descending)
    return result


def _sortable(value: Any, field_name: str) -> tuple[int, Any]:
    # Empty values sort last in ascending order, as Jira's do.
    if value is None or value == []:
        return (1, "")
    if field_name == "key":
        return (0, _key_number(str(value)))
    if field_name == "id":
        return (0, int(value) if str(value).isdigit() else 0)
    if isinstance(value, datetime):
        return (0, value.timestamp())
    if isinstance(value, list):
        return (0, ",".join(sorted(str(v) for v in value)))
    return (0, str(value).lower())
