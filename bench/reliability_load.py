"""Load and soak: wrk at 16 connections, single rows and batches mixed, memory watched.

wrk (C, Debian's package) sends the load so the client costs little of the
two cores; a Lua script alternates a one-record body with a batch body. The
resident memory of the API process and of its JVM is sampled once a second;
after a warm-up its growth must stay under 10 %, the sign that no Java
objects leak through the bridge.
"""

from __future__ import annotations

import json
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.reliability_scorer import MemorySample, ScorerHandle, memory
from bench.reliability_traffic import example_bodies

MAX_GROWTH = 0.10
_MARK = "RELIABILITY_JSON "
_LUA = """
local bodies = {}
for i, path in ipairs({%(paths)s}) do
  local file = io.open(path, "rb")
  bodies[i] = file:read("*a")
  file:close()
end
local counter = 0
local headers = {["Content-Type"] = "application/json"}

request = function()
  counter = counter + 1
  -- three single rows, then one batch
  local body = bodies[1]
  if counter %% 4 == 0 then body = bodies[2] end
  return wrk.format("POST", "/predict", headers, body)
end

done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '%(mark)s{"requests":%%d,"duration_us":%%d,"connect":%%d,"read":%%d,'
    .. '"write":%%d,"status":%%d,"timeout":%%d,"p50_us":%%f,"p99_us":%%f,'
    .. '"max_us":%%f}\\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status,
    e.timeout, latency:percentile(50), latency:percentile(99), latency.max))
end
"""


def soak(
    scorer: ScorerHandle,
    *,
    seconds: float,
    warmup_s: float,
    connections: int = 16,
) -> dict[str, object]:
    """Warm up for ``warmup_s``, then load ``seconds``: failures, latency, memory."""
    if shutil.which("wrk") is None:
        raise RuntimeError("wrk is not installed; apt-get install wrk")
    single, batch = example_bodies(scorer.base_url)
    samples: list[MemorySample] = []
    with tempfile.TemporaryDirectory(prefix="reliability-load-") as tmp:
        folder = Path(tmp)
        (folder / "single.json").write_bytes(single)
        (folder / "batch.json").write_bytes(batch)
        paths = ", ".join(
            json.dumps(str(folder / n)) for n in ("single.json", "batch.json")
        )
        script = folder / "mixed.lua"
        script.write_text(_LUA % {"paths": paths, "mark": _MARK})
        warmup = _run_wrk(scorer, script, connections, warmup_s, [])
        report = _run_wrk(scorer, script, connections, seconds, samples)
    errors = _errors(report) + _errors(warmup)
    growth = memory_growth(samples)
    return {
        "warmup_s": warmup_s,
        "warmup_requests": warmup["requests"],
        "seconds": report["duration_us"] / 1e6,
        "connections": connections,
        "mix": "3 single rows : 1 batch of 20 rows, POST /predict",
        "requests": report["requests"],
        "failed": errors,
        "requests_per_s": report["requests"] / (report["duration_us"] / 1e6),
        "p50_ms": report["p50_us"] / 1000,
        "p99_ms": report["p99_us"] / 1000,
        "max_ms": report["max_us"] / 1000,
        **growth,
        "passed": errors == 0
        and float(growth["api_growth"]) < MAX_GROWTH
        and float(growth["jvm_growth"]) < MAX_GROWTH,
    }


def _run_wrk(
    scorer: ScorerHandle,
    script: Path,
    connections: int,
    seconds: float,
    samples: list[MemorySample],
) -> dict[str, float]:
    """One wrk run; memory sampled into ``samples`` once a second meanwhile."""
    command = [
        "wrk",
        "-t2",
        f"-c{connections}",
        f"-d{max(1, round(seconds))}s",
        "--timeout",
        "10s",
        "-s",
        str(script),
        scorer.base_url,
    ]
    began = time.monotonic()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    while process.poll() is None and time.monotonic() - began < seconds + 60:
        samples.append(memory(scorer, time.monotonic() - began))
        time.sleep(1.0)
    output, _ = process.communicate(timeout=60)
    line = next(x for x in output.splitlines() if x.startswith(_MARK))
    report: dict[str, float] = json.loads(line[len(_MARK) :])
    return report


def _errors(report: dict[str, float]) -> int:
    return int(
        sum(report[key] for key in ("connect", "read", "write", "status", "timeout"))
    )


def memory_growth(samples: list[MemorySample]) -> dict[str, Any]:
    """RSS at the start of the measured load against its end (medians of three)."""
    if len(samples) < 6:
        raise RuntimeError(f"only {len(samples)} memory samples; run the load longer")
    head, tail = samples[:3], samples[-3:]
    api_start = statistics.median(s.api_mb for s in head)
    api_end = statistics.median(s.api_mb for s in tail)
    jvm_start = statistics.median(s.jvm_mb for s in head)
    jvm_end = statistics.median(s.jvm_mb for s in tail)
    return {
        "api_rss_mb": {"after_warmup": round(api_start, 1), "end": round(api_end, 1)},
        "jvm_rss_mb": {"after_warmup": round(jvm_start, 1), "end": round(jvm_end, 1)},
        "api_growth": round((api_end - api_start) / api_start, 4),
        "jvm_growth": round((jvm_end - jvm_start) / jvm_start, 4),
        "memory_samples": len(samples),
    }
