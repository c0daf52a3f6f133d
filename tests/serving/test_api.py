"""The scorer's HTTP API end to end: real uvicorn and JVM, the training job's model."""

from __future__ import annotations

import asyncio
import csv
import io
import math
import re
import socket
import time
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import orjson
import pytest

from serving.model_schema import ModelSchema
from tests.fixtures.mojo import genmodel_predict_csv
from tests.fixtures.serving import ADMIN_TOKEN, RunningScorer
from tests.fixtures.training import TrainedModel


@pytest.fixture(scope="module")
def client(scorer_server: RunningScorer) -> httpx.Client:
    return httpx.Client(base_url=scorer_server.base_url, timeout=30)


def holdout_records(model: TrainedModel) -> list[dict[str, Any]]:
    """The holdout's feature values as JSON records: level text, floats, None."""
    records: list[dict[str, Any]] = []
    for row in model.holdout.to_dict(orient="records"):
        records.append(
            {f.name: _cell(row.get(f.name), f.kind) for f in model.schema.features}
        )
    return records


def _cell(value: Any, kind: str) -> Any:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if kind == "numeric":
        return float(value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def records_to_csv(records: list[dict[str, Any]], schema: ModelSchema) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(schema.feature_names)
    for record in records:
        writer.writerow(
            ["" if record[n] is None else record[n] for n in schema.feature_names]
        )
    return out.getvalue().encode()


def test_predict_one_record_answers_label_probabilities_and_model_identity(
    client: httpx.Client, trained_model: TrainedModel
) -> None:
    record = holdout_records(trained_model)[0]

    response = client.post("/predict", json=record)

    assert response.status_code == 200
    body = response.json()
    assert body["model"] == {
        "name": trained_model.model_name,
        "version": trained_model.version,
        "alias": "production",
        "algorithm": trained_model.schema.algorithm,
        "run_id": trained_model.run_id,
    }
    assert body["task"] == "binary"
    (prediction,) = body["predictions"]
    assert set(prediction["probabilities"]) == set(trained_model.schema.class_labels)
    assert math.isclose(sum(prediction["probabilities"].values()), 1.0, rel_tol=1e-9)
    assert prediction["label"] in trained_model.schema.class_labels
    assert prediction["warnings"] == []


def test_predict_batch_equals_genmodel_predictcsv_to_1e9(
    client: httpx.Client, trained_model: TrainedModel, tmp_path: Path
) -> None:
    records = holdout_records(trained_model)
    _, expected = genmodel_predict_csv(
        trained_model.model_dir, records_to_csv(records, trained_model.schema), tmp_path
    )

    response = client.post("/predict", json=records)

    assert response.status_code == 200
    labels = trained_model.schema.class_labels
    got = np.array(
        [
            [p["probabilities"][label] for label in labels]
            for p in response.json()["predictions"]
        ]
    )
    assert got.shape == expected.shape == (len(records), len(labels))
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-9)


def test_predict_warns_per_row_about_missing_feature_and_extra_field(
    client: httpx.Client, trained_model: TrainedModel
) -> None:
    dropped = trained_model.schema.feature_names[0]
    clean = holdout_records(trained_model)[0]
    record = {name: value for name, value in clean.items() if name != dropped}
    record["not_a_feature"] = 1

    response = client.post("/predict", json=[clean, record])

    assert response.status_code == 200
    first, second = response.json()["predictions"]
    assert first["warnings"] == []
    warnings = {(w["field"], w["code"]) for w in second["warnings"]}
    assert warnings == {
        (dropped, "missing_feature"),
        ("not_a_feature", "unknown_field"),
    }
    assert all(w["message"] for w in second["warnings"])


def _varied_records(model: TrainedModel, count: int) -> list[dict[str, Any]]:
    """Holdout rows, every third missing a feature and every fifth with an extra."""
    dropped = model.schema.feature_names[0]
    records = holdout_records(model)[:count]
    for index in range(0, count, 3):
        records[index] = {k: v for k, v in records[index].items() if k != dropped}
    for index in range(0, count, 5):
        records[index] = {**records[index], "note": f"row {index}"}
    return records


def test_concurrent_single_rows_get_the_answers_they_get_alone(
    scorer_server: RunningScorer, client: httpx.Client, trained_model: TrainedModel
) -> None:
    # Small requests that arrive together are scored as one merged call.
    records = _varied_records(trained_model, 12)
    alone = [client.post("/predict", json=record).json() for record in records]

    async def all_at_once() -> list[httpx.Response]:
        async with httpx.AsyncClient(base_url=scorer_server.base_url) as together:
            return await asyncio.gather(
                *(together.post("/predict", json=r) for r in records * 4)
            )

    responses = asyncio.run(all_at_once())

    assert [r.status_code for r in responses] == [200] * len(responses)
    assert [r.json() for r in responses] == alone * 4
    assert alone[3]["predictions"][0]["warnings"]  # the varied rows do warn


def test_predict_big_body_rows_equal_small_body_rows(
    client: httpx.Client, trained_model: TrainedModel
) -> None:
    # Above SERVING_SMALL_REQUEST_BYTES a body is scored in a worker thread.
    records = _varied_records(trained_model, 30)
    body = orjson.dumps(records * 20)
    assert len(body) > 16 * 1024

    big = client.post("/predict", content=body).json()["predictions"]
    small = client.post("/predict", json=records).json()["predictions"]

    assert big == small * 20


def test_predict_csv_returns_input_columns_plus_prediction_columns(
    client: httpx.Client, trained_model: TrainedModel
) -> None:
    records = holdout_records(trained_model)[:20]
    upload = records_to_csv(records, trained_model.schema)

    response = client.post(
        "/predict/csv", files={"file": ("rows.csv", upload, "text/csv")}
    )
    json_answer = client.post("/predict", json=records).json()

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.text)))
    labels = trained_model.schema.class_labels
    assert list(rows[0]) == [
        *trained_model.schema.feature_names,
        "predict",
        *(f"p_{x}" for x in labels),
    ]
    assert len(rows) == len(records)
    for row, prediction in zip(rows, json_answer["predictions"], strict=True):
        assert row["predict"] == prediction["label"]
        for label in labels:
            assert float(row[f"p_{label}"]) == pytest.approx(
                prediction["probabilities"][label], abs=1e-12
            )


def test_predict_csv_accepts_a_plain_text_csv_body(
    client: httpx.Client, trained_model: TrainedModel
) -> None:
    upload = records_to_csv(holdout_records(trained_model)[:3], trained_model.schema)

    response = client.post(
        "/predict/csv", content=upload, headers={"Content-Type": "text/csv"}
    )

    assert response.status_code == 200
    assert len(response.text.strip().splitlines()) == 4


@pytest.mark.parametrize(
    "form",
    ["dataframe_split", "dataframe_records", "instances", "csv"],
    ids=["dataframe-split", "dataframe-records", "instances", "csv"],
)
def test_invocations_speaks_mlflow_scoring_protocol(
    client: httpx.Client, trained_model: TrainedModel, form: str
) -> None:
    records = holdout_records(trained_model)[:5]
    names = trained_model.schema.feature_names
    if form == "csv":
        request = {
            "content": records_to_csv(records, trained_model.schema),
            "headers": {"Content-Type": "text/csv"},
        }
    elif form == "dataframe_split":
        split = {"columns": names, "data": [[r[n] for n in names] for r in records]}
        request = {"json": {"dataframe_split": split}}
    else:
        request = {"json": {form: records}}
    expected = client.post("/predict", json=records).json()["predictions"]

    response = client.post("/invocations", **request)

    assert response.status_code == 200, response.text
    got = response.json()["predictions"]
    assert [row["predict"] for row in got] == [p["label"] for p in expected]
    for row, prediction in zip(got, expected, strict=True):
        for label, probability in prediction["probabilities"].items():
            assert row[f"p_{label}"] == pytest.approx(probability, abs=1e-12)


def test_model_describes_schema_provenance_and_a_working_example(
    client: httpx.Client, trained_model: TrainedModel
) -> None:
    response = client.get("/model")

    assert response.status_code == 200
    info = response.json()
    assert info["name"] == trained_model.model_name
    assert info["version"] == trained_model.version
    assert info["alias"] == "production"
    assert info["run_id"] == trained_model.run_id
    assert info["source"] == "registry"
    assert info["task"] == trained_model.schema.task
    assert info["target"] == trained_model.schema.target
    assert [f["name"] for f in info["features"]] == trained_model.schema.feature_names
    assert info["holdout_metrics"] == trained_model.schema.holdout_metrics
    assert re.match(r"\d{4}-\d\d-\d\dT", info["loaded_at"])
    assert set(info["example_request"]) == set(trained_model.schema.feature_names)
    example = client.post("/predict", json=info["example_request"])
    assert example.status_code == 200
    assert example.json()["predictions"][0]["warnings"] == []


def test_health_live_and_ready_describe_model_and_jvm(
    client: httpx.Client, trained_model: TrainedModel
) -> None:
    live = client.get("/health/live")
    ready = client.get("/health/ready")

    assert live.json() == {"status": "live"}
    assert ready.status_code == 200
    assert ready.json() == {
        "status": "ready",
        "model": {
            "name": trained_model.model_name,
            "version": trained_model.version,
            "alias": "production",
        },
        "jvm": "alive",
        "source": "registry",
        "last_reload_error": None,
    }


def test_metrics_count_requests_rows_errors_and_show_model_version(
    client: httpx.Client, trained_model: TrainedModel
) -> None:
    records = holdout_records(trained_model)[:7]
    before = _metric(client, 'scorer_rows_scored_total{endpoint="/predict"}')
    client.post("/predict", json=records)
    client.post("/predict", content=b"{")

    text = client.get("/metrics").text

    assert (
        _metric(client, 'scorer_rows_scored_total{endpoint="/predict"}') == before + 7
    )
    assert 'scorer_requests_total{endpoint="/predict",status="200"}' in text
    assert 'scorer_errors_total{code="malformed_body"}' in text
    assert (
        'scorer_request_duration_seconds_bucket{endpoint="/predict",le="0.005"}' in text
    )
    assert (
        f'scorer_model_info{{alias="production",name="{trained_model.model_name}",'
        f'source="registry",version="{trained_model.version}"}} 1.0'
    ) in text
    assert "process_resident_memory_bytes" in text


def _metric(client: httpx.Client, sample: str) -> float:
    for line in client.get("/metrics").text.splitlines():
        if line.startswith(sample + " "):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def test_openapi_documents_every_endpoint_with_request_shapes_and_examples(
    client: httpx.Client,
) -> None:
    spec = client.get("/openapi.json").json()

    paths = spec["paths"]
    for path in [
        "/predict",
        "/predict/csv",
        "/invocations",
        "/model",
        "/health/live",
        "/health/ready",
        "/metrics",
        "/admin/reload",
    ]:
        assert path in paths, path
    predict = paths["/predict"]["post"]
    assert predict["description"] or predict["summary"]
    assert "examples" in predict["requestBody"]["content"]["application/json"]
    assert "PredictResponse" in str(predict["responses"]["200"])
    assert "ErrorResponse" in str(predict["responses"]["422"])
    assert (
        "multipart/form-data" in paths["/predict/csv"]["post"]["requestBody"]["content"]
    )


def test_request_id_is_echoed_or_generated(client: httpx.Client) -> None:
    echoed = client.get("/health/live", headers={"X-Request-ID": "abc-123"})
    generated = client.get("/health/live")

    assert echoed.headers["x-request-id"] == "abc-123"
    assert re.fullmatch(r"[0-9a-f]{32}", generated.headers["x-request-id"])


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ({}, 401),
        ({"Authorization": "Bearer wrong-token-wrong-token"}, 401),
        ({"Authorization": f"Bearer {ADMIN_TOKEN}"}, 200),
    ],
    ids=["no-token", "wrong-token", "right-token"],
)
def test_admin_reload_needs_the_bearer_token(
    client: httpx.Client,
    trained_model: TrainedModel,
    headers: dict[str, str],
    status: int,
) -> None:
    response = client.post("/admin/reload", headers=headers)

    assert response.status_code == status
    if status == 200:
        assert response.json()["outcome"] == "unchanged"
        assert response.json()["version"] == trained_model.version
    else:
        assert response.json()["error"]["code"] == "unauthorized"


_GOOD = {"AGE": 65}
BAD_INPUTS = [
    ("/predict", b'{"AGE": 6', "application/json", 400, "malformed_body"),
    ("/predict", b"", "application/json", 400, "malformed_body"),
    ("/predict", b"\xff\xfe\x00", "application/json", 400, "malformed_body"),
    ("/predict", b"[" * 5000 + b"]" * 5000, "application/json", 400, "malformed_body"),
    ("/predict", b"[]", "application/json", 422, "invalid_input"),
    ("/predict", b"42", "application/json", 422, "invalid_input"),
    ("/predict", b"[1, 2]", "application/json", 422, "invalid_input"),
    ("/predict", b'{"AGE": "sixty"}', "application/json", 422, "invalid_input"),
    ("/predict", b'{"AGE": true}', "application/json", 422, "invalid_input"),
    ("/predict", b'{"AGE": {"years": 60}}', "application/json", 422, "invalid_input"),
    ("/predict", b'{"AGE": NaN}', "application/json", 422, "invalid_input"),
    ("/predict", b'{"AGE": Infinity}', "application/json", 422, "invalid_input"),
    ("/predict", b'{"AGE": -Infinity}', "application/json", 422, "invalid_input"),
    ("/predict", b'{"AGE": 1e999}', "application/json", 422, "invalid_input"),
    ("/predict/csv", b"AGE,PSA\n1,2\n", "application/json", 422, "invalid_input"),
    ("/predict/csv", b"", "text/csv", 400, "malformed_body"),
    ("/predict/csv", b"AGE,PSA\n", "text/csv", 422, "invalid_input"),
    ("/predict/csv", b'AGE,PSA\n1,"2\n3,4\n', "text/csv", 400, "malformed_body"),
    ("/predict/csv", b"AGE,PSA\n1,2,3\n", "text/csv", 400, "malformed_body"),
    ("/predict/csv", b"AGE,AGE\n1,2\n", "text/csv", 400, "malformed_body"),
    ("/predict/csv", b"\xff\xfe,\x00\n1,2\n", "text/csv", 400, "malformed_body"),
    ("/invocations", b'{"rows": []}', "application/json", 422, "invalid_input"),
    (
        "/invocations",
        b'{"instances": [{"AGE": 1}], "inputs": [{"AGE": 1}]}',
        "application/json",
        422,
        "invalid_input",
    ),
    (
        "/invocations",
        b'{"dataframe_split": {"columns": ["AGE"], "data": [[1, 2]]}}',
        "application/json",
        422,
        "invalid_input",
    ),
    (
        "/invocations",
        b'{"dataframe_split": {"columns": ["AGE"], "data": []}}',
        "application/json",
        422,
        "invalid_input",
    ),
    (
        "/invocations",
        b'{"instances": [{"AGE": NaN}]}',
        "application/json",
        422,
        "invalid_input",
    ),
    ("/invocations", b"AGE\n1,2\n", "text/csv", 400, "malformed_body"),
]


@pytest.mark.parametrize(
    ("path", "body", "content_type", "status", "code"),
    BAD_INPUTS,
    ids=[
        "json-truncated",
        "json-empty-body",
        "json-not-utf8",
        "json-nested-5000-deep",
        "json-empty-batch",
        "json-a-number",
        "json-list-of-numbers",
        "json-text-for-number",
        "json-boolean-for-number",
        "json-object-for-number",
        "json-nan",
        "json-infinity",
        "json-minus-infinity",
        "json-number-overflows-float",
        "csv-wrong-content-type",
        "csv-empty",
        "csv-header-only",
        "csv-unclosed-quote",
        "csv-too-many-fields",
        "csv-duplicate-column",
        "csv-not-utf8-header",
        "invocations-unknown-key",
        "invocations-two-keys",
        "invocations-split-row-too-long",
        "invocations-split-empty",
        "invocations-nan",
        "invocations-csv-too-many-fields",
    ],
)
def test_bad_input_gets_a_fitting_status_and_a_located_error(
    client: httpx.Client,
    path: str,
    body: bytes,
    content_type: str,
    status: int,
    code: str,
) -> None:
    response = client.post(path, content=body, headers={"Content-Type": content_type})

    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] == code
    assert error["message"].endswith(".")
    assert "Traceback" not in response.text


def test_type_error_names_row_field_and_expected_form(client: httpx.Client) -> None:
    response = client.post("/predict", json=[_GOOD, {"AGE": "sixty"}])

    assert response.status_code == 422
    detail = response.json()["error"]["details"][0]
    assert detail == {
        "row": 1,
        "field": "AGE",
        "problem": "not a number",
        "expected": "a finite number or null",
    }


def test_malformed_csv_error_names_the_line(client: httpx.Client) -> None:
    response = client.post(
        "/predict/csv",
        content=b"AGE,PSA\n1,2\n3,4,5\n",
        headers={"Content-Type": "text/csv"},
    )

    assert response.status_code == 400
    assert response.json()["error"]["details"][0]["line"] == 3


def test_client_hanging_up_mid_body_is_not_a_scorer_error(
    client: httpx.Client, scorer_server: RunningScorer
) -> None:
    host, port = scorer_server.base_url.removeprefix("http://").split(":")
    head = (
        "POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        "Content-Length: 1000\r\n\r\n"
    )
    with socket.create_connection((host, int(port)), timeout=5) as sock:
        sock.sendall(head.encode() + b'{"AGE": 6')

    metrics = ""
    for _ in range(50):
        metrics = client.get("/metrics").text
        if 'code="client_disconnected"' in metrics:
            break
        time.sleep(0.1)

    assert 'scorer_errors_total{code="client_disconnected"}' in metrics
    assert 'code="internal_error"' not in metrics
    assert client.get("/health/ready").status_code == 200


def test_no_bad_input_reached_the_catch_all_handler(
    client: httpx.Client, scorer_server: RunningScorer
) -> None:
    for path, body, content_type, _, _ in BAD_INPUTS:
        client.post(path, content=body, headers={"Content-Type": content_type})

    assert 'code="internal_error"' not in client.get("/metrics").text
    assert "unexpected error" not in scorer_server.log_text()
    assert "Traceback" not in scorer_server.log_text()


def test_unknown_route_and_wrong_method_get_the_error_shape(
    client: httpx.Client,
) -> None:
    missing = client.get("/nope")
    wrong_method = client.get("/predict")

    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "not_found"
    assert wrong_method.status_code == 405
    assert wrong_method.json()["error"]["code"] == "method_not_allowed"


def test_response_bodies_are_json_with_full_float_precision(
    client: httpx.Client, trained_model: TrainedModel
) -> None:
    response = client.post("/predict", json=holdout_records(trained_model)[:3])

    parsed = orjson.loads(response.content)
    probability = next(iter(parsed["predictions"][0]["probabilities"].values()))
    assert isinstance(probability, float)
    assert response.headers["content-type"] == "application/json"
