"""Next-page links from a hostile server: followed only to the connection's own server, never in
a circle, and never past the page cap without saying so.

Two loopback servers: A is the connection's server, B another one. Whatever A's links say, B
must never see a request, and so never the connection's token or secret extra headers.
"""
from __future__ import annotations

from collections.abc import Iterator

import pytest

from influx_connector import api
from influx_connector.errors import DecodeError
from influx_connector.links import same_origin_url

from .hostile import HostileServer, json_reply

SECRET_HEADER = "proxy-secret-value-123"


@pytest.fixture
def servers() -> Iterator[tuple[HostileServer, HostileServer]]:
    with HostileServer() as a, HostileServer() as b:
        b.on("/", json_reply(200, {"buckets": [{"name": "from B"}]}))
        yield a, b


def _links(b: HostileServer, a: HostileServer) -> list[object]:
    """Next links that would lead to B, or that a parser could read two ways."""
    return [
        f"@127.0.0.1:{b.port}/steal",                          # glued to the base URL: userinfo
        f"http://127.0.0.1:{a.port}@127.0.0.1:{b.port}/steal",  # userinfo in an absolute URL
        f"http://user@127.0.0.1:{a.port}/api/v2/buckets",       # userinfo, even to A
        f"http://127.0.0.1:{b.port}/api/v2/buckets",           # another port
        f"//127.0.0.1:{b.port}/api/v2/buckets",                # scheme-relative
        f"https://127.0.0.1:{a.port}/api/v2/buckets",          # another scheme
        f"http://127.0.0.1:{b.port}\\@127.0.0.1:{a.port}/x",  # backslash: parsers disagree
        f"/\\127.0.0.1:{b.port}/steal",                        # backslash in a path
        f"http://127.0.0.1:{a.port}:{b.port}/x",               # two ports
        f"http://127.0.0.1:{a.port}/api/v2/buckets\t@127.0.0.1:{b.port}/",  # control character
        f"http://127.0.0.1%3A{b.port}/x",                      # an escaped host
        "/api/v2/../../steal",                                  # dot segments leave the base path
        "/api/v2/%2e%2e/steal",                                 # ... also percent-encoded
        "/api/v2/buckets?x=%zz",                                # a broken escape
        "api/v2/buckets",                                       # relative
        "/api/v2/bückets",                                      # non-ASCII
        {"href": f"http://127.0.0.1:{b.port}/"},               # not text at all
        ["/api/v2/buckets"],
    ]


def test_next_links_to_another_server_or_read_two_ways_are_refused(servers) -> None:
    a, b = servers
    for link in _links(b, a):
        a.on("/api/v2/buckets", json_reply(200, {"buckets": [{"name": "a"}], "links": {"next": link}}))
        with api.connect(a.settings(headers={"X-Proxy-Key": SECRET_HEADER})) as conn:
            with pytest.raises(DecodeError) as caught:
                conn.run("list_buckets", {"all_pages": True})
        assert "next-page link was not followed" in str(caught.value), link
        assert SECRET_HEADER not in str(caught.value)
    assert b.seen == [], [s.target for s in b.seen]
    assert all(s.target.startswith("/api/v2/buckets?") for s in a.seen)  # only the first pages


@pytest.mark.parametrize("shape", ["path", "absolute", "absolute, host in capitals"])
def test_links_to_the_same_server_are_followed(servers, shape: str) -> None:
    a, _ = servers
    first = {"path": "/api/v2/buckets?offset=1", "absolute": f"{a.url}/api/v2/buckets?offset=1",
             "absolute, host in capitals": f"HTTP://127.0.0.1:{a.port}/api/v2/buckets?offset=1"}[shape]
    a.on("/api/v2/buckets?offset=1", json_reply(200, {"buckets": [{"name": "b"}], "links": {}}))
    a.on("/api/v2/buckets?limit", json_reply(200, {"buckets": [{"name": "a"}], "links": {"next": first}}))
    with api.connect(a.settings()) as conn:
        result = conn.run("list_buckets", {"all_pages": True})
    assert [b["name"] for b in result.data["buckets"]] == ["a", "b"]
    assert result.meta["pages"] == 2 and "truncated" not in result.meta


@pytest.mark.parametrize(("base", "link", "expected"), [
    ("http://db.example:80", "http://db.example/api/v2/x", "http://db.example/api/v2/x"),
    ("http://db.example", "http://DB.example:80/api/v2/x", "http://DB.example:80/api/v2/x"),
    ("https://db.example:443/influx", "https://db.example/api/v2/x", "https://db.example/api/v2/x"),
    ("https://db.example:443/influx", "/api/v2/x?after=a@b", "https://db.example:443/influx/api/v2/x?after=a@b"),
    ("https://db.example:443/influx", "/influx/api/v2/x", "https://db.example:443/influx/api/v2/x"),
    ("http://[::1]:8086", "http://[::1]:8086/api/v2/x", "http://[::1]:8086/api/v2/x"),
])
def test_default_ports_and_base_paths_are_understood(base: str, link: str, expected: str) -> None:
    assert same_origin_url(base, link) == expected


@pytest.mark.parametrize(("base", "link"), [
    ("http://db.example:8086", "http://db.example/api/v2/x"),       # port 80 is not 8086
    ("https://db.example:443", "http://db.example:443/api/v2/x"),  # scheme
    ("http://[::1]:8086", "http://[::2]:8086/api/v2/x"),
    ("http://db.example:8086", "http://db.example.:8086/api/v2/x"),  # a trailing dot is another name to a parser
])
def test_other_origins_are_refused(base: str, link: str) -> None:
    with pytest.raises(ValueError):
        same_origin_url(base, link)


def test_a_next_link_to_itself_ends_paging_with_an_error(servers) -> None:
    a, _ = servers
    a.on("/api/v2/buckets", json_reply(200, {"buckets": [{"name": "again"}], "links": {"next": "/api/v2/buckets"}}))
    with api.connect(a.settings()) as conn, pytest.raises(DecodeError) as caught:
        conn.run("list_buckets", {"all_pages": True})
    assert "leads back to page 2" in str(caught.value) and "would never end" in str(caught.value)
    assert len(a.seen) == 2  # the first page, and the page linking to itself, once


def test_a_cycle_of_next_links_ends_paging_with_an_error(servers) -> None:
    a, _ = servers
    a.on("/api/v2/buckets?limit", json_reply(200, {"buckets": [{"name": "1"}], "links": {"next": "/p/2"}}))
    a.on("/p/2", json_reply(200, {"buckets": [{"name": "2"}], "links": {"next": "/p/3"}}))
    a.on("/p/3", json_reply(200, {"buckets": [{"name": "3"}], "links": {"next": "/p/2#again"}}))
    with api.connect(a.settings()) as conn, pytest.raises(DecodeError) as caught:
        conn.run("list_buckets", {"all_pages": True})
    assert "on page 3 leads back to page 2" in str(caught.value)
    assert [s.target for s in a.seen][1:] == ["/p/2", "/p/3"]


def test_the_page_cap_marks_the_result_truncated(servers) -> None:
    a, _ = servers

    def page(request) -> bytes:  # every page links to the next: an endless listing
        number = int(request.target.rsplit("=", 1)[1]) if "page=" in request.target else 1
        return json_reply(200, {"buckets": [{"name": str(number)}], "links": {"next": f"/api/v2/buckets?page={number + 1}"}})

    a.on("/api/v2/buckets", page)
    with api.connect(a.settings()) as conn:
        result = conn.run("list_buckets", {"all_pages": True})
    assert len(result.data["buckets"]) == 1000 and len(a.seen) == 1000
    assert result.data["truncated"] is True
    assert result.meta["truncated"] is True and result.meta["pages"] == 1000
    assert "1000 pages" in result.meta["truncated_by"]


@pytest.mark.parametrize("answer", [
    [1, 2, 3],
    {"buckets": "not a list", "links": {"next": "/api/v2/buckets?offset=1"}},
    {"buckets": {"a": 1}, "links": {}},
])
def test_pages_of_the_wrong_shape_are_decode_errors(servers, answer: object) -> None:
    a, _ = servers
    a.on("/api/v2/buckets", json_reply(200, answer))
    with api.connect(a.settings()) as conn, pytest.raises(DecodeError):
        conn.run("list_buckets", {"all_pages": True})
