"""A GeoPackage R-tree built alongside a bulk load, in a background thread, then copied into the file.

SQLite inserts into an R-tree at ~10 µs a row; done at the end (GDAL's CreateSpatialIndex) that is a second
of a 100,000-record load that nothing else overlaps. Here each page's points go, as one JSON array, to a
thread that inserts them with a single SQL statement (one GIL release per page, not per row) into an R-tree
of a private temporary database, so SQLite works while the next pages are parsed, and memory stays flat.
At the end the R-tree's three storage tables
(`_node`, `_rowid`, `_parent`, the SQLite R-tree format) are copied into the GeoPackage's own R-tree, which GDAL
created (table, triggers, extension entry). Anything unexpected makes finish_into() return False, and the
caller lets GDAL build the index the usual way.
"""

from __future__ import annotations

import json
import math
import queue
import sqlite3
import threading

SHADOW_TABLES = ("node", "rowid", "parent")


class RtreeBuilder:
    """Collects (fid, x, y) per page; finish_into() copies the finished R-tree into a GeoPackage."""

    def __init__(self):
        self.error = None
        self.count = 0
        # "": a private temporary database on disk (only a small page cache in memory, whatever the record count).
        self.con = sqlite3.connect("", check_same_thread=False, isolation_level=None)
        try:
            self.con.execute("CREATE VIRTUAL TABLE r USING rtree(id, minx, maxx, miny, maxy)")
            self.con.execute("SELECT count(*) FROM json_each('[[1, 2.5, 3.5]]')").fetchone()
        except sqlite3.Error as exc:  # no R-tree or JSON1 in this SQLite: GDAL builds the index instead
            self.error = exc
        self.jobs = queue.Queue(maxsize=8)
        self.thread = None
        if self.error is None:
            self.con.execute("BEGIN")
            self.thread = threading.Thread(target=self._run, name="mapalyze-rtree", daemon=True)
            self.thread.start()

    @property
    def available(self):
        """False when this SQLite cannot build the index here."""
        return self.error is None

    def add(self, fids, coords):
        """Queue the points of one page (coords: [x, y, ...] or None, aligned with fids)."""
        if self.error is not None:
            return
        points = [[f, c[0], c[1]] for f, c in zip(fids, coords)
                  if f is not None and c is not None and math.isfinite(c[0]) and math.isfinite(c[1])]
        if points:
            self.count += len(points)
            self.jobs.put(json.dumps(points))

    def _run(self):
        sql = ("INSERT INTO r SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]'), "
               "json_extract(value, '$[1]'), json_extract(value, '$[2]'), json_extract(value, '$[2]') "
               "FROM json_each(?)")
        while True:
            job = self.jobs.get()
            if job is None:
                return
            if self.error is None:
                try:
                    self.con.execute(sql, (job,))
                except sqlite3.Error as exc:
                    self.error = exc

    def _stop(self):
        if self.thread is not None:
            self.jobs.put(None)
            self.thread.join()
            self.thread = None

    def finish_into(self, path, rtree):
        """Copy the R-tree into `rtree` of the GeoPackage at `path` (no other writer may be active)."""
        self._stop()
        if self.error is not None:
            return False
        try:
            self.con.execute("COMMIT")
            stored = self.con.execute("SELECT count(*) FROM r_rowid").fetchone()[0]
            if stored != self.count:
                return False
            self.con.execute("ATTACH DATABASE ? AS g", (path,))
            self.con.execute("BEGIN IMMEDIATE")
            for name in SHADOW_TABLES:
                self.con.execute(f'DELETE FROM g."{rtree}_{name}"')
                self.con.execute(f'INSERT INTO g."{rtree}_{name}" SELECT * FROM main."r_{name}"')
            self.con.execute("COMMIT")
            self.con.execute("DETACH DATABASE g")
            return True
        except sqlite3.Error as exc:
            self.error = exc
            if self.con.in_transaction:
                self.con.execute("ROLLBACK")
            return False

    def close(self):
        """Stop the thread and free the in-memory database."""
        self._stop()
        self.con.close()
