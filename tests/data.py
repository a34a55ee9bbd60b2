"""Where the tests find their committed data (tests/data/, see its README)."""

from __future__ import annotations

from pathlib import Path

DATA = Path(__file__).resolve().parent / "data"
# Bytes a real FreeSWITCH 1.10.12 sent (shared/reference/fs-1.10.12-transcripts/F_...).
FS_1_10_12 = DATA / "fs-1.10.12" / "F_second_capture_esl_8041_outbound_8094"


def capture(relative: str) -> bytes:
    """The recorded bytes of one connection; a missing file is an error, never a skip."""
    path = FS_1_10_12 / relative
    if not path.is_file():
        raise FileNotFoundError(f"test data missing: {path} (see tests/data/README.md)")
    return path.read_bytes()
