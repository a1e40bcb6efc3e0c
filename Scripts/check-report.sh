#!/usr/bin/env bash
# The HTML report in a real browser: renders the pages of three bundled scenarios
# and a topology with `--format html`, loads each in headless Chromium (Debian's
# `chromium`, installed here when missing), and checks what the browser built:
# the page loaded (its DOM ends in </html>), the SVG elements Chromium parsed
# match the counts the plan's and topology's JSON imply, and the screenshot is a
# real picture (its size, and more than a blank page's bytes).
# Usage: Scripts/check-report.sh [OUTPUT-FOLDER]   (the pages and screenshots are kept there)
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-$(mktemp -d)}
mkdir -p "$out"
if ! command -v chromium >/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "check-report: installing chromium with apt-get" >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-dejavu-core >/dev/null
  else
    echo "check-report: needs chromium; run: sudo apt-get install -y chromium fonts-dejavu-core" >&2
    exit 1
  fi
fi
[ -x .build/debug/shardplan ] || swift build --product shardplan
shardplan=.build/debug/shardplan
render() { # render NAME ARGS... : the page, its DOM as Chromium built it, a screenshot, the JSON
  local name=$1
  shift
  "$shardplan" "$@" --format html >"$out/$name.html" || [ $? = 1 ]
  "$shardplan" "$@" --format json >"$out/$name.json" || [ $? = 1 ]
  chromium --headless --no-sandbox --disable-gpu --hide-scrollbars --dump-dom "file://$(realpath "$out/$name.html")" \
    >"$out/$name.dom.html" 2>/dev/null
  chromium --headless --no-sandbox --disable-gpu --hide-scrollbars --window-size=1200,1500 \
    --screenshot="$out/$name.png" "file://$(realpath "$out/$name.html")" >/dev/null 2>&1
}
render plan-2x-rtx-pro-6000 plan Qwen/Qwen2.5-72B --topology 2x-rtx-pro-6000-blackwell --context 32768
render plan-deepseek-v3-2x8-h100 plan deepseek-ai/DeepSeek-V3 --topology 2x8-h100-ib --context 32768 --concurrency 64
render plan-llama70b-4x-rtx-4090 plan meta-llama/Llama-3.1-70B --topology 4x-rtx-4090 --context 8192
render topology-4x8-h100 topology 4x8-h100-ib
for topology in 2x-rtx-pro-6000-blackwell 2x8-h100-ib 4x-rtx-4090 4x8-h100-ib; do
  "$shardplan" topology "$topology" --format json >"$out/graph-$topology.json"
done
python3 - "$out" <<'PY'
import json, re, struct, sys
out = sys.argv[1]
cases = {
    "plan-2x-rtx-pro-6000": "2x-rtx-pro-6000-blackwell",
    "plan-deepseek-v3-2x8-h100": "2x8-h100-ib",
    "plan-llama70b-4x-rtx-4090": "4x-rtx-4090",
    "topology-4x8-h100": "4x8-h100-ib",
}
failures = []
for name, topology in cases.items():
    dom = open(f"{out}/{name}.dom.html", encoding="utf-8").read()
    graph = json.load(open(f"{out}/graph-{topology}.json"))
    def check(what, got, want):
        if got != want:
            failures.append(f"{name}: {what}: {got} in the DOM, {want} expected")
    check("page loaded", dom.rstrip().endswith("</html>"), True)
    check("<svg> elements", len(re.findall(r"<svg\b", dom)), 1 if name.startswith("topology") else 2)
    check("GPU nodes", len(re.findall(r'<g class="gpu-node"', dom)), len(graph["gpus"]))
    host = {gpu["index"]: gpu["host"] for gpu in graph["gpus"]}
    within = sum(1 for link in graph["links"] if host[link["from"]] == host[link["to"]])
    drops = len(graph["hosts"]) if len(graph["hosts"]) > 1 else 0
    check("link lines", len(re.findall(r'<line class="link link-', dom)), within + drops)
    if name.startswith("plan"):
        plan = json.load(open(f"{out}/{name}.json"))
        devices = plan["devices"]
        check("memory bars", len(re.findall(r'<g class="memory-bar ', dom)), len(devices))
        check("weight segments", len(re.findall(r'class="segment segment-weights"', dom)),
              sum(1 for d in devices if d["weightBytes"] > 0))
        check("verdict", f'verdict-{plan["verdict"]}">{plan["verdict"]}<' in dom, True)
    png = open(f"{out}/{name}.png", "rb").read()
    check("PNG signature", png[:8], b"\x89PNG\r\n\x1a\n")
    width, height = struct.unpack(">II", png[16:24])
    check("screenshot size", (width, height), (1200, 1500))
    # A blank 1200x1500 page compresses to a few kB; a drawn one to far more.
    if len(png) < 40_000:
        failures.append(f"{name}: the screenshot is {len(png)} bytes, a blank page")
    print(f"check-report: {name}: DOM and screenshot ({len(png)} bytes) as expected" if not any(f.startswith(name) for f in failures) else f"check-report: {name}: FAILED")
if failures:
    print("\n".join(failures), file=sys.stderr)
    sys.exit(1)
PY
echo "check-report: pages and screenshots in $out"
