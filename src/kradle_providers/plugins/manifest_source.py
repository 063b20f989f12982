"""Reading a plugin's manifest from package data or a file, without importing the plugin's code."""

from __future__ import annotations

import re
from pathlib import Path

from kradle_providers.manifest import Manifest, load_manifest, load_manifest_resource

__all__ = ["is_resource_ref", "read_manifest"]

_RESOURCE_REF = re.compile(r"[A-Za-z_][\w.]*:[^:\\]+")


def is_resource_ref(ref: str) -> bool:
    """True for ``"package:relative/path.yaml"``; False for a file path (incl. ``C:\\...``)."""
    return bool(_RESOURCE_REF.fullmatch(ref)) and not Path(ref).exists()


def read_manifest(ref: str) -> Manifest:
    """Load and validate the manifest ``ref`` names; :class:`ManifestError` when invalid.

    ``ref`` is a package resource (``"package:path.yaml"``, what a plugin's
    registration names) or a file path.
    """
    if is_resource_ref(ref):
        return load_manifest_resource(ref)
    return load_manifest(Path(ref))
