"""Where per-image work runs: in this process, in a pool of processes, or on a Dask cluster.

Every executor has one method, :meth:`Executor.run`, which applies a picklable
function to each item and yields ``(item, result, error)`` as items finish, in
any order. An item whose function raised (after the executor's retries) comes
back with ``error`` set, so a batch records it and goes on. The work itself
(:func:`calcdetect.batch.process_file`) does not know which executor runs it.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import TypeVar

_T = TypeVar("_T")  # an item
_R = TypeVar("_R")  # its result

#: Environment variables that pin numeric libraries to one thread in a worker.
_ONE_THREAD = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


@dataclass(frozen=True)
class Failure:
    """Why an item produced no result: the exception, as text (it may come from another machine)."""

    kind: str
    message: str

    @classmethod
    def of(cls, exc: BaseException) -> Failure:
        return cls(type(exc).__name__, " ".join(str(exc).split()))

    def __str__(self) -> str:
        return f"{self.kind}: {self.message}" if self.message else self.kind


def init_worker() -> None:
    """Start-up of a worker process: one thread for OpenCV and BLAS, so N workers use N cores."""
    os.environ.update(_ONE_THREAD)
    import cv2

    cv2.setNumThreads(1)


class SerialExecutor:
    """Run items one after the other in this process."""

    workers = 1

    def run(self, fn: Callable[[_T], _R], items: Iterable[_T]) -> Iterator[tuple[_T, _R | None, Failure | None]]:
        for item in items:
            try:
                yield item, fn(item), None
            except Exception as exc:  # recorded as the item's failure, the batch goes on
                yield item, None, Failure.of(exc)

    def close(self) -> None:
        pass


class ProcessExecutor:
    """A pool of `workers` processes started with the spawn method.

    Spawn, not fork: forking a process in which OpenCV has started its thread
    pool can deadlock the child. Each worker has one item in flight at a time
    (the pool holds at most one more queued per worker), so memory grows with
    `workers`, not with the number of items. A worker that dies (e.g. killed
    for memory) breaks the pool and every item in flight with it: those items
    are run again in a fresh pool one at a time, so that a death is blamed only
    on the item that caused it, which is reported as a failure once it has
    died `retries` + 1 times alone.
    """

    def __init__(self, workers: int, *, retries: int = 1):
        if workers < 1:
            raise ValueError(f"workers must be >= 1; got {workers}")
        self.workers = workers
        self.retries = retries
        self._pool: ProcessPoolExecutor | None = None

    def _submit(self, fn: Callable, item) -> Future:
        """Submit, or return a future that failed with the pool (a pool can die between checks)."""
        assert self._pool is not None  # run() holds a pool while it submits
        try:
            return self._pool.submit(fn, item)
        except BrokenProcessPool as exc:
            future: Future = Future()
            future.set_exception(exc)
            return future

    def _new_pool(self) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(
            max_workers=self.workers, mp_context=multiprocessing.get_context("spawn"), initializer=init_worker
        )

    def run(self, fn: Callable[[_T], _R], items: Iterable[_T]) -> Iterator[tuple[_T, _R | None, Failure | None]]:
        pending = iter(items)
        suspects: list = []  # items in flight when a worker died: run alone until cleared
        solo_deaths: dict[int, int] = {}
        in_flight: dict = {}
        self._pool = self._new_pool()
        try:
            while True:
                if suspects:
                    # A death can only be blamed on an item that ran alone.
                    if not in_flight:
                        item = suspects.pop(0)
                        in_flight[self._submit(fn, item)] = item
                else:
                    # Keep every worker busy with one item and one queued, no more.
                    while len(in_flight) < 2 * self.workers:
                        item = next(pending, _END)
                        if item is _END:
                            break
                        in_flight[self._submit(fn, item)] = item
                if not in_flight:
                    return
                alone = len(in_flight) == 1
                done, _ = wait(in_flight, return_when=FIRST_COMPLETED)
                pool_died = False
                for future in done:
                    item = in_flight.pop(future)
                    try:
                        yield item, future.result(), None
                    except BrokenProcessPool as exc:
                        pool_died = True
                        if not alone:
                            suspects.append(item)
                            continue
                        solo_deaths[id(item)] = solo_deaths.get(id(item), 0) + 1
                        if solo_deaths[id(item)] > self.retries:
                            yield item, None, Failure("WorkerDied", f"the worker process died ({exc})")
                        else:
                            suspects.append(item)
                    except Exception as exc:
                        yield item, None, Failure.of(exc)
                if pool_died:
                    # Every other item of the dead pool fails with it: suspects too.
                    suspects.extend(in_flight.values())
                    in_flight.clear()
                    self._pool.shutdown(wait=False, cancel_futures=True)
                    self._pool = self._new_pool()
        finally:
            self.close()

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None


class DaskExecutor:
    """Run items on a Dask distributed cluster; only the items (paths) travel to the workers.

    Parameters
    ----------
    address : str
        Scheduler address (``tcp://host:8786``), or ``"local"`` to start a
        :class:`dask.distributed.LocalCluster` of `workers` single-threaded processes.
    workers : int
        Workers of a local cluster; ignored for an existing one.
    retries : int
        Times a task whose worker failed (or that raised) is tried again.
    """

    def __init__(self, address: str, *, workers: int = 1, retries: int = 1):
        try:
            from dask.distributed import Client, LocalCluster
        except ImportError:
            raise ImportError("the Dask scheduler needs dask.distributed: pip install 'calcdetect[dask]'") from None
        self.retries = retries
        self._cluster = None
        if address == "local":
            self._cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                         dashboard_address=None, env=dict(_ONE_THREAD))
            self._client = Client(self._cluster)
        else:
            self._client = Client(address)
        self._client.run(init_worker)
        self.workers = max(1, sum(self._client.nthreads().values()))

    def run(self, fn: Callable[[_T], _R], items: Iterable[_T]) -> Iterator[tuple[_T, _R | None, Failure | None]]:
        from dask.distributed import as_completed

        pending = iter(items)
        in_flight: dict = {}

        def submit(queue) -> None:
            item = next(pending, _END)
            if item is not _END:
                future = self._client.submit(fn, item, retries=self.retries, pure=False)
                in_flight[future.key] = item
                queue.add(future)

        queue = as_completed()
        for _ in range(2 * self.workers):
            submit(queue)
        for future in queue:
            item = in_flight.pop(future.key)
            try:
                yield item, future.result(), None
            except Exception as exc:
                yield item, None, Failure.of(exc)
            finally:
                future.release()
            submit(queue)

    def close(self) -> None:
        self._client.close()
        if self._cluster is not None:
            self._cluster.close()


Executor = SerialExecutor | ProcessExecutor | DaskExecutor

_END = object()


def make_executor(*, jobs: int = 1, scheduler: str | None = None, retries: int = 1) -> Executor:
    """The executor for a run: Dask when `scheduler` is given, else processes when `jobs` > 1, else serial."""
    if scheduler:
        return DaskExecutor(scheduler, workers=jobs, retries=retries)
    if jobs > 1:
        return ProcessExecutor(jobs, retries=retries)
    return SerialExecutor()
