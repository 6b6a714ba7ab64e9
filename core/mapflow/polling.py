"""Waiting for one Mapflow processing with backoff: what `mapbridge:mapflow_process` does after starting.

The dock's list rounds over a project live in listing.py."""

from __future__ import annotations

import time
from dataclasses import dataclass

from ...api.errors import CancelledError, MapbridgeError, RateLimitedError, ServiceError
from ...api.http import RateLimitWaits, describe_rate_wait
from .processings import FAILED, FINAL, RUNNING, aoi_messages_text, messages_text, status_of

MAPFLOW = "mapflow"
# Consecutive failed status reads tolerated while waiting (the service may blip during a long processing).
MAX_POLL_ERRORS = 5
# Consecutive reads of a status the docs do not list (or none at all) before waiting stops: never forever.
MAX_UNKNOWN_POLLS = 10


@dataclass
class Backoff:
    """Polling intervals: `initial` seconds growing by `factor` up to `maximum`."""

    initial: float = 1.0
    factor: float = 1.5
    maximum: float = 30.0

    def intervals(self):
        """Endless generator of waits."""
        wait = self.initial
        while True:
            yield wait
            wait = min(self.maximum, wait * self.factor)


def stopped_waiting_error(processing_id):
    """The cancel message that keeps the processing id for later."""
    return CancelledError(
        f"Stopped waiting for processing {processing_id}; it keeps running on Mapflow. "
        f"Fetch its result later with 'Mapflow: load processing results' (PROCESSING_ID {processing_id}) "
        "or from the Mapflow tab", service=MAPFLOW)


def wait_for_processing(client, processing_id, feedback, *, backoff=None, sleep=time.sleep, clock=time.monotonic,
                        on_status=None):
    """Poll GET /processings/{id}/v2 until a final status; returns the answer when OK, raises otherwise."""
    intervals = (backoff or Backoff()).intervals()
    errors = unknown = 0
    last = None
    waits = RateLimitWaits()
    while True:
        if feedback.isCanceled():
            raise stopped_waiting_error(processing_id)
        try:
            answer = client.processing(processing_id)
            errors = 0
        except CancelledError:
            raise stopped_waiting_error(processing_id) from None      # a stalled status read, aborted by cancel
        except RateLimitedError as exc:
            seconds, named = waits.next(exc)
            feedback.pushInfo(describe_rate_wait(MAPFLOW, seconds, named))
            _sleep_cancellably(seconds, feedback, processing_id, sleep, clock)
            continue
        except ServiceError as exc:
            if exc.status is not None and exc.status < 500 and exc.status not in (408, 429):
                raise
            errors += 1
            if errors > MAX_POLL_ERRORS:
                raise ServiceError(f"the status of processing {processing_id} could not be read: {exc.message}",
                                   service=MAPFLOW, status=exc.status,
                                   hint="It may still be running; fetch its result later by its id") from None
            feedback.pushWarning(f"Mapflow: reading the status failed ({exc.message}); trying again")
            answer = None
        if answer is not None:
            status, percent = status_of(answer)
            feedback.setProgress(percent)
            if (status, percent) != last:
                feedback.pushInfo(f"Processing {processing_id}: {status}, {percent:.0f}%")
                last = (status, percent)
            if on_status is not None:
                on_status(answer)
            if status == "OK":
                return answer
            unknown = unknown + 1 if _undocumented(answer) else 0
            if unknown >= MAX_UNKNOWN_POLLS:
                raise MapbridgeError(
                    f"processing {processing_id} reports the status '{answer.get('status')}', which Mapflow does "
                    f"not document; Mapbridge stopped waiting after {unknown} reads", service=MAPFLOW,
                    hint="Check it in the Mapflow tab or on mapflow.ai; once it is OK, fetch its result by its id")
            if status in FAILED:
                details = messages_text(answer) or aoi_messages_text(client, processing_id) \
                    or "the service gave no reason"
                raise MapbridgeError(f"processing {processing_id} ended with status {status}: {details}",
                                     service=MAPFLOW,
                                     hint="Check the AOI, the model and the imagery source, then start it again")
        _sleep_cancellably(next(intervals), feedback, processing_id, sleep, clock)


def _undocumented(answer):
    """True when a status answer carries no status, or one the docs do not list."""
    return str(answer.get("status") or "").upper() not in RUNNING + FINAL


def _sleep_cancellably(seconds, feedback, processing_id, sleep, clock):
    deadline = clock() + seconds
    while clock() < deadline:
        if feedback.isCanceled():
            raise stopped_waiting_error(processing_id)
        sleep(min(0.1, max(0.0, deadline - clock())))
