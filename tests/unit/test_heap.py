"""freeze_startup_heap: once per process, at the first task."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

SCRIPT = """
import gc
from core.heap import freeze_startup_heap
print(gc.get_freeze_count() == 0, freeze_startup_heap(), gc.get_freeze_count() > 0, freeze_startup_heap())
"""


def test_the_startup_heap_is_frozen_once_per_process() -> None:
    out = subprocess.run(
        [sys.executable, "-c", SCRIPT],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert out.stdout.split() == ["True", "True", "True", "False"]
