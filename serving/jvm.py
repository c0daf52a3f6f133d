"""The JVM that runs MOJOs: one py4j gateway, its process, and typed calls into it.

Rule: one gateway per process and model generation. The owner (the API's
lifespan, the training job's parity check) starts it, shares it between threads
(py4j gives each thread its own socket), and stops it. A hot reload starts a new
runtime beside the old one and stops the old one once no request uses it.

The JVM (``mojoserve.ScoringGateway``) listens on 127.0.0.1 only, wants a
py4j auth token handed over its stdin, dies with this process (it exits when its
stdin closes), runs with a capped heap and the serial collector, and exits on
OutOfMemoryError rather than limping on. Both ends set TCP_NODELAY: with py4j's
defaults every answer above 8 KiB waited 40 ms for a delayed acknowledgement.
Its stdout and stderr go to this module's logger. Every py4j type stays inside
this module: callers get ``bytes``, ``str`` and ``int`` back, and a dead or
stopped JVM raises :class:`RuntimeUnavailable` instead of a py4j traceback.
"""

from __future__ import annotations

import base64
import logging
import os
import secrets
import shutil
import socket
import subprocess
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any, TypeVar

from py4j.java_gateway import GatewayClient, GatewayParameters, JavaGateway
from py4j.protocol import Py4JError, Py4JJavaError, Py4JNetworkError

from serving import affinity, javabuild
from serving.jvm_channel import AsyncJavaChannel
from serving.runtime_errors import (
    CsvFormatError,
    JavaCallError,
    JavaNotFoundError,
    RuntimeUnavailable,
)

logger = logging.getLogger(__name__)

_T = TypeVar("_T")
_CSV_EXCEPTION = "mojoserve.CsvFormatException"
_STOP_WAIT_S = 5.0
_EXIT_GRACE_S = 0.5
_INITIAL_HEAP_MB = 32
_PORT_ANNOUNCEMENT = "mojoserve port "
# Payloads from this size on cross as files, see mojoserve.FileExchange.
FILE_EXCHANGE_BYTES = 64 * 1024
# Only ever the parent of a private mkdtemp folder (mode 0700).
_TMPFS = Path("/dev/shm")  # noqa: S108
_LOOPBACK = "127.0.0.1"


class _NoDelayGatewayClient(GatewayClient):  # type: ignore[misc]
    """py4j client whose sockets send at once (TCP_NODELAY), like the Java side."""

    def _create_connection(self) -> Any:
        connection = super()._create_connection()
        connection.socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return connection


class _Gateway(JavaGateway):  # type: ignore[misc]
    def _create_gateway_client(self) -> Any:
        return _NoDelayGatewayClient(gateway_parameters=self.gateway_parameters)


def _connect(port: int, token: str, read_timeout: float | None) -> Any:
    return _Gateway(
        gateway_parameters=GatewayParameters(
            address=_LOOPBACK,
            port=port,
            auth_token=token,
            eager_load=True,
            read_timeout=read_timeout,
        )
    )


def _log_stream(stream: IO[bytes], level: int, name: str, pid: int) -> None:
    for raw in iter(stream.readline, b""):
        logger.log(
            level, "jvm %s %s: %s", pid, name, raw.decode("utf-8", "replace").rstrip()
        )
    stream.close()


def _launch(command: list[str], token: str) -> tuple[subprocess.Popen[bytes], int]:
    """Start the JVM, hand it the token and read back its port."""
    # A session of its own: a Ctrl-C in the terminal reaches the API, which then
    # stops the JVM in order; the JVM still dies with us through its stdin.
    # Its threads get every CPU, even when started from the pinned event loop.
    with affinity.every_cpu():
        process = subprocess.Popen(
            command,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
    assert process.stdin is not None and process.stdout is not None
    assert process.stderr is not None
    process.stdin.write(token.encode("ascii") + b"\n")
    process.stdin.flush()
    port = _read_port(process)
    for stream, level, name in (
        (process.stdout, logging.INFO, "stdout"),
        (process.stderr, logging.WARNING, "stderr"),
    ):
        threading.Thread(
            target=_log_stream,
            args=(stream, level, name, process.pid),
            name=f"jvm-{name}-{process.pid}",
            daemon=True,
        ).start()
    return process, port


def _read_port(process: subprocess.Popen[bytes]) -> int:
    """Read stdout up to the port announcement; other lines (JVM notices) are logged."""
    assert process.stdout is not None
    said: list[str] = []
    for raw in iter(process.stdout.readline, b""):
        line = raw.decode("utf-8", "replace").strip()
        if line.startswith(_PORT_ANNOUNCEMENT):
            return int(line.removeprefix(_PORT_ANNOUNCEMENT))
        logger.info("jvm %s stdout: %s", process.pid, line)
        said.append(line)
    process.kill()
    _, errors = process.communicate(timeout=_STOP_WAIT_S)
    said.append(errors.decode("utf-8", "replace").strip())
    output = " / ".join(line for line in said if line)
    raise RuntimeUnavailable(
        f"the JVM did not start (exit code {process.returncode}): {output}"
    )


class JavaRuntime:
    """One JVM with a genmodel jar and the project's batch scorer on its classpath."""

    def __init__(
        self,
        process: subprocess.Popen[bytes],
        gateway: Any,
        ping_gateway: Any,
        *,
        port: int,
        token: str,
        exchange_dir: Path,
    ) -> None:
        self._process = process
        self._gateway = gateway
        self._ping_gateway = ping_gateway
        self._port = port
        self.exchange_dir = exchange_dir
        # Small batches from the event loop: an asyncio py4j connection, opened lazily.
        self.channel = AsyncJavaChannel(port, token)
        self._stopped = False
        self._lock = threading.Lock()

    @classmethod
    def start(
        cls,
        genmodel_jar: Path,
        *,
        heap_mb: int = 256,
        class_cache_dir: Path | None = None,
        ping_timeout_s: float = 2.0,
    ) -> JavaRuntime:
        """Compile the Java side if needed and launch a JVM for ``genmodel_jar``.

        Args:
            heap_mb: the JVM's maximum heap (-Xmx) in MiB.
            class_cache_dir: where compiled classes are kept
                (default ``artifacts/java-classes``).
            ping_timeout_s: how long :meth:`is_alive` waits for an answer.
        """
        java = shutil.which("java")
        if java is None:
            raise JavaNotFoundError(
                "java was not found on PATH; install a JDK 17 "
                "(Debian: apt-get install openjdk-17-jdk-headless)"
            )
        classes = javabuild.ensure_compiled(genmodel_jar, class_cache_dir)
        classpath = os.pathsep.join(
            [str(genmodel_jar.resolve()), str(javabuild.py4j_jar()), str(classes)]
        )
        command = [
            java,
            # Without -Xms the JVM commits 1/64 of the machine's memory up front
            # (384 MiB on 24 GiB), capped only by -Xmx: resident memory then sits
            # at the cap. A small start lets the heap grow only as far as needed.
            f"-Xms{min(heap_mb, _INITIAL_HEAP_MB)}m",
            f"-Xmx{heap_mb}m",
            "-XX:+UseSerialGC",
            # Compile in the foreground: in the background the compiled scoring
            # loop came out up to 1.5x slower in some JVMs (serving.warmup).
            "-Xbatch",
            "-XX:+ExitOnOutOfMemoryError",
            "-Djava.awt.headless=true",
            "-classpath",
            classpath,
            javabuild.GATEWAY_CLASS,
        ]
        token = secrets.token_urlsafe(32)
        process, port = _launch(command, token)
        try:
            gateway = _connect(port, token, None)
            ping_gateway = _connect(port, token, ping_timeout_s)
        except Py4JError as exc:
            process.kill()
            process.wait()
            raise RuntimeUnavailable(
                f"the JVM (pid {process.pid}) refused py4j: {exc}"
            ) from exc
        exchange_dir = Path(
            tempfile.mkdtemp(
                prefix=f"mojoserve-{process.pid}-",
                dir=_TMPFS if _TMPFS.is_dir() else None,
            )
        )
        logger.info(
            "JVM up: pid %s, port %s, heap %s MiB, jar %s",
            process.pid,
            port,
            heap_mb,
            genmodel_jar,
        )
        return cls(
            process,
            gateway,
            ping_gateway,
            port=port,
            token=token,
            exchange_dir=exchange_dir,
        )

    @property
    def port(self) -> int:
        """The loopback port the JVM's py4j server listens on."""
        return self._port

    @property
    def pid(self) -> int:
        """The JVM's process id."""
        return self._process.pid

    def is_alive(self) -> bool:
        """True when the JVM process runs and answers a ping within the timeout."""
        if self._stopped or self._process.poll() is not None:
            return False
        try:
            self._ping_gateway.entry_point.ping()
        except (Py4JError, OSError):
            return False
        return True

    def stop(self) -> None:
        """Shut the JVM down; calling it again does nothing."""
        with self._lock:
            if self._stopped:
                return
            self._stopped = True
        self.channel.close()
        for gateway in (self._ping_gateway, self._gateway):
            try:
                gateway.shutdown()
            except (Py4JError, OSError) as exc:
                logger.debug("gateway shutdown: %s", exc)
        if self._process.stdin is not None:
            # The JVM exits when its stdin closes.
            self._process.stdin.close()
        try:
            self._process.wait(timeout=_STOP_WAIT_S)
        except subprocess.TimeoutExpired:
            logger.warning(
                "JVM %s did not exit in %.0f s; killing it", self.pid, _STOP_WAIT_S
            )
            self._process.kill()
            self._process.wait()
        shutil.rmtree(self.exchange_dir, ignore_errors=True)
        logger.info(
            "JVM stopped: pid %s, exit code %s", self.pid, self._process.returncode
        )

    def call(self, action: Callable[[], _T]) -> _T:
        """Run one py4j call, translating its failures into the runtime's exceptions."""
        # Checked first: py4j logs a traceback at ERROR for every failed send.
        self.check_running()
        try:
            return action()
        except Py4JJavaError as exc:
            raise _java_exception(exc) from exc
        except (Py4JNetworkError, Py4JError, OSError) as exc:
            raise self._unavailable() from exc

    def check_running(self) -> None:
        """Raise RuntimeUnavailable when the JVM was stopped or has exited."""
        if self._stopped or self._process.poll() is not None:
            raise self._unavailable()

    def call_with_files(
        self, payloads: list[bytes], action: Callable[[list[str], str], str]
    ) -> bytes:
        """Hand ``payloads`` over as files, run ``action``, read the file it names."""
        return self.take_answer_file(self.call_with_staged_files(payloads, action))

    def call_with_staged_files(
        self, payloads: list[bytes], action: Callable[[list[str], str], _T]
    ) -> _T:
        """Hand ``payloads`` over as files and run ``action`` on their paths."""
        staged: list[Path] = []
        try:
            for payload in payloads:
                handle, name = tempfile.mkstemp(suffix=".bin", dir=self.exchange_dir)
                staged.append(Path(name))
                with os.fdopen(handle, "wb") as file:
                    file.write(payload)
            paths = [str(path) for path in staged]
            return self.call(lambda: action(paths, str(self.exchange_dir)))
        except OSError as exc:
            raise RuntimeUnavailable(
                f"could not exchange files with the JVM in {self.exchange_dir}: {exc}"
            ) from exc
        finally:
            for path in staged:
                path.unlink(missing_ok=True)

    def take_answer_file(self, path: str) -> bytes:
        """The bytes of an answer file the JVM wrote; the file is removed."""
        answer = Path(path)
        try:
            return answer.read_bytes()
        except OSError as exc:
            raise RuntimeUnavailable(
                f"could not read the JVM's answer {answer}: {exc}"
            ) from exc
        finally:
            answer.unlink(missing_ok=True)

    def _unavailable(self) -> RuntimeUnavailable:
        try:
            # A dying JVM drops its sockets a moment before it can be reaped.
            code: int | None = self._process.wait(timeout=_EXIT_GRACE_S)
        except subprocess.TimeoutExpired:
            code = None
        if self._stopped:
            return RuntimeUnavailable("the JVM has been stopped; open a new scorer")
        if code is not None:
            return RuntimeUnavailable(
                f"the JVM (pid {self.pid}) exited with code {code}; "
                "restart the scorer (its log holds the JVM's last output)"
            )
        return RuntimeUnavailable(
            f"the JVM (pid {self.pid}) does not answer over py4j; restart the scorer"
        )

    def load_batch_scorer(self, mojo: Path, workers: int) -> JavaBatchScorer:
        """Load ``mojo`` into a new ``mojoserve.BatchScorer`` (``workers`` threads)."""
        target = self.call(
            lambda: self._gateway.entry_point.loadScorer(str(mojo.resolve()), workers)
        )
        return JavaBatchScorer(self, target)


class JavaBatchScorer:
    """Typed calls into one ``mojoserve.BatchScorer`` object living in the JVM."""

    def __init__(self, runtime: JavaRuntime, target: Any) -> None:
        self._runtime = runtime
        self._target = target

    def task(self) -> str:
        """The MOJO's task: "binary", "multiclass" or "regression"."""
        return str(self._runtime.call(self._target.task))

    def feature_names(self) -> bytes:
        """The input columns in model order, packed strings."""
        return _bytes(self._runtime.call(self._target.featureNames))

    def feature_levels(self, index: int) -> bytes | None:
        """Packed levels of input column ``index``; None for a numeric column."""
        packed = self._runtime.call(lambda: self._target.featureLevels(index))
        return None if packed is None else _bytes(packed)

    def class_labels(self) -> bytes:
        """Class labels in model order, packed strings (empty for regression)."""
        return _bytes(self._runtime.call(self._target.classLabels))

    def result_width(self) -> int:
        """Doubles per result row."""
        return int(self._runtime.call(self._target.resultWidth))

    def score_columns(self, rows: int, numeric: bytes, levels: bytes) -> bytes:
        """One bridge crossing: packed columns in, packed float64 results out."""
        if len(numeric) + len(levels) >= FILE_EXCHANGE_BYTES:
            return self._runtime.call_with_files(
                [numeric, levels],
                lambda paths, out: self._target.scoreColumnsFiles(rows, *paths, out),
            )
        return _bytes(
            self._runtime.call(lambda: self._target.scoreColumns(rows, numeric, levels))
        )

    def score_columns_json(self, rows: int, numeric: bytes, levels: bytes) -> bytes:
        """:meth:`score_columns` answered as JSON prediction objects, one per line."""
        if len(numeric) + len(levels) >= FILE_EXCHANGE_BYTES:
            return self._runtime.call_with_files(
                [numeric, levels],
                lambda paths, out: self._target.scoreColumnsJsonFiles(
                    rows, *paths, out
                ),
            )
        return _bytes(
            self._runtime.call(
                lambda: self._target.scoreColumnsJson(rows, numeric, levels)
            )
        )

    def score_json_records(
        self, body: bytes, max_rows: int
    ) -> tuple[bytes, int, str] | None:
        """A /predict body of plain records, read and scored in one crossing.

        Returns the JSON rows, their count and the JSON list of cells with
        unseen levels; None when the body is not plain records (see
        mojoserve.JsonRecords).
        """
        answer = str(
            self._runtime.call_with_staged_files(
                [body],
                lambda paths, out: self._target.scoreJsonRecordsFile(
                    paths[0], max_rows, out
                ),
            )
        )
        if not answer:
            return None
        path, rows, unknown = answer.split("\n", 2)
        return self._runtime.take_answer_file(path), int(rows), unknown

    async def score_columns_json_async(
        self, rows: int, numeric: bytes, levels: bytes
    ) -> bytes:
        """:meth:`score_columns_json` over the event loop's channel (small batches).

        Raises JavaCallRefused when the Java side throws: retry on the blocking
        :meth:`score_columns_json` for the exception's details.
        """
        # No process check here (a system call per request): a dead JVM drops
        # the channel's connection, which raises RuntimeUnavailable all the same.
        target_id: str = self._target._target_id
        encoded = await self._runtime.channel.call(
            target_id, "scoreColumnsJson", rows, numeric, levels
        )
        return _bytes(encoded)

    def score_csv(self, csv: bytes, *, write_header: bool, first_line: int) -> bytes:
        """One bridge crossing: CSV bytes in, CSV bytes with predictions out."""
        if len(csv) >= FILE_EXCHANGE_BYTES:
            return self._runtime.call_with_files(
                [csv],
                lambda paths, out: self._target.scoreCsvFile(
                    paths[0], write_header, first_line, out
                ),
            )
        return _bytes(
            self._runtime.call(
                lambda: self._target.scoreCsv(csv, write_header, first_line)
            )
        )

    def close(self) -> None:
        """Stop the Java side's worker threads (the JVM keeps running)."""
        self._runtime.call(self._target.close)


def _bytes(encoded: str) -> bytes:
    # Java answers bytes as base64 text: py4j would decode a byte[] one byte at a
    # time in Python, while base64 decodes in C.
    return base64.b64decode(encoded)


def _java_exception(exc: Py4JJavaError) -> Exception:
    java_exception = exc.java_exception
    try:
        java_class = str(java_exception.getClass().getName())
        if java_class == _CSV_EXCEPTION:
            return CsvFormatError(
                int(java_exception.getLine()), str(java_exception.getProblem())
            )
        return JavaCallError(java_class, str(java_exception.getMessage()))
    except Py4JError as inner:
        # The JVM went away while we were reading the exception: report what we have.
        logger.debug("could not inspect the Java exception: %s", inner)
        return JavaCallError("java.lang.Throwable", str(exc))
