"""``processing: latest``: a worker thread processes released sets while the executor keeps receiving.

Sets are submitted in batches (what one callback released: usually one set; several when frames waited for a
camera's timeout or for calibration). The worker processes every set of a batch, in order. When a newer batch
arrives before the worker started on an older one, the older sets are skipped and counted
(``skipped``): the pipeline is behind the cameras, and the newest frames matter most. In lockstep playback the
player waits for each output, so nothing is skipped and a replay gives the same tracks every time.
"""
from __future__ import annotations

import threading
from collections import deque
from typing import Callable

JOIN_TIMEOUT_S = 10.0  # longest wait for the worker to finish its frame when stopping
IDLE_WAKE_S = 0.5  # the idle worker re-checks its stop flag this often


class LatestWorker:
    """Runs ``run(item)`` on its own thread for every submitted item (see the module docstring)."""

    def __init__(self, run: Callable[[object], None], name: str = "tracker_worker"):
        self._run = run
        self._name = name
        self._cv = threading.Condition()
        self._pending: deque = deque()
        self._stop = False
        self._thread: threading.Thread | None = None
        self.skipped = 0

    def start(self) -> None:
        self._stop = False
        self._pending.clear()
        self._thread = threading.Thread(target=self._loop, name=self._name, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._thread is None:
            return
        with self._cv:
            self._stop = True
            self._cv.notify_all()
        self._thread.join(timeout=JOIN_TIMEOUT_S)
        self._thread = None

    def submit(self, batch: list) -> int:
        """Queue ``batch`` for processing; returns how many older sets it replaced (skipped)."""
        if not batch:
            return 0
        with self._cv:
            skipped = len(self._pending)
            self.skipped += skipped
            self._pending = deque(batch)
            self._cv.notify()
        return skipped

    def _loop(self) -> None:
        while True:
            with self._cv:
                while not self._pending and not self._stop:
                    self._cv.wait(timeout=IDLE_WAKE_S)
                if self._stop:
                    return
                item = self._pending.popleft()
            self._run(item)
