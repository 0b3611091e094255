"""Following an answer's next-page links, and the JSON pointers that find items and links.

Internal to the engine: ``Connection.run`` follows pages when an operation asks for it.
"""
from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ..errors import DecodeError
from ..links import same_origin_url
from ..model import Operation
from ..render import Request
from .exchange import Tally, decode_response, exchange

if TYPE_CHECKING:
    from .client import Connection

log = logging.getLogger(__name__)


def follow_pages(conn: Connection, op: Operation, params: Mapping[str, Any], first: Request, data: Any,
                 tally: Tally) -> Any:
    """Every page's items in one list. A next link that leads to a page already read ends
    paging with an error (it would never stop); the page cap ends it with the result
    marked truncated."""
    pag = op.response.paginate
    assert pag is not None
    if not isinstance(data, Mapping):
        raise DecodeError(f"{op.id}: the answer is a {type(data).__name__}, not an object holding {pag.items}")
    items = _page_items(data, pag.items, 1)
    link = pointer_get(data, pag.next)
    seen = {_without_fragment(first.url): 1}
    while link:
        if tally.pages >= pag.max_pages:
            tally.truncated = f"{pag.max_pages} pages, the most {op.id} follows"
            log.warning("%s: stopped after %d pages; the answer held more", op.id, pag.max_pages)
            data = {**data, "truncated": True}
            break
        url = page_url(conn, link)
        if _without_fragment(url) in seen:
            raise DecodeError(f"{op.id}: the server's next-page link on page {tally.pages} leads back to page "
                              f"{seen[_without_fragment(url)]} ({conn.redactor.mask(url)}); paging stopped, as it "
                              "would never end")
        seen[_without_fragment(url)] = tally.pages + 1
        page_req = Request(method="GET", url=url, headers=first.headers, timeout=first.timeout,
                           connect_timeout=first.connect_timeout, redactor=conn.redactor,
                           secret_headers=first.secret_headers)
        response = exchange(conn, op, page_req, tally)
        try:
            # The same parameters as the first page, so codec options read them alike.
            page = decode_response(conn.connector, op, params, {}, response, conn.host, conn.redactor)
        finally:
            response.close()
        tally.pages += 1
        items.extend(_page_items(page, pag.items, tally.pages))
        link = pointer_get(page, pag.next)
    return pointer_set(data, pag.items, items)

def page_url(conn: Connection, link: Any) -> str:
    """Absolute URL of a next link: followed only to the connection's own server (see
    ``links.same_origin_url``), which is where the connection's secrets go."""
    try:
        return same_origin_url(conn.base_url, link)
    except ValueError as exc:
        shown = conn.redactor.excerpt(repr(link), 300)
        raise DecodeError(f"the server's next-page link was not followed: {exc}: {shown}") from None

def _page_items(page: Any, pointer: str, number: int) -> list[Any]:
    """The items of one page: a list, or nothing when the page has none."""
    found = pointer_get(page, pointer)
    if found is None:
        return []
    if not isinstance(found, list):
        raise DecodeError(f"page {number} of the answer has no list at {pointer} ({type(found).__name__} instead)")
    return list(found)


def _without_fragment(url: str) -> str:
    return url.split("#", 1)[0]


def pointer_get(doc: Any, ptr: str) -> Any:
    for part in [p for p in ptr.split("/") if p]:
        part = part.replace("~1", "/").replace("~0", "~")
        if isinstance(doc, Mapping):
            doc = doc.get(part)
        elif isinstance(doc, list) and part.isdigit() and int(part) < len(doc):
            doc = doc[int(part)]
        else:
            return None
    return doc


def pointer_set(doc: Any, ptr: str, value: Any) -> Any:
    parts = [p for p in ptr.split("/") if p]
    if not parts:
        return value
    head, rest = parts[0], "/".join(parts[1:])
    return {**doc, head: pointer_set(doc.get(head, {}), rest, value) if rest else value}

