"""Dial-out policy: the Dutch default table, the limits, malformed input, config checks."""

import dataclasses

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fsconf.config import DialOutSettings
from fsconf.domain.dialout_policy import (
    REASONS,
    DialOutDecision,
    DialOutPolicy,
    decide,
    normalise,
    policy_from_settings,
)

POLICY = policy_from_settings(DialOutSettings())  # what an unconfigured install runs


def reason(number: str) -> str:
    return decide(number, POLICY, active_invites=0, invites_last_hour=0).reason


# --- the default table ---------------------------------------------------------------


@pytest.mark.parametrize(
    "number",
    [
        "0201234567",  # Amsterdam
        "0101234567",  # Rotterdam
        "0701234567",  # The Hague
        "0581234567",  # Leeuwarden
        "0791234567",  # Zoetermeer
        "0612345678",  # mobile 061
        "0651234567",  # mobile 065
        "0681234567",  # mobile 068
        "0851234567",  # location-independent, geographic rate
        "0881234567",  # company number, geographic rate
        "0911234567",  # location-independent (085 extension)
    ],
)
def test_default_allows_geographic_mobile_and_geographic_rate_numbers(number: str) -> None:
    assert decide(number, POLICY, 0, 0) == DialOutDecision(True, "allowed")


PREMIUM = ["0900123456", "09001234567", "0906123456", "0909123456"]
INTERNATIONAL = ["0031201234567", "00441234567890", "001"]
NON_GEOGRAPHIC = ["0841234567", "0871234567", "0661234567", "0671234567", "0691234567"]
SHORT_CODES = ["112", "911", "14020", "1813", "1850", "16001234567890", "1201234567"]
TOO_SHORT = ["020123456", "06123", "0", "0800"]


@pytest.mark.parametrize(
    "number", PREMIUM + INTERNATIONAL + NON_GEOGRAPHIC + SHORT_CODES + TOO_SHORT
)
def test_default_denies_premium_international_short_and_non_geographic(number: str) -> None:
    assert reason(number) == "denied_pattern"


@pytest.mark.parametrize(
    "number",
    [
        "0800123456",  # freephone: harmless but no participant; not in the default list
        "08001234567",
        "0971234567890",  # M2M
        "02012345678",  # geographic prefix but one digit too many
        "06123456789",  # mobile but one digit too many
        "061234567890123",  # 15 digits: the longest input that is not malformed
    ],
)
def test_default_does_not_allow_numbers_outside_its_list(number: str) -> None:
    assert reason(number) == "not_allowed_pattern"


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "+31612345678",
        "+31 6 12345678",
        "06-12345678",
        " 0612345678",
        "0612345678 ",
        "0612345678\n",
        "06\r\n12345678",
        "06123456A8",
        "*0612345678",
        "0612345678#",
        "٠٦١٢٣٤٥٦٧٨",
        "06¹2345678",
        "0" * 16,
    ],
)
def test_anything_but_ascii_digits_is_malformed(raw: str) -> None:
    assert reason(raw) == "malformed"


def test_non_string_is_malformed() -> None:
    assert decide(612345678, POLICY, 0, 0).reason == "malformed"  # type: ignore[arg-type]


def test_normalise_keeps_digits_unchanged_and_rejects_the_rest() -> None:
    assert normalise("0612345678") == "0612345678"
    assert normalise("0" * 15) == "0" * 15
    assert normalise("0" * 16) is None
    assert normalise("") is None
    assert normalise("+31612345678") is None
    assert normalise("123", max_digits=2) is None


def test_deny_wins_over_a_wide_allow() -> None:
    wide = DialOutPolicy(allow=(r"\d+",), deny=(r"0900\d*",), max_concurrent=5, max_per_hour=5)
    assert decide("0900123456", wide, 0, 0).reason == "denied_pattern"
    assert decide("0800123456", wide, 0, 0).allowed


def test_patterns_must_match_the_whole_number() -> None:
    policy = DialOutPolicy(allow=(r"06",), deny=(), max_concurrent=5, max_per_hour=5)
    assert decide("0612345678", policy, 0, 0).reason == "not_allowed_pattern"


# --- limits --------------------------------------------------------------------------


def limited(concurrent: int = 2, per_hour: int = 10) -> DialOutPolicy:
    return DialOutPolicy(
        allow=POLICY.allow, deny=POLICY.deny, max_concurrent=concurrent, max_per_hour=per_hour
    )


@pytest.mark.parametrize(
    ("active", "last_hour", "expected"),
    [
        (0, 0, "allowed"),
        (1, 9, "allowed"),  # one below each limit
        (2, 0, "too_many_concurrent"),  # at the concurrent limit
        (3, 0, "too_many_concurrent"),  # over it
        (0, 10, "too_many_per_hour"),  # at the hourly limit
        (0, 11, "too_many_per_hour"),
        (2, 10, "too_many_concurrent"),  # both: concurrency is reported first
    ],
)
def test_limits_at_and_over_the_boundary(active: int, last_hour: int, expected: str) -> None:
    decision = decide("0201234567", limited(2, 10), active, last_hour)
    assert decision == DialOutDecision(expected == "allowed", expected)


def test_zero_limit_disables_dial_out() -> None:
    assert decide("0201234567", limited(0, 10), 0, 0).reason == "too_many_concurrent"
    assert decide("0201234567", limited(2, 0), 0, 0).reason == "too_many_per_hour"


def test_bad_number_is_reported_before_limits() -> None:
    # A fraud attempt at a conference that is also at its limit is recorded as fraud.
    assert decide("0900123456", limited(0, 0), 5, 50).reason == "denied_pattern"
    assert decide("+31", limited(0, 0), 5, 50).reason == "malformed"


def test_negative_counts_are_a_programming_error() -> None:
    with pytest.raises(ValueError):
        decide("0201234567", POLICY, -1, 0)
    with pytest.raises(ValueError):
        decide("0201234567", POLICY, 0, -1)


# --- configuration -------------------------------------------------------------------


def test_settings_override_and_keep_the_national_list_for_the_other_side() -> None:
    policy = policy_from_settings(DialOutSettings(allow=(r"0800\d{6}",), max_per_hour=3))
    assert policy.allow == (r"0800\d{6}",)
    assert policy.deny == POLICY.deny  # deny stays in force when only allow is set
    assert policy.max_per_hour == 3
    assert policy.max_concurrent == POLICY.max_concurrent
    assert decide("0800123456", policy, 0, 0).allowed


def test_default_settings_are_the_national_policy_with_the_spec_limits() -> None:
    assert POLICY.allow[0] == r"0[1-57]\d{8}" and POLICY.deny[2] == r"00\d*"
    assert (POLICY.max_concurrent, POLICY.max_per_hour) == (2, 10)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"allow": ("06[0-9",)}, "allow pattern '06[0-9'"),
        ({"deny": ("(?P<x",)}, "deny pattern"),
        ({"allow": "06.*"}, "allow must be a list"),
        ({"deny": (6,)}, "deny pattern 6 is not a string"),
        ({"allow": None}, "allow must be a list"),
        ({"max_concurrent": -1}, "max_concurrent must be an integer >= 0"),
        ({"max_per_hour": "10"}, "max_per_hour must be an integer >= 0"),
        ({"max_per_hour": 2.5}, "max_per_hour must be an integer >= 0"),
        ({"max_concurrent": True}, "max_concurrent must be an integer >= 0"),
        ({"max_digits": 0}, "max_digits must be an integer >= 1"),
    ],
)
def test_an_invalid_policy_cannot_be_built(change: dict, message: str) -> None:
    with pytest.raises(ValueError) as err:
        dataclasses.replace(POLICY, **change)
    assert message in str(err.value)


def test_a_bad_pattern_in_the_settings_is_named() -> None:
    with pytest.raises(ValueError, match="deny pattern '0\\[': "):
        policy_from_settings(DialOutSettings(deny=("0[",)))


def test_policy_is_immutable_and_hashable() -> None:
    with pytest.raises(AttributeError):
        POLICY.max_per_hour = 1000  # type: ignore[misc]
    assert hash(POLICY) == hash(policy_from_settings(DialOutSettings()))


# --- properties ----------------------------------------------------------------------

digits = st.text(alphabet="0123456789", max_size=14)
counts = st.integers(min_value=0, max_value=1000)


@settings(max_examples=500)
@given(
    prefix=st.sampled_from(["00", "+", "0900", "0906", "0909"]),
    rest=digits,
    active=counts,
    last_hour=counts,
)
def test_default_never_allows_international_or_premium(
    prefix: str, rest: str, active: int, last_hour: int
) -> None:
    decision = decide(prefix + rest, POLICY, active, last_hour)
    assert not decision.allowed
    assert decision.reason in {"denied_pattern", "malformed"}


@settings(max_examples=500)
@given(head=digits, bad=st.characters(blacklist_characters="0123456789"), tail=digits)
def test_number_with_any_non_digit_is_never_allowed(head: str, bad: str, tail: str) -> None:
    assert decide(head + bad + tail, POLICY, 0, 0) == DialOutDecision(False, "malformed")


@given(number=st.text(max_size=20), active=counts, last_hour=counts)
def test_reason_is_always_a_stable_word(number: str, active: int, last_hour: int) -> None:
    decision = decide(number, POLICY, active, last_hour)
    assert decision.reason in REASONS
    assert decision.allowed == (decision.reason == "allowed")
