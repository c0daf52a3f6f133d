"""The scorer's exceptions and the one place that turns them into HTTP answers.

Hierarchy::

    ServingError                 base; carries status, code, message, details
    ├── MalformedBodyError       400  body is not JSON / not CSV
    ├── AuthenticationError      401  missing or wrong API key / admin token
    ├── AdminDisabledError       404  no admin token configured
    ├── PayloadTooLargeError     413  body bytes or rows over the limits
    ├── InvalidInputError        422  parsed, but values or shape are wrong
    ├── ModelRefusedError        422  admin reload: the new version is unusable
    ├── ModelUnavailableError    503  no model loaded, or its JVM is restarting
    └── RegistryDownError        503  admin reload: the registry did not answer

    ModelLoadFailure             not HTTP: a model version could not be
                                 fetched, opened or smoke-tested
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import ClassVar

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect
from starlette.responses import Response

logger = logging.getLogger(__name__)

JSON_MEDIA_TYPE = "application/json"


@dataclass(frozen=True)
class ErrorDetail:
    """One located problem: which row and field, what is wrong, what would be right."""

    problem: str
    row: int | None = None
    field: str | None = None
    line: int | None = None
    expected: str | None = None

    def as_json(self) -> dict[str, object]:
        """Drop the unset keys so each detail carries only what applies."""
        return {key: value for key, value in asdict(self).items() if value is not None}


class ServingError(Exception):
    """Base of every error the scorer answers on purpose."""

    status_code: ClassVar[int] = 400
    code: ClassVar[str] = "bad_request"

    def __init__(self, message: str, details: list[ErrorDetail] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details or []


class MalformedBodyError(ServingError):
    status_code = 400
    code = "malformed_body"


class AuthenticationError(ServingError):
    status_code = 401
    code = "unauthorized"


class AdminDisabledError(ServingError):
    status_code = 404
    code = "admin_disabled"


class PayloadTooLargeError(ServingError):
    status_code = 413
    code = "payload_too_large"


class InvalidInputError(ServingError):
    status_code = 422
    code = "invalid_input"


class ModelRefusedError(ServingError):
    status_code = 422
    code = "model_refused"


class ModelUnavailableError(ServingError):
    status_code = 503
    code = "model_unavailable"


class RegistryDownError(ServingError):
    status_code = 503
    code = "registry_unavailable"


class ModelLoadFailure(Exception):
    """A model version could not be fetched, opened or smoke-tested."""


def error_response(
    status_code: int,
    code: str,
    message: str,
    details: list[ErrorDetail] | None = None,
    headers: Mapping[str, str] | None = None,
) -> Response:
    """Build the one error body every endpoint uses."""
    body = {
        "error": {
            "code": code,
            "message": message,
            "details": [detail.as_json() for detail in details or []],
        }
    }
    return Response(
        orjson.dumps(body),
        status_code=status_code,
        media_type=JSON_MEDIA_TYPE,
        headers=headers,
    )


def _count(request: Request, code: str) -> None:
    metrics = getattr(request.app.state, "metrics", None)
    if metrics is not None:
        metrics.errors.labels(code).inc()


async def _serving_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ServingError)
    _count(request, exc.code)
    logger.info("answered %s %s: %s", exc.status_code, exc.code, exc.message)
    headers = {"WWW-Authenticate": "Bearer"} if exc.status_code == 401 else None
    if exc.status_code == 503:
        headers = {"Retry-After": "1"}
    return error_response(exc.status_code, exc.code, exc.message, exc.details, headers)


async def _request_validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    _count(request, "invalid_input")
    details = [
        ErrorDetail(
            problem=str(error.get("msg", "invalid")),
            field=".".join(str(part) for part in error.get("loc", ())) or None,
        )
        for error in exc.errors()
    ]
    return error_response(422, "invalid_input", "The request is not valid.", details)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    codes = {404: "not_found", 405: "method_not_allowed"}
    code = codes.get(exc.status_code, "http_error")
    _count(request, code)
    return error_response(exc.status_code, code, str(exc.detail), None, exc.headers)


async def _client_disconnected(request: Request, exc: Exception) -> Response:
    # The client hung up while sending its body: nobody reads this answer, and
    # it is the client's doing, not a scorer bug (nginx logs such a case as 499).
    _count(request, "client_disconnected")
    logger.info(
        "client left before its request body arrived: %s %s",
        request.method,
        request.url.path,
    )
    return error_response(
        400, "client_disconnected", "The request body was not sent completely."
    )


async def _unexpected_error(request: Request, exc: Exception) -> Response:
    # Only real bugs get here; the user gets a short sentence, the log the traceback.
    _count(request, "internal_error")
    logger.error(
        "unexpected error on %s %s", request.method, request.url.path, exc_info=exc
    )
    return error_response(
        500,
        "internal_error",
        "The scorer failed unexpectedly; the error is in its log.",
    )


def install_error_handlers(app: FastAPI) -> None:
    """Map every exception the scorer can meet to the JSON error body."""
    app.add_exception_handler(ServingError, _serving_error)
    app.add_exception_handler(RequestValidationError, _request_validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(ClientDisconnect, _client_disconnected)
    app.add_exception_handler(Exception, _unexpected_error)
