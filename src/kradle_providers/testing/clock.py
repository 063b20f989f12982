"""Test support: the test clocks live with the transport; re-exported here for tests."""

from kradle_providers.http.clock import FakeClock, SkippingClock

__all__ = ["FakeClock", "SkippingClock"]
