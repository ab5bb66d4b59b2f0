from __future__ import annotations

import pytest

from zapgate.domain.lifecycle import Status, path

Q, S, D, R, F, C = (Status.QUEUED, Status.SENT, Status.DELIVERED, Status.READ, Status.FAILED, Status.CANCELED)


@pytest.mark.parametrize(
    ("current", "target", "expected"),
    [
        (Q, S, [S]),
        (S, D, [D]),
        (D, R, [R]),
        # Out-of-order receipts fill the skipped states in rank order.
        (Q, R, [S, D, R]),
        (Q, D, [S, D]),
        (S, R, [D, R]),
        # Duplicates and stale receipts change nothing.
        (S, S, []),
        (D, S, []),
        (R, D, []),
        # FAILED may follow QUEUED or SENT, never DELIVERED or READ.
        (Q, F, [F]),
        (S, F, [F]),
        (D, F, []),
        (R, F, []),
        # Terminal states are final.
        (F, R, []),
        (C, S, []),
        (F, F, []),
        # CANCELED only from QUEUED.
        (Q, C, [C]),
        (S, C, []),
    ],
)
def test_path(current: Status, target: Status, expected: list[Status]) -> None:
    assert path(current, target) == expected


@pytest.mark.parametrize(
    ("current", "target", "expected"),
    [
        # The provider's failure receipt overtook the record of its own answer: it had the
        # message, so the message was SENT first (and message.sent is not lost).
        (Q, F, [S, F]),
        (S, F, [F]),
        (D, F, []),
        (F, F, []),
        (Q, D, [S, D]),
        (Q, C, [C]),
    ],
)
def test_path_of_a_provider_receipt(current: Status, target: Status, expected: list[Status]) -> None:
    assert path(current, target, provider_took_it=True) == expected
