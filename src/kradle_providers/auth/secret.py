"""Secret values that never show themselves.

A :class:`Secret` wraps a credential. Its ``repr``/``str``, its pydantic
serialization and its JSON Schema are redacted; the value is reachable only
through :meth:`Secret.reveal`. Every secret registers its value with the
process-wide redactor so that :func:`redact` can scrub it from any text
(log lines, provider error bodies, exception messages) that might echo it.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pydantic is imported when a model first uses Secret, not with redact()
    from pydantic import GetCoreSchemaHandler, GetJsonSchemaHandler
    from pydantic.json_schema import JsonSchemaValue
    from pydantic_core import core_schema

__all__ = [
    "REDACTED",
    "Secret",
    "forgetting_new_secret_values",
    "is_sensitive_header",
    "redact",
    "register_secret_value",
]

REDACTED = "***"

# Values shorter than this are not scrubbed from free text: real credentials are
# long random strings, while scrubbing a short common word ("invalid", "secret")
# from every message would destroy the text and protect nothing.
_MIN_REDACT_LEN = 8

_known: set[str] = set()
_known_lock = threading.Lock()


def register_secret_value(value: str) -> None:
    """Make :func:`redact` scrub ``value`` (and its common encodings) from text."""
    if len(value) < _MIN_REDACT_LEN:
        return
    with _known_lock:
        _known.add(value)


@contextmanager
def forgetting_new_secret_values() -> Iterator[None]:
    """Forget, on exit, every secret value registered inside the block.

    For tests that make up many secrets (property tests): without it each made-up
    value stays registered for the whole process and :func:`redact` scrubs it from
    every later text. Hypothesis draws from string constants of the code under test
    ("reopenIssue", "cancelled"), so a later audit record or error would lose words.
    """
    with _known_lock:
        before = set(_known)
    try:
        yield
    finally:
        with _known_lock:
            _known.intersection_update(before)


# Any header whose name says it may carry a credential or a signature, for every
# provider (Authorization, PRIVATE-TOKEN, X-Hub-Signature-256, X-Buildkite-Token...).
_CREDENTIAL_HEADER = re.compile(
    r"authorization|cookie|token|secret|signature|api-?key|password|session", re.IGNORECASE
)


def is_sensitive_header(name: str) -> bool:
    """True when a header may carry a credential or signature: its value is never shown."""
    return bool(_CREDENTIAL_HEADER.search(name))


def redact(text: str) -> str:
    """Return ``text`` with every known secret value replaced by ``***``."""
    if not _known or not text:
        return text
    with _known_lock:
        values = sorted(_known, key=len, reverse=True)
    for value in values:
        if value in text:
            text = text.replace(value, REDACTED)
    return text


class Secret:
    """A credential value whose representation is always redacted.

    >>> s = Secret("ghp_canary123456")
    >>> s
    Secret('***')
    >>> s.reveal()
    'ghp_canary123456'
    """

    __slots__ = ("__value",)

    def __init__(self, value: str) -> None:
        if isinstance(value, Secret):
            value = value.reveal()
        if not isinstance(value, str):
            raise TypeError(f"Secret wraps a str, not {type(value).__name__}")
        self.__value = value
        register_secret_value(value)

    def reveal(self) -> str:
        """The plain value. Call it only where the value is sent to a provider."""
        return self.__value

    def digest(self) -> str:
        """A short, non-reversible fingerprint for cache keys and audit records."""
        import hashlib  # here, not at the top: OpenSSL's bindings cost every CLI command

        return hashlib.sha256(self.__value.encode()).hexdigest()[:16]

    def __repr__(self) -> str:
        return f"Secret({REDACTED!r})"

    def __str__(self) -> str:
        return REDACTED

    def __format__(self, spec: str) -> str:
        return REDACTED

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Secret):
            return NotImplemented
        import hmac

        return hmac.compare_digest(self.__value.encode(), other.__value.encode())

    def __hash__(self) -> int:
        return hash(("Secret", self.digest()))

    def __bool__(self) -> bool:
        return bool(self.__value)

    def __reduce__(self) -> Any:
        # Pickling would write the value to disk or a queue; refuse it.
        raise TypeError("Secret values cannot be pickled")

    @classmethod
    def __get_pydantic_core_schema__(
        cls, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        from pydantic_core import core_schema

        return core_schema.no_info_plain_validator_function(
            cls._validate,
            serialization=core_schema.plain_serializer_function_ser_schema(
                lambda _v: REDACTED, when_used="always"
            ),
        )

    @classmethod
    def __get_pydantic_json_schema__(
        cls, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        return {"type": "string", "writeOnly": True, "description": "secret (always redacted)"}

    @classmethod
    def _validate(cls, value: Any) -> Secret:
        if isinstance(value, Secret):
            return value
        if isinstance(value, str):
            return cls(value)
        raise ValueError("a secret must be a string")
