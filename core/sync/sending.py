"""Send a sync phase's items through one of push's jobs: its gate, retries, rate-limit waits, unknown outcomes."""

from __future__ import annotations

from ...api.errors import CancelledError
from ..push.batch_sender import BatchSender


def send_items(job, items, feedback, idle=None):
    """Send prepared items in the job's batches from its sender threads, calling idle() while waiting.

    Raises what stopped the job (CancelledError, the job's fatal error); the items it did not settle stay pending.
    """
    items = [item for item in items if item.pending]
    if not items:
        return
    job.expected = 0                # progress is the sync's, over all phases
    sender = BatchSender(job.send, workers=job.max_in_flight)
    try:
        batch = []
        for item in items:
            if sender.stopped.is_set():
                break
            if feedback.isCanceled():
                raise CancelledError()
            if not job.accept(item):
                continue
            batch.append(item)
            if len(batch) >= job.batch_size:
                job.encode(batch)
                sender.put(batch)
                batch = []
                if idle is not None:
                    idle()
        if batch:
            job.encode(batch)
            sender.put(batch)
    finally:
        sender.close(idle)
    if feedback.isCanceled():
        raise CancelledError()


class SyncJobMixin:
    """What a sync adds to a push job: items are flagged when a request carries them, and while the check after
    an unknown outcome is under way (left flagged when the check itself failed), so the link keeps their creates
    as pending and the next sync looks for them on the map before sending them again."""

    def request(self, batch, attempt, split):
        for item in batch:
            item.attempted = True
        return super().request(batch, attempt, split)

    def _check_arrived(self, batch, exc):
        for item in batch:
            item.uncertain = True
        super()._check_arrived(batch, exc)
        for item in batch:
            item.uncertain = False      # the check answered: what it did not find has not arrived

    def start(self):
        """The sync reads the map once for all phases."""

    def finish(self):
        """The sync says what happened."""
