"""`fsconf sim`: run the FreeSWITCH simulator (see `fsconf sim --help`)."""

from __future__ import annotations

import argparse
from collections.abc import Sequence


def register(sub: argparse._SubParsersAction, parent: argparse.ArgumentParser) -> None:
    # Listed in `fsconf --help` only: cli.main hands everything after `sim` to run(),
    # because the simulator has options of its own (--conf, --speed, ...).
    sub.add_parser("sim", help="run the FreeSWITCH simulator", add_help=False)


def run(argv: Sequence[str]) -> int:
    from fsconf.sim.__main__ import main

    return main(list(argv))
