"""Units of the GitLab plugin: timestamps, log cleaning, normalizers, the manifest."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from hypothesis import given
from hypothesis import strategies as st
from kradle_provider_gitlab import mapping
from kradle_provider_gitlab.adapter import GitLabAdapter
from kradle_provider_gitlab.adapter.joblog import SectionTracker, clean_line
from kradle_provider_gitlab.normalizers import NORMALIZERS

from kradle_providers.models import NormalizeOutcome, ProviderRef
from kradle_providers.plugins.registry import load_registry
from kradle_providers.protocols.adapter import ProviderAdapter
from kradle_providers.protocols.catalogue import OPERATIONS
from kradle_providers.webhooks.normalizer import NormalizeContext

moments = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
).map(lambda d: d.replace(microsecond=0))


@given(moments, st.integers(min_value=-12, max_value=12))
def test_gitlab_time_reads_every_format_gitlab_writes(moment: datetime, hours: int) -> None:
    offset = timedelta(hours=hours)
    local = moment.astimezone(timezone(offset))
    sign = "+" if hours >= 0 else "-"
    written = [
        moment.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
        moment.strftime("%Y-%m-%d %H:%M:%S UTC"),
        local.strftime("%Y-%m-%d %H:%M:%S ") + f"{sign}{abs(hours):02d}00",
        local.isoformat(),
    ]
    for text in written:
        assert mapping.gitlab_time(text) == moment, text


@given(st.text(alphabet=st.sampled_from("ab \x1b[0;32m1KJ\r:section_startend_"), max_size=60))
def test_clean_line_leaves_no_escape_sequences(raw: str) -> None:
    cleaned = clean_line(raw + "\n")
    assert "\r" not in cleaned
    assert "\x1b[0K" not in cleaned and "\x1b[0;m" not in cleaned
    assert cleaned.endswith("\n")


def test_sections_nest_and_close_by_name() -> None:
    tracker = SectionTracker()
    for line in (
        "section_start:10:outer\r\x1b[0Kouter\n",
        "section_start:11:inner[collapsed=true]\r\x1b[0Kinner\n",
        "work\n",
        "section_end:12:inner\r\x1b[0K\n",
        "section_end:13:outer\r\x1b[0K\n",
    ):
        tracker.feed(line)
    spans = [(s.name, s.first_line, s.last_line) for s in tracker.sections]
    assert spans == [("outer", 0, 4), ("inner", 1, 3)]


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
payload_keys = st.sampled_from(
    [
        "object_kind",
        "object_attributes",
        "user",
        "project",
        "before",
        "after",
        "ref",
        "builds",
        "commits",
        "issue",
        "merge_request",
        "changes",
        "build_id",
        "build_name",
        "noteable_type",
    ]
)


@given(st.sampled_from(sorted(NORMALIZERS)), st.dictionaries(payload_keys, json_values, max_size=6))
def test_normalizers_never_raise(event: str, payload: dict[str, Any]) -> None:
    context = NormalizeContext(
        provider=ProviderRef(type="gitlab"), event=event, delivery_id="d", headers={}
    )
    result = NORMALIZERS[event](context, payload)
    assert result.outcome in set(NormalizeOutcome)
    if result.outcome is NormalizeOutcome.MALFORMED:
        assert result.reason


def test_manifest_declares_what_the_adapter_implements() -> None:
    manifest = load_registry().manifest("gitlab")
    for name, info in OPERATIONS.items():
        declared = manifest.supports(name)
        overridden = getattr(GitLabAdapter, info.method) is not getattr(
            ProviderAdapter, info.method
        )
        assert declared == overridden, name
    for op in ("listTransitions", "transitionIssue", "listPipelineDefinitions"):
        assert not manifest.supports(op)
