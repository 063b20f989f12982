"""Credentials: secrets, secret references and resolvers, auth schemes, credential forms.

Importing this package never imports httpx (plugin discovery imports it).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from kradle_providers._lazy import lazy_exports

if TYPE_CHECKING:
    from kradle_providers.auth.forms import BASIC, BEARER, CORE_FORMS, TOKEN, AuthContext, AuthForm
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

__all__ = [
    "BASIC",
    "BEARER",
    "CORE_FORMS",
    "REDACTED",
    "TOKEN",
    "AuthContext",
    "AuthForm",
    "AuthScheme",
    "BasicAuth",
    "BearerAuth",
    "ChainResolver",
    "EnvironmentResolver",
    "FileResolver",
    "InsecureSecretFile",
    "MappingResolver",
    "OAuthUserAuth",
    "PersonalTokenAuth",
    "Secret",
    "SecretNotFound",
    "SecretRef",
    "SecretResolver",
    "TokenAuth",
    "TokenPrefix",
    "default_resolver",
    "is_sensitive_header",
    "redact",
    "register_secret_value",
]

# Each name's module, imported on first access so importing the package stays cheap.
_HOMES = {
    "BASIC": "kradle_providers.auth.forms",
    "BEARER": "kradle_providers.auth.forms",
    "CORE_FORMS": "kradle_providers.auth.forms",
    "TOKEN": "kradle_providers.auth.forms",
    "AuthContext": "kradle_providers.auth.forms",
    "AuthForm": "kradle_providers.auth.forms",
    "ChainResolver": "kradle_providers.auth.refs",
    "EnvironmentResolver": "kradle_providers.auth.refs",
    "FileResolver": "kradle_providers.auth.refs",
    "InsecureSecretFile": "kradle_providers.auth.refs",
    "MappingResolver": "kradle_providers.auth.refs",
    "SecretNotFound": "kradle_providers.auth.refs",
    "SecretRef": "kradle_providers.auth.refs",
    "SecretResolver": "kradle_providers.auth.refs",
    "default_resolver": "kradle_providers.auth.refs",
    "AuthScheme": "kradle_providers.auth.scheme",
    "BasicAuth": "kradle_providers.auth.schemes",
    "BearerAuth": "kradle_providers.auth.schemes",
    "OAuthUserAuth": "kradle_providers.auth.schemes",
    "PersonalTokenAuth": "kradle_providers.auth.schemes",
    "TokenAuth": "kradle_providers.auth.schemes",
    "TokenPrefix": "kradle_providers.auth.schemes",
    "REDACTED": "kradle_providers.auth.secret",
    "Secret": "kradle_providers.auth.secret",
    "is_sensitive_header": "kradle_providers.auth.secret",
    "redact": "kradle_providers.auth.secret",
    "register_secret_value": "kradle_providers.auth.secret",
}


__getattr__ = lazy_exports(__name__, _HOMES)
