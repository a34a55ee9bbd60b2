"""`python -m fsconf.sim` / `fsconf sim`: run the simulator until interrupted."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    from gevent import monkey

    monkey.patch_all()  # entry point only; library modules never patch
    from fsconf.runtime import freeze_start_up, untrack_greenlet_spawns

    untrack_greenlet_spawns()

    import gevent

    from fsconf.sim import SimSettings, Simulator
    from fsconf.sim.settings import REPO_CONF_DIR

    parser = argparse.ArgumentParser(prog="fsconf sim", description=__doc__)
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
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    sim = Simulator(
        SimSettings(
            conf_dir=args.conf,
            host=args.host,
            port=args.port,
            password=args.password,
            speed=args.speed,
            sounds_dir=args.sounds,
            global_vars=overrides,
            bench_trace=args.bench_trace,
            collect_when_idle=True,
            **(
                {"connect_timeout_s": args.connect_timeout}
                if args.connect_timeout is not None
                else {}
            ),
        )
    )
    # No automatic full collections (see SimSettings.collect_when_idle): what the
    # configuration and imports made lives as long as the process, and young
    # collections still free short-lived cycles as calls run.
    freeze_start_up(full_automatic=False)
    sim.start()
    print(f"fsconf simulator on {sim.host}:{sim.port}", flush=True)
    try:
        gevent.wait()
    except KeyboardInterrupt:
        pass
    finally:
        sim.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
