"""The Java-written /predict rows and the event-loop path: real JVM, real MOJOs."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import orjson
import pytest

from serving.jvm_channel import JavaCallRefused
from serving.model_schema import Task
from serving.runtime_errors import RuntimeUnavailable
from serving.scorer import JsonPrediction, MojoScorer
from serving.small_batches import SmallBatchScorer
from serving.validation import Batch, FeatureValidator

TOLERANCE = 1e-9
ROWS: dict[Task, list[dict[str, object]]] = {
    "binary": [
        {"AGE": 65, "RACE": "1", "PSA": 1.4, "GLEASON": 6},
        {"AGE": 70, "RACE": "9", "PSA": 40.0},  # unknown level, missing features
        {"AGE": None, "PSA": 7.5, "VOL": 12.0, "DPROS": 3},
    ],
    "multiclass": [
        {"Sepal.Length": 5.1, "Sepal.Width": 3.5, "Petal.Length": 1.4},
        {"Sepal.Length": 6.7, "Petal.Length": 5.0, "Petal.Width": 1.7},
    ],
    "regression": [
        {"AGE": 65, "RACE": "1", "DPROS": 2, "PSA": 1.4, "GLEASON": 6},
        {"AGE": 80, "RACE": "2", "CAPSULE": "1", "VOL": 30.0},
    ],
}


@pytest.fixture(scope="module")
def scorers(
    tiny_mojos: dict[Task, Path], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[Task, MojoScorer]]:
    cache = tmp_path_factory.mktemp("json-rows-classes")
    opened = {
        task: MojoScorer.open(folder, heap_mb=128, class_cache_dir=cache)
        for task, folder in tiny_mojos.items()
    }
    yield opened
    for scorer in opened.values():
        scorer.close()


def _batch(scorer: MojoScorer, records: list[dict[str, object]]) -> Batch:
    validator = FeatureValidator(scorer.schema)
    known = [
        {k: v for k, v in r.items() if k in validator.feature_names} for r in records
    ]
    return validator.from_records(known)


def _rows(prediction: JsonPrediction) -> list[dict[str, object]]:
    lines = prediction.lines.removesuffix(b"\n").split(b"\n")
    return [orjson.loads(line) for line in lines]


@pytest.mark.parametrize("task", ["binary", "multiclass", "regression"])
def test_json_rows_equal_the_binary_results(
    scorers: dict[Task, MojoScorer], task: Task
) -> None:
    scorer = scorers[task]
    batch = _batch(scorer, ROWS[task])

    rows = _rows(scorer.score_columns_json(batch.columns, batch.n_rows))
    reference = scorer.score_columns(batch.columns, batch.n_rows)

    assert len(rows) == batch.n_rows
    for index, row in enumerate(rows):
        assert row["warnings"] == []
        if task == "regression":
            assert reference.values is not None
            assert row["value"] == pytest.approx(reference.values[index], abs=TOLERANCE)
            continue
        assert reference.labels is not None and reference.probabilities is not None
        assert row["label"] == reference.labels[index]
        probabilities = row["probabilities"]
        assert isinstance(probabilities, dict)
        assert list(probabilities) == scorer.schema.class_labels
        np.testing.assert_allclose(
            list(probabilities.values()), reference.probabilities[index], atol=TOLERANCE
        )


def test_json_rows_report_unknown_levels_like_the_binary_path(
    scorers: dict[Task, MojoScorer],
) -> None:
    scorer = scorers["binary"]
    batch = _batch(scorer, ROWS["binary"])

    json_prediction = scorer.score_columns_json(batch.columns, batch.n_rows)

    assert json_prediction.unknown_levels == {1: ["RACE"]}
    assert json_prediction.unknown_levels == (
        scorer.score_columns(batch.columns, batch.n_rows).unknown_levels
    )


def test_big_json_batch_through_file_exchange_equals_small_batches(
    scorers: dict[Task, MojoScorer],
) -> None:
    scorer = scorers["binary"]
    records = [
        {"AGE": 40 + i % 40, "RACE": str(i % 3), "PSA": 0.5 + i % 90, "VOL": i % 50}
        for i in range(6000)
    ]
    batch = _batch(scorer, records)

    whole = _rows(scorer.score_columns_json(batch.columns, batch.n_rows))
    head = _batch(scorer, records[:10])
    first_ten = _rows(scorer.score_columns_json(head.columns, head.n_rows))

    assert len(whole) == 6000
    assert whole[:10] == first_ten


def test_concurrent_small_batches_are_merged_and_split_back(
    scorers: dict[Task, MojoScorer],
) -> None:
    scorer = scorers["binary"]
    batches = [_batch(scorer, [row]) for row in ROWS["binary"]] * 4
    expected = [_rows(scorer.score_columns_json(b.columns, b.n_rows)) for b in batches]

    async def score_all() -> list[JsonPrediction]:
        small = SmallBatchScorer(scorer)
        return await asyncio.gather(*(small.score(batch) for batch in batches))

    answers = asyncio.run(score_all())

    assert [_rows(answer) for answer in answers] == expected
    # Row 1 of ROWS holds the unknown level: every copy of it says so, at row 0.
    assert [answer.unknown_levels for answer in answers[1::3]] == [{0: ["RACE"]}] * 4
    assert all(not answer.unknown_levels for answer in answers[0::3])


def test_channel_java_exception_is_refused_and_channel_keeps_working(
    scorers: dict[Task, MojoScorer],
) -> None:
    scorer = scorers["binary"]
    batch = _batch(scorer, ROWS["binary"][:1])
    java = scorer._java  # the typed calls behind the scorer

    async def calls() -> bytes:
        with pytest.raises(JavaCallRefused):
            # Three rows announced, one row of numbers sent: Java refuses it.
            await java.score_columns_json_async(3, b"\0" * 8, b"\0\0\0\0")
        return (await scorer.score_columns_json_async(batch.columns, 1)).lines

    lines = asyncio.run(calls())

    assert orjson.loads(lines)["label"] in scorer.schema.class_labels


def test_channel_after_the_jvm_stopped_raises_runtime_unavailable(
    tiny_binary_mojo: Path, tmp_path: Path
) -> None:
    scorer = MojoScorer.open(tiny_binary_mojo, heap_mb=128, class_cache_dir=tmp_path)
    batch = _batch(scorer, ROWS["binary"][:1])

    async def score_then_stop() -> None:
        await scorer.score_columns_json_async(batch.columns, 1)
        scorer.close()
        with pytest.raises(RuntimeUnavailable):
            await scorer.score_columns_json_async(batch.columns, 1)

    asyncio.run(score_then_stop())
