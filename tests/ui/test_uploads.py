"""CSV checks that run before anything is sent to the scorer."""

from __future__ import annotations

import pytest

from ui.uploads import UploadProblem, csv_chunks, missing_columns_message, read_upload

FEATURES = ["AGE", "RACE", "PSA"]
GOOD_CSV = b"AGE,RACE,PSA,CAPSULE\n65,01,1.4,0\n72,1,,1\n70,2,4.9,0\n"


def test_read_upload_good_csv_keeps_cells_as_written() -> None:
    upload = read_upload("ok.csv", GOOD_CSV, max_bytes=1_000, feature_names=FEATURES)

    assert upload.rows == 3
    assert upload.missing_features == []
    assert upload.frame["RACE"].tolist() == ["01", "1", "2"]
    assert upload.frame["PSA"].tolist() == ["1.4", "", "4.9"]


@pytest.mark.parametrize(
    ("data", "max_bytes", "expected"),
    [
        (b"", 1_000, "is empty"),
        (b"  \n\n", 1_000, "is empty"),
        (b"AGE,RACE,PSA\n", 1_000, "no data rows"),
        (GOOD_CSV, 10, "the limit is"),
        (b"PK\x03\x04\x00\x00binary zip", 1_000, "not a CSV file"),
        ("AGE,RACE,PSA\n65,é,1\n".encode("latin-1"), 1_000, "not UTF-8"),
        (b"AGE,RACE,PSA\n65,1,1.4\n70,1,2,9,9\n", 1_000, "not a readable CSV"),
        (b"AGE,AGE,PSA\n65,1,1.4\n", 1_000, "repeats the column(s) AGE"),
        (b"name,score\nann,3\n", 1_000, "none of the model's feature columns"),
        (b'{"AGE": 65, "RACE": "1"}', 1_000, "none of the model's feature columns"),
    ],
    ids=[
        "empty",
        "only-blank-lines",
        "header-only",
        "too-large",
        "binary",
        "not-utf8",
        "ragged-rows",
        "duplicate-column",
        "unrelated-columns",
        "json-not-csv",
    ],
)
def test_read_upload_bad_file_raises_problem_naming_it(
    data: bytes, max_bytes: int, expected: str
) -> None:
    with pytest.raises(UploadProblem, match=r"bad\.csv") as caught:
        read_upload("bad.csv", data, max_bytes=max_bytes, feature_names=FEATURES)

    assert expected in str(caught.value)


def test_read_upload_too_large_names_size_and_setting() -> None:
    data = b"AGE,RACE,PSA\n" + b"65,1,1.4\n" * 200_000

    with pytest.raises(UploadProblem) as caught:
        read_upload("big.csv", data, max_bytes=1024 * 1024, feature_names=FEATURES)

    assert "big.csv is 1.7 MB; the limit is 1.0 MB" in str(caught.value)
    assert "UI_MAX_UPLOAD_MB" in str(caught.value)


def test_read_upload_some_features_absent_lists_them() -> None:
    upload = read_upload(
        "part.csv", b"AGE,other\n65,x\n", max_bytes=1_000, feature_names=FEATURES
    )

    assert upload.missing_features == ["RACE", "PSA"]
    assert "lacks the feature column(s) RACE, PSA" in missing_columns_message(upload)


def test_csv_chunks_split_rows_and_repeat_header() -> None:
    upload = read_upload("ok.csv", GOOD_CSV, max_bytes=1_000, feature_names=FEATURES)

    chunks = list(csv_chunks(upload, rows_per_chunk=2))

    assert chunks == [
        b"AGE,RACE,PSA,CAPSULE\n65,01,1.4,0\n72,1,,1\n",
        b"AGE,RACE,PSA,CAPSULE\n70,2,4.9,0\n",
    ]
