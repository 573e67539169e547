"""Checkpoint a SQLite database's write-ahead log on a thread of its own.

SQLite's automatic checkpoint runs inside whichever commit crosses the threshold: that thread
copies tens of MB from the log into the database and syncs the file before it goes on. During
a collection that is the raw writer or the extractor, so a second of checkpoints a million rows
sat on the path every write waits on. Here the committing connections never checkpoint
(`wal_autocheckpoint=0`); one thread per engine looks at the log's size a few times a second
and runs a PASSIVE checkpoint once it is past the threshold: it copies what no reader still
needs, never waits for or blocks a writer, and runs beside the writes on another core.
`journal_size_limit` truncates the log file once SQLite starts it over.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
import weakref
from typing import Any

log = logging.getLogger("incidentlake.db")

THRESHOLD_BYTES = 64 * 1024 * 1024  # as the automatic checkpoint we replace (~1,000 64 KB pages)
POLL_SECONDS = 0.1


class WalCheckpointer:
    """The checkpoint thread of one SQLite file; it ends when `stop` is called or its owner
    (the engine) is garbage-collected."""

    def __init__(
        self, path: str, owner: Any, *, threshold: int = THRESHOLD_BYTES, poll: float = POLL_SECONDS
    ) -> None:
        self.path = path
        self.wal = f"{path}-wal"
        self.threshold = threshold
        self.poll = poll
        self.checkpoints = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="sqlite-checkpoint", daemon=True)
        weakref.finalize(owner, self._stop.set)  # the thread must not keep the engine alive
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not threading.current_thread():
            self._thread.join(timeout=5)

    def _run(self) -> None:
        conn: sqlite3.Connection | None = None
        try:
            while not self._stop.wait(self.poll):
                try:
                    if os.path.getsize(self.wal) < self.threshold:
                        continue
                except OSError:
                    continue  # no log yet (or any more)
                try:
                    if conn is None:
                        uri = f"file:{self.path}?mode=rw"  # never create a database that is gone
                        conn = sqlite3.connect(uri, uri=True, isolation_level=None, check_same_thread=False)
                    conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
                    self.checkpoints += 1
                except sqlite3.Error as exc:  # busy (another checkpointer) or a vanished file
                    log.debug("WAL checkpoint of %s skipped: %s", self.path, exc)
        finally:
            if conn is not None:
                conn.close()
