"""Capability manifests: the model, the loader, the validator (SPEC §5).

    from kradle_providers.manifest import load_manifest, validate_manifest
    manifest = load_manifest("manifest.yaml")        # ManifestError lists every finding
    findings = validate_manifest(yaml.safe_load(text))

Kept import-light (pydantic, PyYAML, jsonschema): the plugin registry reads
manifests of every installed plugin without importing their adapters.
"""

from kradle_providers.errors import ManifestError, ManifestFinding
from kradle_providers.manifest.loader import (
    ManifestSource,
    dump_manifest,
    load_manifest,
    load_manifest_resource,
    manifest_from_data,
    parse_manifest_text,
    read_manifest_file,
)
from kradle_providers.manifest.model import (
    API_VERSION,
    MANIFEST_KIND,
    IdempotencyMode,
    InterfaceSpec,
    Manifest,
    OperationDecl,
)
from kradle_providers.manifest.validator import (
    MANIFEST_SCHEMA_ID,
    manifest_schema,
    schema_findings,
    semantic_findings,
    validate_manifest,
)

__all__ = [
    "API_VERSION",
    "MANIFEST_KIND",
    "MANIFEST_SCHEMA_ID",
    "IdempotencyMode",
    "InterfaceSpec",
    "Manifest",
    "ManifestError",
    "ManifestFinding",
    "ManifestSource",
    "OperationDecl",
    "dump_manifest",
    "load_manifest",
    "load_manifest_resource",
    "manifest_from_data",
    "manifest_schema",
    "parse_manifest_text",
    "read_manifest_file",
    "schema_findings",
    "semantic_findings",
    "validate_manifest",
]
