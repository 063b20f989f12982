"""Capability-driven binding selection (SPEC §6)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kradle_providers.manifest.model import Manifest
from kradle_providers.models.base import ExternalRef, Interface
from kradle_providers.plugins.selection import (
    READ_OPERATIONS,
    WRITE_OPERATIONS,
    BindingMode,
    BindingRefused,
    InterfaceBinding,
    check_binding_interface,
    required_operations,
    select,
    select_binding,
)
from kradle_providers.protocols import OPERATIONS

IT, CI, GF = Interface.ISSUE_TRACKING, Interface.CICD, Interface.GIT_FORGE


def manifest(
    provider: str = "prov",
    interfaces: dict[str, Any] | None = None,
) -> Manifest:
    return Manifest.model_validate(
        {
            "apiVersion": "kradle.a5c.ai/v1alpha1",
            "kind": "ExternalProviderCapabilityManifest",
            "metadata": {"name": provider},
            "spec": {
                "providerType": provider,
                "displayName": provider.title(),
                "interfaces": interfaces or {},
            },
        }
    )


def read_only_tracker() -> Manifest:
    return manifest(
        "tracker",
        {
            "issueTracking": {
                "supported": True,
                "operations": [
                    "listIssues",
                    "listComments",
                    {
                        "operation": "createIssue",
                        "supported": False,
                        "reason": "the API token is read-only",
                    },
                ],
            },
            "cicd": {"supported": False, "reason": "tracker runs no builds"},
        },
    )


def full(provider: str = "full") -> Manifest:
    return manifest(
        provider,
        {
            iface.value: {
                "supported": True,
                "operations": [n for n, i in OPERATIONS.items() if i.interface is iface],
            }
            for iface in Interface
        },
    )


def test_unsupported_interface_is_refused_with_the_manifest_reason() -> None:
    problems = check_binding_interface(read_only_tracker(), CI, BindingMode.READ_ONLY)
    assert len(problems) == 1
    assert "does not support the cicd interface: tracker runs no builds" in problems[0]
    with pytest.raises(BindingRefused) as info:
        select(read_only_tracker(), "cicd", "read-only")
    assert info.value.missing == ["listPipelines", "listJobs"]
    assert info.value.interface is CI and info.value.provider == "tracker"


def test_writing_mode_names_the_missing_write_operations_and_reasons() -> None:
    with pytest.raises(BindingRefused) as info:
        select(read_only_tracker(), IT, BindingMode.BIDIRECTIONAL)
    assert info.value.missing == ["createIssue", "updateIssue", "createComment"]
    assert info.value.mode is BindingMode.BIDIRECTIONAL
    message = str(info.value)
    assert "createIssue" in message and "the API token is read-only" in message
    assert "updateIssue" in message and "not declared" in message
    assert "choose read-only or external-owned" in message


@pytest.mark.parametrize("mode", ["read-only", "external-owned"])
def test_reading_modes_need_only_the_list_operations(mode: str) -> None:
    assert check_binding_interface(read_only_tracker(), IT, mode) == []
    assert select(read_only_tracker(), IT, mode) is BindingMode(mode)


def test_reading_mode_is_refused_when_a_list_operation_is_missing() -> None:
    m = manifest("thin", {"issueTracking": {"supported": True, "operations": ["listIssues"]}})
    (problem,) = check_binding_interface(m, IT, "external-owned")
    assert "lacks listComments" in problem
    assert "choose read-only" not in problem


@pytest.mark.parametrize(
    "mode", ["bidirectional", "write-through", "reviewed-write", "kradle-owned"]
)
@pytest.mark.parametrize("iface", list(Interface))
def test_every_writing_mode_is_accepted_with_full_capabilities(mode: str, iface: Interface) -> None:
    assert select(full(), iface, mode) is BindingMode(mode)
    assert set(WRITE_OPERATIONS[iface]) <= set(required_operations(iface, mode))


def test_write_sets_are_canonical_write_operations_of_their_interface() -> None:
    for iface in Interface:
        for op in WRITE_OPERATIONS[iface]:
            assert OPERATIONS[op].write and OPERATIONS[op].interface is iface
        for op in READ_OPERATIONS[iface]:
            assert not OPERATIONS[op].write and OPERATIONS[op].interface is iface


def test_unknown_mode_is_refused_with_the_allowed_modes() -> None:
    with pytest.raises(BindingRefused, match="use one of: read-only, external-owned"):
        select(full(), IT, "mirror")


def test_mode_writes_flag() -> None:
    assert [m.value for m in BindingMode if not m.writes] == ["read-only", "external-owned"]


def test_cross_org_binding_is_refused_unless_admitted() -> None:
    bindings = [
        InterfaceBinding(GF, full("forge"), BindingMode.BIDIRECTIONAL, ExternalRef(owner="acme")),
        InterfaceBinding(CI, full("ci"), BindingMode.READ_ONLY, ExternalRef(owner="other-org")),
    ]
    with pytest.raises(BindingRefused, match="cross-org binding") as info:
        select_binding(bindings)
    assert "allow_cross_org=True" in str(info.value)
    chosen = select_binding(bindings, allow_cross_org=True)
    assert set(chosen) == {GF, CI}


def test_same_org_in_different_case_and_ownerless_targets_are_one_org() -> None:
    bindings = [
        InterfaceBinding(GF, full("forge"), BindingMode.READ_ONLY, ExternalRef(owner="Acme")),
        InterfaceBinding(CI, full("ci"), BindingMode.READ_ONLY, ExternalRef(owner="acme")),
        InterfaceBinding(IT, full("jira"), BindingMode.READ_ONLY, ExternalRef(project="WID")),
    ]
    assert set(select_binding(bindings)) == {GF, CI, IT}


def test_whole_binding_collects_every_problem_and_prefixes_missing_with_provider() -> None:
    bindings = [
        InterfaceBinding(IT, read_only_tracker(), BindingMode.WRITE_THROUGH),
        InterfaceBinding(CI, read_only_tracker(), BindingMode.READ_ONLY),
        InterfaceBinding(IT, full(), BindingMode.READ_ONLY),
    ]
    with pytest.raises(BindingRefused) as info:
        select_binding(bindings)
    assert "tracker.createIssue" in info.value.missing
    assert "tracker.listPipelines" in info.value.missing
    assert any("bound twice" in p for p in info.value.problems)


@given(
    iface=st.sampled_from(list(Interface)),
    mode=st.sampled_from(list(BindingMode)),
    data=st.data(),
)
def test_binding_accepted_iff_required_operations_are_supported(
    iface: Interface, mode: BindingMode, data: st.DataObject
) -> None:
    ops = [n for n, i in OPERATIONS.items() if i.interface is iface]
    supported = data.draw(st.sets(st.sampled_from(ops)))
    m = manifest("p", {iface.value: {"supported": True, "operations": sorted(supported)}})
    problems = check_binding_interface(m, iface, mode)
    missing = [op for op in required_operations(iface, mode) if op not in supported]
    assert len(problems) == len(missing)
    for op, problem in zip(missing, problems, strict=True):
        assert op in problem
