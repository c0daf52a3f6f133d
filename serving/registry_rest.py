"""Which version an alias names, asked of an MLflow server over its REST API.

The scorer polls the alias every ``SERVING_POLL_INTERVAL_S``; one GET does it,
without importing MLflow's client (see :mod:`serving.registry_process`). The
credentials are MLflow's own variables, which the download helper's MLflow
client reads too: ``MLFLOW_TRACKING_TOKEN`` (bearer) or
``MLFLOW_TRACKING_USERNAME`` and ``MLFLOW_TRACKING_PASSWORD`` (basic), and
``MLFLOW_TRACKING_INSECURE_TLS=true`` to skip certificate checks.
"""

from __future__ import annotations

import base64
import logging
import os
import ssl
import time
import urllib.error
import urllib.request
from typing import Any
from urllib.parse import urlencode

import orjson

from serving.registry import RegistryUnavailableError, VersionRef

logger = logging.getLogger(__name__)

ALIAS_ENDPOINT = "/api/2.0/mlflow/registered-models/alias"
VERSION_ENDPOINT = "/api/2.0/mlflow/model-versions/get"
_RETRY_PAUSE_S = 0.5


def is_rest_uri(tracking_uri: str) -> bool:
    """True for the URIs of an MLflow tracking server."""
    return tracking_uri.startswith(("http://", "https://"))


def resolve_over_rest(
    tracking_uri: str,
    model_name: str,
    *,
    alias: str | None,
    version: str | None,
    timeout_s: float,
    retries: int,
) -> VersionRef:
    """The version ``alias`` (or the fixed ``version``) names on the server."""
    if version is not None:
        query = {"name": model_name, "version": version}
        url = tracking_uri.rstrip("/") + VERSION_ENDPOINT
        reference = f"models:/{model_name}/{version}"
    else:
        query = {"name": model_name, "alias": alias or ""}
        url = tracking_uri.rstrip("/") + ALIAS_ENDPOINT
        reference = f"models:/{model_name}@{alias}"
    problem = f"The registry at {tracking_uri} could not resolve {reference}"
    answer = _get_json(f"{url}?{urlencode(query)}", timeout_s, retries, problem)
    found = answer.get("model_version") if isinstance(answer, dict) else None
    if not isinstance(found, dict) or "version" not in found:
        raise RegistryUnavailableError(f"{problem}: the answer holds no model version.")
    return VersionRef(
        name=model_name,
        version=str(found["version"]),
        alias=None if version is not None else alias,
        run_id=found.get("run_id") or None,
    )


def _get_json(url: str, timeout_s: float, retries: int, problem: str) -> Any:
    # The scheme is http or https: the caller checked it with is_rest_uri.
    request = urllib.request.Request(url, headers=_auth_headers())  # noqa: S310
    context = _tls_context()
    last_problem = ""
    for attempt in range(retries + 1):
        if attempt:
            time.sleep(_RETRY_PAUSE_S * attempt)
        try:
            with urllib.request.urlopen(  # noqa: S310
                request, timeout=timeout_s, context=context
            ) as response:
                return orjson.loads(response.read())
        except urllib.error.HTTPError as exc:
            last_problem = f"HTTP {exc.code}: {_error_message(exc)}"
            if exc.code < 500:
                break  # the server answered: asking again gets the same answer
        except (OSError, orjson.JSONDecodeError) as exc:
            last_problem = str(exc) or type(exc).__name__
    raise RegistryUnavailableError(f"{problem}: {last_problem}")


def _error_message(error: urllib.error.HTTPError) -> str:
    try:
        body = orjson.loads(error.read())
    except (OSError, orjson.JSONDecodeError):
        return str(error.reason)
    if isinstance(body, dict) and "message" in body:
        return str(body["message"])
    return str(error.reason)


def _auth_headers() -> dict[str, str]:
    token = os.environ.get("MLFLOW_TRACKING_TOKEN")
    if token:
        return {"Authorization": f"Bearer {token}"}
    user = os.environ.get("MLFLOW_TRACKING_USERNAME")
    password = os.environ.get("MLFLOW_TRACKING_PASSWORD")
    if user and password:
        pair = base64.b64encode(f"{user}:{password}".encode()).decode()
        return {"Authorization": f"Basic {pair}"}
    return {}


def _tls_context() -> ssl.SSLContext | None:
    if os.environ.get("MLFLOW_TRACKING_INSECURE_TLS", "").lower() != "true":
        return None
    # The operator asked for no certificate checks.
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context
