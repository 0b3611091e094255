"""The form and the connector are one contract: what rjsf's validator accepts, the connector
accepts, and the other way round, naming the same fields.

Every form (the connection and each operation, with and without connection defaults) gets a
corpus of inputs (empty, each example, each field varied by every kind of value it can be wrong
in, host text for numbers and true/false, the groups of "give one of") and each input is judged
by react-jsonschema-form 6 and 5 (their ajv8 validator, run with node, as a host runs it: defaults
filled in, a cleared text field undefined, the schema whole and as rjsf resolves it) and by the
connector (``api.connect``, or ``Connection.render`` which validates first). One node process
judges the whole corpus.
"""
from __future__ import annotations

from collections import Counter
from typing import Any, Iterator

import pytest

from influx_connector import api, forms
from influx_connector.errors import ValidationError

from .formcheck import connector_fields, corpus, form_fields, judge_in_node
from .helpers import TOKEN

CONNECTOR = api.load()
DEFAULTS = {"token": TOKEN, "host": "localhost", "org": "my-org", "bucket": "my-bucket"}
BARE = {"token": TOKEN, "host": "localhost"}
CONNECTION_BASE = {"token": TOKEN, "host": "localhost"}


def _forms() -> dict[str, tuple[str, str | None, dict[str, Any]]]:
    """key -> (operation id or "connection", connection mode, form)."""
    out: dict[str, tuple[str, str | None, dict[str, Any]]] = {
        "connection": ("connection", None, forms.connection_form(CONNECTOR))}
    for op in CONNECTOR.operations.values():
        out[op.id] = (op.id, "defaults", forms.operation_form(CONNECTOR, op))
        if any(p.default_from for p in op.params):
            out[f"{op.id}@bare"] = (op.id, "bare", forms.operation_form(CONNECTOR, op, connection=BARE))
    return out


FORMS = _forms()


def _cases() -> Iterator[tuple[str, str, dict[str, Any]]]:
    for key, (target, mode, form) in FORMS.items():
        if target == "connection":
            spec = CONNECTOR.connection
            found = corpus(spec.fields, form["schema"], CONNECTION_BASE, skip_text=("ca_bundle",))
        else:
            op = CONNECTOR.operations[target]
            examples = [e["params"] for e in op.examples]
            found = corpus(op.params, form["schema"], examples[0], examples, op.requires_one_of)
        for label, data in found.cases:
            yield key, label, data


CASES = list(_cases())


@pytest.fixture(scope="module")
def verdicts() -> dict[str, Any]:
    """rjsf's verdicts on every case, from one node process."""
    return judge_in_node({k: v[2] for k, v in FORMS.items()}, [{"form": k, "data": d} for k, _, d in CASES])


@pytest.fixture(scope="module")
def connections() -> Iterator[dict[str, Any]]:
    with api.connect(DEFAULTS) as defaults, api.connect(BARE) as bare:
        yield {"defaults": defaults, "bare": bare}


def connector_verdict(key: str, data: dict[str, Any], connections: dict[str, Any]) -> set[str]:
    """The fields the connector refuses (empty when it accepts)."""
    target, mode, _ = FORMS[key]
    try:
        if target == "connection":
            api.connect(data).close()
        else:
            connections[mode].render(target, data)
    except ValidationError as exc:
        return connector_fields(exc)
    return set()


@pytest.mark.parametrize("key", list(FORMS))
def test_the_form_and_the_connector_judge_alike(key: str, verdicts: dict[str, Any], connections: dict[str, Any]) -> None:
    disagreements: list[str] = []
    judged = Counter()
    for index, (case_key, label, data) in enumerate(CASES):
        if case_key != key:
            continue
        for folder, found in verdicts["rjsf"].items():
            result = found["results"][index]
            for variant in ("raw", "typed"):
                # What the host hands to the connector is what the form holds once rjsf has
                # filled in defaults (and, typed, turned cleared fields into nothing).
                submitted = result[variant]["formData"]
                expected = connector_verdict(key, submitted, connections)
                for mode in ("full", "resolved"):
                    got = form_fields(result[variant][mode])
                    judged["accepted" if not got else "refused"] += 1
                    if got != expected:
                        disagreements.append(f"{label} [{variant}, {mode}, rjsf {found['version']}]: "
                                             f"form {sorted(got) or 'accepts'}, connector {sorted(expected) or 'accepts'}"
                                             f" {[(e['property'], e['name'], e['message']) for e in result[variant][mode]]}")
    assert judged["accepted"] and (judged["refused"] or not FORMS[key][2]["schema"]["properties"]), judged
    assert not disagreements, f"{len(disagreements)} disagreements:\n" + "\n".join(disagreements[:60])


def test_every_form_compiles_under_ajv_strict_mode(verdicts: dict[str, Any]) -> None:
    problems = {k: v for k, v in verdicts["strict"]["problems"].items() if v}
    assert not problems
    assert set(verdicts["strict"]["problems"]) == set(FORMS)
    assert verdicts["console"] == []
