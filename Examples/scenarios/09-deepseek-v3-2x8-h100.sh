#!/usr/bin/env bash
# DeepSeek-V3 (FP8 as shipped) on two nodes of 8x H100 joined by InfiniBand, 64 sequences of 32k.
# expect: fits
shardplan plan deepseek-ai/DeepSeek-V3 --topology 2x8-h100-ib --context 32768 --concurrency 64 "$@"
