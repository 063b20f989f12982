"""The shared HTTP transport every provider adapter uses.

One place for retries (bounded, jittered, ``Retry-After`` honoured exactly),
idempotency-aware re-sending of writes, per-credential rate-limit budgets,
conditional requests with an ETag cache, pagination with resumable
checkpoints, typed errors, audit digests and redaction. Adapters stay thin:
they build an :class:`HttpClient` and describe their provider's conventions.
"""

from kradle_providers.clock import Clock, ManualClock, SystemClock
from kradle_providers.http.audit import (
    AuditHook,
    AuditRecord,
    canonical_request_digest,
    response_digest,
)
from kradle_providers.http.client import DEFAULT_USER_AGENT, HttpClient, default_budget_registry
from kradle_providers.http.conditional import CachedEntry, ConditionalCache
from kradle_providers.http.errors import (
    ErrorMapper,
    ProviderRejectedInput,
    map_error_response,
    missing_scope_from,
)
from kradle_providers.http.pagination import (
    Checkpoint,
    ItemsExtractor,
    Link,
    LinkHeaderPagination,
    OffsetPagination,
    PageNumberPagination,
    PageRequest,
    PageResult,
    PaginationStrategy,
    TokenPagination,
    extract_items,
    fetch_page,
    get_path,
    paginate,
    parse_link_header,
)
from kradle_providers.http.ratelimit import (
    BudgetRegistry,
    BudgetSnapshot,
    OnExhausted,
    RateLimitBudget,
    RateLimitInfo,
    is_rate_limit_refusal,
    parse_rate_limit_headers,
    parse_ratelimit_headers,
    parse_reset,
    parse_x_ratelimit_headers,
)
from kradle_providers.http.redaction import redact_url, safe_headers
from kradle_providers.http.response import Response, StreamResponse
from kradle_providers.http.retry import RetryPolicy, is_idempotent_method, parse_retry_after

__all__ = [
    "DEFAULT_USER_AGENT",
    "AuditHook",
    "AuditRecord",
    "BudgetRegistry",
    "BudgetSnapshot",
    "CachedEntry",
    "Checkpoint",
    "Clock",
    "ConditionalCache",
    "ErrorMapper",
    "HttpClient",
    "ItemsExtractor",
    "Link",
    "LinkHeaderPagination",
    "ManualClock",
    "OffsetPagination",
    "OnExhausted",
    "PageNumberPagination",
    "PageRequest",
    "PageResult",
    "PaginationStrategy",
    "ProviderRejectedInput",
    "RateLimitBudget",
    "RateLimitInfo",
    "Response",
    "RetryPolicy",
    "StreamResponse",
    "SystemClock",
    "TokenPagination",
    "canonical_request_digest",
    "default_budget_registry",
    "extract_items",
    "fetch_page",
    "get_path",
    "is_idempotent_method",
    "is_rate_limit_refusal",
    "map_error_response",
    "missing_scope_from",
    "paginate",
    "parse_link_header",
    "parse_rate_limit_headers",
    "parse_ratelimit_headers",
    "parse_reset",
    "parse_retry_after",
    "parse_x_ratelimit_headers",
    "redact_url",
    "response_digest",
    "safe_headers",
]
