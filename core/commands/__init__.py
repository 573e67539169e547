"""CLI commands beyond the basics: each module registers its commands on `core.cli.app`."""

from __future__ import annotations

import importlib
import pkgutil


def load_all() -> None:
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        importlib.import_module(f"{__name__}.{info.name}")
