"""Security and limits of the scorer: API key, CORS, admin switch, size limits, logs.

A scorer with strict settings serves the tiny binary GBM (prostate, with
categorical RACE, DPROS and DCAPS) from a local folder.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from serving.config import Settings
from tests.fixtures.serving import RunningScorer, launch_scorer

API_KEY = "test-api-key-abcdefghijkl"
ALLOWED_ORIGIN = "http://ui.example"
MAX_ROWS = 50
MAX_BODY_BYTES = 64 * 1024
RECORD = {
    "AGE": 65,
    "RACE": "1",
    "DPROS": "2",
    "DCAPS": "1",
    "PSA": 1.4,
    "VOL": 0.0,
    "GLEASON": 6,
}


@pytest.fixture(scope="module")
def strict_scorer(
    tiny_binary_mojo: Path,
    java_classes_dir: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[RunningScorer]:
    work_dir = tmp_path_factory.mktemp("strict-scorer")
    scorer = launch_scorer(
        work_dir,
        local_model_dir=tiny_binary_mojo,
        java_classes_dir=java_classes_dir,
        cache_dir=work_dir / "cache",
        api_key=API_KEY,
        cors_origins=ALLOWED_ORIGIN,
        max_rows=MAX_ROWS,
        max_body_bytes=MAX_BODY_BYTES,
        log_level="INFO",
        access_log=True,
    )
    yield scorer
    scorer.stop()


@pytest.fixture(scope="module")
def client(strict_scorer: RunningScorer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=strict_scorer.base_url, timeout=30) as client:
        yield client


KEYED = {"X-API-Key": API_KEY}


@pytest.mark.parametrize(
    ("path", "kwargs"),
    [
        ("/predict", {"json": RECORD}),
        (
            "/predict/csv",
            {"content": b"AGE,RACE\n65,1\n", "headers": {"Content-Type": "text/csv"}},
        ),
        ("/invocations", {"json": {"dataframe_records": [RECORD]}}),
    ],
    ids=["predict", "predict-csv", "invocations"],
)
def test_prediction_endpoints_refuse_requests_without_the_api_key(
    client: httpx.Client, path: str, kwargs: dict[str, object]
) -> None:
    without = client.post(path, **kwargs)  # type: ignore[arg-type]
    wrong_key = "wrong-key-wrong-key-wrong"
    headers = {**kwargs.get("headers", {}), "X-API-Key": wrong_key}  # type: ignore[dict-item]
    wrong = client.post(path, **{**kwargs, "headers": headers})  # type: ignore[arg-type]

    assert without.status_code == 401
    assert without.json()["error"]["code"] == "unauthorized"
    assert wrong.status_code == 401


@pytest.mark.parametrize(
    "headers",
    [{"X-API-Key": API_KEY}, {"Authorization": f"Bearer {API_KEY}"}],
    ids=["x-api-key", "bearer"],
)
def test_prediction_with_the_api_key_is_scored(
    client: httpx.Client, headers: dict[str, str]
) -> None:
    response = client.post("/predict", json=RECORD, headers=headers)

    assert response.status_code == 200
    assert response.json()["model"]["version"] is None


def test_health_and_model_stay_open_without_the_api_key(client: httpx.Client) -> None:
    assert client.get("/health/ready").json()["source"] == "local"
    assert client.get("/model").status_code == 200


def test_unknown_categorical_level_is_scored_as_missing_with_a_warning(
    client: httpx.Client,
) -> None:
    unknown = {**RECORD, "RACE": "7"}
    missing = {**RECORD, "RACE": None}

    response = client.post(
        "/predict", json=[unknown, missing, {**RECORD, "RACE": 1}], headers=KEYED
    )

    assert response.status_code == 200
    first, second, third = response.json()["predictions"]
    assert first["warnings"] == [
        {
            "field": "RACE",
            "code": "unknown_level",
            "message": "level '7' was not seen in training; scored as missing",
        }
    ]
    assert first["probabilities"] == second["probabilities"]
    assert second["warnings"] == []
    assert third["warnings"] == []
    metrics = client.get("/metrics").text
    assert 'scorer_unknown_levels_total{feature="RACE"}' in metrics


def test_cors_allows_only_the_configured_origin(client: httpx.Client) -> None:
    preflight = {"Access-Control-Request-Method": "POST"}

    allowed = client.options(
        "/predict", headers={"Origin": ALLOWED_ORIGIN, **preflight}
    )
    other = client.options(
        "/predict", headers={"Origin": "http://evil.example", **preflight}
    )

    assert allowed.headers.get("access-control-allow-origin") == ALLOWED_ORIGIN
    assert "access-control-allow-origin" not in other.headers


def test_admin_endpoints_are_off_without_an_admin_token(client: httpx.Client) -> None:
    response = client.post(
        "/admin/reload", headers={"Authorization": "Bearer anything-at-all-123"}
    )

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "admin_disabled"
    assert "SERVING_ADMIN_TOKEN" in response.json()["error"]["message"]


def _csv_rows(count: int) -> bytes:
    return b"AGE,RACE\n" + b"65,1\n" * count


@pytest.mark.parametrize(
    ("path", "kwargs"),
    [
        ("/predict", {"json": [RECORD] * (MAX_ROWS + 1)}),
        (
            "/predict/csv",
            {
                "content": _csv_rows(MAX_ROWS + 1),
                "headers": {"Content-Type": "text/csv"},
            },
        ),
        ("/invocations", {"json": {"dataframe_records": [RECORD] * (MAX_ROWS + 1)}}),
        (
            "/invocations",
            {
                "json": {
                    "dataframe_split": {
                        "columns": ["AGE"],
                        "data": [[1]] * (MAX_ROWS + 1),
                    }
                }
            },
        ),
    ],
    ids=["predict-json", "predict-csv", "invocations-records", "invocations-split"],
)
def test_more_rows_than_max_rows_get_413(
    client: httpx.Client, path: str, kwargs: dict[str, object]
) -> None:
    headers = {**kwargs.pop("headers", {}), **KEYED}  # type: ignore[dict-item]

    response = client.post(path, headers=headers, **kwargs)  # type: ignore[arg-type]

    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"
    assert "SERVING_MAX_ROWS" in response.json()["error"]["message"]


def test_exactly_max_rows_are_scored(client: httpx.Client) -> None:
    response = client.post("/predict", json=[RECORD] * MAX_ROWS, headers=KEYED)

    assert response.status_code == 200
    assert len(response.json()["predictions"]) == MAX_ROWS


def test_body_over_the_limit_by_content_length_gets_413(client: httpx.Client) -> None:
    body = b"[" + b" " * MAX_BODY_BYTES + b"]"

    response = client.post(
        "/predict", content=body, headers={**KEYED, "Content-Type": "application/json"}
    )

    assert response.status_code == 413
    assert "SERVING_MAX_BODY_BYTES" in response.json()["error"]["message"]


def test_chunked_body_over_the_limit_gets_413_while_reading(
    client: httpx.Client,
) -> None:
    def chunks() -> Iterator[bytes]:
        yield b"["
        for _ in range(MAX_BODY_BYTES // 1024 + 2):
            yield b" " * 1024
        yield b"]"

    response = client.post(
        "/predict",
        content=chunks(),
        headers={**KEYED, "Content-Type": "application/json"},
    )

    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"


def test_multipart_upload_over_the_limit_gets_413(client: httpx.Client) -> None:
    upload = _csv_rows(MAX_BODY_BYTES // 5)

    response = client.post(
        "/predict/csv", files={"file": ("big.csv", upload, "text/csv")}, headers=KEYED
    )

    assert response.status_code == 413


def test_info_log_holds_neither_payloads_nor_secrets(
    client: httpx.Client, strict_scorer: RunningScorer
) -> None:
    marker = "payload-marker-level-31337"
    client.post("/predict", json={**RECORD, "DCAPS": marker}, headers=KEYED)
    client.post(
        "/predict", content=b'{"AGE": "' + marker.encode() + b'"}', headers=KEYED
    )

    log = strict_scorer.log_text()
    assert "POST /predict 200" in log
    assert marker not in log
    assert API_KEY not in log


@pytest.mark.parametrize(
    "name", ["api_key", "admin_token"], ids=["api-key", "admin-token"]
)
def test_settings_refuse_short_secrets_without_echoing_them(name: str) -> None:
    with pytest.raises(
        ValueError, match=f"SERVING_{name.upper()} is shorter"
    ) as caught:
        Settings(**{name: "short-secret"})

    assert "short-secret" not in str(caught.value)


def test_settings_default_to_closed_cors_and_disabled_admin() -> None:
    settings = Settings()

    assert settings.cors_origins == []
    assert settings.admin_token is None
    assert settings.api_key is None
    assert settings.host == "127.0.0.1"
