"""Property-based fuzzing of the live OpenAPI with schemathesis (v4 command line).

Every operation is fuzzed, /admin/reload included (with the admin token), in
positive and negative modes. Required: no 5xx, status codes, content types,
headers and bodies as the schema documents them, invalid input rejected.
Informational: schemathesis' "schema-valid request rejected" (the request
schemas of the CSV and MLflow endpoints are looser than their parsers); those
are reported as findings, not failures.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from bench.reliability_scorer import ScorerHandle

REQUIRED_CHECKS = (
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_headers_conformance",
    "response_schema_conformance",
    "negative_data_rejection",
    "missing_required_header",
    "unsupported_method",
    "ignored_auth",
)
INFORMATIONAL_CHECKS = ("positive_data_acceptance",)
INFORMATIONAL_FAILURES = frozenset({"RejectedPositiveData"})
_SEED = 20261203


def fuzz(
    scorer: ScorerHandle,
    *,
    max_examples: int,
    admin_token: str,
    report_dir: Path,
    max_seconds: float = 900.0,
) -> dict[str, object]:
    """Run schemathesis against ``scorer``; counts, failures and the verdict.

    ``max_seconds`` bounds the process, not the fuzzing: schemathesis' own
    ``--max-time`` would keep fuzzing until the time is spent.
    """
    report_dir.mkdir(parents=True, exist_ok=True)
    report_path = report_dir / "schemathesis.json"
    command = [
        sys.executable,
        "-m",
        "schemathesis.cli",
        "run",
        f"{scorer.base_url}/openapi.json",
        "--checks",
        ",".join(REQUIRED_CHECKS + INFORMATIONAL_CHECKS),
        "--continue-on-failure",
        "--max-examples",
        str(max_examples),
        "--seed",
        str(_SEED),
        "--header",
        f"Authorization: Bearer {admin_token}",
        "--workers",
        "1",
        "--suppress-health-check",
        "all",
        "--request-timeout",
        "30",
        "--report",
        "json",
        "--report-json-path",
        str(report_path),
        "--no-color",
    ]
    done = subprocess.run(
        command,
        capture_output=True,
        text=True,
        timeout=max_seconds + 120,
        cwd=report_dir,
        check=False,
    )
    (report_dir / "schemathesis.out").write_text(done.stdout + done.stderr)
    if not report_path.is_file():
        raise RuntimeError(
            f"schemathesis wrote no report (exit {done.returncode}):\n"
            f"{(done.stdout + done.stderr)[-3000:]}"
        )
    return summarize_report(json.loads(report_path.read_text()))


def summarize_report(report: dict[str, object]) -> dict[str, object]:
    """The figures of a schemathesis JSON report and the verdict."""
    test_cases: dict[str, int] = report["test_cases"]  # type: ignore[assignment]
    operations: dict[str, int] = report["operations"]  # type: ignore[assignment]
    failures: list[dict[str, object]] = report["failures"]  # type: ignore[assignment]
    errors: list[object] = report["errors"]  # type: ignore[assignment]
    required = [f for f in failures if f["type"] not in INFORMATIONAL_FAILURES]
    findings = [f for f in failures if f["type"] in INFORMATIONAL_FAILURES]
    server_errors = [f for f in failures if "server" in str(f["title"]).lower()]
    return {
        "schemathesis_version": report["schemathesis_version"],
        "seed": report["seed"],
        "operations_tested": operations["tested"],
        "operations_total": operations["total"],
        "cases_generated": test_cases["generated"],
        "cases_with_failures": test_cases["with_failures"],
        "server_errors_5xx": sum(int(str(f["count"])) for f in server_errors),
        "required_checks": list(REQUIRED_CHECKS),
        "failures": required,
        "errors": errors,
        "findings": findings,
        "running_time_s": round(float(str(report["running_time"])), 1),
        "passed": not required
        and not errors
        and operations["tested"] == operations["total"],
    }
