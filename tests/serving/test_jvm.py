"""The JVM runtime and the Java build: real javac, real JVM, real MOJO."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from serving import javabuild
from serving.jvm import JavaRuntime
from serving.model_schema import GENMODEL_JAR_NAME, MOJO_FILE_NAME
from serving.runtime_errors import (
    JavaBuildError,
    JavaCallError,
    ModelOpenError,
    RuntimeUnavailable,
)
from serving.scorer import MojoScorer


@pytest.fixture(scope="session")
def class_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("java-classes")


@pytest.fixture
def runtime(tiny_binary_mojo: Path, class_cache: Path) -> Iterator[JavaRuntime]:
    started = JavaRuntime.start(
        tiny_binary_mojo / GENMODEL_JAR_NAME,
        heap_mb=128,
        class_cache_dir=class_cache,
        ping_timeout_s=1.0,
    )
    yield started
    started.stop()


# 127.0.0.1 as /proc/net shows it: IPv4, and IPv4-mapped on an IPv6 socket.
_LOOPBACK = {"0100007F", "0000000000000000FFFF00000100007F"}


def _listening_addresses(port: int) -> set[str]:
    """Local addresses listening on ``port``, read from /proc/net/tcp{,6}."""
    addresses = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            address, port_hex = local.split(":")
            if state == "0A" and int(port_hex, 16) == port:
                addresses.add(address)
    return addresses


def _wait_for_state(pid: int, state: str) -> None:
    """Signals land asynchronously: wait until /proc shows the process ``state``."""
    deadline = time.monotonic() + 5.0
    status = Path(f"/proc/{pid}/status")
    while time.monotonic() < deadline:
        if f"State:\t{state}" in status.read_text():
            return
        time.sleep(0.01)
    raise AssertionError(f"process {pid} never reached state {state}")


def test_runtime_started_answers_ping_on_loopback_only(runtime: JavaRuntime) -> None:
    assert runtime.is_alive()
    addresses = _listening_addresses(runtime.port)

    assert addresses
    assert addresses <= _LOOPBACK


def test_runtime_stopped_twice_is_dead_and_refuses_calls(runtime: JavaRuntime) -> None:
    runtime.stop()
    runtime.stop()

    assert not runtime.is_alive()
    with pytest.raises(RuntimeUnavailable, match="stopped"):
        runtime.load_batch_scorer(Path("model.zip"), 1)


def test_runtime_process_exits_after_stop(runtime: JavaRuntime) -> None:
    pid = runtime.pid
    runtime.stop()

    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


def test_runtime_frozen_jvm_fails_ping_within_timeout(runtime: JavaRuntime) -> None:
    os.kill(runtime.pid, signal.SIGSTOP)
    try:
        _wait_for_state(runtime.pid, "T")
        started = time.monotonic()
        alive = runtime.is_alive()
        waited = time.monotonic() - started
    finally:
        os.kill(runtime.pid, signal.SIGCONT)

    assert not alive
    assert waited < 3.0


def test_runtime_loading_missing_mojo_raises_java_message(
    runtime: JavaRuntime, tmp_path: Path
) -> None:
    with pytest.raises(JavaCallError, match=r"missing\.zip") as caught:
        runtime.load_batch_scorer(tmp_path / "missing.zip", 1)

    assert caught.value.java_class.startswith("java.")
    assert caught.value.__cause__ is not None


def test_scorer_with_killed_jvm_reports_dead_and_raises_unavailable(
    tiny_binary_mojo: Path, class_cache: Path
) -> None:
    with MojoScorer.open(
        tiny_binary_mojo, heap_mb=128, class_cache_dir=class_cache
    ) as scorer:
        os.kill(scorer.runtime.pid, signal.SIGKILL)
        deadline = time.monotonic() + 5.0
        while scorer.is_alive() and time.monotonic() < deadline:
            time.sleep(0.05)

        assert not scorer.is_alive()
        with pytest.raises(RuntimeUnavailable, match="exited with code -9"):
            scorer.score_columns({"AGE": [65.0]}, 1)
        with pytest.raises(RuntimeUnavailable):
            scorer.score_csv(b"AGE\n65\n")


def test_build_reuses_classes_for_same_source_and_jar(
    tiny_binary_mojo: Path, tmp_path: Path
) -> None:
    jar = tiny_binary_mojo / GENMODEL_JAR_NAME
    first = javabuild.ensure_compiled(jar, tmp_path)
    built_at = (first / "mojoserve" / "BatchScorer.class").stat().st_mtime_ns

    second = javabuild.ensure_compiled(jar, tmp_path)

    assert second == first
    assert (second / "mojoserve" / "BatchScorer.class").stat().st_mtime_ns == built_at


def test_build_with_changed_source_compiles_fresh_classes(
    tiny_binary_mojo: Path, tmp_path: Path
) -> None:
    jar = tiny_binary_mojo / GENMODEL_JAR_NAME
    sources = tmp_path / "java"
    shutil.copytree(javabuild.JAVA_SOURCE_DIR, sources)
    before = javabuild.ensure_compiled(jar, tmp_path / "cache", source_dir=sources)

    scorer_source = sources / "mojoserve" / "BatchScorer.java"
    scorer_source.write_text(scorer_source.read_text() + "\n// edited\n")
    after = javabuild.ensure_compiled(jar, tmp_path / "cache", source_dir=sources)

    assert after != before
    assert (after / "mojoserve" / "BatchScorer.class").is_file()


def test_build_with_missing_class_file_recompiles(
    tiny_binary_mojo: Path, tmp_path: Path
) -> None:
    jar = tiny_binary_mojo / GENMODEL_JAR_NAME
    classes = javabuild.ensure_compiled(jar, tmp_path)
    shutil.rmtree(classes)

    rebuilt = javabuild.ensure_compiled(jar, tmp_path)

    assert rebuilt == classes
    assert (rebuilt / "mojoserve" / "BatchScorer.class").is_file()


def test_build_key_changes_with_the_jar(tiny_binary_mojo: Path, tmp_path: Path) -> None:
    jar = tiny_binary_mojo / GENMODEL_JAR_NAME
    other_jar = tmp_path / GENMODEL_JAR_NAME
    other_jar.write_bytes(jar.read_bytes() + b"\0")

    assert javabuild.build_key(other_jar) != javabuild.build_key(jar)


def test_build_with_broken_source_raises_javac_output(
    tiny_binary_mojo: Path, tmp_path: Path
) -> None:
    sources = tmp_path / "java"
    shutil.copytree(javabuild.JAVA_SOURCE_DIR, sources)
    (sources / "mojoserve" / "Broken.java").write_text("class Broken { oops }\n")

    with pytest.raises(JavaBuildError, match=r"Broken\.java"):
        javabuild.ensure_compiled(
            tiny_binary_mojo / GENMODEL_JAR_NAME, tmp_path / "cache", source_dir=sources
        )
    assert not list((tmp_path / "cache").iterdir())


def test_build_command_line_prints_classes_folder(
    tiny_binary_mojo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    jar = tiny_binary_mojo / GENMODEL_JAR_NAME

    code = javabuild.main(["--jar", str(jar), "--cache-dir", str(tmp_path)])

    assert code == 0
    printed = Path(capsys.readouterr().out.strip())
    assert (printed / "mojoserve" / "BatchScorer.class").is_file()


def test_scorer_open_with_broken_mojo_raises_model_open_error(
    tiny_binary_mojo: Path, class_cache: Path, tmp_path: Path
) -> None:
    for item in tiny_binary_mojo.iterdir():
        shutil.copy(item, tmp_path / item.name)
    (tmp_path / MOJO_FILE_NAME).write_bytes(b"not a zip")

    with pytest.raises(ModelOpenError, match="cannot be scored") as caught:
        MojoScorer.open(tmp_path, heap_mb=128, class_cache_dir=class_cache)
    assert isinstance(caught.value.__cause__, JavaCallError)


def test_runtime_start_with_impossible_heap_raises_jvm_error(
    tiny_binary_mojo: Path, class_cache: Path
) -> None:
    with pytest.raises(
        RuntimeUnavailable, match=r"did not start.*Too small maximum heap"
    ):
        JavaRuntime.start(
            tiny_binary_mojo / GENMODEL_JAR_NAME, heap_mb=1, class_cache_dir=class_cache
        )


def test_runtime_jvm_exits_when_its_python_parent_is_killed(
    tiny_binary_mojo: Path, class_cache: Path
) -> None:
    script = (
        "import sys, time\n"
        "from pathlib import Path\n"
        "from serving.jvm import JavaRuntime\n"
        "runtime = JavaRuntime.start(Path(sys.argv[1]), heap_mb=64,"
        " class_cache_dir=Path(sys.argv[2]))\n"
        "print(runtime.pid, flush=True)\n"
        "time.sleep(120)\n"
    )
    parent = subprocess.Popen(
        [
            sys.executable,
            "-c",
            script,
            str(tiny_binary_mojo / GENMODEL_JAR_NAME),
            str(class_cache),
        ],
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).parents[2],
    )
    assert parent.stdout is not None
    jvm_pid = int(parent.stdout.readline())

    parent.kill()
    parent.wait()

    deadline = time.monotonic() + 10.0
    while _is_running(jvm_pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _is_running(jvm_pid)


def _is_running(pid: int) -> bool:
    """True unless the process is gone or a zombie waiting for its reaper."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return False
    return "State:\tZ" not in status
