#!/usr/bin/env bash
# Runs the script `shardplan measure` writes on the CPU (PyTorch from PyPI, small
# shapes, gloo for the all-reduce under torchrun with two processes) and reconciles
# its output: every measurement line must be read, the derived calibration file must
# be one `plan --calibration` accepts. Uses the consumers venv of check-emitters.sh
# (run that first) and the debug build.
set -euo pipefail
cd "$(dirname "$0")/.."
python=.build/conformance/consumers/bin/python
torchrun=.build/conformance/consumers/bin/torchrun
shardplan=.build/debug/shardplan
[ -x "$python" ] || Scripts/check-emitters.sh consumers
[ -x "$shardplan" ] || swift build
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
plan=(meta-llama/Llama-3.1-8B --topology 2x-rtx-3090-nvlink --strategy tensor --objective latency)
"$shardplan" measure "${plan[@]}" --output "$work/measure.py"
"$python" "$work/measure.py" --small >"$work/measure.log"
PYTHONWARNINGS=ignore "$torchrun" --nproc-per-node 2 "$work/measure.py" --small >>"$work/measure.log" 2>"$work/torchrun.err" || {
  cat "$work/torchrun.err" >&2
  exit 1
}
"$shardplan" reconcile "$work/measure.log" --model "${plan[@]}" --format json \
  --write-calibration "$work/calibration.yaml" >"$work/reconcile.json"
"$python" - "$work/reconcile.json" <<'PY'
import json, sys
rows = json.load(open(sys.argv[1]))["logs"][0]["rows"]
terms = {row["term"] for row in rows}
missing = {"hbmBandwidth", "gemmBF16", "allReduceBusBandwidth"} - terms
if missing:
    sys.exit(f"check-measure: reconcile read no {sorted(missing)} from the script's output")
for row in rows:
    if row["term"] != "allReduceBusBandwidth" and row.get("predicted") is None:
        sys.exit(f"check-measure: no prediction for {row['term']}")
print(f"check-measure: {len(rows)} measurements reconciled")
PY
"$shardplan" plan "${plan[@]}" --calibration "$work/calibration.yaml" >/dev/null
echo "check-measure: the derived calibration plans"
