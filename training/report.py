"""Files for the run's reader: leaderboard table, variable importance plot."""

from __future__ import annotations

import html
from pathlib import Path

import pandas as pd
from matplotlib.figure import Figure

from serving.model_schema import ModelSchema

LEADERBOARD_CSV = "leaderboard.csv"
LEADERBOARD_HTML = "leaderboard.html"
VARIMP_CSV = "variable_importance.csv"
VARIMP_PNG = "variable_importance.png"
_PLOTTED_VARIABLES = 20


def write_leaderboard(board: pd.DataFrame, chosen_id: str, folder: Path) -> list[Path]:
    """Write the leaderboard as CSV and as an HTML table with the chosen row marked."""
    csv_path = folder / LEADERBOARD_CSV
    board.to_csv(csv_path, index=False)
    html_path = folder / LEADERBOARD_HTML
    html_path.write_text(_leaderboard_html(board, chosen_id), encoding="utf-8")
    return [csv_path, html_path]


def write_variable_importance(schema: ModelSchema, folder: Path) -> list[Path]:
    """Write variable importance as CSV and a bar chart; nothing if there is none."""
    if not schema.variable_importance:
        return []
    table = pd.DataFrame([row.model_dump() for row in schema.variable_importance])
    csv_path = folder / VARIMP_CSV
    table.to_csv(csv_path, index=False)
    png_path = folder / VARIMP_PNG
    _plot_importance(table.head(_PLOTTED_VARIABLES), schema, png_path)
    return [csv_path, png_path]


def _leaderboard_html(board: pd.DataFrame, chosen_id: str) -> str:
    header = "".join(f"<th>{html.escape(str(name))}</th>" for name in board.columns)
    rows = []
    for record in board.to_dict(orient="records"):
        marker = ' class="chosen"' if record.get("model_id") == chosen_id else ""
        cells = "".join(
            f"<td>{html.escape(_cell(value))}</td>" for value in record.values()
        )
        rows.append(f"<tr{marker}>{cells}</tr>")
    return (
        "<!doctype html><meta charset='utf-8'><title>AutoML leaderboard</title>"
        "<style>table{border-collapse:collapse;font:13px sans-serif}"
        "td,th{border:1px solid #ccc;padding:2px 6px}"
        "tr.chosen{background:#e6f4ea;font-weight:bold}</style>"
        f"<p>Chosen model: {html.escape(chosen_id)} (highlighted)</p>"
        f"<table><thead><tr>{header}</tr></thead><tbody>{''.join(rows)}</tbody></table>"
    )


def _cell(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


def _plot_importance(table: pd.DataFrame, schema: ModelSchema, path: Path) -> None:
    # A bare Figure renders with Agg and never touches pyplot's global state.
    ordered = table.iloc[::-1]
    figure = Figure(figsize=(7, 0.35 * len(ordered) + 1.2))
    axes = figure.subplots()
    axes.barh(ordered["variable"], ordered["scaled_importance"], color="#3b78b0")
    axes.set_xlabel("scaled importance")
    axes.set_title(
        f"Variable importance: {schema.algorithm} ({schema.model_id})", fontsize=9
    )
    figure.tight_layout()
    figure.savefig(path, dpi=110)
