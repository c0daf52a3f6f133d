"""Bad input: one readable line on stderr, a non-zero exit, the registry untouched."""

from __future__ import annotations

import socket
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient

from tests.fixtures.environment import free_port
from tests.fixtures.training import TrainedModel, TrainingStore, h2o_data_file
from training.__main__ import main

PROSTATE = h2o_data_file("prostate.csv")
IRIS = h2o_data_file("iris.csv")
REPO = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class BadCase:
    """Arguments built in a temporary folder, the exit code and words expected."""

    arguments: Callable[[Path], list[str]]
    exit_code: int
    words: str


def _write(folder: Path, name: str, content: str | bytes) -> Path:
    path = folder / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


def _constant_target(folder: Path) -> list[str]:
    rows = "".join(f"{i},{i * 2},1\n" for i in range(50))
    return [
        "--data",
        str(_write(folder, "flat.csv", "a,b,y\n" + rows)),
        "--target",
        "y",
    ]


def _few_rows(folder: Path) -> list[str]:
    rows = "".join(f"{i},{i % 2}\n" for i in range(10))
    return ["--data", str(_write(folder, "few.csv", "x,y\n" + rows)), "--target", "y"]


def _garbage_parquet(folder: Path) -> list[str]:
    path = _write(folder, "broken.parquet", b"this is not parquet at all")
    return ["--data", str(path), "--target", "y"]


def _unwritable_store(folder: Path) -> list[str]:
    blocker = _write(folder, "not-a-folder", "a file where a folder should be")
    return ["--tracking-uri", f"sqlite:///{blocker / 'mlflow.db'}"]


CASES: dict[str, BadCase] = {
    "missing-file": BadCase(
        lambda d: ["--data", str(d / "nowhere.csv"), "--target", "y"], 2, "not found"
    ),
    "unreadable-file": BadCase(_garbage_parquet, 2, "Cannot read"),
    "unknown-format": BadCase(
        lambda d: ["--data", str(_write(d, "t.xlsx", "x")), "--target", "y"],
        2,
        "Cannot tell the format",
    ),
    "data-without-target": BadCase(lambda d: ["--data", str(PROSTATE)], 2, "--target"),
    "unknown-target": BadCase(lambda d: ["--target", "NOPE"], 2, "'NOPE' is not in"),
    "unknown-ignored-column": BadCase(
        lambda d: ["--ignore-columns", "ID,NOPE"], 2, "'NOPE' not in"
    ),
    "target-with-one-value": BadCase(_constant_target, 2, "single value"),
    "too-few-rows": BadCase(_few_rows, 2, "Too few rows"),
    "binary-task-on-three-classes": BadCase(
        lambda d: ["--data", str(IRIS), "--target", "Species", "--task", "binary"],
        2,
        "exactly 2 values",
    ),
    "regression-task-on-text": BadCase(
        lambda d: ["--data", str(IRIS), "--target", "Species", "--task", "regression"],
        2,
        "numeric target",
    ),
    "multiclass-task-on-two-classes": BadCase(
        lambda d: ["--task", "multiclass"], 2, "3 to 1000"
    ),
    "holdout-fraction-out-of-range": BadCase(
        lambda d: ["--holdout-fraction", "1.5"], 2, "holdout_fraction"
    ),
    "unknown-algorithm": BadCase(
        lambda d: ["--include-algos", "GLM,Magic"], 2, "include_algos"
    ),
    "h2o-cluster-silent": BadCase(
        lambda d: ["--h2o-url", f"http://127.0.0.1:{free_port()}"], 3, "does not answer"
    ),
    "mlflow-store-not-writable": BadCase(_unwritable_store, 3, "cannot be written"),
}


@pytest.fixture
def registry_guard(
    trained_model: TrainedModel, training_store: TrainingStore
) -> Iterator[list[str]]:
    """Base arguments aimed at the session store; checks nothing moved after."""
    client = MlflowClient(tracking_uri=training_store.tracking_uri)
    name = trained_model.model_name

    def snapshot() -> tuple[list[str], str]:
        versions = sorted(
            str(v.version) for v in client.search_model_versions(f"name='{name}'")
        )
        return versions, str(
            client.get_model_version_by_alias(name, "production").version
        )

    before = snapshot()
    yield [
        "--tracking-uri",
        training_store.tracking_uri,
        "--artifact-root",
        str(training_store.artifact_root),
        "--model-name",
        name,
        "--h2o-port",
        str(free_port()),
    ]
    assert snapshot() == before


def _assert_one_line_error(code: int, stderr: str, case: BadCase) -> None:
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert code == case.exit_code
    assert len(lines) == 1, stderr
    assert lines[0].startswith("error: ")
    assert case.words in lines[0]
    assert "Traceback" not in stderr


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_bad_input_exits_with_one_line_and_touches_nothing(
    case: BadCase,
    registry_guard: list[str],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    arguments = [*registry_guard, *case.arguments(tmp_path)]

    code = main(arguments)

    _assert_one_line_error(code, capsys.readouterr().err, case)


@pytest.mark.parametrize(
    ("arguments", "words"),
    [
        (["--task", "sideways"], "argument --task: invalid choice: 'sideways'"),
        (["--h2o-port", "many"], "argument --h2o-port: invalid int value: 'many'"),
        (["--no-such-option"], "unrecognized arguments: --no-such-option"),
    ],
    ids=["unknown-task", "port-not-a-number", "unknown-option"],
)
def test_command_line_mistakes_exit_2_with_one_line(
    arguments: list[str], words: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(arguments)

    _assert_one_line_error(
        int(str(exit_info.value.code)), capsys.readouterr().err, BadCase(list, 2, words)
    )


def _fake_java(folder: Path, version_line: str) -> Path:
    folder.mkdir()
    java = folder / "java"
    java.write_text(f"#!/bin/sh\necho '{version_line}' >&2\n", encoding="utf-8")
    java.chmod(0o755)
    return folder


@pytest.mark.parametrize(
    ("version_line", "words"),
    [
        (None, "Java was not found"),
        ('java version "1.7.0_80"', "Java 7 at"),
    ],
    ids=["java-missing", "java-too-old"],
)
def test_java_missing_or_old_is_refused_before_h2o_starts(
    version_line: str | None,
    words: str,
    registry_guard: list[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    bin_dir = tmp_path / "bin"
    if version_line is None:
        bin_dir.mkdir()
    else:
        _fake_java(bin_dir, version_line)
    monkeypatch.setenv("PATH", str(bin_dir))

    code = main(registry_guard)

    _assert_one_line_error(code, capsys.readouterr().err, BadCase(list, 3, words))


def test_taken_h2o_port_is_named_with_the_fix(
    registry_guard: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    port = free_port()
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as holder:
        holder.bind(("127.0.0.1", port))
        holder.listen()

        code = main([*registry_guard, "--h2o-port", str(port)])

    stderr = capsys.readouterr().err
    _assert_one_line_error(code, stderr, BadCase(list, 3, f"Port {port}"))
    assert "--h2o-port" in stderr


def test_bad_input_in_a_real_process_prints_no_traceback(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.csv"

    finished = subprocess.run(
        [sys.executable, "-m", "training", "--data", str(missing), "--target", "y"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO)},
    )

    assert finished.returncode == 2
    assert finished.stderr.strip().splitlines() == [
        f"error: Data file not found: {missing}. Pass --data with an existing CSV or "
        "Parquet file."
    ]
    assert not (tmp_path / "artifacts").exists()
