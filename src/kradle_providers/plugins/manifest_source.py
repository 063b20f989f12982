"""Reading a plugin's manifest from package data or a file, without importing the plugin's code.

The manifest area provides ``load_manifest_resource("pkg:path.yaml")`` and
``load_manifest(path)`` (schema + meaning checks); this module prefers them and
falls back to a plain parse + model validation while they are unavailable.
"""

from __future__ import annotations

import importlib
import importlib.resources
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from kradle_providers.errors import ManifestError, ManifestFinding
from kradle_providers.manifest.model import Manifest

__all__ = ["is_resource_ref", "read_manifest"]

_RESOURCE_REF = re.compile(r"[A-Za-z_][\w.]*:[^:\\]+")


def is_resource_ref(ref: str) -> bool:
    """True for ``"package:relative/path.yaml"``; False for a file path (incl. ``C:\\...``)."""
    return bool(_RESOURCE_REF.fullmatch(ref)) and not Path(ref).exists()


def _manifest_api(name: str) -> Callable[[Any], Manifest] | None:
    try:
        module = importlib.import_module("kradle_providers.manifest")
    except ImportError:
        return None
    fn = getattr(module, name, None)
    return fn if callable(fn) else None


def read_manifest(ref: str) -> Manifest:
    """Load and validate the manifest ``ref`` names; :class:`ManifestError` when invalid."""
    if is_resource_ref(ref):
        loader = _manifest_api("load_manifest_resource")
        if loader is not None:
            return loader(ref)
        package, _, relative = ref.partition(":")
        try:
            text = importlib.resources.files(package).joinpath(relative).read_text("utf-8")
        except (ModuleNotFoundError, FileNotFoundError, OSError) as exc:
            raise ManifestError(
                [
                    ManifestFinding(
                        "$",
                        f"manifest resource not found: {exc}",
                        "ship the manifest as package data and check the "
                        "'package:path' in the ProviderPlugin registration",
                    )
                ],
                source=ref,
            ) from exc
        return _parse(text, ref)
    loader = _manifest_api("load_manifest")
    if loader is not None:
        return loader(Path(ref))
    try:
        text = Path(ref).read_text("utf-8")
    except OSError as exc:
        raise ManifestError(
            [ManifestFinding("$", f"cannot read manifest file: {exc}", "fix the manifest path")],
            source=ref,
        ) from exc
    return _parse(text, ref)


def _parse(text: str, source: str) -> Manifest:
    try:
        data = json.loads(text) if source.endswith(".json") else yaml.safe_load(text)
    except (ValueError, yaml.YAMLError) as exc:
        raise ManifestError(
            [ManifestFinding("$", f"not valid YAML/JSON: {exc}", "fix the syntax")], source=source
        ) from exc
    try:
        return Manifest.model_validate(data)
    except ValidationError as exc:
        findings = [
            ManifestFinding(
                "$" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in err["loc"]),
                err["msg"],
                "correct the value to match the manifest schema",
            )
            for err in exc.errors()
        ]
        raise ManifestError(findings, source=source) from exc
