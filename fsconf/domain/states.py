"""The states rows move through, as the database stores them (their `.value`)."""

from __future__ import annotations

from enum import StrEnum


class SubscriptionState(StrEnum):
    ACTIVE = "active"
    SUSPENDED = "suspended"
    CANCELLED = "cancelled"


class ConferenceStatus(StrEnum):
    ACTIVE = "active"
    SUSPENDED = "suspended"
    DELETED = "deleted"


class EndReason(StrEnum):
    """How a call leg ended; the rejections say which check refused the caller."""

    HUNG_UP = "hung_up"
    KICKED = "kicked"
    ENDED_BY_MODERATOR = "ended_by_moderator"
    ENDED_BY_OPERATOR = "ended_by_operator"
    # The last moderator left a conference set to end with them, and no moderator came
    # back within the grace period (issue 22).
    ENDED_WITH_MODERATOR = "ended_with_moderator"
    REJECTED_UNKNOWN_ACCESS_NUMBER = "rejected_unknown_access_number"
    REJECTED_BAD_NUMBER = "rejected_bad_number"
    REJECTED_BAD_PIN = "rejected_bad_pin"
    REJECTED_LOCKOUT = "rejected_lockout"
    REJECTED_SUSPENDED = "rejected_suspended"
    REJECTED_LOCKED = "rejected_locked"
    REJECTED_FULL = "rejected_full"
    REJECTED_BUSY = "rejected_busy"
    REJECTED_TECHNICAL = "rejected_technical"
    DECLINED_INVITE = "declined_invite"
    LOST = "lost"


class MeetingEnd(StrEnum):
    """How a meeting ended: ended from a keypad or by an operator, the last caller left,
    or the controller found it gone after a restart."""

    ENDED_BY_MODERATOR = "ended_by_moderator"
    ENDED_BY_OPERATOR = "ended_by_operator"
    ENDED_WITH_MODERATOR = "ended_with_moderator"
    LAST_LEFT = "last_left"
    LOST = "lost"
