"""Temporary files written beside an output and moved into place once complete.

Each is named after the process writing it (".<base>.<pid>-<random><suffix>"), so a later run removes the ones a
killed run left behind, and never those of a run still going (in this QGIS or another process).
"""

from __future__ import annotations

import os
import re
import threading
import uuid
from contextlib import contextmanager

SQLITE_SIDE_FILES = ("-journal", "-wal", "-shm")
_ACTIVE = set()             # temporary files being written in this process
_LOCK = threading.Lock()


def remove_file(path):
    """Remove a file and the side files SQLite may have left beside it (absent ones are fine)."""
    for suffix in ("",) + SQLITE_SIDE_FILES:
        try:
            os.remove(path + suffix)
        except FileNotFoundError:
            pass


@contextmanager
def temporary_beside(folder, base, suffix):
    """A new temporary path beside the output; whatever is still there when the block ends is removed."""
    path = os.path.join(folder, f".{base}.{os.getpid()}-{uuid.uuid4().hex[:8]}{suffix}")
    with _LOCK:
        _ACTIVE.add(path)
    try:
        yield path
    finally:
        with _LOCK:
            _ACTIVE.discard(path)
        remove_file(path)


def _process_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True         # exists, owned by someone else
    return True


def remove_stale(folder, base, suffix):
    """Remove the temporary files of `base` that killed runs left in `folder` (best effort: one that cannot be
    removed is left for the next run); returns the paths removed."""
    # Only names made here, ".<base>.<pid>-<8 hex><suffix>" (older versions: no pid), and their SQLite side files;
    # never another output's, such as ".<base>.v2.<pid>-…".
    ours = re.compile(rf"\.{re.escape(base)}\.(?:(\d+)-)?[0-9a-f]{{8}}{re.escape(suffix)}")
    try:
        names = os.listdir(folder)
    except OSError:
        return []
    candidates = set()
    for name in names:
        side = next((s for s in SQLITE_SIDE_FILES if name.endswith(s)), "")
        match = ours.fullmatch(name[:len(name) - len(side)])
        if match is not None:
            candidates.add((match.group(0), match.group(1)))
    removed = []
    for name, owner in sorted(candidates):
        path = os.path.join(folder, name)
        with _LOCK:
            active = path in _ACTIVE
        # This process's own files that no run here is writing are stale too (a run that died with its thread).
        if active or (owner is not None and int(owner) != os.getpid() and _process_alive(int(owner))):
            continue
        try:
            remove_file(path)
        except OSError:
            continue
        removed.append(path)
    return removed
