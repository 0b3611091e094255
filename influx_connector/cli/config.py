"""Connection values from a config file, the environment and flags (the later wins)."""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping
from urllib.parse import urlsplit

import yaml

from ..errors import UsageError

if TYPE_CHECKING:
    from .invocation import Invocation

#: Environment variables of the official influx CLI, and the connection field each one fills.
TOKEN_ENV = "INFLUX_TOKEN"
ENV_FIELDS = ((TOKEN_ENV, "token"), ("INFLUX_ORG", "org"), ("INFLUX_BUCKET", "bucket"))
ENV_HOST = "INFLUX_HOST"

_DEFAULT_PORTS = {"http": 80, "https": 443}


def split_host_url(text: str, origin: str) -> dict[str, Any]:
    """protocol, host, port and base_path from a URL such as ``https://example.com/prefix``.

    Without a scheme the text is taken as a bare host name. A URL describes the whole server,
    so it also sets base_path (empty when it has no path) instead of inheriting one meant for
    another server. The port defaults to the scheme's (443/80), as in the URL itself.
    """
    text = text.strip()
    if "://" not in text:
        return {"host": text}
    parts = urlsplit(text)
    scheme = parts.scheme.lower()
    # Messages name the origin but never repeat the value: a URL can carry credentials.
    if parts.username or parts.password:
        raise UsageError(f"{origin}: do not put credentials in the URL; give the token with --token or INFLUX_TOKEN")
    if parts.query or parts.fragment:
        raise UsageError(f"{origin}: the URL must not have a query string or fragment")
    if not parts.hostname:
        raise UsageError(f"{origin}: the URL has no host name")
    try:
        port = parts.port
    except ValueError:
        raise UsageError(f"{origin}: the port in the URL is not a number between 0 and 65535") from None
    # urlsplit drops the brackets of an IPv6 literal; the base URL needs them back.
    hostname = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    out: dict[str, Any] = {"protocol": scheme, "host": hostname, "base_path": parts.path.rstrip("/")}
    port = port if port is not None else _DEFAULT_PORTS.get(scheme)
    if port is not None:
        out["port"] = port
    return out


def env_values(environ: Mapping[str, str]) -> dict[str, Any]:
    """Connection values from the official influx CLI's environment variables."""
    out: dict[str, Any] = {}
    host = environ.get(ENV_HOST, "").strip()
    if host:
        out.update(split_host_url(host, ENV_HOST))
    for var, name in ENV_FIELDS:
        if environ.get(var):
            out[name] = environ[var]
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


def parse_header(text: str) -> tuple[str, str]:
    name, sep, value = text.partition(":")
    if not sep or not name.strip():
        # The value is not repeated: a header often carries a credential.
        raise UsageError("--header must look like 'Name: value'")
    return name.strip(), value.strip()


def flag_values(inv: Invocation) -> dict[str, Any]:
    """Connection values given as flags; a --host URL is split like INFLUX_HOST."""
    out: dict[str, Any] = {}
    host = inv.option("host")
    if host is not None:
        out.update(split_host_url(host, "--host"))
    # Explicit flags win over the parts of a --host URL.
    for name in ("port", "protocol", "token", "org", "bucket", "base_path", "timeout", "ca_bundle"):
        if inv.given(name):
            out[name] = inv.option(name)
    if inv.option("insecure"):
        out["verify_tls"] = False
    headers = dict(parse_header(h) for h in inv.options("header"))
    if headers:
        out["headers"] = headers
    return out


def connection_values(inv: Invocation, environ: Mapping[str, str]) -> dict[str, Any]:
    """Merged connection values: config file, then environment, then flags (the later wins)."""
    config_file = inv.option("config")
    config = read_config(config_file) if config_file else {}
    flags = flag_values(inv)
    values = {**config, **env_values(environ), **flags}
    if "headers" in flags and isinstance(config.get("headers"), Mapping):
        # Headers merge per name, so --header adds to the config file's headers.
        values["headers"] = {**config["headers"], **flags["headers"]}
    return values

