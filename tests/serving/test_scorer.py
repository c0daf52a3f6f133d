"""MojoScorer against genmodel's own PredictCsv: real JVM, real MOJOs."""

from __future__ import annotations

import csv
import io
import shutil
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from serving import batch_codec, jvm
from serving.model_schema import (
    MOJO_FILE_NAME,
    SCHEMA_FILE_NAME,
    ModelSchema,
    Task,
)
from serving.runtime_errors import CsvFormatError, InvalidBatchError, ModelOpenError
from serving.scorer import BatchPrediction, MojoScorer
from tests.fixtures.mojo import genmodel_predict_csv, h2o_package_dir

TOLERANCE = 1e-9
# CSV output writes probabilities with 17 decimals: within about one ulp.
CSV_DIGITS = 2.5e-16
EDGE_ROWS = {
    "binary": [
        "70,,3,,6.7,,7",  # missing cells
        "70,9,3,1,6.7,0,7",  # unknown RACE level
        '"70","1","3","1","abc",0,7',  # quoted cells, invalid number
    ],
    "regression": ["70,,3,,6.7,,7", "70,9,7,1,6.7,1,7"],
    "multiclass": [",,,", "5.1,3.5,,0.2", "x,3.5,1.4,0.2"],
}


@pytest.fixture(scope="session")
def class_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("java-classes")


@pytest.fixture(scope="module")
def scorers(
    tiny_mojos: dict[Task, Path], class_cache: Path
) -> Iterator[dict[Task, MojoScorer]]:
    opened = {
        task: MojoScorer.open(folder, heap_mb=128, class_cache_dir=class_cache)
        for task, folder in tiny_mojos.items()
    }
    yield opened
    for scorer in opened.values():
        scorer.close()


@pytest.fixture(scope="module")
def binary(scorers: dict[Task, MojoScorer]) -> MojoScorer:
    return scorers["binary"]


def _features_csv(task: Task, schema: ModelSchema) -> bytes:
    """The bundled table's feature columns plus the edge rows, as CSV bytes."""
    table = "iris.csv" if task == "multiclass" else "prostate.csv"
    frame = pd.read_csv(h2o_package_dir() / "h2o_data" / table, dtype=str)
    body = frame[schema.feature_names].to_csv(index=False)
    return (body + "\n".join(EDGE_ROWS[task]) + "\n").encode()


def _numbers(prediction: BatchPrediction) -> np.ndarray:
    if prediction.values is not None:
        return prediction.values.reshape(-1, 1)
    assert prediction.probabilities is not None
    return prediction.probabilities


@pytest.mark.parametrize("task", ["binary", "multiclass", "regression"])
def test_score_frame_equals_genmodelgenmodel_predict_csv(
    task: Task,
    scorers: dict[Task, MojoScorer],
    tiny_mojos: dict[Task, Path],
    tmp_path: Path,
) -> None:
    scorer = scorers[task]
    csv_bytes = _features_csv(task, scorer.schema)
    labels, expected = genmodel_predict_csv(tiny_mojos[task], csv_bytes, tmp_path)

    frame = pd.read_csv(io.BytesIO(csv_bytes), dtype=str, keep_default_na=False)
    frame = frame.replace("", None)
    prediction = scorer.score_frame(frame)

    np.testing.assert_allclose(_numbers(prediction), expected, rtol=0, atol=TOLERANCE)
    if task != "regression":
        assert prediction.labels == labels


@pytest.mark.parametrize("task", ["binary", "multiclass", "regression"])
def test_score_csv_equals_genmodelgenmodel_predict_csv(
    task: Task,
    scorers: dict[Task, MojoScorer],
    tiny_mojos: dict[Task, Path],
    tmp_path: Path,
) -> None:
    scorer = scorers[task]
    csv_bytes = _features_csv(task, scorer.schema)
    labels, expected = genmodel_predict_csv(tiny_mojos[task], csv_bytes, tmp_path)

    label_dtype = {"predict": str} if task != "regression" else None
    scored = pd.read_csv(io.BytesIO(scorer.score_csv(csv_bytes)), dtype=label_dtype)

    numbers = [c for c in scored.columns if c.startswith("p_")] or ["predict"]
    np.testing.assert_allclose(
        scored[numbers].to_numpy(), expected, rtol=0, atol=TOLERANCE
    )
    if task != "regression":
        assert scored["predict"].tolist() == labels


def test_score_columns_unknown_level_is_reported_and_scored_as_missing(
    binary: MojoScorer,
) -> None:
    columns = {"AGE": [70, 70, 70], "RACE": ["1", "9", None], "PSA": [6.7, 6.7, 6.7]}

    prediction = binary.score_columns(columns, 3)

    assert prediction.unknown_levels == {1: ["RACE"]}
    assert prediction.probabilities is not None
    np.testing.assert_array_equal(
        prediction.probabilities[1], prediction.probabilities[2]
    )


@pytest.mark.parametrize(
    "missing",
    [None, float("nan"), np.nan],
    ids=["none", "float-nan", "numpy-nan"],
)
def test_score_columns_missing_cell_equals_absent_column(
    binary: MojoScorer, missing: float | None
) -> None:
    with_missing = binary.score_columns({"AGE": [missing], "PSA": [1.4]}, 1)
    absent = binary.score_columns({"PSA": [1.4]}, 1)

    assert with_missing.probabilities is not None and absent.probabilities is not None
    np.testing.assert_array_equal(with_missing.probabilities, absent.probabilities)
    assert with_missing.unknown_levels == {}


def test_score_columns_numbers_for_categorical_levels_read_as_level_text(
    binary: MojoScorer,
) -> None:
    as_numbers = binary.score_columns({"RACE": [1, 2.0], "DPROS": [3, 4]}, 2)
    as_text = binary.score_columns({"RACE": ["1", "2"], "DPROS": ["3", "4"]}, 2)

    assert as_numbers.unknown_levels == {}
    assert as_numbers.probabilities is not None and as_text.probabilities is not None
    np.testing.assert_array_equal(as_numbers.probabilities, as_text.probabilities)


def test_score_columns_probabilities_rows_sum_to_one_and_label_matches_shape(
    binary: MojoScorer,
) -> None:
    prediction = binary.score_columns({"AGE": list(range(40, 80))}, 40)

    assert prediction.task == "binary"
    assert prediction.rows == 40
    assert prediction.probabilities is not None
    assert prediction.probabilities.shape == (40, 2)
    np.testing.assert_allclose(prediction.probabilities.sum(axis=1), 1.0, atol=1e-12)
    assert set(prediction.labels or []) <= {"0", "1"}


def test_score_columns_large_batch_on_two_workers_equals_row_by_row(
    binary: MojoScorer,
) -> None:
    rng = np.random.default_rng(7)
    rows = 6000
    columns = {
        "AGE": rng.uniform(40, 80, rows),
        "PSA": rng.uniform(0, 50, rows),
        "RACE": rng.choice(["0", "1", "2"], rows).tolist(),
    }

    batch = binary.score_columns(columns, rows)
    picked = [0, 2999, 3000, 5999]
    single = [
        binary.score_columns({name: [values[i]] for name, values in columns.items()}, 1)
        for i in picked
    ]

    assert batch.probabilities is not None
    for i, one in zip(picked, single, strict=True):
        assert one.probabilities is not None
        np.testing.assert_array_equal(batch.probabilities[i], one.probabilities[0])


def test_score_columns_empty_batch_returns_empty_prediction(binary: MojoScorer) -> None:
    prediction = binary.score_columns({}, 0)

    assert prediction.rows == 0
    assert prediction.probabilities is not None
    assert prediction.probabilities.shape == (0, 2)


def test_score_columns_column_of_wrong_length_raises(binary: MojoScorer) -> None:
    with pytest.raises(InvalidBatchError, match="'AGE' has 2 values; expected 3"):
        binary.score_columns({"AGE": [1, 2]}, 3)


def test_score_csv_keeps_quoted_fields_and_line_breaks(binary: MojoScorer) -> None:
    document = (
        b'note,AGE,RACE\r\n"a, ""quoted"" note",65,1\r\n"two\nlines",70,\r\n,,2\r\n'
    )

    scored = list(csv.reader(io.StringIO(binary.score_csv(document).decode())))

    assert scored[0] == ["note", "AGE", "RACE", "predict", "p_0", "p_1"]
    assert [row[:3] for row in scored[1:]] == [
        ['a, "quoted" note', "65", "1"],
        ["two\nlines", "70", ""],
        ["", "", "2"],
    ]


def test_score_csv_rows_equal_score_columns_rows(binary: MojoScorer) -> None:
    document = b"AGE,RACE,PSA\n65,1,1.4\n70,,6.7\n,2,\n"

    scored = pd.read_csv(io.BytesIO(binary.score_csv(document)))
    direct = binary.score_columns(
        {"AGE": [65, 70, None], "RACE": ["1", None, "2"], "PSA": [1.4, 6.7, None]}, 3
    )

    assert direct.probabilities is not None
    np.testing.assert_allclose(
        scored[["p_0", "p_1"]].to_numpy(), direct.probabilities, rtol=0, atol=CSV_DIGITS
    )


def test_score_csv_header_only_returns_header_with_prediction_columns(
    binary: MojoScorer,
) -> None:
    assert binary.score_csv(b"AGE,RACE\n") == b"AGE,RACE,predict,p_0,p_1\n"


def test_score_csv_gives_back_records_with_any_characters_as_sent(
    binary: MojoScorer,
) -> None:
    records = ["65,1,café", "70,2,\u65e5\u672c", '71,1,"a, \u00e9"', "72,0,plain"]
    document = ("AGE,RACE,NOTE\n" + "\n".join(records) + "\n").encode()

    lines = binary.score_csv(document).decode("utf-8").splitlines()

    assert lines[0] == "AGE,RACE,NOTE,predict,p_0,p_1"
    for record, line in zip(records, lines[1:], strict=True):
        assert line.startswith(record + ",")
        label, p0, p1 = line[len(record) + 1 :].split(",")
        assert label in {"0", "1"}
        assert abs(float(p0) + float(p1) - 1) < 1e-12


def test_iter_score_csv_small_chunks_equal_one_pass(binary: MojoScorer) -> None:
    lines = [
        f'{age},"{age % 3}\n"' if age % 5 == 0 else f"{age},{age % 3}"
        for age in range(40, 80)
    ]
    document = ("AGE,RACE\n" + "\n".join(lines) + "\n").encode()

    pieces = list(binary.iter_score_csv(document, rows_per_chunk=7))

    assert len(pieces) > 3
    assert pieces[0].startswith(b"AGE,RACE,predict")
    assert not pieces[1].startswith(b"AGE")
    assert b"".join(pieces) == binary.score_csv(document)


@pytest.mark.parametrize(
    ("document", "line", "problem"),
    [
        (b"", 1, "empty"),
        (b"AGE,RACE\n65,1\n70\n", 3, "expected 2 fields"),
        (b"AGE,RACE\n65,1\n70,1,3\n", 3, "expected 2 fields"),
        (b'AGE,RACE\n65,"1\n70,2\n', 2, "never closed"),
        (b'AGE,RACE\n65,"1"x\n', 2, "after a closing double quote"),
        (b'AGE,RACE\n65,1"\n', 2, "double quote inside an unquoted field"),
        (b"AGE,RACE\n65,1\n70,\xff\n", 3, "not valid UTF-8"),
        (b"AGE,AGE\n65,1\n", 1, "twice"),
        (b"AGE,,RACE\n65,1,2\n", 1, "empty column name"),
    ],
    ids=[
        "empty",
        "too-few-fields",
        "too-many-fields",
        "unclosed-quote",
        "text-after-quote",
        "stray-quote",
        "not-utf8",
        "duplicate-header",
        "empty-header-name",
    ],
)
def test_score_csv_malformed_raises_line_and_problem(
    binary: MojoScorer, document: bytes, line: int, problem: str
) -> None:
    with pytest.raises(CsvFormatError) as caught:
        binary.score_csv(document)

    assert caught.value.line == line
    assert problem in caught.value.problem
    assert caught.value.__cause__ is not None


def test_iter_score_csv_error_in_later_chunk_names_absolute_line(
    binary: MojoScorer,
) -> None:
    document = b"AGE,RACE\n" + b"65,1\n" * 20 + b"70\n"

    with pytest.raises(CsvFormatError) as caught:
        list(binary.iter_score_csv(document, rows_per_chunk=6))

    assert caught.value.line == 22


def test_score_csv_without_feature_columns_scores_all_missing(
    binary: MojoScorer,
) -> None:
    scored = pd.read_csv(io.BytesIO(binary.score_csv(b"other\nx\n")))
    absent = binary.score_columns({}, 1)

    assert absent.probabilities is not None
    np.testing.assert_allclose(
        scored[["p_0", "p_1"]].to_numpy(), absent.probabilities, rtol=0, atol=CSV_DIGITS
    )


def test_scorer_with_reordered_schema_labels_follows_schema_order(
    tiny_binary_mojo: Path, class_cache: Path, binary: MojoScorer, tmp_path: Path
) -> None:
    for item in tiny_binary_mojo.iterdir():
        shutil.copy(item, tmp_path / item.name)
    schema = ModelSchema.read(tmp_path / SCHEMA_FILE_NAME)
    reordered = schema.model_copy(update={"class_labels": ["1", "0"]})
    reordered.write(tmp_path / SCHEMA_FILE_NAME)
    columns = {"AGE": [65.0, 75.0], "PSA": [1.0, 40.0]}

    with MojoScorer.open(tmp_path, heap_mb=128, class_cache_dir=class_cache) as scorer:
        flipped = scorer.score_columns(columns, 2)
    straight = binary.score_columns(columns, 2)

    assert flipped.probabilities is not None and straight.probabilities is not None
    np.testing.assert_array_equal(
        flipped.probabilities, straight.probabilities[:, ::-1]
    )
    assert flipped.labels == straight.labels


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"task": "regression"}, "is a 'binary' model"),
        ({"class_labels": ["no", "yes"]}, "differ from the MOJO"),
    ],
    ids=["wrong-task", "wrong-labels"],
)
def test_scorer_open_with_schema_not_matching_mojo_raises(
    tiny_binary_mojo: Path,
    class_cache: Path,
    tmp_path: Path,
    change: dict[str, object],
    message: str,
) -> None:
    for item in tiny_binary_mojo.iterdir():
        shutil.copy(item, tmp_path / item.name)
    schema = ModelSchema.read(tmp_path / SCHEMA_FILE_NAME)
    schema.model_copy(update=change).write(tmp_path / SCHEMA_FILE_NAME)

    with pytest.raises(ModelOpenError, match=message):
        MojoScorer.open(tmp_path, heap_mb=128, class_cache_dir=class_cache)


def test_scorer_open_without_jar_names_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ModelOpenError, match=MOJO_FILE_NAME):
        MojoScorer.open(tmp_path)


@pytest.mark.parametrize(
    "values",
    [[], ["a"], [None], ["", "é", None, "a\x1fb"]],
    ids=["empty", "one", "missing", "mixed"],
)
def test_pack_strings_round_trips(values: list[str | None]) -> None:
    assert batch_codec.unpack_strings(batch_codec.pack_strings(values)) == values


def test_split_csv_keeps_quoted_newlines_inside_records() -> None:
    document = b'h\n"a\nb"\nc\nd\n'

    header, chunks = batch_codec.split_csv(document, rows_per_chunk=1)

    assert header == b"h\n"
    assert [(chunk.body, chunk.first_line) for chunk in chunks] == [
        (b'"a\nb"\n', 2),
        (b"c\n", 4),
        (b"d\n", 5),
    ]


def test_score_columns_from_many_threads_equals_one_thread(binary: MojoScorer) -> None:
    rng = np.random.default_rng(11)
    batches = [
        {"AGE": rng.uniform(40, 80, 4500), "PSA": rng.uniform(0, 50, 4500)}
        for _ in range(6)
    ]
    sequential = [binary.score_columns(batch, 4500) for batch in batches]

    with ThreadPoolExecutor(max_workers=4) as pool:
        concurrent = list(
            pool.map(lambda batch: binary.score_columns(batch, 4500), batches)
        )

    for alone, together in zip(sequential, concurrent, strict=True):
        assert alone.probabilities is not None and together.probabilities is not None
        np.testing.assert_array_equal(alone.probabilities, together.probabilities)


def test_score_csv_large_document_split_over_workers_equals_small_chunks(
    binary: MojoScorer,
) -> None:
    rng = np.random.default_rng(5)
    ages = rng.integers(40, 80, 9000)
    races = rng.choice(["0", "1", "2", '"1"', ""], 9000)
    lines = [f"{age},{race}" for age, race in zip(ages, races, strict=True)]
    document = ("AGE,RACE\n" + "\n".join(lines) + "\n").encode()

    whole = binary.score_csv(document)
    pieces = b"".join(binary.iter_score_csv(document, rows_per_chunk=1000))
    direct = binary.score_columns(
        {"AGE": ages, "RACE": [race.strip('"') or None for race in races]}, 9000
    )

    assert whole == pieces
    scored = pd.read_csv(io.BytesIO(whole), dtype={"RACE": str})
    assert len(scored) == 9000
    assert direct.probabilities is not None
    np.testing.assert_allclose(
        scored[["p_0", "p_1"]].to_numpy(), direct.probabilities, rtol=0, atol=CSV_DIGITS
    )


def _big_csv(rows: int) -> bytes:
    rng = np.random.default_rng(9)
    frame = pd.DataFrame(
        {
            "AGE": rng.integers(40, 80, rows),
            "RACE": rng.choice(["0", "1", "2", ""], rows),
            "PSA": rng.uniform(0, 50, rows).round(3),
            "note": rng.choice(["plain", "with, comma", 'say "hi"'], rows),
        }
    )
    return frame.to_csv(index=False).encode()


def test_score_csv_above_file_exchange_size_equals_socket_path(
    binary: MojoScorer,
) -> None:
    document = _big_csv(12_000)
    assert len(document) >= jvm.FILE_EXCHANGE_BYTES

    through_files = b"".join(binary.iter_score_csv(document, rows_per_chunk=12_000))
    through_socket = b"".join(binary.iter_score_csv(document, rows_per_chunk=500))

    assert through_files == through_socket
    assert list(binary.runtime.exchange_dir.iterdir()) == []


def test_score_columns_above_file_exchange_size_equals_socket_path(
    binary: MojoScorer,
) -> None:
    rows = 20_000
    rng = np.random.default_rng(3)
    columns = {
        name: rng.uniform(0, 80, rows) for name in ("AGE", "PSA", "VOL", "GLEASON")
    }
    assert rows * 8 * len(columns) >= jvm.FILE_EXCHANGE_BYTES

    whole = binary.score_columns(columns, rows)
    parts = [
        binary.score_columns({k: v[i : i + 1000] for k, v in columns.items()}, 1000)
        for i in range(0, rows, 1000)
    ]

    assert whole.probabilities is not None
    np.testing.assert_array_equal(
        whole.probabilities,
        np.vstack(
            [part.probabilities for part in parts if part.probabilities is not None]
        ),
    )
    assert list(binary.runtime.exchange_dir.iterdir()) == []


def test_score_csv_malformed_above_file_exchange_size_raises_and_cleans_up(
    binary: MojoScorer,
) -> None:
    document = _big_csv(12_000) + b'1,2,"open\n'

    with pytest.raises(CsvFormatError, match="never closed") as caught:
        list(binary.iter_score_csv(document, rows_per_chunk=20_000))

    assert caught.value.line == 12_002
    assert list(binary.runtime.exchange_dir.iterdir()) == []


def test_scorer_close_removes_exchange_folder(
    tiny_binary_mojo: Path, class_cache: Path
) -> None:
    with MojoScorer.open(
        tiny_binary_mojo, heap_mb=128, class_cache_dir=class_cache
    ) as scorer:
        folder = scorer.runtime.exchange_dir
        assert folder.is_dir()

    assert not folder.exists()


def test_score_csv_faults_in_two_parallel_parts_report_the_first_line(
    binary: MojoScorer,
) -> None:
    lines = _big_csv(12_000).split(b"\n")
    lines[99] += b",extra"
    lines[11_000] += b",extra"
    document = b"\n".join(lines)

    with pytest.raises(CsvFormatError, match="expected 4 fields") as caught:
        list(binary.iter_score_csv(document, rows_per_chunk=20_000))

    assert caught.value.line == 100
