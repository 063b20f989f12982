"""Normalizers keyed by event family ("issue" covers "issue.created")."""

from kradle_providers.models.events import NormalizeOutcome, NormalizeResult


def _ignored(context, payload):
    return NormalizeResult(outcome=NormalizeOutcome.IGNORED)


NORMALIZERS = {"issue": _ignored, "ping": _ignored}
