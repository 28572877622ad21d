from pathlib import Path

import pytest

from calcdetect.executors import DaskExecutor, ProcessExecutor, SerialExecutor, make_executor

HELPERS = Path(__file__).parent / "helpers"


@pytest.fixture
def faulty(monkeypatch):
    monkeypatch.syspath_prepend(str(HELPERS))  # spawned workers inherit sys.path
    import faulty

    return faulty


def _collect(executor, fn, items):
    results, failures = {}, {}
    for item, result, failure in executor.run(fn, items):
        if failure is None:
            results[item] = result
        else:
            failures[item] = failure
    executor.close()
    return results, failures


@pytest.mark.parametrize(
    "make", [SerialExecutor, lambda: ProcessExecutor(2), lambda: DaskExecutor("local", workers=2)],
    ids=["serial", "processes", "dask-local"],
)
def test_an_item_that_raises_is_a_failure_and_the_rest_complete(faulty, make):
    results, failures = _collect(make(), faulty.square_or_fail, [0, 1, 2, 3, 4, 6, 7])
    assert results == {0: 0, 1: 1, 2: 4, 4: 16, 6: 36, 7: 49}
    assert list(failures) == [3]
    assert (failures[3].kind, failures[3].message) == ("ValueError", "three is bad")


def test_a_worker_that_dies_is_retried_then_reported_and_the_rest_complete(faulty):
    results, failures = _collect(ProcessExecutor(2, retries=1), faulty.square_or_fail, [1, 2, 4, 5, 6, 7, 8])
    assert results == {1: 1, 2: 4, 4: 16, 6: 36, 7: 49, 8: 64}
    assert list(failures) == [5]
    assert failures[5].kind == "WorkerDied"


@pytest.mark.parametrize(
    ("kwargs", "kind"),
    [({}, SerialExecutor), ({"jobs": 3}, ProcessExecutor)],
    ids=["one-job-serial", "jobs-processes"],
)
def test_make_executor_picks_the_path(kwargs, kind):
    executor = make_executor(**kwargs)
    assert isinstance(executor, kind)
    executor.close()


def test_process_executor_needs_a_worker():
    with pytest.raises(ValueError, match="workers must be >= 1; got 0"):
        ProcessExecutor(0)
