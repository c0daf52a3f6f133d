"""Logging for the scorer process: one line per record, request id and model version.

Only the entry point (serving.main) calls :func:`configure_logging`; modules
just log. Request bodies appear at DEBUG only, secrets never.
"""

from __future__ import annotations

import logging
from contextvars import ContextVar
from typing import Literal

import orjson

request_id_var: ContextVar[str] = ContextVar("request_id", default="-")
model_version_var: ContextVar[str] = ContextVar("model_version", default="-")

LogFormat = Literal["text", "json"]
_TEXT_FORMAT = (
    "%(asctime)s %(levelname)s %(name)s "
    "request_id=%(request_id)s model_version=%(model_version)s %(message)s"
)


class _ContextFilter(logging.Filter):
    """Copies the request id and model version of the running request onto records."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id_var.get()
        record.model_version = model_version_var.get()
        return True


class _JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": self.formatTime(record),
            "level": record.levelname,
            "logger": record.name,
            "request_id": getattr(record, "request_id", "-"),
            "model_version": getattr(record, "model_version", "-"),
            "message": record.getMessage(),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return orjson.dumps(entry).decode()


def configure_logging(level: str, log_format: LogFormat = "text") -> None:
    """Send every logger (uvicorn's included) to stderr in one format."""
    handler = logging.StreamHandler()
    handler.addFilter(_ContextFilter())
    if log_format == "json":
        handler.setFormatter(_JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter(_TEXT_FORMAT))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True
    # py4j logs every socket event at DEBUG/INFO; its warnings are enough.
    logging.getLogger("py4j").setLevel(max(logging.WARNING, root.level))
