#!/usr/bin/env bash
# Llama-3.1-405B in fp8 on one 8x H100 node, 16 sequences of 8k.
# expect: fits
cd "$(dirname "$0")/.." && shardplan plan models/llama-3.1-405b.config.json --quant fp8 \
  --topology 8x-h100-sxm --context 8192 --concurrency 16 "$@"
