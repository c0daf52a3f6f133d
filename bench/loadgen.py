"""Load on one HTTP endpoint: wrk with a Lua script, or an asyncio client.

``wrk`` (Debian's package) is preferred: it is written in C and stays out of
the way on two cores. Without it, an httpx asyncio client in its own process
pinned to the last core does the same closed-loop load. Both report requests
per second and latency percentiles; each figure is the median of several
repetitions taken after a warm-up.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from bench.results import REQUESTS_PER_S, Figure, median, percentile

logger = logging.getLogger(__name__)

_MARK = "BENCH_JSON "

_LUA = """
wrk.method = "POST"
wrk.headers["Content-Type"] = %(content_type)s
local file = io.open(%(body_path)s, "rb")
wrk.body = file:read("*a")
file:close()

done = function(summary, latency, requests)
  local errors = summary.errors.connect + summary.errors.read
    + summary.errors.write + summary.errors.status + summary.errors.timeout
  io.write(string.format(
    '%(mark)s{"requests":%%d,"duration_us":%%d,"errors":%%d,'
    .. '"p50_us":%%f,"p99_us":%%f,"mean_us":%%f}\\n',
    summary.requests, summary.duration, errors,
    latency:percentile(50), latency:percentile(99), latency.mean))
end
"""


@dataclass(frozen=True)
class LoadShape:
    """How one endpoint is loaded: concurrencies, window, warm-up, repeats."""

    connections: list[int]
    seconds: float
    warmup_s: float
    repeats: int


@dataclass(frozen=True)
class LoadSample:
    """One timed load window."""

    requests_per_s: float
    p50_s: float
    p99_s: float
    errors: int


def _lua_string(text: str) -> str:
    return json.dumps(text)


def _wrk_once(url: str, script: Path, connections: int, seconds: float) -> LoadSample:
    command = [
        "wrk",
        "-t1",
        f"-c{connections}",
        f"-d{max(1, round(seconds))}s",
        "--timeout",
        "30s",
        "-s",
        str(script),
        url,
    ]
    done = subprocess.run(
        command, check=True, capture_output=True, text=True, timeout=seconds + 60
    )
    line = next(x for x in done.stdout.splitlines() if x.startswith(_MARK))
    report = json.loads(line[len(_MARK) :])
    return LoadSample(
        requests_per_s=report["requests"] / (report["duration_us"] / 1e6),
        p50_s=report["p50_us"] / 1e6,
        p99_s=report["p99_us"] / 1e6,
        errors=int(report["errors"]),
    )


async def _client_window(
    url: str, body: bytes, content_type: str, connections: int, seconds: float
) -> LoadSample:
    latencies: list[float] = []
    errors = 0
    limits = httpx.Limits(max_connections=connections)
    headers = {"Content-Type": content_type}
    async with httpx.AsyncClient(limits=limits, timeout=30.0) as client:
        deadline = time.perf_counter() + seconds

        async def worker() -> None:
            nonlocal errors
            while time.perf_counter() < deadline:
                started = time.perf_counter()
                response = await client.post(url, content=body, headers=headers)
                latencies.append(time.perf_counter() - started)
                if response.status_code != 200:
                    errors += 1

        began = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(connections)))
        elapsed = time.perf_counter() - began
    return LoadSample(
        requests_per_s=len(latencies) / elapsed,
        p50_s=percentile(latencies, 0.50),
        p99_s=percentile(latencies, 0.99),
        errors=errors,
    )


def _client_once(
    url: str, body_path: Path, content_type: str, connections: int, seconds: float
) -> LoadSample:
    """Run the asyncio client in its own process, pinned to the last core."""
    command = [
        sys.executable,
        "-m",
        "bench.loadgen",
        url,
        str(body_path),
        content_type,
        str(connections),
        str(seconds),
    ]
    last_core = (os.cpu_count() or 1) - 1
    if shutil.which("taskset"):
        command = ["taskset", "-c", str(last_core), *command]
    done = subprocess.run(
        command,
        check=True,
        capture_output=True,
        text=True,
        timeout=seconds + 120,
        cwd=Path(__file__).resolve().parent.parent,
    )
    report = json.loads(done.stdout.strip().splitlines()[-1])
    return LoadSample(**report)


def wrk_available() -> bool:
    return shutil.which("wrk") is not None


def measure_load(
    *,
    model: str,
    path: str,
    url: str,
    body: bytes,
    rows: int,
    shape: LoadShape,
    content_type: str = "application/json",
) -> list[Figure]:
    """Requests per second and latency at each concurrency: medians of repeats."""
    figures: list[Figure] = []
    with tempfile.TemporaryDirectory(prefix="bench-load-") as tmp:
        body_path = Path(tmp) / "body"
        body_path.write_bytes(body)
        script = Path(tmp) / "post.lua"
        script.write_text(
            _LUA
            % {
                "content_type": _lua_string(content_type),
                "body_path": _lua_string(str(body_path)),
                "mark": _MARK,
            }
        )
        use_wrk = wrk_available()

        def once(conns: int, duration: float) -> LoadSample:
            if use_wrk:
                return _wrk_once(url, script, conns, duration)
            return _client_once(url, body_path, content_type, conns, duration)

        for conns in shape.connections:
            once(conns, shape.warmup_s)
            samples = [once(conns, shape.seconds) for _ in range(shape.repeats)]
            if any(s.requests_per_s == 0 for s in samples):
                logger.warning(
                    "%s %s c=%d: no request completed within %.0f s; no load figure",
                    model,
                    path,
                    conns,
                    shape.seconds,
                )
                continue
            figure = Figure(
                model=model,
                path=path,
                metric=REQUESTS_PER_S,
                value=median([s.requests_per_s for s in samples]),
                unit="req/s",
                rows=rows,
                connections=conns,
                repeats=shape.repeats,
                p50_s=median([s.p50_s for s in samples]),
                p99_s=median([s.p99_s for s in samples]),
                errors=sum(s.errors for s in samples),
                note="wrk" if use_wrk else "httpx asyncio client",
            )
            logger.info(
                "%s %s c=%d: %.0f req/s, p50 %.2f ms, p99 %.2f ms, %d errors",
                model,
                path,
                conns,
                figure.value,
                (figure.p50_s or 0) * 1e3,
                (figure.p99_s or 0) * 1e3,
                figure.errors,
            )
            figures.append(figure)
    return figures


def _main(argv: list[str]) -> None:
    url, body_path, content_type, connections, seconds = argv
    sample = asyncio.run(
        _client_window(
            url,
            Path(body_path).read_bytes(),
            content_type,
            int(connections),
            float(seconds),
        )
    )
    print(json.dumps(sample.__dict__))


if __name__ == "__main__":
    _main(sys.argv[1:])
