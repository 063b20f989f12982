"""The emulator store: ids, timestamps, versions, content ETags, copies, snapshots."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kradle_providers.testing.emulator import Collection, ManualClock, Store


def test_insert_assigns_ids_and_timestamps_from_clock() -> None:
    clock = ManualClock(datetime(2024, 5, 1, tzinfo=UTC))
    store = Store(clock=clock)
    issues = store.collection("issues")
    first = issues.insert({"title": "a"})
    clock.advance(5)
    second = issues.insert({"title": "b"})
    assert (first["id"], second["id"]) == (1, 2)
    assert first["created_at"] == "2024-05-01T00:00:00Z"
    assert second["created_at"] == "2024-05-01T00:00:05Z"
    assert issues.meta(2).created == datetime(2024, 5, 1, 0, 0, 5, tzinfo=UTC)


def test_update_moves_version_and_updated_only_on_change() -> None:
    clock = ManualClock()
    coll = Store(clock=clock).collection("w")
    coll.insert({"name": "a"})
    tag = coll.meta(1).etag
    clock.advance(10)
    same = coll.update(1, {"name": "a"})
    assert coll.meta(1).version == 1
    assert coll.meta(1).etag == tag
    assert same["updated_at"] == "2024-01-01T00:00:00Z"
    changed = coll.update(1, name="b")
    assert coll.meta(1).version == 2
    assert coll.meta(1).etag != tag
    assert changed["updated_at"] == "2024-01-01T00:00:10Z"
    assert changed["id"] == 1


def test_update_keeps_an_explicit_updated_timestamp() -> None:
    coll = Store(clock=ManualClock()).collection("w")
    coll.insert({"name": "a"})
    assert coll.update(1, updated_at="2020-01-01T00:00:00Z")["updated_at"] == "2020-01-01T00:00:00Z"


def test_objects_are_copied_in_and_out() -> None:
    coll = Collection("w", clock=ManualClock())
    source = {"labels": ["x"]}
    stored = coll.insert(source)
    source["labels"].append("leak")
    stored["labels"].append("leak")
    fetched = coll.get(1)
    assert fetched is not None
    assert fetched["labels"] == ["x"]


def test_lookups_accept_string_ids_and_custom_id_fields() -> None:
    coll = Collection(
        "issues",
        clock=ManualClock(),
        id_field="key",
        id_factory=lambda n: f"PROJ-{n}",
        created_field="created",
        updated_field=None,
    )
    made = coll.insert({"summary": "s"})
    assert made["key"] == "PROJ-1"
    assert "updated_at" not in made and "created" in made
    nums = Collection("n", clock=ManualClock())
    nums.insert({})
    assert nums.get("1") is not None
    assert "1" in nums and 1 in nums


def test_seeded_ids_keep_auto_ids_above_them_and_duplicates_fail() -> None:
    coll = Collection("w", clock=ManualClock())
    coll.insert({"id": 41})
    assert coll.insert({})["id"] == 42
    with pytest.raises(KeyError, match="already exists"):
        coll.insert({"id": 41})
    with pytest.raises(KeyError, match="no object"):
        coll.update(7, {"a": 1})


def test_filter_find_and_delete() -> None:
    coll = Collection("w", clock=ManualClock())
    coll.insert({"state": "open"})
    coll.insert({"state": "closed"})
    coll.insert({"state": "open", "n": 3})
    assert [w["id"] for w in coll.filter(state="open")] == [1, 3]
    assert [w["id"] for w in coll.filter(lambda w: "n" in w)] == [3]
    assert coll.find_one(state="closed") == coll.get(2)
    assert coll.delete(2) is not None
    assert coll.delete(2) is None
    assert len(coll) == 2


def test_store_collections_sequences_and_snapshots() -> None:
    store = Store(clock=ManualClock())
    issues = store.collection("issues")
    assert store.collection("issues") is issues
    assert store["issues"] is issues
    with pytest.raises(KeyError, match=r"store\.collection"):
        store["nope"]
    assert [store.sequence("repo:1"), store.sequence("repo:1"), store.sequence("repo:2")] == [
        1,
        2,
        1,
    ]
    issues.insert({"t": 1})
    snap = store.snapshot()
    issues.insert({"t": 2})
    later = store.collection("later")
    later.insert({})
    store.sequence("repo:1")
    store.restore(snap)
    assert [i["t"] for i in issues.all()] == [1]
    assert len(later) == 0
    assert store.sequence("repo:1") == 3
    assert issues.insert({})["id"] == 2


def test_manual_clock_only_moves_forward() -> None:
    clock = ManualClock()
    with pytest.raises(ValueError, match="forward"):
        clock.advance(-1)
    with pytest.raises(ValueError, match="aware"):
        ManualClock(datetime(2024, 1, 1))


ops = st.lists(
    st.one_of(
        st.tuples(st.just("insert"), st.integers(0, 5)),
        st.tuples(st.just("update"), st.integers(0, 5)),
        st.tuples(st.just("delete"), st.integers(0, 5)),
    ),
    max_size=40,
)


@given(ops)
def test_ids_stay_unique_and_versions_never_go_back(sequence: list[tuple[str, int]]) -> None:
    coll = Collection("w", clock=ManualClock())
    versions: dict[int, int] = {}
    issued: list[int] = []
    for op, value in sequence:
        ids = [w["id"] for w in coll.all()]
        if op == "insert":
            new_id = coll.insert({"v": value})["id"]
            assert new_id not in issued
            issued.append(new_id)
        elif ids and op == "update":
            target = ids[value % len(ids)]
            coll.update(target, {"v": value})
            assert coll.meta(target).version >= versions.get(target, 1)
            versions[target] = coll.meta(target).version
        elif ids and op == "delete":
            coll.delete(ids[value % len(ids)])
    assert len({w["id"] for w in coll.all()}) == len(coll)
