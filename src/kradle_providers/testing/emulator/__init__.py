"""The emulator framework: the base of every provider plugin's API emulator.

See :class:`EmulatorApp` for how a vendor emulator is written, and
:mod:`.faults` for the fault kinds and where each one works.
"""

from kradle_providers.clock import ManualClock, Now, system_clock
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
]
