#!/usr/bin/env bash
# The first fix applied: fp8 KV cache at 128k.
# expect: fits
shardplan plan Qwen/Qwen2.5-72B --topology 2x-rtx-pro-6000-blackwell --context 131072 --kv-dtype fp8 "$@"
