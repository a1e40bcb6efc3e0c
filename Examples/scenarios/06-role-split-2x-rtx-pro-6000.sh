#!/usr/bin/env bash
# A reasoning model on one card; a coder and an embedder sharing the other
# (the embedder at its own 512-token limit: BERT has 512 positions).
# expect: fits
shardplan plan --topology 2x-rtx-pro-6000-blackwell --context 32768 \
  --role reasoning=Qwen/Qwen3-32B@0 --role coder=Qwen/Qwen2.5-7B-Instruct@1 \
  --role "embedder=google-bert/bert-base-cased@1;context=512" "$@"
