"""Binding scope: whether a change lies inside a binding's external target (SPEC §7).

A binding names, per interface, the provider-side target it syncs
(``{owner: acme, repository: widgets}``, ``{project: WID}``). One provider
instance (one webhook secret, one app installation) may deliver changes of
many targets; those outside the binding's are recorded and acknowledged but
never projected into it. The comparison is on the fields both sides name,
case-insensitively (forges and trackers treat owners, repositories and project keys as
case-insensitive); a change that names a field the target leaves open (an
organization-wide binding) is inside it.
"""

from __future__ import annotations

from kradle_providers.models.base import ExternalRef

__all__ = ["SCOPE_FIELDS", "in_scope", "outside_reason"]

SCOPE_FIELDS: tuple[str, ...] = ("owner", "repository", "project", "pipeline")
"""The :class:`ExternalRef` fields that locate a change."""


def _field(ref: ExternalRef, name: str) -> str | None:
    value = getattr(ref, name, None)
    return value.lower() if isinstance(value, str) and value else None


def outside_reason(target: ExternalRef | None, scope: ExternalRef) -> str | None:
    """Why ``target`` (where a change happened) lies outside ``scope``; ``None`` if inside.

    A change whose target is unknown is taken to be inside: the instance serves
    the interface and nothing says otherwise. A change that names less than the
    scope (an organization event for a repository binding) is outside it.
    """
    if target is None:
        return None
    for name in SCOPE_FIELDS:
        want = _field(scope, name)
        if want is None:
            continue
        got = _field(target, name)
        if got != want:
            return (
                f"{target.slug()} is outside the binding's target {scope.slug()} "
                f"({name} {got or 'unnamed'} != {want})"
            )
    return None


def in_scope(target: ExternalRef | None, scope: ExternalRef) -> bool:
    """Whether a change at ``target`` belongs to a binding whose target is ``scope``."""
    return outside_reason(target, scope) is None
