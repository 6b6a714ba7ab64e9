"""Short garbage collections while a job streams many objects: one nesting-safe guard for every job."""

from __future__ import annotations

import gc
import threading
from contextlib import contextmanager

_lock = threading.Lock()
_depth = 0


@contextmanager
def quiet_gc():
    """Full collections look only at the objects made during the job (however many jobs overlap).

    A full collection walks every object of the QGIS process (30+ ms holding the GIL, a visible stall of the
    main thread). gc.freeze() sets the objects alive now aside; the last job to end unfreezes them, so a push
    ending during a load never turns the load's freeze off. Nothing is lost or kept: collections merely skip.
    """
    global _depth
    with _lock:
        _depth += 1
        if _depth == 1:
            gc.freeze()
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0:
                gc.unfreeze()
