"""Protocols: the operation table matches the protocol methods; pages and cursors."""

from __future__ import annotations

import inspect

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kradle_providers.errors import InvalidInput, UnsupportedOperation
from kradle_providers.models import ExternalRef, Interface
from kradle_providers.protocols import (
    CATALOGUE,
    OPERATIONS,
    Call,
    CiCd,
    GitForge,
    IssueTracking,
    Page,
    ProviderAdapter,
    camel_to_snake,
    collect,
    decode_cursor,
    encode_cursor,
    is_implemented,
    snake_to_camel,
)
from kradle_providers.protocols.catalogue import Operation
from kradle_providers.protocols.interfaces import UNSUPPORTED_MARK

PROTOCOLS = {
    Interface.ISSUE_TRACKING: IssueTracking,
    Interface.CICD: CiCd,
    Interface.GIT_FORGE: GitForge,
}


def test_operation_table_is_exactly_the_protocol_methods() -> None:
    for interface, proto in PROTOCOLS.items():
        methods = {n for n, v in vars(proto).items() if getattr(v, UNSUPPORTED_MARK, False)}
        declared = {op.method for op in OPERATIONS.values() if op.interface is interface}
        assert methods == declared, interface


class _Anything:
    """A payload whose every field is None (the defaults must not need real values)."""

    def __getattr__(self, name: str) -> None:
        return None


@pytest.mark.parametrize("op", CATALOGUE, ids=lambda op: op.name)
async def test_each_catalogue_entry_invokes_its_own_protocol_method(op: Operation) -> None:
    # The protocol default names the method it stands for: a catalogue entry calling the
    # wrong method (or none) fails here.
    call = Call(ExternalRef(owner="acme", repository="widgets"), id="1", payload=_Anything())
    with pytest.raises(UnsupportedOperation) as info:
        result = op.invoke(ProviderAdapter(), call)
        if inspect.isawaitable(result):
            await result
    assert info.value.operation == op.name


def test_names_convert_both_ways() -> None:
    for name, op in OPERATIONS.items():
        assert snake_to_camel(op.method) == name
        assert camel_to_snake(name) == op.method
    assert OPERATIONS["syncLabels"].declarative and OPERATIONS["syncLabels"].write
    assert not OPERATIONS["listIssues"].write


async def test_default_operations_raise_unsupported_with_provider_and_operation() -> None:
    class Acme(ProviderAdapter):
        provider_type = "acme"

        async def get_issue(self, ref: ExternalRef, issue_id: str) -> object:  # type: ignore[override]
            return issue_id

    adapter = Acme()
    assert is_implemented(adapter, "get_issue")
    assert not is_implemented(adapter, "list_issues")
    with pytest.raises(UnsupportedOperation) as info:
        await adapter.list_issues(ExternalRef(project="X"))
    assert info.value.provider == "acme" and info.value.operation == "listIssues"
    assert "acme" in str(info.value) and "listIssues" in str(info.value)
    # get_job_log is a plain def returning an async iterator; it refuses at call time.
    assert not inspect.iscoroutinefunction(ProviderAdapter.get_job_log)
    with pytest.raises(UnsupportedOperation):
        adapter.get_job_log(ExternalRef(), "1")


@given(state=st.dictionaries(st.text(max_size=8), st.one_of(st.integers(), st.text(max_size=8))))
def test_cursors_round_trip(state: dict[str, object]) -> None:
    assert decode_cursor(encode_cursor(state)) == state


@pytest.mark.parametrize("bad", ["%%%", "bm90IGpzb24", encode_cursor({"a": 1})[:-3] + "!!"])
def test_foreign_cursors_are_invalid_input(bad: str) -> None:
    with pytest.raises(InvalidInput) as info:
        decode_cursor(bad)
    assert info.value.field == "cursor"


@given(items=st.lists(st.integers(), max_size=40), size=st.integers(min_value=1, max_value=7))
async def test_collect_walks_every_page_lazily(items: list[int], size: int) -> None:
    fetched: list[str | None] = []

    async def fetch(cursor: str | None) -> Page[int]:
        fetched.append(cursor)
        start = decode_cursor(cursor)["i"] if cursor else 0
        end = start + size
        nxt = encode_cursor({"i": end}) if end < len(items) else None
        return Page(items[start:end], next_cursor=nxt)

    assert await collect(fetch) == items
    assert len(fetched) == max(1, -(-len(items) // size))
