"""`fsconf doctor`: is this host ready to take calls? One line per check: ok, warn or FAIL.

Checks, in order: the database (reachable, migrations at head), FreeSWITCH's inbound
Event Socket (connect, password, `api status`), the conference profile (FreeSWITCH
answers `conference list`; with a FreeSWITCH conf dir, its conference.conf.xml has our
profile with caller-controls none), the prompt files for every language under
[ivr] sounds_dir, a writable recordings folder, vars.xml's controller address against
[controller], who may connect to the controller, and the caller ID invitees see. Each
FAIL or warn line says what is wrong and how to fix it. A warning is a default that
works but bites in production. Exit status 0 when nothing FAILs (warnings allowed),
1 otherwise.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import tempfile
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from fsconf.acl import exposure, is_loopback_host
from fsconf.cli.common import add_json_option, settings_from, wants_json
from fsconf.config import Settings, redact_url

DEFAULT_FS_CONF = Path("/etc/freeswitch")
SOUND_RATE = "8000"  # the folder every installation needs; 16000 etc. are optional


@dataclass
class Check:
    name: str
    ok: bool
    detail: str
    fix: str = ""
    warn: bool = False  # works, but a default that bites in production

    @property
    def status(self) -> str:
        return "FAIL" if not self.ok else "warn" if self.warn else "ok"

    def line(self) -> str:
        text = f"{self.status:<4}  {self.name:<12}  {self.detail}"
        if self.status != "ok" and self.fix:
            text += f" -> fix: {self.fix}"
        return text

    def as_dict(self) -> dict[str, str]:
        return {"check": self.name, "status": self.status, "detail": self.detail,
                "fix": self.fix if self.status != "ok" else ""}  # fmt: skip


def register(sub: argparse._SubParsersAction, parent: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "doctor",
        help="check database, FreeSWITCH, conference profile, prompts and recordings",
        parents=[parent],
        description=__doc__.split("\n\n")[1] if __doc__ else None,
    )
    p.add_argument(
        "--fs-conf", metavar="DIR", type=Path, default=None,
        help=f"FreeSWITCH configuration folder to inspect (default: {DEFAULT_FS_CONF} if it"
        " exists)",
    )
    p.add_argument(
        "--timeout", type=float, default=5.0, metavar="SECONDS",
        help="wait this long for FreeSWITCH (default 5)",
    )
    add_json_option(p)
    p.set_defaults(func=_doctor)


def _doctor(args: argparse.Namespace) -> int:
    settings = settings_from(args)
    fs_conf = args.fs_conf
    if fs_conf is None and DEFAULT_FS_CONF.is_dir():
        fs_conf = DEFAULT_FS_CONF
    checks = run_checks(settings, fs_conf=fs_conf, timeout=args.timeout)
    if wants_json(args):
        json.dump([c.as_dict() for c in checks], sys.stdout, indent=2, ensure_ascii=False)
        sys.stdout.write("\n")
    else:
        for check in checks:
            print(check.line(), flush=True)
    return 0 if all(c.ok for c in checks) else 1


def run_checks(settings: Settings, *, fs_conf: Path | None, timeout: float) -> list[Check]:
    checks = [check_database(settings)]
    es_check, api = check_event_socket(settings, timeout)
    checks.append(es_check)
    checks.append(check_conference(settings, api, fs_conf))
    checks.append(check_sounds(settings))
    checks.append(check_recordings(settings))
    checks.append(check_controller_address(settings, fs_conf))
    checks.append(check_acl(settings))
    checks.append(check_dialout_caller_id(settings))
    if settings.cluster.enabled:
        checks.append(check_cluster(settings))
    return checks


def check_cluster(settings: Settings) -> Check:
    """Cluster mode (the node's name set): the secret that signs room legs is there.
    (A cluster on SQLite never gets here: the settings refuse it with one line.)"""
    from fsconf.config import cluster_secret_problem

    c = settings.cluster
    problem = cluster_secret_problem(settings)
    if problem:
        return Check("cluster", False, problem,
                     "give every node the same FSCONF_CLUSTER_SECRET (e.g. openssl rand -hex 32)")
    return Check(
        "cluster", True,
        f"node {c.node}, internal SIP {c.internal_sip}, lease {c.lease_seconds:g} s",
    )


# -- (1) database ---------------------------------------------------------------------------


def check_database(settings: Settings) -> Check:
    from sqlalchemy import create_engine, text

    from fsconf.store import migrate

    url = settings.database_url
    shown = redact_url(url)
    upgrade = "fsconf db upgrade"
    if url.startswith("sqlite:///") and url != "sqlite:///:memory:":
        path = Path(url.removeprefix("sqlite:///"))
        if not path.is_file():
            return Check("database", False, f"{shown}: the file does not exist", upgrade)
    connect_args = {"connect_timeout": 5} if url.startswith("postgresql") else {}
    try:
        engine = create_engine(url, connect_args=connect_args)
        try:
            with engine.connect() as conn:
                conn.execute(text("SELECT 1"))
        finally:
            engine.dispose()
    except Exception as exc:  # any driver error: say it in one line
        reason = _first_line(getattr(exc, "orig", None) or exc)
        return Check(
            "database", False, f"{shown} unreachable: {reason}",
            "check [database] url / FSCONF_DATABASE_URL and that the server is running",
        )
    try:
        applied = _revisions(migrate.current(url))
        heads = set(_script_heads(url))
    except Exception as exc:
        return Check("database", False, f"{shown}: cannot read migrations: {_first_line(exc)}",
                     upgrade)
    if not applied:
        return Check("database", False, f"{shown} has no schema (no migrations applied)",
                     upgrade)
    if applied != heads:
        unknown = applied - set(_script_revisions(url))
        if unknown:
            return Check(
                "database", False,
                f"{shown} is at {', '.join(sorted(unknown))}, unknown to this fsconf",
                "run the fsconf version that migrated it, or check the database URL",
            )
        return Check(
            "database", False,
            f"{shown} is at {', '.join(sorted(applied))}, code expects "
            f"{', '.join(sorted(heads))}",
            upgrade,
        )
    return Check("database", True, f"{shown} at head {', '.join(sorted(heads))}")


def _revisions(current_output: str) -> set[str]:
    """Revision ids out of `alembic current` output ("0002_x (head)" per line)."""
    return {m.group(1) for m in re.finditer(r"^(\w+)", current_output, re.M)}


def _script_heads(url: str) -> list[str]:
    from alembic.script import ScriptDirectory

    from fsconf.store import migrate

    return list(ScriptDirectory.from_config(migrate.alembic_config(url)).get_heads())


def _script_revisions(url: str) -> list[str]:
    from alembic.script import ScriptDirectory

    from fsconf.store import migrate

    script = ScriptDirectory.from_config(migrate.alembic_config(url))
    return [rev.revision for rev in script.walk_revisions()]


# -- (2) inbound Event Socket ---------------------------------------------------------------

Api = Callable[[str], str]


def check_event_socket(settings: Settings, timeout: float) -> tuple[Check, Api | None]:
    from fsconf.esl.connection import EslError
    from fsconf.esl.inbound import AuthenticationFailed, InboundClient, NotConnected

    fs = settings.freeswitch
    where = f"{fs.host}:{fs.port}"
    client = InboundClient(fs.host, fs.port, fs.password, timeout=timeout)
    try:
        client.connect()
    except AuthenticationFailed:
        return Check(
            "event socket", False, f"FreeSWITCH at {where} refused the password",
            "give FreeSWITCH and fsconf the same FSCONF_FREESWITCH_PASSWORD (vars.xml"
            " fsconf_esl_password; restart FreeSWITCH after changing its environment)",
        ), None
    except (NotConnected, EslError, OSError) as exc:
        return Check(
            "event socket", False, f"{exc}",
            f"start FreeSWITCH with mod_event_socket listening on {where}"
            " (event_socket.conf.xml listen-ip/listen-port = [freeswitch] host/port)",
        ), None
    try:
        status = client.api("status", timeout=timeout)
    except (EslError, OSError) as exc:
        client.close()
        return Check("event socket", False, f"`api status` failed at {where}: {exc}",
                     "check FreeSWITCH's log"), None
    first = status.strip().splitlines()[0] if status.strip() else "(empty reply)"
    if not first.startswith("UP"):
        client.close()
        return Check("event socket", False, f"`api status` at {where} says: {first}",
                     "wait until FreeSWITCH is ready, then check its log"), None
    version = next((ln for ln in status.splitlines() if "FreeSWITCH" in ln), "").strip()
    detail = f"{where} authenticated; {version or first}"

    def api(command: str) -> str:
        try:
            return client.api(command, timeout=timeout)
        finally:
            client.close()

    return Check("event socket", True, detail), api


# -- (3) conference profile -----------------------------------------------------------------


def check_conference(settings: Settings, api: Api | None, fs_conf: Path | None) -> Check:
    profile = settings.freeswitch.profile
    if api is None:
        return Check(
            "conference", False, "not checked: no Event Socket connection",
            "see the event socket line above",
        )
    try:
        reply = api("conference list")
    except Exception as exc:
        return Check("conference", False, f"`api conference list` failed: {_first_line(exc)}",
                     "check FreeSWITCH's log")
    if reply.startswith("-ERR"):
        return Check(
            "conference", False, f"`api conference list` answered {reply.strip()}",
            "load mod_conference (modules.conf.xml, then `load mod_conference`)",
        )
    if fs_conf is None:
        return Check(
            "conference", True,
            f"mod_conference answers (profile {profile!r} not checked: no --fs-conf DIR)",
        )
    problem, fix = _profile_problem(fs_conf, profile)
    if problem:
        return Check("conference", False, problem, fix)
    return Check(
        "conference", True,
        f"mod_conference answers; {fs_conf}/autoload_configs/conference.conf.xml has"
        f" profile {profile!r} with caller-controls none",
    )


def _profile_problem(fs_conf: Path, profile: str) -> tuple[str, str]:
    path = fs_conf / "autoload_configs" / "conference.conf.xml"
    install = (
        f"install freeswitch/conf/autoload_configs/conference.conf.xml as {path}"
        " (or merge its profile), then `reloadxml`"
    )
    if not path.is_file():
        return f"{path} not found", install
    try:
        root = ET.parse(path).getroot()
    except (ET.ParseError, OSError) as exc:
        return f"{path} does not parse: {exc}", f"repair the file, or {install}"
    found = [p for p in root.iter("profile") if p.get("name") == profile]
    if not found:
        return f"{path} has no profile {profile!r}", install
    params = {p.get("name"): p.get("value") for p in found[0].findall("param")}
    caller = params.get("caller-controls")
    if caller != "none":
        return (
            f"profile {profile!r} has caller-controls {caller or '(default)'}: FreeSWITCH"
            " would act on keys itself",
            f'set <param name="caller-controls" value="none"/> in {path}, then `reloadxml`',
        )
    moderator = params.get("moderator-controls", "none")
    if moderator != "none":
        return (
            f"profile {profile!r} has moderator-controls {moderator}: FreeSWITCH would act"
            " on the moderator's keys itself",
            f'set <param name="moderator-controls" value="none"/> in {path}, then `reloadxml`',
        )
    return "", ""


# -- (4) sound files ------------------------------------------------------------------------


def check_sounds(settings: Settings) -> Check:
    from fsconf.domain.prompts import CATALOGUE, LANGUAGES
    from fsconf.sounds.generate import number_files

    base = settings.ivr.sounds_dir
    if not base:
        return Check(
            "sounds", True,
            "[ivr] sounds_dir is empty: calls keep FreeSWITCH's own sound_prefix (the stock"
            " voice's folder), where fsconf's prompts are not, and no conference gets its"
            " language",
            "install the prompts (`make sounds`, or studio recordings) and set [ivr]"
            " sounds_dir to their folder, e.g. /usr/share/freeswitch/sounds/fsconf",
            warn=True,
        )
    root = Path(base)
    names = [p.file for p in CATALOGUE.values()] + number_files()
    wanted = [
        root / language / name.rsplit("/", 1)[0] / SOUND_RATE / name.rsplit("/", 1)[1]
        for language in LANGUAGES
        for name in names
    ]
    missing = [p for p in wanted if not p.is_file()]
    fix = (
        f"run `make sounds` and copy build/sounds/. to {root}/ (or install studio"
        " recordings under the same names)"
    )
    if not root.is_dir():
        return Check("sounds", False, f"{root} ([ivr] sounds_dir) does not exist", fix)
    if missing:
        return Check(
            "sounds", False,
            f"{len(missing)} of {len(wanted)} prompt files missing under {root}, e.g."
            f" {missing[0]}",
            fix,
        )
    return Check(
        "sounds", True,
        f"{len(wanted)} prompt files ({', '.join(LANGUAGES)}; {SOUND_RATE} Hz) under {root}",
    )


# -- (5) recordings -------------------------------------------------------------------------


def check_recordings(settings: Settings) -> Check:
    path = Path(settings.freeswitch.recordings_dir)
    fix = (
        f"install -d -o freeswitch -g fsconf -m 2770 {path}  (FreeSWITCH writes the names,"
        " fsconf removes them)"
    )
    if not path.is_dir():
        return Check("recordings", False, f"{path} does not exist", fix)
    try:
        with tempfile.NamedTemporaryFile(dir=path, prefix=".fsconf-doctor-"):
            pass
    except OSError as exc:
        return Check(
            "recordings", False,
            f"{path} is not writable by {_user()}: {exc.strerror or exc}", fix,
        )
    return Check("recordings", True, f"{path} is writable")


# -- (6) vars.xml's controller address ------------------------------------------------------

WILDCARD_HOSTS = ("0.0.0.0", "::", "")


def check_controller_address(settings: Settings, fs_conf: Path | None) -> Check:
    c = settings.controller
    listen = f"{c.host}:{c.port}"
    if fs_conf is None:
        return Check(
            "controller", True,
            f"[controller] listens on {listen} (vars.xml not checked: no --fs-conf DIR)",
        )
    path = fs_conf / "vars.xml"
    fix = (
        f"make fsconf_controller in {path} and [controller] host/port the same address,"
        " then `reloadxml`"
    )
    if not path.is_file():
        return Check("controller", True, f"{path} not found", fix, warn=True)
    try:
        value = _preprocess_var(path, "fsconf_controller")
    except (OSError, ET.ParseError) as exc:
        return Check("controller", True, f"{path} unreadable: {_first_line(exc)}", fix,
                     warn=True)
    if value is None:
        return Check("controller", True, f"{path} sets no fsconf_controller", fix, warn=True)
    host, _, port = value.rpartition(":")
    host = host.strip("[]")
    same_port = port == str(c.port)
    # A wildcard listen address answers on every address of the host, loopback included.
    same_host = host == c.host or (c.host in WILDCARD_HOSTS and is_loopback_host(host))
    if same_port and same_host:
        return Check("controller", True, f"vars.xml fsconf_controller {value} = [controller]")
    return Check(
        "controller", True,
        f"vars.xml fsconf_controller is {value} but [controller] listens on {listen}:"
        " FreeSWITCH hands its calls elsewhere",
        fix, warn=True,
    )


def _preprocess_var(path: Path, name: str) -> str | None:
    """The value a vars.xml `<X-PRE-PROCESS cmd="set" data="name=value"/>` gives, last wins."""
    value = None
    for node in ET.parse(path).getroot().iter("X-PRE-PROCESS"):
        key, eq, rest = (node.get("data") or "").partition("=")
        if node.get("cmd") == "set" and eq and key.strip() == name:
            value = rest.strip()
    return value


# -- (7) who may connect to the controller --------------------------------------------------


def check_acl(settings: Settings) -> Check:
    c = settings.controller
    risk = exposure(c.host, c.allow_from)
    if risk:
        return Check(
            "acl", True, risk,
            "keep [controller] host = 127.0.0.1 when FreeSWITCH runs on this host, or list"
            " FreeSWITCH's addresses in [controller] allow_from (and firewall the port)",
            warn=True,
        )
    return Check(
        "acl", True, f"controller on {c.host} admits {', '.join(c.allow_from)}",
    )


# -- (8) the caller ID invitees see ---------------------------------------------------------


def check_dialout_caller_id(settings: Settings) -> Check:
    number = settings.freeswitch.dialout_caller_id_number
    if number.strip("0") == "":
        return Check(
            "dial-out", True,
            f"invitees see caller ID {number or '(none)'} ([freeswitch]"
            " dialout_caller_id_number): many people do not answer it and trunks may refuse it",
            "set it to one of your access numbers, e.g."
            " FSCONF_FREESWITCH_DIALOUT_CALLER_ID_NUMBER=0201234567",
            warn=True,
        )
    return Check("dial-out", True, f"invitees see caller ID {number}")


def _user() -> str:
    try:
        import pwd

        return pwd.getpwuid(os.geteuid()).pw_name
    except (ImportError, KeyError):
        return "this user"


def _first_line(exc: object) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__
