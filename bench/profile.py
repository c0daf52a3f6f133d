"""Where the scorer's time goes: py-spy samples the API process under load.

``python -m bench.profile --model-dir DIR [--rows 1] [--connections 1]``
starts ``python -m serving`` on the model folder, loads ``POST /predict``
with wrk, records the uvicorn process with ``py-spy record --format raw`` and
writes a summary: the share of samples per function (own time) and per
project or library frame (inclusive time). The run's figures are not taken
while py-spy samples; this is a separate step.
"""

from __future__ import annotations

import argparse
import logging
import shutil
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

from bench.loadgen import LoadShape, measure_load
from bench.rows import synthesize
from bench.servers import free_port, serve
from serving.model_schema import SCHEMA_FILE_NAME, ModelSchema

logger = logging.getLogger(__name__)

_INTERESTING = ("serving/", "py4j", "fastapi/routing", "starlette", "orjson", "json")
_TOP = 25


def _py_spy() -> str:
    found = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    if not Path(found).exists():
        raise RuntimeError(
            "py-spy is not installed; pip install py-spy (it is in the dev extra)"
        )
    return found


def summarize(raw: Path) -> list[str]:
    """Own and inclusive sample shares from py-spy's collapsed stacks."""
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    total = 0
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        samples = int(count)
        total += samples
        frames = stack.split(";")
        own[frames[-1]] += samples
        for frame in set(frames):
            inclusive[frame] += samples
    if total == 0:
        return ["no samples"]
    out = [f"{total} samples", "", "own time (top functions):"]
    out += [f"{n / total:7.1%}  {frame}" for frame, n in own.most_common(_TOP)]
    out += ["", "inclusive time (project, py4j, routing, JSON):"]
    picked = [
        (frame, n)
        for frame, n in inclusive.most_common()
        if any(key in frame for key in _INTERESTING)
    ]
    out += [f"{n / total:7.1%}  {frame}" for frame, n in picked[:_TOP]]
    return out


def profile(
    model_dir: Path, work_dir: Path, *, rows: int, connections: int, seconds: float
) -> list[str]:
    """Load the scorer and sample it; return the summary lines."""
    work_dir.mkdir(parents=True, exist_ok=True)
    schema = ModelSchema.read(model_dir / SCHEMA_FILE_NAME)
    batch = synthesize(schema, rows)
    body = batch.json_single() if rows == 1 else batch.json_records()
    port = free_port()
    env = {
        "SERVING_LOCAL_MODEL_DIR": str(model_dir),
        "SERVING_HOST": "127.0.0.1",
        "SERVING_PORT": str(port),
        "SERVING_CACHE_DIR": str(work_dir / "scorer-cache"),
        "SERVING_JAVA_CLASSES_DIR": str(work_dir / "java-classes"),
    }
    raw = work_dir / f"py-spy-rows{rows}-c{connections}.txt"
    with serve(
        [sys.executable, "-m", "serving"],
        port=port,
        ready_path="/health/ready",
        log_path=work_dir / "scorer-profile.log",
        env=env,
    ) as server:
        url = server.base_url + "/predict"
        warm = LoadShape([connections], 2, 1, 1)
        measure_load(
            model="profile", path="warm-up", url=url, body=body, rows=rows, shape=warm
        )
        spy = subprocess.Popen(
            [
                _py_spy(),
                "record",
                "--pid",
                str(server.process.pid),
                "--duration",
                str(round(seconds)),
                "--rate",
                "250",
                "--format",
                "raw",
                "--output",
                str(raw),
                "--nonblocking",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(0.5)
        shape = LoadShape([connections], seconds - 1, 0.1, 1)
        figures = measure_load(
            model="profile", path="sampled", url=url, body=body, rows=rows, shape=shape
        )
        spy.wait(timeout=seconds + 60)
    header = [
        f"py-spy profile of python -m serving: POST /predict, {rows} row(s) per "
        f"request, {connections} connection(s), {seconds:.0f} s",
        f"load while sampled: {figures[0].value:.0f} req/s" if figures else "",
        "",
    ]
    return header + summarize(raw)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.profile")
    parser.add_argument("--model-dir", type=Path, required=True)
    parser.add_argument("--rows", type=int, default=1)
    parser.add_argument("--connections", type=int, default=1)
    parser.add_argument("--seconds", type=float, default=8)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results")
    parser.add_argument("--work-dir", type=Path, default=Path("/tmp/bench-profile"))
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO, format="%(levelname)s %(name)s: %(message)s"
    )
    lines = profile(
        args.model_dir.resolve(),
        args.work_dir,
        rows=args.rows,
        connections=args.connections,
        seconds=args.seconds,
    )
    target = args.out / f"profile-rows{args.rows}-c{args.connections}.txt"
    target.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
