"""Checks for every value that goes into an Event Socket command.

An Event Socket command is a line protocol and dialplan arguments are split on spaces,
so a caller-supplied newline, space, quote or `$` is an injection. Values are refused,
not escaped: nothing we build legitimately needs those characters.
"""

from __future__ import annotations

import re

# File paths, conference arguments, channel variable assignments; '!' joins the files of
# a file_string:// playlist.
_SAFE_ARG = re.compile(r"^[A-Za-z0-9_./:@+{}|=,!-]+$")
_DIGITS = re.compile(r"^[0-9]+$")


class UnsafeArgument(ValueError):
    """A value that must not go into a FreeSWITCH command."""


def safe_arg(value: str) -> str:
    if not _SAFE_ARG.match(value) or ".." in value:
        raise UnsafeArgument(f"refusing unsafe argument {value!r}")
    return value


def digits_only(value: str) -> str:
    if not _DIGITS.match(value):
        raise UnsafeArgument(f"expected digits, got {value!r}")
    return value
