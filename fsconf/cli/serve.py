"""`fsconf serve`: run the controller until SIGTERM/SIGINT."""

from __future__ import annotations

import argparse
import logging
import os
import signal
from dataclasses import replace

from fsconf.acl import exposure
from fsconf.cli.common import CliError, settings_from
from fsconf.config import cluster_secret_problem
from fsconf.esl.connection import EslError
from fsconf.runtime import freeze_start_up

# Young collections between two collections of the middle generation (Python's default: 10).
MIDDLE_GENERATION_EVERY = 100


def register(sub: argparse._SubParsersAction, parent: argparse.ArgumentParser) -> None:
    p = sub.add_parser("serve", help="run the outbound Event Socket controller", parents=[parent])
    p.add_argument("--host", help="listen address (default from settings: 127.0.0.1)")
    p.add_argument("--port", type=int, help="listen port (default from settings: 8084)")
    p.add_argument("--log-level", default="INFO", type=str.upper,
                   choices=("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"))
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import gevent
    from gevent.event import Event

    from fsconf.controller import Controller

    logging.basicConfig(
        level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    settings = settings_from(args)
    problem = cluster_secret_problem(settings)
    if problem:
        raise CliError(problem)
    controller_settings = settings.controller
    if args.host:
        controller_settings = replace(controller_settings, host=args.host)
    if args.port is not None:
        if not 1 <= args.port <= 65535:
            raise CliError(f"--port must be between 1 and 65535, got {args.port}")
        controller_settings = replace(controller_settings, port=args.port)
    settings = replace(settings, controller=controller_settings)
    risk = exposure(controller_settings.host, controller_settings.allow_from)
    if risk:
        logging.getLogger(__name__).warning(
            "%s; list FreeSWITCH's addresses in [controller] allow_from", risk
        )
    controller = Controller(settings)
    try:
        controller.start()
    except (EslError, OSError) as exc:
        controller.stop(timeout=0)
        controller.db.dispose()
        why = _start_failure(exc, controller_settings.host, controller_settings.port)
        raise CliError(why) from None
    settle_heap()
    stopping = Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        gevent.signal_handler(sig, stopping.set)
    stopping.wait()
    logging.getLogger(__name__).info("stopping: no new calls; waiting for calls in the join flow")
    controller.stop()
    controller.db.dispose()  # the checkpoint thread writes what the last seconds logged
    return 0


def _start_failure(exc: Exception, host: str, port: int) -> str:
    """One line for why the controller could not start: FreeSWITCH refused the Event
    Socket password (EslError), or the listening address is taken or not ours (OSError)."""
    if isinstance(exc, EslError):
        return f"{exc}; check [freeswitch] password (FSCONF_FREESWITCH_PASSWORD)"
    # gevent appends the address to strerror; the plain words come from the errno.
    if isinstance(exc, OSError) and exc.errno and exc.errno > 0:
        reason = os.strerror(exc.errno)
    else:  # a name that does not resolve (gaierror: negative codes) or no errno at all
        reason = (exc.strerror if isinstance(exc, OSError) else None) or str(exc)
        reason = reason.split(": (", 1)[0]  # gevent's "...: ('host', port)" suffix
    return f"cannot listen on {host}:{port}: {reason}"


def settle_heap() -> None:
    """Fewer full collections (each walks every held call: a pause callers hear): freeze
    what start-up made, collect the middle generation less often (bench/results/README.md)."""
    freeze_start_up(middle_every=MIDDLE_GENERATION_EVERY)
