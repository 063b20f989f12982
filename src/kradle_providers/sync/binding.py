"""Bindings: which provider instance serves each interface of a host target, in which mode.

A binding is a YAML/JSON document (or a Python object built directly)::

    apiVersion: kradle.a5c.ai/v1alpha1
    kind: ExternalBackendBinding
    metadata: {name: widgets}
    spec:
      target: {kind: Repository, name: widgets}
      providers:
        gh:   {type: github, apiBaseUrl: "${GH_API}", auth: {token: {env: GH_TOKEN}},
               webhookSecret: {env: GH_WEBHOOK_SECRET}}
        jira: {type: jira, apiBaseUrl: "${JIRA_API}",
               auth: {basic: {username: {env: JIRA_USER}, password: {env: JIRA_TOKEN}}}}
      interfaces:
        gitForge:      {provider: gh, mode: bidirectional,
                        externalRef: {owner: acme, repository: widgets}}
        cicd:          {provider: gh, mode: external-owned,
                        externalRef: {owner: acme, repository: widgets}}
        issueTracking: {provider: jira, mode: reviewed-write, externalRef: {project: WID}}

``${VAR}`` in any string is replaced from the environment when the document is
loaded (an unset variable is an error naming it and where it is used; ``$${``
is a literal ``${``). Credentials are never values in the document, only
:class:`~kradle_providers.auth.SecretRef` references (``{env: X}``,
``{file: P}``, ``{secret: {name, key}}``) that a resolver turns into values
when the binding is opened (:mod:`kradle_providers.sync.runtime`).

:meth:`Binding.validate_against` checks a binding against the installed plugins'
manifests (SPEC §6): every provider type installed, every interface supported
with the operations its mode needs (refusals name the missing operations),
requested kinds declared, and no cross-org binding unless ``allowCrossOrg``.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import yaml
from pydantic import (
    AliasChoices,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic.alias_generators import to_camel

from kradle_providers.auth.forms import CORE_FORMS, AuthForm
from kradle_providers.auth.refs import SecretRef
from kradle_providers.errors import KradleError
from kradle_providers.models.base import ExternalRef, Interface
from kradle_providers.plugins.selection import (
    BindingMode,
    BindingRefused,
    InterfaceBinding,
    select_binding,
)

if TYPE_CHECKING:
    from kradle_providers.manifest.model import Manifest
    from kradle_providers.plugins.registry import Registry

__all__ = [
    "BINDING_API_VERSION",
    "BINDING_KIND",
    "Binding",
    "BindingError",
    "BindingMetadata",
    "BindingMode",
    "BindingRefused",
    "BindingSpec",
    "BindingTarget",
    "InterfaceSpec",
    "ProviderInstanceSpec",
    "TombstonePolicy",
    "ValidatedBinding",
    "load_binding",
    "parse_binding",
    "substitute_env",
]

BINDING_API_VERSION: Literal["kradle.a5c.ai/v1alpha1"] = "kradle.a5c.ai/v1alpha1"
BINDING_KIND: Literal["ExternalBackendBinding"] = "ExternalBackendBinding"


class BindingError(KradleError):
    """A binding document is unreadable or invalid; ``problems`` lists each, with its path."""

    def __init__(self, problems: list[str], *, source: str | None = None) -> None:
        self.problems = problems
        self.source = source
        where = f"{source}: " if source else ""
        super().__init__(f"{where}invalid binding: " + "; ".join(problems))


class _Model(BaseModel):
    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, extra="forbid", frozen=True
    )


# --------------------------------------------------------------------------- spec


class TombstonePolicy(StrEnum):
    """What happens to objects a complete listing no longer returns."""

    KEEP = "keep"
    """Mark them tombstoned and keep the tombstones (the default)."""
    PURGE = "purge"
    """Mark them tombstoned, then forget tombstones older than the pass."""


class ProviderInstanceSpec(_Model):
    """One provider instance the binding uses (``spec.providers.<alias>``).

    ``instance`` defaults to the alias; it is the instance name in envelopes,
    object keys and webhook paths (``POST /{type}/{instance}``). ``auth`` is one
    credential form, ``{<form>: <value>}``: core's ``token``, ``bearer`` and
    ``basic`` (checked when the document is read) or a form the provider's
    plugin adds (checked by :meth:`Binding.validate_against`); see
    :mod:`kradle_providers.auth.forms`.
    """

    type: str = Field(min_length=1)
    instance: str | None = None
    api_base_url: str | None = None
    auth: dict[str, Any] | None = None
    webhook_secret: SecretRef | None = None
    previous_webhook_secret: SecretRef | None = None
    options: dict[str, Any] = Field(default_factory=dict)

    @field_validator("auth", mode="before")
    @classmethod
    def _one_form(cls, value: Any) -> Any:
        if value is None:
            return None
        if not isinstance(value, Mapping) or len(value) != 1:
            raise ValueError(
                "give exactly one credential form, e.g. {token: {env: VAR}}; core forms: "
                + ", ".join(f.key for f in CORE_FORMS)
            )
        [(key, inner)] = value.items()
        core = {f.key: f for f in CORE_FORMS}
        # Core forms are checked now; a plugin's own forms when the binding is validated.
        if key not in core:
            return {key: inner}
        try:
            return {key: core[key].parse(inner)}
        except ValidationError as exc:
            raise ValueError("; ".join(f"{key}.{p}" for p in _pydantic_problems(exc))) from None


class InterfaceSpec(_Model):
    """How one interface is bound (``spec.interfaces.<interface>``).

    ``kinds`` defaults to every kind of the interface the provider can list;
    ``tombstones`` is the policy for objects a full listing no longer returns.
    """

    provider: str = Field(min_length=1)
    mode: BindingMode
    external_ref: ExternalRef = Field(validation_alias=AliasChoices("externalRef", "external_ref"))
    kinds: list[str] | None = None
    tombstones: TombstonePolicy = TombstonePolicy.KEEP


class BindingTarget(_Model):
    """The host object the binding attaches to (a repository, a project, an org)."""

    kind: str = Field(min_length=1)
    name: str = Field(min_length=1)


class BindingSpec(_Model):
    """The body of a binding."""

    target: BindingTarget
    providers: dict[str, ProviderInstanceSpec]
    interfaces: dict[Interface, InterfaceSpec]
    allow_cross_org: bool = False

    @model_validator(mode="after")
    def _consistent(self) -> BindingSpec:
        problems: list[str] = []
        if not self.interfaces:
            problems.append("spec.interfaces: bind at least one interface")
        for iface, spec in self.interfaces.items():
            if spec.provider not in self.providers:
                known = ", ".join(sorted(self.providers)) or "none"
                problems.append(
                    f"spec.interfaces.{iface.value}.provider: {spec.provider!r} is not a "
                    f"provider alias of spec.providers (defined: {known})"
                )
        instances: dict[tuple[str, str], str] = {}
        for alias, prov in self.providers.items():
            ident = (prov.type, prov.instance or alias)
            if ident in instances:
                problems.append(
                    f"spec.providers.{alias}: instance {ident[1]!r} of {ident[0]} is already "
                    f"defined by {instances[ident]!r}; give each instance its own name"
                )
            instances[ident] = alias
        if problems:
            raise ValueError("; ".join(problems))
        return self


class BindingMetadata(_Model):
    """Name and labels of a binding."""

    name: str = Field(min_length=1, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
    labels: dict[str, str] = Field(default_factory=dict)


class ValidatedBinding(BaseModel):
    """What :meth:`Binding.validate_against` accepted: per interface, its selection and kinds."""

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    selections: dict[Interface, InterfaceBinding]
    kinds: dict[Interface, tuple[str, ...]]


class Binding(_Model):
    """An ``ExternalBackendBinding``: a host target bound to provider instances per interface."""

    api_version: Literal["kradle.a5c.ai/v1alpha1"] = BINDING_API_VERSION
    kind: Literal["ExternalBackendBinding"] = BINDING_KIND
    metadata: BindingMetadata
    spec: BindingSpec

    @property
    def name(self) -> str:
        """The binding's name (``metadata.name``): the key of all its sync state."""
        return self.metadata.name

    @property
    def interfaces(self) -> list[Interface]:
        """The bound interfaces, in document order."""
        return list(self.spec.interfaces)

    def interface(self, interface: Interface | str) -> InterfaceSpec:
        """The binding of ``interface``; :class:`BindingError` if it is not bound."""
        iface = Interface(interface)
        try:
            return self.spec.interfaces[iface]
        except KeyError:
            bound = ", ".join(i.value for i in self.spec.interfaces) or "none"
            raise BindingError(
                [f"{iface.value} is not bound by {self.name!r} (bound: {bound})"]
            ) from None

    def provider_alias(self, interface: Interface | str) -> str:
        """The alias of the provider instance serving ``interface``."""
        return self.interface(interface).provider

    def provider(self, alias: str) -> ProviderInstanceSpec:
        """The provider instance ``alias``."""
        try:
            return self.spec.providers[alias]
        except KeyError:
            raise BindingError([f"no provider alias {alias!r} in {self.name!r}"]) from None

    def instance_name(self, alias: str) -> str:
        """The instance name of provider ``alias`` (its ``instance``, else the alias)."""
        return self.provider(alias).instance or alias

    def provider_of(self, interface: Interface | str) -> tuple[str, ProviderInstanceSpec]:
        """``(alias, instance spec)`` serving ``interface``."""
        alias = self.provider_alias(interface)
        return alias, self.spec.providers[alias]

    def validate_against(self, registry: Registry | None = None) -> ValidatedBinding:
        """Check the binding against installed manifests; raise :class:`BindingRefused`.

        Refused when a provider type is not installed, an interface is not
        supported or lacks the operations its mode needs (named), a requested
        kind is not declared, or targets span organizations without
        ``allowCrossOrg``.
        """
        from kradle_providers.plugins.registry import UnknownProvider, load_registry
        from kradle_providers.sync.runtime import default_kinds

        reg = registry if registry is not None else load_registry()
        problems: list[str] = []
        choices: list[InterfaceBinding] = []
        kinds: dict[Interface, tuple[str, ...]] = {}
        checked: set[str] = set()
        for iface, ispec in self.spec.interfaces.items():
            alias, prov = self.provider_of(iface)
            try:
                manifest = reg.manifest(prov.type)
            except UnknownProvider as exc:
                problems.append(f"spec.providers.{alias}.type: {exc}")
                continue
            if alias not in checked:
                checked.add(alias)
                problems += _auth_problems(alias, prov, reg.auth_forms(prov.type), manifest)
            choices.append(
                InterfaceBinding(
                    interface=iface,
                    manifest=manifest,
                    mode=ispec.mode,
                    target=ispec.external_ref,
                    instance=self.instance_name(alias),
                )
            )
            listable = default_kinds(manifest, iface, unlisted=True)
            if ispec.kinds is None:
                kinds[iface] = default_kinds(manifest, iface)
                continue
            unknown = [k for k in ispec.kinds if k not in listable]
            if unknown:
                problems.append(
                    f"spec.interfaces.{iface.value}.kinds: {prov.type} cannot list "
                    f"{', '.join(unknown)} for {iface.value} (listable: "
                    f"{', '.join(listable) or 'none'}); remove them"
                )
            kinds[iface] = tuple(k for k in ispec.kinds if k in listable)
        selections: dict[Interface, InterfaceBinding] = {}
        missing: list[str] = []
        try:
            selections = select_binding(choices, allow_cross_org=self.spec.allow_cross_org)
        except BindingRefused as exc:
            problems += exc.problems
            missing += exc.missing
        if problems:
            raise BindingRefused(
                f"binding {self.name!r} refused: " + "; ".join(problems),
                missing=missing,
                problems=problems,
            )
        return ValidatedBinding(selections=selections, kinds=kinds)

    def to_document(self) -> dict[str, Any]:
        """The binding as a JSON/YAML-ready document (camelCase keys, references kept)."""
        data: dict[str, Any] = self.model_dump(mode="json", by_alias=True, exclude_none=True)
        return data


def provider_auth_forms(forms: tuple[AuthForm, ...]) -> tuple[AuthForm, ...]:
    """The forms a provider accepts: its plugin's list, or core's when it lists none."""
    return forms or CORE_FORMS


def _auth_problems(
    alias: str, prov: ProviderInstanceSpec, declared: tuple[AuthForm, ...], manifest: Manifest
) -> list[str]:
    if prov.auth is None:
        return []
    [(key, value)] = prov.auth.items()
    forms = {f.key: f for f in provider_auth_forms(declared)}
    where = f"spec.providers.{alias}.auth"
    allowed = ", ".join(f"{k} ({'/'.join(f.modes)})" if f.modes else k for k, f in forms.items())
    form = forms.get(key)
    if form is None:
        return [f"{where}: {prov.type} does not take a {key!r} credential; use one of: {allowed}"]
    modes = set(manifest.spec.auth_modes)
    if form.modes and modes and not modes & set(form.modes):
        return [
            f"{where}.{key}: serves auth modes {', '.join(form.modes)}, none of which the "
            f"{prov.type} manifest declares ({', '.join(sorted(modes))})"
        ]
    try:
        form.parse(value)
    except ValidationError as exc:
        return [f"{where}.{key}.{p}" for p in _pydantic_problems(exc)]
    return []


# --------------------------------------------------------------------------- loading

_VAR = re.compile(r"\$\$\{|\$\{([^}]*)\}")
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def substitute_env(value: Any, environ: Mapping[str, str] | None = None, *, path: str = "") -> Any:
    """``value`` with every ``${VAR}`` in its strings replaced from ``environ``, recursively.

    ``$${`` is a literal ``${``. An unset or malformed variable is a
    :class:`BindingError` naming the variable and where it is used.
    """
    env = os.environ if environ is None else environ
    if isinstance(value, str):

        def repl(match: re.Match[str]) -> str:
            if match.group(0) == "$${":
                return "${"
            name = match.group(1)
            if not _NAME.match(name):
                raise BindingError(
                    [
                        f"{path or '<root>'}: ${{{name}}} is not a variable name; write $${{ "
                        "for a literal '${'"
                    ]
                )
            if name not in env:
                raise BindingError(
                    [
                        f"{path or '<root>'}: environment variable {name} is not set; export it "
                        f"or replace ${{{name}}} with a value"
                    ]
                )
            return env[name]

        return _VAR.sub(repl, value)
    if isinstance(value, Mapping):
        return {
            k: substitute_env(v, env, path=f"{path}.{k}" if path else str(k))
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [substitute_env(v, env, path=f"{path}[{i}]") for i, v in enumerate(value)]
    return value


def _pydantic_problems(exc: ValidationError) -> list[str]:
    problems = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"] if not str(p).startswith("function-"))
        problems.append(f"{loc or '<root>'}: {err['msg']}")
    return problems


def binding_from_data(
    data: Any, *, environ: Mapping[str, str] | None = None, source: str | None = None
) -> Binding:
    """Build a :class:`Binding` from parsed YAML/JSON data (``${VAR}`` substituted)."""
    if not isinstance(data, Mapping):
        raise BindingError(
            [
                "a binding is a mapping with apiVersion/kind/metadata/spec, "
                f"not {type(data).__name__}"
            ],
            source=source,
        )
    try:
        data = substitute_env(data, environ)
    except BindingError as exc:
        raise BindingError(exc.problems, source=source) from None
    kind = data.get("kind")
    if kind != BINDING_KIND:
        raise BindingError([f"kind: expected {BINDING_KIND!r}, got {kind!r}"], source=source)
    if data.get("apiVersion") != BINDING_API_VERSION:
        raise BindingError(
            [f"apiVersion: expected {BINDING_API_VERSION!r}, got {data.get('apiVersion')!r}"],
            source=source,
        )
    try:
        return Binding.model_validate(data)
    except ValidationError as exc:
        raise BindingError(_pydantic_problems(exc), source=source) from None


def parse_binding(
    text: str, *, environ: Mapping[str, str] | None = None, source: str | None = None
) -> Binding:
    """Parse a binding from YAML (or JSON, which is YAML) text."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise BindingError([f"not valid YAML/JSON: {exc}"], source=source) from None
    return binding_from_data(data, environ=environ, source=source)


def load_binding(
    path: str | os.PathLike[str], *, environ: Mapping[str, str] | None = None
) -> Binding:
    """Load a binding from a ``.yaml``/``.yml``/``.json`` file."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise BindingError(
            [f"cannot read the binding file: {exc.strerror}"], source=str(p)
        ) from None
    if p.suffix == ".json":
        try:
            return binding_from_data(json.loads(text), environ=environ, source=str(p))
        except json.JSONDecodeError as exc:
            raise BindingError([f"not valid JSON: {exc}"], source=str(p)) from None
    return parse_binding(text, environ=environ, source=str(p))
