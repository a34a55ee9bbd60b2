"""Simulator-only knobs, kept apart from anything a real FreeSWITCH has.

Everything a real switch would read from its configuration comes from the XML in
``conf_dir``; this object only holds what a simulator needs on top (time speed-up,
callee behaviour for gateway dial-outs, fault injection, global-var overrides).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from pathlib import Path

REPO_CONF_DIR = Path(__file__).resolve().parents[2] / "freeswitch" / "conf"


@dataclass
class CalleeBehaviour:
    """How a simulated far end reached through sofia/gateway/<gw>/<number> reacts.

    action: "answer", "busy" (USER_BUSY), "no_answer" (NO_ANSWER after ring_s),
    "reject" (CALL_REJECTED), "unallocated" (UNALLOCATED_NUMBER).
    answer_after_s: ringing time before answering (simulated seconds).
    digits: keys the callee types once answered, digits_delay_s after answering, or, with
        digits_after_prompt set, digits_delay_s after the first prompt played to the callee
        whose path contains that text ("" = any prompt) -- as a listening person would.
        Digits are spaced by SimSettings.dtmf_interdigit_ms.
    hangup_after_s: callee hangs up this long after answering (None = never).
    """

    action: str = "answer"
    answer_after_s: float = 0.0
    ring_s: float = 30.0
    digits: str = ""
    digits_delay_s: float = 1.0
    digits_after_prompt: str | None = None
    hangup_after_s: float | None = None


@dataclass
class SimSettings:
    conf_dir: Path = REPO_CONF_DIR
    host: str | None = None  # None: take listen-ip from event_socket.conf.xml
    port: int | None = None  # None: from event_socket.conf.xml; 0: ephemeral (see Simulator.port)
    password: str | None = None  # None: from event_socket.conf.xml
    speed: float = 1.0  # simulated seconds per wall-clock second (the default ScaledClock)
    default_playback_ms: int = 1000  # length of a sound that exists but is not a readable WAV
    # Mean |sample| of a sound that is not a readable WAV (tone_stream too): what a `record`
    # silence threshold compares against when such a sound is played into a call.
    default_sound_energy: int = 3000
    sounds_dir: Path | None = None  # sound_prefix root; None: every relative sound "exists"
    missing_sounds: frozenset[str] = frozenset()  # with sounds_dir None: sounds that do not exist
    global_vars: dict[str, str] = field(default_factory=dict)  # override X-PRE-PROCESS set
    connect_timeout_s: float = 25.0  # outbound socket: wait for the first 'connect'
    # A bridge / originate to another node (sofia) without an originate_timeout variable:
    # FreeSWITCH's fixed 60 s.
    # The benchmark runs the clock 1000x faster and keeps this one at 60 s of wall time.
    originate_timeout_s: float = 60.0
    outbound_connect_timeout_s: float = 2.0  # TCP connect to the controller (wall clock)
    callees: dict[str, CalleeBehaviour] = field(default_factory=dict)  # by dialled number
    default_callee: CalleeBehaviour = field(default_factory=CalleeBehaviour)
    hostname: str = "fsconf-sim"
    ipv4: str = "127.0.0.1"
    ipv6: str = "::1"
    core_uuid: str = field(default_factory=lambda: str(uuid.uuid4()))
    # fault injection
    refuse_originate: bool = False  # every originate fails with -ERR NORMAL_TEMPORARY_FAILURE
    dtmf_interdigit_ms: int = 0  # spacing of digits sent with uuid_send_dtmf (simulated ms)
    # measurement (benchmark only): keypad timing trace, sim_trace/sim_flood APIs
    bench_trace: bool = False
    # Full garbage collections only once no channel is up (`fsconf sim` turns automatic
    # ones off): a real FreeSWITCH has no collector, and a Python switch holding thousands
    # of calls paused for up to 0.9 s per full collection, which every controller it
    # served then showed as late key presses and failed joins.
    collect_when_idle: bool = False
    # Races FreeSWITCH itself has (esl-protocol.md 9.2), resolved per channel by a random
    # generator seeded with (race_seed, session id) so a run is repeatable:
    #  - hang-up during playback/record: PLAYBACK_STOP/RECORD_STOP before or after
    #    CHANNEL_HANGUP (both captured on 1.10.12);
    #  - the outbound socket's linger/goodbye notice may overtake the hang-up events
    #    (without linger the events after it are then lost, as on the real switch).
    # None: always the order the reference captures show.
    race_seed: int | None = 1
