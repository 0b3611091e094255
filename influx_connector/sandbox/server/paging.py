"""List paging (``limit``, ``offset``, ``descending``, ``after``) and the links a page carries."""
from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode

from influx_connector.sandbox.server.messages import Request, invalid
from influx_connector.sandbox.server.parsing import check_id

MAX_PAGE_SIZE = 100
DEFAULT_PAGE_SIZE = 20


@dataclass(frozen=True)
class Paging:
    limit: int
    offset: int
    descending: bool
    after: str | None

    @classmethod
    def from_request(cls, req: Request) -> Paging:
        return cls(
            limit=_int_param(req, "limit", DEFAULT_PAGE_SIZE, 1, MAX_PAGE_SIZE,
                             f"limit must be between 1 and {MAX_PAGE_SIZE}"),
            offset=_int_param(req, "offset", 0, 0, None, "offset must be greater than or equal to 0"),
            descending=_bool_param(req, "descending"),
            after=check_id(after) if (after := req.param("after")) else None,
        )

    def query(self, *, offset: int | None = None, after: str | None = None) -> dict[str, str]:
        params = {"descending": str(self.descending).lower(), "limit": str(self.limit)}
        params["offset"] = str(self.offset if offset is None else offset)
        if after or self.after:
            params["after"] = after or self.after or ""
        return params


def _int_param(req: Request, name: str, default: int, low: int, high: int | None, message: str) -> int:
    raw = req.param(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise invalid(message) from None
    if value < low or (high is not None and value > high):
        raise invalid(message)
    return value


def _bool_param(req: Request, name: str) -> bool:
    raw = req.param(name)
    if raw is None:
        return False
    # The server parses with Go's strconv.ParseBool, which takes these spellings.
    if raw in ("1", "t", "T", "true", "TRUE", "True"):
        return True
    if raw in ("0", "f", "F", "false", "FALSE", "False"):
        return False
    raise invalid(f"{name} must be true or false")


def page_links(base: str, paging: Paging, filters: dict[str, str], page_ids: list[str], more: bool) -> dict[str, str]:
    """``self``, and ``next``/``prev`` when those pages exist; keys sorted as Go's url.Values does."""

    def link(params: dict[str, str]) -> str:
        return f"{base}?{urlencode(sorted({**filters, **params}.items()))}"

    links = {"self": link(paging.query())}
    if more and page_ids:
        if paging.after:
            # Seek paging continues after the last ID of this page; the offset already applied.
            links["next"] = link(paging.query(offset=0, after=page_ids[-1]))
        else:
            links["next"] = link(paging.query(offset=paging.offset + paging.limit))
    if paging.offset > 0 and not paging.after:
        links["prev"] = link(paging.query(offset=max(0, paging.offset - paging.limit)))
    return links
