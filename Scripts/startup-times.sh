#!/usr/bin/env bash
# Whole-process start-up times: the median of 20 runs (after 2 warm-up runs) of
# a static C binary that does nothing (the floor), `shardplan --version`, and the
# quick-start plan, each started with an empty environment, as `env -i` would.
# Usage: Scripts/startup-times.sh [BINARY]   (default: the one Scripts/install.sh builds)
set -euo pipefail
cd "$(dirname "$0")/.."
binary=${1:-.build/install/release/shardplan}
[ -x "$binary" ] || { echo "startup-times: no $binary; run Scripts/install.sh first" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
printf 'int main(void) { return 0; }\n' >"$work/nop.c"
cc -O2 -static -o "$work/nop" "$work/nop.c"
python3 - "$work/nop" "$binary" <<'PY'
import statistics, subprocess, sys, time
nop, binary = sys.argv[1:3]
def median_ms(command, runs=20):
    times = []
    for _ in range(runs + 2):
        start = time.perf_counter()
        subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env={}, check=False)
        times.append(time.perf_counter() - start)
    return statistics.median(times[2:]) * 1000
cases = [
    ("static C no-op (the floor)", [nop]),
    ("shardplan --version", [binary, "--version"]),
    ("shardplan topology 2x-rtx-pro-6000-blackwell", [binary, "topology", "2x-rtx-pro-6000-blackwell"]),
    ("shardplan plan Qwen/Qwen2.5-72B --topology 2x-rtx-pro-6000-blackwell",
     [binary, "plan", "Qwen/Qwen2.5-72B", "--topology", "2x-rtx-pro-6000-blackwell"]),
]
for name, command in cases:
    print(f"{median_ms(command):7.2f} ms  {name}")
PY
