"""Helpers for long-running background loops."""

from __future__ import annotations

import asyncio


def stopping() -> bool:
    """Whether the running task has been asked to stop.

    Client libraries sometimes turn a cancellation into their own error; a loop that catches
    errors to keep going checks this so that it still stops when its app shuts down.
    """
    task = asyncio.current_task()
    return task is not None and task.cancelling() > 0
