"""Rich-text bodies that keep their source.

A body is shown as Markdown but remembers what the provider really stored
(Atlassian Document Format, wiki markup, HTML). ``warnings`` lists whatever the
conversion could not carry, so a host can tell the user before a write would
lose it.
"""

from __future__ import annotations

import hashlib
import json
from enum import StrEnum
from typing import Any

from pydantic import Field, model_validator

from kradle_providers.models.base import CanonicalModel, NativeJson, Tolerant

__all__ = ["RichText", "SourceFormat", "source_digest"]


class SourceFormat(StrEnum):
    """The markup a rich-text body was written in at the provider."""

    MARKDOWN = "markdown"
    PLAIN = "plain"
    ADF = "adf"
    WIKI = "wiki"
    HTML = "html"
    UNKNOWN = "unknown"


def source_digest(source: Any) -> str:
    """sha256 of the source: a string as UTF-8, a document as canonical JSON."""
    if isinstance(source, str):
        data = source.encode()
    else:
        data = json.dumps(source, sort_keys=True, separators=(",", ":")).encode()
    return "sha256:" + hashlib.sha256(data).hexdigest()


class RichText(CanonicalModel):
    """A body: Markdown for display plus the provider's source, untouched."""

    markdown: str
    source_format: Tolerant[SourceFormat] = SourceFormat.MARKDOWN
    source: NativeJson = None
    source_digest: str = ""
    warnings: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _fill_source(self) -> RichText:
        # What ``self.x = v`` does here (validate_assignment is off), without going through
        # BaseModel.__setattr__: this runs for every body of every webhook.
        values = self.__dict__
        if values["source"] is None:
            values["source"] = values["markdown"]
            self.__pydantic_fields_set__.add("source")
        if not values["source_digest"]:
            values["source_digest"] = source_digest(values["source"])
            self.__pydantic_fields_set__.add("source_digest")
        return self

    @classmethod
    def from_markdown(cls, markdown: str) -> RichText:
        """A body whose source is Markdown (GitHub, GitLab)."""
        return cls(markdown=markdown, source_format=SourceFormat.MARKDOWN, source=markdown)

    @property
    def lossy(self) -> bool:
        """True when the Markdown does not carry everything the source holds."""
        return bool(self.warnings)
