"""Checkpoint a SQLite database's write-ahead log on a thread of its own.

SQLite's automatic checkpoint runs inside whichever commit crosses the threshold: that thread
copies tens of MB from the log into the database and syncs the file before it goes on. During
a collection that is the raw writer or the extractor, so a second of checkpoints a million rows
sat on the path every write waits on. Here the committing connections never checkpoint
(`wal_autocheckpoint=0`); one thread per engine looks at the log a few times a second and runs
a PASSIVE checkpoint once it has grown past the threshold and changed since the last one: it
copies what no reader still needs, never waits for or blocks a writer, and runs beside the
writes on another core. SQLite starts the log over after a complete checkpoint and cuts the
file down to `JOURNAL_LIMIT_BYTES`, below the threshold.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
import weakref
from pathlib import Path
from typing import Any

log = logging.getLogger("incidentlake.db")

THRESHOLD_BYTES = 64 * 1024 * 1024  # as the automatic checkpoint we replace (~1,000 64 KB pages)
JOURNAL_LIMIT_BYTES = THRESHOLD_BYTES // 4
POLL_SECONDS = 0.1


class WalCheckpointer:
    """The checkpoint thread of one SQLite file; `ensure_running` starts it (again after
    `stop`); it ends at `stop` or when its owner (the engine) is garbage-collected."""

    def __init__(
        self, path: str, owner: Any, *, threshold: int = THRESHOLD_BYTES, poll: float = POLL_SECONDS
    ) -> None:
        self.path = path
        self.wal = f"{path}-wal"
        self.threshold = threshold
        self.poll = poll
        self.checkpoints = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        weakref.finalize(owner, self._owner_gone)  # the thread must not keep the engine alive

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def ensure_running(self) -> None:
        with self._lock:
            if self.running:
                return
            self._stop = threading.Event()
            self._thread = threading.Thread(
                target=self._run, args=(self._stop,), name="sqlite-checkpoint", daemon=True
            )
            self._thread.start()

    def _owner_gone(self) -> None:
        self._stop.set()

    def stop(self) -> None:
        with self._lock:
            thread, self._thread = self._thread, None
            self._stop.set()
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=5)

    def _run(self, stop: threading.Event) -> None:
        conn: sqlite3.Connection | None = None
        last: tuple[int, int] | None = None  # the log's (size, mtime) at the last checkpoint
        try:
            while not stop.wait(self.poll):
                try:
                    st = os.stat(self.wal)
                except OSError:
                    continue  # no log yet (or any more)
                seen = (st.st_size, st.st_mtime_ns)
                if st.st_size < self.threshold or seen == last:
                    continue
                try:
                    if conn is None:  # read-write, never creating a database that is gone
                        uri = f"{Path(self.path).resolve().as_uri()}?mode=rw"
                        conn = sqlite3.connect(uri, uri=True, isolation_level=None, check_same_thread=False)
                    conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
                    self.checkpoints += 1
                    last = seen
                except sqlite3.OperationalError as exc:  # busy: another process checkpoints
                    log.debug("WAL checkpoint of %s skipped: %s", self.path, exc)
                except Exception:  # keep checkpointing: commits never do it themselves
                    log.warning("WAL checkpoint of %s failed", self.path, exc_info=True)
        finally:
            if conn is not None:
                conn.close()
