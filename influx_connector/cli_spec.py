"""A data source's ``command_line`` declaration: which connection fields the command line offers
as flags, and which environment variables fill them.

The command line itself knows no data source; it reads this. A data source that declares nothing
gets a flag for each connection field of a plain type (text, number, true/false) and reads no
environment variable, so an ``INFLUX_TOKEN`` meant for another data source never reaches it.

Internal to the engine (not part of what hosts use; see ``influx_connector.__all__``).
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .errors import ManifestProblem
from .model import CliFlag, CommandLineSpec
from .suggest import did_you_mean
from .yamlsource import Located

#: Field types a flag can carry as one value typed on the command line.
_PLAIN_TYPES = {"string", "integer", "number", "boolean"}


def field_types(decl: Mapping[str, Any]) -> list[str]:
    # The schema's own problems are reported in the same round, so a malformed type is read as none.
    declared = decl.get("type")
    if isinstance(declared, str):
        return [declared]
    if isinstance(declared, list):
        return [t for t in declared if isinstance(t, str)]
    return []


def _is_plain(decl: Mapping[str, Any]) -> bool:
    types = [t for t in field_types(decl) if t != "null"]
    return bool(types) and set(types) <= _PLAIN_TYPES and len(types) == 1


def _flag_name(field_name: str) -> str:
    return field_name.replace("_", "-")


def compile_command_line(decl: Mapping[str, Any] | None, fields: Mapping[str, Mapping[str, Any]]) -> CommandLineSpec:
    """The compiled declaration; without one, a flag for every plain field and no variables."""
    decl = decl or {}
    if "flags" in decl:
        flags = tuple(_compile_flag(entry) for entry in decl["flags"])
    else:
        flags = tuple(CliFlag(field=name, flag=_flag_name(name)) for name, spec in fields.items() if _is_plain(spec))
    return CommandLineSpec(flags=flags, flags_declared="flags" in decl, env_prefix=decl.get("env_prefix"),
                           environment=tuple(decl.get("environment") or ()))


def _compile_flag(entry: Any) -> CliFlag:
    if isinstance(entry, str):
        return CliFlag(field=entry, flag=_flag_name(entry))
    return CliFlag(field=entry["field"], flag=entry.get("flag") or _flag_name(entry["field"]),
                   switch="value" in entry, value=entry.get("value"), metavar=entry.get("metavar"),
                   help=entry.get("help"))


def check_command_line(doc: Located, fields: Mapping[str, Mapping[str, Any]], problems: list[ManifestProblem]) -> None:
    """What the schema cannot say: every name is a connection field, flags are unique, a switch
    sets a value its field accepts, and variables need a prefix."""
    decl = doc.data.get("command_line") if isinstance(doc.data, Mapping) else None
    if not isinstance(decl, Mapping):
        return
    here = "/command_line"

    def unknown(ptr: str, name: Any) -> None:
        problems.append(doc.problem(ptr, f"'{name}' is not a connection field",
                                    did_you_mean(str(name), fields).strip(" ()") or None))

    seen: dict[str, str] = {}
    for i, entry in enumerate(decl.get("flags") or ()):
        ptr = f"{here}/flags/{i}"
        name = entry if isinstance(entry, str) else entry.get("field") if isinstance(entry, Mapping) else None
        if not isinstance(name, str):
            continue  # the schema reports the entry's shape
        if name not in fields:
            unknown(ptr if isinstance(entry, str) else f"{ptr}/field", name)
            continue
        flag = _flag_name(name) if isinstance(entry, str) else str(entry.get("flag") or _flag_name(name))
        if flag in seen:
            problems.append(doc.problem(ptr, f"the flag --{flag} is already given to '{seen[flag]}'"))
        seen[flag] = name
        if isinstance(entry, Mapping) and "value" in entry:
            _check_switch(doc, f"{ptr}/value", fields[name], entry["value"], problems)
        elif isinstance(fields[name], Mapping) and not _is_plain(fields[name]) and not is_pairs_field(fields[name]):
            problems.append(doc.problem(ptr, f"'{name}' is not a field a flag can carry: a flag takes text, a number "
                                             "or true/false, or 'NAME: VALUE' pairs for an object of text values"))
    environment = decl.get("environment") or ()
    for i, name in enumerate(environment if isinstance(environment, list) else ()):
        if isinstance(name, str) and name not in fields:
            unknown(f"{here}/environment/{i}", name)
    if environment and not decl.get("env_prefix"):
        problems.append(doc.problem(f"{here}/environment", "environment variables need an env_prefix "
                                                           "(INFLUX gives INFLUX_HOST for the field host)"))


def _check_switch(doc: Located, ptr: str, spec: Mapping[str, Any], value: Any, problems: list[ManifestProblem]) -> None:
    types = field_types(spec) if isinstance(spec, Mapping) else []
    kinds: dict[str, type | tuple[type, ...]] = {"boolean": bool, "string": str, "integer": int, "number": (int, float)}
    if types and not any(isinstance(value, kinds.get(t, ())) for t in types):
        problems.append(doc.problem(ptr, f"{value!r} is not a value of the field's type ({' or '.join(types)})"))


def is_pairs_field(spec: Mapping[str, Any]) -> bool:
    """An object whose values are text: on the command line, a repeatable ``--flag 'NAME: VALUE'``."""
    extra = spec.get("additionalProperties")
    return field_types(spec) == ["object"] and isinstance(extra, Mapping) and field_types(extra) == ["string"]
