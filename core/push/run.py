"""Run a push job over the input features and account for every one of them, whatever happens."""

from __future__ import annotations

from ...api.errors import CancelledError, MapbridgeError, service_title
from ..gc_guard import quiet_gc
from ..log import log_exception
from .items import (
    CREATED,
    DELETED,
    NOT_SENT,
    SKIPPED,
    UPDATED,
    PushItem,
    build_item,
    counts,
    describe_counts,
    mark_not_sent,
    skip_reasons,
)
from .geometry import SkipFeature
from .batch_sender import BatchSender

ARRIVED = (CREATED, UPDATED, DELETED)
CANCELLED = "not sent: the push was cancelled"


def run_push(job, features, make_payload, feedback, total=0, report=None):
    """Build each feature's payload and send them in batches (in a sender thread) through the job.

    Returns (items, counts). Every feature gets an item, whatever happens; a failure part-way marks what
    was not sent. Raises only when nothing at all happened (e.g. a wrong token on the first request).
    `report.write_ready(items)` (a ReportWriter) writes the rows whose outcome is known as batches go.
    """
    items = []
    features = iter(features)
    job.expected = total
    try:
        if feedback.isCanceled():
            raise CancelledError()
        job.start()
        idle = (lambda: report.write_ready(items)) if report is not None else None
        with quiet_gc():
            sender = BatchSender(job.send, workers=job.max_in_flight)
            try:
                _produce(job, features, make_payload, feedback, items, sender, idle)
            finally:
                sender.close(idle)
        job.finish()
        job.report_text_changes()
    except CancelledError:
        _drain(features, make_payload, items, CANCELLED)
        mark_not_sent(items, CANCELLED)
        feedback.pushInfo(f"{service_title(job.service)}: cancelled; the report tells which features arrived")
    except MapbridgeError as exc:
        _stop(job, features, make_payload, items, feedback, exc, exc.user_message())
    except Exception as exc:  # noqa: BLE001 - the report must still say what arrived; the error is logged
        _stop(job, features, make_payload, items, feedback, MapbridgeError(log_exception(exc), service=job.service),
              None)
    tally = counts(items)
    feedback.pushInfo(f"{service_title(job.service)}: {describe_counts(tally)}")
    for reason, n in skip_reasons(items).most_common(5):
        feedback.pushInfo(f"  skipped {n:,}: {reason}")
    return items, tally


def _produce(job, features, make_payload, feedback, items, sender, idle=None):
    """Build items in input order and hand full batches to the sender; idle() after each batch."""
    batch = []
    accept, size, stopped, encode = job.accept, job.batch_size, sender.stopped.is_set, job.encode
    for feature in features:
        index = len(items)
        if not index % 64 and feedback.isCanceled():
            items.append(PushItem(index, feature, status=NOT_SENT, error=CANCELLED))
            break
        try:
            item = PushItem(index, feature, make_payload(feature))
        except SkipFeature as skip:
            items.append(PushItem(index, feature, status=SKIPPED, error=skip.reason))
            continue
        items.append(item)
        if stopped():
            continue        # the sender failed: keep one row per feature; close() tells why
        if accept(item):
            batch.append(item)
            if len(batch) >= size:
                encode(batch)
                sender.put(batch)
                batch = []
                if idle is not None:
                    idle()
    if batch:
        encode(batch)
        sender.put(batch)
    if feedback.isCanceled():
        raise CancelledError()


def _drain(features, make_payload, items, reason):
    """Items for the features not read yet (skip reasons still apply; the rest are not sent)."""
    for feature in features:
        item = build_item(len(items), feature, make_payload)
        if item.pending:
            item.done(NOT_SENT, error=reason)
        items.append(item)


def _stop(job, features, make_payload, items, feedback, exc, message):
    """A failure: raise when nothing happened, else mark what was not sent and say so."""
    message = message or exc.user_message()
    _drain(features, make_payload, items, f"not sent: {message}")
    if not _anything_done(job, items):
        raise exc
    mark_not_sent(items, f"not sent: {message}")
    feedback.reportError(f"{message} The push stopped part-way; the report tells which features arrived.")


def _anything_done(job, items):
    return getattr(job, "created_map", False) or any(item.status in ARRIVED for item in items)
