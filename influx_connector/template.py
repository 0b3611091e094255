"""Templates: how declared values land in a request.

A template is plain data. A mapping with one of the directive keys below is replaced by what
it names; everything else is copied. There are no expressions, so nothing in a manifest can run
code, and a value that is absent is left out (never rendered as "None").

  {$param: name}                 an operation parameter
  {$conn: name}                  a connection field
  {$body: key}                   a figure the body encoder reported (e.g. count of points)
  {$first: [t1, t2, ...]}        the first alternative that is not absent
  {$when: name, then: t}         t, only when parameter `name` has a value
  {$rule: name, value: t, ...}   a pure function a plugin provides, with the other keys as options
  {$resolve: name, value: t}     a lookup a plugin provides (it may ask the server; dry-runs do not)
  {$merge: [t1, ...], k: v}      inside a mapping: merge the mappings the templates render to

Internal to the engine (not part of what hosts use; see ``influx_connector.__all__``).
"""
from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any


class _Omit:
    """The value of an absent parameter: dropped from whatever contains it."""

    _instance = None

    def __new__(cls) -> _Omit:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "OMIT"

    def __bool__(self) -> bool:
        return False


OMIT = _Omit()
DIRECTIVES = ("$param", "$conn", "$body", "$first", "$when", "$rule", "$resolve")
TEMPLATE_KEYS = (*DIRECTIVES, "$merge")


@dataclass
class Context:
    params: Mapping[str, Any] = field(default_factory=dict)
    conn: Mapping[str, Any] = field(default_factory=dict)
    body: Mapping[str, Any] = field(default_factory=dict)
    rules: Mapping[str, Callable[..., Any]] = field(default_factory=dict)
    resolve: Callable[[str, Any], Any] = lambda name, value: value

    def __repr__(self) -> str:
        # Connection values hold secrets: names only, never values.
        return f"Context(params={sorted(self.params)}, conn={sorted(self.conn)}, body={sorted(self.body)})"


def _lookup(source: Mapping[str, Any], name: str) -> Any:
    value = source.get(name)
    return OMIT if value is None else value


def render(template: Any, ctx: Context) -> Any:
    """Render a template; the result is OMIT when it names only absent values."""
    if isinstance(template, Mapping):
        directive = next((k for k in DIRECTIVES if k in template), None)
        if directive is not None:
            return _render_directive(directive, template, ctx)
        out: dict[str, Any] = {}
        for key, value in template.items():
            if key == "$merge":
                for part in value:
                    rendered = render(part, ctx)
                    if rendered is not OMIT:
                        out.update(rendered)
                continue
            rendered = render(value, ctx)
            if rendered is not OMIT:
                out[key] = rendered
        return out
    if isinstance(template, list):
        return [r for r in (render(item, ctx) for item in template) if r is not OMIT]
    return template


def _render_directive(directive: str, t: Mapping[str, Any], ctx: Context) -> Any:
    if directive == "$param":
        return _lookup(ctx.params, t["$param"])
    if directive == "$conn":
        return _lookup(ctx.conn, t["$conn"])
    if directive == "$body":
        return _lookup(ctx.body, t["$body"])
    if directive == "$first":
        for option in t["$first"]:
            rendered = render(option, ctx)
            if rendered is not OMIT:
                return rendered
        return OMIT
    if directive == "$when":
        return render(t.get("then"), ctx) if _lookup(ctx.params, t["$when"]) is not OMIT else OMIT
    value = render(t.get("value"), ctx)
    if value is OMIT:
        return OMIT
    if directive == "$rule":
        options = {k: render(v, ctx) for k, v in t.items() if k not in ("$rule", "value")}
        return ctx.rules[t["$rule"]](value, **options)
    return ctx.resolve(t["$resolve"], value)


_KIND = {"$param": "param", "$conn": "conn", "$body": "body", "$when": "when", "$rule": "rule", "$resolve": "resolver"}


def references(template: Any, ptr: str = "") -> Iterator[tuple[str, str, str]]:
    """(pointer, kind, name) for every name a template refers to, and 'unknown' for stray $keys."""
    if isinstance(template, Mapping):
        for key, value in template.items():
            here = f"{ptr}/{key}"
            if key in _KIND:
                yield here, _KIND[key], str(value)
            elif isinstance(key, str) and key.startswith("$") and key not in TEMPLATE_KEYS:
                yield here, "unknown", key
            if key not in _KIND:
                yield from references(value, here)
    elif isinstance(template, list):
        for i, item in enumerate(template):
            yield from references(item, f"{ptr}/{i}")
