"""Silent stand-in prompts: what the demo, the benchmark and the tests give the simulator."""

from __future__ import annotations

import wave
from collections.abc import Callable
from pathlib import Path

from fsconf.domain.prompts import CATALOGUE, LANGUAGES, Prompt

SPOKEN_NUMBERS = range(0, 101)  # what `say` may ask for in a head count


def write_silence(path: Path, ms: int, rate: int = 8000) -> Path:
    """A mono 16-bit WAV of `ms` milliseconds of silence (folders made as needed)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(b"\0\0" * (rate * ms // 1000))
    return path


def silent_prompt_tree(
    root: Path, prompt_ms: int | Callable[[str, Prompt], int], digit_ms: int
) -> Path:
    """Every catalogue prompt and spoken number, per language, in FreeSWITCH's sound
    layout (`<root>/<lang>/fsconf/8000/…`, `<root>/<lang>/digits/8000/<n>.wav`)."""
    for language in LANGUAGES:
        for p in CATALOGUE.values():
            ms = prompt_ms(language, p) if callable(prompt_ms) else prompt_ms
            write_silence(root / language / "fsconf" / "8000" / Path(p.file).name, ms)
        for n in SPOKEN_NUMBERS:
            write_silence(root / language / "digits" / "8000" / f"{n}.wav", digit_ms)
    return root
