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
