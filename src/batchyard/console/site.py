"""Serving the console: its files, the JSON it reads at start, and the headers that fence it in.

The signing key the page holds in session storage is as good as the SecretKey for a day, so every
console response carries a policy that lets the page load and call nothing but this origin, run no
inline script and build no HTML from strings (Trusted Types): a job name or a log line that reaches
the page as markup can neither run nor send the key elsewhere.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from starlette.datastructures import MutableHeaders
from starlette.middleware.exceptions import ExceptionMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route, Router
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self'",
        "connect-src 'self'",
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'none'",
        "require-trusted-types-for 'script'",
        "trusted-types 'none'",
    )
)

SECURITY_HEADERS: Mapping[str, str] = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
    # Revalidated on every load (StaticFiles answers with ETags), so an upgraded server never runs
    # an old page against a new API.
    "Cache-Control": "no-cache",
}


class SecurityHeaders:
    """Adds fixed headers to every response of the app it wraps, errors and redirects included, so
    no console path is ever served without its policy."""

    def __init__(self, app: ASGIApp, headers: Mapping[str, str]) -> None:
        self._app = app
        self._headers = dict(headers)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in self._headers.items():
                    headers[name] = value
            await send(message)

        await self._app(scope, receive, send_with_headers)


class ConsoleConfig:
    """``GET /console/config.json``: what the sign-in form offers. Public, like ``/healthz``: region
    names say nothing about anyone's resources."""

    def __init__(self, regions: Sequence[str]) -> None:
        self._body = {"regions": sorted(regions)}

    async def respond(self, _request: Request) -> Response:
        return JSONResponse(self._body)


def console_app(regions: Sequence[str]) -> ASGIApp:
    """The console as one ASGI app, to be mounted at ``/console``. Files come from the installed
    package, so a wheel of batchyard serves the same console as a checkout."""
    files = StaticFiles(packages=[("batchyard.console", "static")], html=True)
    routes = [
        Route("/config.json", ConsoleConfig(regions).respond, methods=["GET"]),
        Mount("/", app=files),
    ]
    # Errors (a missing file's 404) become responses inside the wrapper, so they carry the headers too.
    return SecurityHeaders(ExceptionMiddleware(Router(routes)), SECURITY_HEADERS)
