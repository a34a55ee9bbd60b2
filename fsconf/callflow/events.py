"""What the call flow and the member's keypad need from a call's socket (esl.Subscription).

Only the event types acted on reach the controller: `myevents` also brings CHANNEL_EXECUTE,
CHANNEL_STATE, CHANNEL_UNPARK, ... (a third of a call's events), which a filter keeps in
the switch.
"""

from __future__ import annotations

from fsconf.esl.session import SESSION_EVENTS, Subscription

# Beyond `myevents` (which has DTMF, EXECUTE*, HANGUP*): job results, the conference's events.
EXTRA_EVENTS = ("BACKGROUND_JOB", "CUSTOM", "conference::maintenance")
# Every event type acted on. DTMF only once the caller is in the meeting: before that the
# digits go to play_and_get_digits and record, which collect them inside FreeSWITCH (the
# ~15 DTMF events of the number, PIN and name steps were half of a call's events);
# PhoneLine asks for them with `listen_for_keys` just before the conference starts.
EVENTS_USED = (*SESSION_EVENTS, "DTMF", "CUSTOM", "BACKGROUND_JOB")
# conference::maintenance events are let through by their Action: the member's own join
# and the state the room follows. A meeting's bulk (start/stop-talking, play-file-member
# for every prompt, energy and floor changes) never leaves the switch.
MEMBER_ACTIONS_USED = ("add-member", "mute-member", "unmute-member", "volume-out-member")
# The dialplan and the controller's own originate set these (fsconf_attendance_id, ...).
VARIABLE_PREFIX = "fsconf_"
# A leg another node bridged here: the profile it came in on and the signed X-Fsconf
# headers (G_two_nodes_bridge FINDINGS 6: `variable_sip_h_X-Fsconf-Room`, ...).
CLUSTER_VARIABLES = ("sofia_profile_name", "sip_h_X-Fsconf-")

CALL_SUBSCRIPTION = Subscription(
    extra_events=EXTRA_EVENTS,
    event_names=tuple(n for n in EVENTS_USED if n not in ("DTMF", "CUSTOM")),
    actions=MEMBER_ACTIONS_USED,
    variable_prefix=VARIABLE_PREFIX,
    more_variable_prefixes=CLUSTER_VARIABLES,
)
