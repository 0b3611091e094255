"""Which operations and test steps apply to a connection: the ``needs`` rule, and ``detect``.

An operation (or a test step) may declare ``needs: {field: values}``: it applies only to a
connection whose field has one of those values. A field whose value is the data source's
``detect.auto`` value is unknown until Test connection finds it out from the server's answer
(``detect``); while it is unknown, everything applies, and the server's own answer is the
judge. The engine knows no field or value by name: the manifest declares both.

Internal to the engine (not part of what hosts use; see ``influx_connector.__all__``).
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from .errors import FieldError, ValidationError
from .model import ConnectionSpec, Detect


def known_values(spec: ConnectionSpec, values: Mapping[str, Any], detected: Mapping[str, str]) -> dict[str, Any]:
    """The connection's values with a detected one in place of the ``auto`` value."""
    known = dict(values)
    detect = spec.detect
    if detect is not None and known.get(detect.field, detect.auto) == detect.auto:
        known[detect.field] = detected.get(detect.field, detect.auto)
    return known


def unmet(needs: Mapping[str, tuple[str, ...]], spec: ConnectionSpec, known: Mapping[str, Any]) -> str | None:
    """The first field of ``needs`` the connection does not meet, or None when it applies."""
    detect = spec.detect
    for name, wanted in needs.items():
        have = known.get(name)
        if have is None or (detect is not None and name == detect.field and have == detect.auto):
            continue  # not known: the server will say
        if str(have) not in wanted:
            return name
    return None


def refusal(op_id: str, needs: Mapping[str, tuple[str, ...]], spec: ConnectionSpec, values: Mapping[str, Any],
            detected: Mapping[str, str]) -> ValidationError | None:
    """The error for running an operation the connection's server does not serve, or None."""
    known = known_values(spec, values, detected)
    name = unmet(needs, spec, known)
    if name is None:
        return None
    field = next((p for p in spec.fields if p.name == name), None)
    title = field.title if field is not None else name
    wanted = " or ".join(needs[name])
    found_out = name in detected and spec.detect is not None and values.get(name) == spec.detect.auto
    how = "found out from the server's answer" if found_out else "as the connection is set"
    return ValidationError([FieldError(name, f"'{op_id}' needs {title} {wanted}, but this server speaks "
                                             f"{title} {known[name]} ({how}); choose an operation for "
                                             f"{title} {known[name]}, or another connection")], subject="connection")


def detected_value(detect: Detect, headers: Mapping[str, str]) -> tuple[str | None, str]:
    """The value the first matching rule gives for an answer's headers, and the header's value."""
    seen = ""
    for name, value in headers.items():
        if name.lower() == detect.header.lower():
            seen = str(value)
            break
    for pattern, value in detect.rules:
        if re.search(pattern, seen):
            return value, seen
    return None, seen
