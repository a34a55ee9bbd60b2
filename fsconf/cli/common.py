"""What every command group shares: errors, settings, database, output."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import re
import sys
import unicodedata
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from sqlalchemy.orm import Session

from fsconf.config import ConfigError, Settings, load_settings
from fsconf.store.session import Database

EXIT_BAD_INPUT = 2


class CliError(Exception):
    """Bad operator input or an unusable state: one line on stderr, exit status 2."""


def settings_from(args: argparse.Namespace) -> Settings:
    try:
        return load_settings(getattr(args, "config", None))
    except ConfigError as exc:
        raise CliError(f"configuration: {exc}") from None


@contextmanager
def database(args: argparse.Namespace) -> Iterator[Database]:
    settings = settings_from(args)
    db = Database(
        settings.database_url, busy_timeout=settings.database.sqlite_busy_timeout,
        synchronous=settings.database.sqlite_synchronous,
    )
    try:
        yield db
    finally:
        db.dispose()


@contextmanager
def unit_of_work(args: argparse.Namespace) -> Iterator[Session]:
    with database(args) as db, db.unit_of_work() as session:
        yield session


def _jsonable(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


# What JSON itself leaves raw but a terminal would act on: DEL, C1 controls (\x9b is a
# CSI), format characters (bidi overrides) and line/paragraph separators.
# (json.dumps already escapes U+0000-U+001F; only characters past ASCII need a look.)
_JSON_UNSAFE = re.compile("[^\x00-\x7e]")


def _json_escape(match: re.Match[str]) -> str:
    ch = match.group()
    category = unicodedata.category(ch)
    if category == "Cs":  # a lone surrogate: one code unit
        return f"\\u{ord(ch):04x}"
    if category[0] == "C" or category in ("Zl", "Zp"):
        data = ch.encode("utf-16-be")
        return "".join(f"\\u{int.from_bytes(data[i:i + 2], 'big'):04x}"
                       for i in range(0, len(data), 2))
    return ch


def print_json(data: Any) -> None:
    """Data for scripts: values stay whole (no cutting, unlike tables), but every
    character a terminal would act on is \\u-escaped, so `--json` on a terminal is safe
    and a JSON parser still reads the exact value."""
    text = json.dumps(data, default=_jsonable, indent=2, ensure_ascii=False)
    sys.stdout.write(_JSON_UNSAFE.sub(_json_escape, text))
    sys.stdout.write("\n")


def money(cents: int, currency: str = "EUR") -> str:
    """Money as an operator reads it: ``EUR 12.10`` (integer cents, never floats)."""
    sign = "-" if cents < 0 else ""
    whole, rest = divmod(abs(cents), 100)
    return f"{currency} {sign}{whole}.{rest:02d}"


CELL_LIMIT = 60  # characters of caller or customer text shown in a table cell
# Whole terminal escape sequences (CSI, OSC, two-byte ESC), so no "[2J" debris remains.
_ESCAPES = re.compile(
    r"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)?|[@-_])|\x9b[0-?]*[ -/]*[@-~]"
)


def printable(text: str, limit: int = CELL_LIMIT) -> str:
    """Caller or customer text made safe for a terminal: control and format characters
    (escape sequences, bidi overrides) dropped, runs of white space folded, cut to
    `limit` display columns with an ellipsis. Use it wherever such text is printed."""
    kept = "".join(
        " " if ch.isspace() else ch
        for ch in _ESCAPES.sub("", text)
        if ch.isspace() or unicodedata.category(ch)[0] != "C"
    )
    folded = " ".join(kept.split())
    if display_width(folded) <= limit:
        return folded
    out, used = [], 0
    for ch in folded:
        w = display_width(ch)
        if used + w > limit - 1:
            break
        out.append(ch)
        used += w
    return "".join(out) + "\u2026"


def display_width(text: str) -> int:
    """Terminal columns: wide (East Asian) characters take two, combining marks none."""
    width = 0
    for ch in text:
        if unicodedata.combining(ch):
            continue
        width += 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1
    return width


def _pad(text: str, width: int) -> str:
    return text + " " * (width - display_width(text))


def print_table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """A plain aligned table for people; scripts use --json. Every cell goes through
    `printable`, so caller or customer text cannot move the cursor or stretch the table."""
    cells = [[_cell(v) for v in row] for row in rows]
    widths = [display_width(h) for h in headers]
    for row in cells:
        for i, value in enumerate(row):
            widths[i] = max(widths[i], display_width(value))
    print("  ".join(_pad(h, w) for h, w in zip(headers, widths, strict=True)).rstrip())
    print("  ".join("-" * w for w in widths))
    for row in cells:
        print("  ".join(_pad(v, w) for v, w in zip(row, widths, strict=True)).rstrip())
    if not rows:
        print("(none)")


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, dt.datetime):
        return value.replace(microsecond=0).isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, bool):
        return "yes" if value else "no"
    return printable(str(value))


def common_parent() -> argparse.ArgumentParser:
    """Options every command accepts, wherever they are written on the line."""
    parent = argparse.ArgumentParser(add_help=False)
    parent.add_argument(
        "--config", metavar="FILE", default=argparse.SUPPRESS, help="TOML settings file"
    )
    return parent


# --- Shared by the operator command groups (customer, number, conference, billing, ...) ---


def add_json_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--json", action="store_true", default=argparse.SUPPRESS, help="machine-readable output"
    )


def wants_json(args: argparse.Namespace) -> bool:
    return bool(getattr(args, "json", False))


def add_actor_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--actor",
        metavar="NAME",
        default=argparse.SUPPRESS,
        help="who is making the change, for the audit log (default: $FSCONF_OPERATOR or the"
        " OS user)",
    )


def actor_of(args: argparse.Namespace) -> str:
    from fsconf.services.audit import resolve_actor
    from fsconf.services.errors import ServiceError

    try:
        return resolve_actor(getattr(args, "actor", None))
    except ServiceError as exc:
        raise CliError(str(exc)) from None


INT_MAX = 2**31 - 1  # the database's INTEGER (PostgreSQL's int4): ids and limits fit


def parse_int(text: str, what: str) -> int:
    """An integer option value, or a one-line CliError naming the option."""
    value = text.strip()
    if not value.lstrip("-").isdigit() or not value.isascii():
        raise CliError(f"{what} must be a whole number, got {text!r}")
    number = int(value)
    if abs(number) > INT_MAX:
        raise CliError(f"{what} is too large: {text.strip()}")
    return number


_DATE = re.compile(r"(\d{4})-(\d{2})-(\d{2})")


def parse_date(text: str, what: str) -> dt.date:
    """A YYYY-MM-DD option value; a well-written date that does not exist (2026-02-30)
    is told apart from a badly written one."""
    found = _DATE.fullmatch(text.strip())
    if found is None:
        raise CliError(f"{what} must be a date written YYYY-MM-DD, got {text!r}")
    try:
        return dt.date(*(int(part) for part in found.groups()))
    except ValueError as exc:
        raise CliError(f"{what}: {text.strip()} is not a real date ({exc})") from None


def utc_today() -> dt.date:
    return dt.datetime.now(dt.UTC).date()


@contextmanager
def service_session(args: argparse.Namespace) -> Iterator[Session]:
    """A unit of work whose service errors become CliErrors (after the rollback)."""
    from fsconf.services.errors import ServiceError

    try:
        with unit_of_work(args) as session:
            yield session
    except ServiceError as exc:
        raise CliError(str(exc)) from None
