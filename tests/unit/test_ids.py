"""Ids sort by creation: across milliseconds by time, within one millisecond by the order they
were made (the events of one batch keep their order in the logs)."""

from zapgate.domain import ids


def test_ids_made_in_one_millisecond_sort_in_the_order_they_were_made() -> None:
    made = [ids.ulid(1_700_000_000_000) for _ in range(1000)]
    assert made == sorted(made)
    assert len(set(made)) == 1000


def test_a_later_millisecond_sorts_after_an_earlier_one() -> None:
    early = ids.ulid(1_700_000_000_000)
    late = ids.ulid(1_700_000_000_001)
    assert early < late
    assert ids.ulid(1_700_000_000_000) < late  # back to the earlier millisecond: still ordered


def test_prefixed_ids_are_unique_under_a_burst() -> None:
    made = [ids.new_id("whd") for _ in range(20_000)]
    assert len(set(made)) == len(made) and made == sorted(made)


def test_floor_splits_ids_by_creation_time() -> None:
    """Every id made before ``ms`` sorts below ``floor(prefix, ms)``, every one made at or
    after it above: retention deletes by a primary-key range."""
    ms = 1_700_000_000_000
    before = [f"msg_{ids.ulid(ms - 1)}" for _ in range(100)]
    after = [f"msg_{ids.ulid(at)}" for at in (ms, ms, ms + 1)]
    cut = ids.floor("msg", ms)
    assert all(i < cut for i in before) and all(i >= cut for i in after)
    assert len(cut) == len(before[0])
