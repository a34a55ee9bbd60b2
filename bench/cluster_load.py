"""Load generator for the cluster benchmark: callers spread over several simulated nodes.

One inbound Event Socket connection per node. A caller lands on a node the way Kamailio's
round robin would send them (call i on node i mod N) and joins whichever room it was
given; the room lives wherever placement put it (its first caller's node), so with N
nodes about (N-1)/N of the callers are bridged to another node. Callers are known across
nodes by a caller ID of their own: the owner's add-member for a bridged leg carries the
caller's number, not the loopback leg's uuid.

    python -m bench.cluster_load PLAN.json OUT.json   (phase "sweep" or "realtime")
"""

from __future__ import annotations

from gevent import monkey

if __name__ == "__main__":
    monkey.patch_all()

import argparse  # noqa: E402
import itertools  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import random  # noqa: E402
import re  # noqa: E402
import signal  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from dataclasses import dataclass  # noqa: E402
from typing import Any  # noqa: E402

import gevent  # noqa: E402

from bench.common import cpu_seconds, postgres_cpu, summary_ms  # noqa: E402
from bench.loadgen import FILTERS, Call, CallFailed, Runner, Switch  # noqa: E402
from fsconf.esl.connection import EslError  # noqa: E402
from fsconf.esl.protocol import Event  # noqa: E402
from fsconf.runtime import freeze_start_up  # noqa: E402

# The last prompt a caller hears before entering (the head count, callflow/member.py
# _announce_count): its PLAYBACK_STOP starts the join-latency clock on local and
# bridged callers alike.
LAST_PROMPT = re.compile(
    r"/(you-are-first|one-participant-present|participants-present-after)\.wav"
)
EVENTS = ("event json PLAYBACK_START PLAYBACK_STOP RECORD_START CHANNEL_HANGUP "
          "CUSTOM conference::maintenance")
CLUSTER_FILTERS = (
    *FILTERS,
    "filter Event-Name PLAYBACK_STOP",
)


class ClusterCall(Call):
    __slots__ = ("node", "number", "owner", "joins")

    def __init__(self, cid: str, conference: str, pin: str, scheduled: float, node: str,
                 number: str) -> None:
        super().__init__(cid, conference, pin, scheduled)
        self.node = node  # where the caller landed
        self.number = number  # caller ID, unique to this call
        self.owner = ""  # whose conference the caller entered first
        self.joins: list[tuple[str, float]] = []  # every add-member: (node, time)


class Book:
    """Calls by bench id (their own node's loopback legs) and by caller ID (any node)."""

    def __init__(self) -> None:
        self.by_cid: dict[str, ClusterCall] = {}
        self.by_number: dict[str, ClusterCall] = {}

    def add(self, call: ClusterCall) -> None:
        self.by_cid[call.cid] = call
        self.by_number[call.number] = call

    def forget(self, call: ClusterCall) -> None:
        self.by_cid.pop(call.cid, None)
        self.by_number.pop(call.number, None)

    def on_event(self, node: str, ev: Event) -> None:
        h = ev.headers
        name = h.get("Event-Name")
        now = time.monotonic()
        if name == "CUSTOM":
            call = self.by_number.get(h.get("Caller-Caller-ID-Number") or "")
            if call is not None and h.get("Action") == "add-member":
                call.joins.append((node, now))
                if not call.owner:
                    call.owner, call.joined = node, now
                call.mark("member")
            return
        if name == "CHANNEL_HANGUP" and h.get("Hangup-Cause") == "MEDIA_TIMEOUT":
            # The bridge to a dead owner ended (its sofia leg on the caller's node).
            call = self.by_number.get(h.get("Caller-Caller-ID-Number") or "")
            if call is not None:
                call.stamps.setdefault("media_timeout", now)
            return
        call = self.by_cid.get(h.get("variable_bench_call") or "")
        if call is None:
            return
        if name == "PLAYBACK_START":
            path = h.get("Playback-File-Path") or ""
            if "enter-conference-number" in path:
                call.mark("number")
            elif "enter-pin" in path:
                call.mark("pin")
        elif name == "PLAYBACK_STOP":
            if LAST_PROMPT.search(h.get("Playback-File-Path") or ""):
                call.stamps.setdefault("ready", now)
        elif name == "RECORD_START":
            call.mark("record")
        elif name == "CHANNEL_HANGUP" and (h.get("Channel-Name") or "").startswith("loopback/"):
            call.hung = True
            call.mark("hangup")


class NodeSwitch(Switch):
    subscriptions = (EVENTS, *CLUSTER_FILTERS)

    def __init__(self, name: str, host: str, port: int, book: Book) -> None:
        self.name = name
        self.book = book
        super().__init__(host, port)

    def _on_event(self, ev: Event) -> None:
        self.book.on_event(self.name, ev)


@dataclass
class Node:
    name: str
    host: str
    esl_port: int
    controller_pid: int


class ClusterRunner(Runner):
    """Runner's open-loop arrivals, each call on the next node in turn."""

    def __init__(self, plan: dict[str, Any], nodes: list[Node]) -> None:
        self.book = Book()
        self.switches = {n.name: NodeSwitch(n.name, n.host, n.esl_port, self.book) for n in nodes}
        self.nodes = nodes
        self.cplan = plan
        self.turn = itertools.count()
        self.numbers = itertools.count(1)
        self.pin = plan["participant_pin"]
        self.only_node: str | None = None  # pin every new call to one node (anchors)
        # Only Runner's arrivals are used, and they read nothing of the single-node plan.
        super().__init__(plan=None, switch=self.switches[nodes[0].name])  # type: ignore[arg-type]

    def new_call(self, conference: str, scheduled: float) -> Call:
        node = self.only_node or self.nodes[next(self.turn) % len(self.nodes)].name
        n = next(self.numbers)
        call = ClusterCall(f"c{next(self.ids)}", conference, self.pin, scheduled, node,
                           f"07{n:08d}")
        self.book.add(call)
        return call

    def join(self, call: Call, timeout: float) -> None:
        assert isinstance(call, ClusterCall)
        sw = self.switches[call.node]
        deadline = call.scheduled + timeout
        call.started = time.monotonic()
        access = self.cplan["access_number"]
        try:
            reply = sw.api(
                f"originate {{bench_call={call.cid},origination_caller_id_number={call.number},"
                f"origination_caller_id_name=Bench}}loopback/{access}/fsconf &park()"
            )
            if not reply.startswith("+OK "):
                raise CallFailed(f"originate: {reply.strip()}")
            call.a_uuid = reply[4:].strip()
            call.stamps["originated"] = time.monotonic()
            call.wait("number", deadline)
            sw.api(f"uuid_send_dtmf {call.a_uuid} {call.conference}#")
            call.wait("pin", deadline)
            sw.api(f"uuid_send_dtmf {call.a_uuid} {call.pin}#")
            call.wait("record", deadline)
            # A name of a couple of (simulated) seconds: it travels to the owner's node.
            gevent.sleep(self.cplan["name_s"] / self.cplan["speed"])
            sw.api(f"uuid_send_dtmf {call.a_uuid} #")
            call.wait("member", deadline)
        except EslError as exc:
            raise CallFailed(f"switch connection: {exc}") from None

    def hangup(self, call: Call) -> None:
        assert isinstance(call, ClusterCall)
        sw = self.switches.get(call.node)
        if sw is not None and call.a_uuid and not call.hung:
            try:
                sw.api(f"uuid_kill {call.a_uuid}")
            except EslError:
                pass
        self.book.forget(call)

    def settle(self, timeout: float = 60.0) -> int:
        """Wait until no node has channels left."""
        deadline = time.monotonic() + timeout
        left = sum(sw.sessions() for sw in self.switches.values())
        while left > 0 and time.monotonic() < deadline:
            gevent.sleep(0.1)
            left = sum(sw.sessions() for sw in self.switches.values())
        gevent.sleep(0.2)
        return left

    def settle_members(self, keep: int, timeout: float = 60.0) -> None:
        """Between steps: wait until only the `keep` anchors' two loopback legs each are
        left (anchors are on their rooms' own nodes: no SIP legs)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if sum(sw.sessions() for sw in self.switches.values()) <= 2 * keep:
                break
            gevent.sleep(0.1)
        gevent.sleep(0.2)

    def anchors(self, rooms: list[str], timeout: float, on: str | None = None) -> list[Call]:
        """One held caller per room, room k's on node k mod N (or all `on` one node):
        each room is placed on the node its anchor landed on."""
        self.turn = itertools.count()
        self.only_node = on
        try:
            ok, res = self.arrivals(self.cplan["mode"]["anchor_rate"], len(rooms), rooms,
                                    hold=True, timeout=timeout)
        finally:
            self.only_node = None
        if res["failed"]:
            raise RuntimeError(f"anchors failed: {res['errors']}")
        return ok


# -- measurements --------------------------------------------------------------------------


class Probe:
    """CPU of every controller, the simulator, PostgreSQL and this process."""

    def __init__(self, nodes: list[Node], sim_pid: int) -> None:
        self.pids = {f"controller_{n.name}": n.controller_pid for n in nodes}
        self.pids["simulator"] = sim_pid

    def cpu(self) -> dict[str, Any]:
        out: dict[str, Any] = {k: cpu_seconds(pid) for k, pid in self.pids.items()}
        out["loadgen"] = time.process_time()
        out["postgres"] = postgres_cpu()
        return out


def cpu_delta(before: dict[str, Any], after: dict[str, Any], wall: float) -> dict[str, Any]:
    out = {}
    for name in before:
        if name == "postgres":
            spent = sum(v - before[name].get(pid, 0.0) for pid, v in after[name].items())
        else:
            spent = after[name] - before[name]
        out[name] = {"cpu_s": round(spent, 3),
                     "utilisation": round(spent / wall, 3) if wall > 0 else None}
    return out


def split(calls: list[ClusterCall]) -> tuple[list[ClusterCall], list[ClusterCall]]:
    local = [c for c in calls if c.owner == c.node]
    return local, [c for c in calls if c.owner and c.owner != c.node]


def sweep(r: ClusterRunner, probe: Probe) -> dict[str, Any]:
    """Open-loop steps of rising rate, as the single-node sweep (<= 0.1% failed, p99 of
    set-up under 1 s), over rooms anchored round robin on the nodes."""
    m = r.cplan["mode"]
    timeout = float(m["call_timeout_s"])
    rooms = r.cplan["rooms"]
    anchors = r.anchors(rooms, timeout)
    owners = {c.conference: c.owner for c in anchors if isinstance(c, ClusterCall)}
    rng = random.Random(21)
    r.arrivals(m["warmup_rate"], m["warmup_calls"], [rng.choice(rooms) for _ in
               range(m["warmup_calls"])], hold=False, timeout=timeout)
    r.settle_members(len(anchors))
    # What the processes spend with only the anchors up (heartbeats, lease renewals every
    # lease / 3 per room): part of every step's CPU, whatever its rate.
    c0, t0 = probe.cpu(), time.monotonic()
    gevent.sleep(float(m["idle_s"]))
    idle = cpu_delta(c0, probe.cpu(), time.monotonic() - t0)
    steps, best = [], 0.0
    for rate in m["sweep_rates"]:
        count = max(1, int(rate * m["sweep_step_s"]))
        confs = [rng.choice(rooms) for _ in range(count)]
        r.turn = itertools.count()
        c0, t0 = probe.cpu(), time.monotonic()
        ok, res = r.arrivals(rate, count, confs, hold=False, timeout=timeout)
        wall = time.monotonic() - t0
        res["cpu"] = cpu_delta(c0, probe.cpu(), wall)
        calls = [c for c in ok if isinstance(c, ClusterCall)]
        local, remote = split(calls)
        res["remote_share"] = round(len(remote) / len(calls), 3) if calls else None
        res["setup_local"] = summary_ms([c.joined - c.scheduled for c in local])
        res["setup_remote"] = summary_ms([c.joined - c.scheduled for c in remote])
        res["per_node"] = per_node(r.nodes, calls, res["cpu"], len(calls))
        res["passed"] = res["failure_ratio"] <= 0.001 and (res["setup"]["p99_ms"] or 1e9) <= 1000
        steps.append(res)
        ctl = sum(v["utilisation"] or 0 for k, v in res["cpu"].items() if k.startswith("contr"))
        print(f"    {len(r.nodes)} node(s), {rate}/s: joined {res['joined']}/{res['calls']}, "
              f"p99 {res['setup']['p99_ms']} ms, remote {res['remote_share']}, controllers "
              f"{ctl:.2f} cores, sim {res['cpu']['simulator']['utilisation']}, postgres "
              f"{res['cpu']['postgres']['utilisation']} {res['errors'] or ''}",
              file=sys.stderr, flush=True)
        r.settle_members(len(anchors))
        if not res["passed"]:
            break
        best = rate
    for call in anchors:
        r.hangup(call)
    left = r.settle(timeout=120)
    return {"nodes": len(r.nodes), "rooms": len(rooms), "room_owners": owners, "idle": idle,
            "steps": steps, "max_passing_rate_per_s": best, "sessions_left": left}


def per_node(nodes: list[Node], calls: list[ClusterCall], cpu: dict[str, Any],
             joined: int) -> dict[str, Any]:
    """Calls each node answered and hosted, and its controller's CPU per answered call."""
    out = {}
    for n in nodes:
        answered = sum(1 for c in calls if c.node == n.name)
        spent = cpu[f"controller_{n.name}"]["cpu_s"]
        out[n.name] = {
            "answered": answered,
            "hosted_remote": sum(1 for c in calls if c.owner == n.name and c.node != n.name),
            "controller_cpu_s": spent,
            "controller_utilisation": cpu[f"controller_{n.name}"]["utilisation"],
            "controller_cpu_ms_per_answered_call": round(spent * 1000 / max(1, answered), 3),
        }
    total = sum(cpu[f"controller_{n.name}"]["cpu_s"] for n in nodes)
    out["all"] = {"controller_cpu_ms_per_call": round(total * 1000 / max(1, joined), 3)}
    return out


def join_latency(r: ClusterRunner) -> dict[str, Any]:
    """From the end of the last prompt before entering (the head count, played on the
    caller's own node) to the caller's add-member in the owner's conference, for callers
    who landed on the room's owner and for those bridged to it."""
    m = r.cplan["mode"]
    timeout = float(m["call_timeout_s"])
    rooms = r.cplan["latency_rooms"]
    anchors = r.anchors(rooms, timeout)
    rng = random.Random(22)
    count = int(m["latency_callers"])
    r.turn = itertools.count()
    ok, res = r.arrivals(m["latency_rate"], count, [rng.choice(rooms) for _ in range(count)],
                         hold=False, timeout=timeout)
    calls = [c for c in ok if isinstance(c, ClusterCall) and "ready" in c.stamps]
    local, remote = split(calls)
    out = {
        "callers": count, "joined": res["joined"], "failed": res["failed"],
        "errors": res["errors"], "rate_per_s": m["latency_rate"], "rooms": len(rooms),
        "local": summary_ms([c.joined - c.stamps["ready"] for c in local]),
        "remote": summary_ms([c.joined - c.stamps["ready"] for c in remote]),
        "setup_from_originate_local": summary_ms([c.joined - c.started for c in local]),
        "setup_from_originate_remote": summary_ms([c.joined - c.started for c in remote]),
        "without_start_mark": len(ok) - len(calls),
    }
    for call in anchors:
        r.hangup(call)
    r.settle(timeout=60)
    print(f"    join latency: local {out['local']['p50_ms']} / {out['local']['p99_ms']} ms, "
          f"remote {out['remote']['p50_ms']} / {out['remote']['p99_ms']} ms (p50 / p99)",
          file=sys.stderr, flush=True)
    return out


def rehome(r: ClusterRunner) -> dict[str, Any]:
    """Rooms owned by the first node, with callers bridged in from the others; then that
    node dies whole (its controller SIGKILLed, its FreeSWITCH killed as by SIGKILL). Each
    bridged caller is timed from the kill to their add-member on the new owner."""
    m = r.cplan["mode"]
    timeout = float(m["call_timeout_s"])
    rooms = r.cplan["rehome_rooms"]
    victim, others = r.nodes[0], r.nodes[1:]
    r.anchors(rooms, timeout, on=victim.name)
    remote: list[ClusterCall] = []
    for k in range(int(m["rehome_callers_per_room"])):
        r.only_node = others[k % len(others)].name
        ok, res = r.arrivals(m["anchor_rate"], len(rooms), rooms, hold=True, timeout=timeout)
        r.only_node = None
        if res["failed"]:
            raise RuntimeError(f"re-home callers failed: {res['errors']}")
        remote += [c for c in ok if isinstance(c, ClusterCall)]
    assert all(c.owner == victim.name for c in remote), "a room was not on the victim node"
    # Let a renewal pass so the kill falls at an ordinary point of the lease's life.
    gevent.sleep(float(r.cplan["lease_seconds"]) / 3)
    killed_at = time.monotonic()
    os.kill(victim.controller_pid, signal.SIGKILL)
    try:
        r.switches[victim.name].conn.command("bgapi sim_kill")
    except EslError:
        pass  # the node died before its reply got out: dead all the same
    deadline = killed_at + float(m["rehome_wait_s"])
    for call in remote:
        while time.monotonic() < deadline and not any(t > killed_at for _, t in call.joins):
            gevent.sleep(0.05)
    rows = []
    for call in remote:
        again = [(node, t) for node, t in call.joins if t > killed_at]
        mt = call.stamps.get("media_timeout")
        rows.append({
            "caller": call.number, "landed_on": call.node, "room": call.conference,
            "rejoined": bool(again), "new_owner": again[0][0] if again else None,
            "rehome_s": round(again[0][1] - killed_at, 3) if again else None,
            "media_timeout_s": round(mt - killed_at, 3) if mt else None,
        })
    r.switches.pop(victim.name)
    for call in remote:
        r.hangup(call)
    left = sum(sw.sessions() for sw in r.switches.values())
    times = [row["rehome_s"] for row in rows if row["rehome_s"] is not None]
    print(f"    re-home: {len(times)}/{len(rows)} callers back, max "
          f"{max(times) if times else None} s", file=sys.stderr, flush=True)
    return {"killed": victim.name, "rooms": len(rooms), "callers": rows,
            "rejoined": len(times), "max_s": max(times) if times else None,
            "sessions_left_before_settle": left}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.cluster_load")
    parser.add_argument("plan")
    parser.add_argument("out")
    args = parser.parse_args(argv)
    with open(args.plan, encoding="utf-8") as fh:
        plan = json.load(fh)
    freeze_start_up(full_automatic=False)  # as bench.loadgen: no full collections
    nodes = [Node(**n) for n in plan["nodes"]]
    r = ClusterRunner(plan, nodes)
    probe = Probe(nodes, plan["sim_pid"])
    out: dict[str, Any] = {}
    if plan["phase"] == "sweep":
        out = sweep(r, probe)
    else:
        out["join_latency"] = join_latency(r)
        out["rehome"] = rehome(r)
    with open(args.out, "w", encoding="utf-8") as fh:
        json.dump(out, fh, indent=1)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
