"""`fsconf sim`: run the FreeSWITCH simulator (see `fsconf sim --help`)."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction, parent: argparse.ArgumentParser) -> None:
    p = sub.add_parser("sim", help="run the FreeSWITCH simulator", add_help=False)
    p.add_argument("sim_args", nargs=argparse.REMAINDER)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from fsconf.sim.__main__ import main

    return main(list(args.sim_args))
