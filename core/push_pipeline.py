"""A sender thread fed with batches, so building payloads overlaps with waiting for the service."""

from __future__ import annotations

import queue
import threading

_DONE = object()


class BatchSender:
    """Runs send(batch) for each queued batch in one background thread; the first error stops it."""

    def __init__(self, send, depth=4):
        self.send = send
        self.queue = queue.Queue(maxsize=depth)
        self.error = None
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._loop, name="mapbridge-push-sender", daemon=True)
        self.thread.start()

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
        """Wait for the queued batches to be sent, calling idle() meanwhile; re-raise the sender's error."""
        self.put(_DONE)
        while self.thread.is_alive():
            if idle is not None:
                idle()
            self.thread.join(every)
        error, self.error = self.error, None      # no reference cycle through the traceback
        if error is not None:
            raise error

    def _loop(self):
        while True:
            batch = self.queue.get()
            if batch is _DONE:
                return
            try:
                self.send(batch)
            except BaseException as exc:  # noqa: BLE001 - handed to the producer thread by close()
                self.error = exc
                self.stopped.set()
                return
