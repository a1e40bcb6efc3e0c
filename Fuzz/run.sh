#!/usr/bin/env bash
# Builds a fuzz target with libFuzzer + AddressSanitizer and runs it on a copy of
# its seed corpus. Usage: Fuzz/run.sh [TARGET] [SECONDS]   (default: FuzzTopologyReaders 120)
# Findings (crash-*, timeout-*, oom-*) land in Fuzz/; move a fixed one to
# Fuzz/Regressions/ so the test suite replays it.
set -euo pipefail
cd "$(dirname "$0")"
target=${1:-FuzzTopologyReaders}
seconds=${2:-120}
corpus_name=topology
[ "$target" = FuzzModelHeaders ] && corpus_name=headers
[ "$target" = FuzzModelConfigs ] && corpus_name=configs
[ "$target" = FuzzHubResponses ] && corpus_name=hub
# Every module is instrumented, the library included (its own targets carry
# the flags too, but -Xswiftc reaches ShardPlan and its dependencies): libFuzzer
# then sees the parsers' branches (about 1,150 edges for the headers) rather than
# the harness's 17.
swift build -c release --product "$target" -Xswiftc -sanitize=fuzzer,address -Xcc -fsanitize=fuzzer-no-link,address
work=$(mktemp -d)
cp Corpus/$corpus_name/* "$work"/
.build/release/"$target" "$work" -max_total_time="$seconds" -max_len=65536 -timeout=10 -rss_limit_mb=2048
