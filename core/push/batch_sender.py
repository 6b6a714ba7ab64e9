"""Sender threads fed with batches, so building payloads overlaps with waiting for the service."""

from __future__ import annotations

import queue
import threading

_DONE = object()


class BatchSender:
    """Runs send(batch) for each queued batch in `workers` background threads; the first error stops them all.

    With several workers a few requests are in flight at once; the job's own gate decides when that is
    safe (push_job.SendGate). Batches are taken in queue order.
    """

    def __init__(self, send, depth=4, workers=1):
        self.send = send
        self.queue = queue.Queue(maxsize=max(depth, workers))
        self.error = None
        self.stopped = threading.Event()
        self._error_lock = threading.Lock()
        self.threads = [threading.Thread(target=self._loop, name=f"mapbridge-push-sender-{i + 1}", daemon=True)
                        for i in range(max(1, workers))]
        for thread in self.threads:
            thread.start()

    def put(self, batch):
        """Queue a batch; False once the sender stopped (its error comes out of close())."""
        while not self.stopped.is_set():
            try:
                self.queue.put(batch, timeout=0.2)
                return True
            except queue.Full:
                continue
        return False

    def close(self, idle=None, every=0.01):
        """Wait for the queued batches to be sent, calling idle() meanwhile; re-raise the first error."""
        for _ in self.threads:
            self.put(_DONE)
        for thread in self.threads:
            while thread.is_alive():
                if idle is not None:
                    idle()
                thread.join(every)
        error, self.error = self.error, None      # no reference cycle through the traceback
        if error is not None:
            raise error

    def _loop(self):
        while not self.stopped.is_set():
            try:
                batch = self.queue.get(timeout=0.2)
            except queue.Empty:
                continue
            if batch is _DONE:
                return
            try:
                self.send(batch)
            except BaseException as exc:  # noqa: BLE001 - handed to the producer thread by close()
                with self._error_lock:
                    if self.error is None:
                        self.error = exc
                self.stopped.set()
                return
