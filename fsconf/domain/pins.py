"""PINs and conference numbers: drawn from the OS CSPRNG, never from `random`."""

from __future__ import annotations

import secrets
from collections.abc import Callable

_rng = secrets.SystemRandom()


class NumberSpaceExhausted(RuntimeError):
    """No free conference number was found; the operator should lengthen them."""


def generate_digits(length: int, *, leading_zero: bool = True) -> str:
    if length < 1:
        raise ValueError("length must be positive")
    first = _rng.randrange(0 if leading_zero else 1, 10)
    return str(first) + "".join(str(_rng.randrange(10)) for _ in range(length - 1))


def generate_pin_pair(length: int = 6) -> tuple[str, str]:
    """A moderator PIN and a participant PIN that differ."""
    moderator = generate_digits(length)
    participant = generate_digits(length)
    while participant == moderator:
        participant = generate_digits(length)
    return moderator, participant


def generate_conference_number(
    length: int, is_taken: Callable[[str], bool], attempts: int = 50
) -> str:
    """A conference number nobody has yet. No leading zero: it reads better on a form.

    The database's unique constraint is still the real guard; this only avoids
    collisions in the common case.
    """
    for _ in range(attempts):
        candidate = generate_digits(length, leading_zero=False)
        if not is_taken(candidate):
            return candidate
    raise NumberSpaceExhausted(f"no free {length}-digit conference number after {attempts} tries")


def is_valid_pin(pin: str, length: int | None = None) -> bool:
    if not pin.isascii() or not pin.isdigit():
        return False
    return len(pin) == length if length is not None else 4 <= len(pin) <= 8
