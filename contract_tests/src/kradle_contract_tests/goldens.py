"""Where a plugin's golden files are read from and (re)written to.

A plugin's harness finds its goldens next to its installed package. For an
editable install that is the source tree; for a plugin installed from a wheel it
is site-packages, where an update would be lost on the next install. So the
plugin declares its source folder in its own ``pyproject.toml``::

    [tool.kradle-providers]
    goldens = "src/kradle_provider_acme/fixtures/goldens"

Run from anywhere inside that source tree (the ``pyproject.toml`` whose
``kradle_providers`` entry point registers the provider is found from the
working directory upwards), the suite reads goldens from there and
``KRADLE_UPDATE_GOLDENS=1`` writes them there. ``KRADLE_GOLDENS_DIR`` overrides
both. Nothing is ever written into an installed package.
"""

from __future__ import annotations

import json
import os
import tomllib
from pathlib import Path
from typing import Any

from kradle_contract_tests.context import violation

__all__ = [
    "GOLDENS_DIR_ENV",
    "UPDATE_GOLDENS_ENV",
    "declared_goldens_dir",
    "golden_path",
    "write_golden",
]

UPDATE_GOLDENS_ENV = "KRADLE_UPDATE_GOLDENS"
"""Set to 1 to (re)write golden files from the current normalizer output."""
GOLDENS_DIR_ENV = "KRADLE_GOLDENS_DIR"
"""Overrides the declared folder: goldens are read from and written to ``$KRADLE_GOLDENS_DIR``."""
_INSTALLED = {"site-packages", "dist-packages"}
_DECLARATION = '[tool.kradle-providers] goldens = "src/<your_package>/fixtures/goldens"'


def declared_goldens_dir(provider: str, start: Path | None = None) -> Path | None:
    """The goldens folder ``provider``'s source tree declares, searching up from ``start``.

    ``start`` defaults to the working directory. The first ``pyproject.toml``
    registering ``provider`` in the ``kradle_providers`` entry-point group
    decides: its ``[tool.kradle-providers] goldens`` (relative to it), or none.
    """
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        registers, declared = _declaration(folder / "pyproject.toml", provider)
        if registers:
            return declared
    return None


def _declaration(pyproject: Path, provider: str) -> tuple[bool, Path | None]:
    """Whether ``pyproject`` registers ``provider``, and the goldens folder it declares."""
    try:
        data = tomllib.loads(pyproject.read_text())
    except (OSError, tomllib.TOMLDecodeError):
        return False, None
    entry_points = data.get("project", {}).get("entry-points", {}).get("kradle_providers", {})
    if provider not in entry_points:
        return False, None
    goldens = data.get("tool", {}).get("kradle-providers", {}).get("goldens")
    return True, (pyproject.parent / goldens if isinstance(goldens, str) and goldens else None)


def golden_path(golden: Path, provider: str) -> Path:
    """Where the golden the harness names as ``golden`` is read and written.

    ``$KRADLE_GOLDENS_DIR`` or the declared folder keep the harness's
    ``<event>/<case>.golden.json`` layout; otherwise ``golden`` itself.
    """
    env = os.environ.get(GOLDENS_DIR_ENV)
    root = Path(env) if env else declared_goldens_dir(provider)
    return root / golden.parent.name / golden.name if root is not None else golden


def write_golden(golden: Path, actual: Any, provider: str) -> None:
    """Write ``actual`` as the golden, refusing a path inside an installed package."""
    if _INSTALLED & set(golden.resolve().parts):
        violation(
            f"{UPDATE_GOLDENS_ENV}=1 would write {golden} into an installed package, where "
            "the change is lost on the next install",
            f"run from the {provider} plugin's source tree and declare its goldens folder in "
            f"its pyproject.toml ({_DECLARATION}), install the plugin editable "
            f"(pip install -e .), or set {GOLDENS_DIR_ENV} to that folder",
        )
    golden.parent.mkdir(parents=True, exist_ok=True)
    golden.write_text(json.dumps(actual, indent=2, sort_keys=True) + "\n")
