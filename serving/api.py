"""The scorer's HTTP API: the app factory, its lifespan and its routes.

The prediction routes take the raw request (their bodies are parsed with
orjson column by column in :mod:`serving.predictions`, off the event loop);
their request and response shapes are declared for OpenAPI all the same.
"""

from __future__ import annotations

import gc
import hmac
import logging
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.middleware.cors import CORSMiddleware
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.responses import Response

from serving import affinity, predictions
from serving.config import Settings
from serving.errors import (
    JSON_MEDIA_TYPE,
    AdminDisabledError,
    AuthenticationError,
    ErrorDetail,
    InvalidInputError,
    MalformedBodyError,
    ModelRefusedError,
    ModelUnavailableError,
    RegistryDownError,
    ServingError,
    install_error_handlers,
)
from serving.generation import ModelGeneration
from serving.jvm_channel import JavaCallRefused
from serving.logs import model_version_var
from serving.metrics import CONTENT_TYPE, ServingMetrics
from serving.middleware import BodyLimitMiddleware, RequestContextMiddleware
from serving.model_manager import ModelManager
from serving.runtime_errors import RuntimeUnavailable
from serving.schemas import (
    INVOCATIONS_REQUEST_SCHEMA,
    PREDICT_REQUEST_EXAMPLES,
    PREDICT_REQUEST_SCHEMA,
    ErrorResponse,
    HealthModel,
    InvocationsResponse,
    Liveness,
    ModelInfo,
    PredictResponse,
    Readiness,
    ReloadResult,
)

logger = logging.getLogger(__name__)

_CSV_MEDIA_TYPE = "text/csv"
# What a JSON schema can say about a CSV body: a header line, then a data line.
# (Quoted fields are read too; the pattern only keeps generated examples simple.)
CSV_REQUEST_SCHEMA: dict[str, Any] = {
    "type": "string",
    "pattern": '^[^\\n\\r"]+\\r?\\n[^\\n\\r"]+',
    "examples": ["AGE,PSA,GLEASON\n65,1.4,6\n"],
}
# Module level: FastAPI resolves the dependencies' annotations in module scope.
_API_KEY_HEADER = APIKeyHeader(name="X-API-Key", auto_error=False)
_BEARER = HTTPBearer(auto_error=False)
_ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorResponse, "description": description}
    for status, description in {
        400: "Malformed JSON or CSV.",
        401: "Missing or wrong API key.",
        413: "Body or row count over the limits.",
        422: "Values or shape not valid for the model.",
        503: "No model loaded, or its JVM is restarting.",
    }.items()
}


def create_app(settings: Settings) -> FastAPI:
    """Build the scorer app; the model loads in the lifespan, not here."""
    metrics = ServingMetrics()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        manager = ModelManager(settings, metrics)
        await run_in_threadpool(manager.start)
        app.state.manager = manager
        if settings.pin_event_loop:
            affinity.pin_current_thread()
        # Everything loaded so far lives as long as the process: move it out of
        # the collector's reach, so full collections under load stay short.
        gc.collect()
        gc.freeze()
        try:
            yield
        finally:
            await run_in_threadpool(manager.stop)

    app = FastAPI(
        title="MOJO scorer",
        version="0.1.0",
        summary="Predictions from an H2O MOJO through h2o-genmodel, no H2O cluster.",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.metrics = metrics
    install_error_handlers(app)
    # The routes join the app's own table: an included router adds a matching
    # layer to every request (7 us of a 75 us single-row request here).
    for router in (_prediction_router(settings), _service_router(settings)):
        app.router.routes.extend(router.routes)

    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST"],
            allow_headers=[
                "Content-Type",
                "X-API-Key",
                "Authorization",
                "X-Request-ID",
            ],
        )
    app.add_middleware(
        RequestContextMiddleware, metrics=metrics, access_log=settings.access_log
    )
    return app


def _prediction_router(settings: Settings) -> APIRouter:
    dependencies = [Depends(_api_key_check(settings))] if settings.api_key else []
    router = APIRouter(tags=["predictions"], dependencies=dependencies)

    @router.post(
        "/predict",
        response_model=PredictResponse,
        responses=_ERRORS,
        openapi_extra=_json_body(PREDICT_REQUEST_SCHEMA, PREDICT_REQUEST_EXAMPLES),
    )
    async def predict(request: Request) -> Response:
        """Score one record or a list: label and probabilities, or a value."""
        body = await request.body()
        _debug_body(body)
        if len(body) <= settings.small_request_bytes:
            return await _scored_small(request, body, settings.max_rows)
        return await _scored(
            request,
            "/predict",
            lambda generation, metrics: predictions.predict_json(
                generation, body, settings.max_rows, metrics
            ),
            JSON_MEDIA_TYPE,
        )

    @router.post(
        "/predict/csv",
        response_class=Response,
        responses={
            200: {
                "description": "The input columns plus `predict` and one `p_<label>` "
                "column per class.",
                "content": {_CSV_MEDIA_TYPE: {"schema": {"type": "string"}}},
            },
            **_ERRORS,
        },
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {
                    "multipart/form-data": {
                        "schema": {
                            "type": "object",
                            "properties": {
                                "file": {"type": "string", "format": "binary"}
                            },
                            "required": ["file"],
                        }
                    },
                    _CSV_MEDIA_TYPE: {"schema": CSV_REQUEST_SCHEMA},
                },
            }
        },
    )
    async def predict_csv(request: Request) -> Response:
        """Score a CSV upload (form field `file`, or a text/csv body); CSV back."""
        data = await _csv_upload(request)
        return await _scored(
            request,
            "/predict/csv",
            lambda generation, metrics: predictions.predict_csv(
                generation, data, settings.max_rows
            ),
            _CSV_MEDIA_TYPE,
        )

    @router.post(
        "/invocations",
        response_model=InvocationsResponse,
        responses=_ERRORS,
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {
                    JSON_MEDIA_TYPE: {
                        "schema": INVOCATIONS_REQUEST_SCHEMA,
                        "examples": {
                            "dataframe_split": {
                                "value": {
                                    "dataframe_split": {
                                        "columns": ["AGE", "RACE", "PSA"],
                                        "data": [[65, "1", 1.4]],
                                    }
                                }
                            },
                            "dataframe_records": {
                                "value": {
                                    "dataframe_records": [{"AGE": 65, "PSA": 1.4}]
                                }
                            },
                        },
                    },
                    _CSV_MEDIA_TYPE: {"schema": CSV_REQUEST_SCHEMA},
                },
            }
        },
    )
    async def invocations(request: Request) -> Response:
        """MLflow's scoring protocol: dataframe_split, _records, instances, CSV."""
        body = await request.body()
        _debug_body(body)
        content_type = request.headers.get("content-type", JSON_MEDIA_TYPE)
        return await _scored(
            request,
            "/invocations",
            lambda generation, metrics: predictions.predict_invocations(
                generation, body, content_type, settings.max_rows, metrics
            ),
            JSON_MEDIA_TYPE,
        )

    return router


def _service_router(settings: Settings) -> APIRouter:
    router = APIRouter()

    @router.get("/model", response_model=ModelInfo, responses=_ERRORS, tags=["model"])
    async def model(request: Request) -> Response:
        """The served model: features, levels, statistics, metrics, an example."""
        generation = _manager(request).current
        if generation is None:
            raise ModelUnavailableError("No model is loaded yet; see /health/ready.")
        return Response(generation.model_info_json, media_type=JSON_MEDIA_TYPE)

    @router.get("/health/live", response_model=Liveness, tags=["health"])
    async def live() -> Liveness:
        """The process answers; says nothing about the model."""
        return Liveness()

    @router.get(
        "/health/ready",
        response_model=Readiness,
        responses={503: {"model": Readiness, "description": "Not ready."}},
        tags=["health"],
    )
    async def ready(request: Request) -> Response:
        """Ready when a model is loaded and its JVM answers a ping."""
        readiness = await run_in_threadpool(_readiness, _manager(request))
        status = 200 if readiness.status == "ready" else 503
        return Response(
            readiness.model_dump_json(), status_code=status, media_type=JSON_MEDIA_TYPE
        )

    @router.get(
        "/metrics",
        response_class=Response,
        responses={200: {"content": {CONTENT_TYPE: {"schema": {"type": "string"}}}}},
        tags=["health"],
    )
    async def metrics(request: Request) -> Response:
        """Prometheus metrics: requests, latency, rows, errors, model, reloads."""
        return Response(request.app.state.metrics.render(), media_type=CONTENT_TYPE)

    @router.post(
        "/admin/reload",
        response_model=ReloadResult,
        responses={**_ERRORS, 404: {"model": ErrorResponse}},
        dependencies=[Depends(_admin_check(settings))],
        tags=["admin"],
    )
    async def reload(request: Request) -> ReloadResult:
        """Ask the registry now and load the version the alias names (bearer token)."""
        manager = _manager(request)
        outcome, message = await run_in_threadpool(manager.reload)
        current = manager.current
        version = current.identity.version if current else None
        logger.info("admin reload: %s (%s)", outcome, message)
        if outcome == "refused":
            raise ModelRefusedError(message)
        if outcome == "registry_unavailable":
            raise RegistryDownError(message)
        return ReloadResult(outcome=outcome, version=version, message=message)

    return router


async def _scored(
    request: Request,
    endpoint: str,
    work: Callable[[ModelGeneration, ServingMetrics], predictions.Scored],
    media_type: str,
) -> Response:
    """Run ``work`` on a leased generation in a worker thread; count what it scored."""
    metrics: ServingMetrics = request.app.state.metrics
    with _leased(request) as generation:
        scored = await run_in_threadpool(work, generation, metrics)
    metrics.count_rows(endpoint, scored.rows)
    return Response(scored.body, media_type=media_type)


async def _scored_small(request: Request, body: bytes, max_rows: int) -> Response:
    """``POST /predict`` for a small body: checked and scored from the event loop."""
    metrics: ServingMetrics = request.app.state.metrics
    with _leased(request) as generation:
        batch = predictions.read_json_batch(generation, body, max_rows)
        try:
            prediction = await generation.small_batches.score(batch)
        except JavaCallRefused:
            # The blocking client reads the Java exception and names the problem.
            prediction = await run_in_threadpool(
                generation.scorer.score_columns_json, batch.columns, batch.n_rows
            )
        scored = predictions.json_answer(generation, batch, prediction, metrics)
    metrics.count_rows("/predict", scored.rows)
    return Response(scored.body, media_type=JSON_MEDIA_TYPE)


@contextmanager
def _leased(request: Request) -> Iterator[ModelGeneration]:
    """Lease the current generation for one request; a dead JVM becomes a 503."""
    manager = _manager(request)
    with manager.lease() as generation:
        version = generation.identity.version or "-"
        request.state.model_version = version
        model_version_var.set(version)
        try:
            yield generation
        except RuntimeUnavailable as exc:
            manager.report_runtime_failure(generation)
            raise ModelUnavailableError(
                "The model's JVM stopped answering; it is being restarted. "
                "Retry in a second."
            ) from exc


async def _csv_upload(request: Request) -> bytes:
    content_type = request.headers.get("content-type", "")
    if content_type.startswith(_CSV_MEDIA_TYPE):
        return await request.body()
    if not content_type.startswith("multipart/form-data"):
        raise InvalidInputError(
            "Send the CSV as multipart form field 'file' or as a text/csv body.",
            [
                ErrorDetail(
                    problem=f"content type {content_type or 'none'}", field="file"
                )
            ],
        )
    try:
        form = await request.form(max_files=1, max_fields=10)
    except ServingError:
        raise
    except Exception as exc:
        # python-multipart raises several types for broken forms; all mean 400.
        raise MalformedBodyError(f"The multipart form cannot be read: {exc}.") from exc
    upload = form.get("file")
    if not isinstance(upload, UploadFile):
        raise InvalidInputError(
            "The form has no file field 'file'; attach the CSV as 'file'.",
            [ErrorDetail(problem="missing", field="file", expected="a CSV file")],
        )
    return await upload.read()


def _debug_body(body: bytes) -> None:
    # Payloads may hold personal data: DEBUG only, and cut short.
    if logger.isEnabledFor(logging.DEBUG):
        logger.debug("request body (%d bytes): %.400r", len(body), body)


def _readiness(manager: ModelManager) -> Readiness:
    generation = manager.current
    jvm = manager.jvm_state
    identity = generation.identity if generation else None
    return Readiness(
        status="ready" if generation is not None and jvm == "alive" else "not_ready",
        model=(
            HealthModel(
                name=identity.name, version=identity.version, alias=identity.alias
            )
            if identity
            else None
        ),
        jvm=jvm,
        source=identity.source if identity else None,
        last_reload_error=manager.last_reload_error,
    )


def _manager(request: Request) -> ModelManager:
    manager: ModelManager = request.app.state.manager
    return manager


def _api_key_check(
    settings: Settings,
) -> Callable[[str | None, HTTPAuthorizationCredentials | None], None]:
    assert settings.api_key is not None
    expected = settings.api_key.get_secret_value().encode()

    def check(
        key: Annotated[str | None, Depends(_API_KEY_HEADER)],
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_BEARER)],
    ) -> None:
        # X-API-Key, or the same key as a bearer token (what the UI client sends).
        given = (
            key if key is not None else (credentials.credentials if credentials else "")
        )
        if not hmac.compare_digest(given.encode(), expected):
            raise AuthenticationError(
                "Send the scorer's API key in the X-API-Key header "
                "(or as 'Authorization: Bearer <key>')."
            )

    return check


def _admin_check(
    settings: Settings,
) -> Callable[[HTTPAuthorizationCredentials | None], None]:
    token = settings.admin_token

    def check(
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_BEARER)],
    ) -> None:
        if token is None:
            raise AdminDisabledError(
                "Admin endpoints are disabled; set SERVING_ADMIN_TOKEN to enable them."
            )
        given = credentials.credentials.encode() if credentials else b""
        if not hmac.compare_digest(given, token.get_secret_value().encode()):
            raise AuthenticationError(
                "Send the admin token as 'Authorization: Bearer <SERVING_ADMIN_TOKEN>'."
            )

    return check


def _json_body(schema: dict[str, Any], examples: dict[str, Any]) -> dict[str, Any]:
    return {
        "requestBody": {
            "required": True,
            "content": {JSON_MEDIA_TYPE: {"schema": schema, "examples": examples}},
        }
    }
