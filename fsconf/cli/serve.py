"""`fsconf serve`: run the controller until SIGTERM/SIGINT."""

from __future__ import annotations

import argparse
import gc
import logging
import signal
from dataclasses import replace

from fsconf.cli.common import settings_from


def register(sub: argparse._SubParsersAction, parent: argparse.ArgumentParser) -> None:
    p = sub.add_parser("serve", help="run the outbound Event Socket controller", parents=[parent])
    p.add_argument("--host", help="listen address (default from settings: 127.0.0.1)")
    p.add_argument("--port", type=int, help="listen port (default from settings: 8084)")
    p.add_argument("--log-level", default="INFO")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import gevent
    from gevent.event import Event

    from fsconf.controller import Controller

    logging.basicConfig(
        level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    settings = settings_from(args)
    controller_settings = settings.controller
    if args.host:
        controller_settings = replace(controller_settings, host=args.host)
    if args.port is not None:
        controller_settings = replace(controller_settings, port=args.port)
    settings = replace(settings, controller=controller_settings)
    controller = Controller(settings)
    controller.start()
    # Everything made so far (modules, SQLAlchemy's metadata and caches, settings) lives
    # as long as the process. Out of the collector's sight, it no longer lengthens every
    # full collection: with 1,000 callers held a full pass took up to 50 ms, a pause every
    # call in the process hears as a late key press.
    gc.collect()
    gc.freeze()
    stopping = Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        gevent.signal_handler(sig, stopping.set)
    stopping.wait()
    logging.getLogger(__name__).info("stopping: no new calls; waiting for calls in the join flow")
    controller.stop()
    controller.db.dispose()  # the checkpoint thread writes what the last seconds logged
    return 0
