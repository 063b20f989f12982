"""The write authorization pipeline (SPEC §8): every write passes five checks, in order.

1. **actor attribution** — a write names who asked for it (a person, an agent);
2. **capability** — the operation is a canonical write of the interface and the
   provider's manifest declares it (:class:`UnsupportedOperation` otherwise);
3. **host permission** — the host's ``authorize(actor, permission)`` callback
   grants every kradle permission the manifest's ``requires.permissions`` lists;
4. **provider scope** — the credential's auth mode and native scopes (when the
   host knows them) cover the manifest's ``requires.authModes`` / ``nativeScopes``;
5. **binding mode and approval policy** — read-only and external-owned bindings
   refuse writes ("ownership forbids"); reviewed-write (or a host approval rule)
   holds the write for approval; other writing modes send it.

:func:`check_write` runs the pipeline and returns a :class:`WriteDecision`:
the phase the new intent starts in. Checks 1-4 raise (the request is invalid or
not allowed at all, so no intent is recorded); check 5 is a decision about a
valid request, so a refused one is recorded as a ``Rejected`` intent.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Collection
from dataclasses import dataclass, field
from datetime import timedelta

from kradle_providers.errors import InvalidInput, PermissionDenied, UnsupportedOperation
from kradle_providers.manifest.model import Manifest
from kradle_providers.models.base import Interface
from kradle_providers.plugins.selection import BindingMode
from kradle_providers.protocols.catalogue import OPERATIONS
from kradle_providers.sync.phases import WriteIntentPhase

__all__ = [
    "APPROVE_PERMISSION",
    "ApprovalRule",
    "Authorizer",
    "ProviderGrant",
    "WriteDecision",
    "WritePolicy",
    "allow_all",
    "check_approver",
    "check_write",
    "ownership_forbids",
    "required_permissions",
]

Authorizer = Callable[[str, str], bool | Awaitable[bool]]
"""``authorize(actor, permission) -> bool`` (sync or async): the host's permission check."""

ApprovalRule = Callable[[str, str, BindingMode], bool]
"""``needs_approval(actor, operation, mode) -> bool``: the host's approval policy."""

APPROVE_PERMISSION = "sync.intents.approve"
"""The permission an approver (or a rejecter, or a conflict resolver) needs."""


# Operations whose answer is a secret (a runner registration token): the answer
# must never be stored, so they cannot be queued as intents.
def allow_all(actor: str, permission: str) -> bool:
    """An authorizer that grants everything (single-user tools, tests)."""
    return True


def _default_approval(actor: str, operation: str, mode: BindingMode) -> bool:
    return mode is BindingMode.REVIEWED_WRITE


@dataclass(frozen=True)
class ProviderGrant:
    """What the provider credential is known to carry; ``None`` means unknown (not checked)."""

    auth_mode: str | None = None
    native_scopes: frozenset[str] | None = None


@dataclass(frozen=True)
class WritePolicy:
    """Tunables of the write pipeline and the sender.

    ``needs_approval`` decides which writes wait for a reviewer (default: those of
    reviewed-write bindings); ``allow_lossy`` accepts writes whose rich text the
    provider could not hold losslessly instead of raising a conflict;
    ``confirmation_timeout`` is how long a sent write may stay unconfirmed before
    it becomes a conflict; retries back off exponentially from ``backoff_base``
    to ``backoff_max`` and stop after ``max_attempts`` sends; ``sending_lease`` is how
    long a sender's claim lasts unless renewed: a ``Sending`` intent whose
    sender stopped renewing (it crashed) is retried once it expired.
    """

    needs_approval: ApprovalRule = _default_approval
    allow_lossy: bool = False
    confirmation_timeout: timedelta = timedelta(minutes=10)
    max_attempts: int = 5
    backoff_base: timedelta = timedelta(seconds=2)
    backoff_max: timedelta = timedelta(minutes=5)
    sending_lease: timedelta = timedelta(minutes=5)
    extra_permissions: Collection[str] = field(default_factory=tuple)

    def backoff(self, attempts: int, retry_after: float | None = None) -> timedelta:
        """The wait before send ``attempts + 1`` (at least the provider's ``retry_after``)."""
        exp: timedelta = self.backoff_base * (2 ** max(attempts - 1, 0))
        wait: timedelta = min(exp, self.backoff_max)
        if retry_after is not None:
            wait = max(wait, timedelta(seconds=retry_after))
        return wait


@dataclass(frozen=True)
class WriteDecision:
    """Where a new intent starts: ``PendingApproval``, ``ReadyToSend`` or ``Rejected`` (+ why)."""

    phase: WriteIntentPhase
    reason: str | None = None
    permissions: tuple[str, ...] = ()

    @property
    def allowed(self) -> bool:
        """Whether the write may (eventually) be sent."""
        return self.phase is not WriteIntentPhase.REJECTED


def required_permissions(manifest: Manifest, operation: str) -> tuple[str, ...]:
    """The kradle permissions ``operation`` needs: the manifest's, else ``<interface>.write``."""
    decl = manifest.operation(operation)
    if decl is not None and decl.requires.permissions:
        return tuple(decl.requires.permissions)
    return (f"{OPERATIONS[operation].interface.value}.write",)


async def _granted(authorize: Authorizer, actor: str, permission: str) -> bool:
    answer = authorize(actor, permission)
    if inspect.isawaitable(answer):
        answer = await answer
    return bool(answer)


def ownership_forbids(mode: BindingMode) -> str | None:
    """Why ``mode`` refuses writes (``None`` when it allows them)."""
    if mode.writes:
        return None
    return (
        f"ownership forbids: the binding is {mode.value}, so the provider owns this data and "
        "kradle never writes it; change the interface's mode to bidirectional, write-through "
        "or reviewed-write to allow writes"
    )


def _check_capability(manifest: Manifest, interface: Interface, operation: str) -> None:
    info = OPERATIONS.get(operation)
    provider = manifest.provider_type
    if info is None or not info.write:
        what = "an unknown operation" if info is None else "a read"
        raise UnsupportedOperation(
            provider,
            operation,
            f"{operation} is {what}; only canonical write operations "
            "(the writes of kradle_providers.protocols.catalogue.CATALOGUE) become intents",
        )
    if info.interface is not interface:
        raise UnsupportedOperation(
            provider,
            operation,
            f"{operation} belongs to {info.interface.value}, not {interface.value}; "
            f"propose it on the binding's {info.interface.value} interface",
        )
    if info.not_queueable:
        raise UnsupportedOperation(
            provider, operation, f"it cannot be queued as a write intent: {info.not_queueable}"
        )
    manifest.require(operation)


def _check_scope(manifest: Manifest, operation: str, grant: ProviderGrant | None) -> None:
    decl = manifest.operation(operation)
    if grant is None or decl is None:
        return
    provider = manifest.provider_type
    modes = decl.requires.auth_modes
    if grant.auth_mode is not None and modes and grant.auth_mode not in modes:
        raise PermissionDenied(
            f"{operation} needs one of the auth modes {', '.join(modes)}, but the credential "
            f"is a {grant.auth_mode}; configure a credential of a supported mode",
            provider=provider,
            status=None,
        )
    if grant.native_scopes is not None:
        missing = [s for s in decl.requires.native_scopes if s not in grant.native_scopes]
        if missing:
            raise PermissionDenied(
                f"the credential lacks the provider scope(s) {operation} needs",
                missing_scope=", ".join(missing),
                provider=provider,
                status=None,
            )


async def check_write(
    *,
    manifest: Manifest,
    interface: Interface,
    operation: str,
    mode: BindingMode,
    actor: str,
    authorize: Authorizer = allow_all,
    grant: ProviderGrant | None = None,
    policy: WritePolicy | None = None,
) -> WriteDecision:
    """Run the SPEC §8 pipeline for one proposed write; see the module docstring.

    Raises :class:`InvalidInput` (no actor), :class:`UnsupportedOperation`
    (not a supported write of the interface) or :class:`PermissionDenied` (host
    permission or provider scope); returns the decision otherwise.
    """
    policy = policy or WritePolicy()
    if not actor or not actor.strip():
        raise InvalidInput(
            "every write must be attributed to the person or agent that asked for it; "
            "pass actor='user:alice' (or the agent's id)",
            field="actor",
        )
    _check_capability(manifest, interface, operation)
    permissions = (*required_permissions(manifest, operation), *policy.extra_permissions)
    for permission in permissions:
        if not await _granted(authorize, actor, permission):
            raise PermissionDenied(
                f"{actor} may not {operation}: the host did not grant {permission!r}; "
                "grant the permission to the actor in the host, or ask someone who has it",
                provider=manifest.provider_type,
                status=None,
            )
    _check_scope(manifest, operation, grant)
    forbidden = ownership_forbids(mode)
    if forbidden is not None:
        return WriteDecision(WriteIntentPhase.REJECTED, forbidden, permissions)
    if policy.needs_approval(actor, operation, mode):
        return WriteDecision(WriteIntentPhase.PENDING_APPROVAL, None, permissions)
    return WriteDecision(WriteIntentPhase.READY_TO_SEND, None, permissions)


async def check_approver(
    approver: str, *, authorize: Authorizer = allow_all, permission: str = APPROVE_PERMISSION
) -> None:
    """Raise unless ``approver`` is named and holds the approval ``permission``."""
    if not approver or not approver.strip():
        raise InvalidInput(
            "an approval must name who approved it; pass the approver's id", field="approver"
        )
    if not await _granted(authorize, approver, permission):
        raise PermissionDenied(
            f"{approver} may not review writes: the host did not grant {permission!r}",
            status=None,
        )
