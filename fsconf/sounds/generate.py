"""Generate stand-in prompts: `python -m fsconf.sounds.generate --out build/sounds`.

Every prompt of the catalogue (fsconf/domain/prompts.py) is spoken by espeak-ng in
Dutch and English (its own text from the catalogue), and so are the number words that
FreeSWITCH's `say` plays for the participant count. sox turns each into mono 16-bit WAV
at 8 kHz and 16 kHz, laid out the way FreeSWITCH looks for sounds:

    <out>/<language>/fsconf/<rate>/<prompt>.wav     e.g. build/sounds/nl/fsconf/8000/welcome.wav
    <out>/<language>/digits/<rate>/<n>.wav          e.g. build/sounds/en/digits/16000/hundred.wav

Point [ivr] sounds_dir at the installed copy of <out>: the controller sets each call's
sound_prefix to <sounds_dir>/<language>. The `tone` prompt is a beep (sox synth), not
speech. The same input gives byte-identical files (espeak-ng is deterministic; sox runs
with -R, without dither, and WAV headers carry no timestamps).

Needs the Debian packages espeak-ng and sox; without them it stops with exit status 1
and says how to install them. Studio recordings replace the stand-ins file for file.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from fsconf.domain.prompts import CATALOGUE, LANGUAGES, spoken_number_files

RATES = (8000, 16000)
VOICES = {"nl": "nl", "en": "en"}  # espeak-ng voice per catalogue language
DEBIAN_PACKAGES = ("espeak-ng", "sox")
TOOLS = ("espeak-ng", "sox")
SPEED_WPM = 150  # a little slower than espeak-ng's 175: telephone listeners
TONE_KEY = "tone"
TONE_SECONDS = 0.4
TONE_HZ = 1000

# What mod_say_en.c and mod_say_nl.c play for `say <lang> NUMBER pronounced N` (both
# modules share play_group(): hundreds "digits/<h>.wav digits/hundred.wav", then tens
# "digits/<t>0.wav" (t >= 2) or the teens "digits/1<u>.wav", then units "digits/<u>.wav";
# zero is "digits/0.wav"). Dutch gets the English word order (21 = "twintig een"): that
# is mod_say_nl's behaviour, not ours to change here.
NUMBER_WORDS: dict[str, dict[str, str]] = {
    "nl": {
        "0": "nul", "1": "een", "2": "twee", "3": "drie", "4": "vier", "5": "vijf",
        "6": "zes", "7": "zeven", "8": "acht", "9": "negen", "10": "tien", "11": "elf",
        "12": "twaalf", "13": "dertien", "14": "veertien", "15": "vijftien",
        "16": "zestien", "17": "zeventien", "18": "achttien", "19": "negentien",
        "20": "twintig", "30": "dertig", "40": "veertig", "50": "vijftig", "60": "zestig",
        "70": "zeventig", "80": "tachtig", "90": "negentig", "hundred": "honderd",
    },
    "en": {
        "0": "zero", "1": "one", "2": "two", "3": "three", "4": "four", "5": "five",
        "6": "six", "7": "seven", "8": "eight", "9": "nine", "10": "ten", "11": "eleven",
        "12": "twelve", "13": "thirteen", "14": "fourteen", "15": "fifteen",
        "16": "sixteen", "17": "seventeen", "18": "eighteen", "19": "nineteen",
        "20": "twenty", "30": "thirty", "40": "forty", "50": "fifty", "60": "sixty",
        "70": "seventy", "80": "eighty", "90": "ninety", "hundred": "hundred",
    },
}


class SoundsError(RuntimeError):
    """The sounds cannot be generated; the message says why and what to do."""


def say_number_files(n: int) -> list[str]:
    """The files mod_say_en / mod_say_nl play for NUMBER pronounced n (0..999)."""
    return spoken_number_files(n)


def number_files() -> list[str]:
    """Every digits/ file `say` needs for 0..999, sorted."""
    names = {name for n in range(1000) for name in say_number_files(n)}
    return sorted(names, key=lambda s: (not s[7].isdigit(), len(s), s))


@dataclass(frozen=True)
class Sound:
    language: str
    name: str  # relative to the sound prefix, as played: "fsconf/welcome.wav"
    text: str | None  # words to speak; None for the tone

    def path(self, out: Path, rate: int) -> Path:
        """<out>/<language>/<category>/<rate>/<file>: FreeSWITCH's sound-folder layout."""
        category, file = self.name.rsplit("/", 1)
        return out / self.language / category / str(rate) / file


def sounds(languages: Iterable[str] = LANGUAGES, keys: Iterable[str] | None = None) -> list[Sound]:
    """What to generate: catalogue prompts (all, or the given keys) and number words."""
    wanted = list(CATALOGUE) if keys is None else list(keys)
    unknown = [k for k in wanted if k not in CATALOGUE]
    if unknown:
        raise SoundsError(f"not in the prompt catalogue: {', '.join(unknown)}")
    out: list[Sound] = []
    for language in languages:
        if language not in VOICES:
            raise SoundsError(f"no voice for language {language!r} (have: {', '.join(VOICES)})")
        for key in wanted:
            p = CATALOGUE[key]
            out.append(Sound(language, p.file, None if key == TONE_KEY else p.text(language)))
        if keys is None:
            words = NUMBER_WORDS[language]
            for name in number_files():
                out.append(Sound(language, name, words[name[len("digits/"):-len(".wav")]]))
    return out


# -- command lines (pure) ------------------------------------------------------------------


def espeak_command(sound: Sound, wav: Path) -> list[str]:
    assert sound.text is not None
    return [
        "espeak-ng", "-v", VOICES[sound.language], "-s", str(SPEED_WPM), "-w", str(wav),
        "--", sound.text,
    ]


def _sox_output(dst: Path, rate: int) -> list[str]:
    return ["-r", str(rate), "-c", "1", "-b", "16", "-e", "signed-integer", "-t", "wav", str(dst)]


def sox_convert_command(src: Path, dst: Path, rate: int) -> list[str]:
    """Resample espeak-ng's 22 kHz output; -R and -D (no dither) keep it reproducible."""
    return ["sox", "-R", "-D", str(src), *_sox_output(dst, rate), "norm", "-3", "pad", "0.1", "0.2"]


def sox_tone_command(dst: Path, rate: int) -> list[str]:
    return [
        "sox", "-R", "-D", "-n", *_sox_output(dst, rate),
        "synth", str(TONE_SECONDS), "sine", str(TONE_HZ), "fade", "0.01", str(TONE_SECONDS),
        "0.01", "vol", "0.5",
    ]


# -- running --------------------------------------------------------------------------------

Runner = Callable[[list[str]], None]


def missing_tools(which: Callable[[str], str | None] | None = None) -> list[str]:
    which = which or shutil.which
    return [tool for tool in TOOLS if which(tool) is None]


def install_hint(missing: Sequence[str]) -> str:
    return (
        f"{' and '.join(missing)} not found: the stand-in prompts are made with espeak-ng "
        f"and sox. On Debian/Ubuntu install them with: "
        f"sudo apt-get install {' '.join(DEBIAN_PACKAGES)}"
    )


def run_tool(cmd: list[str]) -> None:
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    except FileNotFoundError:
        raise SoundsError(install_hint([cmd[0]])) from None
    if done.returncode != 0:
        reason = (done.stderr or done.stdout).strip().splitlines()
        raise SoundsError(
            f"{cmd[0]} failed (exit {done.returncode}): {reason[-1] if reason else 'no output'}"
        )


def _make(sound: Sound, out: Path, rates: Sequence[int], run: Runner) -> list[Path]:
    written: list[Path] = []
    with tempfile.TemporaryDirectory(prefix="fsconf-sounds-") as tmp:
        spoken = Path(tmp) / "speech.wav"
        if sound.text is not None:
            run(espeak_command(sound, spoken))
        for rate in rates:
            dst = sound.path(out, rate)
            dst.parent.mkdir(parents=True, exist_ok=True)
            part = dst.with_name(f".{dst.name}.part")
            if sound.text is None:
                run(sox_tone_command(part, rate))
            else:
                run(sox_convert_command(spoken, part, rate))
            os.replace(part, dst)  # never a half-written prompt under the real name
            written.append(dst)
    return written


def generate(
    out: Path,
    languages: Sequence[str] = LANGUAGES,
    rates: Sequence[int] = RATES,
    keys: Iterable[str] | None = None,
    *,
    run: Runner = run_tool,
    workers: int | None = None,
) -> list[Path]:
    """Write every stand-in; returns the files written, sorted."""
    todo = sounds(languages, keys)
    if run is run_tool:
        missing = missing_tools()
        if missing:
            raise SoundsError(install_hint(missing))
    workers = workers or min(8, os.cpu_count() or 1)
    with ThreadPoolExecutor(max_workers=workers) as pool:
        results = list(pool.map(lambda s: _make(s, out, rates, run), todo))
    return sorted(p for files in results for p in files)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m fsconf.sounds.generate",
        description="Generate Dutch and English stand-in prompts with espeak-ng and sox.",
    )
    parser.add_argument("--out", type=Path, default=Path("build/sounds"), help="output folder")
    parser.add_argument(
        "--language", dest="languages", action="append", choices=sorted(VOICES),
        help="only this language (repeatable; default: all)",
    )
    parser.add_argument(
        "--rate", dest="rates", action="append", type=int, choices=(8000, 16000, 32000, 48000),
        help="only this sample rate (repeatable; default: 8000 and 16000)",
    )
    parser.add_argument(
        "--only", dest="keys", action="append", metavar="KEY",
        help="only this catalogue prompt (repeatable; skips the number words)",
    )
    args = parser.parse_args(argv)
    languages = tuple(args.languages or LANGUAGES)
    rates = tuple(sorted(set(args.rates or RATES)))
    try:
        files = generate(args.out, languages, rates, args.keys)
    except SoundsError as exc:
        print(f"fsconf sounds: error: {exc}", file=sys.stderr)
        return 1
    print(
        f"fsconf sounds: wrote {len(files)} files under {args.out}/ "
        f"({', '.join(languages)}; {', '.join(map(str, rates))} Hz). "
        f"Install them where [ivr] sounds_dir points, e.g. "
        f"cp -r {args.out}/. /usr/share/freeswitch/sounds/fsconf/"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
