"""The authoring contract (``schemas/*.schema.json``) applied to a YAML file, in an author's words.

jsonschema's own messages describe the schema ("is not valid under any of the given schemas");
these describe the file: the key that is unknown and the one that was probably meant, the value
that is not one of the allowed ones, the key that is missing, each at its line and column.

Internal to the engine (not part of what hosts use; see ``influx_connector.__all__``).
"""
from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from functools import cache
from typing import Any, cast

import jsonschema
from referencing import Registry, Resource

from . import resources
from .errors import ManifestProblem
from .suggest import did_you_mean
from .yamlsource import Located, pointer

CONNECTOR = "connector.schema.json"
OPERATION = "operation.schema.json"
DEMO = "demo.schema.json"


@cache
def validator(name: str) -> jsonschema.Draft7Validator:
    """The validator of one authoring schema, with the others registered for its references."""
    schema_dir = resources.schemas_dir()
    docs = {n: json.loads((schema_dir / n).read_text(encoding="utf-8")) for n in (CONNECTOR, OPERATION, DEMO)}
    registry: Registry = Registry().with_resources((n, Resource.from_contents(doc)) for n, doc in docs.items())
    return jsonschema.Draft7Validator(docs[name], registry=registry)


def hint(word: Any, candidates: Iterable[Any]) -> str | None:
    """"did you mean 'x'?" for a problem's hint, or None."""
    return did_you_mean(str(word), [str(c) for c in candidates]).strip(" ()") or None


def schema_problems(doc: Located, name: str) -> list[ManifestProblem]:
    """Every way ``doc`` breaks the schema ``name``, explained."""
    problems: list[ManifestProblem] = []
    for error in validator(name).iter_errors(doc.data):
        problems.extend(_explain(doc, error))
    return problems


def _explain(doc: Located, error: jsonschema.ValidationError) -> list[ManifestProblem]:
    """Turn one jsonschema error into problems a YAML author can act on."""
    ptr = pointer(error.absolute_path)
    if error.validator == "additionalProperties" and isinstance(error.instance, Mapping):
        known = list((error.schema if isinstance(error.schema, Mapping) else {}).get("properties", {}))
        extra = [k for k in error.instance if k not in known]
        out = []
        for key in extra:
            out.append(doc.problem(f"{ptr}/{key}", f"unknown key '{key}'",
                                   hint(key, known) or f"allowed keys: {', '.join(known)}", at_key=True))
        if out:
            return out
    if error.validator == "required":
        missing = error.message.split("'")[1] if "'" in error.message else error.message
        return [doc.problem(ptr, f"missing required key '{missing}'")]
    if error.validator in ("oneOf", "anyOf") and error.context:
        # Report the branch that got furthest: the deepest error is the most specific.
        deepest = max(error.context, key=lambda e: len(e.absolute_path))
        if len(deepest.absolute_path) > len(error.absolute_path):
            return _explain(doc, deepest)
        # Text where a branch lists the allowed words ('sting' for a type): that branch was meant.
        listed = [e for e in error.context if e.validator == "enum" and isinstance(e.instance, str)]
        if listed:
            return _explain(doc, listed[0])
        wanted = "; or ".join(dict.fromkeys(describe(e.schema) for e in error.context if isinstance(e.schema, Mapping)))
        return [doc.problem(ptr, f"does not match any allowed form: {wanted}")]
    if error.validator == "enum":
        return [doc.problem(ptr, f"{error.instance!r} is not one of {error.validator_value}",
                            hint(error.instance, cast(list[Any], error.validator_value)))]  # an enum's values
    if error.validator == "const":
        return [doc.problem(ptr, f"must be {error.validator_value!r}, not {error.instance!r}")]
    return [doc.problem(ptr, error.message)]


_ARTICLES = {"integer": "an integer", "array": "a list", "object": "a mapping", "string": "text",
             "number": "a number", "boolean": "true or false", "null": "null"}


def describe(schema: Mapping[str, Any]) -> str:
    """A schema branch in words: "a list of text", "a mapping that has name, org"."""
    if "required" in schema:
        return "a mapping that has " + ", ".join(schema["required"])
    if "enum" in schema:
        return "one of " + ", ".join(map(str, schema["enum"]))
    if "$ref" in schema:
        return schema["$ref"].rsplit("/", 1)[-1].replace("_", " ")
    kind = schema.get("type")
    if isinstance(kind, list):
        names: list[str] = kind
        return " or ".join(_ARTICLES.get(name, name) for name in names)
    if kind == "array" and isinstance(schema.get("items"), Mapping):
        return f"a list of {describe(schema['items'])}"
    if isinstance(kind, str):
        return _ARTICLES.get(kind, kind)
    return "another form"
