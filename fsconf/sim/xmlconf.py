"""Loads a FreeSWITCH XML configuration directory the way the switch does.

Pre-processing (X-PRE-PROCESS set/env-set/include, $${var} expansion), then the parts
the simulator uses: dialplan contexts, conference profiles, event_socket settings and the
languages that have a <phrases> tag (needed by 'say').
"""

from __future__ import annotations

import glob
import os
import re
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from pathlib import Path

_PRE = re.compile(r'<X-PRE-PROCESS\s+cmd="([^"]*)"\s+data="([^"]*)"\s*/>')
_GLOBAL_VAR = re.compile(r"\$\$\{([^}]+)\}")
_INCLUDE_TAGS = re.compile(r"^\s*(<\?xml[^>]*\?>)?\s*<include>|</include>\s*$", re.S)


class ConfigError(ValueError):
    pass


@dataclass
class Condition:
    field: str | None
    expression: str | None
    brk: str  # on-false (default), on-true, always, never
    actions: list[tuple[str, str]] = dataclass_field(default_factory=list)
    anti_actions: list[tuple[str, str]] = dataclass_field(default_factory=list)


@dataclass
class Extension:
    name: str
    cont: bool
    conditions: list[Condition]


@dataclass
class ConferenceProfile:
    name: str
    params: dict[str, str]

    def get(self, key: str, default: str = "") -> str:
        return self.params.get(key, default)


@dataclass
class Config:
    globals: dict[str, str]
    contexts: dict[str, list[Extension]]
    conference_profiles: dict[str, ConferenceProfile]
    event_socket: dict[str, str]
    phrase_languages: dict[str, str]  # language name -> say-module
    # sofia.conf profiles: name -> their <settings> params (sip-ip, sip-port, context, ...)
    sip_profiles: dict[str, dict[str, str]] = dataclass_field(default_factory=dict)
    # acl.conf network lists: name -> (default "allow"/"deny", [(node type, cidr), ...])
    acl_lists: dict[str, tuple[str, list[tuple[str, str]]]] = dataclass_field(default_factory=dict)


def preprocess(
    path: Path,
    variables: dict[str, str],
    fixed: frozenset[str],
    environ: Mapping[str, str] | None = None,
) -> str:
    """Expand one file: set / env-set / include directives and $${var}, in document order."""
    env = os.environ if environ is None else environ
    text = path.read_text(encoding="utf-8")
    out: list[str] = []
    pos = 0
    for match in _PRE.finditer(text):
        out.append(_expand_globals(text[pos : match.start()], variables))
        pos = match.end()
        cmd, data = match.group(1), _expand_globals(match.group(2), variables)
        if cmd == "set":
            name, _, value = data.partition("=")
            name = name.strip()
            if name and name not in fixed:  # --set overrides win over the config
                variables[name] = value
        elif cmd == "env-set":
            # switch_xml.c preprocess_env_set: data="name=$ENVNAME" sets the global from
            # getenv(ENVNAME); an unset ENVNAME leaves the variable as it was.
            name, _, ref = data.partition("=")
            if name and ref.startswith("$") and name not in fixed:
                from_env = env.get(ref[1:])
                if from_env is not None:
                    variables[name] = from_env
        elif cmd == "include":
            pattern = data if data.startswith("/") else str(path.parent / data)
            for included in sorted(glob.glob(pattern)):
                inner = preprocess(Path(included), variables, fixed, env)
                out.append(_INCLUDE_TAGS.sub("", inner))
    out.append(_expand_globals(text[pos:], variables))
    return "".join(out)


def _expand_globals(text: str, variables: dict[str, str]) -> str:
    return _GLOBAL_VAR.sub(lambda m: variables.get(m.group(1), ""), text)


def load_config(
    conf_dir: Path,
    core: dict[str, str] | None = None,
    overrides: dict[str, str] | None = None,
    environ: Mapping[str, str] | None = None,
) -> Config:
    """core: variables the switch sets before reading XML; overrides: never replaced by 'set'
    or 'env-set'; environ: the switch process's environment for 'env-set' (os.environ)."""
    root_file = conf_dir / "freeswitch.xml"
    if not root_file.is_file():
        raise ConfigError(f"{root_file} not found")
    variables = {**(core or {}), **(overrides or {})}
    text = preprocess(root_file, variables, frozenset(overrides or {}), environ)
    try:
        root = ET.fromstring(text)
    except ET.ParseError as exc:
        raise ConfigError(f"configuration XML does not parse: {exc}") from None
    return Config(
        globals=variables,
        contexts=_dialplan(root),
        conference_profiles=_conference_profiles(root),
        event_socket=_settings_of(root, "event_socket.conf"),
        phrase_languages=_languages(root),
        sip_profiles=_sip_profiles(root),
        acl_lists=_acl_lists(root),
    )


def _section(root: ET.Element, name: str) -> ET.Element | None:
    for section in root.iter("section"):
        if section.get("name") == name:
            return section
    return None


def _dialplan(root: ET.Element) -> dict[str, list[Extension]]:
    contexts: dict[str, list[Extension]] = {}
    section = _section(root, "dialplan")
    if section is None:
        return contexts
    for ctx in section.iter("context"):
        extensions = contexts.setdefault(ctx.get("name", "default"), [])
        for ext in ctx.findall("extension"):
            conditions = []
            for cond in ext.findall("condition"):
                conditions.append(
                    Condition(
                        field=cond.get("field"),
                        expression=cond.get("expression"),
                        brk=cond.get("break", "on-false"),
                        actions=[
                            (a.get("application", ""), a.get("data", ""))
                            for a in cond.findall("action")
                        ],
                        anti_actions=[
                            (a.get("application", ""), a.get("data", ""))
                            for a in cond.findall("anti-action")
                        ],
                    )
                )
            extensions.append(
                Extension(
                    name=ext.get("name", ""),
                    cont=ext.get("continue", "false").lower() == "true",
                    conditions=conditions,
                )
            )
    return contexts


def _configuration(root: ET.Element, name: str) -> ET.Element | None:
    section = _section(root, "configuration")
    if section is None:
        return None
    for conf in section.iter("configuration"):
        if conf.get("name") == name:
            return conf
    return None


def _settings_of(root: ET.Element, name: str) -> dict[str, str]:
    conf = _configuration(root, name)
    if conf is None:
        return {}
    return {p.get("name", ""): p.get("value", "") for p in conf.iter("param")}


def _conference_profiles(root: ET.Element) -> dict[str, ConferenceProfile]:
    conf = _configuration(root, "conference.conf")
    profiles: dict[str, ConferenceProfile] = {}
    if conf is None:
        return profiles
    for prof in conf.iter("profile"):
        params = {p.get("name", ""): p.get("value", "") for p in prof.findall("param")}
        profiles[prof.get("name", "default")] = ConferenceProfile(prof.get("name", ""), params)
    return profiles


def _sip_profiles(root: ET.Element) -> dict[str, dict[str, str]]:
    conf = _configuration(root, "sofia.conf")
    profiles: dict[str, dict[str, str]] = {}
    if conf is None:
        return profiles
    for prof in conf.iter("profile"):
        settings = prof.find("settings")
        params = settings.findall("param") if settings is not None else []
        profiles[prof.get("name", "")] = {p.get("name", ""): p.get("value", "") for p in params}
    return profiles


def _acl_lists(root: ET.Element) -> dict[str, tuple[str, list[tuple[str, str]]]]:
    conf = _configuration(root, "acl.conf")
    lists: dict[str, tuple[str, list[tuple[str, str]]]] = {}
    if conf is None:
        return lists
    for lst in conf.iter("list"):
        nodes = [(n.get("type", ""), n.get("cidr", "")) for n in lst.iter("node") if n.get("cidr")]
        lists[lst.get("name", "")] = (lst.get("default", "deny"), nodes)
    return lists


def _languages(root: ET.Element) -> dict[str, str]:
    langs: dict[str, str] = {}
    section = _section(root, "languages")
    if section is None:
        return langs
    for lang in section.iter("language"):
        if lang.find("phrases") is not None:
            name = lang.get("name", "")
            langs[name] = lang.get("say-module", name)
    return langs


def hunt(
    contexts: dict[str, list[Extension]], context: str, fields: dict[str, str]
) -> list[tuple[str, str]]:
    """The XML dialplan: actions (with $1.. captures applied) for a call, [] = no route."""
    actions: list[tuple[str, str]] = []
    for ext in contexts.get(context, []):
        ext_actions: list[tuple[str, str]] = []
        matched_all = True
        for cond in ext.conditions:
            ok, groups = _evaluate(cond, fields)
            if ok:
                ext_actions += [(app, _captures(data, groups)) for app, data in cond.actions]
            else:
                matched_all = False
                ext_actions += [(app, data) for app, data in cond.anti_actions]
            if (cond.brk == "on-false" and not ok) or (cond.brk == "on-true" and ok):
                break
            if cond.brk == "always":
                break
        if matched_all and ext_actions:
            actions += ext_actions
            if not ext.cont:
                break
        elif ext_actions:
            actions += ext_actions
    return actions


def _evaluate(cond: Condition, fields: dict[str, str]) -> tuple[bool, tuple[str, ...]]:
    if cond.field is None or cond.expression is None:
        return True, ()
    name = cond.field
    if name.startswith("${") and name.endswith("}"):
        value = fields.get("var:" + name[2:-1], "")
    else:
        value = fields.get(name, "")
    try:
        match = re.search(cond.expression, value)
    except re.error:
        return False, ()
    if match is None:
        return False, ()
    return True, (match.group(0), *[g or "" for g in match.groups()])


def _captures(data: str, groups: tuple[str, ...]) -> str:
    def repl(m: re.Match[str]) -> str:
        index = int(m.group(1))
        return groups[index] if index < len(groups) else ""

    return re.sub(r"\$(\d)", repl, data)
