# syntax=docker/dockerfile:1
# The scorer (kitchen): FastAPI + py4j + a JRE running the MOJO through
# h2o-genmodel. The final image has no h2o package and no H2O cluster.
ARG PYTHON_IMAGE=python:3.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
# The same MLflow as the tracking server image (deploy/mlflow.Dockerfile).
ARG MLFLOW_VERSION=3.17.2
ARG H2O_VERSION=3.46.0.11
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
# Debian's JDK: javac compiles the project's batch scorer class once, here.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends openjdk-17-jdk-headless unzip \
    && rm -rf /var/lib/apt/lists/*
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
WORKDIR /app
COPY pyproject.toml README.md ./
COPY serving/ serving/
# The project itself; its dependency ranges live in pyproject.toml.
# hadolint ignore=DL3013
RUN pip install ".[serve]" "mlflow-skinny==${MLFLOW_VERSION}"
# Only the 5 MB genmodel runtime leaves the 274 MB h2o wheel.
RUN pip download --no-deps --dest /tmp/h2o "h2o==${H2O_VERSION}" \
    && unzip -p /tmp/h2o/h2o-*.whl h2o/backend/bin/h2o.jar > /tmp/h2o.jar \
    && mkdir -p /opt/genmodel \
    && unzip -p /tmp/h2o.jar www/3/h2o-genmodel.jar > /opt/genmodel/h2o-genmodel.jar \
    && rm -rf /tmp/h2o /tmp/h2o.jar
# Models trained with the same H2O version ship the same jar, so the scorer
# finds these classes in its cache and never needs javac at run time.
RUN python -m serving.javabuild --jar /opt/genmodel/h2o-genmodel.jar \
    --cache-dir /app/artifacts/java-classes

FROM ${PYTHON_IMAGE} AS runtime
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends openjdk-17-jre-headless \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 app \
    && useradd --system --uid 10001 --gid app --home-dir /data --no-create-home app \
    && mkdir -p /data/model-cache \
    && chown -R app:app /data
COPY --from=build /opt/venv /opt/venv
COPY --from=build /opt/genmodel /opt/genmodel
COPY --from=build --chown=app:app /app/artifacts /app/artifacts
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    SERVING_HOST=0.0.0.0 \
    SERVING_PORT=8000 \
    SERVING_CACHE_DIR=/data/model-cache \
    SERVING_JAVA_CLASSES_DIR=/app/artifacts/java-classes
WORKDIR /app
USER 10001:10001
EXPOSE 8000
VOLUME ["/data"]
HEALTHCHECK --interval=10s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/health/ready', timeout=4)"]
CMD ["python", "-m", "serving"]
