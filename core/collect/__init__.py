"""Helpers for the three layers: raw (collect) → tool (extract) → domain (convert).

Incremental processing uses raw-id watermarks: extract reads raw rows with an id above its
watermark, and convert reads tool rows whose `_raw_data_id` is above its own, so each run
touches only what changed. A watermark is saved only after its subtask succeeds; fullSync
resets them.
"""

from core.collect.raw import RawRecord, RawWriter, iter_raw, raw_params
from core.collect.state import StateStore, Watermark
from core.collect.stream import range_batches, stream_rows

__all__ = [
    "RawRecord",
    "RawWriter",
    "StateStore",
    "Watermark",
    "iter_raw",
    "range_batches",
    "raw_params",
    "stream_rows",
]
