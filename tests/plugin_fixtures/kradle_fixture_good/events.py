"""Normalizers keyed by native event name, as the receiver looks them up."""

from kradle_providers.models.events import NormalizeOutcome, NormalizeResult


def _ignored(context, payload):
    return NormalizeResult(outcome=NormalizeOutcome.IGNORED)


NORMALIZERS = {"issue.created": _ignored, "ping": _ignored}
