"""Keypad grammar: DTMF digits in, keypad actions out. Pure: no I/O, no clock.

One `KeypadGrammar` per conference member. The caller of this module feeds each
digit with its arrival time and calls `poll(now)` when `deadline` is reached;
time is always passed in, so the grammar is tested without sleeping.

Sequences (SPEC "Keypad controls"; the table is `SEQUENCES`):

    #    help              *1  mute/unmute self     *2  own join announcements
    *3   roll call         *7  volume down          *9  volume up
    *8 number #  invite (moderator)                 *30 end meeting (moderator)
    *31  remove last joined (moderator)             *21 lock / *20 unlock (moderator)
    *11  mute all / *10 unmute all (moderator)
    *4   start / stop recording (moderator)         *6  how many are present
    *5   raise / lower your hand (participant); give the floor to the longest raised
         hand (moderator): one sequence, its meaning depends on the role

Decisions (where SPEC is silent):

- A sequence starts with `*` and runs as soon as it is complete and unambiguous for
  the caller's role. A moderator's `*1`, `*2`, `*3` are prefixes of `*1x`, `*2x`,
  `*3x`: they wait for the inter-digit timeout, or run at once when followed by `#`
  (that `#` is consumed, it is not also help).
- A participant's `*1`, `*2`, `*3` run at once: the moderator-only `*1x/*2x/*3x`
  do not exist for a participant (delaying their own control just to be able to
  say "moderator only" would be worse). So a participant's `*11` is `*1` followed by
  a stray `1`, and `*30` is `*3` (roll call) followed by a stray `0`. Only `*8`
  and `*4` (recording) yield MODERATOR_ONLY for a participant.
- `*4`, `*5`, `*6` are complete at once for both roles (nothing longer starts with
  them), so they add no wait to any existing control.
- A participant's `*8` yields MODERATOR_ONLY at once; the number keyed after it, up
  to and including its `#`, is then discarded, so that `#` does not also play help.
- Feedback comes as soon as the outcome is certain: an unknown sequence (`*0`,
  `*#`, a moderator's `*12`) is INVALID at the key that makes it unknown; an invite
  number that grows past `max_invite_digits` or contains A-D is INVALID at that key,
  and the rest of it (to its `#`) is discarded silently as above.
- `*8#` (no number) is INVALID. An unfinished `*8` is INVALID after `invite_timeout`
  since its last key; any other unfinished sequence (a lone `*`) is INVALID after
  `inter_digit_timeout`. Timeouts run from the last key; a key arriving at or after
  the deadline first flushes the pending sequence, exactly as `poll` would.
- `*` always starts a new sequence, as in most IVRs ("star = start over"). What was
  pending is resolved first: a complete one (a moderator's `*1` waiting for its
  timeout) runs, an incomplete one (`*`, `*8` plus part of a number) is INVALID with
  the interrupting `*` in its keys. So `**` is INVALID and leaves a fresh `*` pending.
- Digits and A-D outside a sequence are ignored (a caller fumbling the keypad hears
  nothing); anything that is not a DTMF key is ignored, `feed` never raises.
- Memory is bounded: at most `max_invite_digits + 2` keys are ever buffered, whatever
  rate and number of digits arrive.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from fsconf.domain.roles import Role


class ActionKind(Enum):
    HELP = "help"
    TOGGLE_MUTE = "toggle_mute"
    TOGGLE_ANNOUNCEMENTS = "toggle_announcements"
    ROLL_CALL = "roll_call"
    VOLUME_DOWN = "volume_down"
    VOLUME_UP = "volume_up"
    INVITE = "invite"
    END_MEETING = "end_meeting"
    REMOVE_LAST = "remove_last"
    LOCK = "lock"
    UNLOCK = "unlock"
    MUTE_ALL = "mute_all"
    UNMUTE_ALL = "unmute_all"
    TOGGLE_RECORDING = "toggle_recording"
    HAND = "hand"  # participant: raise/lower; moderator: give the floor
    COUNT = "count"
    INVALID = "invalid"
    MODERATOR_ONLY = "moderator_only"


@dataclass(frozen=True)
class KeyAction:
    kind: ActionKind
    keys: str  # the keys that made this action, e.g. "*1#", "*806123#", "**"
    number: str | None = None  # INVITE only: the digits between *8 and #


MODERATOR_ONLY_KINDS: frozenset[ActionKind] = frozenset(
    {
        ActionKind.INVITE,
        ActionKind.END_MEETING,
        ActionKind.REMOVE_LAST,
        ActionKind.LOCK,
        ActionKind.UNLOCK,
        ActionKind.MUTE_ALL,
        ActionKind.UNMUTE_ALL,
        ActionKind.TOGGLE_RECORDING,
    }
)

# Every complete sequence. INVITE's entry is the prefix that starts number entry.
SEQUENCES: dict[str, ActionKind] = {
    "#": ActionKind.HELP,
    "*1": ActionKind.TOGGLE_MUTE,
    "*2": ActionKind.TOGGLE_ANNOUNCEMENTS,
    "*3": ActionKind.ROLL_CALL,
    "*7": ActionKind.VOLUME_DOWN,
    "*9": ActionKind.VOLUME_UP,
    "*8": ActionKind.INVITE,
    "*30": ActionKind.END_MEETING,
    "*31": ActionKind.REMOVE_LAST,
    "*21": ActionKind.LOCK,
    "*20": ActionKind.UNLOCK,
    "*11": ActionKind.MUTE_ALL,
    "*10": ActionKind.UNMUTE_ALL,
    # Issue 22: keys SPEC.md left unused, so no existing control changes meaning or timing.
    "*4": ActionKind.TOGGLE_RECORDING,
    "*5": ActionKind.HAND,
    "*6": ActionKind.COUNT,
}

_DTMF_KEYS = frozenset("0123456789*#ABCD")
_DIGITS = frozenset("0123456789")


def _role_table(role: Role) -> dict[str, ActionKind]:
    """The sequences as `role` sees them (see the module docstring for why)."""
    if role is Role.MODERATOR:
        return dict(SEQUENCES)
    own = {s: k for s, k in SEQUENCES.items() if k not in MODERATOR_ONLY_KINDS}
    table = dict(own)
    for seq, kind in SEQUENCES.items():
        if kind in MODERATOR_ONLY_KINDS and not any(seq.startswith(p) and seq != p for p in own):
            table[seq] = ActionKind.MODERATOR_ONLY  # reachable: caller hears why
    return table


_ROLE_TABLES: dict[Role, dict[str, ActionKind]] = {r: _role_table(r) for r in Role}


def controls_for(role: Role) -> list[tuple[str, ActionKind]]:
    """What `role` can do from the keypad, as (sequence, action), in `SEQUENCES` order;
    printed documentation derives from this, so it cannot drift from the grammar."""
    runnable = _ROLE_TABLES[role]
    return [(seq, kind) for seq, kind in runnable.items() if kind is not ActionKind.MODERATOR_ONLY]


def waits_for_more(role: Role) -> list[str]:
    """Complete sequences that are also the start of a longer one for `role`: they run
    after the inter-digit timeout, or at once when followed by `#`."""
    table = _ROLE_TABLES[role]
    return [s for s in table if any(o != s and o.startswith(s) for o in table)]
_INVITE_PREFIX = next(s for s, k in SEQUENCES.items() if k is ActionKind.INVITE)


@dataclass(frozen=True)
class GrammarSettings:
    inter_digit_timeout: float = 1.5
    invite_timeout: float = 10.0
    max_invite_digits: int = 15

    def __post_init__(self) -> None:
        # A zero/negative timeout would flush every prefix before its second digit.
        if not self.inter_digit_timeout > 0 or not self.invite_timeout > 0:
            raise ValueError("grammar timeouts must be > 0 seconds")
        if self.max_invite_digits < 1:
            raise ValueError("max_invite_digits must be >= 1")


class _Mode(Enum):
    IDLE = "idle"
    SEQUENCE = "sequence"  # collecting a `*` sequence
    NUMBER = "number"  # collecting the number after *8
    DISCARD = "discard"  # swallowing a rejected number up to its `#`


class KeypadGrammar:
    """The keypad state machine for one member; the role is fixed for its life."""

    def __init__(self, role: Role, settings: GrammarSettings = GrammarSettings()) -> None:
        self.role = role
        self.settings = settings
        self._table = _ROLE_TABLES[role]
        # Proper prefixes of the role's sequences: keep collecting while in here.
        self._prefixes = frozenset(s[:i] for s in self._table for i in range(1, len(s)))
        self._mode = _Mode.IDLE
        self._keys = ""
        self._deadline: float | None = None

    @property
    def deadline(self) -> float | None:
        """When `poll` should next be called; None when nothing is pending."""
        return self._deadline

    @property
    def pending(self) -> str:
        """The keys buffered for an unfinished sequence ("" when none)."""
        return self._keys

    def feed(self, digit: str, at: float) -> list[KeyAction]:
        """Take one key pressed at time `at`; return the actions it completes."""
        out = self.poll(at)
        key = digit.upper() if isinstance(digit, str) else ""
        if key not in _DTMF_KEYS or len(key) != 1:
            return out
        if key == "*":
            out.extend(self._interrupt())
            self._pend(_Mode.SEQUENCE, "*", at)
        elif self._mode is _Mode.IDLE:
            if key in self._table:  # only "#": other keys outside a sequence are stray
                out.append(KeyAction(self._table[key], key))
        elif self._mode is _Mode.SEQUENCE:
            out.extend(self._sequence_key(key, at))
        elif self._mode is _Mode.NUMBER:
            out.extend(self._number_key(key, at))
        elif key == "#":  # DISCARD: the rejected number's terminator ends it
            self._reset()
        else:
            self._pend(_Mode.DISCARD, "", at)
        return out

    def poll(self, now: float) -> list[KeyAction]:
        """Flush a pending sequence whose deadline is at or before `now`."""
        if self._deadline is None or now < self._deadline:
            return []
        out: list[KeyAction] = []
        if self._mode is _Mode.SEQUENCE and self._keys in self._table:
            out.append(KeyAction(self._table[self._keys], self._keys))
        elif self._mode in (_Mode.SEQUENCE, _Mode.NUMBER):
            out.append(KeyAction(ActionKind.INVALID, self._keys))
        self._reset()
        return out

    def _sequence_key(self, key: str, at: float) -> list[KeyAction]:
        if key == "#" and self._keys in self._table:  # "*1#": run the prefix now
            return self._finish(self._table[self._keys], self._keys + "#")
        keys = self._keys + key
        kind = self._table.get(keys)
        if keys == _INVITE_PREFIX and kind is ActionKind.INVITE:
            self._pend(_Mode.NUMBER, keys, at)
            return []
        if keys == _INVITE_PREFIX:  # a participant's *8: say so, then eat the number
            self._pend(_Mode.DISCARD, "", at)
            return [KeyAction(ActionKind.MODERATOR_ONLY, keys)]
        if keys in self._prefixes:  # complete or not, something longer may follow
            self._pend(_Mode.SEQUENCE, keys, at)
            return []
        return self._finish(kind or ActionKind.INVALID, keys)

    def _number_key(self, key: str, at: float) -> list[KeyAction]:
        number = self._keys[len(_INVITE_PREFIX) :]
        if key == "#":
            if not number:
                return self._finish(ActionKind.INVALID, self._keys + key)
            return self._finish(ActionKind.INVITE, self._keys + key, number)
        if key not in _DIGITS or len(number) >= self.settings.max_invite_digits:
            action = KeyAction(ActionKind.INVALID, self._keys + key)
            self._pend(_Mode.DISCARD, "", at)  # bounded: the rest is not kept
            return [action]
        self._pend(_Mode.NUMBER, self._keys + key, at)
        return []

    def _interrupt(self) -> list[KeyAction]:
        """Resolve what is pending because a new `*` arrived."""
        out: list[KeyAction] = []
        if self._mode is _Mode.SEQUENCE and self._keys in self._table:
            out.append(KeyAction(self._table[self._keys], self._keys))
        elif self._mode in (_Mode.SEQUENCE, _Mode.NUMBER):
            out.append(KeyAction(ActionKind.INVALID, self._keys + "*"))
        self._reset()
        return out

    def _finish(self, kind: ActionKind, keys: str, number: str | None = None) -> list[KeyAction]:
        self._reset()
        return [KeyAction(kind, keys, number)]

    def _pend(self, mode: _Mode, keys: str, at: float) -> None:
        self._mode = mode
        self._keys = keys
        long_wait = mode in (_Mode.NUMBER, _Mode.DISCARD)
        s = self.settings
        self._deadline = at + (s.invite_timeout if long_wait else s.inter_digit_timeout)

    def _reset(self) -> None:
        self._mode = _Mode.IDLE
        self._keys = ""
        self._deadline = None
