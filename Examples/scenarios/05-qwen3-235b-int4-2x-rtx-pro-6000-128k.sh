#!/usr/bin/env bash
# A 235B-class MoE (Qwen3-235B-A22B) in int4 with 128k context on the same pair,
# its config extended to 131072 tokens with YaRN as its model card describes.
# expect: fits
cd "$(dirname "$0")/.." && shardplan plan models/qwen3-235b-a22b-yarn.config.json --quant int4 \
  --topology 2x-rtx-pro-6000-blackwell --context 131072 --kv-dtype fp8 "$@"
