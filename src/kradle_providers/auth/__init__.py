"""Credentials: secrets, secret references and resolvers, auth schemes, GitHub App tokens.

Importing this package never imports httpx, PyJWT or cryptography: the GitHub
App names load on first use (plugin discovery imports this package), and PyJWT
and cryptography only when a JWT is signed or verified.
"""

from typing import TYPE_CHECKING, Any

from kradle_providers.auth.refs import (
    ChainResolver,
    EnvironmentResolver,
    FileResolver,
    InsecureSecretFile,
    MappingResolver,
    SecretNotFound,
    SecretRef,
    SecretResolver,
    default_resolver,
)
from kradle_providers.auth.scheme import AuthScheme
from kradle_providers.auth.schemes import (
    BasicAuth,
    BearerAuth,
    OAuthUserAuth,
    PersonalTokenAuth,
    TokenAuth,
    TokenPrefix,
)
from kradle_providers.auth.secret import (
    REDACTED,
    Secret,
    is_sensitive_header,
    redact,
    register_secret_value,
)

if TYPE_CHECKING:
    from kradle_providers.auth.github_app import (
        AppAuthUnavailable,
        GitHubAppAuth,
        InstallationToken,
        app_jwt,
        verify_app_jwt,
    )

_GITHUB_APP_NAMES = {
    "AppAuthUnavailable",
    "GitHubAppAuth",
    "InstallationToken",
    "app_jwt",
    "verify_app_jwt",
}


def __getattr__(name: str) -> Any:
    if name in _GITHUB_APP_NAMES:
        from kradle_providers.auth import github_app

        return getattr(github_app, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "REDACTED",
    "AppAuthUnavailable",
    "AuthScheme",
    "BasicAuth",
    "BearerAuth",
    "ChainResolver",
    "EnvironmentResolver",
    "FileResolver",
    "GitHubAppAuth",
    "InsecureSecretFile",
    "InstallationToken",
    "MappingResolver",
    "OAuthUserAuth",
    "PersonalTokenAuth",
    "Secret",
    "SecretNotFound",
    "SecretRef",
    "SecretResolver",
    "TokenAuth",
    "TokenPrefix",
    "app_jwt",
    "default_resolver",
    "is_sensitive_header",
    "redact",
    "register_secret_value",
    "verify_app_jwt",
]
