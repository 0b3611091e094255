"""Connection values from a config file, the environment and flags (the later wins).

Which flags and variables there are is the data source's ``command_line`` declaration; this
module knows no data source. A value for the field in the host place of the base URL may be a
whole URL (``https://example.com:8443/prefix``): it then fills the fields in the scheme, port
and path places too, as the base URL names them.
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import yaml

from ..cli_spec import is_pairs_field
from ..errors import UsageError
from ..model import DataSource

if TYPE_CHECKING:
    from .invocation import Invocation

_DEFAULT_PORTS = {"http": 80, "https": 443}
_BASE_URL = re.compile(r"^(?:\{(?P<scheme_field>\w+)\}|(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*))://\{(?P<host>\w+)\}"
                       r"(?::(?:\{(?P<port>\w+)\}|[0-9]+))?(?:\{(?P<path>\w+)\}|/[^{}]*)?$")


@dataclass(frozen=True)
class UrlFields:
    """The connection fields the parts of a URL fill, as a base URL such as
    ``{protocol}://{host}:{port}{base_path}`` places them."""

    host: str
    scheme: str | None = None  # the field the scheme fills; None when the base URL fixes it
    fixed_scheme: str | None = None
    port: str | None = None
    path: str | None = None


def url_fields(base_url: str) -> UrlFields | None:
    """How a URL maps onto connection fields, or None when the base URL has no host field."""
    found = _BASE_URL.match(base_url)
    if found is None:
        return None
    return UrlFields(host=found["host"], scheme=found["scheme_field"], fixed_scheme=found["scheme"],
                     port=found["port"], path=found["path"])


def split_host_url(text: str, origin: str, fields: UrlFields, credentials: str = "") -> dict[str, Any]:
    """The connection fields a URL such as ``https://example.com/prefix`` fills.

    Without a scheme the text is taken as a bare host name. A URL describes the whole server,
    so it also sets the path field (empty when it has no path) instead of inheriting one meant
    for another server. The port defaults to the scheme's (443/80), as in the URL itself.
    ``credentials`` says how credentials are given instead (for the message about a URL that
    holds some).
    """
    text = text.strip()
    if "://" not in text:
        return {fields.host: text}
    parts = urlsplit(text)
    scheme = parts.scheme.lower()
    # Messages name the origin but never repeat the value: a URL can carry credentials.
    if parts.username or parts.password:
        instead = f"; give them with {credentials}" if credentials else ""
        raise UsageError(f"{origin}: do not put credentials in the URL{instead}")
    if parts.query or parts.fragment:
        raise UsageError(f"{origin}: the URL must not have a query string or fragment")
    if not parts.hostname:
        raise UsageError(f"{origin}: the URL has no host name")
    try:
        port = parts.port
    except ValueError:
        raise UsageError(f"{origin}: the port in the URL is not a number between 0 and 65535") from None
    if fields.scheme is None and scheme != (fields.fixed_scheme or "").lower():
        raise UsageError(f"{origin}: this data source speaks {fields.fixed_scheme} only, not {scheme}")
    path = parts.path.rstrip("/")
    if fields.path is None and path:
        raise UsageError(f"{origin}: this data source takes no path in the URL")
    # urlsplit drops the brackets of an IPv6 literal; the base URL needs them back.
    hostname = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    out: dict[str, Any] = {fields.host: hostname}
    if fields.scheme is not None:
        out = {fields.scheme: scheme, **out}
    if fields.path is not None:
        out[fields.path] = path
    port = port if port is not None else _DEFAULT_PORTS.get(scheme)
    if port is not None:
        if fields.port is None:
            raise UsageError(f"{origin}: this data source takes no port in the URL")
        out[fields.port] = port
    return out


# --- where each field's value is given ------------------------------------------------------------------


def how_to_give(data_source: DataSource, field: str) -> str:
    """The flag and variable that give a connection field, in words: "--token or INFLUX_TOKEN"."""
    spec = data_source.command_line
    flag, variable = spec.flag_for(field), spec.variable(field)
    ways = []
    if flag is not None and not flag.switch:
        ways.append(f"--{flag.flag}")
    if variable:
        ways.append(variable)
    return " or ".join(ways) or f"'{field}' in a --config file"


def credentials_hint(data_source: DataSource) -> str:
    """How the secret connection fields are given, for messages about credentials: the ones the
    auth header is built from ("--token or INFLUX_TOKEN")."""
    auth = data_source.connection.auth
    named = [name for name in data_source.connection.secret_fields if auth is None or f"{{{name}}}" in auth.value]
    return "; ".join(how_to_give(data_source, name) for name in named) or "a --config file"


def env_values(environ: Mapping[str, str], data_source: DataSource) -> dict[str, Any]:
    """Connection values from the environment variables the data source declares."""
    spec = data_source.command_line
    url = url_fields(data_source.connection.base_url)
    out: dict[str, Any] = {}
    for field in spec.environment:
        variable = spec.variable(field)
        value = environ.get(variable or "", "")
        if not value.strip():
            continue
        if url is not None and field == url.host:
            out.update(split_host_url(value, variable or field, url, credentials_hint(data_source)))
        else:
            out[field] = value
    return out


def read_config(path: str) -> dict[str, Any]:
    """A YAML or JSON mapping of connection values (JSON is YAML, so one parser reads both)."""
    file = Path(path)
    if not file.is_file():
        raise UsageError(f"--config: no such file: {path}")
    try:
        data = yaml.safe_load(file.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        # Only the position: the parser's snippet of the offending line could hold the token.
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        raise UsageError(f"--config {path}: not valid YAML or JSON{where}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"--config {path}: cannot read it: {type(exc).__name__}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise UsageError(f"--config {path}: must be a mapping of connection fields, such as 'host: localhost'")
    return {str(k): v for k, v in data.items()}


def parse_pair(text: str, flag: str) -> tuple[str, str]:
    name, sep, value = text.partition(":")
    if not sep or not name.strip():
        # The value is not repeated: a header often carries a credential.
        raise UsageError(f"--{flag} must look like 'Name: value'")
    return name.strip(), value.strip()


def flag_values(inv: Invocation, data_source: DataSource) -> dict[str, Any]:
    """Connection values given as flags; a URL for the host field is split as in the environment."""
    from .parser import FIELD

    out: dict[str, Any] = {}
    url = url_fields(data_source.connection.base_url)
    schemas = {p.name: p.schema for p in data_source.connection.fields}
    flags = data_source.command_line.flags
    if url is not None and inv.given(FIELD + url.host):
        host_flag = next(f.flag for f in flags if f.field == url.host)
        out.update(split_host_url(str(inv.option(FIELD + url.host)), f"--{host_flag}", url,
                                  credentials_hint(data_source)))
    # Explicit flags win over the parts of a URL.
    for flag in flags:
        if not inv.given(FIELD + flag.field) or (url is not None and flag.field == url.host):
            continue
        if is_pairs_field(schemas[flag.field]) and not flag.switch:
            pairs = dict(parse_pair(text, flag.flag) for text in inv.options(FIELD + flag.field))
            if pairs:
                out[flag.field] = pairs
        else:
            out[flag.field] = inv.option(FIELD + flag.field)
    return out


def connection_values(inv: Invocation, environ: Mapping[str, str], data_source: DataSource) -> dict[str, Any]:
    """Merged connection values: config file, then environment, then flags (the later wins)."""
    config_file = inv.option("config")
    config = read_config(config_file) if config_file else {}
    flags = flag_values(inv, data_source)
    values = {**config, **env_values(environ, data_source), **flags}
    for name, value in flags.items():
        if isinstance(value, Mapping) and isinstance(config.get(name), Mapping):
            # Pairs merge per name, so --header adds to the config file's headers.
            values[name] = {**config[name], **value}
    return values
