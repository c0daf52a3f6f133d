"""The synthesized rows: drawn inside the schema, same rows for every encoding."""

from __future__ import annotations

import csv
import io

import orjson
import pytest

from bench.rows import synthesize
from serving.model_schema import (
    DataFingerprint,
    Feature,
    FeatureStats,
    ModelSchema,
)


def _schema(missing_share: float = 0.0) -> ModelSchema:
    return ModelSchema(
        model_id="m",
        algorithm="GBM",
        h2o_version="3.46.0.11",
        task="binary",
        target="y",
        class_labels=["0", "1"],
        features=[
            Feature(
                name="AGE",
                kind="numeric",
                stats=FeatureStats(missing_share=missing_share, min=40, max=80),
            ),
            Feature(
                name="PSA",
                kind="numeric",
                stats=FeatureStats(missing_share=missing_share, min=0.3, max=139.7),
            ),
            Feature(
                name="RACE",
                kind="categorical",
                levels=["0", "1", "2"],
                stats=FeatureStats(missing_share=missing_share, most_frequent="1"),
            ),
        ],
        sort_metric="AUC",
        data_fingerprint=DataFingerprint(rows=10, columns=4, sha256="0" * 64),
    )


def test_synthesize_without_missing_draws_values_inside_bounds_and_levels() -> None:
    rows = synthesize(_schema(), 2_000)

    assert rows.count == 2_000
    ages = rows.columns["AGE"]
    assert all(isinstance(v, int) and 40 <= v <= 80 for v in ages)
    assert all(isinstance(v, float) and 0.3 <= v <= 139.7 for v in rows.columns["PSA"])
    assert set(rows.columns["RACE"]) == {"0", "1", "2"}


def test_synthesize_with_missing_share_leaves_about_that_share_missing() -> None:
    rows = synthesize(_schema(missing_share=0.25), 4_000)

    missing = sum(v is None for v in rows.columns["PSA"]) / rows.count
    assert missing == pytest.approx(0.25, abs=0.04)


def test_synthesize_with_the_same_seed_gives_the_same_rows() -> None:
    assert synthesize(_schema(0.1), 50).columns == synthesize(_schema(0.1), 50).columns


def test_encodings_of_a_head_carry_the_same_rows() -> None:
    rows = synthesize(_schema(missing_share=0.3), 100).head(7)

    records = orjson.loads(rows.json_records())
    table = list(csv.DictReader(io.StringIO(rows.csv_bytes().decode())))
    split = orjson.loads(rows.mlflow_split())["dataframe_split"]

    assert len(records) == len(table) == len(split["data"]) == 7
    for record, line, values in zip(records, table, split["data"], strict=True):
        assert record == dict(zip(split["columns"], values, strict=True))
        for name, value in record.items():
            assert line[name] == ("" if value is None else str(value))
    assert orjson.loads(rows.json_single()) == records[0]


def test_head_beyond_the_synthesized_rows_is_refused() -> None:
    with pytest.raises(ValueError, match="only 5 synthesized"):
        synthesize(_schema(), 5).head(6)
