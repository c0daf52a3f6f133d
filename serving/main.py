"""Entry point: read the settings, configure logging, run uvicorn with one worker.

One worker, always: each worker process would start its own JVM per model
generation and poll the registry on its own, so memory and reload state would
multiply (KServe keeps its py4j server to one worker for the same reason).
Scale out with more scorer processes behind a load balancer instead; inside
one process the JVM already scores a batch on several threads.
"""

from __future__ import annotations

import logging

import uvicorn

from serving.api import create_app
from serving.config import Settings
from serving.logs import configure_logging

logger = logging.getLogger(__name__)


def main() -> None:
    """Serve the configured model on ``SERVING_HOST:SERVING_PORT``."""
    settings = Settings()
    configure_logging(settings.log_level, settings.log_format)
    logger.info(
        "starting scorer on %s:%s for %s",
        settings.host,
        settings.port,
        settings.local_model_dir or settings.reference,
    )
    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        workers=1,
        log_config=None,
        access_log=False,
        server_header=False,
        timeout_graceful_shutdown=10,
    )


if __name__ == "__main__":
    main()
