"""Raised hands keep their order; the floor goes to the longest raised hand still here."""

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
