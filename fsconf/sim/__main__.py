"""`python -m fsconf.sim` / `fsconf sim`: run the simulator until interrupted.

One process can run several FreeSWITCH nodes (--node, repeated) that reach each other
over SIP (`bridge sofia/<profile>/<user>@<host:port>` to another node's profile
address). Nodes in different processes cannot: no real SIP is spoken between them.
Two nodes of a scale-out deployment, each with its own controller:
  fsconf sim --node 8021,local_ip_v4=127.0.0.1,fsconf_controller=127.0.0.1:8084
             --node 8022,local_ip_v4=127.0.0.2,fsconf_controller=127.0.0.1:8094
With the project's conf a room's owner is then sofia/internal/fsconf-room-<n>@127.0.0.1:5090
for the second node (profile internal, ACL fsconf_nodes admits 127.0.0.0/8)."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path


class NodeSpecError(ValueError):
    pass


def parse_node(spec: str) -> tuple[int, dict[str, str]]:
    """'--node PORT[,VAR=VALUE...]' -> (Event Socket port, global variable overrides).

    The overrides make the node (local_ip_v4: the address of its SIP profiles in the
    project's conf; fsconf_controller: its controller), on top of --set."""
    port_text, *pairs = spec.split(",")
    if not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise NodeSpecError(f"--node needs an Event Socket port first (1-65535), got {spec!r}")
    overrides: dict[str, str] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip():
            raise NodeSpecError(f"--node takes PORT,VAR=VALUE,...; {pair!r} is not VAR=VALUE")
        overrides[name.strip()] = value
    return int(port_text), overrides


def main(argv: list[str] | None = None) -> int:
    from gevent import monkey

    monkey.patch_all()  # entry point only; library modules never patch
    from fsconf.runtime import freeze_start_up, untrack_greenlet_spawns

    untrack_greenlet_spawns()

    import gevent

    from fsconf.sim import SimSettings, Simulator
    from fsconf.sim.settings import REPO_CONF_DIR

    parser = argparse.ArgumentParser(
        prog="fsconf sim",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--conf", type=Path, default=REPO_CONF_DIR, help="FreeSWITCH configuration directory"
    )
    parser.add_argument("--speed", type=float, default=1.0, help="simulated time speed-up")
    parser.add_argument("--host", default=None)
    parser.add_argument("--port", type=int, default=None)
    parser.add_argument("--password", default=None)
    parser.add_argument("--sounds", type=Path, default=None, help="sounds_dir")
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="VAR=VALUE",
        help="global variable override (wins over X-PRE-PROCESS set)",
    )
    parser.add_argument(
        "--connect-timeout",
        type=float,
        default=None,
        help="simulated seconds an outbound socket waits for 'connect' (default 25)",
    )
    parser.add_argument(
        "--originate-timeout",
        type=float,
        default=None,
        help="simulated seconds a bridge to another node without originate_timeout waits "
        "for an answer (default 60, as FreeSWITCH)",
    )
    parser.add_argument(
        "--node",
        action="append",
        default=[],
        metavar="PORT[,VAR=VALUE...]",
        help=(
            "a FreeSWITCH node of this process (repeat for several): its Event Socket port, its "
            "own global variables (e.g. 8022,local_ip_v4=127.0.0.2,"
            "fsconf_controller=127.0.0.1:8095); nodes bridge to each other over SIP at "
            "their profiles' sip-ip:sip-port. Replaces --port"
        ),
    )
    parser.add_argument(
        "--bench-trace",
        action="store_true",
        help="benchmark measurement knob: keypad timing trace and sim_trace/sim_flood APIs",
    )
    args = parser.parse_args(argv)
    if not 0 < args.speed < float("inf"):  # also refuses NaN
        print(f"fsconf sim: --speed must be a positive number, got {args.speed}", file=sys.stderr)
        return 2
    overrides = {}
    for item in args.set:
        name, sep, value = item.partition("=")
        if not sep:
            parser.error(f"--set needs VAR=VALUE, got {item!r}")
        overrides[name] = value
    try:
        nodes = [parse_node(spec) for spec in args.node]
    except NodeSpecError as exc:
        print(f"fsconf sim: {exc}", file=sys.stderr)
        return 2
    if nodes and args.port is not None:
        print("fsconf sim: give the port in each --node, not --port", file=sys.stderr)
        return 2
    if len({port for port, _ in nodes}) < len(nodes):
        print("fsconf sim: two --node options have the same port", file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    sims = [
        Simulator(
            SimSettings(
                conf_dir=args.conf,
                host=args.host,
                port=port,
                password=args.password,
                speed=args.speed,
                sounds_dir=args.sounds,
                global_vars={**overrides, **own},
                bench_trace=args.bench_trace,
                collect_when_idle=True,
                **(
                    {"connect_timeout_s": args.connect_timeout}
                    if args.connect_timeout is not None
                    else {}
                ),
                **(
                    {"originate_timeout_s": args.originate_timeout}
                    if args.originate_timeout is not None
                    else {}
                ),
            )
        )
        for port, own in (nodes or [(args.port, {})])
    ]
    # No automatic full collections (see SimSettings.collect_when_idle): what the
    # configuration and imports made lives as long as the process, and young
    # collections still free short-lived cycles as calls run.
    freeze_start_up(full_automatic=False)
    for sim in sims:
        sim.start()
        sip = " ".join(f"{p.name}={p.address}" for p in sim.sip.profiles.values())
        extra = f" (SIP {sip})" if len(sims) > 1 and sip else ""
        print(f"fsconf simulator on {sim.host}:{sim.port}{extra}", flush=True)
    try:
        gevent.wait()
    except KeyboardInterrupt:
        pass
    finally:
        for sim in sims:
            sim.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
