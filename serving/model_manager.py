"""The model being served: loading, hot reload and JVM supervision.

The manager holds the current :class:`~serving.generation.ModelGeneration`.
Requests lease it for their whole duration, so a swap never pulls a model
from under a request in flight; the previous generation is closed once its
last lease ends (or after a grace period).

Two daemon threads run beside the event loop:

- the poller asks the registry which version the alias names and, when it
  changed, downloads, opens and smoke-tests the new version beside the old
  one, then swaps them in one assignment; a failure keeps the old model;
- the watchdog pings the JVM every second (and at once when a request saw
  it fail) and reopens the same model folder when the JVM died; requests get
  503 meanwhile.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Literal

import orjson

from serving.config import Settings
from serving.errors import ModelLoadFailure, ModelUnavailableError
from serving.generation import ModelGeneration, ModelIdentity, now_iso
from serving.metrics import ServingMetrics
from serving.registry import (
    PROVENANCE_FILE,
    ArtifactLayoutError,
    ModelCacheError,
    RegistryUnavailableError,
    VersionRef,
)
from serving.registry_process import OutOfProcessRegistry
from serving.runtime_errors import MojoRuntimeError
from serving.scorer import MojoScorer

logger = logging.getLogger(__name__)

ReloadOutcome = Literal["reloaded", "unchanged", "refused", "registry_unavailable"]
JvmState = Literal["alive", "dead", "restarting", "none"]

# How long a retired generation may keep serving requests that started on it.
DRAIN_GRACE_S = 60.0
WATCHDOG_INTERVAL_S = 1.0
MAX_BACKOFF_S = 60.0


class ModelManager:
    """Owns the current generation; loads, swaps, polls and restarts."""

    def __init__(self, settings: Settings, metrics: ServingMetrics) -> None:
        self._settings = settings
        self._metrics = metrics
        self._registry = (
            None
            if settings.local_model_dir is not None
            else OutOfProcessRegistry(
                settings.tracking_uri,
                settings.model_name,
                alias=settings.model_alias,
                version=settings.model_version,
                cache_dir=settings.cache_dir,
                timeout_s=settings.registry_timeout_s,
                retries=settings.registry_retries,
            )
        )
        self._current: ModelGeneration | None = None
        self._restarting = False
        self._swap_lock = threading.Lock()
        self._reload_lock = threading.Lock()
        self._stop = threading.Event()
        self._wake_watchdog = threading.Event()
        self._wake_poller = threading.Event()
        self._threads: list[threading.Thread] = []
        self._failed_versions: set[str] = set()
        self.last_reload_error: str | None = None

    @property
    def current(self) -> ModelGeneration | None:
        """The generation new requests get, or None before the first load."""
        return self._current

    @property
    def jvm_state(self) -> JvmState:
        """What the health endpoint says about the JVM."""
        if self._restarting:
            return "restarting"
        if self._current is None:
            return "none"
        return "alive" if self._current.scorer.is_alive() else "dead"

    def start(self) -> None:
        """Load the first model (blocking), then start the poller and the watchdog."""
        self._load_first()
        if self._registry is not None:
            self._start_thread(self._poll_loop, "model-poller")
        self._start_thread(self._watch_loop, "jvm-watchdog")

    def stop(self) -> None:
        """Stop the threads and close the current generation."""
        self._stop.set()
        self._wake_poller.set()
        self._wake_watchdog.set()
        for thread in self._threads:
            thread.join(timeout=10)
        generation, self._current = self._current, None
        if generation is not None:
            generation.close_when_idle(grace_s=5.0)

    @contextmanager
    def lease(self) -> Iterator[ModelGeneration]:
        """The generation a request runs on, held until the request ends."""
        while True:
            generation = self._current
            if generation is None or self._restarting:
                raise ModelUnavailableError(self._unavailable_message())
            if generation.try_lease():
                break
        try:
            yield generation
        finally:
            generation.release()

    def report_runtime_failure(self, generation: ModelGeneration) -> None:
        """A request saw the JVM fail: let the watchdog check it now."""
        logger.warning(
            "JVM of model version %s failed a call", generation.identity.version
        )
        self._wake_watchdog.set()

    def reload(self) -> tuple[ReloadOutcome, str]:
        """Check the registry now and load the version it names, even a failed one."""
        if self._registry is None:
            return "unchanged", "serving a local model folder; nothing to reload"
        try:
            return self._check_registry(retry_failed=True)
        except RegistryUnavailableError as exc:
            self._metrics.registry_failures.inc()
            return "registry_unavailable", str(exc)

    def _load_first(self) -> None:
        if self._settings.local_model_dir is not None:
            self._load_local(self._settings.local_model_dir)
            return
        try:
            outcome, message = self._check_registry(retry_failed=True)
        except RegistryUnavailableError as exc:
            self._metrics.registry_failures.inc()
            outcome, message = "registry_unavailable", str(exc)
        if outcome != "reloaded":
            self._load_last_good(message)

    def _load_local(self, folder: Path) -> None:
        ref = _provenance(folder) or VersionRef(
            name=self._settings.model_name, version="", alias=None, run_id=None
        )
        identity = ModelIdentity(
            name=ref.name,
            version=ref.version or None,
            alias=None,
            run_id=ref.run_id,
            source="local",
            model_dir=folder,
            loaded_at=now_iso(),
        )
        self._swap(self._open(identity))

    def _load_last_good(self, reason: str) -> None:
        assert self._registry is not None
        cached = self._registry.last_good()
        if cached is None:
            logger.error(
                "no model to serve: %s; no cached model either. The scorer stays "
                "not ready and keeps polling the registry.",
                reason,
            )
            return
        ref, folder = cached
        logger.warning(
            "serving cached model %s version %s because the registry failed: %s",
            ref.name,
            ref.version,
            reason,
        )
        identity = ModelIdentity(
            name=ref.name,
            version=ref.version,
            alias=self._registry.alias,
            run_id=ref.run_id,
            source="cache",
            model_dir=folder,
            loaded_at=now_iso(),
        )
        try:
            self._swap(self._open(identity))
        except ModelLoadFailure as exc:
            logger.error("the cached model in %s failed too: %s", folder, exc)

    def _check_registry(self, *, retry_failed: bool) -> tuple[ReloadOutcome, str]:
        """Resolve the alias; load its version if it is new.

        Reloads are serialised by their own lock, so a registry that hangs never
        holds up a JVM restart, which only needs the swap lock. Raises
        RegistryUnavailableError when the registry does not answer: the caller
        retries later, and the version is not marked as failed.
        """
        assert self._registry is not None
        with self._reload_lock:
            ref = self._registry.resolve()
            current = self._current
            if (
                current is not None
                and current.identity.source != "cache"
                and current.identity.version == ref.version
            ):
                return "unchanged", f"version {ref.version} is already served"
            # With nothing served, a failed version is retried: its failure may
            # have been passing (a JVM killed at start), and there is no fallback.
            if (
                ref.version in self._failed_versions
                and not retry_failed
                and current is not None
            ):
                return "unchanged", f"version {ref.version} failed before; not retried"

            try:
                folder = self._registry.fetch(ref)
                generation = self._open(_registry_identity(ref, folder))
            except ModelCacheError as exc:
                # The cache may become writable again: retry at the next poll.
                return self._refuse(ref, str(exc), permanent=False)
            except (ArtifactLayoutError, ModelLoadFailure) as exc:
                return self._refuse(ref, str(exc), permanent=True)

            self._failed_versions.discard(ref.version)
            self.last_reload_error = None
            self._metrics.reloads.labels("ok").inc()
            with self._swap_lock:
                self._swap(generation)
        try:
            self._registry.remember_good(ref)
        except ModelCacheError as exc:
            logger.error("%s", exc)
        return "reloaded", f"now serving version {ref.version}"

    def _refuse(
        self, ref: VersionRef, reason: str, *, permanent: bool
    ) -> tuple[ReloadOutcome, str]:
        if permanent:
            self._failed_versions.add(ref.version)
        self.last_reload_error = f"version {ref.version}: {reason}"
        self._metrics.reloads.labels("failed").inc()
        logger.error(
            "model version %s refused, old model kept: %s", ref.version, reason
        )
        return "refused", self.last_reload_error

    def _open(self, identity: ModelIdentity) -> ModelGeneration:
        """Open and smoke-test a model folder; ModelLoadFailure if it is unusable."""
        started = time.perf_counter()
        try:
            scorer = MojoScorer.open(
                identity.model_dir,
                heap_mb=self._settings.jvm_heap_mb,
                class_cache_dir=self._settings.java_classes_dir,
            )
        except (MojoRuntimeError, OSError, ValueError) as exc:
            raise ModelLoadFailure(
                f"could not open the model in {identity.model_dir}: {exc}"
            ) from exc
        generation = ModelGeneration(scorer, identity)
        try:
            generation.smoke_test()
            generation.warm_up()
        except (ModelLoadFailure, MojoRuntimeError, ValueError) as exc:
            generation.close_when_idle(grace_s=0)
            raise ModelLoadFailure(str(exc)) from exc
        logger.info(
            "model %s version %s loaded from %s in %.2f s",
            identity.name,
            identity.version,
            identity.source,
            time.perf_counter() - started,
        )
        return generation

    def _swap(self, generation: ModelGeneration) -> None:
        previous, self._current = self._current, generation
        identity = generation.identity
        self._metrics.set_model(
            identity.name, identity.version, identity.alias, identity.source
        )
        if previous is not None:
            # The old JVM stays up until the requests that leased it finish.
            threading.Thread(
                target=previous.close_when_idle,
                args=(DRAIN_GRACE_S,),
                name="model-drain",
                daemon=True,
            ).start()

    def _poll_loop(self) -> None:
        failures = 0
        while not self._stop.is_set():
            self._wake_poller.wait(timeout=self._poll_delay(failures))
            self._wake_poller.clear()
            if self._stop.is_set():
                return
            try:
                outcome, message = self._check_registry(retry_failed=False)
            except RegistryUnavailableError as exc:
                failures += 1
                self._metrics.registry_failures.inc()
                logger.warning("registry poll failed (%d in a row): %s", failures, exc)
                continue
            except Exception:
                # A bug must not end polling for the life of the process.
                failures += 1
                logger.error("registry poll crashed; polling goes on", exc_info=True)
                continue
            failures = 0
            if outcome != "unchanged":
                logger.info("registry poll: %s", message)

    def _poll_delay(self, failures: int) -> float:
        """The poll interval, doubled per failed poll, capped at a minute."""
        interval = self._settings.poll_interval_s
        backoff: float = interval * 2.0 ** min(failures, 10)
        return min(backoff, max(MAX_BACKOFF_S, interval))

    def _watch_loop(self) -> None:
        while not self._stop.is_set():
            self._wake_watchdog.wait(timeout=WATCHDOG_INTERVAL_S)
            self._wake_watchdog.clear()
            generation = self._current
            if self._stop.is_set() or generation is None:
                continue
            try:
                if not generation.scorer.is_alive():
                    self._restart(generation)
            except Exception:
                # A bug must not end JVM supervision for the life of the process.
                logger.error("JVM watchdog crashed; watching goes on", exc_info=True)

    def _restart(self, dead: ModelGeneration) -> None:
        """Reopen the dead generation's model folder, retrying with backoff."""
        logger.error(
            "JVM of model version %s is dead; restarting it", dead.identity.version
        )
        self._restarting = True
        self._metrics.jvm_restarts.inc()
        delay = 0.5
        try:
            while not self._stop.is_set():
                with self._swap_lock:
                    if self._current is not dead:
                        return
                    identity = replace(dead.identity, loaded_at=now_iso())
                    try:
                        self._swap(self._open(identity))
                        logger.info(
                            "JVM restarted for model version %s", identity.version
                        )
                        return
                    except ModelLoadFailure as exc:
                        logger.error(
                            "JVM restart failed, retrying in %.1f s: %s", delay, exc
                        )
                self._stop.wait(delay)
                delay = min(delay * 2, MAX_BACKOFF_S)
        finally:
            self._restarting = False

    def _unavailable_message(self) -> str:
        if self._restarting:
            return "The model's JVM is restarting; retry in a second."
        if self.last_reload_error:
            return f"No model is loaded: {self.last_reload_error}"
        return "No model is loaded yet; see /health/ready and the scorer's log."

    def _start_thread(self, target: object, name: str) -> None:
        thread = threading.Thread(target=target, name=name, daemon=True)  # type: ignore[arg-type]
        thread.start()
        self._threads.append(thread)


def _registry_identity(ref: VersionRef, folder: Path) -> ModelIdentity:
    return ModelIdentity(
        name=ref.name,
        version=ref.version,
        alias=ref.alias,
        run_id=ref.run_id,
        source="registry",
        model_dir=folder,
        loaded_at=now_iso(),
    )


def _provenance(folder: Path) -> VersionRef | None:
    try:
        return VersionRef(**orjson.loads((folder / PROVENANCE_FILE).read_bytes()))
    except (OSError, orjson.JSONDecodeError, TypeError):
        return None
