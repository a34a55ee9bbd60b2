"""Several simulated nodes joined by SIP, against two real FreeSWITCH 1.10.12 nodes
(tests/data/G_two_nodes_bridge: node B bridges callers to node A's conference).

Each node is a Simulator with the project's conf tree plus per-node overrides, as the
captured deployment: an "internal" SIP profile on the node's own address (context
public), the captured dialplan, its own controller (fsconf_controller) and Event Socket.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import unquote

import pytest

from fsconf.esl.protocol import Event, Frame, FrameParser, parse_event
from fsconf.sim import Simulator
from fsconf.sim.__main__ import NodeSpecError, parse_node
from fsconf.sim.sip import (
    DTMF_FIRST_S,
    DTMF_SPACING_S,
    SipFabric,
    continues_on_fail,
    dial_status,
    final_status,
    first_dtmf_delay,
    originate_wait_s,
    parse_sofia_url,
)

from .conftest import SPEED, Controller, ControllerConn

G = Path(__file__).resolve().parents[1] / "data" / "G_two_nodes_bridge"
RUN1 = "1_bridge_dtmf_confapi_second_caller_kick"

# The captured nodes' SIP profile "internal" (sofia.conf.xml of the README, section 2).
INTERNAL_PROFILE = """<profile name="internal">
  <gateways/><domains/>
  <settings>
    <param name="context" value="public"/>
    <param name="dialplan" value="XML"/>
    <param name="sip-ip" value="$${local_ip_v4}"/>
    <param name="rtp-ip" value="$${local_ip_v4}"/>
    <param name="sip-port" value="5080"/>
    <param name="auth-calls" value="false"/>
    <param name="inbound-late-negotiation" value="true"/>
  </settings>
</profile>
"""

# The captured dialplans of A (public: the SIP legs) and B (default: the access number).
NODE_DIALPLAN = """<include>
  <context name="public">
    <extension name="fsconf_room">
      <condition field="destination_number" expression="^fsconf-room-(\\d+)$">
        <action application="socket" data="$${fsconf_controller} async full"/>
      </condition>
    </extension>
  </context>
  <context name="default">
    <extension name="fsconf_access">
      <condition field="destination_number" expression="^0201234567$">
        <action application="socket" data="$${fsconf_controller} async full"/>
      </condition>
    </extension>
  </context>
</include>
"""

# The captured nodes' conference.conf.xml (no sounds: nothing plays on enter or kick).
CONFERENCE_CONF = """<configuration name="conference.conf" description="Audio Conference">
  <advertise/>
  <caller-controls/>
  <profiles>
    <profile name="fsconf">
      <param name="domain" value="$${domain}"/>
      <param name="rate" value="8000"/>
      <param name="interval" value="20"/>
      <param name="energy-level" value="0"/>
      <param name="caller-controls" value="none"/>
      <param name="comfort-noise" value="false"/>
      <param name="sound-prefix" value="$${sound_prefix}"/>
    </profile>
  </profiles>
</configuration>
"""

A_IP, B_IP = "127.0.0.1", "127.0.0.2"
ROOM_URL = "sofia/internal/fsconf-room-123456@127.0.0.1:5080"
HEADERS = "sip_h_X-Fsconf-Room=123456,sip_h_X-Fsconf-Role=moderator,sip_h_X-Fsconf-Epoch=7"


@pytest.fixture
def node_conf(conf_dir: Path) -> Path:
    # The captured nodes had the one profile "internal" (no "external" and its trunk).
    shutil.rmtree(conf_dir / "sip_profiles")
    (conf_dir / "sip_profiles").mkdir()
    (conf_dir / "sip_profiles" / "internal.xml").write_text(INTERNAL_PROFILE)
    (conf_dir / "dialplan" / "nodes.xml").write_text(NODE_DIALPLAN)
    (conf_dir / "autoload_configs" / "conference.conf.xml").write_text(CONFERENCE_CONF)
    return conf_dir


@pytest.fixture
def make_node(make_node, node_conf: Path) -> Callable[..., Simulator]:
    """conftest's make_node with the captured nodes' conf; loopback callers in PCMU,
    like real SIP callers, as on the captured B (README 2)."""

    def make(ip: str, controller: Controller | None, **kw: object) -> Simulator:
        gv = {
            "loopback_initial_codec": "PCMU@8000h@20i",
            **dict(kw.pop("global_vars", {}) or {}),  # type: ignore[call-overload]
        }
        kw.setdefault("conf_dir", node_conf)
        return make_node(ip, controller, global_vars=gv, **kw)

    return make


def _captured(rel: str) -> list[Frame]:
    return FrameParser().feed((G / rel).read_bytes())


def _frames(conn: ControllerConn) -> list[Frame]:
    return FrameParser().feed(bytes(conn.raw))


def _label(f: Frame) -> str:
    if f.content_type == "text/event-plain":
        ev = parse_event(f)
        return f"{ev.name}:{ev.get('Application') or ''}"
    return f.content_type


def _from_bridge(frames: list[Frame]) -> list[Frame]:
    """The frames from the bridge's CHANNEL_EXECUTE on (what bridging changes); the
    racy CHANNEL_PARK after myevents (README finding 8) is left out."""
    labels = [_label(f) for f in frames]
    start = labels.index("CHANNEL_EXECUTE:bridge")
    return [f for f in frames[start:] if _label(f) != "CHANNEL_PARK:"]


def _names(f: Frame) -> list[str]:
    """Header names of an event (variables aside: they differ per call and build)."""
    return [h for h in parse_event(f).headers if not h.startswith("variable_")]


# Headers whose values must match the capture too (the rest differ per call and build).
VALUE_HEADERS = (
    "Channel-State",
    "Channel-Call-State",
    "Answer-State",
    "Hangup-Cause",
    "Call-Direction",
    "Application",
    "Application-Response",
    "DTMF-Digit",
    "DTMF-Duration",
    "DTMF-Source",
    "Other-Type",
    "Other-Leg-Direction",
    "Other-Leg-Destination-Number",
    "Other-Leg-Context",
)


def _assert_same_events(ours: list[Frame], theirs: list[Frame]) -> None:
    assert [_label(f) for f in ours] == [_label(f) for f in theirs]
    for mine, real in zip(ours, theirs, strict=True):
        if mine.content_type == "text/event-plain":
            assert _names(mine) == _names(real), _label(mine)
            m, r = parse_event(mine), parse_event(real)
            assert {h: m.get(h) for h in VALUE_HEADERS} == {h: r.get(h) for h in VALUE_HEADERS}, (
                _label(mine)
            )


def _event(frames: list[Frame], label: str) -> Event:
    return next(parse_event(f) for f in frames if _label(f) == label)


def _vars(ev: Event, names: list[str]) -> dict[str, str | None]:
    return {n: ev.get(f"variable_{n}") for n in names}


BRIDGE_END_VARS = [
    "bridge_hangup_cause",
    "last_bridge_hangup_cause",
    "last_bridge_proto_specific_hangup_cause",
    "sip_hangup_phrase",
    "originate_disposition",
    "DIALSTATUS",
    "originate_failed_cause",
]


def _b_script(bridge_arg: str, then: Callable[[ControllerConn], None] | None = None):
    """Node B's controller as captured: answer, bridge to A, then `then`."""

    def script(conn: ControllerConn) -> None:
        conn.command("connect")
        conn.command("myevents")
        conn.command("linger")
        conn.execute("answer", lock=False)
        conn.wait_complete("answer")
        conn.execute("bridge", bridge_arg, lock=False)
        conn.wait_complete("bridge", timeout=30)
        if then is not None:
            then(conn)

    return script


def _after_bridge_play_and_hang_up(conn: ControllerConn) -> None:
    conn.execute("playback", "tone_stream://%(200,0,800)", lock=False)
    conn.wait_complete("playback")
    conn.send("sendmsg", [("call-command", "hangup"), ("hangup-cause", "NORMAL_CLEARING")])
    _exit_after_linger_notice(conn)


def _exit_after_linger_notice(conn: ControllerConn) -> None:
    conn.wait(
        lambda: any(f.content_type == "text/disconnect-notice" for f in conn.frames),
        10,
        "linger notice",
    )
    conn.command("exit")
    conn.wait(lambda: conn.closed, 5, "close")


def _a_script(hang_up_after_conference: bool = True):
    """Node A's controller as captured: answer, conference by role, hang up after."""

    def script(conn: ControllerConn) -> None:
        reply = conn.command("connect")
        role = unquote(reply.get("variable_sip_h_X-Fsconf-Role", ""))
        conn.command("myevents")
        conn.command("linger")
        conn.execute("answer", lock=False)
        conn.wait_complete("answer")
        flags = "+flags{moderator}" if role == "moderator" else ""
        conn.execute("conference", f"fsconf-123456@fsconf{flags}", lock=False)
        if not hang_up_after_conference:
            return
        conn.wait_complete("conference", timeout=30)
        conn.send("sendmsg", [("call-command", "hangup"), ("hangup-cause", "NORMAL_CLEARING")])
        _exit_after_linger_notice(conn)

    return script


def _dtmf(conn: ControllerConn) -> list[tuple[str | None, str | None, str | None]]:
    return [
        (e.get("DTMF-Digit"), e.get("DTMF-Source"), e.get("DTMF-Duration"))
        for e in conn.events
        if e.name == "DTMF"
    ]


# --- pure parts ------------------------------------------------------------------------


def test_sofia_url_and_sip_mappings() -> None:
    assert parse_sofia_url(ROOM_URL) == ("internal", "fsconf-room-123456", "127.0.0.1:5080")
    assert parse_sofia_url("sofia/internal/1000@10.0.0.9") == ("internal", "1000", "10.0.0.9:5060")
    assert parse_sofia_url("sofia/gateway/trunk/0612345678") is None
    assert parse_sofia_url("loopback/1000/default") is None
    # captured final responses (dir 4) and DIALSTATUS spellings
    assert final_status("NO_ROUTE_DESTINATION") == 404
    assert final_status("CALL_REJECTED") == 603
    assert final_status("NORMAL_CLEARING") == 480
    assert dial_status("CALL_REJECTED") == "DONTCALL"
    assert dial_status("NO_ANSWER") == "NOANSWER"
    assert dial_status("NORMAL_TEMPORARY_FAILURE") == "NORMAL_TEMPORARY_FAILURE"
    assert continues_on_fail("true", "NO_ANSWER")
    assert continues_on_fail("USER_BUSY,NO_ANSWER", "NO_ANSWER")
    assert not continues_on_fail("USER_BUSY", "NO_ANSWER")
    assert not continues_on_fail(None, "NO_ANSWER")


def test_originate_timeout_counts_whole_seconds() -> None:
    # Started 0.65 s into a second: originate_timeout=5 fires after 4.35 s (captured).
    assert originate_wait_s("5", 1000.65) == pytest.approx(4.35)
    assert originate_wait_s("5", 1000.0) == 5.0
    assert originate_wait_s(None, 1000.0) == 60.0
    assert originate_wait_s("soon", 1000.0) == 60.0


def test_rfc2833_pacing_is_the_captured_one() -> None:
    first = first_dtmf_delay(100.0, None)
    second = first_dtmf_delay(100.0, first)
    third = first_dtmf_delay(100.0, second)
    assert [round(t - 100.0, 2) for t in (first, second, third)] == [0.29, 0.93, 1.57]
    # a digit long after the last one is not held back
    assert first_dtmf_delay(200.0, third) == 200.0 + DTMF_FIRST_S
    assert DTMF_SPACING_S == 0.64


def test_node_option_parses_port_and_own_variables() -> None:
    assert parse_node("8022,local_ip_v4=127.0.0.2,fsconf_controller=127.0.0.1:8095") == (
        8022,
        {"local_ip_v4": "127.0.0.2", "fsconf_controller": "127.0.0.1:8095"},
    )
    assert parse_node("8021") == (8021, {})
    for bad in ("", "0", "70000", "x,a=b", "8021,novalue", "8021,=v"):
        with pytest.raises(NodeSpecError):
            parse_node(bad)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            ["--node", "8021,oops"],
            "fsconf sim: --node takes PORT,VAR=VALUE,...; 'oops' is not VAR=VALUE",
        ),
        (["--node", "8021", "--node", "8021"], "fsconf sim: two --node options have the same port"),
    ],
)
def test_fsconf_sim_refuses_a_bad_node_in_one_line(argv: list[str], message: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "fsconf.sim", *argv], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [message]


# --- conformance ---------------------------------------------------------------------


def test_bridge_connect_data_dtmf_and_normal_end_match_capture(make_node, driver_for) -> None:
    a_ctl = Controller(_a_script())
    b_ctl = Controller(_b_script("{" + HEADERS + "}" + ROOM_URL, _after_bridge_play_and_hang_up))
    node_a = make_node(A_IP, a_ctl)
    node_b = make_node(B_IP, b_ctl)
    caller = driver_for(node_b).place_call("0201234567", "0612345001", "Anna", context="default")
    a_ctl_conn = a_ctl.wait_conn()
    a_ctl_conn.wait(
        lambda: any(e.get("Application") == "conference" for e in a_ctl_conn.events),
        10,
        "conference on A",
    )
    b_conn = b_ctl.conns[0]
    b_conn.wait(lambda: any(e.name == "CHANNEL_BRIDGE" for e in b_conn.events), 10, "bridge")

    caller.send_dtmf("*1#")
    a_ctl_conn.wait(lambda: len(_dtmf(a_ctl_conn)) == 3, 10, "DTMF on A")
    assert _dtmf(a_ctl_conn) == [("*", "RTP", "2080"), ("1", "RTP", "2080"), ("#", "RTP", "2080")]
    assert _dtmf(b_conn) == [
        ("*", "UNKNOWN", "2000"),
        ("1", "UNKNOWN", "2000"),
        ("#", "UNKNOWN", "2000"),
    ]
    # The conference on A sees B's caller with the SIP From's caller id.
    d_a = driver_for(node_a)
    members = d_a.conference_json("fsconf-123456")
    assert members is not None
    member = members[0]["members"][0]  # type: ignore[index]
    assert (member["caller_id_name"], member["caller_id_number"]) == ("Anna", "0612345001")
    # Each node's Event Socket shows its own calls only.
    assert d_a.api("conference list").startswith("+OK Conference fsconf-123456 (1 member")
    # A's conference API shows the SIP leg as captured (README finding 11, 12).
    a_leg = unquote(a_ctl_conn.replies[0]["Unique-ID"])
    assert d_a.api("conference fsconf-123456 list") == (
        f"1;sofia/internal/0612345001@127.0.0.2;{a_leg};Anna;0612345001;"
        "hear|speak|floor|moderator;0;0;0\n"
    )
    assert d_a.api("conference fsconf-123456 mute 1") == "+OK mute 1\n"
    assert d_a.api("conference fsconf-123456 unmute 1") == "+OK unmute 1\n"
    assert driver_for(node_b).api("conference list") == "+OK No active conferences.\n"

    assert d_a.api("conference fsconf-123456 kick all") == "+OK kicked 1\n"
    b_conn.wait(lambda: b_conn.closed, 15, "B controller done")
    a_ctl_conn.wait(lambda: a_ctl_conn.closed, 15, "A controller done")
    assert not node_a.sip.dialogs and not node_b.sip.dialogs  # nothing kept per call

    # A: the SIP leg's connect data, header for header, and its whole event sequence.
    ours_a, theirs_a = _frames(a_ctl_conn), _captured(f"{RUN1}/A_out_call1_anna.recv.raw")
    assert _names_of_reply(ours_a[0]) == _names_of_reply(theirs_a[0])
    connect = {k: unquote(v) for k, v in ours_a[0].headers.items()}
    assert connect["Channel-Name"] == "sofia/internal/0612345001@127.0.0.2"
    assert connect["Caller-Context"] == "public"
    assert connect["Caller-Destination-Number"] == "fsconf-room-123456"
    assert connect["Caller-Network-Addr"] == "127.0.0.2"
    assert connect["Answer-State"] == "ringing"
    assert connect["Channel-Call-State"] == "RINGING"
    for name, value in (
        ("sip_h_X-Fsconf-Room", "123456"),
        ("sip_h_X-Fsconf-Role", "moderator"),
        ("sip_h_X-Fsconf-Epoch", "7"),
        ("sip_from_user", "0612345001"),
        ("sip_req_user", "fsconf-room-123456"),
        ("sofia_profile_name", "internal"),
        ("endpoint_disposition", "DELAYED NEGOTIATION"),
        ("current_application", "socket"),
    ):
        assert connect[f"variable_{name}"] == value
    assert _seq(ours_a[1:]) == _seq(theirs_a[1:])
    for mine, real in zip(ours_a[1:], theirs_a[1:], strict=True):
        if mine.content_type == "text/event-plain":
            assert _names(mine) == _names(real), _label(mine)

    # B: from the bridge on (bridge, DTMF, the far side's hang-up, playback, hang-up).
    ours_b = _from_bridge(_frames(b_conn))
    theirs_b = _from_bridge(_captured(f"{RUN1}/B_out_call1_anna.recv.raw"))
    _assert_same_events(ours_b, theirs_b)
    bridged = _event(ours_b, "CHANNEL_BRIDGE:")
    leg = bridged.get("Other-Leg-Unique-ID")
    assert leg == bridged.get("Bridge-B-Unique-ID")
    assert bridged.get("Other-Leg-Channel-Name") == ROOM_URL
    assert _vars(bridged, ["originate_disposition", "DIALSTATUS"]) == {
        "originate_disposition": "SUCCESS",
        "DIALSTATUS": "SUCCESS",
    }
    done = _event(ours_b, "CHANNEL_EXECUTE_COMPLETE:bridge")
    assert _vars(done, BRIDGE_END_VARS) == _vars(
        _event(theirs_b, "CHANNEL_EXECUTE_COMPLETE:bridge"), BRIDGE_END_VARS
    )
    assert _vars(done, ["bridge_uuid", "last_bridge_to", "signal_bond"]) == {
        "bridge_uuid": leg,
        "last_bridge_to": leg,
        "signal_bond": leg,
    }
    assert done.get("variable_originated_legs") == f"{leg};Outbound Call;fsconf-room-123456"
    assert (
        _event(ours_b, "CHANNEL_EXECUTE_COMPLETE:playback").get("Application-Response")
        == "FILE PLAYED"
    )


def test_far_node_killed_ends_bridge_by_media_timeout_only(make_node, driver_for) -> None:
    with_timeout = "{media_timeout=3000," + HEADERS + "}" + ROOM_URL
    without = "{" + HEADERS + "}" + ROOM_URL
    a_ctl = Controller(_a_script(hang_up_after_conference=False))
    b_scripts: list[Callable[[ControllerConn], None]] = [
        _b_script(with_timeout),
        _b_script(without),
    ]
    b_ctl = Controller(lambda conn: b_scripts[len(b_ctl.conns) - 1](conn))
    node_a = make_node(A_IP, a_ctl)
    node_b = make_node(B_IP, b_ctl)
    d_b = driver_for(node_b)
    calls = []
    for n, name in ((1, "Bert"), (2, "Carla")):
        calls.append(d_b.place_call("0201234567", f"061234500{n}", name, context="default"))
        conn = b_ctl.wait_conn(n)
        conn.wait(lambda c=conn: any(e.name == "CHANNEL_BRIDGE" for e in c.events), 10, "bridge")
    a_conns = list(a_ctl.conns)
    b_timed, b_plain = b_ctl.conns[0], b_ctl.conns[1]
    sip_leg_plain = next(e for e in b_plain.events if e.name == "CHANNEL_BRIDGE").get(
        "Other-Leg-Unique-ID"
    )
    killed_at = node_b.clock.monotonic()
    node_a.kill()

    # A's controllers: plain EOF, nothing more (no disconnect notice, no event).
    for conn in a_conns:
        conn.wait(lambda c=conn: c.closed, 5, "EOF on A's controller socket")
        assert not any(f.content_type == "text/disconnect-notice" for f in conn.frames)
    # (on frames: the controller script takes the EXECUTE_COMPLETE out of conn.events)
    b_timed.wait(lambda: _seen(b_timed, "CHANNEL_EXECUTE_COMPLETE:bridge"), 15, "media timeout")
    assert node_b.clock.monotonic() - killed_at >= 3.0
    ours = _from_bridge(_frames(b_timed))
    theirs = _from_bridge(
        _captured("2_owner_node_sigkill_media_timeout_rehome/B_out_call2_bert.recv.raw")
    )
    n = len(ours)
    assert n == 4  # EXECUTE, BRIDGE, UNBRIDGE, EXECUTE_COMPLETE: the caller stays up
    _assert_same_events(ours, theirs[:n])
    done = _event(ours, "CHANNEL_EXECUTE_COMPLETE:bridge")
    assert _vars(done, BRIDGE_END_VARS) == _vars(
        _event(theirs, "CHANNEL_EXECUTE_COMPLETE:bridge"), BRIDGE_END_VARS
    )
    assert done.get("variable_bridge_hangup_cause") == "MEDIA_TIMEOUT"
    assert done.get("Answer-State") == "answered"
    # Without a media timeout B notices nothing: that bridge is still up.
    assert d_b.api(f"uuid_exists {sip_leg_plain}") == "true"
    assert not any(e.name == "CHANNEL_UNBRIDGE" for e in b_plain.events)

    # A restarts; the caller whose bridge ended is bridged again (a new epoch) and the
    # new A process hands it to its controller with fresh member ids.
    a2_ctl = Controller(_a_script(hang_up_after_conference=False))
    node_a2 = make_node(A_IP, a2_ctl)
    b_timed.execute("bridge", without.replace("Epoch=7", "Epoch=8"), lock=False)
    conn = a2_ctl.wait_conn()
    conn.wait(lambda: bool(conn.replies), 5, "the connect reply")  # accepted is not yet read
    assert unquote(conn.replies[0].get("variable_sip_h_X-Fsconf-Epoch", "")) == "8"
    conn.wait(lambda: any(e.get("Application") == "conference" for e in conn.events), 10, "conf")
    d_a2 = driver_for(node_a2)
    d_a2.wait_for(lambda: "(1 member" in d_a2.api("conference list"), 5, "member on new A")
    assert d_a2.api("conference fsconf-123456 list").startswith("1;")
    # The stale leg is ended by hand (uuid_kill on B): its bridge returns NORMAL_CLEARING.
    assert d_b.api(f"uuid_kill {sip_leg_plain}") == "+OK\n"
    b_plain.wait(lambda: _seen(b_plain, "CHANNEL_EXECUTE_COMPLETE:bridge"), 5, "end")
    done = _event(_frames(b_plain), "CHANNEL_EXECUTE_COMPLETE:bridge")
    assert _seen(b_plain, "CHANNEL_UNBRIDGE:")
    assert done.get("variable_bridge_hangup_cause") == "NORMAL_CLEARING"

    # B's controller hangs its re-homed caller up during the bridge (README finding 25):
    # B's bridge unwinds as captured, A's leg ends NORMAL_CLEARING (BYE, 200).
    b_timed.send("sendmsg", [("call-command", "hangup"), ("hangup-cause", "NORMAL_CLEARING")])
    _exit_after_linger_notice(b_timed)

    def last_bridge(frames: list[Frame]) -> list[Frame]:
        labels = [_label(f) for f in frames]
        start = len(labels) - 1 - labels[::-1].index("CHANNEL_EXECUTE:bridge")
        skip = ("CHANNEL_PARK:", "text/disconnect-notice")  # racy in the captures
        return [f for f in frames[start:] if _label(f) not in skip]

    ours = last_bridge(_frames(b_timed))
    theirs = last_bridge(
        _captured("2_owner_node_sigkill_media_timeout_rehome/B_out_call2_bert.recv.raw")
    )
    _assert_same_events(ours, theirs)
    conn.wait(lambda: _seen(conn, "CHANNEL_HANGUP:"), 5, "A's leg hung up")
    a_hangup = _event(_frames(conn), "CHANNEL_HANGUP:")
    assert a_hangup.get("Hangup-Cause") == "NORMAL_CLEARING"
    assert _vars(a_hangup, ["sip_term_status", "sip_term_cause"]) == {
        "sip_term_status": "200",
        "sip_term_cause": "16",
    }
    for call in calls:
        call.hangup()


@pytest.mark.parametrize(
    ("capture", "continue_on_fail"),
    [("B_out_call7a_anna", False), ("B_out_call7b_bert", True)],
)
def test_bridge_to_a_node_that_is_down(make_node, driver_for, capture, continue_on_fail) -> None:
    def then(conn: ControllerConn) -> None:
        if continue_on_fail:
            conn.execute("playback", "tone_stream://%(200,0,800)", lock=False)
            conn.wait_complete("playback")
            conn.send("sendmsg", [("call-command", "hangup"), ("hangup-cause", "NORMAL_CLEARING")])
        _exit_after_linger_notice(conn)

    def script(conn: ControllerConn) -> None:
        conn.command("connect")
        conn.command("myevents")
        conn.command("linger")
        if continue_on_fail:
            conn.execute("set", "continue_on_fail=true", lock=False)
            conn.wait_complete("set")
        conn.execute("answer", lock=False)
        conn.wait_complete("answer")
        started.append(node_b.clock.monotonic())
        conn.execute("bridge", "{" + HEADERS + "}" + ROOM_URL, lock=False)
        conn.wait_complete("bridge", timeout=10)
        ended.append(node_b.clock.monotonic())
        then(conn)

    started: list[float] = []
    ended: list[float] = []
    b_ctl = Controller(script)
    node_b = make_node(B_IP, b_ctl)  # node A is not running: 127.0.0.1:5080 is closed
    driver_for(node_b).place_call("0201234567", "0612345001", "Anna", context="default")
    conn = b_ctl.wait_conn()
    conn.wait(lambda: conn.closed, 10, "controller done")
    assert ended[0] - started[0] >= 0.041
    ours = _from_bridge(_frames(conn))
    theirs = _from_bridge(_captured(f"3_bridge_to_down_node/{capture}.recv.raw"))
    _assert_same_events(ours, theirs)
    done = _event(ours, "CHANNEL_EXECUTE_COMPLETE:bridge")
    real = _event(theirs, "CHANNEL_EXECUTE_COMPLETE:bridge")
    assert _vars(done, BRIDGE_END_VARS) == _vars(real, BRIDGE_END_VARS)
    assert done.get("variable_last_bridge_proto_specific_hangup_cause") == "sip:503"
    assert done.get("variable_bridge_hangup_cause") is None
    assert (done.get("Answer-State") == "hangup") is not continue_on_fail


def _b_failing_bridge_script(
    bridge_arg: str, times: list[float], clock_of: Callable[[], Simulator]
) -> Callable[[ControllerConn], None]:
    """B's controller of dirs 3 and 4: answer, continue_on_fail, bridge, hang up, exit."""

    def script(conn: ControllerConn) -> None:
        conn.command("connect")
        conn.command("myevents")
        conn.command("linger")
        conn.execute("answer", lock=False)
        conn.wait_complete("answer")
        conn.execute("set", "continue_on_fail=true", lock=False)
        conn.wait_complete("set")
        times.append(clock_of().clock.monotonic())
        conn.execute("bridge", bridge_arg, lock=False)
        conn.wait_complete("bridge", timeout=30)
        times.append(clock_of().clock.monotonic())
        conn.send("sendmsg", [("call-command", "hangup"), ("hangup-cause", "NORMAL_CLEARING")])
        _exit_after_linger_notice(conn)

    return script


@pytest.mark.parametrize(
    ("capture", "timeout_var", "cause", "min_s", "max_s"),
    [
        ("B_out_call7c_carla", "", "RECOVERY_ON_TIMER_EXPIRE", 32.0, None),
        ("B_out_call7d_dirk", "originate_timeout=5,", "NO_ANSWER", 4.0, 32.0),
    ],
)
def test_bridge_to_a_host_that_never_answers(
    make_node, driver_for, capture: str, timeout_var: str, cause: str, min_s: float, max_s
) -> None:
    times: list[float] = []
    nodes: list[Simulator] = []
    arg = "{" + timeout_var + HEADERS + "}" + ROOM_URL
    b_ctl = Controller(_b_failing_bridge_script(arg, times, lambda: nodes[0]))
    nodes.append(make_node(B_IP, b_ctl))
    nodes[0].sip.fabric.black_hole("127.0.0.1:5080")
    driver_for(nodes[0]).place_call("0201234567", "0612345001", "Anna", context="default")
    conn = b_ctl.wait_conn()
    conn.wait(lambda: conn.closed, 30, "B controller done")
    elapsed = times[1] - times[0]
    assert elapsed >= min_s
    if max_s is not None:
        assert elapsed < max_s  # the originate timeout, not Timer B
    ours = _from_bridge(_frames(conn))
    theirs = _from_bridge(_captured(f"3_bridge_to_down_node/{capture}.recv.raw"))
    _assert_same_events(ours, theirs)
    done = _event(ours, "CHANNEL_EXECUTE_COMPLETE:bridge")
    real = _event(theirs, "CHANNEL_EXECUTE_COMPLETE:bridge")
    assert _vars(done, BRIDGE_END_VARS) == _vars(real, BRIDGE_END_VARS)
    assert done.get("variable_originate_disposition") == cause


@pytest.mark.parametrize(
    ("capture", "room", "a_refuses", "a_listens"),
    [
        ("B_out_call4a_anna", "fsconf-room-123456", False, False),
        ("B_out_call4b_bert", "fsconf-nosuch", False, True),
        ("B_out_call4c_carla", "fsconf-room-123456", True, True),
    ],
)
def test_far_node_up_but_refusing(
    make_node, driver_for, capture: str, room: str, a_refuses: bool, a_listens: bool
) -> None:
    """A is up but its controller is not listening (480), its dialplan has no route (404)
    or its controller hangs up CALL_REJECTED before answering (603)."""

    def a_script(conn: ControllerConn) -> None:
        conn.command("connect")
        conn.command("myevents")
        conn.command("linger")
        if a_refuses:
            conn.send("sendmsg", [("call-command", "hangup"), ("hangup-cause", "CALL_REJECTED")])

    a_ctl = Controller(a_script)
    if a_listens:
        make_node(A_IP, a_ctl)
    else:  # A runs, but nothing listens where its socket app connects
        make_node(A_IP, None, global_vars={"fsconf_controller": "127.0.0.1:1"})
    times: list[float] = []
    nodes: list[Simulator] = []
    arg = "{" + HEADERS + "}" + ROOM_URL.replace("fsconf-room-123456", room)
    b_ctl = Controller(_b_failing_bridge_script(arg, times, lambda: nodes[0]))
    nodes.append(make_node(B_IP, b_ctl))
    driver_for(nodes[0]).place_call("0201234567", "0612345001", "Anna", context="default")
    conn = b_ctl.wait_conn()
    conn.wait(lambda: conn.closed, 10, "B controller done")
    assert times[1] - times[0] >= 0.04  # INVITE and final response: a hop each
    ours = _from_bridge(_frames(conn))
    theirs = _from_bridge(_captured(f"4_extra_failures_with_A_up/{capture}.recv.raw"))
    _assert_same_events(ours, theirs)
    done = _event(ours, "CHANNEL_EXECUTE_COMPLETE:bridge")
    real = _event(theirs, "CHANNEL_EXECUTE_COMPLETE:bridge")
    assert _vars(done, BRIDGE_END_VARS) == _vars(real, BRIDGE_END_VARS)
    assert done.get("Answer-State") == "answered"  # continue_on_fail: the caller stays


def test_far_node_shut_down_gracefully(make_node, driver_for) -> None:
    """A stops (fsctl shutdown): its legs hang up and send BYE; B's bridge ends
    NORMAL_CLEARING, sip:200 whatever A's cause, and the caller stays up."""
    times: list[float] = []
    nodes: list[Simulator] = []
    a_ctl = Controller(_a_script(hang_up_after_conference=False))
    node_a = make_node(A_IP, a_ctl)
    arg = "{" + HEADERS + "}" + ROOM_URL
    b_ctl = Controller(_b_failing_bridge_script(arg, times, lambda: nodes[0]))
    nodes.append(make_node(B_IP, b_ctl))
    driver_for(nodes[0]).place_call("0201234567", "0612345001", "Anna", context="default")
    conn = b_ctl.wait_conn()
    conn.wait(lambda: _seen(conn, "CHANNEL_BRIDGE:"), 10, "bridge")
    a_conn = a_ctl.wait_conn()
    a_conn.wait(lambda: _seen(a_conn, "CHANNEL_EXECUTE:conference"), 10, "conference on A")
    node_a.stop()
    conn.wait(lambda: conn.closed, 10, "B controller done")
    ours = _from_bridge(_frames(conn))
    theirs = _from_bridge(_captured("4_extra_failures_with_A_up/B_out_call4d_eva.recv.raw"))
    _assert_same_events(ours, theirs)
    done = _event(ours, "CHANNEL_EXECUTE_COMPLETE:bridge")
    real = _event(theirs, "CHANNEL_EXECUTE_COMPLETE:bridge")
    assert _vars(done, BRIDGE_END_VARS) == _vars(real, BRIDGE_END_VARS)
    assert done.get("Answer-State") == "answered"


def test_loopback_caller_in_l16_is_refused_488(make_node, driver_for) -> None:
    """Run 0: without loopback_initial_codec the loopback caller is L16, B offers only
    that, A's `answer` fails (INCOMPATIBLE_DESTINATION, 488) and B's caller hangs up."""
    a_ctl = Controller(_a_script(hang_up_after_conference=False))
    make_node(A_IP, a_ctl)
    b_ctl = Controller(_b_script("{" + HEADERS + "}" + ROOM_URL, _exit_after_linger_notice))
    node_b = make_node(B_IP, b_ctl, global_vars={"loopback_initial_codec": ""})
    driver_for(node_b).place_call("0201234567", "0612345001", "Anna", context="default")
    b_conn, a_conn = b_ctl.wait_conn(), a_ctl.wait_conn()
    b_conn.wait(lambda: b_conn.closed, 10, "B controller done")
    a_conn.wait(lambda: _seen(a_conn, "CHANNEL_HANGUP_COMPLETE:"), 10, "A leg gone")
    hangup = _event(_frames(a_conn), "CHANNEL_HANGUP:")
    assert hangup.get("Hangup-Cause") == "INCOMPATIBLE_DESTINATION"
    assert hangup.get("variable_endpoint_disposition") == "CODEC NEGOTIATION ERROR"
    run0 = "0_codec_mismatch_L16_488"
    theirs_a = [
        f
        for f in _captured(f"{run0}/A_out_call1_anna.recv.raw")[4:]
        if _label(f) != "CHANNEL_PARK:"
    ]
    ours_a = [f for f in _frames(a_conn)[4:] if _label(f) != "CHANNEL_PARK:"]
    n = len([f for f in theirs_a if f.content_type == "text/event-plain"])
    _assert_same_events(ours_a[:n], theirs_a[:n])
    ours = _from_bridge(_frames(b_conn))
    theirs = _from_bridge(_captured(f"{run0}/B_out_call1_anna.recv.raw"))
    n = len([f for f in theirs if f.content_type == "text/event-plain"])
    _assert_same_events(ours[:n], theirs[:n])
    done = _event(ours, "CHANNEL_EXECUTE_COMPLETE:bridge")
    real = _event(theirs, "CHANNEL_EXECUTE_COMPLETE:bridge")
    assert _vars(done, BRIDGE_END_VARS) == _vars(real, BRIDGE_END_VARS)
    assert done.get("variable_last_bridge_proto_specific_hangup_cause") == "sip:488"


# --- scenario --------------------------------------------------------------------------


def test_caller_on_b_bridged_into_conference_on_a_keys_act_on_a(make_node, driver_for) -> None:
    """Two nodes, two controllers: B's controller bridges its caller to A, whose
    controller puts the leg into the room and mutes the member on key 0 (the keys the
    caller presses on B arrive on A's leg)."""

    def a_script(conn: ControllerConn) -> None:
        uuid = conn.command("connect").get("Unique-ID", "")
        conn.command("myevents")
        conn.execute("answer", lock=False)
        conn.wait_complete("answer")
        conn.execute("conference", "fsconf-123456@fsconf", lock=False)
        conn.wait(lambda: any(e.get("DTMF-Digit") == "0" for e in conn.events), 20, "key 0")
        members = node_a.api("conference fsconf-123456 list").splitlines()
        member_id = next(line.split(";")[0] for line in members if uuid in line)
        conn.command(f"api conference fsconf-123456 mute {member_id}")

    a_ctl = Controller(a_script)
    b_ctl = Controller(_b_script("{sip_h_X-Fsconf-Room=123456}" + ROOM_URL))
    node_a = make_node(A_IP, a_ctl)
    node_b = make_node(B_IP, b_ctl)
    d_a, d_b = driver_for(node_a), driver_for(node_b)
    caller = d_b.place_call("0201234567", "0612345009", "Ida", context="default")

    def member() -> dict[str, object] | None:
        rooms = d_a.conference_json("fsconf-123456")
        if not rooms:
            return None
        members = rooms[0]["members"]
        return members[0] if isinstance(members, list) and members else None

    d_a.wait_for(lambda: member() is not None, 10, "B's caller in A's room")
    m = member()
    assert m is not None and m["caller_id_name"] == "Ida"
    assert m["flags"]["can_speak"] is True  # type: ignore[index]
    caller.send_dtmf("0")
    d_a.wait_for(lambda: member()["flags"]["can_speak"] is False, 10, "muted")  # type: ignore[index]
    # B's inbound Event Socket knows nothing of A's conference.
    assert d_b.api("conference fsconf-123456 list") == "-ERR Conference fsconf-123456 not found\n"
    # Each node lists its own channels: B the caller's loopback pair and its SIP leg out,
    # A only the SIP leg in; no event of one node reaches the other's Event Socket.
    b_names = {row["name"] for row in json.loads(d_b.api("show channels as json"))["rows"]}
    a_rows = json.loads(d_a.api("show channels as json"))["rows"]
    assert b_names == {"loopback/0201234567-a", "loopback/0201234567-b", ROOM_URL}
    assert [row["name"] for row in a_rows] == ["sofia/internal/0612345009@127.0.0.2"]
    b_uuids = {caller.a_uuid, caller.b_uuid}
    assert not any(e.uuid in b_uuids for e in d_a.events)
    assert not any(e.uuid == a_rows[0]["uuid"] for e in d_b.events)
    assert any(e.uuid in b_uuids for e in d_b.events)
    assert any(e.uuid == a_rows[0]["uuid"] for e in d_a.events)
    caller.hangup()
    d_a.wait_for(lambda: member() is None, 10, "the leg on A ends with B's caller")


# --- helpers ---------------------------------------------------------------------------


def _seen(conn: ControllerConn, label: str) -> bool:
    return any(_label(f) == label for f in conn.frames)


def _names_of_reply(f: Frame) -> list[str]:
    return [h for h in f.headers if not h.startswith("variable_")]


def _seq(frames: list[Frame]) -> list[str]:
    return [_label(f) for f in frames if _label(f) != "CHANNEL_PARK:"]


def test_originate_to_another_node(make_node, driver_for) -> None:
    """`originate sofia/...@<other node>` returns once the far node's controller has
    answered; the leg then runs its application. A node that is down: NORMAL_TEMPORARY_FAILURE."""
    a_ctl = Controller(_a_script(hang_up_after_conference=False))
    node_b = make_node(B_IP, Controller(lambda conn: None))
    d_b = driver_for(node_b)
    url = "{origination_caller_id_number=0612345007,sip_h_X-Fsconf-Room=123456}" + ROOM_URL
    assert d_b.api(f"originate {url} &park()") == "-ERR NORMAL_TEMPORARY_FAILURE\n"
    node_a = make_node(A_IP, a_ctl)
    reply = d_b.api(f"originate {url} &park()")
    assert reply.startswith("+OK ")
    leg = reply[4:].strip()
    conn = a_ctl.wait_conn()
    conn.wait(lambda: bool(conn.replies), 5, "the connect reply")
    connect = {k: unquote(v) for k, v in conn.replies[0].items()}
    assert connect["Caller-Caller-ID-Number"] == "0612345007"
    assert connect["variable_sip_h_X-Fsconf-Room"] == "123456"
    assert connect["Channel-Name"] == "sofia/internal/0612345007@127.0.0.2"
    d_a = driver_for(node_a)
    d_a.wait_for(lambda: "(1 member" in d_a.api("conference list"), 5, "member on A")
    # The far side's hang-up ends the originated leg on B.
    assert d_a.api("hupall NORMAL_CLEARING").startswith("+OK")
    d_b.wait_for(lambda: d_b.api(f"uuid_exists {leg}") == "false", 5, "leg on B gone")


def test_two_nodes_by_hand_with_fsconf_sim(tmp_path: Path) -> None:
    """`fsconf sim --node ... --node ...` with the project's conf: the second node reaches
    the first one's profile "internal" (port 5090, context fsconf_internal) over SIP, as
    a caller bridged to a room's owner does; the shipped ACL admits loopback nodes."""
    from fsconf.sim.core import free_port
    from fsconf.testing.driver import CallDriver

    answered: list[tuple[str, str]] = []

    def script(conn: ControllerConn) -> None:
        reply = conn.command("connect")
        answered.append(
            (
                unquote(reply.get("Caller-Caller-ID-Number", "")),
                unquote(reply.get("Caller-Context", "")),
            )
        )
        conn.execute("answer", lock=False)
        conn.wait_complete("answer")

    ctl = Controller(script)
    port_a, port_b = free_port(), free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "fsconf.sim",
            "--speed",
            "20",
            "--set",
            "fsconf_esl_password=ClueCon",
            "--node",
            f"{port_a},local_ip_v4=127.0.0.1,fsconf_controller={ctl.address}",
            "--node",
            f"{port_b},local_ip_v4=127.0.0.2,fsconf_controller=127.0.0.1:1",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert proc.stdout is not None
        lines = [proc.stdout.readline().strip() for _ in range(2)]
        assert lines == [
            f"fsconf simulator on 127.0.0.1:{port_a}"
            " (SIP external=127.0.0.1:5080 internal=127.0.0.1:5090)",
            f"fsconf simulator on 127.0.0.1:{port_b}"
            " (SIP external=127.0.0.2:5080 internal=127.0.0.2:5090)",
        ]
        d_b = CallDriver("127.0.0.1", port_b, "ClueCon", timeout=10)
        try:
            reply = d_b.api(
                "originate {origination_caller_id_number=0612345001}"
                "sofia/internal/fsconf-room-123456@127.0.0.1:5090 &park()"
            )
            assert reply.startswith("+OK "), reply
            assert answered == [("0612345001", "fsconf_internal")]
            # Anything but a room leg is refused by the context (CALL_REJECTED, 603).
            assert (
                d_b.api("originate sofia/internal/0201234567@127.0.0.1:5090 &park()")
                == "-ERR CALL_REJECTED\n"
            )
        finally:
            d_b.close()
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        ctl.stop()


# --- DTMF from the owner's side, hangup_after_bridge, the near node killed, the ACL ---


def _dtmf_events(events: list[Event], uuid: str | None) -> list[Event]:
    return [e for e in events if e.name == "DTMF" and e.uuid == uuid]


def test_dtmf_sent_on_the_owners_leg_reaches_the_caller_side(make_node, driver_for) -> None:
    """Not captured (only B->A was); modelled from the source: uuid_send_dtmf on A's SIP
    leg *sends* (RFC 2833 to B, no event on A); B's SIP leg queues it and its bridge
    thread dequeues it (DTMF event there: RTP, 2080) and sends it to the bridged caller
    channel; mod_loopback queues it on the parked a-leg, whose park dequeues it (event
    there, source and duration carried over). B's controller, on loopback-b with
    myevents, sees no DTMF; neither does A's controller."""
    a_ctl = Controller(_a_script(hang_up_after_conference=False))
    b_ctl = Controller(_b_script("{" + HEADERS + "}" + ROOM_URL))
    node_a = make_node(A_IP, a_ctl)
    node_b = make_node(B_IP, b_ctl)
    d_a, d_b = driver_for(node_a), driver_for(node_b)
    caller = d_b.place_call("0201234567", "0612345001", "Anna", context="default")
    b_conn, a_conn = b_ctl.wait_conn(), a_ctl.wait_conn()
    b_conn.wait(lambda: _seen(b_conn, "CHANNEL_BRIDGE:"), 10, "bridge")
    a_conn.wait(lambda: _seen(a_conn, "CHANNEL_EXECUTE:conference"), 10, "conference on A")
    sip_leg_b = _event(_frames(b_conn), "CHANNEL_BRIDGE:").get("Other-Leg-Unique-ID")
    a_leg = unquote(a_conn.replies[0]["Unique-ID"])

    sent_at = time.time()  # event stamps are wall time; the sim runs SPEED times faster
    assert d_a.api(f"uuid_send_dtmf {a_leg} 5#") == f"+OK {a_leg} sent DTMF 5#.\n"
    d_b.wait_for(lambda: caller.received == ["5", "#"], 10, "keys at the caller's a-leg")

    on_leg = _dtmf_events(d_b.events, sip_leg_b)
    on_caller = _dtmf_events(d_b.events, caller.a_uuid)
    for events in (on_leg, on_caller):
        assert [
            (e.get("DTMF-Digit"), e.get("DTMF-Source"), e.get("DTMF-Duration")) for e in events
        ] == [("5", "RTP", "2080"), ("#", "RTP", "2080")]
        assert {e.get("Event-Calling-Function") for e in events} == {"switch_channel_dequeue_dtmf"}
    # each digit passes the SIP leg first, then the caller's leg
    order = [e.uuid for e in d_b.events if e.name == "DTMF"]
    assert order == [sip_leg_b, caller.a_uuid, sip_leg_b, caller.a_uuid]
    # RFC 2833 pacing, as captured in the other direction: +0.29 s, then 0.64 s apart
    # (in simulated seconds; a millisecond of scheduling jitter is SPEED ms of them)
    stamps = [int(e.get("Event-Date-Timestamp") or 0) / 1e6 for e in on_leg]
    assert 0.2 <= (stamps[0] - sent_at) * SPEED <= 0.8
    assert (stamps[1] - stamps[0]) * SPEED == pytest.approx(0.64, abs=0.25)
    assert caller.dtmf == []  # nothing on loopback-b: the service heard no key
    assert _dtmf(b_conn) == [] and _dtmf(a_conn) == []
    assert not any(e.name == "DTMF" for e in d_a.events)
    caller.hangup()


def test_hangup_after_bridge_hangs_the_caller_up_with_the_far_cause(make_node, driver_for) -> None:
    """fsconf never sets it; the captures show the caller staying up after the bridge
    (FINDINGS 16, checked in the first test). With it set, switch_ivr_multi_threaded_bridge
    hangs the caller up after CHANNEL_UNBRIDGE with the far leg's cause, so the hang-up
    comes before the bridge's EXECUTE_COMPLETE (as for a failed bridge, FINDINGS 27)."""
    a_ctl = Controller(_a_script())
    arg = "{" + HEADERS + "}" + ROOM_URL

    def b_script(conn: ControllerConn) -> None:
        conn.command("connect")
        conn.command("myevents")
        conn.command("linger")
        conn.execute("set", "hangup_after_bridge=true", lock=False)
        conn.wait_complete("set")
        conn.execute("answer", lock=False)
        conn.wait_complete("answer")
        conn.execute("bridge", arg, lock=False)
        _exit_after_linger_notice(conn)

    b_ctl = Controller(b_script)
    node_a = make_node(A_IP, a_ctl)
    node_b = make_node(B_IP, b_ctl)
    driver_for(node_b).place_call("0201234567", "0612345001", "Anna", context="default")
    b_conn = b_ctl.wait_conn()
    b_conn.wait(lambda: _seen(b_conn, "CHANNEL_BRIDGE:"), 10, "bridge")
    a_conn = a_ctl.wait_conn()
    a_conn.wait(lambda: _seen(a_conn, "CHANNEL_EXECUTE:conference"), 10, "conference on A")
    assert driver_for(node_a).api("conference fsconf-123456 kick all") == "+OK kicked 1\n"
    b_conn.wait(lambda: b_conn.closed, 15, "B controller done")
    seq = [s for s in _seq(_from_bridge(_frames(b_conn))) if s != "text/disconnect-notice"]
    assert seq[:5] == [
        "CHANNEL_EXECUTE:bridge",
        "CHANNEL_BRIDGE:",
        "CHANNEL_UNBRIDGE:",
        "CHANNEL_HANGUP:",
        "CHANNEL_EXECUTE_COMPLETE:bridge",
    ]
    hangup = _event(_frames(b_conn), "CHANNEL_HANGUP:")
    assert hangup.get("Hangup-Cause") == "NORMAL_CLEARING"  # A's BYE, Q.850 16


def test_near_node_killed_far_leg_ends_only_by_its_own_media_timeout(make_node, driver_for) -> None:
    """B (the callers' node) dies while its callers are bridged into A's conference: no
    BYE reaches A. A leg whose controller set media_timeout before answering hangs up
    MEDIA_TIMEOUT once it passed (same RTP timer as B's leg in capture run 2) and unwinds
    as any member hung up does; a leg without one stays in the room, and A's controller
    hears nothing about it. B's controllers get a plain EOF."""
    plain = {"n": 0}

    def a_script(conn: ControllerConn) -> None:
        reply = conn.command("connect")
        conn.command("myevents")
        conn.command("linger")
        if unquote(reply.get("Caller-Caller-ID-Number", "")) == "0612345001":
            conn.execute("set", "media_timeout=3000", lock=False)
            conn.wait_complete("set")
        else:
            plain["n"] += 1
        conn.execute("answer", lock=False)
        conn.wait_complete("answer")
        conn.execute("conference", "fsconf-123456@fsconf", lock=False)

    def b_script(conn: ControllerConn) -> None:  # B dies during the bridge: no waiting
        conn.command("connect")
        conn.command("myevents")
        conn.command("linger")
        conn.execute("answer", lock=False)
        conn.wait_complete("answer")
        conn.execute("bridge", "{" + HEADERS + "}" + ROOM_URL, lock=False)

    a_ctl = Controller(a_script)
    b_ctl = Controller(b_script)
    node_a = make_node(A_IP, a_ctl)
    node_b = make_node(B_IP, b_ctl)
    d_a, d_b = driver_for(node_a), driver_for(node_b)
    for n, name in ((1, "Anna"), (2, "Bert")):
        d_b.place_call("0201234567", f"061234500{n}", name, context="default")
        conn = a_ctl.wait_conn(n)
        conn.wait(lambda c=conn: _seen(c, "CHANNEL_EXECUTE:conference"), 10, "in the room")
    timed, untimed = a_ctl.conns
    d_a.wait_for(lambda: "(2 members" in d_a.api("conference list"), 5, "two members")
    killed_at = node_a.clock.monotonic()
    node_b.kill()

    for conn in b_ctl.conns:
        conn.wait(lambda c=conn: c.closed, 5, "EOF on B's controller socket")
        assert not any(f.content_type == "text/disconnect-notice" for f in conn.frames)
    timed.wait(lambda: _seen(timed, "CHANNEL_HANGUP_COMPLETE:"), 15, "media timeout on A")
    assert node_a.clock.monotonic() - killed_at >= 3.0
    hangup = _event(_frames(timed), "CHANNEL_HANGUP:")
    assert hangup.get("Hangup-Cause") == "MEDIA_TIMEOUT"
    done = _event(_frames(timed), "CHANNEL_HANGUP_COMPLETE:")
    assert done.get("variable_sip_hangup_disposition") == "send_bye"
    # The unwinding is the one a member hung up by its far side shows (capture run 2:
    # A's re-homed leg when B hung up), whatever the cause.
    skip = ("CHANNEL_PARK:", "text/disconnect-notice")

    def from_hangup(frames: list[Frame]) -> list[str]:
        labels = [_label(f) for f in frames]
        end = labels.index("CHANNEL_HANGUP_COMPLETE:") + 1
        return [lb for lb in labels[labels.index("CHANNEL_HANGUP:") : end] if lb not in skip]

    theirs = _captured("2_owner_node_sigkill_media_timeout_rehome/A_out_call2_bert_rehome.recv.raw")
    assert from_hangup(_frames(timed)) == from_hangup(theirs)
    # The leg without a media timeout: still in the room, nothing on its socket.
    assert plain["n"] == 1
    assert not any(_label(f).startswith("CHANNEL_HANGUP") for f in untimed.frames)
    assert not untimed.closed
    d_a.wait_for(lambda: "(1 member" in d_a.api("conference list"), 5, "one member left")
    assert d_a.api(f"uuid_exists {unquote(untimed.replies[0]['Unique-ID'])}") == "true"


def test_internal_profile_refuses_a_node_outside_its_acl(make_sim, driver_for) -> None:
    """The project's conf: profile internal admits only fsconf_nodes. A node at an address
    not listed is answered 403 by sofia before any channel exists on A; its bridge fails
    CALL_REJECTED (sofia_glue_sip_cause_to_freeswitch: 403) and A's controller sees nothing.
    A listed node (the example entry 192.0.2.12) gets through."""
    fabric = SipFabric()
    a_ctl = Controller(_a_script(hang_up_after_conference=False))
    node_a = make_sim(
        a_ctl, global_vars={"local_ip_v4": "192.0.2.11"}, fabric=fabric, race_seed=None
    )
    url = "{" + HEADERS + "}sofia/internal/fsconf-room-123456@192.0.2.11:5090"
    results: dict[str, Event] = {}

    def b_node(ip: str) -> None:
        def script(conn: ControllerConn) -> None:
            conn.command("connect")
            conn.command("myevents")
            conn.execute("set", "continue_on_fail=true", lock=False)
            conn.wait_complete("set")
            conn.execute("answer", lock=False)
            conn.wait_complete("answer")
            conn.execute("bridge", url, lock=False)

            def outcome() -> Event | None:  # bridged, or the bridge app gave up
                for e in conn.events:
                    done = e.name == "CHANNEL_EXECUTE_COMPLETE" and e.get("Application") == "bridge"
                    if done or e.name == "CHANNEL_BRIDGE":
                        return e
                return None

            conn.wait(lambda: outcome() is not None, 10, "bridge outcome")
            ev = outcome()
            assert ev is not None
            results[ip] = ev

        ctl = Controller(script)
        node = make_sim(ctl, global_vars={"local_ip_v4": ip}, fabric=fabric, race_seed=None)
        driver_for(node).place_call("0201234567", "0612345001", "Anna")
        ctl.wait_conn().wait(lambda: ip in results, 10, f"bridge from {ip}")

    b_node("203.0.113.7")
    refused = results["203.0.113.7"]
    assert _vars(refused, BRIDGE_END_VARS) == {
        "bridge_hangup_cause": None,
        "last_bridge_hangup_cause": "CALL_REJECTED",
        "last_bridge_proto_specific_hangup_cause": "sip:403",
        "sip_hangup_phrase": "Forbidden",
        "originate_disposition": "CALL_REJECTED",
        "DIALSTATUS": "DONTCALL",
        "originate_failed_cause": "CALL_REJECTED",
    }
    assert a_ctl.conns == []
    assert driver_for(node_a).api("show channels").startswith("\n0 total")
    assert refused.name == "CHANNEL_EXECUTE_COMPLETE"
    b_node("192.0.2.12")
    admitted = results["192.0.2.12"]
    assert admitted.name == "CHANNEL_BRIDGE"
    assert admitted.get("variable_originate_disposition") == "SUCCESS"
    assert len(a_ctl.conns) == 1


def test_fsconf_sim_help_says_how_to_run_two_nodes() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "fsconf.sim", "--help"], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0
    lines = done.stdout.splitlines()
    assert any(line.strip().startswith("fsconf sim --node 8021,local_ip_v4=") for line in lines)
    assert any(line.strip().startswith("--node 8022,local_ip_v4=127.0.0.2") for line in lines)
    assert "sofia/internal/fsconf-room-<n>@127.0.0.1:5090" in done.stdout


def test_the_default_originate_timeout_is_a_setting(make_node, driver_for) -> None:
    """Without originate_timeout a bridge waits FreeSWITCH's 60 s; the benchmark stretches
    that default with its clock (SimSettings.originate_timeout_s, --originate-timeout)."""
    assert originate_wait_s(None, 1000.0, default_s=60000.0) == 60000.0
    times: list[float] = []
    nodes: list[Simulator] = []
    arg = "{" + HEADERS + "}" + ROOM_URL
    b_ctl = Controller(_b_failing_bridge_script(arg, times, lambda: nodes[0]))
    nodes.append(make_node(B_IP, b_ctl, originate_timeout_s=5.0))
    nodes[0].sip.fabric.black_hole("127.0.0.1:5080")
    driver_for(nodes[0]).place_call("0201234567", "0612345001", "Anna", context="default")
    conn = b_ctl.wait_conn()
    conn.wait(lambda: conn.closed, 30, "B controller done")
    assert 4.0 <= times[1] - times[0] < 32.0  # the 5 s default, not Timer B
    done = _event(_from_bridge(_frames(conn)), "CHANNEL_EXECUTE_COMPLETE:bridge")
    assert done.get("variable_originate_disposition") == "NO_ANSWER"
