"""Write a run's results: latest.json, scorer.json, latest.md and the plots."""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
from importlib import metadata
from pathlib import Path
from typing import Any

from bench import plots
from bench.results import (
    BATCH_SECONDS,
    REQUESTS_PER_S,
    RSS_MB,
    START_TO_READY,
    Figure,
    Results,
)
from bench.scorer_paths import CSV_PATH, JSON_PATH, TRIVIAL_PATH
from bench.targets import (
    JAVA_1,
    evaluate,
    ratios,
    single_row_speedup,
    start_figure,
)

_PACKAGES = (
    "h2o",
    "mlflow",
    "fastapi",
    "uvicorn",
    "py4j",
    "orjson",
    "pandas",
    "numpy",
    "httpx",
)


def machine() -> dict[str, Any]:
    """Cores, memory, CPU model and load of the machine the run is on."""
    meminfo = Path("/proc/meminfo").read_text().splitlines()
    total_kb = int(next(x for x in meminfo if x.startswith("MemTotal")).split()[1])
    cpu_model = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    return {
        "cores": os.cpu_count(),
        "memory_gb": round(total_kb / 1024 / 1024, 1),
        "cpu": cpu_model,
        "load_average": list(os.getloadavg()),
        "platform": platform.platform(),
    }


def versions(java_version: str) -> dict[str, str]:
    """Versions of Python, Java, wrk and the packages on every path."""
    found = {"python": platform.python_version(), "java": java_version}
    for package in _PACKAGES:
        try:
            found[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            found[package] = "absent"
    try:
        wrk = subprocess.run(
            ["wrk", "--version"], capture_output=True, text=True, check=False
        )
        found["wrk"] = (wrk.stdout or wrk.stderr).split("[")[0].strip()
    except FileNotFoundError:
        found["wrk"] = "absent (httpx asyncio client used)"
    return found


def build_document(
    results: Results,
    *,
    main_model: str,
    settings: dict[str, Any],
    java_version: str,
    model_info: dict[str, Any],
    load_before: list[float],
) -> dict[str, Any]:
    """The whole run as one JSON-ready document."""
    host = machine()
    host["load_average_at_start"] = load_before
    return {
        "main_model": main_model,
        "settings": settings,
        "machine": host,
        "versions": versions(java_version),
        "models": model_info,
        "targets": {
            model: [t.to_json() for t in evaluate(results, model)]
            for model in results.models()
        },
        "ratios": {model: ratios(results, model) for model in results.models()},
        "figures": [f.to_json() for f in results.figures],
        "skipped": results.skipped,
    }


def scorer_document(results: Results, document: dict[str, Any]) -> dict[str, Any]:
    """The scorer issue's figures only, for ``scorer.json``."""
    model = document["main_model"]
    wanted = {JSON_PATH, CSV_PATH, TRIVIAL_PATH, JAVA_1, "scorer-api-plus-jvm"}
    figures = [
        f.to_json()
        for f in results.figures
        if f.model == model and (f.path in wanted or f.metric == START_TO_READY)
    ]
    return {
        "model": model,
        "machine": document["machine"],
        "versions": document["versions"],
        "targets": document["targets"].get(model, []),
        "figures": figures,
    }


def _ms(seconds: float | None) -> str:
    """Milliseconds with three significant digits (thousands separated)."""
    if seconds is None:
        return "-"
    ms = seconds * 1e3
    return f"{ms:,.0f}" if ms >= 100 else f"{ms:.3g}"


def _cell_batch(results: Results, model: str, path: str, rows: int) -> str:
    figure = results.find(model, path, BATCH_SECONDS, rows=rows)
    return _ms(None if figure is None else figure.value)


def _cell_load(results: Results, model: str, path: str, conns: int) -> str:
    figure = results.find(model, path, REQUESTS_PER_S, connections=conns)
    if figure is None:
        return "-"
    return f"{figure.value:,.0f} ({_ms(figure.p50_s)} / {_ms(figure.p99_s)})"


def model_table(results: Results, model: str) -> list[str]:
    """One side-by-side table: every path of one model."""
    paths = list(
        dict.fromkeys(
            [
                *results.paths(model, BATCH_SECONDS),
                *results.paths(model, REQUESTS_PER_S),
            ]
        )
    )
    sizes = sorted(
        {
            f.rows
            for f in results.figures
            if f.model == model and f.metric == BATCH_SECONDS
        }
    )
    header = [
        "path",
        *[f"{rows:,} rows (ms)" for rows in sizes],
        "req/s @1 (p50/p99 ms)",
        "req/s @8 (p50/p99 ms)",
        "start (s)",
        "RSS (MB)",
    ]
    lines = [
        "| " + " | ".join(header) + " |",
        "|" + "---|" * len(header),
    ]
    for path in paths:
        start = results.find(model, path, START_TO_READY)
        rss = results.find(model, path, RSS_MB)
        if path == JSON_PATH:
            start = start_figure(results, model)
            rss = results.find(model, "scorer-api-plus-jvm", RSS_MB)
        cells = [
            path,
            *[_cell_batch(results, model, path, rows) for rows in sizes],
            _cell_load(results, model, path, 1),
            _cell_load(results, model, path, 8),
            "-" if start is None else f"{start.value:.2f}",
            "-" if rss is None else f"{rss.value:.0f}",
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def comparison_table(results: Results, model: str) -> list[str]:
    """How many times slower (>1) or faster (<1) each path is than the scorer."""
    lines = [
        "| path | single row, p50 | 10k rows | 100k rows |",
        "|---|---|---|---|",
    ]
    for path in results.paths(model, BATCH_SECONDS):
        if path == JSON_PATH:
            continue
        cells = [path]
        speedup = single_row_speedup(results, model, path)
        cells.append("-" if speedup is None else f"{speedup:.3g}x")
        for rows in (10_000, 100_000):
            theirs = results.find(model, path, BATCH_SECONDS, rows=rows)
            ours = results.find(model, JSON_PATH, BATCH_SECONDS, rows=rows)
            if theirs is None or ours is None:
                cells.append("-")
            else:
                cells.append(f"{theirs.value / ours.value:.3g}x")
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def target_table(document: dict[str, Any], model: str) -> list[str]:
    lines = ["| target | measured | bound | verdict |", "|---|---|---|---|"]
    for target in document["targets"].get(model, []):
        value = target["value"]
        shown = "-" if value is None else f"{value:.2f}"
        sign = ">=" if target["higher_is_better"] else "<="
        lines.append(
            f"| {target['rule']} | {shown} | {sign} {target['bound']:g} "
            f"| **{target['verdict']}** |"
        )
    return lines


def render_markdown(results: Results, document: dict[str, Any]) -> str:
    """latest.md: machine, targets and one table per model."""
    host = document["machine"]
    ver = document["versions"]
    out = [
        "# Benchmark results",
        "",
        f"Mode: {document['settings']['mode']}. Machine: {host['cores']} cores, "
        f"{host['memory_gb']} GB, {host['cpu']}; load average at start "
        f"{', '.join(f'{x:.2f}' for x in host['load_average_at_start'])}. "
        f"Python {ver['python']}, Java {ver['java']}, h2o {ver['h2o']}, "
        f"mlflow {ver['mlflow']}, uvicorn {ver['uvicorn']}, load generator: "
        f"{ver['wrk']}.",
        "",
        "Times are medians in milliseconds of one request (or call) carrying "
        "the given rows; req/s columns are single-row requests at 1 and 8 "
        "connections with median p50/p99 latency.",
    ]
    for model in results.models():
        info = document["models"].get(model, {})
        out += [
            "",
            f"## Model `{model}`: {info.get('algorithm', '?')}, "
            f"{info.get('features', '?')} features, task {info.get('task', '?')}",
            "",
            *target_table(document, model),
            "",
            *model_table(results, model),
            "",
            "Each path's time divided by the scorer's (`scorer-http-json`): "
            "above 1 the path is slower than the scorer, below 1 faster.",
            "",
            *comparison_table(results, model),
        ]
        latency_png, throughput_png = plots.plot_names(model, document["main_model"])
        out += ["", f"![latency]({latency_png})", f"![throughput]({throughput_png})"]
    if results.skipped:
        out += ["", "## Not measured", ""]
        out += [f"- `{s['model']}` {s['path']}: {s['reason']}" for s in results.skipped]
    return "\n".join(out) + "\n"


def write_all(results: Results, document: dict[str, Any], out_dir: Path) -> None:
    """Write latest.json, scorer.json, latest.md and the PNG plots."""
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "latest.json").write_text(json.dumps(document, indent=2) + "\n")
    (out_dir / "scorer.json").write_text(
        json.dumps(scorer_document(results, document), indent=2) + "\n"
    )
    (out_dir / "latest.md").write_text(render_markdown(results, document))
    for model in results.models():
        latency_png, throughput_png = plots.plot_names(model, document["main_model"])
        plots.plot_latency(results, model, out_dir / latency_png)
        plots.plot_throughput(results, model, out_dir / throughput_png)


def load_results(document: dict[str, Any]) -> Results:
    """The figures and skipped paths of a written ``latest.json``."""
    results = Results()
    results.add([Figure(**figure) for figure in document["figures"]])
    results.skipped = list(document["skipped"])
    return results


def main(argv: list[str] | None = None) -> int:
    """Re-render latest.md, scorer.json and the plots from a latest.json."""
    parser = argparse.ArgumentParser(prog="python -m bench.report")
    parser.add_argument("latest_json", type=Path)
    args = parser.parse_args(argv)
    document = json.loads(args.latest_json.read_text())
    results = load_results(document)
    document["targets"] = {
        model: [t.to_json() for t in evaluate(results, model)]
        for model in results.models()
    }
    document["ratios"] = {model: ratios(results, model) for model in results.models()}
    write_all(results, document, args.latest_json.parent)
    print(render_markdown(results, document))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
