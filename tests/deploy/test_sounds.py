"""`make sounds`: which files, where, and the commands that make them (no audio needed).

Only the last test runs espeak-ng and sox, and only where they are installed.
"""

from __future__ import annotations

import hashlib
import shutil
import wave
from pathlib import Path

import pytest

from fsconf.domain.prompts import CATALOGUE, LANGUAGES
from fsconf.sounds import generate as g


def test_every_catalogue_prompt_is_generated_in_both_languages() -> None:
    planned = {(s.language, s.name) for s in g.sounds()}
    for language in LANGUAGES:
        for p in CATALOGUE.values():
            assert (language, p.file) in planned


def test_prompts_are_spoken_with_the_catalogue_text_of_their_language() -> None:
    by_key = {(s.language, s.name): s for s in g.sounds()}
    welcome = CATALOGUE["welcome"]
    assert by_key[("nl", welcome.file)].text == welcome.nl
    assert by_key[("en", welcome.file)].text == welcome.en


def test_the_tone_prompt_is_a_beep_not_speech() -> None:
    tone = [s for s in g.sounds() if s.name == CATALOGUE["tone"].file]
    assert len(tone) == len(LANGUAGES) and all(s.text is None for s in tone)


def test_number_files_are_exactly_what_mod_say_plays_for_0_to_999() -> None:
    expected = (
        [f"digits/{n}.wav" for n in range(20)]
        + [f"digits/{t}0.wav" for t in range(2, 10)]
        + ["digits/hundred.wav"]
    )
    assert g.number_files() == expected


@pytest.mark.parametrize(
    ("n", "files"),
    [
        (0, ["0"]), (7, ["7"]), (10, ["10"]), (15, ["15"]), (20, ["20"]), (21, ["20", "1"]),
        (100, ["1", "hundred"]), (115, ["1", "hundred", "15"]),
        (999, ["9", "hundred", "90", "9"]),
    ],
)
def test_say_number_files_follow_mod_say_play_group(n: int, files: list[str]) -> None:
    assert g.say_number_files(n) == [f"digits/{f}.wav" for f in files]


def test_number_words_are_in_the_right_language() -> None:
    by_name = {(s.language, s.name): s.text for s in g.sounds()}
    assert by_name[("nl", "digits/7.wav")] == "zeven"
    assert by_name[("en", "digits/7.wav")] == "seven"
    assert by_name[("nl", "digits/hundred.wav")] == "honderd"
    assert by_name[("en", "digits/80.wav")] == "eighty"
    for language in LANGUAGES:
        assert all(by_name[(language, name)] for name in g.number_files())


def test_files_land_in_freeswitchs_sound_folder_layout() -> None:
    out = Path("build/sounds")
    welcome = g.Sound("nl", "fsconf/welcome.wav", "Welkom")
    assert welcome.path(out, 8000) == out / "nl" / "fsconf" / "8000" / "welcome.wav"
    digit = g.Sound("en", "digits/hundred.wav", "hundred")
    assert digit.path(out, 16000) == out / "en" / "digits" / "16000" / "hundred.wav"


def test_espeak_command_uses_the_languages_voice_and_keeps_the_text_one_argument() -> None:
    sound = g.Sound("nl", "fsconf/goodbye.wav", "-Tot ziens.")
    cmd = g.espeak_command(sound, Path("/tmp/x.wav"))
    assert cmd[:3] == ["espeak-ng", "-v", "nl"]
    assert cmd[cmd.index("-w") + 1] == "/tmp/x.wav"
    assert cmd[-2:] == ["--", "-Tot ziens."]  # a leading dash is text, not an option


def test_sox_commands_make_reproducible_mono_16_bit_wavs_at_the_rate() -> None:
    for cmd in (
        g.sox_convert_command(Path("in.wav"), Path("out.wav"), 16000),
        g.sox_tone_command(Path("out.wav"), 8000),
    ):
        assert cmd[:3] == ["sox", "-R", "-D"]  # repeatable, no random dither
        joined = " ".join(cmd)
        assert "-c 1 -b 16 -e signed-integer -t wav out.wav" in joined
    assert "-r 16000" in " ".join(g.sox_convert_command(Path("a"), Path("out.wav"), 16000))
    assert "synth" in g.sox_tone_command(Path("out.wav"), 8000)


def test_generate_runs_one_espeak_per_text_and_one_sox_per_rate(tmp_path: Path) -> None:
    calls: list[list[str]] = []

    def fake_run(cmd: list[str]) -> None:
        calls.append(cmd)
        if cmd[0] == "sox":
            Path(cmd[cmd.index("-t") + 2]).write_bytes(b"RIFF")

    files = g.generate(tmp_path, ("nl", "en"), (8000, 16000), ["welcome", "tone"], run=fake_run)
    assert [c[0] for c in calls].count("espeak-ng") == 2  # tone is not spoken
    assert [c[0] for c in calls].count("sox") == 8
    assert files == sorted(
        tmp_path / lang / "fsconf" / str(rate) / name
        for lang in ("nl", "en") for rate in (8000, 16000) for name in ("welcome.wav", "tone.wav")
    )
    assert not list(tmp_path.rglob(".*.part"))


def test_unknown_prompt_keys_are_refused() -> None:
    with pytest.raises(g.SoundsError, match="not in the prompt catalogue: nope"):
        g.sounds(keys=["nope"])


def test_missing_tools_fail_with_the_debian_packages_named(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(g.shutil, "which", lambda tool: None if tool == "sox" else "/usr/bin/x")
    assert g.main(["--out", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert "sox not found" in err
    assert "apt-get install espeak-ng sox" in err
    assert not any(tmp_path.iterdir())


@pytest.mark.skipif(
    not (shutil.which("espeak-ng") and shutil.which("sox")),
    reason="espeak-ng and sox are not installed (apt-get install espeak-ng sox)",
)
def test_real_generator_makes_identical_telephone_wavs_twice(tmp_path: Path) -> None:
    def digest(root: Path) -> dict[str, str]:
        return {
            str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*.wav"))
        }

    args = ["--only", "welcome", "--only", "tone"]
    assert g.main(["--out", str(tmp_path / "a"), *args]) == 0
    assert g.main(["--out", str(tmp_path / "b"), *args]) == 0
    first = digest(tmp_path / "a")
    assert first == digest(tmp_path / "b")
    assert len(first) == 2 * 2 * 2  # two prompts, two languages, two rates
    for rate in (8000, 16000):
        with wave.open(str(tmp_path / "a" / "nl" / "fsconf" / str(rate) / "welcome.wav")) as w:
            assert (w.getnchannels(), w.getsampwidth(), w.getframerate()) == (1, 2, rate)
            assert w.getnframes() > rate // 2  # real speech, not an empty file
