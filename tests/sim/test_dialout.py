"""Dial-out: `originate` to sofia/gateway/<gw>/<number> (simulated far ends from
SimSettings.callees), both as `api` and `bgapi`, into the invite extension that hands the
callee leg to an outbound socket app; and loopback originates into a dialplan extension.
"""

from __future__ import annotations

import socket
import time

import gevent
import pytest
from gevent.event import Event as GEvent

from fsconf.esl.protocol import FrameParser, parse_event
from fsconf.sim import CalleeBehaviour

from .conftest import Controller, ControllerConn

GW = "sofia/gateway/fsconf_trunk"
INVITE = "fsconf_invite XML fsconf"


class InviteApp:
    """Outbound app for invited legs: remembers the connect reply, optionally collects a
    digit with play_and_get_digits."""

    def __init__(self, pagd: bool = False) -> None:
        self.connects: list[dict[str, str]] = []
        self.digits: list[tuple[str | None, str | None]] = []
        self.joined = GEvent()
        self.done = GEvent()

        def script(conn: ControllerConn) -> None:
            self.connects.append(conn.command("connect"))
            conn.command("myevents")
            conn.command("linger")
            self.joined.set()
            if pagd:
                conn.execute("answer")
                conn.execute(
                    "play_and_get_digits",
                    "1 1 1 5000 # conference/conf-pin.wav silence choice \\d 3000",
                )
                ev = conn.wait_complete("play_and_get_digits", 30)
                self.digits.append((ev.get("variable_choice"), ev.get("variable_read_result")))
                self.done.set()
            conn.wait(
                lambda: any(f.content_type == "text/disconnect-notice" for f in conn.frames), 60
            )
            conn.send("exit")

        self.controller = Controller(script)


class Inbound:
    """A raw inbound Event Socket client (bgapi needs BACKGROUND_JOB events)."""

    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.parser = FrameParser()
        self.frames: list = []
        self._read(1)
        self.sock.sendall(b"auth ClueCon\n\nevent plain BACKGROUND_JOB\n\n")
        self._read(3)

    def _read(self, n: int) -> None:
        while len(self.frames) < n:
            data = self.sock.recv(65536)
            assert data, "inbound socket closed"
            self.frames += self.parser.feed(data)

    def submit(self, cmd: str) -> str:
        """Sends `bgapi cmd`; returns its Job-UUID."""
        n = len(self.frames)
        self.sock.sendall(f"bgapi {cmd}\n\n".encode())
        self._read(n + 1)
        return self.frames[n].headers["Job-UUID"]

    def results(self, jobs: list[str], timeout: float = 10.0) -> list[tuple[str, str]]:
        """(Job-UUID, body) of these jobs' BACKGROUND_JOB events, in the order they came."""
        done: list[tuple[str, str]] = []
        seen = 0
        with gevent.Timeout(timeout):
            while len(done) < len(jobs):
                self._read(seen + 1)
                for frame in self.frames[seen:]:
                    if frame.content_type == "text/event-plain":
                        ev = parse_event(frame)
                        if ev.get("Job-UUID") in jobs:
                            assert ev.get("Job-Command") == "originate"
                            done.append((ev.get("Job-UUID") or "", ev.body or ""))
                seen = len(self.frames)
        return done

    def bgapi(self, cmd: str, timeout: float = 10.0) -> tuple[str, float]:
        """Returns the BACKGROUND_JOB body and the seconds it took."""
        start = time.monotonic()
        job = self.submit(cmd)
        [(_, body)] = self.results([job], timeout)
        return body, time.monotonic() - start

    def close(self) -> None:
        self.sock.close()


SPEED = 20.0
# Timers may fire a little early against time.monotonic(); durations are checked as lower
# bounds only (a busy machine makes everything later, never earlier), and the upper ones
# as the order in which concurrent originates finish (test_originates_finish_in_order).
EARLY = 0.5  # simulated seconds
CALLEES = {
    "100": CalleeBehaviour("answer"),
    "101": CalleeBehaviour("busy"),
    "102": CalleeBehaviour("no_answer", ring_s=10),
    "103": CalleeBehaviour("reject"),
    "104": CalleeBehaviour("unallocated"),
    "105": CalleeBehaviour("answer", answer_after_s=4),
    "106": CalleeBehaviour("answer", answer_after_s=40),  # beyond originate_timeout
}
EXPECTED = {
    "101": ("-ERR USER_BUSY\n", 0.0),
    "102": ("-ERR NO_ANSWER\n", 10.0),
    "103": ("-ERR CALL_REJECTED\n", 0.0),
    "104": ("-ERR UNALLOCATED_NUMBER\n", 0.0),
    "106": ("-ERR NO_ANSWER\n", 20.0),  # originate_timeout=20
}


def _vars(**extra: str) -> str:
    pairs = {"fsconf_invite_id": "12", "origination_caller_id_number": "0201234567"}
    pairs.update(extra)
    return "{" + ",".join(f"{k}={v}" for k, v in pairs.items()) + "}"


@pytest.mark.parametrize("via", ["api", "bgapi"])
@pytest.mark.parametrize("number", sorted(EXPECTED))
def test_failed_dialouts_report_the_cause(make_sim, driver_for, via, number) -> None:
    app = InviteApp()
    sim = make_sim(app.controller, callees=CALLEES)
    cmd = f"originate {_vars(originate_timeout='20')}{GW}/{number} {INVITE}"
    start = time.monotonic()
    if via == "api":
        body = driver_for(sim).api(cmd)
        took = time.monotonic() - start
    else:
        inbound = Inbound(sim.port)
        body, took = inbound.bgapi(cmd)
        inbound.close()
    reply, sim_seconds = EXPECTED[number]
    assert body == reply
    assert took * SPEED >= sim_seconds - EARLY
    assert not app.connects  # nobody reached the dialplan


@pytest.mark.parametrize("via", ["api", "bgapi"])
@pytest.mark.parametrize("number,ring", [("100", 0.0), ("105", 4.0)])
def test_answered_dialout_runs_the_invite_extension(make_sim, driver_for, via, number, ring):
    app = InviteApp()
    sim = make_sim(app.controller, callees=CALLEES)
    d = driver_for(sim)
    cmd = f"originate {_vars(originate_timeout='20')}{GW}/{number} {INVITE}"
    start = time.monotonic()
    if via == "api":
        body = d.api(cmd)
    else:
        inbound = Inbound(sim.port)
        body, _ = inbound.bgapi(cmd)
        inbound.close()
    took = time.monotonic() - start
    assert body.startswith("+OK ") and body.endswith("\n") and body.count("\n") == 1
    uuid = body[4:].strip()
    assert took * SPEED >= ring - EARLY
    assert app.joined.wait(5)
    connect = app.connects[0]
    assert connect["Unique-ID"] == uuid
    assert connect["Channel-Name"] == f"{GW}/{number}"
    assert connect["Call-Direction"] == "outbound"
    assert connect["Caller-Destination-Number"] == "fsconf_invite"
    assert connect["Caller-Context"] == "fsconf"
    assert connect["variable_fsconf_invite_id"] == "12"
    assert connect["variable_originate_timeout"] == "20"
    assert connect["Caller-Caller-ID-Number"] == "0201234567"
    assert connect["Answer-State"] == "answered"
    assert d.api(f"uuid_kill {uuid}") == "+OK\n"


def test_originates_finish_in_order_of_their_simulated_durations(make_sim, driver_for) -> None:
    """Started together: failures at once, then the 4 s answer, the 10 s NO_ANSWER of a
    phone that stops ringing, and last the 20 s originate_timeout."""
    app = InviteApp()
    sim = make_sim(app.controller, callees=CALLEES)
    inbound = Inbound(sim.port)
    numbers = ["106", "102", "105", "101", "100", "104", "103"]
    jobs = {
        inbound.submit(f"originate {_vars(originate_timeout='20')}{GW}/{n} {INVITE}"): n
        for n in numbers
    }
    finished = [(jobs[job], body) for job, body in inbound.results(list(jobs))]
    inbound.close()
    order = [n for n, _ in finished]
    assert sorted(order[:4]) == ["100", "101", "103", "104"]
    assert order[4:] == ["105", "102", "106"]
    bodies = dict(finished)
    assert bodies["102"] == bodies["106"] == "-ERR NO_ANSWER\n"
    assert bodies["100"].startswith("+OK ") and bodies["105"].startswith("+OK ")
    d = driver_for(sim)
    for n in ("100", "105"):
        assert d.api(f"uuid_kill {bodies[n][4:].strip()}") == "+OK\n"


def test_originate_api_arguments_cid_and_timeout(make_sim, driver_for) -> None:
    """originate <url> <exten> [dialplan] [context] [cid_name] [cid_num] [timeout]"""
    app = InviteApp()
    sim = make_sim(app.controller, callees=CALLEES)
    d = driver_for(sim)
    start = time.monotonic()
    assert d.api(f"originate {GW}/106 fsconf_invite XML fsconf 'Con Ference' 0101 3") == (
        "-ERR NO_ANSWER\n"
    )
    # its own 3 s, not originate_timeout's 60 (by then it would have answered, at 40)
    assert (time.monotonic() - start) * SPEED >= 3.0 - EARLY
    body = d.api(f"originate {GW}/100 fsconf_invite XML fsconf 'Con Ference' 0101")
    assert body.startswith("+OK ")
    assert app.joined.wait(5)
    assert app.connects[0]["Caller-Caller-ID-Name"] == "Con Ference"
    assert app.connects[0]["Caller-Caller-ID-Number"] == "0101"
    assert d.api(f"originate {GW}/100").startswith("-USAGE")
    fixed = "3f0c8c1e-0000-4000-8000-000000000001"
    assert d.api(f"originate {{origination_uuid={fixed}}}{GW}/100 &park()") == f"+OK {fixed}\n"
    assert d.api(f"uuid_exists {fixed}") == "true"
    d.api(f"uuid_kill {fixed}")


def test_callee_digits_reach_play_and_get_digits(make_sim, driver_for) -> None:
    app = InviteApp(pagd=True)
    callees = {"200": CalleeBehaviour("answer", digits="1", digits_after_prompt="conf-pin")}
    sim = make_sim(app.controller, callees=callees)
    d = driver_for(sim)
    body = d.api(f"originate {_vars()}{GW}/200 {INVITE}")
    assert body.startswith("+OK ")
    assert app.done.wait(10)
    assert app.digits == [("1", "success")]
    uuid = body[4:].strip()
    dtmf = [e for e in d.events if e.name == "DTMF" and e.uuid == uuid]
    assert [e.get("DTMF-Digit") for e in dtmf] == ["1"]
    assert dtmf[0].get("DTMF-Source") == "RTP"
    d.api(f"uuid_kill {uuid}")


def test_callee_digits_after_answer_with_spacing(make_sim, driver_for) -> None:
    app = InviteApp(pagd=True)
    callees = {"201": CalleeBehaviour("answer", digits="7#", digits_delay_s=3)}
    sim = make_sim(app.controller, callees=callees, dtmf_interdigit_ms=200)
    d = driver_for(sim)
    body = d.api(f"originate {_vars()}{GW}/201 {INVITE}")
    assert app.done.wait(10)
    assert app.digits == [("7", "success")]
    d.api(f"uuid_kill {body[4:].strip()}")


def test_loopback_originate_into_an_extension(make_sim, driver_for) -> None:
    """originate loopback/<n>/fsconf_test <exten> XML <ctx>: the -b leg answers and parks
    (fsconf_test), the -a leg (returned) runs <exten> and reaches the socket app."""
    app = InviteApp()
    sim = make_sim(app.controller)
    d = driver_for(sim)
    body = d.api(f"originate {_vars()}loopback/0612345678/fsconf_test {INVITE}")
    assert body.startswith("+OK ")
    a_uuid = body[4:].strip()
    assert app.joined.wait(5)
    connect = app.connects[0]
    assert connect["Unique-ID"] == a_uuid
    assert connect["Channel-Name"] == "loopback/0612345678-a"
    assert connect["variable_fsconf_invite_id"] == "12"
    assert connect["variable_loopback_leg"] == "A"
    b_uuid = connect["variable_other_loopback_leg_uuid"]
    assert d.api(f"uuid_getvar {b_uuid} fsconf_invite_id") == "12"
    d.wait_for(
        lambda: any(
            e.uuid == b_uuid and e.name == "CHANNEL_EXECUTE" and e.get("Application") == "park"
            for e in d.events
        ),
        5,
        "b-leg parked in fsconf_test",
    )
    assert d.api("originate loopback/0612345678/nosuchcontext &park()") == (
        "-ERR NO_ROUTE_DESTINATION\n"
    )
    d.api(f"uuid_kill {a_uuid}")


def test_conference_dial_and_bgdial_over_a_gateway(make_sim, driver_for) -> None:
    def script(conn: ControllerConn) -> None:
        conn.command("connect")
        conn.execute("conference", "room9@fsconf", lock=False)

    sim = make_sim(Controller(script), callees=CALLEES)
    d = driver_for(sim)
    first = d.place_call("5000")
    first.wait_member(5)
    assert d.api(f"conference room9 dial {GW}/100 0201234567 Room") == (
        "+OK Call Requested: result: [SUCCESS]\n"
    )
    assert d.api(f"conference room9 dial {GW}/101 0201234567 Room") == (
        "+OK Call Requested: result: [USER_BUSY]\n"
    )
    reply = d.api(f"conference room9 bgdial {GW}/103 0201234567 Room")
    assert reply.startswith("+OK Job-UUID: ")
    job = reply.split(": ", 1)[1].strip()
    d.wait_for(
        lambda: any(
            e.get("Action") == "bgdial-result" and e.get("Job-UUID") == job for e in d.events
        ),
        5,
        "bgdial-result",
    )
    result = next(e for e in d.events if e.get("Job-UUID") == job)
    assert result.get("Result") == "CALL_REJECTED"
    lines = d.api("conference room9 list").splitlines()
    assert len(lines) == 2
    assert lines[0].split(";")[1] == f"{GW}/100"
    assert lines[0].split(";")[4] == "0201234567"
    d.api("hupall")
