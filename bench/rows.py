"""The rows every path scores: synthesized from the model schema, seeded.

Numeric features are drawn uniformly between the training minimum and maximum
(integers when both bounds are whole), categorical ones from the training
levels, and each feature is missing with its training missing share. Every
path (pure Java, HTTP, in-process, MLflow, H2O) gets the same rows, encoded
for it here.
"""

from __future__ import annotations

import csv
import io
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import pandas as pd

from serving.model_schema import Feature, FeatureKind, ModelSchema

Value = float | int | str | None
ColumnMap = dict[str, list[Value]]


@dataclass(frozen=True)
class BenchRows:
    """Column-oriented rows in model feature order."""

    names: list[str]
    kinds: dict[str, FeatureKind]
    columns: dict[str, list[Value]]

    @property
    def count(self) -> int:
        return len(self.columns[self.names[0]]) if self.names else 0

    def head(self, n: int) -> BenchRows:
        """The first ``n`` rows (``n`` must not exceed :attr:`count`)."""
        if n > self.count:
            raise ValueError(f"asked for {n} rows, only {self.count} synthesized")
        return BenchRows(
            self.names, self.kinds, {k: v[:n] for k, v in self.columns.items()}
        )

    def records(self) -> list[dict[str, Value]]:
        """One dict per row; missing values as None."""
        return [
            {name: self.columns[name][i] for name in self.names}
            for i in range(self.count)
        ]

    def json_records(self) -> bytes:
        """The body of ``POST /predict``: a JSON array of records."""
        return orjson.dumps(self.records())

    def json_single(self) -> bytes:
        """The body of ``POST /predict`` for one row: one JSON record."""
        return orjson.dumps(self.records()[0])

    def mlflow_split(self) -> bytes:
        """The body of MLflow's ``/invocations`` (``dataframe_split``)."""
        data = [[self.columns[n][i] for n in self.names] for i in range(self.count)]
        return orjson.dumps({"dataframe_split": {"columns": self.names, "data": data}})

    def csv_bytes(self) -> bytes:
        """A CSV with a header; missing values as empty fields."""
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(self.names)
        for i in range(self.count):
            writer.writerow(
                [
                    "" if self.columns[n][i] is None else self.columns[n][i]
                    for n in self.names
                ]
            )
        return out.getvalue().encode("utf-8")

    def write_plain_csv(self, path: Path) -> Path:
        """Write the CSV that the Java loop reads (no quoting allowed)."""
        body = self.csv_bytes()
        if b'"' in body:
            raise ValueError(
                "a categorical level contains a comma or quote; the Java loop "
                "reads unquoted CSV only"
            )
        path.write_bytes(body)
        return path

    def frame(self) -> Any:
        """A pandas DataFrame: numbers as float64, categoricals as object."""
        data: dict[str, Any] = {}
        for name in self.names:
            if self.kinds[name] == "numeric":
                data[name] = pd.array(
                    [float("nan") if v is None else v for v in self.columns[name]],
                    dtype="float64",
                )
            else:
                data[name] = pd.Series(self.columns[name], dtype=object)
        return pd.DataFrame(data)


def _draw(feature: Feature, rng: random.Random) -> Value:
    if rng.random() < feature.stats.missing_share:
        return None
    if feature.kind == "categorical":
        return rng.choice(feature.levels) if feature.levels else None
    low = feature.stats.min if feature.stats.min is not None else 0.0
    high = feature.stats.max if feature.stats.max is not None else 1.0
    if float(low).is_integer() and float(high).is_integer():
        return rng.randint(int(low), int(high))
    return round(rng.uniform(low, high), 4)


def synthesize(schema: ModelSchema, count: int, *, seed: int = 42) -> BenchRows:
    """Draw ``count`` rows for the schema's features."""
    rng = random.Random(seed)
    columns: dict[str, list[Value]] = {f.name: [] for f in schema.features}
    for _ in range(count):
        for feature in schema.features:
            columns[feature.name].append(_draw(feature, rng))
    kinds = {f.name: f.kind for f in schema.features}
    return BenchRows(schema.feature_names, kinds, columns)
