"""The room-name rule: conference 212906 meets in mod_conference room `fsconf-212906`."""

from __future__ import annotations

ROOM_PREFIX = "fsconf-"


def room_name(conference_number: str) -> str:
    return f"{ROOM_PREFIX}{conference_number}"


def number_in(room: str) -> str:
    """The conference number a room is named after; a room not ours keeps its whole name."""
    return room.removeprefix(ROOM_PREFIX)
