"""Credentials: secrets, secret references and resolvers, auth schemes, credential forms.

Importing this package never imports httpx (plugin discovery imports it).
"""

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
