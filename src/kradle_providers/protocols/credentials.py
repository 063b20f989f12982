"""What an adapter can tell about its own credential (who it is, what it may do, its budget).

:meth:`ProviderAdapter.check_credentials
<kradle_providers.protocols.adapter.ProviderAdapter.check_credentials>` returns a
:class:`CredentialReport` (or ``None`` when the adapter cannot tell, the
default). ``sync check`` compares ``native_scopes`` with the ``nativeScopes``
the manifest's operations require; ``None`` means the provider does not say
(fine-grained tokens, API tokens that carry a user's permissions), never "no scopes".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

__all__ = ["CredentialReport"]


@dataclass(frozen=True)
class CredentialReport:
    """The identity and grants of one provider credential, as the provider reports them.

    - ``identity``: the user, bot or app the credential acts as (a login, a display name);
    - ``kind``: ``user``, ``app-installation``, ``bot``... (provider words);
    - ``native_scopes``: the grants in the manifest's ``nativeScopes`` vocabulary,
      ``None`` when unknown;
    - ``scopes``: the provider's own words for them, as reported (for people);
    - ``rate_limit_remaining`` / ``rate_limit_limit`` / ``rate_limit_reset``:
      the main request budget, when the provider reports one;
    - ``notes``: anything else a person should know (deployment, version).
    """

    identity: str | None = None
    kind: str | None = None
    native_scopes: frozenset[str] | None = None
    scopes: tuple[str, ...] = ()
    rate_limit_remaining: int | None = None
    rate_limit_limit: int | None = None
    rate_limit_reset: datetime | None = None
    notes: tuple[str, ...] = field(default_factory=tuple)
