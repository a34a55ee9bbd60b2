"""mod_conference commands as strings: checked first, batched where nothing waits on a reply."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from fsconf.conference.commands import ConferenceApi
from fsconf.domain.validate import UnsafeArgument


class Switch:
    """Records what would go out: single commands, and batches as one write each."""

    def __init__(self) -> None:
        self.writes: list[list[str]] = []

    def send(self, command: str) -> str:
        self.writes.append([command])
        return self._answer(command)

    def send_many(self, commands: Sequence[str]) -> list[str]:
        self.writes.append(list(commands))
        return [self._answer(c) for c in commands]

    @staticmethod
    def _answer(command: str) -> str:
        member = command.rsplit(" ", 1)[-1]
        if member == "99":
            return "-ERR Member: 99 not found.\n"
        return f"+OK (play) Playing file {command.split()[3]} to member {member}\n"


def test_plays_to_several_members_go_out_in_one_write_in_order() -> None:
    switch = Switch()
    api = ConferenceApi(switch.send, "fsconf-123456", switch.send_many)
    ok = api.play_each([("/rec/a.wav", 3), ("fsconf/has-joined.wav", 3), ("/rec/a.wav", 99)])
    assert switch.writes == [[
        "conference fsconf-123456 play /rec/a.wav 3",
        "conference fsconf-123456 play fsconf/has-joined.wav 3",
        "conference fsconf-123456 play /rec/a.wav 99",
    ]]
    assert ok == [True, True, False]  # the member who left meanwhile is reported, not fatal


def test_one_unsafe_file_stops_the_whole_batch_before_anything_is_sent() -> None:
    switch = Switch()
    api = ConferenceApi(switch.send, "fsconf-123456", switch.send_many)
    with pytest.raises(UnsafeArgument):
        api.play_each([("/rec/a.wav", 3), ("/rec/b.wav\napi hupall", 4)])
    with pytest.raises(UnsafeArgument):
        api.play_each([("/rec/a.wav", 3), ("/rec/b.wav", 0)])
    assert switch.writes == []


def test_without_a_batch_sender_the_plays_go_one_by_one() -> None:
    switch = Switch()
    api = ConferenceApi(switch.send, "fsconf-123456")
    assert api.play_each([("a.wav", 1), ("b.wav", 2)]) == [True, True]
    assert switch.writes == [
        ["conference fsconf-123456 play a.wav 1"], ["conference fsconf-123456 play b.wav 2"]
    ]
    assert api.play_each([]) == [] and len(switch.writes) == 2
