from __future__ import annotations

import pytest

from fsconf.domain.pins import (
    NumberSpaceExhausted,
    generate_conference_number,
    generate_digits,
    generate_pin_pair,
    is_valid_pin,
)


def test_pin_pair_has_default_length_and_differs() -> None:
    for _ in range(200):
        moderator, participant = generate_pin_pair()
        assert len(moderator) == len(participant) == 6
        assert moderator.isdigit() and participant.isdigit()
        assert moderator != participant


def test_pins_are_not_predictable_from_each_other() -> None:
    # 500 six-digit draws from a CSPRNG: collisions are possible but many would be a bug.
    draws = {generate_digits(6) for _ in range(500)}
    assert len(draws) > 480


def test_conference_number_skips_taken_numbers() -> None:
    taken: set[str] = set()
    for _ in range(50):
        number = generate_conference_number(2, taken.__contains__, attempts=1000)
        assert number not in taken and number[0] != "0"
        taken.add(number)


def test_conference_number_space_exhausted_is_reported() -> None:
    with pytest.raises(NumberSpaceExhausted):
        generate_conference_number(1, lambda n: True, attempts=5)


@pytest.mark.parametrize(
    ("pin", "ok"),
    [("123456", True), ("1234", True), ("123", False), ("12345678", True), ("123456789", False),
     ("12a4", False), ("١٢٣٤", False), ("", False)],
)
def test_pin_validation(pin: str, ok: bool) -> None:
    assert is_valid_pin(pin) is ok
