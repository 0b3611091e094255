"""The route table: which handler answers each path and method, and the dispatch around it.

A handler is a function ``(sandbox, request, **path_args) -> Reply`` that may raise ``Problem``;
the ``endpoints`` modules hold them, one concern each. ``Router`` checks who asks (on the head,
before a body is read, and again before dispatch), finds the route and turns every failure into
the server's error answer.
"""
from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import unquote, urlencode

from influx_connector.sandbox import guard, v3
from influx_connector.sandbox.server.auth import PUBLIC_PATHS, authorize
from influx_connector.sandbox.server.endpoints import buckets, delete, health, orgs, query, suggestions, v1, write
from influx_connector.sandbox.server.messages import Problem, Reply, Request, error_reply, not_found

if TYPE_CHECKING:
    from influx_connector.sandbox.server.sandbox import Sandbox

logger = logging.getLogger(__name__)

Handler = Callable[..., Reply]


@dataclass(frozen=True)
class Route:
    pattern: re.Pattern[str]
    methods: dict[str, Handler]  # HTTP method -> handler


def _route(pattern: str, **methods: Handler) -> Route:
    return Route(re.compile(pattern), methods)


ROUTES: tuple[Route, ...] = (
    _route(r"/health", GET=health.health),
    _route(r"/ping", GET=health.ping, HEAD=health.ping),
    _route(r"/ready", GET=health.ready),
    _route(r"/api/v2/orgs", GET=orgs.list_orgs),
    _route(r"/api/v2/orgs/(?P<org_id>[^/]+)", GET=orgs.get_org),
    _route(r"/api/v2/buckets", GET=buckets.list_buckets, POST=buckets.create_bucket),
    _route(r"/api/v2/buckets/(?P<bucket_id>[^/]+)", GET=buckets.get_bucket, PATCH=buckets.patch_bucket,
           DELETE=buckets.delete_bucket),
    _route(r"/api/v2/write", POST=write.write),
    _route(r"/api/v2/delete", POST=delete.delete_data),
    _route(r"/write", POST=v1.v1_write),
    _route(r"/query", GET=v1.v1_query, POST=v1.v1_query),
    _route(r"/api/v2/query", POST=query.query),
    _route(r"/api/v2/query/ast", POST=query.query_ast),
    _route(r"/api/v2/query/analyze", POST=query.query_analyze),
    _route(r"/api/v2/query/suggestions", GET=suggestions.list_suggestions),
    _route(r"/api/v2/query/suggestions/(?P<name>[^/]+)", GET=suggestions.get_suggestion),
)


def find_route(path: str) -> tuple[Route, dict[str, str]] | None:
    for route in ROUTES:
        match = route.pattern.fullmatch(path)
        if match:
            return route, {k: unquote(v) for k, v in match.groupdict().items()}
    return None


class Router:
    """Answers a request from the route table: a ``Reply`` always, never an exception."""

    def __init__(self, sandbox: Sandbox):
        self.sandbox = sandbox

    def handle(self, req: Request) -> Reply:
        try:
            return self._dispatch(req)
        except Problem as problem:
            return self.refusal(req, problem)
        except Exception as exc:  # a sandbox bug must still give the client an answer
            logger.exception("sandbox handler failed for %s %s", req.method, req.path)
            return self.refusal(req, Problem(500, "internal error", f"sandbox error: {exc}"))

    def refusal(self, req: Request, problem: Problem) -> Reply:
        """The error answer for ``problem``, in the shape of the API whose path was asked for:
        InfluxDB 3's ``{"error": ...}`` on its paths, ``{"code", "message"}`` elsewhere."""
        answer = v3.refusal(self.sandbox, req.path, problem.status, problem.message)
        if answer is None:
            return error_reply(problem)
        return Reply(answer.status, {**answer.headers, **problem.headers}, answer.body)

    def admit(self, req: Request) -> Reply | None:
        """The refusal for a request whose head alone rules it out (a cross-site page, a foreign
        Host, a missing or wrong token), or None. Called before the body is read."""
        why = guard.host_refusal(req.headers.get("Host"), self.sandbox.allowed_hosts) or guard.origin_refusal(
            req.headers.get("Origin"), req.headers.get("Sec-Fetch-Site"), req.headers.get("Host"))
        try:
            if why is not None:
                raise Problem(403, "forbidden", why)
            if req.path not in PUBLIC_PATHS:
                authorize(req, self.sandbox.tokens)
        except Problem as problem:
            return self.refusal(req, problem)
        return None

    def _dispatch(self, req: Request) -> Reply:
        if req.path not in PUBLIC_PATHS:
            authorize(req, self.sandbox.tokens)
        answer = v3.handle(self, req)  # InfluxDB 3's endpoints (sandbox.v3)
        if answer is not None:
            return Reply(answer.status, answer.headers, answer.body, chunked=answer.chunked)
        found = find_route(req.path)
        if found is None:
            return _redirect_or_404(req)
        route, args = found
        handler = route.methods.get(req.method)
        if handler is None:
            allow = ", ".join(route.methods)
            raise Problem(405, "method not allowed", f"allow: {allow}", {"Allow": allow})
        return handler(self.sandbox, req, **args)


def _redirect_or_404(req: Request) -> Reply:
    """Known paths with a trailing slash redirect, as the server's router does; others are 404."""
    if req.path.endswith("/") and len(req.path) > 1 and find_route(req.path[:-1]):
        target = req.path[:-1] + (f"?{urlencode(req.query)}" if req.query else "")
        status = 301 if req.method in ("GET", "HEAD") else 307
        text = "Moved Permanently" if status == 301 else "Temporary Redirect"
        body = f'<a href="{target}">{text}</a>.\n\n'.encode()
        return Reply(status, {"Location": target, "Content-Type": "text/html; charset=utf-8"}, body)
    raise not_found("path not found")
