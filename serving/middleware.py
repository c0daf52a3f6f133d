"""Pure ASGI middleware: request id, access log and metrics; the body size limit.

Written against the ASGI interface rather than ``BaseHTTPMiddleware`` because
they run on every request, including the single-row hot path.
"""

from __future__ import annotations

import itertools
import logging
import re
import secrets
import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from serving.errors import PayloadTooLargeError, error_response
from serving.logs import model_version_var, request_id_var
from serving.metrics import ServingMetrics

logger = logging.getLogger(__name__)

_REQUEST_ID_HEADER = b"x-request-id"
_VALID_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")
# Generated ids: 32 hex digits, a random prefix per process and a counter. A
# uuid4 per request reads the kernel's random source: a visible cost on the
# single-row hot path.
_REQUEST_ID_PREFIX = secrets.token_hex(12)
_REQUEST_COUNTER = itertools.count(1)


class RequestContextMiddleware:
    """Tags each request with an id, times it, counts it and logs one line."""

    def __init__(self, app: ASGIApp, metrics: ServingMetrics, access_log: bool) -> None:
        self.app = app
        self.metrics = metrics
        self.access_log = access_log

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = _request_id(scope)
        token = request_id_var.set(request_id)
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = list(message.get("headers", []))
                headers.append((_REQUEST_ID_HEADER, request_id.encode()))
                message["headers"] = headers
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            elapsed = time.perf_counter() - started
            route = scope.get("route")
            endpoint = getattr(route, "path", "unmatched")
            self.metrics.count_request(endpoint, status, elapsed)
            if self.access_log:
                version = scope.get("state", {}).get("model_version", "-")
                version_token = model_version_var.set(version)
                logger.info(
                    "%s %s %s %.2f ms",
                    scope["method"],
                    scope["path"],
                    status,
                    elapsed * 1000,
                )
                model_version_var.reset(version_token)
            request_id_var.reset(token)


class BodyLimitMiddleware:
    """Refuses bodies over ``max_bytes``: by Content-Length, and while reading."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared is not None:
            if declared > self.max_bytes:
                response = error_response(
                    413, PayloadTooLargeError.code, self._message(declared)
                )
                await response(scope, receive, send)
                return
            # The server reads no more than a declared length: nothing to count.
            await self.app(scope, receive, send)
            return
        received = 0

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    # Chunked bodies have no Content-Length: stop once they pass it.
                    raise PayloadTooLargeError(self._message(received))
            return message

        await self.app(scope, counting_receive, send)

    def _message(self, size: int) -> str:
        return (
            f"The request body ({size} bytes or more) is over the limit of "
            f"{self.max_bytes} bytes (SERVING_MAX_BODY_BYTES); send fewer rows "
            f"per request."
        )


def _request_id(scope: Scope) -> str:
    for name, value in scope["headers"]:
        if name == _REQUEST_ID_HEADER:
            text: str = value.decode("latin-1")
            if _VALID_REQUEST_ID.fullmatch(text):
                return text
            break
    return f"{_REQUEST_ID_PREFIX}{next(_REQUEST_COUNTER) & 0xFFFFFFFF:08x}"


def _content_length(scope: Scope) -> int | None:
    for name, value in scope["headers"]:
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None
