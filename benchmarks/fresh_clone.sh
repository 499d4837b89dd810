#!/bin/bash
# What a new user meets: clone REPO (default: this checkout) into DEST, run the README's Quick start
# command verbatim, then every command of docs/tutorial.md verbatim, printing exit code and seconds.
#   bash benchmarks/fresh_clone.sh [REPO] [DEST]
set -u
repo=${1:-$(git rev-parse --show-toplevel)}
dest=${2:-$(mktemp -d)/archc}
git clone -q "$repo" "$dest" && cd "$dest" || exit 1
start=$(date +%s)
python3 -m venv .venv && . .venv/bin/activate && pip install torch==2.13.0 && pip install -e . && archc build specs/fastscnn.yaml --pass width=0.125
echo "README quick start: exit $? in $(( $(date +%s) - start )) s"
. .venv/bin/activate
python - <<'PY'
import re, subprocess, time
text = open("docs/tutorial.md").read()
lines = [l.strip() for b in re.findall(r"```sh\n(.*?)```", text, re.S) for l in b.splitlines() if l.strip()]
total = 0.0
for line in lines:
    start = time.perf_counter()
    done = subprocess.run(line, shell=True, capture_output=True, text=True)
    total += time.perf_counter() - start
    print(f"{done.returncode} {time.perf_counter() - start:7.1f} s  {line}", flush=True)
print(f"tutorial: {len(lines)} commands, {total:.1f} s")
PY
