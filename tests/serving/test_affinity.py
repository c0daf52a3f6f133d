"""The event loop and its JVM thread on one CPU: real JVM, real threads, real CPUs."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import threading
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import TypeVar

import numpy as np
import pytest

from serving import affinity
from serving.scorer import MojoScorer

_T = TypeVar("_T")

pytestmark = pytest.mark.skipif(
    not affinity.supported() or len(os.sched_getaffinity(0)) < 2,
    reason="pinning needs Linux and at least two CPUs",
)


@pytest.fixture(scope="module")
def scorer(
    tiny_binary_mojo: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[MojoScorer]:
    with MojoScorer.open(
        tiny_binary_mojo,
        heap_mb=128,
        class_cache_dir=tmp_path_factory.mktemp("affinity-classes"),
    ) as opened:
        yield opened


def _in_pinned_loop(work: Callable[[], Awaitable[_T]]) -> tuple[_T, frozenset[int]]:
    """Run ``work`` on an event loop whose thread pins itself, as the API's does."""
    outcome: dict[str, object] = {}

    def run() -> None:
        affinity.pin_current_thread()
        outcome["cpus"] = affinity.thread_cpus()
        outcome["result"] = asyncio.run(work())

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(timeout=60)
    return outcome["result"], outcome["cpus"]  # type: ignore[return-value]


def _one_row(scorer: MojoScorer) -> dict[str, object]:
    return {name: np.array([1.0]) for name in scorer.schema.feature_names}


def test_the_jvm_thread_joins_the_loop_cpu_only_while_calls_come_alone(
    scorer: MojoScorer,
) -> None:
    channel = scorer.runtime.channel
    row = _one_row(scorer)

    async def calls() -> tuple[set[int], set[int]]:
        channel.share_loop_cpu = True
        await scorer.score_columns_json_async(row, 1)
        thread_id = channel.java_thread_id
        assert thread_id is not None
        alone = os.sched_getaffinity(thread_id)
        channel.share_loop_cpu = False
        await scorer.score_columns_json_async(row, 1)
        merged = os.sched_getaffinity(thread_id)
        return alone, merged

    (alone, merged), loop_cpus = _in_pinned_loop(calls)

    assert len(loop_cpus) == 1
    assert alone == loop_cpus
    assert merged == affinity.process_cpus()


def test_the_jvm_scoring_threads_keep_every_cpu(scorer: MojoScorer) -> None:
    async def call() -> None:
        scorer.runtime.channel.share_loop_cpu = True
        await scorer.score_columns_json_async(_one_row(scorer), 1)

    _in_pinned_loop(call)

    pool_threads = [
        task
        for task in Path(f"/proc/{scorer.runtime.pid}/task").iterdir()
        if (task / "comm").read_text().strip().startswith("mojoserve-scor")
    ]
    assert pool_threads, "the batch scorer's worker threads were not started"
    for task in pool_threads:
        assert os.sched_getaffinity(int(task.name)) == affinity.process_cpus()


def test_child_processes_started_from_a_pinned_thread_get_every_cpu() -> None:
    probe = [sys.executable, "-c", "import os; print(len(os.sched_getaffinity(0)))"]

    async def start_children() -> tuple[int, int]:
        pinned = int(subprocess.run(probe, capture_output=True, check=True).stdout)
        with affinity.every_cpu():
            freed = int(subprocess.run(probe, capture_output=True, check=True).stdout)
        return pinned, freed

    (pinned, freed), _ = _in_pinned_loop(start_children)

    assert pinned == 1
    assert freed == len(affinity.process_cpus())
