"""`fsconf demo` is what a newcomer runs first: it must tell the whole story."""

from __future__ import annotations

import io
import os
import re
import sys
import time
from pathlib import Path

import gevent
import pytest

from fsconf.cli.main import main


def test_scripted_demo_runs_the_whole_meeting(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("FSCONF_DATABASE_URL", raising=False)
    assert main(["demo", "--dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    for expected in (
        "Anna (moderator) hears \u201cToets het vergadernummer",  # the join flow, in Dutch
        "Bram                   presses *3",
        "api conference fsconf-",  # what FreeSWITCH was told
        "Bram (participant) hears \u201cvoorzitter.\u201d",  # roll call marks the moderator
        "Anna (moderator) hears \u201cDe genodigde neemt deel aan de vergadering.\u201d",
        "0612345678   participant  kicked",  # *31 removed the invitee
        "0201111111   moderator    ended_by_moderator",
        "Setup fee",
        "total",
        "time 8x faster",  # the scripted meeting may run fast; the phone does not
    ):
        assert expected in out, expected
    assert (tmp_path / "demo.sqlite3").exists()


class _Screen(io.StringIO):
    """What a terminal receives (the phone shows its `keys>` prompt only on one)."""

    def isatty(self) -> bool:
        return True

    def rendered(self) -> list[str]:
        """The lines as a terminal shows them: a carriage return goes back to column 0
        and what follows overwrites what was there."""
        rows = []
        for raw in self.getvalue().split("\n"):
            row: list[str] = []
            col = 0
            for ch in raw:
                if ch == "\r":
                    col = 0
                    continue
                if col < len(row):
                    row[col] = ch
                else:
                    row.append(ch)
                col += 1
            rows.append("".join(row).rstrip())
        return rows


class _Typist:
    """A person at the demo phone: reads the screen, types lines into the phone's input."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.screen = _Screen()
        monkeypatch.setattr(sys, "stdout", self.screen)
        self.read_fd, self.write_fd = os.pipe()

    def wait_for(self, pattern: str, timeout: float = 60.0) -> re.Match[str]:
        deadline = time.monotonic() + timeout
        while (found := re.search(pattern, self.screen.getvalue())) is None:
            assert time.monotonic() < deadline, f"never shown: {pattern}"
            gevent.sleep(0.05)
        return found

    def wait_count(self, pattern: str, count: int, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while len(re.findall(pattern, self.screen.getvalue())) < count:
            assert time.monotonic() < deadline, f"shown fewer than {count} times: {pattern}"
            gevent.sleep(0.05)

    def type(self, line: str) -> None:
        os.write(self.write_fd, line.encode() + b"\n")

    def close(self) -> None:
        """End of input: the phone hangs up (also when the person's checks failed)."""
        if self.write_fd >= 0:
            os.close(self.write_fd)
            self.write_fd = -1


def _run_phone(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, person, *argv: str) -> str:
    """`fsconf demo --interactive` with `person(typist)` at the keyboard."""
    from fsconf.demo import phone

    typist = _Typist(monkeypatch)
    real = phone.run_phone
    monkeypatch.setattr(phone, "run_phone",
                        lambda *a, **kw: real(*a, **kw, keys_fd=typist.read_fd))
    monkeypatch.delenv("FSCONF_DATABASE_URL", raising=False)
    worker = gevent.spawn(person, typist)
    worker.link_exception(lambda _: typist.close())
    try:
        assert main(["demo", "--interactive", "--dir", str(tmp_path), *argv]) == 0
    finally:
        typist.close()
    worker.get(timeout=10)  # the person's own checks
    return typist.screen


def test_interactive_phone_runs_in_real_time_and_hangs_up_on_q(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    waited: list[float] = []

    def person(typist: _Typist) -> None:
        typist.wait_for("You hear +\u201cWelkom")
        started = time.monotonic()
        typist.wait_for("You hear +\u201cToets het vergadernummer")
        # The welcome prompt lasts two seconds; the scripted demo's 8x pace took 0.25 s.
        waited.append(time.monotonic() - started)
        typist.type("hello")
        typist.wait_for(r"only 0-9")
        typist.type("q")

    screen = _run_phone(monkeypatch, tmp_path, person)
    out = screen.getvalue()
    assert waited[0] >= 1.9
    heard = [line for line in out.splitlines() if "You hear " in line]
    assert "\u201cWelkom" in heard[0] and "\u201cToets het vergadernummer" in heard[1]
    assert "You hears" not in out and "You dials" not in out
    assert re.search(r"controller on 127\.0\.0\.1:\d+\n", out)  # host:port, not a tuple
    assert "faster" not in out
    assert screen.rendered()[-2] == "call ended (NORMAL_CLEARING)"


def test_phone_stops_asking_for_keys_when_the_call_ends(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def person(typist: _Typist) -> None:
        number = typist.wait_for(r"Conference (\d+): moderator PIN").group(1)
        typist.wait_for("You hear +\u201cToets het vergadernummer")
        typist.type(number + "#")
        for n in range(1, 4):  # three wrong PINs: the service says goodbye and hangs up
            typist.wait_count("You hear +\u201cToets de pincode", n)
            typist.type("0#")
        # Never types 'q' and never closes the keyboard: the phone must notice by itself.
        typist.wait_for(r"call ended \(")

    screen = _run_phone(monkeypatch, tmp_path, person)
    shown = [line for line in screen.rendered() if line]
    assert shown[-1].startswith("call ended (")
    assert "You hear" in shown[-2] or "FreeSWITCH" in shown[-2]
    assert not any(line.startswith("keys>") and line.strip() == "keys>" for line in shown)
    assert len(re.findall(r"You +press 0#", screen.getvalue())) == 3


def test_an_english_demo_shows_english_words(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def person(typist: _Typist) -> None:
        typist.wait_for("You hear +\u201cEnter the conference number")
        typist.type("q")

    out = _run_phone(monkeypatch, tmp_path, person, "--language", "en").getvalue()
    assert re.search("You hear +\u201cWelcome to the conference service.\u201d", out)
    assert "Welkom" not in out and "Toets" not in out


def test_two_node_demo_shows_callers_on_both_nodes_in_one_meeting(
    database_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("the two-node demo needs PostgreSQL (clustering is refused on SQLite)")
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    # The server, not this run's schema: the demo makes (and drops) its own.
    server = make_url(database_url).set(query={}).render_as_string(hide_password=False)
    monkeypatch.setenv("FSCONF_DATABASE_URL", server)
    assert main(["demo", "--nodes", "2", "--dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    for expected in (
        f"{'Anna':<22} dials 0201234567 (caller ID 0201111111) on node a",
        "room lease: owner node a, epoch 1",
        f"{'Bram':<22} dials 0201234567 (caller ID 0302222222) on node b",
        "Bram rang node b; the meeting is on node a",
        "Carla rang node b; the meeting is on node a",
        "bridge",  # what node b's controller told its FreeSWITCH
        f"{'  FreeSWITCH a event':<22} add-member Bram (bridged to a)",
        "Anna (moderator) hears (a recorded name)",  # Bram's, recorded on b, played on a
        "Bram (bridged to a) hears \u201cAanwezig zijn:\u201d",  # the roll call, on a
        f"  {'0302222222':<12} {'participant':<12} {'b':<10} ended_by_moderator",
        f"  {'0201111111':<12} {'moderator':<12} {'a':<10} ended_by_moderator",
    ):
        assert expected in out, expected
    [schema] = re.findall(r"throwaway schema (fsconf_demo_[0-9a-f]+)", out)
    with create_engine(server).connect() as conn:  # the demo dropped its schema
        left = conn.execute(text(
            "SELECT count(*) FROM information_schema.schemata WHERE schema_name = :s"),
            {"s": schema}).scalar()
    assert left == 0


def test_two_node_demo_without_postgresql_says_what_it_needs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("FSCONF_DATABASE_URL", raising=False)
    try:
        code = main(["demo", "--nodes", "2", "--dir", str(tmp_path)])
    except SystemExit as exc:
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    assert code == 2 and out == ""
    assert len(err.strip().splitlines()) == 1
    assert "needs PostgreSQL" in err and "FSCONF_DATABASE_URL" in err
