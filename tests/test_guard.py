"""The guarded adapter: the manifest decides before any adapter code runs."""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from kradle_providers.errors import UnsupportedOperation
from kradle_providers.manifest.model import Manifest
from kradle_providers.models.base import ExternalRef, Interface
from kradle_providers.plugins.guard import GuardedAdapter
from kradle_providers.protocols import (
    OPERATIONS,
    CiCd,
    GitForge,
    IssueTracking,
    Page,
    ProviderAdapter,
)

FIXTURES = Path(__file__).parent / "plugin_fixtures"
REF = ExternalRef(owner="acme", repository="widgets")


def fixture_manifest() -> dict[str, Any]:
    text = (FIXTURES / "kradle_fixture_good" / "manifest.yaml").read_text()
    return yaml.safe_load(text)  # type: ignore[no-any-return]


class Recorder(ProviderAdapter):
    """Implements every operation; records each call before doing anything else."""

    provider_type = "recorder"

    def __init__(self) -> None:
        super().__init__(instance="rec")
        self.calls: list[tuple[str, tuple[Any, ...], dict[str, Any]]] = []
        self.closed = False

    def helper(self) -> str:
        return "not an operation"

    async def aclose(self) -> None:
        self.closed = True


def _recording(method: str, is_async: bool) -> Any:
    if is_async:

        async def op(self: Recorder, *args: Any, **kwargs: Any) -> Any:
            self.calls.append((method, args, kwargs))
            return Page(items=[method])

        return op

    def sync_op(self: Recorder, *args: Any, **kwargs: Any) -> Any:
        self.calls.append((method, args, kwargs))

        async def lines() -> Any:
            yield f"{method} line"

        return lines()

    return sync_op


for _info in OPERATIONS.values():
    _default = getattr(ProviderAdapter, _info.method)
    setattr(Recorder, _info.method, _recording(_info.method, inspect.iscoroutinefunction(_default)))


def guard(manifest: dict[str, Any] | None = None) -> tuple[GuardedAdapter, Recorder]:
    adapter = Recorder()
    model = Manifest.model_validate(manifest or fixture_manifest())
    return GuardedAdapter(adapter, model), adapter  # type: ignore[abstract]


async def test_declared_unsupported_operation_raises_with_manifest_reason_before_adapter() -> None:
    guarded, adapter = guard()
    with pytest.raises(UnsupportedOperation) as info:
        await guarded.close_issue(REF, "1")
    assert info.value.provider == "fixture-good"
    assert info.value.operation == "closeIssue"
    assert info.value.reason == "the fixture API cannot close issues"
    assert adapter.calls == []


async def test_operation_of_unsupported_interface_raises_with_interface_reason() -> None:
    guarded, adapter = guard()
    with pytest.raises(UnsupportedOperation, match="hosts no repositories"):
        await guarded.list_pull_requests(REF)
    assert adapter.calls == []


async def test_undeclared_operation_is_unsupported() -> None:
    guarded, adapter = guard()
    with pytest.raises(UnsupportedOperation, match="not declared in the issueTracking operations"):
        await guarded.list_labels(REF)
    assert adapter.calls == []


async def test_declared_operation_passes_arguments_and_result_through() -> None:
    guarded, adapter = guard()
    page = await guarded.list_issues(REF, state="open", page_size=5)
    assert page.items == ["list_issues"]
    assert adapter.calls == [("list_issues", (REF,), {"state": "open", "page_size": 5})]


async def test_get_job_log_is_a_sync_call_returning_an_async_iterator() -> None:
    guarded, adapter = guard()
    stream = guarded.get_job_log(REF, "job-1")
    assert adapter.calls == [("get_job_log", (REF, "job-1"), {})]
    assert [chunk async for chunk in stream] == ["get_job_log line"]


def test_undeclared_get_job_log_raises_at_call_time() -> None:
    data = fixture_manifest()
    data["spec"]["interfaces"]["cicd"]["operations"] = ["listPipelines"]
    guarded, adapter = guard(data)
    with pytest.raises(UnsupportedOperation, match="getJobLog"):
        guarded.get_job_log(REF, "job-1")
    assert adapter.calls == []


def test_non_operation_attributes_pass_through() -> None:
    guarded, adapter = guard()
    assert guarded.helper() == "not an operation"
    assert guarded.calls is adapter.calls
    with pytest.raises(AttributeError):
        _ = guarded._private_thing
    with pytest.raises(AttributeError):
        _ = guarded.no_such_attribute


def test_exposes_manifest_adapter_provider_type_and_types_as_every_protocol() -> None:
    guarded, adapter = guard()
    assert guarded.adapter is adapter
    assert guarded.manifest.provider_type == "fixture-good"
    assert guarded.provider_type == "fixture-good"
    assert guarded.instance == "rec"
    assert guarded.provider_ref.type == "fixture-good"
    assert isinstance(guarded, IssueTracking | CiCd | GitForge)
    assert guarded.supports("listIssues") and not guarded.supports("closeIssue")
    assert "Recorder" in repr(guarded)


def test_guard_methods_keep_protocol_signatures_and_kinds() -> None:
    for info in OPERATIONS.values():
        default = getattr(ProviderAdapter, info.method)
        guarded = getattr(GuardedAdapter, info.method)
        assert inspect.signature(guarded) == inspect.signature(default)
        assert inspect.iscoroutinefunction(guarded) == inspect.iscoroutinefunction(default)


async def test_aclose_and_async_context_manager_close_the_adapter() -> None:
    guarded, adapter = guard()
    async with guarded as entered:
        assert entered is guarded
    assert adapter.closed
    adapter.closed = False
    await guarded.aclose()
    assert adapter.closed


def _manifest_with(supported: set[str]) -> dict[str, Any]:
    interfaces: dict[str, Any] = {}
    for iface in Interface:
        ops = [name for name, info in OPERATIONS.items() if info.interface is iface]
        interfaces[iface.value] = {
            "supported": True,
            "operations": [{"operation": op, "supported": op in supported} for op in ops],
        }
    return {
        "apiVersion": "kradle.a5c.ai/v1alpha1",
        "kind": "ExternalProviderCapabilityManifest",
        "metadata": {"name": "prop"},
        "spec": {"providerType": "prop", "displayName": "Prop", "interfaces": interfaces},
    }


@given(st.sets(st.sampled_from(sorted(OPERATIONS))))
async def test_guard_lets_through_exactly_the_declared_operations(supported: set[str]) -> None:
    guarded, adapter = guard(_manifest_with(supported))
    passed = set()
    for name, info in OPERATIONS.items():
        method = getattr(guarded, info.method)
        try:
            result = method(REF, "x")
            if inspect.isawaitable(result):
                await result
            passed.add(name)
        except UnsupportedOperation as exc:
            assert exc.operation == name
    assert passed == supported
    assert {call[0] for call in adapter.calls} == {OPERATIONS[n].method for n in supported}
