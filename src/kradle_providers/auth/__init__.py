"""Credentials: secrets, secret references and resolvers, auth schemes, GitHub App tokens."""

from kradle_providers.auth.secret import REDACTED, Secret, redact, register_secret_value

__all__ = ["REDACTED", "Secret", "redact", "register_secret_value"]
