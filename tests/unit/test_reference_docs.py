"""The committed reference documents say what the code does."""

from __future__ import annotations

from pathlib import Path

from fsconf.reference import configuration_md, prompts_md

DOCS = Path(__file__).resolve().parents[2] / "docs"


def test_configuration_reference_is_current() -> None:
    assert (DOCS / "configuration.md").read_text() == configuration_md(), (
        "run: python -m fsconf.reference configuration > docs/configuration.md"
    )


def test_prompt_catalogue_document_is_current() -> None:
    assert (DOCS / "prompts.md").read_text() == prompts_md(), (
        "run: python -m fsconf.reference prompts > docs/prompts.md"
    )
