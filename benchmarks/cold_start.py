"""Cold start: CPU time of a fresh `python -m archc ...` process, this tree against another checkout of
archc, interleaved (A, B, A, B, ...) in one run so that both see the same machine load.

    git worktree add /tmp/old 9666047                      # the code before the application layer
    PYTHONPATH=. python benchmarks/cold_start.py --old /tmp/old [--rounds 7]

CPU time is user + system of the child (resource.getrusage(RUSAGE_CHILDREN) before and after each run),
which a loaded machine inflates less than wall clock; the median of the rounds is reported, and the load
average before and after. Each process gets PYTHONPATH=<its tree> and runs in that tree's folder.

Bytecode: by default the children inherit the environment (where PYTHONDONTWRITEBYTECODE=1 is set, as on
the shared machine, every run compiles archc's sources again). With --pyc each child writes and reads
bytecode under a fresh PYTHONPYCACHEPREFIX, and one untimed run of every command per tree comes first:
what an installed archc costs from its second run on (pip compiles bytecode when it installs).
"""
from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parents[1]
ENV = dict(os.environ)  # the children's environment (main() sets --pyc's bytecode folder)
COMMANDS = {"(python -c pass)": None, "--version": ["--version"], "--help": ["--help"],
            "summary fastscnn": ["summary", "fastscnn"], "summary fastscnn --json": ["summary", "fastscnn", "--json"]}


def cpu_seconds(tree: Path, args: list[str]) -> float:
    """User + system CPU seconds of one fresh `python -m archc ARGS` in `tree` (args None: the
    interpreter's own start, `python -c pass`, the floor under every figure)."""
    argv = [sys.executable, "-c", "pass"] if args is None else [sys.executable, "-m", "archc", *args]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    done = subprocess.run(argv, cwd=tree, capture_output=True, env=ENV | {"PYTHONPATH": str(tree)}, timeout=300)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(f"{tree}: archc {' '.join(args or [])} failed: {done.stderr.decode()[-500:]}")
    return after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime


def which_archc(tree: Path) -> str:
    """The archc package a process started in `tree` imports (checks that PYTHONPATH wins)."""
    code = "import archc, pathlib; print(pathlib.Path(archc.__file__).parent.parent)"
    return subprocess.run([sys.executable, "-c", code], cwd=tree, capture_output=True, text=True,
                          env=dict(os.environ, PYTHONPATH=str(tree)), check=True).stdout.strip()


def measure(trees: dict[str, Path], rounds: int) -> dict:
    """{command: {tree name: [seconds per round]}}, the trees alternating within every round."""
    times = {cmd: {name: [] for name in trees} for cmd in COMMANDS}
    for i in range(rounds):
        for cmd, args in COMMANDS.items():
            order = list(trees.items()) if i % 2 == 0 else list(trees.items())[::-1]  # who goes first alternates
            for name, tree in order:
                times[cmd][name].append(cpu_seconds(tree, args))
    return times


def table(times: dict) -> str:
    rows = ["| command | old: median CPU s | new: median CPU s | new / old | new, all rounds |",
            "|---|---|---|---|---|"]
    for cmd, by in times.items():
        old, new = statistics.median(by["old"]), statistics.median(by["new"])
        rounds = " ".join(f"{t:.3f}" for t in by["new"])
        name = cmd if cmd.startswith("(") else f"archc {cmd}"
        rows.append(f"| `{name}` | {old:.3f} | {new:.3f} | {new / old:.2f} | {rounds} |")
    return "\n".join(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--old", type=Path, required=True, help="another checkout of archc (git worktree add)")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--pyc", action="store_true", help="children cache bytecode (warm-up run first)")
    args = parser.parse_args()
    if args.pyc:
        ENV.pop("PYTHONDONTWRITEBYTECODE", None)
        ENV["PYTHONPYCACHEPREFIX"] = tempfile.mkdtemp(prefix="archc-pyc-")
    trees = {"old": args.old.resolve(), "new": HERE}
    for name, tree in trees.items():
        found = which_archc(tree)
        if Path(found) != tree:
            raise SystemExit(f"{name}: a process in {tree} imports archc from {found}, not from the tree")
    if args.pyc:
        measure(trees, 1)  # writes the bytecode; not counted
    load_before = os.getloadavg()
    times = measure(trees, args.rounds)
    load_after = os.getloadavg()
    bytecode = "cached (--pyc)" if args.pyc else "as the environment says (PYTHONDONTWRITEBYTECODE=" \
        f"{os.environ.get('PYTHONDONTWRITEBYTECODE', 'unset')})"
    print(f"{args.rounds} rounds, interleaved; bytecode {bytecode}; {os.cpu_count()} CPUs; load average (1, 5, 15 min)"
          f" before {', '.join(f'{x:.2f}' for x in load_before)}, after {', '.join(f'{x:.2f}' for x in load_after)}\n")
    print(table(times))
    if args.pyc:
        shutil.rmtree(ENV["PYTHONPYCACHEPREFIX"], ignore_errors=True)


if __name__ == "__main__":
    main()
