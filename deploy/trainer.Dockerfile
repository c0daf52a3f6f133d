# syntax=docker/dockerfile:1
# The training job (the chef's school): H2O AutoML inside this container on
# 127.0.0.1:54321 (never published), the MOJO registered in MLflow, then exit.
ARG PYTHON_IMAGE=python:3.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
# The same MLflow as the tracking server image (deploy/mlflow.Dockerfile).
ARG MLFLOW_VERSION=3.17.2
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends openjdk-17-jdk-headless \
    && rm -rf /var/lib/apt/lists/*
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
WORKDIR /app
COPY pyproject.toml README.md ./
COPY serving/ serving/
COPY training/ training/
# The project itself (dependency ranges in pyproject.toml), then the project's
# Java class for the parity check, compiled here against the wheel's genmodel
# jar so that the runtime needs no javac.
# hadolint ignore=DL3013
RUN pip install ".[train]" "mlflow==${MLFLOW_VERSION}" \
    && python -m serving.javabuild --cache-dir /app/artifacts/java-classes

FROM ${PYTHON_IMAGE} AS runtime
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends openjdk-17-jre-headless \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 app \
    && useradd --system --uid 10001 --gid app --home-dir /data --no-create-home app \
    && mkdir -p /data \
    && chown app:app /data
COPY --from=build /opt/venv /opt/venv
COPY --from=build --chown=app:app /app/artifacts /app/artifacts
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    HOME=/data
WORKDIR /app
USER 10001:10001
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:54321/3/Ping', timeout=4)"]
CMD ["python", "-m", "training"]
