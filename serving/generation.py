"""One model generation: an opened MojoScorer (its own JVM) and what the API needs.

Requests lease a generation for their whole duration; a generation that has
been swapped out closes once its last lease ends, or after a grace period.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import orjson

from serving import warmup
from serving.errors import ModelLoadFailure
from serving.model_schema import ModelSchema
from serving.schemas import Source
from serving.scorer import BatchPrediction, MojoScorer
from serving.small_batches import SmallBatchScorer
from serving.validation import FeatureValidator, example_record

logger = logging.getLogger(__name__)

# Enough calls for the JVM to compile each path (about 0.6 s on two cores).
WARM_UP_ROWS = 10_000
WARM_UP_BATCHES = 10
WARM_UP_CSV_ROWS = 10_000
WARM_UP_CSV_BATCHES = 3
WARM_UP_SINGLE_ROWS = 300


@dataclass(frozen=True)
class ModelIdentity:
    """Where a generation's model came from."""

    name: str
    version: str | None
    alias: str | None
    run_id: str | None
    source: Source
    model_dir: Path
    loaded_at: str


class ModelGeneration:
    """One opened model and its JVM, leased by requests, closed when drained."""

    def __init__(self, scorer: MojoScorer, identity: ModelIdentity) -> None:
        self.scorer = scorer
        self.identity = identity
        self.schema: ModelSchema = scorer.schema
        self.validator = FeatureValidator(scorer.schema)
        self.example = example_record(scorer.schema)
        self.model_ref = {
            "name": identity.name,
            "version": identity.version,
            "alias": identity.alias,
            "algorithm": scorer.schema.algorithm,
            "run_id": identity.run_id,
        }
        self.model_info_json = orjson.dumps(self._model_info())
        # Every /predict answer starts the same way for this generation.
        self.predict_answer_head = (
            orjson.dumps({"model": self.model_ref, "task": scorer.schema.task})[:-1]
            + b',"predictions":['
        )
        # Small /predict requests: scored from the event loop, merged under load.
        self.small_batches = SmallBatchScorer(scorer)
        self._leases = 0
        self._closed = False
        self._idle = threading.Condition()

    def try_lease(self) -> bool:
        """Count one more request on this generation; False once it is closing."""
        with self._idle:
            if self._closed:
                return False
            self._leases += 1
            return True

    def release(self) -> None:
        """End one request's lease."""
        with self._idle:
            self._leases -= 1
            if self._leases == 0:
                self._idle.notify_all()

    def close_when_idle(self, grace_s: float) -> None:
        """Wait up to ``grace_s`` for leases to end, then stop the JVM."""
        with self._idle:
            drained = self._idle.wait_for(lambda: self._leases == 0, timeout=grace_s)
            self._closed = True
        if not drained:
            logger.warning(
                "closing model version %s with %d requests still running after %.0f s",
                self.identity.version,
                self._leases,
                grace_s,
            )
        self.scorer.close()

    def smoke_test(self) -> None:
        """Score the schema's example row; ModelLoadFailure if the answer is off."""
        batch = self.validator.from_records([self.example])
        prediction = self.scorer.score_columns(batch.columns, batch.n_rows)
        problem = _implausible(prediction, self.schema)
        if problem:
            raise ModelLoadFailure(
                f"the smoke prediction of the example row failed: {problem}"
            )

    def warm_up(self) -> None:
        """Score made-up rows on every path until the JVM has compiled them."""
        columns = warmup.warm_up_columns(self.schema, WARM_UP_ROWS)
        for _ in range(WARM_UP_BATCHES):
            self.scorer.score_columns_json(columns, WARM_UP_ROWS)
        self.scorer.score_columns(columns, WARM_UP_ROWS)
        document = warmup.warm_up_csv(self.schema, columns, WARM_UP_CSV_ROWS)
        for _ in range(WARM_UP_CSV_BATCHES):
            self.scorer.score_csv(document)
        one_row = {name: values[:1] for name, values in columns.items()}
        for _ in range(WARM_UP_SINGLE_ROWS):
            self.scorer.score_columns_json(one_row, 1)

    def _model_info(self) -> dict[str, object]:
        schema = self.schema
        return {
            "name": self.identity.name,
            "version": self.identity.version,
            "alias": self.identity.alias,
            "run_id": self.identity.run_id,
            "algorithm": schema.algorithm,
            "task": schema.task,
            "target": schema.target,
            "class_labels": schema.class_labels,
            "features": [feature.model_dump() for feature in schema.features],
            "sort_metric": schema.sort_metric,
            "holdout_metrics": schema.holdout_metrics,
            "leaderboard_top": schema.leaderboard_top,
            "variable_importance": [
                item.model_dump() for item in schema.variable_importance
            ],
            "example_request": self.example,
            "source": self.identity.source,
            "loaded_at": self.identity.loaded_at,
        }


def _implausible(prediction: BatchPrediction, schema: ModelSchema) -> str | None:
    if schema.task == "regression":
        values = prediction.values
        if values is None or values.shape != (1,) or not np.isfinite(values).all():
            return f"expected one finite value, got {values!r}"
        return None
    probabilities = prediction.probabilities
    expected = (1, len(schema.class_labels))
    if probabilities is None or probabilities.shape != expected:
        return f"expected probabilities of shape {expected}"
    if not np.isfinite(probabilities).all() or abs(probabilities.sum() - 1.0) > 1e-6:
        return f"probabilities {probabilities.tolist()} do not sum to 1"
    return None


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")
