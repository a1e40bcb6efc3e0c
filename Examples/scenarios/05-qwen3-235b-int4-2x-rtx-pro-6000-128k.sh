#!/usr/bin/env bash
# A 235B-class MoE (Qwen3-235B-A22B) in int4 with 128k context on the same pair.
# expect: fits
cd "$(dirname "$0")/.." && shardplan plan models/qwen3-235b-a22b.config.json --quant int4 \
  --topology 2x-rtx-pro-6000-blackwell --context 131072 --kv-dtype fp8 "$@"
