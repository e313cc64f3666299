"""Coalescing of concurrent single requests into one job on the worker pool.

POST /v1/verify requests that arrive while every job slot is busy wait in a queue; the next free
slot takes all of them (up to max_items) as one job. A job verifies its proofs in one weighted
batch check per (circuit, snapshot) and commits all of their receipts in one transaction (one
fsync), so both costs are shared under load. There is no collection window: a request that finds
a slot free starts at once, so a lone request is never delayed; a job is only as large as the
queue that built up behind the running ones. Each request still gets its own outcome (result or
exception), and only after its job returned, i.e. after its receipt was committed.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

Item = TypeVar("Item")
Result = TypeVar("Result")


@dataclass
class _Pending(Generic[Item]):
    item: Item
    future: asyncio.Future
    loop: asyncio.AbstractEventLoop


def _settle(future: asyncio.Future, outcome: Any) -> None:
    if future.done():  # the request was cancelled (client gone): nobody waits for it
        return
    if isinstance(outcome, BaseException):
        future.set_exception(outcome)
    else:
        future.set_result(outcome)


class Coalescer(Generic[Item, Result]):
    """Runs run_many over the queued items on at most `slots` pool threads at a time.

    run_many(items) returns one outcome per item, in order: its result or the exception to raise
    in its request. Should run_many itself raise, every item of that job gets the exception.
    Thread-safe and loop-agnostic: each request's future is settled on its own event loop.
    """

    def __init__(self, run_many: Callable[[list[Item]], Sequence[Result | BaseException]],
                 executor: Callable[[], Executor], slots: int, max_items: int = 32) -> None:
        self.run_many, self.executor = run_many, executor
        self.slots, self.max_items = max(1, slots), max(1, max_items)
        self.pending: list[_Pending[Item]] = []
        self.running = 0
        self.jobs = 0
        """Jobs started so far (a job of n items answers n requests)."""
        self.lock = threading.Lock()

    async def submit(self, item: Item) -> Result:
        """The outcome of item, run alone or with the requests queued beside it."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future = loop.create_future()
        with self.lock:
            self.pending.append(_Pending(item, future, loop))
            group = self._take_locked() if self.running < self.slots else None
        if group is not None:
            self._start(group)
        return await future

    def _take_locked(self) -> list[_Pending[Item]] | None:
        """The next job's items (claiming a slot), or None when nothing waits. Call with the lock held."""
        # Requests cancelled while queued (their clients left) are dropped, not verified.
        self.pending = [p for p in self.pending if not p.future.cancelled()]
        if not self.pending:
            return None
        group, self.pending = self.pending[: self.max_items], self.pending[self.max_items:]
        self.running += 1
        self.jobs += 1
        return group

    def _start(self, group: list[_Pending[Item]]) -> None:
        try:
            self.executor().submit(self._work, group)
        except BaseException as exc:  # the pool was shut down: the server is stopping
            with self.lock:
                self.running -= 1
            self._deliver(group, [exc] * len(group))

    def _work(self, group: list[_Pending[Item]]) -> None:
        # The thread that finishes a job takes the queue that built up meanwhile (no hop back to the loop).
        while group is not None:
            try:
                outcomes: Sequence[Any] = self.run_many([p.item for p in group])
                if len(outcomes) != len(group):
                    raise RuntimeError(f"run_many gave {len(outcomes)} outcomes for {len(group)} items")
            except BaseException as exc:  # noqa: BLE001 - delivered to every request of the job
                outcomes = [exc] * len(group)
            self._deliver(group, outcomes)
            with self.lock:
                self.running -= 1
                group = self._take_locked()

    @staticmethod
    def _deliver(group: list[_Pending[Item]], outcomes: Sequence[Any]) -> None:
        for pending, outcome in zip(group, outcomes):
            try:
                pending.loop.call_soon_threadsafe(_settle, pending.future, outcome)
            except RuntimeError:  # that request's event loop is closed: nobody is left to answer
                pass
