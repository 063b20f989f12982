"""Builders shared by the state-store tests (no tests here): they live in core for hosts too."""

from __future__ import annotations

from kradle_providers.testing.store_objects import (
    BINDING,
    T0,
    conflict,
    delivery,
    envelope,
    intent,
    issue,
    issue_key,
    pipeline,
)

__all__ = [
    "BINDING",
    "T0",
    "conflict",
    "delivery",
    "envelope",
    "intent",
    "issue",
    "issue_key",
    "pipeline",
]
