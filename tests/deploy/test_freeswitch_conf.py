"""freeswitch/conf is what an operator installs: it must parse, and agree with fsconf's defaults.

Each name the controller relies on (controller address, profile, invite extension, gateway,
Event Socket port, prompt files) is checked against `Settings()` and the prompt catalogue,
so renaming one side without the other fails here rather than on a live switch.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from fsconf.config import Settings
from fsconf.domain.prompts import CATALOGUE
from fsconf.sim.settings import REPO_CONF_DIR
from fsconf.sim.xmlconf import hunt, load_config, preprocess

CORE = {"local_ip_v4": "192.0.2.10", "sounds_dir": "/usr/share/freeswitch/sounds",
        "hostname": "fs1"}
XML_FILES = sorted(REPO_CONF_DIR.rglob("*.xml"))
PROMPT_FILES = {p.file for p in CATALOGUE.values()}


def rel(path: Path) -> str:
    return str(path.relative_to(REPO_CONF_DIR))


@pytest.fixture(scope="module")
def conf():
    return load_config(REPO_CONF_DIR, CORE, environ={})


@pytest.fixture(scope="module")
def document() -> ET.Element:
    """The whole preprocessed document, as FreeSWITCH assembles it."""
    text = preprocess(REPO_CONF_DIR / "freeswitch.xml", dict(CORE), frozenset(), environ={})
    return ET.fromstring(text)


def test_the_tree_has_the_files_an_operator_installs() -> None:
    names = {rel(p) for p in XML_FILES}
    assert {
        "freeswitch.xml", "vars.xml", "dialplan/fsconf.xml",
        "autoload_configs/conference.conf.xml", "autoload_configs/event_socket.conf.xml",
        "autoload_configs/sofia.conf.xml", "sip_profiles/external.xml",
        "sip_profiles/external/fsconf_trunk.xml", "lang/en/en.xml", "lang/nl/nl.xml",
        "sip_profiles/internal.xml", "autoload_configs/acl.conf.xml",
    } <= names


@pytest.mark.parametrize("path", XML_FILES, ids=rel)
def test_every_file_is_well_formed_xml(path: Path) -> None:
    ET.parse(path)


@pytest.mark.parametrize("path", XML_FILES, ids=rel)
def test_every_file_starts_with_a_comment_saying_what_it_is(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    first = re.search(r"<!--(.*?)-->", text, re.S)
    assert first is not None and "fsconf" in first.group(1)
    before = text[: first.start()]
    assert re.fullmatch(r"\s*(<\?xml[^>]*\?>\s*)?(<include>\s*)?", before), (
        "the explanation must come first"
    )


@pytest.mark.parametrize("path", XML_FILES, ids=rel)
def test_no_file_trips_freeswitchs_line_based_preprocessor(path: Path) -> None:
    """switch_xml.c preprocess() works line by line, before any XML parsing:
    it acts on X-PRE-PROCESS even inside a comment, drops every line that contains
    an include tag, and treats a comment opened with a hash as a command."""
    text = path.read_text(encoding="utf-8")
    for comment in re.findall(r"<!--(.*?)-->", text, re.S):
        assert "x-pre-process" not in comment.lower()
        assert "$${" not in comment
    assert "<!--#" not in text
    for line in text.splitlines():
        if "<include>" in line or "</include>" in line:
            assert line.strip() in ("<include>", "</include>"), line


def test_the_whole_tree_preprocesses_and_parses_like_the_simulator_reads_it(conf) -> None:
    assert "fsconf" in conf.contexts and "fsconf_test" in conf.contexts
    assert set(conf.phrase_languages) == {"nl", "en"}


def test_dialplan_sends_access_numbers_to_the_controllers_default_address(conf) -> None:
    c = Settings().controller
    assert conf.globals["fsconf_controller"] == f"{c.host}:{c.port}"
    actions = hunt(conf.contexts, "fsconf", {"destination_number": "0201234567"})
    assert actions[0] == ("socket", f"{c.host}:{c.port} async full")
    backup = conf.globals["fsconf_controller_backup"]
    assert actions[1] == ("socket", f"{backup} async full") and backup != actions[0][1]


def test_invite_extension_and_context_match_the_settings(conf) -> None:
    fs, c = Settings().freeswitch, Settings().controller
    names = [e.name for e in conf.contexts[fs.invite_context]]
    assert fs.invite_extension in names
    actions = hunt(conf.contexts, fs.invite_context, {"destination_number": fs.invite_extension})
    assert actions[0] == ("socket", f"{c.host}:{c.port} async full")


def test_test_context_callees_answer_and_wait(conf) -> None:
    actions = hunt(conf.contexts, "fsconf_test", {"destination_number": "0612345678"})
    assert [app for app, _ in actions] == ["answer", "park"]


def test_conference_profile_is_the_settings_profile_and_leaves_the_keypad_alone(conf) -> None:
    profile = conf.conference_profiles[Settings().freeswitch.profile]
    assert profile.get("caller-controls") == "none"
    assert profile.get("moderator-controls") == "none"
    assert profile.get("announce-count", "0") == "0"
    assert profile.get("rate") in ("8000", "16000")
    assert profile.get("interval") == "20"
    assert profile.get("comfort-noise") == "true"
    for controller_owned in ("is-locked-sound", "is-unlocked-sound", "alone-sound",
                             "pin-sound", "bad-pin-sound", "pin", "moderator-pin"):
        assert controller_owned not in profile.params, controller_owned


def test_conference_profile_plays_fsconf_prompts(conf) -> None:
    profile = conf.conference_profiles[Settings().freeswitch.profile]
    assert profile.get("muted-sound") == "fsconf/muted.wav"
    assert profile.get("unmuted-sound") == "fsconf/unmuted.wav"
    assert profile.get("kicked-sound") == "fsconf/you-were-removed.wav"
    assert profile.get("locked-sound") == "fsconf/conference-locked.wav"
    assert profile.get("max-members-sound") == "fsconf/conference-full.wav"
    assert profile.get("enter-sound").startswith("tone_stream://")
    assert profile.get("exit-sound").startswith("tone_stream://")


def test_every_sound_the_profile_names_is_a_catalogue_prompt_or_a_tone(conf) -> None:
    profile = conf.conference_profiles[Settings().freeswitch.profile]
    sounds = {k: v for k, v in profile.params.items() if k.endswith("-sound") and k != "moh-sound"}
    assert sounds
    for key, value in sounds.items():
        ok = value in PROMPT_FILES or value.startswith(("tone_stream://", "silence_stream://"))
        assert ok, f"{key}={value} is neither in the prompt catalogue nor a tone"


def test_event_socket_listens_on_loopback_at_the_settings_port(conf) -> None:
    es = conf.event_socket
    assert es["listen-ip"] == "127.0.0.1"
    assert int(es["listen-port"]) == Settings().freeswitch.port
    raw = ET.parse(REPO_CONF_DIR / "autoload_configs" / "event_socket.conf.xml").getroot()
    password = [p.get("value") for p in raw.iter("param") if p.get("name") == "password"]
    assert password == ["$${fsconf_esl_password}"], "never a literal password in the file"


def test_event_socket_password_comes_from_the_environment() -> None:
    env = {"FSCONF_FREESWITCH_PASSWORD": "s3cret from env"}
    assert load_config(REPO_CONF_DIR, CORE, environ=env).event_socket["password"] == (
        "s3cret from env"
    )
    # Without it, the default both sides share.
    assert load_config(REPO_CONF_DIR, CORE, environ={}).event_socket["password"] == (
        Settings().freeswitch.password
    )


def test_gateway_matches_the_default_dial_string_and_is_loaded(document: ET.Element) -> None:
    match = re.fullmatch(r"sofia/gateway/([^/]+)/\{number\}", Settings().freeswitch.dialout_string)
    assert match is not None
    name = match.group(1)
    sofia = [c for c in document.iter("configuration") if c.get("name") == "sofia.conf"]
    assert len(sofia) == 1
    gateways = {g.get("name"): g for g in sofia[0].iter("gateway")}
    assert name in gateways, "sofia.conf -> sip_profiles/external.xml -> external/*.xml"
    params = {p.get("name"): p.get("value") for p in gateways[name].iter("param")}
    assert params["context"] == Settings().freeswitch.invite_context == "fsconf"
    assert params["register"] in ("true", "false")
    for key in ("username", "password", "realm", "proxy"):
        assert params[key], key


def test_gateway_credentials_are_variables_not_literals() -> None:
    raw = ET.parse(REPO_CONF_DIR / "sip_profiles" / "external" / "fsconf_trunk.xml").getroot()
    params = {p.get("name"): p.get("value") for p in raw.iter("param")}
    for key in ("username", "password", "realm", "proxy", "register"):
        assert re.fullmatch(r"\$\$\{fsconf_trunk_\w+\}", params[key]), key


def test_trunk_password_comes_from_the_environment(document: ET.Element) -> None:
    text = preprocess(REPO_CONF_DIR / "freeswitch.xml", dict(CORE), frozenset(),
                      environ={"FSCONF_TRUNK_PASSWORD": "trunk-pw"})
    gw = next(g for g in ET.fromstring(text).iter("gateway") if g.get("name") == "fsconf_trunk")
    assert {p.get("name"): p.get("value") for p in gw.iter("param")}["password"] == "trunk-pw"


def test_external_profile_routes_unmatched_calls_to_fsconf(document: ET.Element) -> None:
    profile = next(p for p in document.iter("profile") if p.get("name") == "external")
    params = {p.get("name"): p.get("value") for p in profile.find("settings").iter("param")}
    assert params["context"] == "fsconf"
    assert params["dtmf-type"] == "rfc2833"


def test_languages_leave_the_sound_prefix_to_the_controller() -> None:
    """`say` replaces the channel's sound_prefix with the language's sound-prefix
    attribute (switch_ivr_say), which would bypass the fsconf digits."""
    for lang in ("en", "nl"):
        root = ET.parse(REPO_CONF_DIR / "lang" / lang / f"{lang}.xml").getroot()
        language = root.find("language")
        assert language is not None and language.get("say-module") == lang
        assert language.get("sound-prefix") is None
        assert language.find("phrases") is not None


def test_say_modules_are_loaded(document: ET.Element) -> None:
    modules = {m.get("module") for m in document.iter("load")}
    assert {"mod_event_socket", "mod_conference", "mod_sofia", "mod_say_en", "mod_say_nl",
            "mod_sndfile", "mod_tone_stream"} <= modules


# --- scale-out: the node-to-node profile "internal" (README "Scaling out") -------------


def _profile(document: ET.Element, name: str) -> dict[str, str]:
    profile = next(p for p in document.iter("profile") if p.get("name") == name)
    settings = profile.find("settings")
    assert settings is not None
    return {p.get("name", ""): p.get("value", "") for p in settings.iter("param")}


def test_internal_profile_has_its_own_port_acl_and_context(document: ET.Element) -> None:
    internal, trunk = _profile(document, "internal"), _profile(document, "external")
    assert internal["sip-port"] == "5090" != trunk["sip-port"]
    assert internal["sip-ip"] == CORE["local_ip_v4"]  # fsconf_internal_sip_ip's default
    assert internal["apply-inbound-acl"] == "fsconf_nodes"
    assert internal["context"] == "fsconf_internal" != trunk["context"]
    assert internal["auth-calls"] == "false" and internal["disable-register"] == "true"
    assert internal["dtmf-type"] == "rfc2833"  # keys cross the bridge as telephone-events
    assert "apply-inbound-acl" not in trunk  # the trunk profile is left as it was


def test_internal_profile_accepts_what_bridged_callers_offer(document: ET.Element) -> None:
    """A bridged leg offers only its caller's codec (G_two_nodes_bridge FINDINGS 1):
    PCMA/PCMU from the trunk, L16 from loopback callers, which were refused 488 (run 0)."""
    accepted = _profile(document, "internal")["inbound-codec-prefs"].split(",")
    trunk = _profile(document, "external")["inbound-codec-prefs"].split(",")
    assert set(trunk) <= set(accepted) and "L16" in accepted


def test_internal_address_is_a_per_node_variable(conf) -> None:
    node = load_config(REPO_CONF_DIR, CORE, {"fsconf_internal_sip_ip": "10.1.0.7"}, environ={})
    assert node.sip_profiles["internal"]["sip-ip"] == "10.1.0.7"
    assert node.sip_profiles["internal"]["rtp-ip"] == "10.1.0.7"
    assert node.sip_profiles["external"]["sip-ip"] == CORE["local_ip_v4"]


def test_fsconf_nodes_acl_denies_by_default_and_lists_example_nodes(conf) -> None:
    default, nodes = conf.acl_lists["fsconf_nodes"]
    assert default == "deny"
    assert nodes and all(kind == "allow" for kind, _ in nodes)
    assert "0.0.0.0/0" not in {cidr for _, cidr in nodes}


def test_internal_context_routes_only_room_legs_to_the_controller(conf) -> None:
    c = Settings().controller
    access = hunt(conf.contexts, "fsconf", {"destination_number": "0201234567"})
    room = hunt(conf.contexts, "fsconf_internal", {"destination_number": "fsconf-room-123456"})
    assert room == access  # the same socket lines, controller then backup
    assert room[0] == ("socket", f"{c.host}:{c.port} async full")
    refused = [("hangup", "CALL_REJECTED")]
    for other in ("0201234567", "fsconf_invite", "fsconf-room-", "fsconf-room-12a",
                  "fsconf-room-1 2", "xfsconf-room-1", "5000"):
        assert hunt(conf.contexts, "fsconf_internal", {"destination_number": other}) == (
            refused
        ), other


def test_trunk_calls_never_reach_the_room_route(conf) -> None:
    assert hunt(conf.contexts, "fsconf", {"destination_number": "fsconf-room-123456"}) == []
