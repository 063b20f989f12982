"""The emulator framework: the base of every provider plugin's API emulator.

See :class:`EmulatorApp` for how a vendor emulator is written, and
:mod:`.faults` for the fault kinds and where each one works.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from kradle_providers._lazy import lazy_exports

if TYPE_CHECKING:
    from kradle_providers.clock import ManualClock, Now, system_clock
    from kradle_providers.testing.emulator.admin import with_admin
    from kradle_providers.testing.emulator.app import (
        AuthHook,
        AuthOutcome,
        EmulatorApp,
        ErrorFormatter,
        default_error_body,
    )
    from kradle_providers.testing.emulator.conditional import (
        ConditionalPolicy,
        compute_etag,
        etag_matches,
        format_http_date,
        parse_http_date,
    )
    from kradle_providers.testing.emulator.faults import FaultInjector, FaultKind, Rule
    from kradle_providers.testing.emulator.pagination import (
        LinkPagination,
        OffsetHeaderPagination,
        PageSlice,
        PaginationError,
        PaginationStyle,
        StartAtPagination,
        TokenPagination,
        format_link_header,
    )
    from kradle_providers.testing.emulator.ratelimit import (
        Budget,
        RateDecision,
        RateLimitConvention,
        RateLimiter,
        RateLimitPolicy,
        SecondaryLimit,
    )
    from kradle_providers.testing.emulator.requestlog import LoggedRequest, RequestLog
    from kradle_providers.testing.emulator.routing import (
        EmulatorHTTPError,
        Handler,
        Principal,
        RequestContext,
        Route,
        Router,
    )
    from kradle_providers.testing.emulator.server import LoopbackServer
    from kradle_providers.testing.emulator.state import (
        Collection,
        RecordMeta,
        Store,
        iso_z,
    )
    from kradle_providers.testing.emulator.transport import EmulatorTransport
    from kradle_providers.testing.emulator.webhooks import (
        Delivery,
        DeliveryAttempt,
        Signer,
        SubscribedEmitter,
        Subscription,
        WebhookEmitter,
    )

__all__ = [
    "AuthHook",
    "AuthOutcome",
    "Budget",
    "Collection",
    "ConditionalPolicy",
    "Delivery",
    "DeliveryAttempt",
    "EmulatorApp",
    "EmulatorHTTPError",
    "EmulatorTransport",
    "ErrorFormatter",
    "FaultInjector",
    "FaultKind",
    "Handler",
    "LinkPagination",
    "LoggedRequest",
    "LoopbackServer",
    "ManualClock",
    "Now",
    "OffsetHeaderPagination",
    "PageSlice",
    "PaginationError",
    "PaginationStyle",
    "Principal",
    "RateDecision",
    "RateLimitConvention",
    "RateLimitPolicy",
    "RateLimiter",
    "RecordMeta",
    "RequestContext",
    "RequestLog",
    "Route",
    "Router",
    "Rule",
    "SecondaryLimit",
    "Signer",
    "StartAtPagination",
    "Store",
    "SubscribedEmitter",
    "Subscription",
    "TokenPagination",
    "WebhookEmitter",
    "compute_etag",
    "default_error_body",
    "etag_matches",
    "format_http_date",
    "format_link_header",
    "iso_z",
    "parse_http_date",
    "system_clock",
    "with_admin",
]

# Each name's module, imported on first access so importing the package stays cheap.
_HOMES = {
    "ManualClock": "kradle_providers.clock",
    "Now": "kradle_providers.clock",
    "system_clock": "kradle_providers.clock",
    "AuthHook": "kradle_providers.testing.emulator.app",
    "AuthOutcome": "kradle_providers.testing.emulator.app",
    "EmulatorApp": "kradle_providers.testing.emulator.app",
    "ErrorFormatter": "kradle_providers.testing.emulator.app",
    "default_error_body": "kradle_providers.testing.emulator.app",
    "ConditionalPolicy": "kradle_providers.testing.emulator.conditional",
    "compute_etag": "kradle_providers.testing.emulator.conditional",
    "etag_matches": "kradle_providers.testing.emulator.conditional",
    "format_http_date": "kradle_providers.testing.emulator.conditional",
    "parse_http_date": "kradle_providers.testing.emulator.conditional",
    "FaultInjector": "kradle_providers.testing.emulator.faults",
    "FaultKind": "kradle_providers.testing.emulator.faults",
    "Rule": "kradle_providers.testing.emulator.faults",
    "LinkPagination": "kradle_providers.testing.emulator.pagination",
    "OffsetHeaderPagination": "kradle_providers.testing.emulator.pagination",
    "PageSlice": "kradle_providers.testing.emulator.pagination",
    "PaginationError": "kradle_providers.testing.emulator.pagination",
    "PaginationStyle": "kradle_providers.testing.emulator.pagination",
    "StartAtPagination": "kradle_providers.testing.emulator.pagination",
    "TokenPagination": "kradle_providers.testing.emulator.pagination",
    "format_link_header": "kradle_providers.testing.emulator.pagination",
    "Budget": "kradle_providers.testing.emulator.ratelimit",
    "RateDecision": "kradle_providers.testing.emulator.ratelimit",
    "RateLimitConvention": "kradle_providers.testing.emulator.ratelimit",
    "RateLimiter": "kradle_providers.testing.emulator.ratelimit",
    "RateLimitPolicy": "kradle_providers.testing.emulator.ratelimit",
    "SecondaryLimit": "kradle_providers.testing.emulator.ratelimit",
    "LoggedRequest": "kradle_providers.testing.emulator.requestlog",
    "RequestLog": "kradle_providers.testing.emulator.requestlog",
    "EmulatorHTTPError": "kradle_providers.testing.emulator.routing",
    "Handler": "kradle_providers.testing.emulator.routing",
    "Principal": "kradle_providers.testing.emulator.routing",
    "RequestContext": "kradle_providers.testing.emulator.routing",
    "Route": "kradle_providers.testing.emulator.routing",
    "Router": "kradle_providers.testing.emulator.routing",
    "LoopbackServer": "kradle_providers.testing.emulator.server",
    "with_admin": "kradle_providers.testing.emulator.admin",
    "Collection": "kradle_providers.testing.emulator.state",
    "RecordMeta": "kradle_providers.testing.emulator.state",
    "Store": "kradle_providers.testing.emulator.state",
    "iso_z": "kradle_providers.testing.emulator.state",
    "EmulatorTransport": "kradle_providers.testing.emulator.transport",
    "Delivery": "kradle_providers.testing.emulator.webhooks",
    "DeliveryAttempt": "kradle_providers.testing.emulator.webhooks",
    "Signer": "kradle_providers.testing.emulator.webhooks",
    "SubscribedEmitter": "kradle_providers.testing.emulator.webhooks",
    "Subscription": "kradle_providers.testing.emulator.webhooks",
    "WebhookEmitter": "kradle_providers.testing.emulator.webhooks",
}


__getattr__ = lazy_exports(__name__, _HOMES)
