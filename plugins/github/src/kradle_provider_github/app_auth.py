"""GitHub App authentication: app JWTs and cached installation tokens.

A GitHub App signs a short-lived JWT (RS256) with its private key and trades
it at ``POST /app/installations/{id}/access_tokens`` for an installation token
that lasts an hour. :class:`GitHubAppAuth` keeps that token in memory, mints
a new one shortly before it expires, lets exactly one mint run however many
tasks need a token, and re-mints once when GitHub refuses a token early
(revoked, or the installation's permissions changed).

PyJWT and cryptography are imported only when a JWT is signed or verified,
never when this module is imported (plugin discovery stays light).
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import re
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol, runtime_checkable

import httpx

from kradle_providers.auth.secret import Secret, redact, register_secret_value
from kradle_providers.errors import (
    AuthenticationError,
    InvalidInput,
    KradleError,
    NotFound,
    PermissionDenied,
    ProviderError,
    RateLimited,
    TransientProviderError,
)

__all__ = [
    "JWT_BACKDATE_SECONDS",
    "JWT_LIFETIME_SECONDS",
    "MAX_JWT_LIFETIME_SECONDS",
    "AppAuthUnavailable",
    "GitHubAppAuth",
    "InstallationToken",
    "TokenMinter",
    "app_jwt",
    "verify_app_jwt",
]

logger = logging.getLogger(__name__)

#: ``iat`` is back-dated so a clock slightly ahead of GitHub's is accepted.
JWT_BACKDATE_SECONDS = 60
#: ``exp`` is this far after *now* (GitHub refuses more than 10 minutes).
JWT_LIFETIME_SECONDS = 540
#: GitHub's limit on how far ``exp`` may lie in the future.
MAX_JWT_LIFETIME_SECONDS = 600
#: Lifetime GitHub documents for installation tokens, used when a response omits it.
_DEFAULT_TOKEN_LIFETIME = 3600.0
_API_VERSION = "2022-11-28"
_INSTALLATION_ID = re.compile(r"^[0-9]+$")

#: An async function that sends the mint request and returns GitHub's answer.
TokenMinter = Callable[[httpx.Request], Awaitable[httpx.Response]]


@runtime_checkable
class _HasNow(Protocol):
    def now(self) -> float: ...


class AppAuthUnavailable(KradleError):
    """PyJWT or cryptography, needed for GitHub App auth, is not installed."""

    def __init__(self, missing: str) -> None:
        self.missing = missing
        super().__init__(
            f"GitHub App authentication needs {missing}, which is not installed. "
            "Fix: pip install 'kradle-providers[app]'"
        )


def _epoch(now: float | datetime) -> int:
    if isinstance(now, datetime):
        if now.tzinfo is None:
            raise InvalidInput("pass an aware datetime (UTC), not a naive one", field="now")
        return int(now.timestamp())
    return int(now)


def _load_private_key(private_key: Secret | str) -> Any:
    """Parse the App's PEM private key; errors never include key material."""
    try:
        from cryptography.exceptions import UnsupportedAlgorithm
        from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
        from cryptography.hazmat.primitives.serialization import load_pem_private_key
    except ImportError:
        raise AppAuthUnavailable("cryptography") from None
    pem = private_key.reveal() if isinstance(private_key, Secret) else private_key
    if "\\n" in pem and "\n" not in pem.strip():
        # Environment variables often carry the PEM with escaped line breaks.
        pem = pem.replace("\\n", "\n")
    try:
        key = load_pem_private_key(pem.strip().encode(), password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm):
        raise InvalidInput(
            "the GitHub App private key is not an unencrypted PEM private key. "
            "Fix: reference the .pem file generated in the App's settings "
            "(it starts with '-----BEGIN RSA PRIVATE KEY-----')",
            field="private_key",
        ) from None
    if not isinstance(key, RSAPrivateKey):
        raise InvalidInput(
            "the GitHub App private key is not an RSA key; GitHub signs App JWTs with RS256. "
            "Fix: use the .pem file generated in the App's settings",
            field="private_key",
        )
    return key


def _sign(app_id: str, key: Any, now: int) -> str:
    try:
        import jwt
    except ImportError:
        raise AppAuthUnavailable("PyJWT") from None
    claims = {
        "iat": now - JWT_BACKDATE_SECONDS,
        "exp": now + JWT_LIFETIME_SECONDS,
        "iss": app_id,
    }
    token: str = jwt.encode(claims, key, algorithm="RS256")
    # The JWT is a credential for its lifetime: make redact() scrub it.
    register_secret_value(token)
    return token


def app_jwt(app_id: int | str, private_key: Secret | str, now: float | datetime) -> str:
    """Sign the App JWT GitHub expects at ``now`` (epoch seconds or aware datetime).

    Claims: ``iat`` = now - 60 s, ``exp`` = now + 9 min, ``iss`` = the App id as
    a string; algorithm RS256. The result is a credential for nine minutes:
    do not log it.
    """
    return _sign(str(app_id), _load_private_key(private_key), _epoch(now))


def _jwt_refused(message: str, fix: str) -> AuthenticationError:
    return AuthenticationError(f"{message}. Fix: {fix}", provider="github", status=401)


def verify_app_jwt(
    token: str,
    public_key_pem: str | bytes,
    app_id: int | str,
    now: float | datetime,
    *,
    leeway: float = 0.0,
) -> dict[str, Any]:
    """Check an App JWT the way GitHub does, for emulators; return its claims.

    Requires an RS256 signature by ``public_key_pem``'s key, integer ``iat``
    and ``exp``, ``iss`` equal to ``app_id``, ``iat`` not in the future,
    ``exp`` in the future but at most 10 minutes ahead (``leeway`` seconds of
    clock skew allowed). Raises :class:`AuthenticationError` (status 401) with
    GitHub's wording otherwise.
    """
    try:
        import jwt
    except ImportError:
        raise AppAuthUnavailable("PyJWT") from None
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError:
        raise _jwt_refused(
            "A JSON web token could not be decoded", "send a JWT signed with the App's key"
        ) from None
    if header.get("alg") != "RS256":
        raise _jwt_refused(
            f"A JSON web token could not be decoded (alg {header.get('alg')!r} is not RS256)",
            "sign the JWT with RS256",
        )
    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            public_key_pem,
            algorithms=["RS256"],
            options={
                "verify_exp": False,
                "verify_iat": False,
                "verify_nbf": False,
                "verify_iss": False,
                "verify_aud": False,
                "require": ["iat", "exp", "iss"],
            },
        )
    except jwt.InvalidSignatureError:
        raise _jwt_refused(
            "A JSON web token could not be decoded (signature does not match the App's key)",
            "sign with the App's current private key",
        ) from None
    except jwt.MissingRequiredClaimError as exc:
        raise _jwt_refused(
            f"A JSON web token could not be decoded (missing {exc.claim!r} claim)",
            "include iat, exp and iss",
        ) from None
    except (jwt.PyJWTError, ValueError, TypeError):
        raise _jwt_refused(
            "A JSON web token could not be decoded", "send a JWT signed with the App's key"
        ) from None
    clock = float(_epoch(now)) if isinstance(now, datetime) else float(now)
    iat, exp = claims["iat"], claims["exp"]
    if not isinstance(iat, int) or isinstance(iat, bool):
        raise _jwt_refused(
            "'Issued at' claim ('iat') must be an Integer representing the time that the "
            "assertion was issued",
            "use integer epoch seconds",
        )
    if not isinstance(exp, int) or isinstance(exp, bool):
        raise _jwt_refused(
            "'Expiration time' claim ('exp') must be a numeric value representing the future "
            "time at which the assertion expires",
            "use integer epoch seconds",
        )
    if str(claims["iss"]) != str(app_id):
        raise _jwt_refused(
            "'Issuer' claim ('iss') does not name this App",
            "set iss to the App's id",
        )
    if iat > clock + leeway:
        raise _jwt_refused(
            "'Issued at' claim ('iat') must be an Integer representing a time in the past",
            "back-date iat by 60 seconds and check this machine's clock",
        )
    if exp <= clock - leeway:
        raise _jwt_refused(
            "'Expiration time' claim ('exp') must be a numeric value representing the future "
            "time at which the assertion expires",
            "sign a fresh JWT and check this machine's clock",
        )
    if exp > clock + MAX_JWT_LIFETIME_SECONDS + leeway or exp <= iat:
        raise _jwt_refused(
            "'Expiration time' claim ('exp') is too far in the future",
            "set exp at most 10 minutes after now",
        )
    return claims


@dataclass(frozen=True, slots=True)
class InstallationToken:
    """A minted installation token and when to stop using it (epoch seconds)."""

    token: Secret
    expires_at: float
    refresh_at: float
    minted_at: float
    #: Minted because GitHub refused the previous token early.
    after_refusal: bool = False
    permissions: Mapping[str, str] = field(default_factory=dict)
    repository_selection: str | None = None


class GitHubAppAuth:
    """Authenticates as one installation of a GitHub App (implements ``AuthScheme``).

    ``http`` sends the mint request: an :class:`httpx.AsyncClient`, an async
    transport (``httpx.MockTransport``, an emulator's ASGI transport), or an
    async function ``(httpx.Request) -> httpx.Response``; by default an owned
    client (close it with :meth:`aclose`). ``clock`` gives epoch seconds: a
    zero-argument callable or an object with ``now()``.

    The token is refreshed ``refresh_margin`` seconds before it expires (at
    most half its lifetime). A token minted because GitHub refused the previous
    one, and refused again within ``refusal_window`` seconds, is not re-minted:
    the refusal is final. ``repositories``/``repository_ids``/``permissions``
    narrow the minted token, as the mint endpoint allows.
    """

    def __init__(
        self,
        app_id: int | str,
        private_key: Secret | str,
        installation_id: int | str,
        *,
        base_url: str = "https://api.github.com",
        http: httpx.AsyncClient | httpx.AsyncBaseTransport | TokenMinter | None = None,
        clock: Callable[[], float] | _HasNow | None = None,
        refresh_margin: float = 300.0,
        refusal_window: float = 60.0,
        repositories: Sequence[str] | None = None,
        repository_ids: Sequence[int] | None = None,
        permissions: Mapping[str, str] | None = None,
        user_agent: str = "kradle-providers",
        timeout: float = 30.0,
    ) -> None:
        self.app_id = str(app_id).strip()
        if not self.app_id or any(c.isspace() for c in self.app_id):
            raise InvalidInput(
                "the App id is empty or contains spaces; copy it from the App's settings page",
                field="app_id",
            )
        self.installation_id = str(installation_id).strip()
        if not _INSTALLATION_ID.match(self.installation_id):
            raise InvalidInput(
                f"installation id {self.installation_id!r} is not a number; find it in the "
                "installation's settings URL or GET /app/installations",
                field="installation_id",
            )
        self._private_key = private_key if isinstance(private_key, Secret) else Secret(private_key)
        if not self._private_key:
            raise InvalidInput(
                "the App private key is empty; check the secret reference it was resolved from",
                field="private_key",
            )
        self.base_url = base_url.rstrip("/")
        self._http = http
        self._client: httpx.AsyncClient | None = (
            http if isinstance(http, httpx.AsyncClient) else None
        )
        self._owns_client = False
        self._clock = clock
        self._margin = max(0.0, refresh_margin)
        self._refusal_window = max(0.0, refusal_window)
        self._body: dict[str, Any] = {}
        if repositories is not None:
            self._body["repositories"] = list(repositories)
        if repository_ids is not None:
            self._body["repository_ids"] = list(repository_ids)
        if permissions is not None:
            self._body["permissions"] = dict(permissions)
        self._user_agent = user_agent
        self._timeout = timeout
        self._signing_key: Any = None
        self._token: InstallationToken | None = None
        self._inflight: asyncio.Task[InstallationToken] | None = None
        #: Number of mint requests sent (for metrics and tests).
        self.mint_count = 0

    # -- AuthScheme ---------------------------------------------------------

    @property
    def credential_id(self) -> str:
        """The installation, not the token: budgets belong to the installation."""
        return f"github-app:{self.app_id}:installation:{self.installation_id}"

    async def authorize(self, request: httpx.Request) -> None:
        """Set ``Authorization: Bearer <installation token>``, minting one if needed."""
        token = await self.installation_token()
        request.headers["Authorization"] = f"Bearer {token.reveal()}"

    async def refresh_after_refusal(self, response: httpx.Response) -> bool:
        """Re-mint once when GitHub refuses a token before its expiry.

        Returns ``True`` when the request should be retried with a new token
        (also when another task already replaced the refused one), ``False``
        when a token minted in answer to a refusal is refused again within
        ``refusal_window`` seconds: the installation itself is the problem.
        """
        used = _bearer(response)
        record = self._token
        if record is not None and used is not None and not _same(used, record.token):
            return True
        if (
            record is not None
            and record.after_refusal
            and self._now() - record.minted_at <= self._refusal_window
        ):
            logger.warning(
                "GitHub refused a freshly minted installation token for %s; "
                "check that the App is installed, not suspended, and has the needed permissions",
                self.credential_id,
            )
            return False
        if record is not None:
            logger.info(
                "GitHub refused the installation token for %s early; re-minting", self.credential_id
            )
            self._token = None
        await self._refresh(after_refusal=True)
        return True

    # -- tokens --------------------------------------------------------------

    async def installation_token(self) -> Secret:
        """The current installation token, minted or refreshed when needed."""
        record = self._token
        if record is None or self._now() >= record.refresh_at:
            record = await self._refresh(after_refusal=False)
        return record.token

    @property
    def cached_token(self) -> InstallationToken | None:
        """The cached token record, if any (its ``token`` stays redacted)."""
        return self._token

    def invalidate(self) -> None:
        """Forget the cached token; the next request mints a new one."""
        self._token = None

    async def aclose(self) -> None:
        """Close the HTTP client this object created (not one it was given)."""
        if self._owns_client and self._client is not None:
            await self._client.aclose()
            self._client = None
            self._owns_client = False

    async def __aenter__(self) -> GitHubAppAuth:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    def __repr__(self) -> str:
        return (
            f"GitHubAppAuth(app_id={self.app_id!r}, installation_id={self.installation_id!r}, "
            f"base_url={self.base_url!r})"
        )

    # -- internals -----------------------------------------------------------

    def _now(self) -> float:
        clock = self._clock
        if clock is None:
            return time.time()
        if isinstance(clock, _HasNow):
            return float(clock.now())
        return float(clock())

    async def _refresh(self, *, after_refusal: bool) -> InstallationToken:
        """Join the mint in flight, or start one: one mint however many callers."""
        loop = asyncio.get_running_loop()
        task = self._inflight
        if task is None or task.done() or task.get_loop() is not loop:
            task = loop.create_task(self._mint(after_refusal=after_refusal))
            self._inflight = task
            task.add_done_callback(self._mint_finished)
        # shield: a cancelled caller must not cancel the mint the others wait for.
        return await asyncio.shield(task)

    def _mint_finished(self, task: asyncio.Task[InstallationToken]) -> None:
        if self._inflight is task:
            self._inflight = None
        if not task.cancelled():
            task.exception()  # mark retrieved: every waiter already got it

    def _app_jwt(self, now: float) -> Secret:
        if self._signing_key is None:
            self._signing_key = _load_private_key(self._private_key)
        return Secret(_sign(self.app_id, self._signing_key, int(now)))

    async def _send(self, request: httpx.Request) -> httpx.Response:
        http = self._http
        if http is not None and not isinstance(http, httpx.AsyncClient | httpx.AsyncBaseTransport):
            return await http(request)
        if self._client is None:
            transport = http if isinstance(http, httpx.AsyncBaseTransport) else None
            self._client = httpx.AsyncClient(transport=transport, timeout=self._timeout)
            self._owns_client = True
        return await self._client.send(request)

    async def _mint(self, *, after_refusal: bool) -> InstallationToken:
        now = self._now()
        jwt_token = self._app_jwt(now)
        url = f"{self.base_url}/app/installations/{self.installation_id}/access_tokens"
        request = httpx.Request(
            "POST",
            url,
            headers={
                "Authorization": f"Bearer {jwt_token.reveal()}",
                "Accept": "application/vnd.github+json",
                "X-GitHub-Api-Version": _API_VERSION,
                "User-Agent": self._user_agent,
            },
            json=self._body or None,
        )
        self.mint_count += 1
        logger.debug("minting an installation token for %s at %s", self.credential_id, url)
        try:
            response = await self._send(request)
            await response.aread()
        except httpx.HTTPError as exc:
            raise TransientProviderError(
                redact(
                    f"could not reach {url} to mint an installation token "
                    f"({type(exc).__name__}: {exc}). Fix: check base_url and the network; "
                    "the next request retries"
                ),
                provider="github",
            ) from None
        if response.status_code not in (200, 201):
            raise self._mint_error(response)
        return self._parse(response, now, after_refusal)

    def _parse(
        self, response: httpx.Response, now: float, after_refusal: bool
    ) -> InstallationToken:
        try:
            data = response.json()
        except ValueError:
            data = None
        token = data.get("token") if isinstance(data, dict) else None
        if not isinstance(token, str) or not token:
            raise ProviderError(
                f"GitHub answered the installation token request for {self.credential_id} "
                f"with {response.status_code} but no token. Fix: check that base_url points at "
                "the GitHub API (e.g. https://HOST/api/v3 for Enterprise Server)",
                provider="github",
                status=response.status_code,
            )
        secret = Secret(token)
        expires_at = now + _DEFAULT_TOKEN_LIFETIME
        raw_expiry = data.get("expires_at") if isinstance(data, dict) else None
        if isinstance(raw_expiry, str):
            try:
                parsed = datetime.fromisoformat(raw_expiry)
                if parsed.tzinfo is None:
                    parsed = parsed.replace(tzinfo=UTC)
                expires_at = parsed.timestamp()
            except ValueError:
                logger.warning(
                    "installation token for %s has an unreadable expires_at; assuming 1 hour",
                    self.credential_id,
                )
        lifetime = max(0.0, expires_at - now)
        margin = min(self._margin, lifetime / 2)
        permissions = data.get("permissions") if isinstance(data, dict) else None
        selection = data.get("repository_selection") if isinstance(data, dict) else None
        record = InstallationToken(
            token=secret,
            expires_at=expires_at,
            refresh_at=expires_at - margin,
            minted_at=now,
            after_refusal=after_refusal,
            permissions=dict(permissions) if isinstance(permissions, dict) else {},
            repository_selection=selection if isinstance(selection, str) else None,
        )
        self._token = record
        logger.debug(
            "minted installation token for %s; expires at %s, refresh at %s",
            self.credential_id,
            datetime.fromtimestamp(expires_at, tz=UTC).isoformat(),
            datetime.fromtimestamp(record.refresh_at, tz=UTC).isoformat(),
        )
        return record

    def _mint_error(self, response: httpx.Response) -> ProviderError:
        status = response.status_code
        native = redact(response.text)
        try:
            body = response.json()
            message = str(body.get("message", "")) if isinstance(body, dict) else ""
        except ValueError:
            message = ""
        said = f" (GitHub said: {redact(message)})" if message else ""
        who = f"installation {self.installation_id} of App {self.app_id}"
        headers = response.headers
        if status == 429 or (status == 403 and headers.get("x-ratelimit-remaining") == "0"):
            reset = headers.get("x-ratelimit-reset")
            retry_after = headers.get("retry-after")
            return RateLimited(
                f"rate limited while minting a token for {who}{said}. "
                "Fix: wait for the reset; the next request retries",
                reset_at=datetime.fromtimestamp(int(reset), tz=UTC)
                if reset and reset.isdigit()
                else None,
                retry_after=float(retry_after) if retry_after and retry_after.isdigit() else None,
                scope="core",
                provider="github",
                status=status,
                native=native,
            )
        if status == 401:
            return AuthenticationError(
                f"GitHub refused the App JWT for App {self.app_id}{said}. Fix: check the App id, "
                "that the private key is one of the App's current keys, and this machine's clock",
                provider="github",
                status=status,
                native=native,
            )
        if status == 403:
            return PermissionDenied(
                f"GitHub refused a token for {who}{said}. Fix: check that the installation is "
                "not suspended and that requested permissions/repositories are granted to it",
                provider="github",
                status=status,
                native=native,
            )
        if status == 404:
            return NotFound(
                f"{who} was not found{said}. Fix: install the App on the account, or correct "
                "installation_id (GET /app/installations lists them)",
                provider="github",
                status=status,
                native=native,
            )
        if status >= 500:
            return TransientProviderError(
                f"GitHub failed to mint a token for {who} ({status}){said}; "
                "the next request retries",
                provider="github",
                status=status,
                native=native,
            )
        return ProviderError(
            f"GitHub refused to mint a token for {who} ({status}){said}. Fix: check the "
            "requested repositories and permissions",
            provider="github",
            status=status,
            native=native,
        )


def _bearer(response: httpx.Response) -> str | None:
    """The credential the refused request carried, if it can be seen."""
    try:
        header = response.request.headers.get("Authorization")
    except RuntimeError:  # a response built without its request
        return None
    if not header:
        return None
    scheme, _, value = header.partition(" ")
    return value if scheme.lower() in ("bearer", "token") and value else None


def _same(value: str, secret: Secret) -> bool:
    return hmac.compare_digest(value.encode(), secret.reveal().encode())
