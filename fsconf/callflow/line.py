"""The telephone line as the call flow sees it: play, collect digits, record, join.

This is the only call-flow module that names dialplan applications; it builds their
arguments from validated pieces so nothing a caller typed or sent ends up unchecked in
an Event Socket command.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from fsconf.config import IvrSettings
from fsconf.domain.prompts import prompt
from fsconf.domain.validate import safe_arg
from fsconf.esl.session import OutboundSession, RunningApp

_DIGITS = re.compile(r"^[0-9]+$")
# Between the invalid-entry and the next prompt a short pause sounds less abrupt.
_NO_INVALID_FILE = "silence_stream://250"


@dataclass(frozen=True)
class Recording:
    path: str
    milliseconds: int


class PhoneLine:
    def __init__(self, session: OutboundSession, ivr: IvrSettings) -> None:
        self.session = session
        self.ivr = ivr
        self.language = ivr.default_language
        self.answered = False

    # -- who is calling -----------------------------------------------------------------

    @property
    def uuid(self) -> str:
        return self.session.uuid

    @property
    def caller_id_number(self) -> str:
        return self.session.channel.get("Caller-Caller-ID-Number", "")

    @property
    def caller_id_name(self) -> str:
        return self.session.channel.get("Caller-Caller-ID-Name", "")

    @property
    def destination(self) -> str:
        return self.session.channel.get("Caller-Destination-Number", "")

    # -- media ----------------------------------------------------------------------------

    def answer(self) -> None:
        """Answer; point the sounds at the default language; let '#' end a recording."""
        self.session.queue("answer")  # the multiset after it is the one we wait for
        self.answered = True
        settings = ["playback_terminators=#"]
        if self.ivr.sounds_dir:
            settings.append(self._prefix(self.language))
        # One round trip for both: `record` stops on the playback terminators.
        self.session.execute("multiset", " ".join(settings))

    def set_language(self, language: str) -> None:
        """Point FreeSWITCH's sound prefix at the language's folder (prompts and `say`)."""
        self.language = language
        if self.ivr.sounds_dir:
            self.session.queue("set", self._prefix(language))  # prompts follow it anyway

    def _prefix(self, language: str) -> str:
        base = safe_arg(self.ivr.sounds_dir.rstrip("/"))
        return f"sound_prefix={base}/{safe_arg(language)}"

    def play(self, *keys: str, wait: bool = True) -> None:
        """Play prompts back to back (one playlist: one round trip, no gaps).

        wait=False queues the playback behind what is playing and returns: for a prompt
        that only leads into the next step, which then waits for both.
        """
        files = [prompt(key).file for key in keys]
        target = files[0] if len(files) == 1 else "file_string://" + "!".join(files)
        self._run("playback", target, self._play_timeout() * len(files), wait)

    def play_file(self, path: str) -> None:
        self.session.execute("playback", safe_arg(path), timeout=self._play_timeout())

    def say_number(self, number: int, wait: bool = True) -> None:
        module = "nl" if self.language == "nl" else "en"
        self._run("say", f"{module} NUMBER pronounced {int(number)}", None, wait)

    def _run(self, app: str, arg: str, timeout: float | None, wait: bool) -> None:
        if wait:
            self.session.execute(app, arg, timeout=timeout)
        else:
            self.session.queue(app, arg, timeout=timeout)

    def collect(self, key: str, max_digits: int) -> str | None:
        """One try: play the prompt, gather digits ended by '#'. None when nothing usable."""
        return self.collect_during([prompt(key).file], max_digits)

    def collect_during(self, files: list[str], max_digits: int) -> str | None:
        """Like collect, with a playlist: a key pressed during any of the files counts."""
        first = max(1000, self.ivr.first_digit_timeout_ms)
        inter = max(1000, self.ivr.inter_digit_timeout_ms)
        playlist = files[0] if len(files) == 1 else "file_string://" + "!".join(files)
        arg = (
            f"1 {int(max_digits)} 1 {first} # {safe_arg(playlist)} {_NO_INVALID_FILE} "
            f"fsconf_digits ^[0-9]+$ {inter}"
        )
        wait = self._play_timeout() + (first + inter * max_digits) / 1000
        result = self.session.execute("play_and_get_digits", arg, timeout=wait)
        if result.var("read_result") != "success":
            return None
        digits = result.var("fsconf_digits") or ""
        return digits if _DIGITS.match(digits) else None

    def record(self, path: str) -> Recording:
        """Record until '#' (set at answer), silence or the time limit."""
        arg = (
            f"{safe_arg(path)} {int(self.ivr.name_record_seconds)} "
            f"{int(self.ivr.name_silence_threshold)} {int(self.ivr.name_silence_seconds)}"
        )
        result = self.session.execute(
            "record", arg, timeout=self.ivr.name_record_seconds + self.session.timeout
        )
        return Recording(path, int(result.var("record_ms") or 0))

    def join(self, conference_arg: str) -> RunningApp:
        """Start the conference application; it runs until the member leaves."""
        return self.session.start("conference", safe_arg(conference_arg))

    def hangup(self, cause: str = "NORMAL_CLEARING") -> None:
        self.session.hangup(safe_arg(cause))

    def _play_timeout(self) -> float:
        # A prompt is seconds long; the command timeout covers the slowest one we ship.
        return self.session.timeout + 30.0
