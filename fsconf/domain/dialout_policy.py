"""Dial-out (`*8` invite) policy: which numbers a conference may call, how often. Pure.

Dial-out is toll-fraud territory (SPEC "Security"): a stolen moderator PIN must not
turn the service into a free line to premium-rate or foreign numbers. So the policy is
an allow-list; a deny-list is checked first and always wins, so widening `allow` in
configuration cannot re-open what `deny` closes.

Normalisation rule (fixed on purpose): the number must be 1..`max_digits` ASCII
digits, exactly as keyed; nothing is stripped or rewritten (no "+31" -> "0"), because
every rewrite is a place where a denied number can be turned into an allowed one.
Numbers are matched as dialled nationally in the Netherlands, with `re.fullmatch`.

Built-in policy (`NATIONAL_ALLOW`, `NATIONAL_DENY`; used when the settings name no
patterns), one line of reason per range:

    allow  0[1-57]\\d{8}     geographic area codes 010-058, 070-079: ordinary fixed lines
    allow  06[1-58]\\d{7}    mobile 061-065 and 068: ordinary mobile tariff
    allow  08[58]\\d{7}      085 location-independent, 088 company numbers: by regulation
                            charged as geographic numbers, and invitees use them
    allow  091\\d{7}         location-independent, the extension of 085: geographic rate
    deny   [1-9]\\d*         no leading 0: 112 and other emergency/short codes, 14xxx
                            municipalities, 16xx carrier select, 18xx directory enquiry
    deny   \\d{0,9}          shorter than a national number: short or truncated codes
    deny   00\\d*            international: the classic toll-fraud destination
    deny   09(?:00|06|09)\\d* premium-rate information, entertainment, adult lines
    deny   08[47]\\d*        084/087 personal and non-geographic numbers: may carry
                            a surcharge and are a known fraud route
    deny   06[679]\\d*       066 paging, 067 dial-in data services, 069 reserved (M2M)
    (not allowed, not denied) 0800 freephone, 097 M2M and everything else: the spec's
                            default is "geographic and mobile"; 0800 costs nothing but is
                            no meeting participant, a customer can allow it in config.

A "+" prefix never gets this far: it is not a digit, so the number is "malformed".
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Protocol

MAX_DIGITS = 15  # E.164 maximum; also bounds the regex work done on a keyed number

REASONS = frozenset(
    {
        "allowed",
        "not_allowed_pattern",
        "denied_pattern",
        "too_many_concurrent",
        "too_many_per_hour",
        "malformed",
    }
)


@dataclass(frozen=True)
class DialOutPolicy:
    allow: tuple[str, ...]
    deny: tuple[str, ...]
    max_concurrent: int  # invites in progress at once, per conference
    max_per_hour: int  # invites started in the last hour, per conference
    max_digits: int = MAX_DIGITS  # normalisation: longer input is malformed
    _allow_re: tuple[re.Pattern[str], ...] = field(init=False, repr=False, compare=False)
    _deny_re: tuple[re.Pattern[str], ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # Validate on construction, so an invalid policy cannot exist at all.
        for name, least in (("max_concurrent", 0), ("max_per_hour", 0), ("max_digits", 1)):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < least:
                raise ValueError(
                    f"dial-out policy: {name} must be an integer >= {least}, got {value!r}"
                )
        object.__setattr__(self, "_allow_re", _compile("allow", self.allow))
        object.__setattr__(self, "_deny_re", _compile("deny", self.deny))


@dataclass(frozen=True)
class DialOutDecision:
    allowed: bool
    reason: str  # one of REASONS: a stable word for logs, records and prompts


def _compile(name: str, patterns: object) -> tuple[re.Pattern[str], ...]:
    if isinstance(patterns, str) or not isinstance(patterns, (list, tuple)):
        raise ValueError(f"dial-out policy: {name} must be a list of regex strings")
    compiled = []
    for pattern in patterns:
        if not isinstance(pattern, str):
            raise ValueError(f"dial-out policy: {name} pattern {pattern!r} is not a string")
        try:
            compiled.append(re.compile(pattern))
        except re.error as exc:
            raise ValueError(f"dial-out policy: {name} pattern {pattern!r}: {exc}") from None
    return tuple(compiled)


# Netherlands, numbers as dialled nationally; see the module docstring.
NATIONAL_ALLOW = (
    r"0[1-57]\d{8}",  # geographic
    r"06[1-58]\d{7}",  # mobile
    r"08[58]\d{7}",  # location-independent / company, geographic rate
    r"091\d{7}",  # location-independent, geographic rate
)
NATIONAL_DENY = (
    r"[1-9]\d*",  # short codes, emergency, carrier select
    r"\d{0,9}",  # shorter than a national number
    r"00\d*",  # international
    r"09(?:00|06|09)\d*",  # premium rate
    r"08[47]\d*",  # personal / non-geographic
    r"06[679]\d*",  # paging, data dial-in, reserved
)


class DialOutLimits(Protocol):
    """What the policy is built from: the `[dialout]` settings (config.DialOutSettings)."""

    @property
    def allow(self) -> tuple[str, ...]: ...
    @property
    def deny(self) -> tuple[str, ...]: ...
    @property
    def max_concurrent(self) -> int: ...
    @property
    def max_per_hour(self) -> int: ...


def policy_from_settings(settings: DialOutLimits) -> DialOutPolicy:
    """The policy the settings describe; an empty `allow` or `deny` means the national
    list, so widening `allow` in configuration keeps the built-in `deny` in force.
    Raises ValueError naming a bad pattern or limit."""
    return DialOutPolicy(
        allow=tuple(settings.allow) or NATIONAL_ALLOW,
        deny=tuple(settings.deny) or NATIONAL_DENY,
        max_concurrent=settings.max_concurrent,
        max_per_hour=settings.max_per_hour,
    )


def normalise(raw: str, max_digits: int = MAX_DIGITS) -> str | None:
    """`raw` if it is 1..max_digits ASCII digits, else None."""
    # isascii() too: str.isdigit() accepts "²" and Arabic-Indic digits.
    if isinstance(raw, str) and raw.isascii() and raw.isdigit() and len(raw) <= max_digits:
        return raw
    return None


def decide(
    number: str, policy: DialOutPolicy, active_invites: int, invites_last_hour: int
) -> DialOutDecision:
    """May this conference dial `number` now? Number checks come before the limits,
    so a fraud attempt is recorded as such even when the conference is at its limit."""
    if active_invites < 0 or invites_last_hour < 0:
        raise ValueError("invite counts cannot be negative")
    digits = normalise(number, policy.max_digits)
    if digits is None:
        return DialOutDecision(False, "malformed")
    if any(p.fullmatch(digits) for p in policy._deny_re):
        return DialOutDecision(False, "denied_pattern")
    if not any(p.fullmatch(digits) for p in policy._allow_re):
        return DialOutDecision(False, "not_allowed_pattern")
    if active_invites >= policy.max_concurrent:
        return DialOutDecision(False, "too_many_concurrent")
    if invites_last_hour >= policy.max_per_hour:
        return DialOutDecision(False, "too_many_per_hour")
    return DialOutDecision(True, "allowed")
