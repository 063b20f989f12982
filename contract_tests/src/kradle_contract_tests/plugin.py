"""The pytest plugin: ``pytest --kradle-provider NAME`` runs the contract suite on NAME.

Inert unless asked: without ``--kradle-provider`` it adds no test. With it and
no path arguments, only the generated suite is collected (the project's own
tests are not); with paths, both run.

Check ids are selectable as printed: ``pytest 'issueTracking::listIssues::pages[memory]'``
is rewritten to ``--kradle-check`` (plus ``--kradle-provider memory``).
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from _pytest._code.code import ExceptionInfo, TerminalRepr

from kradle_contract_tests.context import ContractViolation
from kradle_contract_tests.generate import Check, checks_for
from kradle_contract_tests.runner import as_factory, run_check
from kradle_providers.plugins.registry import Registry, load_registry

__all__ = ["ContractItem", "parse_options", "requested_providers"]

_NO_HARNESS = "no harness"
# group::subject::scenario[provider]; a webhook subject is the provider's event name, which
# may hold dots, colons, underscores or spaces ("ticket.created", "jira:issue_created",
# "Issue Hook").
_CHECK_ID = re.compile(r"^[A-Za-z]+::[^\[\]]+::[A-Za-z]+\[([\w.-]+)\]$")


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("kradle", "kradle-providers contract suite")
    group.addoption(
        "--kradle-provider",
        action="append",
        default=[],
        metavar="NAME",
        help="run the contract suite on provider NAME (repeatable; 'all' = every installed one)",
    )
    group.addoption(
        "--kradle-option",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="pass KEY=VALUE to the provider's harness factory (repeatable)",
    )
    group.addoption(
        "--kradle-check",
        action="append",
        default=[],
        metavar="ID",
        help="run only the check ID as printed, e.g. 'issueTracking::listIssues::pages[memory]' "
        "(repeatable; a bare ID argument means the same)",
    )


@pytest.hookimpl(tryfirst=True)
def pytest_load_initial_conftests(
    early_config: pytest.Config, parser: pytest.Parser, args: list[str]
) -> None:
    # A printed id is no path: turn it into --kradle-check so it can be pasted back.
    providers: list[str] = []
    for index, arg in enumerate(args):
        match = _CHECK_ID.match(arg)
        if match and not Path(arg.partition("::")[0]).exists():
            args[index] = f"--kradle-check={arg}"
            providers.append(match.group(1))
    args += [f"--kradle-provider={name}" for name in dict.fromkeys(providers)]


def parse_options(values: list[str]) -> dict[str, str]:
    """``["flavor=datacenter"]`` -> ``{"flavor": "datacenter"}``; a bad one is a usage error."""
    options: dict[str, str] = {}
    for value in values:
        key, sep, rest = value.partition("=")
        if not sep or not key:
            raise pytest.UsageError(f"--kradle-option {value!r}: use KEY=VALUE")
        options[key.strip()] = rest
    return options


def requested_providers(config: pytest.Config, registry: Registry) -> list[str]:
    """The providers named by ``--kradle-provider`` (``all`` expanded), installed or not."""
    names: list[str] = []
    for value in config.getoption("kradle_provider") or []:
        for name in value.split(","):
            name = name.strip()
            expanded = registry.names() if name == "all" else [name]
            names += [n for n in expanded if n and n not in names]
    return names


def _only_suite(config: pytest.Config) -> bool:
    return bool(config.getoption("kradle_provider")) and (
        config.args_source is not pytest.Config.ArgsSource.ARGS
    )


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    # `pytest --kradle-provider X` with no paths runs the generated suite only.
    return True if _only_suite(config) else None


class ContractItem(pytest.Item):
    """One generated check for one provider, e.g. ``issueTracking::listIssues::pages[memory]``."""

    def __init__(
        self,
        *,
        check: Check,
        provider: str,
        registry: Registry,
        factory: Callable[[], Any] | None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.check = check
        self.provider = provider
        self.registry = registry
        self.factory = factory
        self.add_marker(pytest.mark.kradle_contract)

    def runtest(self) -> None:
        if self.factory is None:
            raise ContractViolation(
                f"provider {self.provider!r} ships no contract harness\n  How to fix: set "
                "ProviderPlugin.harness='your_package.testing:create_harness' (see "
                "docs/plugin-authors.md)"
            )
        run_check(
            self.check,
            provider=self.provider,
            harness=as_factory(self.factory, self.provider),
            registry=self.registry,
        )

    def repr_failure(
        self, excinfo: ExceptionInfo[BaseException], style: Any = None
    ) -> str | TerminalRepr:
        if isinstance(excinfo.value, ContractViolation):
            # The first line is the reason: pytest's short summary shows it after the id.
            doc = f" ({self.check.doc})" if self.check.doc else ""
            options = "".join(
                f" --kradle-option {shlex.quote(o)}"
                for o in self.config.getoption("kradle_option") or []
            )
            return (
                f"{excinfo.value}\n  Check: {self.name}{doc}\n  Rerun: pytest "
                f"--kradle-provider {self.provider}{options} {shlex.quote(self.name)}"
            )
        return super().repr_failure(excinfo, style="short")

    def reportinfo(self) -> tuple[Path, int | None, str]:
        return self.path, None, self.name


def _items(session: pytest.Session, registry: Registry, provider: str) -> list[ContractItem]:
    options = parse_options(session.config.getoption("kradle_option") or [])
    try:
        factory_cls = registry.harness_factory(provider)
    except Exception as exc:
        raise pytest.UsageError(f"cannot load the {provider} harness: {exc}") from exc
    factory: Callable[[], Any] | None = None
    if factory_cls is not None:
        made = factory_cls

        def factory() -> Any:
            return made(**options)

    checks = (
        checks_for(registry.manifest(provider))
        if factory is not None
        else [Check("contract::harness::present", "manifest", _never)]
    )
    items: list[ContractItem] = []
    for check in checks:
        name = f"{check.name}[{provider}]"
        items.append(
            ContractItem.from_parent(
                session,
                name=name,
                nodeid=name,
                check=check,
                provider=provider,
                registry=registry,
                factory=factory,
            )
        )
    return items


async def _never(ctx: Any) -> None:  # pragma: no cover - replaced by the harness check
    raise AssertionError(_NO_HARNESS)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "kradle_contract: a generated kradle-providers contract check"
    )


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(
    session: pytest.Session, config: pytest.Config, items: list[pytest.Item]
) -> None:
    if not config.getoption("kradle_provider"):
        return
    registry = load_registry()
    names = requested_providers(config, registry)
    unknown = [n for n in names if n not in registry]
    if unknown:
        errors = "; ".join(str(e) for e in registry.errors) or "none"
        raise pytest.UsageError(
            f"--kradle-provider: {', '.join(unknown)} not installed (installed: "
            f"{', '.join(registry.names()) or 'none'}; load errors: {errors})"
        )
    generated = [item for name in names for item in _items(session, registry, name)]
    wanted = config.getoption("kradle_check") or []
    if wanted:
        missing = sorted(set(wanted) - {item.name for item in generated})
        if missing:
            raise pytest.UsageError(
                f"--kradle-check: no check named {', '.join(missing)} (list them with "
                f"`pytest --kradle-provider {' --kradle-provider '.join(names)} --co -q`)"
            )
        generated = [item for item in generated if item.name in wanted]
    items.extend(generated)
