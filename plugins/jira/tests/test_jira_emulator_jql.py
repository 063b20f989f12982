"""The emulator's JQL subset: a real parser, and minute-granular date comparisons."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from kradle_provider_jira.emulator import jql
from kradle_provider_jira.emulator.jql import And, Clause, JqlError, Not, Or, SortKey, parse

NOW = datetime(2024, 7, 1, 12, 0, tzinfo=UTC)


def test_parses_conjunction_with_order() -> None:
    query = parse('project = WID AND updated >= "2024-01-02 10:15" ORDER BY updated DESC, key ASC')
    assert query.where == And(
        (Clause("project", "=", ("WID",)), Clause("updated", ">=", ("2024-01-02 10:15",)))
    )
    assert query.order == (SortKey("updated", True), SortKey("key", False))


def test_parses_in_lists_keywords_any_case_and_aliases() -> None:
    query = parse("issuekey in (WID-1, 'WID-2') and not status = Done or fixVersion is EMPTY")
    assert query.where == Or(
        (
            And(
                (
                    Clause("key", "in", ("WID-1", "WID-2")),
                    Not(Clause("status", "=", ("Done",))),
                )
            ),
            Clause("fixVersion", "is", (None,)),
        )
    )


def test_parses_issue_property_and_custom_fields() -> None:
    query = parse('issue.property[kradle].idempotencyKey = "abc-1" AND cf[10042] = x')
    assert query.where == And(
        (
            Clause("issue.property[kradle].idempotencyKey", "=", ("abc-1",)),
            Clause("customfield_10042", "=", ("x",)),
        )
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("project = ", "Expecting either a value, list or function"),
        ("project WID", "Expecting operator but got 'WID'"),
        ('summary ~ "open', "has not been completed"),
        ("nosuchfield = 1", "Field 'nosuchfield' does not exist"),
        ("project = WID ORDER updated", "Expecting 'by'"),
        ("(project = WID", "Expecting ')'"),
        ("project = WID status = Done", "Expecting either 'OR' or 'AND'"),
    ],
)
def test_errors_use_jiras_wording(text: str, message: str) -> None:
    with pytest.raises(JqlError, match=re.escape(message)):
        parse(text)


def test_date_formats_and_relative_dates() -> None:
    expected = datetime(2024, 1, 2, 10, 15, tzinfo=UTC)
    assert jql.parse_datetime("2024-01-02 10:15", "updated", now=NOW) == expected
    assert jql.parse_datetime("2024/01/02 10:15", "updated", now=NOW) == expected
    assert jql.parse_datetime("2024-01-02", "updated", now=NOW) == expected.replace(
        hour=0, minute=0
    )
    assert jql.parse_datetime("-15m", "updated", now=NOW) == NOW - timedelta(minutes=15)
    with pytest.raises(JqlError, match="is invalid"):
        jql.parse_datetime("yesterday", "updated", now=NOW)


# -- properties --------------------------------------------------------------------

_CLAUSES = st.sampled_from(
    [
        "project = WID",
        'updated >= "2024-01-02 10:15"',
        "updated <= '2024/03/01 00:00'",
        "key = WID-1",
        "issuekey in (WID-1, WID-2)",
        'status = "Done"',
        "status != 'To Do'",
        "labels = backend",
        'fixVersion = "1.0"',
        'issue.property[kradle].idempotencyKey = "k-1"',
        "resolution is EMPTY",
        "assignee is not EMPTY",
        "summary ~ widget",
    ]
)


@given(
    st.lists(_CLAUSES, min_size=1, max_size=6),
    st.sampled_from(["", " ORDER BY updated ASC", " ORDER BY updated DESC, key ASC"]),
)
def test_random_conjunctions_of_supported_clauses_parse(clauses: list[str], order: str) -> None:
    text = " AND ".join(clauses) + order
    query = parse(text)
    parts = query.where.parts if isinstance(query.where, And) else (query.where,)
    assert len(parts) == len(clauses)
    assert all(isinstance(p, Clause) for p in parts)


_TIMES = st.datetimes(min_value=datetime(2024, 1, 1), max_value=datetime(2024, 1, 1, 3, 0)).map(
    lambda d: d.replace(tzinfo=UTC)
)


@given(
    st.lists(_TIMES, min_size=1, max_size=40), _TIMES, st.sampled_from([">=", "<", "=", ">", "<="])
)
def test_updated_compares_at_minute_granularity(
    updates: list[datetime], bound: datetime, op: str
) -> None:
    issues = [{"key": f"WID-{n}", "updated": when} for n, when in enumerate(updates, 1)]
    value = bound.strftime("%Y-%m-%d %H:%M")
    node = parse(f'updated {op} "{value}"').where
    assert node is not None
    minute = bound.replace(second=0, microsecond=0)
    compare = {
        ">=": lambda m: m >= minute,
        "<": lambda m: m < minute,
        "=": lambda m: m == minute,
        ">": lambda m: m > minute,
        "<=": lambda m: m <= minute,
    }[op]
    found = {
        i["key"] for i in issues if jql.evaluate(node, i, lambda issue, name: issue[name], now=NOW)
    }
    expected = {i["key"] for i in issues if compare(i["updated"].replace(second=0, microsecond=0))}
    assert found == expected


@given(st.lists(_TIMES, min_size=1, max_size=30))
def test_order_by_updated_breaks_ties_by_key(updates: list[datetime]) -> None:
    issues = [{"key": f"WID-{n}", "updated": when} for n, when in enumerate(updates, 1)]
    order = parse("ORDER BY updated ASC").order
    ordered = jql.sort_issues(issues, order, lambda issue, name: issue[name])
    pairs = [(i["updated"], int(str(i["key"]).split("-")[1])) for i in ordered]
    assert pairs == sorted(pairs)
