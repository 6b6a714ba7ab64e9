"""Waiting that can be cancelled and tells when it goes on (rate limits, back-off)."""

from __future__ import annotations

import time
from datetime import datetime, timedelta

from ...api.errors import CancelledError, service_title
from ...api.http import wait_for_rate_limit

RESET_MARGIN_SECONDS = 1.0


def clock_after(seconds):
    """Local clock time (HH:MM:SS) `seconds` from now."""
    return (datetime.now() + timedelta(seconds=seconds)).strftime("%H:%M:%S")


def describe_wait(seconds):
    """"42 s" or "12 min 5 s"."""
    seconds = int(round(seconds))
    if seconds < 90:
        return f"{seconds} s"
    minutes, rest = divmod(seconds, 60)
    return f"{minutes} min {rest} s" if rest else f"{minutes} min"


def sleep_cancellable(seconds, feedback, step=0.2):
    """Sleep, checking the feedback for cancel; raises CancelledError."""
    deadline = time.monotonic() + seconds
    while True:
        if feedback is not None and feedback.isCanceled():
            raise CancelledError()
        left = deadline - time.monotonic()
        if left <= 0:
            return
        time.sleep(min(step, left))


def announce(feedback, service, why, seconds):
    """Say in the log how long we wait and at what clock time the push goes on."""
    text = (f"{service_title(service)}: {why}; waiting {describe_wait(seconds)}, "
            f"going on at {clock_after(seconds)} (you may cancel)")
    if feedback is not None:
        feedback.pushInfo(text)
    return text


def wait_for_bucket(state, feedback, service, bucket_name):
    """When the last answer said a bucket is empty, wait until it refills (instead of earning a 429)."""
    if state is None or not state.exhausted():
        return 0.0
    seconds = state.seconds_until_reset()
    if seconds <= 0:
        return 0.0
    seconds += RESET_MARGIN_SECONDS
    limit = f" ({state.limit:,.0f} requests)" if state.limit else ""
    announce(feedback, service, f"the {bucket_name} rate limit is used up{limit}", seconds)
    sleep_cancellable(seconds, feedback)
    state.remaining = None          # unknown until the next answer
    return seconds


def call_rate_limited(call, feedback, service):
    """Run call(); on a 429 with a long Retry-After wait as asked (cancellably, saying until when) and retry."""
    def on_wait(seconds, named):
        why = "rate limit reached (HTTP 429)" if named else \
            "rate limit reached (HTTP 429, no wait named; backing off)"
        announce(feedback, service, why, seconds)

    cancelled = feedback.isCanceled if feedback is not None else (lambda: False)
    return wait_for_rate_limit(call, cancelled=cancelled, on_wait=on_wait)
