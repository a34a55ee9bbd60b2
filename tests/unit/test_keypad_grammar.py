"""Keypad grammar: every control for both roles, prefix timing, *8, and random streams."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fsconf.domain.keypad_grammar import (
    MODERATOR_ONLY_KINDS,
    SEQUENCES,
    ActionKind,
    GrammarSettings,
    KeyAction,
    KeypadGrammar,
)
from fsconf.domain.roles import Role

K = ActionKind
MOD = Role.MODERATOR
PART = Role.PARTICIPANT
GAP = 0.1  # seconds between keys when a caller types briskly


def keyed(grammar: KeypadGrammar, keys: str, start: float = 0.0) -> list[KeyAction]:
    """Feed `keys` GAP seconds apart; return the actions emitted while typing."""
    out: list[KeyAction] = []
    for i, key in enumerate(keys):
        out.extend(grammar.feed(key, start + i * GAP))
    return out


def keyed_then_wait(role: Role, keys: str, gs: GrammarSettings | None = None) -> list[KeyAction]:
    """Type `keys`, then let every timeout pass."""
    grammar = KeypadGrammar(role, gs or GrammarSettings())
    out = keyed(grammar, keys)
    out.extend(grammar.poll(1e9))
    assert grammar.deadline is None and grammar.pending == ""
    return out


def kinds(actions: list[KeyAction]) -> list[ActionKind]:
    return [a.kind for a in actions]


# --- every control -------------------------------------------------------------------


@pytest.mark.parametrize("role", [MOD, PART])
def test_hash_alone_is_help_for_both_roles(role: Role) -> None:
    assert KeypadGrammar(role).feed("#", 0.0) == [KeyAction(K.HELP, "#")]


@pytest.mark.parametrize(
    ("keys", "kind"),
    [
        ("*1", K.TOGGLE_MUTE),
        ("*2", K.TOGGLE_ANNOUNCEMENTS),
        ("*3", K.ROLL_CALL),
        ("*7", K.VOLUME_DOWN),
        ("*9", K.VOLUME_UP),
    ],
)
def test_participant_controls_run_at_once(keys: str, kind: ActionKind) -> None:
    grammar = KeypadGrammar(PART)
    assert keyed(grammar, keys) == [KeyAction(kind, keys)]
    assert grammar.deadline is None


@pytest.mark.parametrize(("keys", "kind"), [("*7", K.VOLUME_DOWN), ("*9", K.VOLUME_UP)])
def test_moderator_unambiguous_controls_run_at_once(keys: str, kind: ActionKind) -> None:
    assert keyed(KeypadGrammar(MOD), keys) == [KeyAction(kind, keys)]


@pytest.mark.parametrize(
    ("keys", "kind"),
    [
        ("*30", K.END_MEETING),
        ("*31", K.REMOVE_LAST),
        ("*21", K.LOCK),
        ("*20", K.UNLOCK),
        ("*11", K.MUTE_ALL),
        ("*10", K.UNMUTE_ALL),
    ],
)
def test_moderator_two_digit_controls_run_at_second_digit(keys: str, kind: ActionKind) -> None:
    grammar = KeypadGrammar(MOD)
    assert keyed(grammar, keys) == [KeyAction(kind, keys)]
    assert grammar.deadline is None


@pytest.mark.parametrize(
    ("keys", "kind"),
    [("*1", K.TOGGLE_MUTE), ("*2", K.TOGGLE_ANNOUNCEMENTS), ("*3", K.ROLL_CALL)],
)
def test_moderator_prefix_controls_run_after_timeout(keys: str, kind: ActionKind) -> None:
    assert keyed_then_wait(MOD, keys) == [KeyAction(kind, keys)]


def test_moderator_invite_collects_number_until_hash() -> None:
    grammar = KeypadGrammar(MOD)
    assert keyed(grammar, "*80612345678") == []
    assert grammar.feed("#", 5.0) == [KeyAction(K.INVITE, "*80612345678#", "0612345678")]
    assert grammar.deadline is None


# --- prefix timing -------------------------------------------------------------------


def test_moderator_star1_waits_for_second_digit() -> None:
    grammar = KeypadGrammar(MOD, GrammarSettings(inter_digit_timeout=1.5))
    assert grammar.feed("*", 0.0) == []
    assert grammar.feed("1", 0.2) == []
    assert grammar.pending == "*1"
    assert grammar.deadline == pytest.approx(1.7)
    assert grammar.poll(1.69) == []


def test_moderator_star1_runs_toggle_mute_when_timeout_passes() -> None:
    grammar = KeypadGrammar(MOD, GrammarSettings(inter_digit_timeout=1.5))
    keyed(grammar, "*1")
    assert grammar.poll(grammar.deadline) == [KeyAction(K.TOGGLE_MUTE, "*1")]
    assert grammar.deadline is None
    assert grammar.poll(99.0) == []  # runs once only


def test_moderator_star1_hash_runs_at_once_and_hash_is_not_help() -> None:
    assert keyed(KeypadGrammar(MOD), "*1#") == [KeyAction(K.TOGGLE_MUTE, "*1#")]


def test_moderator_star1_then_1_before_timeout_is_mute_all() -> None:
    grammar = KeypadGrammar(MOD)
    grammar.feed("*", 0.0)
    grammar.feed("1", 0.1)
    assert grammar.feed("1", 1.5) == [KeyAction(K.MUTE_ALL, "*11")]


def test_moderator_star1_then_1_after_timeout_is_toggle_mute_then_stray_digit() -> None:
    grammar = KeypadGrammar(MOD)
    grammar.feed("*", 0.0)
    grammar.feed("1", 0.1)
    # At the deadline exactly the timeout has passed; the late "1" is outside a sequence.
    assert grammar.feed("1", 1.6) == [KeyAction(K.TOGGLE_MUTE, "*1")]
    assert grammar.deadline is None and grammar.pending == ""


def test_timeout_runs_from_the_last_key() -> None:
    grammar = KeypadGrammar(MOD, GrammarSettings(inter_digit_timeout=1.0))
    grammar.feed("*", 0.0)
    grammar.feed("3", 0.9)  # 0.9 s after "*": still in time, deadline moves on
    assert grammar.deadline == pytest.approx(1.9)
    assert grammar.feed("0", 1.8) == [KeyAction(K.END_MEETING, "*30")]


def test_lone_star_times_out_as_invalid() -> None:
    assert keyed_then_wait(MOD, "*") == [KeyAction(K.INVALID, "*")]


def test_settings_reject_nonsense() -> None:
    with pytest.raises(ValueError):
        GrammarSettings(inter_digit_timeout=0)
    with pytest.raises(ValueError):
        GrammarSettings(invite_timeout=-1)
    with pytest.raises(ValueError):
        GrammarSettings(max_invite_digits=0)


# --- *8 invite -----------------------------------------------------------------------


def test_invite_without_number_is_invalid() -> None:
    assert keyed(KeypadGrammar(MOD), "*8#") == [KeyAction(K.INVALID, "*8#")]


def test_invite_of_max_digits_is_accepted() -> None:
    number = "0" * 15
    assert keyed(KeypadGrammar(MOD), f"*8{number}#") == [
        KeyAction(K.INVITE, f"*8{number}#", number)
    ]


def test_invite_too_long_is_invalid_at_once_and_rest_of_number_is_discarded() -> None:
    gs = GrammarSettings(max_invite_digits=4)
    grammar = KeypadGrammar(MOD, gs)
    assert keyed(grammar, "*81234") == []
    assert grammar.feed("5", 1.0) == [KeyAction(K.INVALID, "*812345")]
    # The rest of the number and its "#" are swallowed: no help, no stray action.
    assert keyed(grammar, "6789#", start=1.1) == []
    assert grammar.deadline is None
    assert grammar.feed("#", 2.0) == [KeyAction(K.HELP, "#")]


def test_invite_with_letter_is_invalid() -> None:
    assert keyed_then_wait(MOD, "*806A12#") == [KeyAction(K.INVALID, "*806A")]


def test_star_inside_invite_number_is_invalid_and_starts_new_sequence() -> None:
    assert keyed_then_wait(MOD, "*8061*9") == [
        KeyAction(K.INVALID, "*8061*"),
        KeyAction(K.VOLUME_UP, "*9"),
    ]


def test_unfinished_invite_times_out_after_invite_timeout() -> None:
    grammar = KeypadGrammar(MOD, GrammarSettings(inter_digit_timeout=1.5, invite_timeout=10.0))
    keyed(grammar, "*8061")  # last key at 0.4
    assert grammar.deadline == pytest.approx(10.4)
    assert grammar.poll(5.0) == []  # the short timeout does not apply to a number
    assert grammar.poll(10.4) == [KeyAction(K.INVALID, "*8061")]
    assert grammar.deadline is None


def test_invite_digit_after_invite_timeout_is_stray() -> None:
    grammar = KeypadGrammar(MOD)
    keyed(grammar, "*806")
    assert grammar.feed("#", 60.0) == [KeyAction(K.INVALID, "*806"), KeyAction(K.HELP, "#")]


def test_flood_of_invite_digits_keeps_buffer_bounded() -> None:
    gs = GrammarSettings(max_invite_digits=15)
    grammar = KeypadGrammar(MOD, gs)
    grammar.feed("*", 0.0)
    grammar.feed("8", 0.0)
    emitted: list[KeyAction] = []
    for i in range(100_000):
        emitted.extend(grammar.feed(str(i % 10), i / 500))  # 500 digits a second
        assert len(grammar.pending) <= gs.max_invite_digits + 2
    assert kinds(emitted) == [K.INVALID]


# --- unknown sequences and moderator-only --------------------------------------------


@pytest.mark.parametrize("role", [MOD, PART])
@pytest.mark.parametrize("keys", ["*0", "*#", "*A", "*D"])
def test_unknown_sequence_is_invalid(role: Role, keys: str) -> None:
    assert keyed(KeypadGrammar(role), keys) == [KeyAction(K.INVALID, keys)]


@pytest.mark.parametrize("role", [MOD, PART])
@pytest.mark.parametrize(("keys", "kind"), [("*5", K.HAND), ("*6", K.COUNT)])
def test_hand_and_count_run_at_once_for_both_roles(role: Role, keys: str, kind) -> None:
    assert keyed(KeypadGrammar(role), keys) == [KeyAction(kind, keys)]


def test_star4_records_for_the_moderator_and_is_moderator_only_for_a_participant() -> None:
    assert keyed(KeypadGrammar(MOD), "*4") == [KeyAction(K.TOGGLE_RECORDING, "*4")]
    assert keyed(KeypadGrammar(PART), "*4") == [KeyAction(K.MODERATOR_ONLY, "*4")]


@pytest.mark.parametrize("keys", ["*12", "*19", "*22", "*29", "*32", "*3A", "*1B"])
def test_moderator_unknown_second_digit_is_invalid(keys: str) -> None:
    assert keyed(KeypadGrammar(MOD), keys) == [KeyAction(K.INVALID, keys)]


def test_star_runs_a_waiting_moderator_prefix_then_starts_a_new_sequence() -> None:
    grammar = KeypadGrammar(MOD)
    assert keyed(grammar, "*2*") == [KeyAction(K.TOGGLE_ANNOUNCEMENTS, "*2")]
    assert grammar.pending == "*"
    assert grammar.feed("9", 1.0) == [KeyAction(K.VOLUME_UP, "*9")]


def test_double_star_is_invalid_and_second_star_starts_a_sequence() -> None:
    grammar = KeypadGrammar(PART)
    assert keyed(grammar, "**") == [KeyAction(K.INVALID, "**")]
    assert grammar.pending == "*"
    assert grammar.feed("9", 1.0) == [KeyAction(K.VOLUME_UP, "*9")]


def test_participant_invite_is_moderator_only_at_once() -> None:
    assert keyed(KeypadGrammar(PART), "*8") == [KeyAction(K.MODERATOR_ONLY, "*8")]


def test_participant_invite_number_and_its_hash_are_discarded() -> None:
    grammar = KeypadGrammar(PART)
    assert kinds(keyed(grammar, "*80612345678#")) == [K.MODERATOR_ONLY]
    assert grammar.deadline is None
    assert grammar.feed("#", 5.0) == [KeyAction(K.HELP, "#")]


def test_participant_discarded_invite_ends_on_star() -> None:
    assert keyed_then_wait(PART, "*8061*1") == [
        KeyAction(K.MODERATOR_ONLY, "*8"),
        KeyAction(K.TOGGLE_MUTE, "*1"),
    ]


def test_participant_discarded_invite_ends_silently_on_timeout() -> None:
    grammar = KeypadGrammar(PART)
    keyed(grammar, "*806")
    assert grammar.poll(1e9) == []
    assert grammar.feed("#", 1e9 + 1) == [KeyAction(K.HELP, "#")]


@pytest.mark.parametrize(
    ("keys", "first"),
    [
        ("*11", K.TOGGLE_MUTE),
        ("*10", K.TOGGLE_MUTE),
        ("*21", K.TOGGLE_ANNOUNCEMENTS),
        ("*20", K.TOGGLE_ANNOUNCEMENTS),
        ("*30", K.ROLL_CALL),
        ("*31", K.ROLL_CALL),
    ],
)
def test_participant_moderator_two_digit_sequence_is_own_control_then_stray_digit(
    keys: str, first: ActionKind
) -> None:
    grammar = KeypadGrammar(PART)
    assert keyed(grammar, keys) == [KeyAction(first, keys[:2])]
    assert grammar.deadline is None and grammar.pending == ""


# --- stray and garbage keys ----------------------------------------------------------


@pytest.mark.parametrize("role", [MOD, PART])
def test_digits_outside_a_sequence_are_ignored(role: Role) -> None:
    grammar = KeypadGrammar(role)
    assert keyed(grammar, "5012ABCD9") == []
    assert grammar.deadline is None


@pytest.mark.parametrize("junk", ["", "x", "12", "*1", "\n", " ", "E", None, 7, b"*"])
def test_non_dtmf_input_is_ignored(junk: object) -> None:
    grammar = KeypadGrammar(MOD)
    grammar.feed("*", 0.0)
    assert grammar.feed(junk, 0.1) == []  # type: ignore[arg-type]
    assert grammar.pending == "*"


def test_lowercase_dtmf_letters_are_accepted() -> None:
    assert keyed(KeypadGrammar(MOD), "*a") == [KeyAction(K.INVALID, "*A")]


def test_ignored_key_still_lets_time_pass() -> None:
    grammar = KeypadGrammar(MOD)
    keyed(grammar, "*1")
    assert grammar.feed("x", 10.0) == [KeyAction(K.TOGGLE_MUTE, "*1")]


# --- the table -------------------------------------------------------------------------


def test_table_maps_every_control_of_the_spec() -> None:
    expected = {"#", "*1", "*2", "*3", "*7", "*9", "*8", "*30", "*31", "*21", "*20", "*11", "*10"}
    issue22 = {"*4", "*5", "*6"}  # new keys only; SPEC.md's keep their meaning
    assert set(SEQUENCES) == expected | issue22
    assert K.INVALID not in SEQUENCES.values() and K.MODERATOR_ONLY not in SEQUENCES.values()


# --- property tests over random streams ----------------------------------------------

KEYS = "0123456789*#ABCD"
streams = st.lists(
    st.tuples(
        st.one_of(st.sampled_from(KEYS), st.sampled_from(["x", "", "**", "9#"])),
        st.floats(min_value=0.0, max_value=3.0, allow_nan=False),
    ),
    max_size=200,
)
grammar_settings = st.builds(
    GrammarSettings,
    inter_digit_timeout=st.floats(min_value=0.05, max_value=3.0),
    invite_timeout=st.floats(min_value=0.05, max_value=20.0),
    max_invite_digits=st.integers(min_value=1, max_value=20),
)


def run_stream(role: Role, gs: GrammarSettings, stream: list[tuple[str, float]]) -> list[KeyAction]:
    grammar = KeypadGrammar(role, gs)
    now = 0.0
    out: list[KeyAction] = []
    for key, gap in stream:
        now += gap
        out.extend(grammar.feed(key, now))
        assert len(grammar.pending) <= gs.max_invite_digits + 2
        assert grammar.deadline is None or grammar.deadline >= now
    out.extend(grammar.poll(now + 1e6))
    assert grammar.deadline is None and grammar.pending == ""
    return out


@settings(max_examples=300, deadline=None)
@given(role=st.sampled_from(list(Role)), gs=grammar_settings, stream=streams)
def test_random_streams_never_raise_and_stay_bounded(
    role: Role, gs: GrammarSettings, stream: list[tuple[str, float]]
) -> None:
    for action in run_stream(role, gs, stream):
        if action.kind is K.INVITE:
            assert action.number is not None and action.number.isdigit()
            assert 1 <= len(action.number) <= gs.max_invite_digits
            assert action.keys == f"*8{action.number}#"
        else:
            assert action.number is None
        assert action.keys  # every action names the keys that made it


@settings(max_examples=300, deadline=None)
@given(gs=grammar_settings, stream=streams)
def test_participant_never_gets_a_moderator_only_kind(
    gs: GrammarSettings, stream: list[tuple[str, float]]
) -> None:
    emitted = {a.kind for a in run_stream(PART, gs, stream)}
    assert not emitted & MODERATOR_ONLY_KINDS


@settings(max_examples=200, deadline=None)
@given(stream=st.lists(st.sampled_from(KEYS), max_size=60))
def test_fast_and_slow_typing_agree_when_no_timeout_fires_for_participant(
    stream: list[str],
) -> None:
    # A participant never waits on a short prefix, so typing speed within the timeouts
    # cannot change the outcome.
    def typed(gap: float) -> list[KeyAction]:
        grammar = KeypadGrammar(PART)
        return [a for i, k in enumerate(stream) for a in grammar.feed(k, i * gap)]

    assert typed(0.01) == typed(1.0)
