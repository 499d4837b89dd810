"""Run the test suite on a loaded machine (issue 29): two CPU-bound processes per core spin beside it for the
whole run, then stop. A suite that waits on events and asserts no wall-clock times passes here as on a
quiet machine, only slower.

    python benchmarks/under_load.py                  # the README's test command, under load
    python benchmarks/under_load.py --per-core 3 -- tests/test_search.py   # other load, other pytest args

Prints the load average seen, pytest's closing line and the wall time; the exit code is pytest's.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time

SPIN = "import time\nend = time.time() + float(__import__('sys').argv[1])\nwhile time.time() < end:\n    pass\n"


def main(per_core: int, args: list[str], limit_s: float) -> int:
    burners = [subprocess.Popen([sys.executable, "-c", SPIN, str(limit_s)]) for _ in range(per_core * os.cpu_count())]
    start, loads = time.time(), []
    try:
        proc = subprocess.Popen([sys.executable, "-m", "pytest", *args], stdout=subprocess.PIPE, text=True)
        tail = []
        for line in proc.stdout:  # a burner stops by itself after limit_s even if this process is killed
            tail = (tail + [line.rstrip()])[-5:]
            loads.append(os.getloadavg()[0])
        code = proc.wait()
    finally:
        for b in burners:
            b.kill()
            b.wait()
    print(f"{len(burners)} spinning processes on {os.cpu_count()} cores; load average "
          f"{min(loads, default=0):.1f}-{max(loads, default=0):.1f}; {time.time() - start:.0f} s")
    print("\n".join(tail))
    return code


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-core", type=int, default=2, help="spinning processes per core (default 2)")
    parser.add_argument("--limit", type=float, default=5400, help="seconds after which the spinners stop anyway")
    parser.add_argument("pytest_args", nargs="*", help="after --: arguments for pytest (default: the suite)")
    ns = parser.parse_args()
    sys.exit(main(ns.per_core, ns.pytest_args, ns.limit))
