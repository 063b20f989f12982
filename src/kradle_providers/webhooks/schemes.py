"""Generic webhook signature schemes: the building blocks a provider plugin picks from.

Core knows no provider's webhook format. A plugin declares, in its
:class:`~kradle_providers.webhooks.spec.WebhookSpec`, which of these schemes its
provider uses and with which header (or brings its own class with the same two
methods):

- :class:`HmacSignature`: an HMAC of the raw body in one header, with an
  optional prefix (``sha256=<hex>``) and hex or base64 encoding;
- :class:`SharedToken`: the secret itself in a header (no signature);
- :class:`TimestampedHmacSignature`: an HMAC over a timestamp and the body,
  both carried in one header, with a replay window;
- :class:`OneOf`: whichever of several schemes the delivery carries.

Every scheme checks the raw bytes exactly as received, before anything parses
them; compares in constant time (:func:`hmac.compare_digest`) against every
configured secret (two during rotation) without an early exit; and refuses
everything when no secret is configured (fail closed). The same objects sign
what provider emulators send (:meth:`SignatureScheme.sign`), so a verifier and
an emulator cannot drift apart.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol, runtime_checkable

from kradle_providers.auth.secret import Secret
from kradle_providers.errors import InvalidInput, WebhookSignatureError

__all__ = [
    "HmacSignature",
    "OneOf",
    "SecretLike",
    "SharedToken",
    "SignatureScheme",
    "TimestampedHmacSignature",
    "body_digest",
]

SecretLike = str | Secret
"""A webhook secret given as a plain string or a :class:`Secret`."""

Digest = Literal["sha256", "sha512", "sha1"]


def body_digest(body: bytes) -> str:
    """``sha256:<hex>`` of a raw body: delivery id fallback and stored fingerprint."""
    return "sha256:" + hashlib.sha256(body).hexdigest()


def _reveal(secret: SecretLike) -> str:
    return secret.reveal() if isinstance(secret, Secret) else secret


def _hmac(secret: SecretLike, message: bytes, digest: Digest, encoding: str) -> str:
    mac = hmac.digest(_reveal(secret).encode("utf-8"), message, digest)  # one-shot C path
    return base64.b64encode(mac).decode("ascii") if encoding == "base64" else mac.hex()


def _matches_any(expected: Sequence[str], given: str) -> bool:
    # Compare with every secret (no early exit): timing must not tell which one matched.
    given_b = given.encode("utf-8", "surrogateescape")
    matched = False
    for value in expected:
        matched |= hmac.compare_digest(value.encode("utf-8"), given_b)
    return matched


def _title(name: str) -> str:
    return "-".join(p.capitalize() for p in name.split("-"))


def _header(headers: Mapping[str, str], name: str) -> str:
    value = headers.get(name)
    if value is None or not value.strip():
        raise WebhookSignatureError(f"missing {_title(name)} header")
    return value  # not stripped: a token is compared exactly as received


def _require(secrets: Sequence[Secret]) -> None:
    if not secrets:
        raise WebhookSignatureError(
            "no webhook secret is configured for this provider instance, so nothing can "
            "be verified; set the instance's webhook secret (fail closed)"
        )


@runtime_checkable
class SignatureScheme(Protocol):
    """How a provider authenticates its deliveries: checks one, and signs one.

    ``headers`` are the (lower-case) header names the scheme reads; they carry
    credentials or signatures and are never logged with their values.
    """

    @property
    def headers(self) -> tuple[str, ...]:
        """Lower-case names of the headers this scheme reads."""
        ...

    def verify(
        self, body: bytes, headers: Mapping[str, str], secrets: Sequence[Secret], *, now: float
    ) -> int | None:
        """Check ``body`` (raw bytes) against lower-cased ``headers``.

        Raises :class:`~kradle_providers.errors.WebhookSignatureError` with a
        reason; returns the signing timestamp where the scheme has one.
        """
        ...

    def sign(self, body: bytes, secret: SecretLike, *, timestamp: int) -> dict[str, str]:
        """The headers a provider sends with ``body`` signed by ``secret`` at ``timestamp``."""
        ...


@dataclass(frozen=True)
class HmacSignature:
    """An HMAC of the raw body in ``header``: ``<prefix><hex or base64 digest>``.

    ``refused`` maps other header names to why they are not accepted (a legacy
    sha1 header sent alone), so the rejection says what to change.
    """

    header: str
    algorithm: Digest = "sha256"
    prefix: str = "sha256="
    encoding: Literal["hex", "base64"] = "hex"
    refused: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "header", self.header.lower())
        object.__setattr__(self, "refused", {k.lower(): v for k, v in self.refused.items()})

    @property
    def headers(self) -> tuple[str, ...]:
        """The signature header."""
        return (self.header,)

    def digest(self, secret: SecretLike, body: bytes) -> str:
        """The header value for ``body`` signed with ``secret``."""
        return self.prefix + _hmac(secret, body, self.algorithm, self.encoding)

    def verify(
        self, body: bytes, headers: Mapping[str, str], secrets: Sequence[Secret], *, now: float
    ) -> int | None:
        """Recompute the HMAC of ``body`` with each secret and compare."""
        _require(secrets)
        if self.header not in headers:
            for name, why in self.refused.items():
                if name in headers:
                    raise WebhookSignatureError(why)
        given = _header(headers, self.header)
        if not given.startswith(self.prefix):
            shown = f"'{self.prefix}<{self.encoding}>'"
            raise WebhookSignatureError(f"{_title(self.header)} must be {shown}")
        if self.encoding == "hex":
            given = self.prefix + given[len(self.prefix) :].lower()
        if not _matches_any([self.digest(s, body) for s in secrets], given):
            raise WebhookSignatureError(
                f"{_title(self.header)} does not match the body (wrong secret or altered body)"
            )
        return None

    def sign(self, body: bytes, secret: SecretLike, *, timestamp: int) -> dict[str, str]:
        """``{header: digest}``."""
        return {self.header: self.digest(secret, body)}


@dataclass(frozen=True)
class SharedToken:
    """The secret itself in ``header``; the body is not signed."""

    header: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "header", self.header.lower())

    @property
    def headers(self) -> tuple[str, ...]:
        """The token header."""
        return (self.header,)

    def verify(
        self, body: bytes, headers: Mapping[str, str], secrets: Sequence[Secret], *, now: float
    ) -> int | None:
        """Compare the header with each secret."""
        _require(secrets)
        given = _header(headers, self.header)
        if not _matches_any([s.reveal() for s in secrets], given):
            raise WebhookSignatureError(
                f"{_title(self.header)} does not match the configured secret token"
            )
        return None

    def sign(self, body: bytes, secret: SecretLike, *, timestamp: int) -> dict[str, str]:
        """``{header: secret}``."""
        return {self.header: _reveal(secret)}


@dataclass(frozen=True)
class TimestampedHmacSignature:
    """An HMAC over a timestamp and the body, both in ``header``, with a replay window.

    ``pattern`` parses the header (named groups ``timestamp`` and ``signature``),
    ``render`` writes it, ``signed_payload`` is what is signed (``{timestamp}``
    and ``{body}`` are replaced; the body byte for byte). A delivery signed more
    than ``replay_window`` seconds from now (either way) is refused.
    """

    header: str
    pattern: str = r"^timestamp=(?P<timestamp>\d{1,12}),signature=(?P<signature>[0-9a-fA-F]+)$"
    render: str = "timestamp={timestamp},signature={signature}"
    signed_payload: str = "{timestamp}.{body}"
    algorithm: Digest = "sha256"
    encoding: Literal["hex", "base64"] = "hex"
    replay_window: float = 300.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "header", self.header.lower())
        if "{body}" not in self.signed_payload or "{timestamp}" not in self.signed_payload:
            raise InvalidInput("must contain both {timestamp} and {body}", field="signed_payload")
        if self.replay_window <= 0:
            raise InvalidInput("must be a positive number of seconds", field="replay_window")

    @property
    def headers(self) -> tuple[str, ...]:
        """The signature header."""
        return (self.header,)

    def _payload(self, timestamp: str, body: bytes) -> bytes:
        before, _, after = self.signed_payload.partition("{body}")
        return (
            before.replace("{timestamp}", timestamp).encode("ascii")
            + body
            + after.replace("{timestamp}", timestamp).encode("ascii")
        )

    def verify(
        self, body: bytes, headers: Mapping[str, str], secrets: Sequence[Secret], *, now: float
    ) -> int | None:
        """Check the window first, then the HMAC of the signed payload."""
        _require(secrets)
        match = re.match(self.pattern, _header(headers, self.header))
        if match is None:
            raise WebhookSignatureError(f"{_title(self.header)} must be '{self.render}'")
        ts = match["timestamp"]
        skew = now - int(ts)
        if abs(skew) > self.replay_window:
            when = "old" if skew > 0 else "far in the future"
            raise WebhookSignatureError(
                f"{_title(self.header)} timestamp is {abs(int(skew))}s {when}, outside the "
                f"{int(self.replay_window)}s replay window (replayed delivery or clock skew)"
            )
        given = match["signature"]
        if self.encoding == "hex":
            given = given.lower()
        payload = self._payload(ts, body)
        expected = [_hmac(s, payload, self.algorithm, self.encoding) for s in secrets]
        if not _matches_any(expected, given):
            raise WebhookSignatureError(
                f"{_title(self.header)} does not match the body "
                "(wrong secret or altered body/timestamp)"
            )
        return int(ts)

    def sign(self, body: bytes, secret: SecretLike, *, timestamp: int) -> dict[str, str]:
        """``{header: render(timestamp, signature)}``."""
        sig = _hmac(secret, self._payload(str(timestamp), body), self.algorithm, self.encoding)
        return {self.header: self.render.format(timestamp=timestamp, signature=sig)}


@dataclass(frozen=True, init=False)
class OneOf:
    """Whichever of ``schemes`` the delivery carries (the first whose header is present).

    Signing uses the first scheme. A delivery with none of the headers is
    refused naming all of them.
    """

    schemes: tuple[SignatureScheme, ...]

    def __init__(self, *schemes: SignatureScheme) -> None:
        if not schemes:
            raise InvalidInput("give at least one scheme", field="schemes")
        object.__setattr__(self, "schemes", schemes)

    @property
    def headers(self) -> tuple[str, ...]:
        """Every header of every scheme."""
        return tuple(h for s in self.schemes for h in s.headers)

    def verify(
        self, body: bytes, headers: Mapping[str, str], secrets: Sequence[Secret], *, now: float
    ) -> int | None:
        """Verify with the first scheme whose header the delivery has."""
        _require(secrets)
        for scheme in self.schemes:
            if any(h in headers for h in scheme.headers):
                return scheme.verify(body, headers, secrets, now=now)
        names = " or ".join(_title(h) for h in self.headers)
        raise WebhookSignatureError(f"missing {names} header")

    def sign(self, body: bytes, secret: SecretLike, *, timestamp: int) -> dict[str, str]:
        """Signed with the first scheme."""
        return self.schemes[0].sign(body, secret, timestamp=timestamp)
