"""The floor for `GET /sdk/v1/flags` 304 on this machine: a bare Starlette app under the same uvicorn,
comparing If-None-Match with a constant (BENCH_FLOOR_ETAG) and answering 304 with the headers Flagstaff sends,
or 200.

Run by bench/server_bench.py as `uvicorn poll_floor:app`, beside Flagstaff, so both are measured in one run.
"""

from __future__ import annotations

import os

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

ETAG = os.environ.get("BENCH_FLOOR_ETAG", '"0"')
_HEADERS = {"ETag": ETAG, "Cache-Control": "no-cache", "Vary": "Accept-Encoding"}


async def flags(request: Request) -> Response:
    if request.headers.get("if-none-match") == ETAG:
        return Response(status_code=304, headers=_HEADERS)
    return Response(b"{}", media_type="application/json", headers=_HEADERS)


app = Starlette(routes=[Route("/sdk/v1/flags", flags)])
