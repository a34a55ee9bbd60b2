"""The two roles a caller can have in a meeting; shared by every layer."""

from enum import StrEnum


class Role(StrEnum):
    MODERATOR = "moderator"
    PARTICIPANT = "participant"
