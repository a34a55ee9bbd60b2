"""Sound file resolution and durations (mod_sndfile's lookup, simulated)."""

from __future__ import annotations

import functools
import re
import wave
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from fsconf.sim.channel import Channel

_TONE = re.compile(r"%\(([\d,]+)\)")


@functools.lru_cache(maxsize=4096)
def wav_seconds(path: str) -> float | None:
    try:
        with wave.open(path, "rb") as wav:
            rate = wav.getframerate() or 8000
            return wav.getnframes() / rate
    except (OSError, wave.Error, EOFError):
        return None


def tone_seconds(spec: str) -> float:
    total = 0.0
    for match in _TONE.finditer(spec):
        parts = [int(p) for p in match.group(1).split(",") if p]
        if len(parts) >= 2:
            total += (parts[0] + parts[1]) / 1000
    return total or 0.5


class Sounds:
    def __init__(self, sounds_dir: Path | None, missing: frozenset[str], default_ms: int) -> None:
        self.sounds_dir = sounds_dir
        self.missing = missing
        self.default_s = default_ms / 1000

    def resolve(
        self, ch: Channel | None, name: str, prefix: str | None = None
    ) -> tuple[str, float] | None:
        """(display path, simulated seconds) or None when the file cannot be opened."""
        if name.startswith("tone_stream://"):
            return name, tone_seconds(name)
        if name.startswith("silence_stream://"):
            ms = name.split("://", 1)[1].split(",")[0]
            return name, (int(ms) / 1000 if ms.isdigit() else 1.0)
        if name.startswith("local_stream://"):
            return name, 3600.0
        if name in self.missing:
            return None
        if name.startswith("/"):
            display = name
        else:
            if prefix is None and ch is not None:
                prefix = ch.get_var("sound_prefix")
            if prefix is None and ch is not None:
                prefix = ch.sim.global_vars.get("sound_prefix")
            display = f"{prefix}/{name}" if prefix else name
        if self.sounds_dir is None and not Path(display).is_absolute():
            return display, self.default_s
        for candidate in self._candidates(display):
            if candidate.is_file():
                seconds = wav_seconds(str(candidate))
                return display, self.default_s if seconds is None else seconds
        if self.sounds_dir is None and not name.startswith("/"):
            return display, self.default_s  # no sound tree: relative names all exist
        return None

    @staticmethod
    def _candidates(display: str) -> list[Path]:
        path = Path(display)
        names = [path.name] if path.suffix else [path.name + ".wav", path.name]
        out = []
        for fname in names:
            for rate in ("8000", "48000", "32000", "16000"):
                out.append(path.parent / rate / fname)
            out.append(path.parent / fname)
        return out
