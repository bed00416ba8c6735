"""The bare endpoint: Starlette under uvicorn answering a constant, the ceiling of batchyard's HTTP stack.

Served by `python -m uvicorn bare_app:app` with uvicorn's defaults, as `batchyard serve` runs its app,
so DescribeJob throughput can be compared with the same stack doing no work at all.
"""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

BODY = {"Response": {"RequestId": "00000000-0000-0000-0000-000000000000", "JobState": "RUNNING"}}


async def constant(request: Request) -> Response:
    """Reads the body like a real endpoint must, then answers without looking at it."""
    await request.body()
    return JSONResponse(BODY)


app = Starlette(routes=[Route("/", constant, methods=["GET", "POST"])])
