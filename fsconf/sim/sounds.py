"""Sound file resolution and durations (mod_sndfile's lookup, simulated)."""

from __future__ import annotations

import array
import errno
import functools
import os
import re
import stat
import sys
import wave
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    from fsconf.sim.channel import Channel

_TONE = re.compile(r"%\(([\d,]+)\)")


def _stamp(path: str) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_mtime_ns, st.st_size


def wav_seconds(path: str) -> float | None:
    """Duration of a WAV; cached per (path, mtime, size) -- recordings get rewritten."""
    return _wav_seconds(path, _stamp(path))


def wav_energy(path: str) -> int | None:
    """Mean |sample| of a 16-bit WAV (what switch_ivr_record_file compares with its
    silence threshold, per frame; here over the whole file)."""
    return _wav_energy(path, _stamp(path))


@functools.lru_cache(maxsize=4096)
def _wav_seconds(path: str, stamp: tuple[int, int] | None) -> float | None:
    try:
        with wave.open(path, "rb") as wav:
            rate = wav.getframerate() or 8000
            return wav.getnframes() / rate
    except (OSError, wave.Error, EOFError):
        return None


@functools.lru_cache(maxsize=1024)
def _wav_energy(path: str, stamp: tuple[int, int] | None) -> int | None:
    try:
        with wave.open(path, "rb") as wav:
            if wav.getsampwidth() != 2:
                return None
            frames = wav.readframes(wav.getnframes())
    except (OSError, wave.Error, EOFError):
        return None
    samples = array.array("h", frames)
    if sys.byteorder == "big":
        samples.byteswap()
    if not samples:
        return 0
    return sum(abs(x) for x in samples) // len(samples)


class Located(NamedTuple):
    display: str  # the path FreeSWITCH reports (Playback-File-Path)
    seconds: float  # simulated duration
    path: str | None  # the real file, when there is one
    energy: int | None  # mean |sample| when known
    stamp: tuple[int, int] | None = None  # (mtime, size) of `path` when it was located


def tone_seconds(spec: str) -> float:
    total = 0.0
    for match in _TONE.finditer(spec):
        parts = [int(p) for p in match.group(1).split(",") if p]
        if len(parts) >= 2:
            total += (parts[0] + parts[1]) / 1000
    return total or 0.5


class Sounds:
    def __init__(
        self,
        sounds_dir: Path | None,
        missing: frozenset[str],
        default_ms: int,
        default_energy: int = 3000,
    ) -> None:
        self.sounds_dir = sounds_dir
        self.missing = missing
        self.default_s = default_ms / 1000
        self.default_energy = default_energy

    def energy(self, found: Located) -> int:
        """Loudness of a located sound as a `record` silence detector would see it."""
        if found.energy is not None:
            return found.energy
        if found.path is not None:
            # The stamp of the lookup saves a second stat of the same file.
            stamp = found.stamp
            energy = wav_energy(found.path) if stamp is None else _wav_energy(found.path, stamp)
            if energy is not None:
                return energy
        return self.default_energy

    def resolve(
        self, ch: Channel | None, name: str, prefix: str | None = None
    ) -> tuple[str, float] | None:
        """(display path, simulated seconds) or None when the file cannot be opened."""
        found = self.locate(ch, name, prefix)
        return None if found is None else (found.display, found.seconds)

    def locate(self, ch: Channel | None, name: str, prefix: str | None = None) -> Located | None:
        if name.startswith("file_string://"):
            # mod_dptools' file_string: the files one after the other, each resolved on
            # its own; Playback-File-Path keeps the URL as given.  Files that cannot be
            # opened are skipped; none at all is a failure to open.
            parts = [
                self.locate(ch, part, prefix)
                for part in name[len("file_string://") :].split("!")
                if part
            ]
            playable = [x for x in parts if x is not None]
            if not playable:
                return None
            energies = [self.energy(x) for x in playable]
            return Located(
                name, sum(x.seconds for x in playable), None, sum(energies) // len(energies)
            )
        if name.startswith("tone_stream://"):
            return Located(name, tone_seconds(name), None, None)
        if name.startswith("silence_stream://"):
            ms = name.split("://", 1)[1].split(",")[0]
            return Located(name, (int(ms) / 1000 if ms.isdigit() else 1.0), None, 0)
        if name.startswith("local_stream://"):
            return Located(name, 3600.0, None, None)
        if name in self.missing:
            return None
        if name.startswith("/"):
            display = name
        else:
            if prefix is None and ch is not None:
                prefix = ch.get_var("sound_prefix")
            if prefix is None and ch is not None:
                prefix = ch.host.global_vars.get("sound_prefix")
            display = f"{prefix}/{name}" if prefix else name
        if self.sounds_dir is None and not Path(display).is_absolute():
            return Located(display, self.default_s, None, None)
        found = _find(display)
        if found is not None:
            real, stamp = found
            seconds = _wav_seconds(real, stamp)
            if seconds is None:
                return Located(display, self.default_s, None, None)
            return Located(display, seconds, real, None, stamp)
        if self.sounds_dir is None and not name.startswith("/"):
            # no sound tree: relative names all exist
            return Located(display, self.default_s, None, None)
        return None


# Path.is_file treats these as "no such file"; any other error propagates.
_MISSING_ERRNOS = frozenset([errno.ENOENT, errno.ENOTDIR, errno.EBADF, errno.ELOOP])


@functools.lru_cache(maxsize=4096)
def _candidates(display: str) -> tuple[str, ...]:
    """mod_sndfile's lookup order for a name: <dir>/<rate>/<file>, then the plain path.

    A pure function of the string (no file system access), so it is safe to cache; which
    candidate exists is checked anew on every lookup."""
    path = Path(display)
    names = [path.name] if path.suffix else [path.name + ".wav", path.name]
    out: list[str] = []
    for fname in names:
        out += [str(path.parent / rate / fname) for rate in ("8000", "48000", "32000", "16000")]
        out.append(str(path.parent / fname))
    return tuple(out)


def _find(display: str) -> tuple[str, tuple[int, int]] | None:
    """The first candidate that is a regular file (as Path.is_file sees it) and its
    (mtime, size) stamp, from the same stat."""
    for candidate in _candidates(display):
        try:
            st = os.stat(candidate)
        except OSError as exc:
            if exc.errno in _MISSING_ERRNOS:
                continue
            raise
        except ValueError:
            continue
        if stat.S_ISREG(st.st_mode):
            return candidate, (st.st_mtime_ns, st.st_size)
    return None
