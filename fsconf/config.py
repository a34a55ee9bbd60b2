"""Settings: one object, read from a TOML file, overridden by the environment.

Precedence (lowest first): built-in defaults, the config file (``--config`` or
``FSCONF_CONFIG``), then environment variables ``FSCONF_<SECTION>_<KEY>`` (for example
``FSCONF_DATABASE_URL`` or ``FSCONF_FREESWITCH_PASSWORD``). The object is passed
explicitly to whatever needs it; there is no module-level global.
"""

from __future__ import annotations

import dataclasses
import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from fsconf.acl import parse_networks

ENV_PREFIX = "FSCONF_"


class ConfigError(ValueError):
    """The configuration cannot be used; the message says which key and why."""


def default_data_dir(environ: Mapping[str, str] | None = None) -> Path:
    """Per-user data directory (XDG on Linux), where the embedded database lives."""
    env = os.environ if environ is None else environ
    base = env.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "fsconf"


def default_database_url(environ: Mapping[str, str] | None = None) -> str:
    return f"sqlite:///{default_data_dir(environ) / 'fsconf.sqlite3'}"


@dataclass(frozen=True)
class DatabaseSettings:
    url: str = ""
    echo: bool = False
    # Seconds a SQLite writer waits for the lock before giving up.
    sqlite_busy_timeout: float = 5.0
    # SQLite's PRAGMA synchronous. NORMAL (with the WAL journal we use) never corrupts
    # and survives a crash of the process; only a power cut can lose the last commits.
    # FULL also survives that, at an fsync per commit, each of which stalls every call.
    sqlite_synchronous: str = "NORMAL"


@dataclass(frozen=True)
class ControllerSettings:
    host: str = "127.0.0.1"
    port: int = 8084
    max_calls: int = 500
    node: str = "fs1"
    # Seconds to wait for any single FreeSWITCH reply or event before treating the call as lost.
    command_timeout: float = 10.0
    graceful_stop_timeout: float = 30.0
    # After a restart, reconcile with FreeSWITCH and take back the keypads of callers still
    # in conferences (over the inbound Event Socket).
    reconcile_on_start: bool = True
    heartbeat_seconds: float = 10.0
    # Addresses or networks FreeSWITCH connects from; anyone else is refused at once.
    # 0.0.0.0/0 and ::/0 admit every address (no protection).
    allow_from: tuple[str, ...] = ("127.0.0.0/8", "::1")


@dataclass(frozen=True)
class FreeSwitchSettings:
    """The inbound Event Socket of the switch (for live views, operator actions, dial-out)."""

    host: str = "127.0.0.1"
    port: int = 8021
    password: str = "ClueCon"
    profile: str = "fsconf"
    # Where recorded names go; must be writable by FreeSWITCH and readable by it for playback.
    recordings_dir: str = "/var/lib/freeswitch/recordings/fsconf"
    # Dial string for *8 invitations; {number} is replaced by the validated number.
    dialout_string: str = "sofia/gateway/fsconf_trunk/{number}"
    # The dialplan extension (in context `invite_context`) an invited callee is sent to.
    invite_extension: str = "fsconf_invite"
    invite_context: str = "fsconf"
    dialout_caller_id_number: str = "0000000000"


@dataclass(frozen=True)
class IvrSettings:
    sounds_dir: str = ""  # empty: relative paths, resolved by FreeSWITCH's sound_prefix
    default_language: str = "nl"
    conference_number_max_digits: int = 9
    pin_max_digits: int = 8
    tries: int = 3
    first_digit_timeout_ms: int = 7000
    inter_digit_timeout_ms: int = 3000
    name_record_seconds: int = 5
    name_silence_threshold: int = 200
    name_silence_seconds: int = 2
    keypad_inter_digit_timeout: float = 1.5
    invite_number_timeout: float = 10.0
    invite_accept_timeout_ms: int = 15000


@dataclass(frozen=True)
class SecuritySettings:
    pin_length: int = 6
    conference_number_length: int = 6
    # Brute-force limits: failures within `window_seconds` block PIN entry for `block_seconds`.
    max_failures_per_conference: int = 10
    max_failures_per_caller: int = 5
    window_seconds: int = 600
    block_seconds: int = 900
    # Caller IDs that were in a conference within this many days keep PIN entry while
    # that conference is locked out (0: nobody does).
    trusted_caller_days: int = 90


@dataclass(frozen=True)
class DialOutSettings:
    allow: tuple[str, ...] = ()  # empty: the built-in Dutch national policy
    deny: tuple[str, ...] = ()
    max_concurrent: int = 2
    max_per_hour: int = 10
    answer_timeout_seconds: int = 30


@dataclass(frozen=True)
class BillingSettings:
    currency: str = "EUR"
    setup_fee_cents: int = 2500
    monthly_fee_cents: int = 1000
    # VAT in basis points (2100 = 21.00%) so no float ever touches money.
    vat_basis_points: int = 2100
    dialout_cents_per_minute: int = 5
    # Days between an invoice's date and its due date.
    payment_terms_days: int = 14


@dataclass(frozen=True)
class ClusterSettings:
    """Scale-out over several FreeSWITCH nodes sharing one PostgreSQL (README "Scaling out").

    `node` unset: single-node, exactly as before. `secret` signs the X-Fsconf headers of
    the legs bridged between nodes; it comes only from FSCONF_CLUSTER_SECRET.
    """

    node: str = ""
    # host:port of this node's internal SIP profile, published in its node row.
    internal_sip: str = ""
    # host:port where operators' `fsconf live` reaches this node's inbound Event Socket
    # (empty: [freeswitch] host:port); the same password on every node.
    esl_address: str = ""
    secret: str = ""
    lease_seconds: float = 10.0
    # Members on a node above which new rooms are placed elsewhere (0: no limit).
    max_members: int = 0
    # The internal profile and its dialplan context (freeswitch/conf, deploy helper).
    internal_profile: str = "internal"
    internal_context: str = "fsconf_internal"
    # How long a bridged leg lives without media once its far node died (FINDINGS 21).
    media_timeout_ms: int = 3000
    # Seconds an X-Fsconf signature stays valid (the bridge is set up within it).
    signature_seconds: int = 30

    @property
    def enabled(self) -> bool:
        return bool(self.node)


@dataclass(frozen=True)
class Settings:
    database: DatabaseSettings = field(default_factory=DatabaseSettings)
    controller: ControllerSettings = field(default_factory=ControllerSettings)
    freeswitch: FreeSwitchSettings = field(default_factory=FreeSwitchSettings)
    ivr: IvrSettings = field(default_factory=IvrSettings)
    security: SecuritySettings = field(default_factory=SecuritySettings)
    dialout: DialOutSettings = field(default_factory=DialOutSettings)
    billing: BillingSettings = field(default_factory=BillingSettings)
    cluster: ClusterSettings = field(default_factory=ClusterSettings)

    @property
    def node(self) -> str:
        """This controller's name in the node table: the cluster node, else controller.node."""
        return self.cluster.node or self.controller.node

    @property
    def database_url(self) -> str:
        return self.database.url or default_database_url()

    def redacted(self) -> dict[str, dict[str, Any]]:
        """The settings as plain data with every secret masked, safe to print or log."""
        out: dict[str, dict[str, Any]] = {}
        for section in fields(self):
            values = dataclasses.asdict(getattr(self, section.name))
            out[section.name] = values
        out["database"]["url"] = redact_url(self.database_url)
        out["freeswitch"]["password"] = "***"
        out["cluster"]["secret"] = "***" if self.cluster.secret else ""
        return out


def redact_url(url: str) -> str:
    """Hide the password of a database URL (``user:***@host``)."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.rsplit("@", 1)[1]
    user = parts.username or ""
    return urlunsplit(parts._replace(netloc=f"{user}:***@{netloc}"))


def _coerce(section: str, key: str, current: Any, raw: Any) -> Any:
    """Turn a file or environment value into the type of the default, or say why not."""
    where = f"{section}.{key}"
    try:
        if isinstance(current, bool):
            if isinstance(raw, bool):
                return raw
            text = str(raw).strip().lower()
            if text in ("1", "true", "yes", "on"):
                return True
            if text in ("0", "false", "no", "off"):
                return False
            raise ValueError(raw)
        if isinstance(current, int):
            # int(8084.5) would be 8084: a fractional value is refused, never truncated.
            if isinstance(raw, bool | float):
                raise ValueError(raw)
            return int(raw)
        if isinstance(current, float):
            return float(raw)
        if isinstance(current, tuple):
            if isinstance(raw, str):
                return tuple(p.strip() for p in raw.split(",") if p.strip())
            if isinstance(raw, list) and all(isinstance(p, str) for p in raw):
                return tuple(raw)
            raise ValueError(raw)
        if isinstance(raw, str):
            return raw
        raise ValueError(raw)
    except ValueError:
        kind = type(current).__name__
        raise ConfigError(f"{where}: expected {kind}, got {raw!r}") from None


def _apply(settings: Settings, overrides: Mapping[str, Mapping[str, Any]], origin: str) -> Settings:
    sections = {f.name: getattr(settings, f.name) for f in fields(settings)}
    for section, values in overrides.items():
        if section not in sections:
            raise ConfigError(f"{origin}: unknown section [{section}]")
        if not isinstance(values, Mapping):
            raise ConfigError(f"{origin}: [{section}] must be a table")
        current = sections[section]
        known = {f.name for f in fields(current)}
        changes = {}
        for key, raw in values.items():
            name = key.replace("-", "_")
            if name not in known:
                raise ConfigError(f"{origin}: unknown key {section}.{key}")
            changes[name] = _coerce(section, name, getattr(current, name), raw)
        sections[section] = replace(current, **changes)
    return Settings(**sections)


# FSCONF_* variables that are not settings: read elsewhere (the audit actor, the config
# path, the trunk password FreeSWITCH reads from the same env file) or by the test suite.
OTHER_ENV = frozenset(
    f"{ENV_PREFIX}{n}" for n in ("CONFIG", "OPERATOR", "TRUNK_PASSWORD", "TEST_DATABASE_URL",
                                 "SIM_SELF_CHECK")
)


def _env_overrides(environ: Mapping[str, str], settings: Settings) -> dict[str, dict[str, str]]:
    out: dict[str, dict[str, str]] = {}
    known = set(OTHER_ENV)
    for f in fields(settings):
        for sub in fields(getattr(settings, f.name)):
            name = f"{ENV_PREFIX}{f.name}_{sub.name}".upper()
            known.add(name)
            if name in environ:
                out.setdefault(f.name, {})[sub.name] = environ[name]
    # A misspelt variable (FSCONF_CONTROLLER_PROT) must not silently leave the default.
    unknown = sorted(k for k in environ if k.startswith(ENV_PREFIX) and k not in known)
    if unknown:
        raise ConfigError(f"environment: unknown variable {unknown[0]}")
    return out


# SQLite's PRAGMA synchronous levels (database.sqlite_synchronous).
SQLITE_SYNCHRONOUS = ("OFF", "NORMAL", "FULL", "EXTRA")


# Database URLs we can open: SQLite, and PostgreSQL through psycopg 3 (which cooperates
# with gevent); anything else would fail later with a driver import error.
_DATABASE_URL = re.compile(r"(sqlite(\+pysqlite)?|postgresql\+psycopg)://[^\s]*")


def _check_database_url(url: str) -> None:
    if _DATABASE_URL.fullmatch(url):
        return
    scheme = url.partition("://")[0] if "://" in url else ""
    if scheme.startswith("postgres"):
        raise ConfigError(
            f"database.url: use postgresql+psycopg://... for PostgreSQL, got {scheme}://"
        )
    if scheme:
        raise ConfigError(
            f"database.url: unsupported database {scheme!r}; use sqlite:///PATH or"
            " postgresql+psycopg://USER:PASS@HOST/DB"
        )
    raise ConfigError(
        "database.url: not a database URL; use sqlite:///PATH or"
        " postgresql+psycopg://USER:PASS@HOST/DB"
    )


def _check_patterns(section: str, key: str, patterns: tuple[str, ...]) -> None:
    for pattern in patterns:
        try:
            re.compile(pattern)
        except re.error as exc:
            raise ConfigError(
                f"{section}.{key}: {pattern!r} is not a regular expression ({exc})"
            ) from None


def validate(settings: Settings) -> Settings:
    if settings.database.url:
        _check_database_url(settings.database.url)
    for section, key in (("controller", "port"), ("freeswitch", "port")):
        port = getattr(getattr(settings, section), key)
        if not 1 <= port <= 65535:
            raise ConfigError(f"{section}.{key}: must be between 1 and 65535, got {port}")
    _check_patterns("dialout", "allow", settings.dialout.allow)
    _check_patterns("dialout", "deny", settings.dialout.deny)
    for key in ("setup_fee_cents", "monthly_fee_cents", "dialout_cents_per_minute"):
        if getattr(settings.billing, key) < 0:
            raise ConfigError(f"billing.{key}: must not be negative")
    if settings.database.sqlite_synchronous.upper() not in SQLITE_SYNCHRONOUS:
        raise ConfigError(
            "database.sqlite_synchronous: must be one of " + ", ".join(SQLITE_SYNCHRONOUS)
        )
    if settings.ivr.default_language not in ("nl", "en"):
        raise ConfigError("ivr.default_language: must be nl or en")
    if not 4 <= settings.security.pin_length <= 8:
        raise ConfigError("security.pin_length: must be between 4 and 8")
    if not 4 <= settings.security.conference_number_length <= 9:
        raise ConfigError("security.conference_number_length: must be between 4 and 9")
    if settings.security.trusted_caller_days < 0:
        raise ConfigError("security.trusted_caller_days: must be 0 or more")
    if not settings.controller.allow_from:
        raise ConfigError(
            "controller.allow_from: must list at least one address or network"
            " (0.0.0.0/0 and ::/0 admit every address)"
        )
    try:
        parse_networks(settings.controller.allow_from)
    except ValueError as exc:
        raise ConfigError(f"controller.allow_from: {exc}") from None
    if settings.controller.max_calls < 1:
        raise ConfigError("controller.max_calls: must be at least 1")
    if not 0 <= settings.billing.vat_basis_points <= 10000:
        raise ConfigError("billing.vat_basis_points: must be between 0 and 10000")
    if not 0 <= settings.billing.payment_terms_days <= 365:
        raise ConfigError("billing.payment_terms_days: must be between 0 and 365")
    if "{number}" not in settings.freeswitch.dialout_string:
        raise ConfigError("freeswitch.dialout_string: must contain {number}")
    _check_cluster(settings)
    return settings


_NODE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_HOST_PORT = re.compile(r"^[A-Za-z0-9.-]+:[0-9]{1,5}$")


def cluster_secret_problem(settings: Settings) -> str | None:
    """What keeps this node from signing room legs (`fsconf serve`, `fsconf doctor`);
    operator commands on the database do not need the secret."""
    if settings.cluster.enabled and len(settings.cluster.secret) < 16:
        return "cluster.secret: set FSCONF_CLUSTER_SECRET (at least 16 characters)"
    return None


def _check_cluster(settings: Settings) -> None:
    c = settings.cluster
    if not c.enabled:
        return
    if not _NODE_NAME.fullmatch(c.node):
        raise ConfigError("cluster.node: letters, digits, '.', '_', '-' only, at most 64")
    if not _HOST_PORT.fullmatch(c.internal_sip):
        raise ConfigError(
            "cluster.internal_sip: must be host:port of this node's internal SIP profile"
        )
    if c.esl_address and not _HOST_PORT.fullmatch(c.esl_address):
        raise ConfigError("cluster.esl_address: must be host:port of this node's Event Socket")
    if c.lease_seconds < 1:
        raise ConfigError("cluster.lease_seconds: must be at least 1")
    if c.max_members < 0:
        raise ConfigError("cluster.max_members: must be 0 (no limit) or more")
    if not settings.database_url.startswith("postgresql"):
        raise ConfigError(
            "cluster: a cluster needs PostgreSQL (database.url); SQLite serves one node only"
        )


def load_settings(
    path: str | os.PathLike[str] | None = None, environ: Mapping[str, str] | None = None
) -> Settings:
    """Build the settings from defaults, the config file and the environment."""
    env = os.environ if environ is None else environ
    settings = Settings()
    file_path = path or env.get(f"{ENV_PREFIX}CONFIG")
    if file_path:
        p = Path(file_path)
        try:
            data = tomllib.loads(p.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError(f"config file not found: {p}") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"config file {p} is not valid TOML: {exc}") from None
        if isinstance(data.get("cluster"), dict) and "secret" in data["cluster"]:
            raise ConfigError(
                f"{p}: cluster.secret must not be in the file; set FSCONF_CLUSTER_SECRET"
            )
        settings = _apply(settings, data, str(p))
    settings = _apply(settings, _env_overrides(env, settings), "environment")
    if not settings.database.url:
        settings = replace(
            settings, database=replace(settings.database, url=default_database_url(env))
        )
    return validate(settings)
