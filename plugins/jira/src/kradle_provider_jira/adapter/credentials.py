"""Who a Jira credential is (``check_credentials``).

``GET /rest/api/{3|2}/myself`` names the account the credential acts as.
Jira API tokens and Data Center PATs carry the user's own project
permissions, not OAuth scopes, so ``native_scopes`` stays unknown; Jira
reports no request budget before it answers 429.
"""

from __future__ import annotations

from kradle_provider_jira.adapter.client import JiraBase
from kradle_providers.protocols.credentials import CredentialReport

__all__ = ["CredentialOperations"]


class CredentialOperations(JiraBase):
    """``check_credentials`` for Jira (Cloud and Data Center)."""

    async def check_credentials(self) -> CredentialReport:
        """The account behind the credential, and the deployment it talks to."""
        me = (await self.http.get(f"{await self.api()}/myself")).json()
        me = me if isinstance(me, dict) else {}
        identity = me.get("displayName") or me.get("name") or me.get("accountId")
        return CredentialReport(
            identity=identity if isinstance(identity, str) else None,
            kind=me.get("accountType") if isinstance(me.get("accountType"), str) else "user",
            notes=(
                f"Jira {await self.flavor()}; API tokens carry the user's project permissions, "
                "not scopes",
            ),
        )
