"""`fsconf demo` is what a newcomer runs first: it must tell the whole story."""

from __future__ import annotations

from pathlib import Path

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
    ):
        assert expected in out, expected
    assert (tmp_path / "demo.sqlite3").exists()


def test_interactive_phone_shows_prompts_and_sends_keys(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import builtins

    import gevent

    typed = iter(["hello", "q"])

    def fake_input(prompt: str = "") -> str:
        gevent.sleep(0.5)  # a person reads the first prompts before typing
        return next(typed)

    monkeypatch.setattr(builtins, "input", fake_input)
    monkeypatch.delenv("FSCONF_DATABASE_URL", raising=False)
    assert main(["demo", "--interactive", "--dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    heard = [line for line in out.splitlines() if "You hears" in line]
    assert "\u201cWelkom" in heard[0] and "\u201cToets het vergadernummer" in heard[1]
    assert "(only 0-9, * and # are keys on a phone)" in out
    assert "call ended" in out
