"""Big /predict bodies read in Java (mojoserve.JsonRecords) against the Python path.

Every body of plain records must get, byte for byte, the answer the Python
reader gives; every other body must be handed back to Python untouched.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest

from serving import predictions
from serving.generation import ModelGeneration, ModelIdentity
from serving.metrics import ServingMetrics
from serving.model_schema import ModelSchema, Task
from serving.scorer import MojoScorer

ROWS = 1_500  # enough for a body past RECORDS_IN_JAVA_BYTES


@pytest.fixture(scope="module")
def generations(
    tiny_mojos: dict[Task, Path], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[Task, ModelGeneration]]:
    cache = tmp_path_factory.mktemp("json-records-classes")
    opened = {}
    for task, folder in tiny_mojos.items():
        scorer = MojoScorer.open(folder, heap_mb=128, class_cache_dir=cache)
        identity = ModelIdentity(task, "1", None, None, "local", folder, "now")
        opened[task] = ModelGeneration(scorer, identity)
    yield opened
    for generation in opened.values():
        generation.scorer.close()


def _number(generator: random.Random) -> object:
    kind = generator.randrange(6)
    if kind == 0:
        return None
    if kind == 1:
        return generator.randint(-5, 90)
    if kind == 2:
        return round(generator.uniform(-10, 100), generator.randint(0, 6))
    return generator.uniform(-10, 100)  # 15 to 17 digits


def _level(generator: random.Random, levels: list[str]) -> object:
    kind = generator.randrange(10)
    if kind == 0:
        return None
    if kind == 1:
        return "never-seen"
    if kind == 2 and levels:
        return f" {generator.choice(levels)} "  # genmodel trims
    return generator.choice(levels) if levels else None


def _records(schema: ModelSchema, seed: int) -> list[dict[str, object]]:
    generator = random.Random(seed)
    records = []
    for _ in range(ROWS):
        record = {
            feature.name: (
                _number(generator)
                if feature.kind == "numeric"
                else _level(generator, feature.levels)
            )
            for feature in schema.features
        }
        items = list(record.items())
        generator.shuffle(items)
        records.append(dict(items))
    return records


def _python_answer(generation: ModelGeneration, body: bytes) -> bytes:
    threshold = predictions.RECORDS_IN_JAVA_BYTES
    predictions.RECORDS_IN_JAVA_BYTES = len(body) + 1
    try:
        return predictions.predict_json(generation, body, 10**6, ServingMetrics()).body
    finally:
        predictions.RECORDS_IN_JAVA_BYTES = threshold


@pytest.mark.parametrize("task", ["binary", "multiclass", "regression"])
@pytest.mark.parametrize("seed", [1, 2])
def test_plain_records_get_the_python_answer_byte_for_byte(
    generations: dict[Task, ModelGeneration], task: Task, seed: int
) -> None:
    generation = generations[task]
    body = orjson.dumps(_records(generation.schema, seed))
    assert len(body) >= predictions.RECORDS_IN_JAVA_BYTES

    in_java = generation.scorer.score_json_records(body, 10**6)
    answer = predictions.predict_json(generation, body, 10**6, ServingMetrics())

    assert in_java is not None, "plain records were handed back to Python"
    assert in_java.rows == ROWS
    assert answer.body == _python_answer(generation, body)


def test_spacing_and_number_forms_of_hand_written_json_read_alike(
    generations: dict[Task, ModelGeneration],
) -> None:
    generation = generations["multiclass"]
    names = generation.schema.feature_names
    forms = [
        "5",
        "-0",
        "0.0",
        "-0.0",
        "5.10",
        "1e0",
        "2.5E+1",
        "-3e-1",
        "0.000001",
        "123456789012345678",
        "4.9999999999999999999",
        "null",
    ]
    rows = []
    for index in range(ROWS):
        values = [forms[(index + k) % len(forms)] for k in range(len(names))]
        fields = ", ".join(f'"{n}" :\t{v}' for n, v in zip(names, values, strict=True))
        rows.append("{ " + fields + " }")
    body = ("[\n " + ",\n ".join(rows) + "\n]\n").encode()

    in_java = generation.scorer.score_json_records(body, 10**6)
    answer = predictions.predict_json(generation, body, 10**6, ServingMetrics())

    assert in_java is not None
    assert answer.body == _python_answer(generation, body)


def _mutated(body_rows: list[str], mutation: str) -> bytes:
    rows = list(body_rows)
    rows[7] = mutation
    return ("[" + ",".join(rows) + "]").encode()


@pytest.mark.parametrize(
    "row",
    [
        '{"AGE": 65, "RACE": "1", "DPROS": "2", "DCAPS": "1", "PSA": 1.4, "VOL": 0}',
        '{"AGE": 65, "RACE": "1", "DPROS": "2", "DCAPS": "1", "PSA": 1.4, "VOL": 0,'
        ' "GLEASON": 6, "ZIP": 1}',
        '{"AGE": 65, "AGE": 66, "RACE": "1", "DPROS": "2", "DCAPS": "1", "PSA": 1.4,'
        ' "VOL": 0}',
        '{"AGE": true, "RACE": "1", "DPROS": "2", "DCAPS": "1", "PSA": 1.4, "VOL": 0,'
        ' "GLEASON": 6}',
        '{"AGE": "65", "RACE": "1", "DPROS": "2", "DCAPS": "1", "PSA": 1.4, "VOL": 0,'
        ' "GLEASON": 6}',
        '{"AGE": 65, "RACE": 1, "DPROS": "2", "DCAPS": "1", "PSA": 1.4, "VOL": 0,'
        ' "GLEASON": 6}',
        '{"A\\u0047E": 65, "RACE": "1", "DPROS": "2", "DCAPS": "1", "PSA": 1.4,'
        ' "VOL": 0, "GLEASON": 6}',
        '{"AGE": 65, "RACE": "\\u0031", "DPROS": "2", "DCAPS": "1", "PSA": 1.4,'
        ' "VOL": 0, "GLEASON": 6}',
        '{"AGE": [65], "RACE": "1", "DPROS": "2", "DCAPS": "1", "PSA": 1.4, "VOL": 0,'
        ' "GLEASON": 6}',
        '{"AGE": NaN, "RACE": "1", "DPROS": "2", "DCAPS": "1", "PSA": 1.4, "VOL": 0,'
        ' "GLEASON": 6}',
        '{"AGE": 1e400, "RACE": "1", "DPROS": "2", "DCAPS": "1", "PSA": 1.4, "VOL": 0,'
        ' "GLEASON": 6}',
        '{"AGE": 065, "RACE": "1", "DPROS": "2", "DCAPS": "1", "PSA": 1.4, "VOL": 0,'
        ' "GLEASON": 6}',
        '{"AGE": 65, "RACE": "1", "DPROS": "2", "DCAPS": "1", "PSA": 1.4, "VOL": 0,'
        ' "GLEASON": 6,}',
        '{"AGE": 65, "RACE": "\u00a01", "DPROS": "2", "DCAPS": "1", "PSA": 1.4,'
        ' "VOL": 0, "GLEASON": 6}',
        "[]",
        "65",
    ],
    ids=[
        "missing-feature",
        "extra-field",
        "repeated-field",
        "boolean",
        "text-for-number",
        "number-for-level",
        "escaped-name",
        "escaped-level",
        "list-value",
        "nan",
        "beyond-double",
        "leading-zero",
        "trailing-comma",
        "non-ascii-spacing",
        "list-row",
        "number-row",
    ],
)
def test_anything_but_plain_records_is_handed_back_to_python(
    generations: dict[Task, ModelGeneration], row: str
) -> None:
    generation = generations["binary"]
    features = {"AGE", "RACE", "DPROS", "DCAPS", "PSA", "VOL", "GLEASON"}
    assert set(generation.schema.feature_names) == features  # the rows below
    plain = orjson.dumps(_records(generation.schema, 3)).decode()
    rows = [orjson.dumps(r).decode() for r in orjson.loads(plain)]

    assert generation.scorer.score_json_records(_mutated(rows, row), 10**6) is None


def test_bodies_that_are_not_a_list_or_hold_too_many_rows_are_handed_back(
    generations: dict[Task, ModelGeneration],
) -> None:
    generation = generations["binary"]
    records = _records(generation.schema, 4)
    body = orjson.dumps(records)

    assert generation.scorer.score_json_records(body, ROWS - 1) is None
    assert generation.scorer.score_json_records(body[:-1], 10**6) is None
    assert generation.scorer.score_json_records(b"\xef\xbb\xbf" + body, 10**6) is None
    assert generation.scorer.score_json_records(body, ROWS) is not None
