"""Run every benchmark module in turn and print their figures.

Each module exposes ``main() -> int``. A module that needs a service it cannot
reach (PostgreSQL) says so and is skipped by itself; the others still run.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys
import time

import bench


def main(argv: list[str]) -> int:
    wanted = set(argv)
    failures = 0
    for info in sorted(pkgutil.iter_modules(bench.__path__), key=lambda m: m.name):
        if info.name.startswith("_") or (wanted and info.name not in wanted):
            continue
        mod = importlib.import_module(f"bench.{info.name}")
        if not hasattr(mod, "main"):
            continue
        print(f"== bench.{info.name}", flush=True)
        started = time.perf_counter()
        rc = mod.main()
        print(f"   ({time.perf_counter() - started:.1f} s, exit {rc})", flush=True)
        failures += rc != 0
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
