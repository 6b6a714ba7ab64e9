"""The send gate of the push jobs: a few requests in flight, keys kept apart, recovery alone, cancel."""

from __future__ import annotations

import threading
import time

import pytest
from qgis.core import QgsFeedback

from mapbridge.api.errors import CancelledError
from mapbridge.core.push.job import SendGate


class Tracker:
    """Counts what is inside the gate at once."""

    def __init__(self):
        self.lock = threading.Lock()
        self.inside = 0
        self.most = 0
        self.log = []

    def visit(self, what, seconds=0.05):
        with self.lock:
            self.inside += 1
            self.most = max(self.most, self.inside)
            self.log.append(("in", what, self.inside))
        time.sleep(seconds)
        with self.lock:
            self.inside -= 1
            self.log.append(("out", what, self.inside))


def run_threads(targets):
    threads = [threading.Thread(target=t) for t in targets]
    for thread in threads:
        thread.start()
        time.sleep(0.005)       # in this order
    for thread in threads:
        thread.join(10)


def test_at_most_limit_requests_and_never_two_with_the_same_key():
    gate, tracker = SendGate(2, QgsFeedback()), Tracker()

    def request(name, keys=()):
        def go():
            with gate.shared(keys):
                tracker.visit(name)
        return go

    run_threads([request(i) for i in range(6)])
    assert tracker.most == 2

    tracker = Tracker()
    run_threads([request("a", ["id-1"]), request("b", ["id-1"])])
    assert tracker.most == 1, "two requests touching the same remote id go one after the other"


def test_room_keeps_a_nearly_empty_rate_limit_bucket_to_one_request():
    gate, tracker = SendGate(3, QgsFeedback()), Tracker()

    def go():
        with gate.shared((), room=lambda in_flight: in_flight < 1):
            tracker.visit("r")

    run_threads([go, go, go])
    assert tracker.most == 1


def test_recovery_runs_alone_and_nothing_slips_in_after_a_failed_request():
    gate, tracker = SendGate(2, QgsFeedback()), Tracker()

    def failing():
        with gate.shared() as slot:
            tracker.visit("failed", 0.05)
            slot.then_exclusive = True
        with gate.exclusive(reserved=True):
            tracker.visit("recovery", 0.05)

    def other(name):
        def go():
            with gate.shared():
                tracker.visit(name, 0.1)
        return go

    run_threads([failing, other("in flight"), other("late 1"), other("late 2")])
    recovery_in = next(i for i, event in enumerate(tracker.log) if event[:2] == ("in", "recovery"))
    assert tracker.log[recovery_in][2] == 1, "nothing else was in flight during the recovery"
    recovery_out = next(i for i, event in enumerate(tracker.log) if event[:2] == ("out", "recovery"))
    late = [i for i, event in enumerate(tracker.log) if event[0] == "in" and event[1].startswith("late")]
    assert all(i > recovery_out for i in late), "no request started between the failure and the recovery"


def test_waiting_at_the_gate_can_be_cancelled():
    feedback = QgsFeedback()
    gate = SendGate(1, feedback)
    errors = []

    def waiter():
        try:
            with gate.shared():
                pass
        except CancelledError as exc:
            errors.append(exc)

    with gate.shared():
        thread = threading.Thread(target=waiter)
        thread.start()
        time.sleep(0.05)
        feedback.cancel()
        thread.join(5)
    assert errors and not thread.is_alive()
    with pytest.raises(CancelledError):
        with gate.shared(), gate.exclusive():
            pass
