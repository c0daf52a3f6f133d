"""HTTP client for the scorer: the UI's only way to reach a model.

Every failure becomes a ``ScorerError`` whose message a person can act on::

    ScorerError
    ├── ScorerUnreachable   nothing answers at the URL (down, wrong port)
    ├── ScorerTimeout       it accepted the request but did not answer in time
    ├── ScorerRejected      it answered with an error status (400/404/413/422/503)
    └── ScorerBadAnswer     it answered 200 with something outside the contract
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import TypeVar

import httpx
from pydantic import BaseModel, ValidationError

from ui.config import TROUBLESHOOTING_HINT, Settings
from ui.schemas import (
    ErrorAnswer,
    ErrorDetail,
    FieldValue,
    ModelInfo,
    PredictResponse,
    ReadyStatus,
)

logger = logging.getLogger(__name__)

_Answer = TypeVar("_Answer", bound=BaseModel)
_MAX_DETAILS_SHOWN = 5


class ScorerError(Exception):
    """The scorer could not give the UI what it asked for."""

    hint = TROUBLESHOOTING_HINT

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ScorerUnreachable(ScorerError):
    """Nothing answers at the scorer URL."""


class ScorerTimeout(ScorerError):
    """The scorer took longer than the configured timeout."""


class ScorerRejected(ScorerError):
    """The scorer answered with an error status and an error body."""

    def __init__(
        self,
        message: str,
        *,
        status_code: int,
        code: str,
        details: list[ErrorDetail],
    ) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.code = code
        self.details = details


class ScorerBadAnswer(ScorerError):
    """The scorer answered 200 with a body the UI does not understand."""


class ScorerClient:
    """Calls the scorer's HTTP API; one instance per browser session."""

    def __init__(self, settings: Settings) -> None:
        self.base_url = settings.scorer_url
        self._settings = settings
        headers = (
            {"Authorization": f"Bearer {settings.api_key.get_secret_value()}"}
            if settings.api_key
            else {}
        )
        self._http = httpx.Client(
            base_url=settings.scorer_url,
            headers=headers,
            timeout=httpx.Timeout(
                settings.request_timeout_s, connect=settings.connect_timeout_s
            ),
        )

    def ready(self) -> ReadyStatus:
        """Ask whether the scorer is ready; a 503 'not ready' is an answer too."""
        response = self._send(
            "GET",
            "/health/ready",
            purpose="the readiness check",
            timeout=self._settings.status_timeout_s,
        )
        if response.status_code == httpx.codes.SERVICE_UNAVAILABLE:
            try:
                return ReadyStatus.model_validate_json(response.content)
            except ValidationError:
                raise _rejected(response, "the readiness check") from None
        return self._parse(response, ReadyStatus, "the readiness check")

    def model_info(self) -> ModelInfo:
        """Fetch ``GET /model``: features, metrics and leaderboard of the model."""
        response = self._send("GET", "/model", purpose="the model description")
        return self._parse(response, ModelInfo, "the model description")

    def predict(self, record: Mapping[str, FieldValue]) -> PredictResponse:
        """Score one record through ``POST /predict``."""
        response = self._send(
            "POST", "/predict", purpose="the prediction", json=dict(record)
        )
        return self._parse(response, PredictResponse, "the prediction")

    def predict_csv(self, csv_bytes: bytes, file_name: str) -> bytes:
        """Score a CSV through ``POST /predict/csv`` and return the scored CSV."""
        response = self._send(
            "POST",
            "/predict/csv",
            purpose=f"scoring {file_name}",
            files={"file": (file_name, csv_bytes, "text/csv")},
            timeout=self._settings.batch_timeout_s,
        )
        if response.status_code != httpx.codes.OK:
            raise _rejected(response, f"scoring {file_name}")
        return response.content

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    def _send(
        self,
        method: str,
        path: str,
        *,
        purpose: str,
        timeout: float | None = None,
        json: object = None,
        files: Mapping[str, tuple[str, bytes, str]] | None = None,
    ) -> httpx.Response:
        url = f"{self.base_url}{path}"
        read_timeout = timeout or self._settings.request_timeout_s
        try:
            response = self._http.request(
                method,
                path,
                json=json,
                files=files,
                timeout=httpx.Timeout(
                    read_timeout, connect=self._settings.connect_timeout_s
                ),
            )
        except httpx.TimeoutException as exc:
            logger.warning("%s %s timed out after %.1f s", method, url, read_timeout)
            raise ScorerTimeout(
                f"The scorer at {self.base_url} did not answer {purpose} within "
                f"{read_timeout:g} s. It may be starting, loading a model or "
                "overloaded; wait a moment and retry, or raise the UI_*_TIMEOUT_S "
                "settings."
            ) from exc
        except httpx.TransportError as exc:
            logger.warning("%s %s failed: %s", method, url, exc)
            raise ScorerUnreachable(
                f"Cannot reach the scorer at {self.base_url} ({exc}). Start it "
                "(`make demo`) or point UI_SCORER_URL at it, then retry."
            ) from exc
        logger.debug("%s %s -> %s", method, url, response.status_code)
        return response

    def _parse(
        self, response: httpx.Response, answer: type[_Answer], purpose: str
    ) -> _Answer:
        if response.status_code != httpx.codes.OK:
            raise _rejected(response, purpose)
        try:
            return answer.model_validate_json(response.content)
        except ValidationError as exc:
            raise ScorerBadAnswer(
                f"The scorer at {self.base_url} answered {purpose} with a body this "
                f"UI does not understand ({exc.error_count()} problems, first: "
                f"{exc.errors()[0]['msg']}). Are the UI and the scorer the same "
                "release?"
            ) from exc


def _rejected(response: httpx.Response, purpose: str) -> ScorerRejected:
    """Turn an error answer into a readable exception, with or without a body."""
    status = response.status_code
    try:
        body = ErrorAnswer.model_validate_json(response.content).error
    except ValidationError:
        snippet = response.text[:200].strip() or "an empty body"
        return ScorerRejected(
            f"The scorer answered {purpose} with HTTP {status} and {snippet!r}.",
            status_code=status,
            code="http_error",
            details=[],
        )
    lines = [detail.describe() for detail in body.details[:_MAX_DETAILS_SHOWN]]
    if len(body.details) > _MAX_DETAILS_SHOWN:
        lines.append(f"... and {len(body.details) - _MAX_DETAILS_SHOWN} more")
    message = f"The scorer refused {purpose} (HTTP {status}, {body.code}): "
    message += body.message
    if lines:
        message += " " + "; ".join(lines) + "."
    if status == httpx.codes.UNAUTHORIZED:
        message += " Set UI_API_KEY to the scorer's SERVING_API_KEY."
    return ScorerRejected(
        message, status_code=status, code=body.code, details=body.details
    )
