"""Raised hands keep their order; the floor goes to the longest raised hand still here."""

import datetime as dt

from fsconf.conference.room import Member, Room
from fsconf.domain.roles import Role


def _room(*ids: int) -> Room:
    room = Room(fs_name="fsconf-1", conference_id=1, number="1", language="nl", meeting_id=1)
    for i in ids:
        room.members[i] = Member(i, f"uuid-{i}", i, Role.PARTICIPANT, None)
    return room


def test_floor_goes_in_the_order_hands_were_raised() -> None:
    room = _room(1, 2, 3)
    for i in (3, 1, 2):
        room.raise_hand(room.members[i])
    order = []
    while (m := room.longest_raised_hand()) is not None:
        order.append(m.member_id)
        room.lower_hand(m)
    assert order == [3, 1, 2]


def test_raising_twice_keeps_the_first_place_and_a_leaver_is_skipped() -> None:
    room = _room(1, 2)
    room.raise_hand(room.members[1])
    room.raise_hand(room.members[2])
    room.raise_hand(room.members[1])
    assert room.hands == [1, 2]
    del room.members[1]  # hung up with the hand raised
    first = room.longest_raised_hand()
    assert first is not None and first.member_id == 2
    assert room.hands == [2]


def test_hands_brought_over_from_a_previous_owner_queue_by_when_they_were_raised() -> None:
    """After a takeover callers arrive one by one; each brings the time its hand went up
    (its row), and a hand raised earlier goes before one raised later, wherever it was."""
    t0 = dt.datetime(2026, 11, 27, 10, 0, 0)
    room = _room(1, 2, 3, 4)
    room.raise_hand(room.members[3], t0 + dt.timedelta(seconds=30))  # came over first
    room.raise_hand(room.members[4], t0 + dt.timedelta(seconds=40))  # raised here, now
    room.raise_hand(room.members[1], t0 + dt.timedelta(seconds=10))  # came over later
    room.raise_hand(room.members[2], t0 + dt.timedelta(seconds=35))
    assert room.hands == [1, 3, 2, 4]
    room.lower_hand(room.members[1])
    assert room.members[1].hand_raised_at is None
    room.raise_hand(room.members[1], t0 + dt.timedelta(seconds=50))  # again: at the back
    assert room.hands == [3, 2, 4, 1]
