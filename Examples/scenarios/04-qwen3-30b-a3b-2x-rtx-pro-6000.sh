#!/usr/bin/env bash
# Qwen3-30B-A3B (MoE, 3B active) in bf16 on the same pair, 16 sequences of 32k.
# expect: fits
shardplan plan Qwen/Qwen3-30B-A3B --topology 2x-rtx-pro-6000-blackwell --context 32768 --concurrency 16 "$@"
