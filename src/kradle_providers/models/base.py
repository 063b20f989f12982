"""The external envelope and the building blocks every canonical kind shares."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    JsonValue,
    SkipValidation,
)

from kradle_providers.models.interface import Interface

__all__ = [
    "Actor",
    "CanonicalModel",
    "CanonicalObject",
    "Extensions",
    "ExternalEnvelope",
    "ExternalRef",
    "Interface",
    "MappingWarning",
    "ObjectRef",
    "ProviderRef",
    "Tolerant",
    "UtcDatetime",
    "Version",
]


def _to_utc(value: datetime) -> datetime:
    # Providers send naive times (Jira DC, some GitLab fields); treat them as UTC
    # so that versions compare instead of raising on aware/naive mixes.
    tz = value.tzinfo
    if tz is UTC:  # already converted (a model's datetime handed to another model)
        return value
    if tz is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


UtcDatetime = Annotated[datetime, AfterValidator(_to_utc)]
"""A datetime normalized to UTC; naive input is taken to be UTC."""

NativeJson = SkipValidation[JsonValue]
"""A provider's JSON kept as it came (unmapped fields, change values, rich-text sources).

A ``JsonValue`` in schemas and serialization, but not walked again on validation: it
comes from a JSON parse (a payload, a response, the store), so it is JSON already, and
re-checking every nested value was a tenth of webhook intake. Code that builds one by
hand must pass JSON values (dicts, lists, str, int, float, bool, None).
"""

E = TypeVar("E", bound=StrEnum)


def _tolerant(enum_cls: type[StrEnum]) -> BeforeValidator:
    # Members by value, looked up directly: calling the enum class is ~10x slower.
    members = {m.value: m for m in enum_cls}
    unknown = members["unknown"]

    def coerce(value: Any) -> Any:
        if isinstance(value, enum_cls):
            return value
        if isinstance(value, str):
            return members.get(value.lower(), unknown)
        return unknown

    return BeforeValidator(coerce)


if TYPE_CHECKING:
    # For type checkers ``Tolerant[E]`` is just ``E``.
    Tolerant = Annotated[E, "tolerant"]
else:

    class Tolerant:
        """``Tolerant[SomeEnum]``: an enum field that maps unknown values to ``unknown``.

        Provider vocabularies grow (GitHub added ``stale``, ``startup_failure``…);
        a new value must never make a model fail to load. The enum must have an
        ``unknown`` member; the model keeps the native value in a sibling field.
        """

        def __class_getitem__(cls, enum_cls: type[StrEnum]) -> Any:
            return Annotated[enum_cls, _tolerant(enum_cls)]


class CanonicalModel(BaseModel):
    """Base of every canonical model: tolerant of extra keys, strict about types."""

    # Schemas are built on first use, so importing the models (every CLI command, plugin
    # discovery) does not build all of them.
    model_config = ConfigDict(
        extra="ignore", populate_by_name=True, validate_assignment=False, defer_build=True
    )


class ProviderRef(CanonicalModel):
    """Which provider instance an object came from: type (``github``) + instance name."""

    type: str
    instance: str = "default"

    def __str__(self) -> str:
        return f"{self.type}/{self.instance}"


class Version(CanonicalModel):
    """Whatever the provider offers to order versions of one object.

    Ordering uses ``updated_at`` then ``sequence`` (a provider counter or
    delivery order); ``etag`` and ``sha`` identify a version but do not order it.
    """

    etag: str | None = None
    updated_at: UtcDatetime | None = None
    sha: str | None = None
    sequence: int | None = None

    def sort_key(self) -> tuple[datetime, int]:
        """A key that orders versions; unknown parts sort first."""
        return (
            self.updated_at or datetime.min.replace(tzinfo=UTC),
            self.sequence if self.sequence is not None else -1,
        )

    def is_newer_than(self, other: Version) -> bool:
        return self.sort_key() > other.sort_key()


class Extensions(CanonicalModel):
    """Provider fields the canonical model has no place for: nothing is dropped."""

    provider_type: str
    schema_version: str = "1"
    fields: dict[str, NativeJson] = Field(default_factory=dict)


class MappingWarning(CanonicalModel):
    """Something the provider object lacked, and what the mapping did instead.

    Providers send older or partial shapes (a label without ``id``); the object
    maps what it can, keeps the rest in extensions and says so here.
    """

    field: str
    message: str


class ExternalEnvelope(CanonicalModel):
    """Identity, addresses and version of an object as the provider knows it.

    ``warnings`` lists what the mapping had to work around; it is left out of
    the serialized form when empty.
    """

    provider: ProviderRef
    interface: Interface
    native_kind: str
    native_id: str
    native_number: str | None = None
    node_id: str | None = None
    url: str | None = None
    api_url: str | None = None
    version: Version = Field(default_factory=Version)
    extensions: Extensions
    # Left out when empty, so objects that mapped cleanly serialize as they always did.
    warnings: list[MappingWarning] = Field(default_factory=list, exclude_if=lambda w: not w)

    def key(self) -> tuple[str, str, str, str, str]:
        """The identity of the object across the whole system."""
        return (
            self.provider.type,
            self.provider.instance,
            self.interface.value,
            self.native_kind,
            self.native_id,
        )


class ObjectRef(CanonicalModel):
    """A reference from one object to another (a comment's issue, a job's pipeline)."""

    kind: str
    native_id: str | None = None
    native_number: str | None = None
    url: str | None = None


class Actor(CanonicalModel):
    """A person, bot or app as the provider names it."""

    username: str | None = None
    display_name: str | None = None
    native_id: str | None = None
    email: str | None = None
    is_bot: bool = False


class ExternalRef(CanonicalModel):
    """Where in the provider an operation applies: a repository, a project, an org.

    Forges use ``owner`` + ``repository``; Jira uses ``project``; Buildkite uses
    ``owner`` (organization) + ``pipeline``. ``extra`` carries anything else a
    provider needs.
    """

    model_config = ConfigDict(extra="allow", frozen=True)

    owner: str | None = None
    repository: str | None = None
    project: str | None = None
    pipeline: str | None = None

    def slug(self) -> str:
        """A readable name for logs and state keys (``acme/widgets``, ``WID``)."""
        parts = [p for p in (self.owner, self.repository, self.project, self.pipeline) if p]
        return "/".join(parts) or "-"


class CanonicalObject(CanonicalModel):
    """Base of every canonical kind: the envelope plus a ``kind`` discriminator."""

    interface: ClassVar[Interface]
    external: ExternalEnvelope

    @classmethod
    def kind_name(cls) -> str:
        return cls.__name__
