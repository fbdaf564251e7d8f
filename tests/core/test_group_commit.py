"""core/batch.GroupCommit: requests that queue while a unit of work runs go together into the
next one, each gets its own answer, a failed unit fails only its own requests, and the writer
thread ends when idle and starts again on the next request."""

from __future__ import annotations

import threading
from collections.abc import Sequence

import pytest

from cityos.core.batch import GroupCommit


def test_requests_that_queue_meanwhile_form_the_next_batch_and_each_gets_its_answer() -> None:
    gate = threading.Event()
    batches: list[list[int]] = []

    def run(items: Sequence[int]) -> list[int]:
        batches.append(list(items))
        if len(batches) == 1:
            gate.wait(10)  # the first unit of work is slow: the others queue behind it
        return [i * 10 for i in items]

    gc: GroupCommit[int, int] = GroupCommit(run, max_batch=64)
    first = gc.submit(0)
    while not batches:  # the writer has taken the first request
        threading.Event().wait(0.005)
    rest = [gc.submit(i) for i in range(1, 51)]
    gate.set()
    assert first.result(10) == 0
    assert [f.result(10) for f in rest] == [i * 10 for i in range(1, 51)]
    assert batches == [[0], list(range(1, 51))]
    assert (gc.batches, gc.items) == (2, 51)


def test_a_batch_is_cut_at_max_batch() -> None:
    gate = threading.Event()
    sizes: list[int] = []

    def run(items: Sequence[int]) -> list[int]:
        sizes.append(len(items))
        gate.wait(10)
        return list(items)

    gc: GroupCommit[int, int] = GroupCommit(run, max_batch=8)
    futures = [gc.submit(0)]
    while not sizes:
        threading.Event().wait(0.005)
    futures += [gc.submit(i) for i in range(1, 21)]
    gate.set()
    assert [f.result(10) for f in futures] == list(range(21))
    assert sizes == [1, 8, 8, 4]


def test_a_failed_unit_fails_its_own_requests_only() -> None:
    def run(items: Sequence[int]) -> list[int]:
        if 13 in items:
            raise RuntimeError("the database went away")
        return list(items)

    gc: GroupCommit[int, int] = GroupCommit(run)
    bad = gc.submit(13)
    with pytest.raises(RuntimeError, match="went away"):
        bad.result(10)
    assert gc.submit(14).result(10) == 14  # the writer lives on


def test_wrong_number_of_answers_is_an_error_not_a_silent_mismatch() -> None:
    gc: GroupCommit[int, int] = GroupCommit(lambda items: [], name="broken")
    with pytest.raises(RuntimeError, match="0 answers for 1 items"):
        gc.submit(1).result(10)


def test_the_writer_ends_when_idle_and_starts_again() -> None:
    gc: GroupCommit[int, int] = GroupCommit(lambda items: list(items), idle=0.05)
    assert gc.submit(1).result(10) == 1
    thread = gc._thread
    assert thread is not None
    thread.join(5)
    assert not thread.is_alive() and gc._thread is None
    assert gc.submit(2).result(10) == 2  # a new writer


def test_max_batch_must_be_positive() -> None:
    with pytest.raises(ValueError):
        GroupCommit(lambda items: list(items), max_batch=0)
