"""The shared HTTP transport every provider adapter uses.

One place for retries (bounded, jittered, ``Retry-After`` honoured exactly),
idempotency-aware re-sending of writes, per-credential rate-limit budgets,
conditional requests with an ETag cache, pagination with resumable
checkpoints, typed errors, audit digests and redaction. Adapters stay thin:
they build an :class:`HttpClient` and describe their provider's conventions.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from kradle_providers._lazy import lazy_exports

if TYPE_CHECKING:
    from kradle_providers.clock import Clock, ManualClock, SystemClock
    from kradle_providers.http.audit import (
        AuditHook,
        AuditRecord,
        canonical_request_digest,
        response_digest,
    )
    from kradle_providers.http.client import DEFAULT_USER_AGENT, HttpClient, default_budget_registry
    from kradle_providers.http.conditional import (
        CachedEntry,
        ConditionalCache,
        InMemoryValidatorBackend,
        ValidatorBackend,
    )
    from kradle_providers.http.errors import (
        ErrorMapper,
        ProviderRejectedInput,
        map_error_response,
        missing_scope_from,
    )
    from kradle_providers.http.fanout import bounded_gather
    from kradle_providers.http.idempotency import (
        IDEMPOTENCY_MARKER_PREFIX,
        carries_idempotency_key,
        check_idempotency_key,
        idempotency_marker,
        marked_rich_text,
        with_idempotency_marker,
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
    from kradle_providers.http.snapshot import read_snapshot

__all__ = [
    "DEFAULT_USER_AGENT",
    "IDEMPOTENCY_MARKER_PREFIX",
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
    "InMemoryValidatorBackend",
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
    "ValidatorBackend",
    "bounded_gather",
    "canonical_request_digest",
    "carries_idempotency_key",
    "check_idempotency_key",
    "default_budget_registry",
    "extract_items",
    "fetch_page",
    "get_path",
    "idempotency_marker",
    "is_idempotent_method",
    "is_rate_limit_refusal",
    "map_error_response",
    "marked_rich_text",
    "missing_scope_from",
    "paginate",
    "parse_link_header",
    "parse_rate_limit_headers",
    "parse_ratelimit_headers",
    "parse_reset",
    "parse_retry_after",
    "parse_x_ratelimit_headers",
    "read_snapshot",
    "redact_url",
    "response_digest",
    "safe_headers",
    "with_idempotency_marker",
]

# Each name's module, imported on first access so importing the package stays cheap.
_HOMES = {
    "Clock": "kradle_providers.clock",
    "ManualClock": "kradle_providers.clock",
    "SystemClock": "kradle_providers.clock",
    "AuditHook": "kradle_providers.http.audit",
    "AuditRecord": "kradle_providers.http.audit",
    "canonical_request_digest": "kradle_providers.http.audit",
    "response_digest": "kradle_providers.http.audit",
    "DEFAULT_USER_AGENT": "kradle_providers.http.client",
    "HttpClient": "kradle_providers.http.client",
    "default_budget_registry": "kradle_providers.http.client",
    "CachedEntry": "kradle_providers.http.conditional",
    "ConditionalCache": "kradle_providers.http.conditional",
    "read_snapshot": "kradle_providers.http.snapshot",
    "bounded_gather": "kradle_providers.http.fanout",
    "InMemoryValidatorBackend": "kradle_providers.http.conditional",
    "ValidatorBackend": "kradle_providers.http.conditional",
    "ErrorMapper": "kradle_providers.http.errors",
    "ProviderRejectedInput": "kradle_providers.http.errors",
    "map_error_response": "kradle_providers.http.errors",
    "missing_scope_from": "kradle_providers.http.errors",
    "IDEMPOTENCY_MARKER_PREFIX": "kradle_providers.http.idempotency",
    "carries_idempotency_key": "kradle_providers.http.idempotency",
    "check_idempotency_key": "kradle_providers.http.idempotency",
    "idempotency_marker": "kradle_providers.http.idempotency",
    "marked_rich_text": "kradle_providers.http.idempotency",
    "with_idempotency_marker": "kradle_providers.http.idempotency",
    "Checkpoint": "kradle_providers.http.pagination",
    "ItemsExtractor": "kradle_providers.http.pagination",
    "Link": "kradle_providers.http.pagination",
    "LinkHeaderPagination": "kradle_providers.http.pagination",
    "OffsetPagination": "kradle_providers.http.pagination",
    "PageNumberPagination": "kradle_providers.http.pagination",
    "PageRequest": "kradle_providers.http.pagination",
    "PageResult": "kradle_providers.http.pagination",
    "PaginationStrategy": "kradle_providers.http.pagination",
    "TokenPagination": "kradle_providers.http.pagination",
    "extract_items": "kradle_providers.http.pagination",
    "fetch_page": "kradle_providers.http.pagination",
    "get_path": "kradle_providers.http.pagination",
    "paginate": "kradle_providers.http.pagination",
    "parse_link_header": "kradle_providers.http.pagination",
    "BudgetRegistry": "kradle_providers.http.ratelimit",
    "BudgetSnapshot": "kradle_providers.http.ratelimit",
    "OnExhausted": "kradle_providers.http.ratelimit",
    "RateLimitBudget": "kradle_providers.http.ratelimit",
    "RateLimitInfo": "kradle_providers.http.ratelimit",
    "is_rate_limit_refusal": "kradle_providers.http.ratelimit",
    "parse_rate_limit_headers": "kradle_providers.http.ratelimit",
    "parse_ratelimit_headers": "kradle_providers.http.ratelimit",
    "parse_reset": "kradle_providers.http.ratelimit",
    "parse_x_ratelimit_headers": "kradle_providers.http.ratelimit",
    "redact_url": "kradle_providers.http.redaction",
    "safe_headers": "kradle_providers.http.redaction",
    "Response": "kradle_providers.http.response",
    "StreamResponse": "kradle_providers.http.response",
    "RetryPolicy": "kradle_providers.http.retry",
    "is_idempotent_method": "kradle_providers.http.retry",
    "parse_retry_after": "kradle_providers.http.retry",
}


__getattr__ = lazy_exports(__name__, _HOMES)
