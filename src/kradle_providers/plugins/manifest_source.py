"""Reading a plugin's manifest from package data or a file, without importing the plugin's code.

Listing plugins needs only a few facts of each manifest (its provider type, display name,
interfaces and operation counts), but validating one (YAML, the JSON Schema, the pydantic
model) costs a tenth of a second each. :class:`SummaryCache` keeps the facts of every
manifest that validated, keyed by the SHA-256 of its text and stamped with the validator's
own files, so ``kradle-providers plugins`` reads them back in a millisecond and re-validates
only a manifest (or a validator) that changed. A manifest that does not validate is never
cached: it is validated, and its error reported, every time.

The cache lives in ``$KRADLE_CACHE_DIR`` (default ``$XDG_CACHE_HOME/kradle-providers``,
else ``~/.cache/kradle-providers``); set ``KRADLE_CACHE_DIR`` to an empty value to turn it
off. A cache that cannot be read or written is ignored.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
from dataclasses import asdict, dataclass
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from kradle_providers.manifest.model import Manifest

__all__ = [
    "CACHE_ENV",
    "ManifestSummary",
    "SummaryCache",
    "is_resource_ref",
    "manifest_text",
    "read_manifest",
]

CACHE_ENV = "KRADLE_CACHE_DIR"
"""Where the manifest summaries are cached; empty turns the cache off."""

_RESOURCE_REF = re.compile(r"[A-Za-z_][\w.]*:[^:\\]+")
_CACHE_FILE = "manifest-summaries.json"


def is_resource_ref(ref: str) -> bool:
    """True for ``"package:relative/path.yaml"``; False for a file path (incl. ``C:\\...``)."""
    return bool(_RESOURCE_REF.fullmatch(ref)) and not Path(ref).exists()


def read_manifest(ref: str) -> Manifest:
    """Load and validate the manifest ``ref`` names; :class:`ManifestError` when invalid.

    ``ref`` is a package resource (``"package:path.yaml"``, what a plugin's
    registration names) or a file path.
    """
    from kradle_providers.manifest import load_manifest, load_manifest_resource

    if is_resource_ref(ref):
        return load_manifest_resource(ref)
    return load_manifest(Path(ref))


def manifest_text(ref: str) -> str:
    """The text of the manifest ``ref`` names (raises ``OSError``/``ImportError`` if absent)."""
    if is_resource_ref(ref):
        package, _, relative = ref.partition(":")
        return resources.files(package).joinpath(relative).read_text("utf-8")
    return Path(ref).read_text("utf-8")


@dataclass(frozen=True)
class ManifestSummary:
    """What listings show of a manifest that validated."""

    provider_type: str
    display_name: str
    interfaces: tuple[str, ...]
    """Supported interfaces (``Interface`` values), in manifest order."""
    operation_counts: dict[str, int]
    """Supported operations per declared interface."""

    @classmethod
    def of(cls, manifest: Manifest) -> ManifestSummary:
        """The summary of a validated manifest."""
        return cls(
            provider_type=manifest.provider_type,
            display_name=manifest.spec.display_name,
            interfaces=tuple(i.value for i in manifest.supported_interfaces()),
            operation_counts={
                iface.value: len(spec.supported_operations())
                for iface, spec in manifest.spec.interfaces.items()
            },
        )

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ManifestSummary:
        return cls(
            provider_type=str(data["provider_type"]),
            display_name=str(data["display_name"]),
            interfaces=tuple(str(i) for i in data["interfaces"]),
            operation_counts={str(k): int(v) for k, v in data["operation_counts"].items()},
        )


def _default_dir() -> Path | None:
    configured = os.environ.get(CACHE_ENV)
    if configured is not None:
        return Path(configured) if configured.strip() else None
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "kradle-providers"


def _validator_stamp() -> str:
    """Changes whenever the code that validates manifests (or the operation catalogue) does."""
    import kradle_providers
    from kradle_providers import manifest as manifest_pkg
    from kradle_providers import models, protocols

    digest = hashlib.sha256(kradle_providers.__version__.encode())
    # The manifest model, the operation catalogue and the interfaces it names.
    folders = [Path(str(p)) for pkg in (manifest_pkg, protocols, models) for p in pkg.__path__]
    for folder in folders:
        for entry in sorted(os.scandir(folder), key=lambda e: e.name):
            if entry.name.endswith(".py"):
                st = entry.stat()
                digest.update(f"{entry.path}:{st.st_size}:{st.st_mtime_ns};".encode())
    return digest.hexdigest()


class SummaryCache:
    """Summaries of manifests that validated, by the SHA-256 of their text (module notes)."""

    def __init__(self, folder: Path | None = None, *, enabled: bool = True) -> None:
        self.folder = (folder if folder is not None else _default_dir()) if enabled else None
        self._entries: dict[str, dict[str, Any]] = {}
        self._stamp = ""
        self._dirty = False
        if self.folder is None:
            return
        self._stamp = _validator_stamp()
        try:
            data = json.loads((self.folder / _CACHE_FILE).read_text("utf-8"))
        except (OSError, ValueError):
            return
        if isinstance(data, dict) and data.get("stamp") == self._stamp:
            entries = data.get("entries")
            self._entries = entries if isinstance(entries, dict) else {}

    @staticmethod
    def key(text: str) -> str:
        """The cache key of a manifest's text."""
        return hashlib.sha256(text.encode("utf-8")).hexdigest()

    def get(self, key: str) -> ManifestSummary | None:
        """The summary cached for ``key``, or None."""
        found = self._entries.get(key)
        if found is None:
            return None
        try:
            return ManifestSummary.from_dict(found)
        except (KeyError, TypeError, ValueError, AttributeError):
            return None

    def put(self, key: str, summary: ManifestSummary) -> None:
        """Remember a validated manifest's summary (written by :meth:`save`)."""
        if self.folder is not None:
            self._entries[key] = asdict(summary)
            self._dirty = True

    def save(self) -> None:
        """Write the cache if it changed (atomically; failures are ignored)."""
        if self.folder is None or not self._dirty:
            return
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.folder, prefix=".summaries-", suffix=".tmp")
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                json.dump({"stamp": self._stamp, "entries": self._entries}, out)
            os.replace(tmp, self.folder / _CACHE_FILE)
            self._dirty = False
        except OSError:
            pass
