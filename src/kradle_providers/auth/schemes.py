"""Static credentials as :class:`~kradle_providers.auth.scheme.AuthScheme` objects.

A static credential cannot be refreshed, so a 401 is final for all of these
(``refresh_after_refusal`` returns ``False``). Each scheme's ``credential_id``
is a non-reversible fingerprint of the credential, stable across processes,
so rate-limit budgets and audit records can name it without holding it.
"""

from __future__ import annotations

import base64
import enum
import hashlib
import re
from typing import TYPE_CHECKING

from kradle_providers.auth.secret import Secret, register_secret_value
from kradle_providers.errors import InvalidInput

if TYPE_CHECKING:
    import httpx

__all__ = [
    "BasicAuth",
    "BearerAuth",
    "OAuthUserAuth",
    "PersonalTokenAuth",
    "TokenAuth",
    "TokenPrefix",
]

# RFC 9110 field-name token characters.
_HEADER_NAME = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")


def _as_secret(value: Secret | str, what: str) -> Secret:
    secret = value if isinstance(value, Secret) else Secret(value)
    if not secret:
        raise InvalidInput(
            f"the {what} is empty; check the secret reference it was resolved from",
            field=what,
        )
    if any(c in secret.reveal() for c in "\r\n\0"):
        # A line break would let the value inject extra headers.
        raise InvalidInput(
            f"the {what} contains a line break or NUL; strip it from the stored secret",
            field=what,
        )
    return secret


class BearerAuth:
    """``Authorization: Bearer <token>``: OAuth access tokens, most modern APIs."""

    _kind = "bearer"

    def __init__(self, token: Secret | str) -> None:
        self._token = _as_secret(token, "token")

    @property
    def credential_id(self) -> str:
        """Fingerprint of the token (:meth:`Secret.digest`)."""
        return self._token.digest()

    async def authorize(self, request: httpx.Request) -> None:
        """Set the ``Authorization`` header."""
        request.headers["Authorization"] = f"Bearer {self._token.reveal()}"

    async def refresh_after_refusal(self, response: httpx.Response) -> bool:
        """A static token cannot be refreshed: the refusal is final."""
        return False

    def __repr__(self) -> str:
        return f"{type(self).__name__}(credential_id={self.credential_id!r})"


class OAuthUserAuth(BearerAuth):
    """An OAuth user access token, acting as the user who authorized the app.

    Same wire form as :class:`BearerAuth`; the name records whose authority a
    write carries (actor attribution in audit records).
    """


class TokenPrefix(enum.Enum):
    """Sentinel for :class:`TokenAuth`'s default prefix."""

    AUTO = "auto"


class TokenAuth:
    """A token in a header, with an optional scheme prefix.

    ``TokenAuth(t)`` sends ``Authorization: token <t>`` (GitHub's classic form);
    ``TokenAuth(t, header="PRIVATE-TOKEN")`` sends the bare token in a custom
    header (GitLab personal/project tokens). By default the prefix is
    ``token`` for the ``Authorization`` header and none for any other header;
    pass ``prefix`` to choose (``None`` for no prefix).
    """

    def __init__(
        self,
        token: Secret | str,
        *,
        header: str = "Authorization",
        prefix: str | TokenPrefix | None = TokenPrefix.AUTO,
    ) -> None:
        if not _HEADER_NAME.match(header):
            raise InvalidInput(
                f"{header!r} is not a valid HTTP header name; use e.g. 'Authorization' "
                "or 'PRIVATE-TOKEN'",
                field="header",
            )
        if prefix is TokenPrefix.AUTO:
            prefix = "token" if header.lower() == "authorization" else None
        if prefix is not None and not _HEADER_NAME.match(prefix):
            raise InvalidInput(
                f"{prefix!r} is not a valid auth scheme word; use e.g. 'token' or 'Bearer'",
                field="prefix",
            )
        self._token = _as_secret(token, "token")
        self.header = header
        self.prefix: str | None = prefix

    @property
    def credential_id(self) -> str:
        """Fingerprint of the token (:meth:`Secret.digest`)."""
        return self._token.digest()

    async def authorize(self, request: httpx.Request) -> None:
        """Set the configured header."""
        value = self._token.reveal()
        request.headers[self.header] = f"{self.prefix} {value}" if self.prefix else value

    async def refresh_after_refusal(self, response: httpx.Response) -> bool:
        """A static token cannot be refreshed: the refusal is final."""
        return False

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(header={self.header!r}, prefix={self.prefix!r}, "
            f"credential_id={self.credential_id!r})"
        )


class PersonalTokenAuth(TokenAuth):
    """A personal access token (GitHub PAT, GitLab personal/project/group token).

    Same wire form as :class:`TokenAuth`; the name records that the token acts
    with a person's (or a bot account's) own permissions.
    """


class BasicAuth:
    """HTTP Basic: ``Authorization: Basic base64(username:password)``.

    Jira Cloud takes the account email and an API token; Jira/Bitbucket Data
    Center take a username and password or personal token. The username is
    not secret (it appears in ``repr``); the password is.
    """

    def __init__(self, username: str, password: Secret | str) -> None:
        if not username or ":" in username:
            raise InvalidInput(
                "the username must be non-empty and must not contain ':' "
                "(Basic auth splits on the first colon)",
                field="username",
            )
        self.username = username
        self._password = _as_secret(password, "password")
        encoded = base64.b64encode(f"{username}:{self._password.reveal()}".encode()).decode()
        # The header carries the password base64-encoded; make redact() scrub that form too.
        register_secret_value(encoded)
        self._header = Secret(f"Basic {encoded}")

    @property
    def credential_id(self) -> str:
        """Fingerprint of username and password together."""
        material = f"{self.username}\0{self._password.reveal()}".encode()
        return hashlib.sha256(material).hexdigest()[:16]

    async def authorize(self, request: httpx.Request) -> None:
        """Set the ``Authorization`` header."""
        request.headers["Authorization"] = self._header.reveal()

    async def refresh_after_refusal(self, response: httpx.Response) -> bool:
        """Static credentials cannot be refreshed: the refusal is final."""
        return False

    def __repr__(self) -> str:
        return f"BasicAuth(username={self.username!r}, credential_id={self.credential_id!r})"
