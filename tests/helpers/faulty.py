"""Work functions that fail on purpose, importable by spawned worker processes."""

import os


def square_or_fail(item):
    """Square numbers; raise on 3; kill the worker process on 5 (as the kernel's OOM killer would)."""
    if item == 3:
        raise ValueError("three is bad")
    if item == 5:
        os._exit(9)
    return item * item
