"""The customer data form, pure: its language and the keypad controls it lists."""

from __future__ import annotations

import pytest

from fsconf.domain import forms
from fsconf.domain.keypad_grammar import (
    MODERATOR_ONLY_KINDS,
    SEQUENCES,
    ActionKind,
    GrammarSettings,
    KeypadGrammar,
)
from fsconf.domain.roles import Role

DATA = {
    "customer_id": 7,
    "customer_name": "Acme B.V.",
    "access_numbers": ["0201234567"],
    "conference_number": "123456",
    "moderator_pin": "111111",
    "participant_pin": "222222",
    "max_participants": 10,
    "language": "nl",
    "record_names": True,
    "status": "active",
}


def _runs(role: Role, keys: str) -> ActionKind:
    """What the real grammar does with `keys` (followed by # where it waits for more)."""
    grammar = KeypadGrammar(role, GrammarSettings())
    actions = []
    for i, key in enumerate(keys.replace(" ", "")):
        actions += grammar.feed(key, float(i))
    actions += grammar.poll(1000.0)
    assert len(actions) == 1, actions
    return actions[0].kind


@pytest.mark.parametrize("language", forms.LANGUAGES)
def test_every_listed_control_does_what_the_form_says_for_that_role(language: str) -> None:
    controls = forms.keypad_controls(language)
    for entry in controls["participant"]:
        keys = entry["keys"].replace(forms.words(language).number, "0612345678")
        assert _runs(Role.PARTICIPANT, keys).value == entry["action"]
        assert _runs(Role.MODERATOR, keys).value == entry["action"]
    for entry in controls["moderator"]:
        keys = entry["keys"].replace(forms.words(language).number, "0612345678")
        if entry["action"] == "give_floor":  # *5: the same sequence, the moderator's meaning
            assert _runs(Role.MODERATOR, keys) is ActionKind.HAND
            continue
        assert _runs(Role.MODERATOR, keys).value == entry["action"]
        assert _runs(Role.PARTICIPANT, keys) is not ActionKind(entry["action"])


def test_the_form_lists_every_sequence_of_the_grammar_once() -> None:
    controls = forms.keypad_controls("en")
    moderator = [e for e in controls["moderator"] if e["action"] != "give_floor"]
    listed = [e["action"] for e in controls["participant"] + moderator]
    assert sorted(listed) == sorted(kind.value for kind in SEQUENCES.values())
    assert {ActionKind(e["action"]) for e in moderator} == MODERATOR_ONLY_KINDS


def test_dutch_conference_gets_a_dutch_form() -> None:
    text = forms.render_text(DATA)
    assert text.startswith("Telefonisch vergaderen - klantgegevens\n")
    assert "Pincode voorzitter          111111" in text
    assert "Toetsen alleen voor de voorzitter" in text and "*8 nummer #" in text
    assert "Keypad" not in text and "PIN " not in text


def test_english_conference_gets_an_english_form() -> None:
    text = forms.render_text({**DATA, "language": "en"})
    assert text.startswith("Conference call - customer data form\n")
    assert "Moderator PIN          111111" in text
    assert "*8 number #   invite someone" in text
    assert "*1, *2, *3 act after a moment" in text


def test_no_name_step_when_names_are_not_recorded() -> None:
    with_names = forms.render_text({**DATA, "language": "en"})
    without = forms.render_text({**DATA, "language": "en", "record_names": False})
    assert "say your name" in with_names and "say your name" not in without
    assert "4. During the call" in without


def test_html_form_has_the_language_and_both_control_tables_escaped() -> None:
    page = forms.render_html({**DATA, "customer_name": "<b>&</b>"})
    assert '<html lang="nl">' in page and "&lt;b&gt;&amp;&lt;/b&gt;" in page
    assert page.count('<table class="keys">') == 2


def test_a_language_without_a_form_is_refused() -> None:
    with pytest.raises(ValueError, match="'de'"):
        forms.render_text({**DATA, "language": "de"})


def test_spoken_numbers_follow_mod_say_play_group() -> None:
    from fsconf.domain.prompts import spoken_number_files

    assert spoken_number_files(0) == ["digits/0.wav"]
    assert spoken_number_files(7) == ["digits/7.wav"]
    assert spoken_number_files(13) == ["digits/13.wav"]
    assert spoken_number_files(42) == ["digits/40.wav", "digits/2.wav"]
    assert spoken_number_files(310) == ["digits/3.wav", "digits/hundred.wav", "digits/10.wav"]


def test_form_lists_star5_for_both_roles_with_its_own_meaning() -> None:
    from fsconf.domain.forms import keypad_controls

    controls = keypad_controls("nl")
    assert any(e["keys"] == "*5" and e["action"] == "hand" for e in controls["participant"])
    assert any(e["keys"] == "*5" and e["action"] == "give_floor" for e in controls["moderator"])
    assert any(e["keys"] == "*4" for e in controls["moderator"])
    assert not any(e["keys"] == "*4" for e in controls["participant"])
