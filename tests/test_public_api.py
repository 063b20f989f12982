"""The public façade: every advertised name resolves, typed, without a heavy import."""

from __future__ import annotations

import inspect
import subprocess
import sys

import kradle_providers


def test_every_public_name_resolves_and_has_a_docstring_or_is_a_constant() -> None:
    missing = []
    for name in kradle_providers.__all__:
        value = getattr(kradle_providers, name)
        ours = (
            inspect.isclass(value) or inspect.isfunction(value)
        ) and value.__module__.startswith("kradle_providers")
        if ours and not (value.__doc__ or "").strip():
            missing.append(name)
    assert missing == [], f"public names without docstrings: {missing}"
    assert sorted(dir(kradle_providers)) == sorted(kradle_providers.__all__)


def test_unknown_name_is_an_attribute_error() -> None:
    try:
        kradle_providers.NoSuchThing  # type: ignore[attr-defined]  # noqa: B018
    except AttributeError as exc:
        assert "NoSuchThing" in str(exc)
    else:
        raise AssertionError("expected AttributeError")


def test_importing_the_package_loads_nothing_heavy() -> None:
    probe = (
        "import sys, kradle_providers\n"
        "print(','.join(m for m in ('pydantic', 'httpx', 'starlette', 'rich', 'yaml')"
        " if m in sys.modules))"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    )
    assert done.stdout.strip() == ""


def test_host_quickstart_uses_only_the_top_level() -> None:
    # The README's snippet, as a host writes it.
    from kradle_providers import ExternalRef, IssueCreate, ProviderConfig, load_registry

    tracker = load_registry().create_adapter("memory", ProviderConfig())
    assert tracker.provider_type == "memory"
    assert IssueCreate(title="x").title == "x"
    assert ExternalRef(owner="acme", repository="widgets").repository == "widgets"
