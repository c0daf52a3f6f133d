# syntax=docker/dockerfile:1
# The UI (dining room): Streamlit talking to the scorer over HTTP. No Java.
ARG PYTHON_IMAGE=python:3.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
WORKDIR /app
COPY pyproject.toml README.md ./
COPY ui/ ui/
# The project itself; its dependency ranges live in pyproject.toml.
# hadolint ignore=DL3013
RUN pip install ".[ui]"

FROM ${PYTHON_IMAGE} AS runtime
RUN groupadd --system --gid 10001 app \
    && useradd --system --uid 10001 --gid app --home-dir /data --no-create-home app \
    && mkdir -p /data \
    && chown app:app /data
COPY --from=build /opt/venv /opt/venv
# `streamlit run ui/app.py` needs the script itself, not only the installed package.
COPY --from=build /app/ui /app/ui
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    HOME=/data \
    UI_SCORER_URL=http://scorer:8000
WORKDIR /app
USER 10001:10001
EXPOSE 8501
VOLUME ["/data"]
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8501/_stcore/health', timeout=4)"]
CMD ["python", "-m", "streamlit", "run", "ui/app.py", "--server.address", "0.0.0.0", "--server.port", "8501", "--server.headless", "true", "--server.fileWatcherType", "none", "--browser.gatherUsageStats", "false"]
