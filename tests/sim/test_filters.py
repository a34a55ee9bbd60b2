"""Event filters as mod_event_socket's event_handler applies them (reference 3.5)."""

from __future__ import annotations

from fsconf.sim.events import SimEvent, Subscription


def _event(name: str, **headers: str) -> SimEvent:
    pairs = [("Event-Name", name), *((k.replace("_", "-"), v) for k, v in headers.items())]
    return SimEvent(name, lambda: list(pairs))


def _sub(*filters: tuple[str, str]) -> Subscription:
    sub = Subscription()
    sub.add("plain", ["ALL"])
    sub.filters = list(filters)
    return sub


def test_exact_filters_compare_without_case_and_are_or_ed() -> None:
    sub = _sub(("Event-Name", "dtmf"), ("event-name", "CHANNEL_HANGUP"))
    assert sub.wants(_event("DTMF"))
    assert sub.wants(_event("CHANNEL_HANGUP"))
    assert not sub.wants(_event("CHANNEL_EXECUTE"))


def test_regex_filter_in_slash_form_with_flags() -> None:
    sub = _sub(("Event-Name", "/^(channel_execute_complete|dtmf)$/i"))
    assert sub.wants(_event("CHANNEL_EXECUTE_COMPLETE"))
    assert sub.wants(_event("DTMF"))
    assert not sub.wants(_event("CHANNEL_EXECUTE"))


def test_negative_filters_alone_let_nothing_through() -> None:
    sub = _sub(("Event-Name", "-CHANNEL_EXECUTE"))
    assert not sub.wants(_event("DTMF"))
    assert not sub.wants(_event("CHANNEL_EXECUTE"))


def test_a_negative_filter_vetoes_what_a_positive_one_let_through() -> None:
    sub = _sub(("Event-Name", "CUSTOM"), ("Action", "-del-member"))
    assert sub.wants(_event("CUSTOM", Action="add-member"))
    assert not sub.wants(_event("CUSTOM", Action="del-member"))


def test_a_missing_header_neither_passes_nor_vetoes() -> None:
    sub = _sub(("Action", "add-member"), ("Event-Name", "DTMF"))
    assert sub.wants(_event("DTMF"))
    assert not sub.wants(_event("CHANNEL_HANGUP"))


def test_only_a_leading_slash_makes_a_regex() -> None:
    # '-/x/' is a negative filter comparing the text '/x/', as in FreeSWITCH.
    sub = _sub(("Event-Name", "DTMF"), ("DTMF-Digit", "-/[0-9]/"))
    assert sub.wants(_event("DTMF", DTMF_Digit="5"))
    assert not sub.wants(_event("DTMF", DTMF_Digit="/[0-9]/"))


def test_a_regex_without_its_closing_slash_matches_nothing() -> None:
    sub = _sub(("Event-Name", "/DTMF"))
    assert not sub.wants(_event("DTMF"))
