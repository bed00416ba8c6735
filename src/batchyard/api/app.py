"""The HTTP face of batchyard: one endpoint for every Action, plus health, metrics and the web console.

Every API reply is HTTP 200 with ``Content-Type: application/json`` exactly: the official SDK drops
errors under any other content type and retries on any other status (API_NOTES §1.6).
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable, Mapping
from contextlib import AbstractAsyncContextManager

from prometheus_client import CollectorRegistry
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.types import ASGIApp, Receive, Scope, Send

from batchyard.api.actions import ACTIONS, Services
from batchyard.api.nonces import NonceLedger
from batchyard.api.protocol import (
    MAX_JSON_BODY_BYTES,
    RESPONSE_CONTENT_TYPE,
    Call,
    RawRequest,
    parse_call,
    render_error,
    render_ok,
)
from batchyard.api.ratelimit import RateLimiter
from batchyard.config.credentials import Credentials
from batchyard.domain.errors import ApiError
from batchyard.metrics.registry import exposition
from batchyard.metrics.requests import OK, RequestMetrics
from batchyard.schema.base import dump, parse
from batchyard.service.context import Caller

log = logging.getLogger(__name__)

API_VERSION = "2017-03-12"

Lifespan = Callable[[Starlette], AbstractAsyncContextManager[None]]


class ApiEndpoint:
    def __init__(
        self,
        services: Services,
        credentials: Credentials,
        zones: Mapping[str, list[str]],
        limiter: RateLimiter | None,
        nonces: NonceLedger,
        metrics: RequestMetrics,
    ) -> None:
        self._services = services
        self._limiter = limiter
        self._nonces = nonces
        self._metrics = metrics
        self._credentials = credentials
        self._regions = frozenset(zones)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Mounted as an ASGI app, not a routed function, so requests of every method reach
        ``respond``: a route limited to some methods answers the others with a plain-text 405."""
        response = await self.respond(Request(scope, receive))
        await response(scope, receive, send)

    async def respond(self, request: Request) -> Response:
        """Total: whatever the request holds and whatever fails while handling it or rendering its
        success, the reply is a 200 JSON envelope, because ``render_error`` cannot fail."""
        request_id = str(uuid.uuid4())
        started = time.perf_counter()
        action = ""  # known once the request is verified
        try:
            call = await self._call(request)
            action = call.action
            body, code = render_ok(await self._handle(call), request_id), OK
        except ApiError as exc:
            body, code = render_error(exc, request_id), exc.code
        except Exception:
            log.exception("request %s failed", request_id)
            error = ApiError("InternalError", f"Internal error; quote RequestId {request_id}.")
            body, code = render_error(error, request_id), error.code
        self._metrics.observe(action, code, time.perf_counter() - started)
        return Response(body, status_code=200, headers={"Content-Type": RESPONSE_CONTENT_TYPE})

    async def _call(self, request: Request) -> Call:
        declared = request.headers.get("content-length", "0")
        if declared.isdigit() and int(declared) > MAX_JSON_BODY_BYTES:
            raise ApiError(
                "RequestSizeLimitExceeded", f"The request body is over {MAX_JSON_BODY_BYTES} bytes."
            )
        raw = RawRequest(
            method=request.method,
            host=request.headers.get("host", ""),
            query=request.scope["query_string"].decode("utf-8", "surrogateescape"),
            headers={k.lower(): v for k, v in request.headers.items()},
            body=await request.body(),
        )
        return parse_call(raw, self._credentials.secret_key, nonces=self._nonces)

    async def _handle(self, call: Call) -> bytes:
        action = ACTIONS.get(call.action)
        if action is None:
            raise ApiError("InvalidAction", f"The action `{call.action}` does not exist.")
        if call.version != API_VERSION:
            raise ApiError(
                "NoSuchVersion", f"The version `{call.version}` does not exist; use {API_VERSION}."
            )
        caller = Caller(self._credentials.account(call.secret_id), self._region(call))
        if self._limiter is not None:
            self._limiter.acquire(caller.account, caller.region, call.action)
        parsed = parse(action.request, call.params)
        if action.inline:
            result = action.handler(self._services, caller, parsed)
        else:
            result = await run_in_threadpool(action.handler, self._services, caller, parsed)
        return dump(result)

    def _region(self, call: Call) -> str:
        if not call.region:
            raise ApiError("MissingParameter", "The request is missing a required parameter `Region`.")
        if call.region not in self._regions:
            raise ApiError("UnsupportedRegion", f"The region `{call.region}` is not served here.")
        return call.region


async def healthz(_request: Request) -> Response:
    return JSONResponse({"status": "ok"})


class MetricsPage:
    """``GET /metrics``, unauthenticated like ``/healthz``. Rendered in a worker thread: the scrape reads
    the store."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self._registry = registry

    async def respond(self, request: Request) -> Response:
        accept = request.headers.get("accept", "")
        body, content_type = await run_in_threadpool(exposition, self._registry, accept)
        return Response(body, headers={"Content-Type": content_type})


def create_app(
    endpoint: ApiEndpoint, metrics: MetricsPage, console: ASGIApp, lifespan: Lifespan
) -> Starlette:
    """``/console`` without its slash is redirected to ``/console/`` by the router, so the page's
    relative links resolve inside the console."""
    return Starlette(
        routes=[
            Route("/healthz", healthz, methods=["GET"]),
            Route("/metrics", metrics.respond, methods=["GET"]),
            Mount("/console", app=console),
            Route("/", endpoint),
        ],
        lifespan=lifespan,
    )
