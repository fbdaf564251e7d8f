"""Group commit: many requests' writes in one unit of work.

A hot write path (the Open311 intake) costs most in what every unit of work pays once: BEGIN, the
commit's WAL flush, the statements' round trips. `GroupCommit` hands requests to one writer thread
that takes whatever has queued (up to `max_batch`) and runs them together through `run(items) ->
answers`, which must answer each item by itself (a refused item must not refuse the others). The
first request of an idle writer is run at once; under load, batches form from the requests that
queue while the previous batch commits, so no request waits for a timer. The thread ends after
`idle` seconds without work and starts again on the next request.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from typing import Generic, TypeVar

log = logging.getLogger("cityos.batch")

T = TypeVar("T")
R = TypeVar("R")


class GroupCommit(Generic[T, R]):
    def __init__(
        self,
        run: Callable[[Sequence[T]], Sequence[R]],
        *,
        max_batch: int = 64,
        idle: float = 2.0,
        name: str = "group-commit",
    ) -> None:
        if max_batch < 1:
            raise ValueError("max_batch must be at least 1")
        self._run = run
        self._max = max_batch
        self._idle = idle
        self._name = name
        self._queue: queue.SimpleQueue[tuple[T, Future[R]]] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self.batches = 0  # how many units of work ran, and for how many items (figures for /metrics
        self.items = 0  # and the benchmark)

    def submit(self, item: T) -> Future[R]:
        fut: Future[R] = Future()
        self._queue.put((item, fut))
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._loop, name=self._name, daemon=True)
                self._thread.start()
        return fut

    def _loop(self) -> None:
        while True:
            try:
                first = self._queue.get(timeout=self._idle)
            except queue.Empty:
                with self._lock:  # nothing queued since: end; a submit after this starts a new thread
                    if self._queue.empty():
                        self._thread = None
                        return
                continue
            batch = [first]
            while len(batch) < self._max:
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            self._answer(batch)

    def _answer(self, batch: list[tuple[T, Future[R]]]) -> None:
        items = [item for item, _ in batch]
        try:
            answers = self._run(items)
            if len(answers) != len(items):
                raise RuntimeError(f"{self._name}: {len(answers)} answers for {len(items)} items")
        except BaseException as e:  # the whole unit failed: every waiting request hears why
            log.exception("%s: a batch of %d failed", self._name, len(items))
            for _, fut in batch:
                fut.set_exception(e)
            return
        self.batches += 1
        self.items += len(items)
        for (_, fut), answer in zip(batch, answers, strict=True):
            fut.set_result(answer)
