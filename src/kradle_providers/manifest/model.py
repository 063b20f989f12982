"""The capability manifest model (``kind: ExternalProviderCapabilityManifest``).

Field names follow the YAML (camelCase); Python attributes are snake_case.
Operations, objects and webhooks may be given as bare names or full shapes;
the ``*_entries`` helpers always return the full shapes.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from kradle_providers.errors import UnsupportedOperation
from kradle_providers.models.base import Interface
from kradle_providers.protocols.catalogue import OPERATIONS

__all__ = [
    "API_VERSION",
    "MANIFEST_KIND",
    "AdapterRef",
    "ApiKinds",
    "IdempotencyMode",
    "IdempotencySpec",
    "IdentitySpec",
    "InterfaceSpec",
    "InterfacesSpec",
    "Manifest",
    "ManifestMetadata",
    "ManifestSpec",
    "ObjectDecl",
    "OperationDecl",
    "OperationRequires",
    "WebhookConfirmation",
    "WebhookDecl",
]

API_VERSION = "kradle.a5c.ai/v1alpha1"
MANIFEST_KIND = "ExternalProviderCapabilityManifest"


class _Camel(BaseModel):
    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, extra="forbid", frozen=True
    )


class IdempotencyMode(StrEnum):
    """How a retried write avoids duplicating.

    - ``native-key``: the provider accepts an idempotency key.
    - ``synthetic-key``: the adapter embeds a key it can find again before retrying.
    - ``natural``: the write is idempotent by nature (PUT, set-to-value).
    - ``none``: not safe to retry after a lost response.
    """

    NATIVE_KEY = "native-key"
    SYNTHETIC_KEY = "synthetic-key"
    NATURAL = "natural"
    NONE = "none"


class IdempotencySpec(_Camel):
    mode: IdempotencyMode


class OperationRequires(_Camel):
    permissions: list[str] = Field(default_factory=list)
    auth_modes: list[str] = Field(default_factory=list)
    native_scopes: list[str] = Field(default_factory=list)


class WebhookConfirmation(_Camel):
    events: list[str] = Field(default_factory=list)


class OperationDecl(_Camel):
    """An operation in full shape; a bare name means ``supported: true`` and defaults."""

    operation: str
    supported: bool = True
    reason: str | None = None
    write: bool | None = None
    native: str | None = None
    requires: OperationRequires = Field(default_factory=OperationRequires)
    idempotency: IdempotencySpec | None = None
    rate_limit_cost: dict[str, int] | int | None = None
    webhook_confirmation: WebhookConfirmation | None = None
    description: str | None = None

    @property
    def is_write(self) -> bool:
        """The declared write flag, else the canonical one."""
        if self.write is not None:
            return self.write
        info = OPERATIONS.get(self.operation)
        return bool(info and info.write)


class ObjectDecl(_Camel):
    """A canonical kind this interface yields and the provider's name(s) for it.

    ``version_fields`` overrides ``spec.identity.versionFields`` for this kind
    when its objects carry other (or no) version fields; ``[]`` says the
    provider keeps no version of them (a Jira label or fix version has no
    modification time), so hosts order them by content.

    ``global_id_field`` and ``url_field`` likewise override the identity's for
    this kind; ``""`` says its objects have none (a GitHub deploy key has
    neither a ``node_id`` nor an ``html_url``).
    """

    kind: str
    native: str | list[str] | None = None
    version_fields: list[str] | None = None
    global_id_field: str | None = None
    url_field: str | None = None


class WebhookDecl(_Camel):
    """A webhook event the provider sends. ``informational`` events are
    acknowledged but produce no sync events (a ping, a worklog)."""

    event: str
    informational: bool = False
    description: str | None = None


class InterfaceSpec(_Camel):
    supported: bool = False
    reason: str | None = None
    objects: list[str | ObjectDecl] = Field(default_factory=list)
    operations: list[str | OperationDecl] = Field(default_factory=list)
    webhooks: list[str | WebhookDecl] = Field(default_factory=list)

    def operation_entries(self) -> list[OperationDecl]:
        return [OperationDecl(operation=o) if isinstance(o, str) else o for o in self.operations]

    def object_entries(self) -> list[ObjectDecl]:
        return [ObjectDecl(kind=o) if isinstance(o, str) else o for o in self.objects]

    def webhook_entries(self) -> list[WebhookDecl]:
        return [WebhookDecl(event=w) if isinstance(w, str) else w for w in self.webhooks]

    def supported_operations(self) -> dict[str, OperationDecl]:
        """Declared and supported operations by canonical name."""
        if not self.supported:
            return {}
        return {o.operation: o for o in self.operation_entries() if o.supported}


class InterfacesSpec(_Camel):
    issue_tracking: InterfaceSpec = Field(default_factory=InterfaceSpec)
    cicd: InterfaceSpec = Field(default_factory=InterfaceSpec)
    git_forge: InterfaceSpec = Field(default_factory=InterfaceSpec)

    def get(self, interface: Interface) -> InterfaceSpec:
        return {
            Interface.ISSUE_TRACKING: self.issue_tracking,
            Interface.CICD: self.cicd,
            Interface.GIT_FORGE: self.git_forge,
        }[interface]

    def items(self) -> list[tuple[Interface, InterfaceSpec]]:
        return [(i, self.get(i)) for i in Interface]


class ApiKinds(_Camel):
    rest: bool = False
    graphql: bool = False
    webhook: bool = False


class IdentitySpec(_Camel):
    native_id_fields: list[str] = Field(default_factory=list)
    global_id_field: str | None = None
    url_field: str | None = None
    version_fields: list[str] = Field(default_factory=list)


class AdapterRef(_Camel):
    package: str
    version: str | None = None
    module: str | None = None


class ManifestSpec(_Camel):
    provider_type: str = Field(pattern=r"^[a-z][a-z0-9-]*$")
    display_name: str
    hosting: list[str] = Field(default_factory=list)
    auth_modes: list[str] = Field(default_factory=list)
    api: ApiKinds = Field(default_factory=ApiKinds)
    identity: IdentitySpec = Field(default_factory=IdentitySpec)
    rate_limit_model: str | dict[str, Any] | None = None
    interfaces: InterfacesSpec = Field(default_factory=InterfacesSpec)
    notes: str | dict[str, Any] | None = None
    adapter_ref: AdapterRef | None = None


class ManifestMetadata(_Camel):
    model_config = ConfigDict(extra="allow", frozen=True)
    name: str
    labels: dict[str, str] = Field(default_factory=dict)


class Manifest(_Camel):
    """A provider's capability manifest."""

    api_version: Literal["kradle.a5c.ai/v1alpha1"]
    kind: Literal["ExternalProviderCapabilityManifest"]
    metadata: ManifestMetadata
    spec: ManifestSpec

    @property
    def provider_type(self) -> str:
        return self.spec.provider_type

    def interface(self, interface: Interface) -> InterfaceSpec:
        return self.spec.interfaces.get(interface)

    def supported_interfaces(self) -> list[Interface]:
        return [i for i, s in self.spec.interfaces.items() if s.supported]

    def operation(self, name: str) -> OperationDecl | None:
        """The declaration of ``name`` (supported or not) in its interface, if any."""
        info = OPERATIONS.get(name)
        if info is None:
            return None
        for decl in self.interface(info.interface).operation_entries():
            if decl.operation == name:
                return decl
        return None

    def supports(self, name: str) -> bool:
        info = OPERATIONS.get(name)
        if info is None:
            return False
        return name in self.interface(info.interface).supported_operations()

    def unsupported_reason(self, name: str) -> str:
        """Why ``name`` is unsupported, in the manifest's words where it has them."""
        info = OPERATIONS.get(name)
        if info is None:
            return f"{name} is not a canonical operation"
        iface = self.interface(info.interface)
        if not iface.supported:
            return iface.reason or f"the {info.interface.value} interface is not supported"
        decl = self.operation(name)
        if decl is not None and not decl.supported:
            return decl.reason or "declared unsupported in the manifest"
        return f"not declared in the {info.interface.value} operations of the manifest"

    def require(self, name: str) -> None:
        """Raise :class:`UnsupportedOperation` (with the manifest's reason) unless supported.

        The one way core refuses an operation a provider does not declare.
        """
        if not self.supports(name):
            raise UnsupportedOperation(self.provider_type, name, self.unsupported_reason(name))

    def version_fields(self, kind: str) -> list[str]:
        """The version fields of canonical ``kind``: its object's own, else the identity's."""
        for _, spec in self.spec.interfaces.items():
            for decl in spec.object_entries():
                if decl.kind == kind and decl.version_fields is not None:
                    return list(decl.version_fields)
        return list(self.spec.identity.version_fields)

    def global_id_field(self, kind: str) -> str | None:
        """The global id field of canonical ``kind``: its object's own, else the identity's."""
        decl = self._object_decl(kind)
        if decl is not None and decl.global_id_field is not None:
            return decl.global_id_field or None
        return self.spec.identity.global_id_field

    def url_field(self, kind: str) -> str | None:
        """The web URL field of canonical ``kind``: its object's own, else the identity's."""
        decl = self._object_decl(kind)
        if decl is not None and decl.url_field is not None:
            return decl.url_field or None
        return self.spec.identity.url_field

    def _object_decl(self, kind: str) -> ObjectDecl | None:
        for _, spec in self.spec.interfaces.items():
            for decl in spec.object_entries():
                if decl.kind == kind:
                    return decl
        return None

    def webhook_events(self, *, include_informational: bool = True) -> list[str]:
        """Every webhook event of every supported interface."""
        events: list[str] = []
        for _, spec in self.spec.interfaces.items():
            if spec.supported:
                events += [
                    w.event
                    for w in spec.webhook_entries()
                    if include_informational or not w.informational
                ]
        return events
