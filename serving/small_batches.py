"""Small requests scored from the event loop, merged when they arrive together.

A single-row request costs far less to score than to hand to a worker thread
and back, so small ``/predict`` bodies are validated on the event loop and
scored over the JVM channel (:mod:`serving.jvm_channel`). One call is in
flight at a time: the requests that arrive while it runs wait for it to
finish and then go together as one batch, one bridge crossing for all of them.
Under load that is what keeps the JVM round trip from limiting throughput.
A call made alone may run its Java thread on the event loop's CPU; merged
calls let it run beside the loop (see :mod:`serving.affinity`).
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from array import array
from dataclasses import dataclass
from typing import cast

import numpy as np

from serving.jvm_channel import JavaCallRefused
from serving.scorer import JsonPrediction, MojoScorer
from serving.validation import Batch, ColumnData, Columns

logger = logging.getLogger(__name__)

# A merged call stops taking requests past this many rows.
MAX_MERGED_ROWS = 4096


@dataclass(frozen=True)
class _Waiting:
    batch: Batch
    answer: asyncio.Future[JsonPrediction]


class SmallBatchScorer:
    """Scores validated small batches of one model, merging concurrent ones."""

    def __init__(self, scorer: MojoScorer) -> None:
        self._scorer = scorer
        self._channel = scorer.runtime.channel
        self._waiting: list[_Waiting] = []
        self._busy = False
        self._draining: asyncio.Task[None] | None = None

    async def score(self, batch: Batch) -> JsonPrediction:
        """Score ``batch`` now, or with the next group when a call is in flight.

        Raises what the scorer raises: RuntimeUnavailable when the JVM is gone,
        JavaCallRefused when the Java side threw (the caller retries alone on
        the blocking path for the details).
        """
        if self._busy:
            answer: asyncio.Future[JsonPrediction] = (
                asyncio.get_running_loop().create_future()
            )
            self._waiting.append(_Waiting(batch, answer))
            return await answer
        self._busy = True
        self._channel.share_loop_cpu = True
        try:
            return await self._scorer.score_columns_json_async(
                batch.columns, batch.n_rows
            )
        finally:
            self._hand_over()

    def _hand_over(self) -> None:
        """After a call: score what waited meanwhile, in a task of its own."""
        if self._waiting:
            self._draining = asyncio.create_task(self._drain())
        else:
            self._busy = False

    async def _drain(self) -> None:
        self._channel.share_loop_cpu = False
        try:
            while self._waiting:
                await self._score_group(self._take_group())
        finally:
            self._busy = False
            self._draining = None

    def _take_group(self) -> list[_Waiting]:
        rows = 0
        for index, waiting in enumerate(self._waiting):
            rows += waiting.batch.n_rows
            if rows > MAX_MERGED_ROWS and index > 0:
                group, self._waiting = self._waiting[:index], self._waiting[index:]
                return group
        group, self._waiting = self._waiting, []
        return group

    async def _score_group(self, group: list[_Waiting]) -> None:
        live = [waiting for waiting in group if not waiting.answer.done()]
        if not live:
            return
        batches = [waiting.batch for waiting in live]
        try:
            if len(batches) == 1:
                predictions = [
                    await self._scorer.score_columns_json_async(
                        batches[0].columns, batches[0].n_rows
                    )
                ]
            else:
                merged = await self._scorer.score_columns_json_async(
                    _merged_columns(batches), sum(b.n_rows for b in batches)
                )
                predictions = _split(merged, batches)
        except JavaCallRefused:
            # One request of the group may be the cause: each retries on its own.
            for waiting in live:
                _settle_error(waiting, JavaCallRefused("retry alone"))
            return
        except Exception as exc:
            # Whatever failed the call fails every request that was in it.
            for waiting in live:
                _settle_error(waiting, exc)
            return
        for waiting, prediction in zip(live, predictions, strict=True):
            if not waiting.answer.done():
                waiting.answer.set_result(prediction)


def _settle_error(waiting: _Waiting, exc: Exception) -> None:
    if not waiting.answer.done():
        waiting.answer.set_exception(exc)


def _merged_columns(batches: list[Batch]) -> Columns:
    merged: Columns = {}
    for name in batches[0].columns:
        merged[name] = _concatenated([batch.columns[name] for batch in batches])
    return merged


def _concatenated(parts: list[ColumnData]) -> ColumnData:
    if all(isinstance(part, array) for part in parts):
        merged = array("d")
        for part in parts:
            merged.extend(cast("array[float]", part))
        return merged
    arrays = [part for part in parts if isinstance(part, np.ndarray)]
    if len(arrays) == len(parts):
        return np.concatenate(arrays)
    return list(itertools.chain.from_iterable(parts))


def _split(merged: JsonPrediction, batches: list[Batch]) -> list[JsonPrediction]:
    """Cut a merged answer back into one answer per batch (one line per row)."""
    lines = merged.lines.split(b"\n")
    answers: list[JsonPrediction] = []
    start = 0
    for batch in batches:
        end = start + batch.n_rows
        unknown = {
            row - start: features
            for row, features in merged.unknown_levels.items()
            if start <= row < end
        }
        body = b"\n".join(lines[start:end]) + b"\n"
        answers.append(JsonPrediction(merged.task, body, unknown))
        start = end
    return answers
