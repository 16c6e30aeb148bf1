"""``python -m bench``: run every ``bench/bench_*.py`` module that is present.

Each module exposes ``main()`` and prints its own table. A module that fails
to import or run is reported and skipped; the exit code says whether all ran.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys
import time
import traceback
from pathlib import Path


def main() -> int:
    names = sorted(
        info.name
        for info in pkgutil.iter_modules([str(Path(__file__).parent)])
        if info.name.startswith("bench_")
    )
    # bench_core first: it holds the headline ratios.
    names.sort(key=lambda name: (name != "bench_core", name))
    failed = []
    for name in names:
        print(f"\n=== {name} ===", flush=True)
        started = time.perf_counter()
        try:
            module = importlib.import_module(f"bench.{name}")
            run = getattr(module, "main", None)
            if not callable(run):
                print(f"(skipped: bench.{name} has no main())")
                continue
            run()
        except Exception:
            failed.append(name)
            traceback.print_exc(limit=3)
        print(f"--- {name}: {time.perf_counter() - started:.1f} s", flush=True)
    if failed:
        print(f"\nfailed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
