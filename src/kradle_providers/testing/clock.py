"""Test support: the fake clock lives with the transport; re-exported here for tests."""

from kradle_providers.http.clock import FakeClock

__all__ = ["FakeClock"]
