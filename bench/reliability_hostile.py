"""Hand-written hostile input the fuzzer does not reach, and slow clients.

Each case names the answer it must get (a fitting 4xx, or 200 for input that
is odd but valid), and the whole set is bracketed by memory samples of the
API and its JVM and followed by a readiness check. Raw sockets send what an
HTTP client library would refuse to: declared and chunked 50 MB bodies, and
clients that trickle bytes.
"""

from __future__ import annotations

import contextlib
import csv
import io
import select
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx
import orjson

from bench.reliability_scorer import ScorerHandle, memory

MAX_RSS_GROWTH_MB = 64.0
_WIDE_COLUMNS = 100_000
_BIG_BODY_BYTES = 50 * 1024 * 1024
_CHUNK_BYTES = 1024 * 1024
_SOCKET_TIMEOUT_S = 60.0


@dataclass(frozen=True)
class HostileCase:
    """One request and the status codes that count as the right answer."""

    name: str
    send: Callable[[str], int]
    expected: frozenset[int]


def cases(example: dict[str, object]) -> list[HostileCase]:
    """Every hand-written case, built around the served model's example record."""
    names = list(example)
    values = [str(value) for value in example.values()]
    header = ",".join(names)
    row = ",".join(values)
    wide_names = [f"extra_{i}" for i in range(_WIDE_COLUMNS)]
    wide_record = {**example, **dict.fromkeys(wide_names, 1)}
    wide_csv = (
        f"{header},{','.join(wide_names)}\n{row},{','.join(['1'] * _WIDE_COLUMNS)}\n"
    )
    quoted_csv = (
        ",".join(f'"{name}"' for name in names)
        + ',"note"\n'
        + row
        + ',"a ""quoted"" note\nspanning two lines, with a comma"\n'
        + row
        + ",plain\n"
    )
    duplicate_header = ",".join([*names, names[0]])
    duplicate_row = ",".join([*values, values[0]])
    four_xx = frozenset(range(400, 500))
    return [
        HostileCase(
            "json nested 100,000 lists deep",
            _post("/predict", b"[" * 100_000 + b"]" * 100_000),
            frozenset({400}),
        ),
        HostileCase(
            "json nested 5,000 objects deep",
            _post("/predict", b'{"a":' * 5_000 + b"1" + b"}" * 5_000),
            frozenset({400}),
        ),
        HostileCase(
            "50 MB body with Content-Length",
            _declared_big_body,
            frozenset({413}),
        ),
        HostileCase(
            "50 MB chunked body without Content-Length",
            _chunked_big_body,
            frozenset({413}),
        ),
        HostileCase(
            "json row with 100,000 columns",
            _post("/predict", orjson.dumps(wide_record)),
            four_xx,
        ),
        HostileCase(
            "csv row with 100,000 columns",
            _post(
                "/predict/csv",
                wide_csv.encode(),
                "text/csv",
            ),
            four_xx,
        ),
        HostileCase(
            "mlflow split with 100,000 columns",
            _post(
                "/invocations",
                orjson.dumps(
                    {
                        "dataframe_split": {
                            "columns": [*names, *wide_names],
                            "data": [[*example.values(), *[1] * _WIDE_COLUMNS]],
                        }
                    }
                ),
            ),
            four_xx,
        ),
        HostileCase(
            "json with non-UTF-8 bytes in a value",
            _post("/predict", b'{"' + names[0].encode() + b'": "\xff\xfe\xfd"}'),
            frozenset({400}),
        ),
        HostileCase(
            "json with a non-UTF-8 key",
            _post("/predict", b'{"\xc3\x28": 1}'),
            frozenset({400}),
        ),
        HostileCase(
            "csv with non-UTF-8 bytes in a row",
            _post("/predict/csv", f"{header}\n".encode() + b"\xff\xfe\n", "text/csv"),
            frozenset({400}),
        ),
        HostileCase(
            "mlflow csv with non-UTF-8 bytes",
            _post("/invocations", f"{header}\n".encode() + b"\xff\xfe\n", "text/csv"),
            frozenset({400}),
        ),
        HostileCase(
            "csv with quotes, embedded newline and comma (valid: 2 rows back)",
            _post_csv_rows(quoted_csv.encode(), expected_rows=2),
            frozenset({200}),
        ),
        HostileCase(
            "csv with a quote never closed",
            _post("/predict/csv", f'{header}\n"{row}\n'.encode(), "text/csv"),
            frozenset({400}),
        ),
        HostileCase(
            "csv with a duplicate column name",
            _post(
                "/predict/csv",
                f"{duplicate_header}\n{duplicate_row}\n".encode(),
                "text/csv",
            ),
            frozenset({400}),
        ),
        HostileCase(
            "mlflow csv with a duplicate column name",
            _post(
                "/invocations",
                f"{duplicate_header}\n{duplicate_row}\n".encode(),
                "text/csv",
            ),
            frozenset({400, 422}),
        ),
        HostileCase(
            "mlflow split with a duplicate column name",
            _post(
                "/invocations",
                orjson.dumps(
                    {
                        "dataframe_split": {
                            "columns": [*names, names[0]],
                            "data": [[*example.values(), example[names[0]]]],
                        }
                    }
                ),
            ),
            frozenset({400, 422}),
        ),
        HostileCase(
            "mlflow split that is null",
            _post("/invocations", b'{"dataframe_split": null}'),
            frozenset({400, 422}),
        ),
        HostileCase(
            "csv with a header and no rows",
            _post("/predict/csv", f"{header}\n".encode(), "text/csv"),
            frozenset({422}),
        ),
        HostileCase(
            "csv upload (multipart) with a header and no rows",
            _post_multipart(f"{header}\n".encode()),
            frozenset({422}),
        ),
        HostileCase(
            "mlflow csv with a header and no rows",
            _post("/invocations", f"{header}\n".encode(), "text/csv"),
            frozenset({422}),
        ),
    ]


def run_hostile(scorer: ScorerHandle, *, slow_seconds: float) -> dict[str, object]:
    """Send every case, then the slow clients; memory before/after, still ready."""
    example = httpx.get(f"{scorer.base_url}/model", timeout=10).json()[
        "example_request"
    ]
    before = memory(scorer)
    results = []
    for case in cases(example):
        started = time.perf_counter()
        problem: str | None = None
        try:
            status = case.send(scorer.base_url)
        except (OSError, httpx.HTTPError) as exc:
            status = 0
            problem = repr(exc)
        results.append(
            {
                "case": case.name,
                "status": status,
                "expected": sorted(case.expected) if len(case.expected) < 5 else "4xx",
                "passed": status in case.expected,
                "seconds": round(time.perf_counter() - started, 3),
                **({"problem": problem} if problem else {}),
            }
        )
    slow = slow_clients(scorer.base_url, seconds=slow_seconds)
    after = memory(scorer)
    ready = httpx.get(f"{scorer.base_url}/health/ready", timeout=10).status_code
    growth = after.api_mb - before.api_mb
    jvm_growth = after.jvm_mb - before.jvm_mb
    return {
        "cases": results,
        "cases_passed": sum(1 for r in results if r["passed"]),
        "cases_total": len(results),
        "slow_clients": slow,
        "rss_mb": {
            "api_before": round(before.api_mb, 1),
            "api_after": round(after.api_mb, 1),
            "jvm_before": round(before.jvm_mb, 1),
            "jvm_after": round(after.jvm_mb, 1),
        },
        "max_rss_growth_mb": MAX_RSS_GROWTH_MB,
        "ready_after": ready,
        "passed": all(r["passed"] for r in results)
        and bool(slow["passed"])
        and growth < MAX_RSS_GROWTH_MB
        and jvm_growth < MAX_RSS_GROWTH_MB
        and ready == 200,
    }


def _post(
    path: str, body: bytes, content_type: str = "application/json"
) -> Callable[[str], int]:
    def send(base_url: str) -> int:
        response = httpx.post(
            f"{base_url}{path}",
            content=body,
            headers={"Content-Type": content_type},
            timeout=_SOCKET_TIMEOUT_S,
        )
        return response.status_code

    return send


def _post_csv_rows(body: bytes, expected_rows: int) -> Callable[[str], int]:
    """POST a valid CSV; 200 counts only if the answer has the right row count."""

    def send(base_url: str) -> int:
        response = httpx.post(
            f"{base_url}/predict/csv",
            content=body,
            headers={"Content-Type": "text/csv"},
            timeout=_SOCKET_TIMEOUT_S,
        )
        if response.status_code != 200:
            return response.status_code
        rows = list(csv.reader(io.StringIO(response.text)))
        return 200 if len(rows) == expected_rows + 1 else -len(rows)

    return send


def _post_multipart(content: bytes) -> Callable[[str], int]:
    def send(base_url: str) -> int:
        response = httpx.post(
            f"{base_url}/predict/csv",
            files={"file": ("rows.csv", content, "text/csv")},
            timeout=_SOCKET_TIMEOUT_S,
        )
        return response.status_code

    return send


@contextlib.contextmanager
def _connection(base_url: str) -> Iterator[socket.socket]:
    parts = urlsplit(base_url)
    sock = socket.create_connection(
        (parts.hostname or "127.0.0.1", parts.port or 80), timeout=_SOCKET_TIMEOUT_S
    )
    try:
        yield sock
    finally:
        sock.close()


def _declared_big_body(base_url: str) -> int:
    """Declare 50 MB and send it while watching for an early answer."""
    head = (
        "POST /predict HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        "Content-Type: application/json\r\n"
        f"Content-Length: {_BIG_BODY_BYTES}\r\nConnection: close\r\n\r\n"
    ).encode()
    chunk = b" " * _CHUNK_BYTES
    return _send_until_answer(
        base_url, head, (chunk for _ in range(_BIG_BODY_BYTES // _CHUNK_BYTES)), b""
    )


def _chunked_big_body(base_url: str) -> int:
    """Send 50 MB in chunked encoding (no length up front)."""
    head = (
        b"POST /predict HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        b"Content-Type: application/json\r\n"
        b"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
    )
    chunk = f"{_CHUNK_BYTES:x}\r\n".encode() + b" " * _CHUNK_BYTES + b"\r\n"
    return _send_until_answer(
        base_url,
        head,
        (chunk for _ in range(_BIG_BODY_BYTES // _CHUNK_BYTES)),
        b"0\r\n\r\n",
    )


def _send_until_answer(
    base_url: str, head: bytes, chunks: Iterator[bytes], tail: bytes
) -> int:
    with _connection(base_url) as sock:
        sock.sendall(head)
        try:
            for chunk in chunks:
                readable, _, _ = select.select([sock], [], [], 0)
                if readable:
                    break
                sock.sendall(chunk)
            else:
                sock.sendall(tail)
        except (BrokenPipeError, ConnectionResetError):
            # The server answered and closed while we were still sending.
            pass
        return _read_status(sock)


def _read_status(sock: socket.socket) -> int:
    data = b""
    deadline = time.monotonic() + _SOCKET_TIMEOUT_S
    while b"\r\n" not in data and time.monotonic() < deadline:
        try:
            piece = sock.recv(4096)
        except (ConnectionResetError, TimeoutError):
            break
        if not piece:
            break
        data += piece
    try:
        return int(data.split(b" ", 2)[1])
    except (IndexError, ValueError):
        return 0


def slow_clients(
    base_url: str, *, seconds: float, clients: int = 64
) -> dict[str, object]:
    """Trickle headers and bodies on ``clients`` sockets; normal traffic must flow."""
    stop = threading.Event()
    dropped: list[int] = []

    def trickle(index: int) -> None:
        with _connection(base_url) as sock:
            sock.settimeout(2.0)
            if index % 2:
                sock.sendall(b"POST /predict HTTP/1.1\r\nHost: 127.0.0.1\r\n")
                drip = b"X-Slow: " + b"a" * 10_000
            else:
                sock.sendall(
                    b"POST /predict HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                    b"Content-Type: application/json\r\nContent-Length: 100000\r\n\r\n"
                )
                drip = b" " * 100_000
            for position in range(len(drip)):
                if stop.wait(0.5):
                    return
                try:
                    sock.sendall(drip[position : position + 1])
                except OSError:
                    dropped.append(index)
                    return

    threads = [
        threading.Thread(target=trickle, args=(index,), daemon=True)
        for index in range(clients)
    ]
    for thread in threads:
        thread.start()
    latencies: list[float] = []
    failures = 0
    deadline = time.monotonic() + seconds
    with httpx.Client(timeout=10) as client:
        example = client.get(f"{base_url}/model").json()["example_request"]
        while time.monotonic() < deadline:
            started = time.perf_counter()
            try:
                status = client.post(f"{base_url}/predict", json=example).status_code
            except httpx.HTTPError:
                status = 0
            latencies.append(time.perf_counter() - started)
            failures += status != 200
            time.sleep(0.1)
    stop.set()
    for thread in threads:
        thread.join(timeout=5)
    worst_ms = max(latencies) * 1000 if latencies else 0.0
    return {
        "slow_sockets": clients,
        "seconds": seconds,
        "normal_requests": len(latencies),
        "normal_failed": failures,
        "normal_max_ms": round(worst_ms, 1),
        "slow_sockets_dropped_by_server": len(dropped),
        "passed": failures == 0 and len(latencies) > 0 and worst_ms < 2000,
    }
