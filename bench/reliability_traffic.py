"""Steady prediction traffic that records every answer: status, time, model version.

The fault checks run it in the background while they break something, then
read the record: how many requests failed, with which status, for how long,
and which model version answered each one. Bounded: it stops at ``stop()``
or after ``max_seconds``, whichever comes first.
"""

from __future__ import annotations

import asyncio
import threading
import time
from dataclasses import dataclass

import httpx
import orjson

_REQUEST_TIMEOUT_S = 30.0


@dataclass(frozen=True)
class Outcome:
    """One request: when it started and ended (monotonic s), status, version."""

    started: float
    ended: float
    status: int
    version: str | None
    batch: bool


def example_bodies(base_url: str, batch_rows: int = 20) -> tuple[bytes, bytes]:
    """A one-record body and a batch body built from the served model's example."""
    example = httpx.get(f"{base_url}/model", timeout=10).json()["example_request"]
    batch = []
    for index in range(batch_rows):
        record = dict(example)
        for name, value in record.items():
            if isinstance(value, int | float) and not isinstance(value, bool):
                record[name] = value + (index % 5)
        batch.append(record)
    return orjson.dumps(example), orjson.dumps(batch)


class TrafficRecorder:
    """``connections`` closed-loop clients on /predict, mixing rows and batches."""

    def __init__(
        self,
        base_url: str,
        *,
        connections: int = 4,
        max_seconds: float = 300.0,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.base_url = base_url
        self.connections = connections
        self.max_seconds = max_seconds
        self.headers = {"Content-Type": "application/json", **(headers or {})}
        self.single, self.batch = example_bodies(base_url)
        self.outcomes: list[Outcome] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="traffic", daemon=True)

    def start(self) -> TrafficRecorder:
        """Begin sending; returns self."""
        self._thread.start()
        return self

    def stop(self) -> list[Outcome]:
        """Stop sending and return every outcome, in completion order."""
        self._stop.set()
        self._thread.join(timeout=_REQUEST_TIMEOUT_S + 10)
        return list(self.outcomes)

    def _run(self) -> None:
        asyncio.run(self._send_all())

    async def _send_all(self) -> None:
        deadline = time.monotonic() + self.max_seconds
        limits = httpx.Limits(max_connections=self.connections)
        async with httpx.AsyncClient(
            limits=limits, timeout=_REQUEST_TIMEOUT_S, headers=self.headers
        ) as client:
            await asyncio.gather(
                *(
                    self._worker(client, index, deadline)
                    for index in range(self.connections)
                )
            )

    async def _worker(
        self, client: httpx.AsyncClient, index: int, deadline: float
    ) -> None:
        count = index
        while not self._stop.is_set() and time.monotonic() < deadline:
            is_batch = count % 4 == 3
            count += 1
            started = time.monotonic()
            try:
                response = await client.post(
                    f"{self.base_url}/predict",
                    content=self.batch if is_batch else self.single,
                )
                status = response.status_code
                version = _version(response) if status == 200 else None
            except httpx.TransportError:
                status, version = 0, None
            self.outcomes.append(
                Outcome(started, time.monotonic(), status, version, is_batch)
            )
            if status != 200:
                # A failing server answers fast: do not spin on it.
                await asyncio.sleep(0.02)


def _version(response: httpx.Response) -> str | None:
    try:
        version = response.json()["model"]["version"]
    except (ValueError, KeyError, TypeError):
        return None
    return None if version is None else str(version)


def summarize(outcomes: list[Outcome]) -> dict[str, object]:
    """Counts by status over a recording."""
    by_status: dict[str, int] = {}
    for outcome in outcomes:
        by_status[str(outcome.status)] = by_status.get(str(outcome.status), 0) + 1
    return {
        "requests": len(outcomes),
        "failed": sum(1 for outcome in outcomes if outcome.status != 200),
        "by_status": by_status,
    }
