#!/usr/bin/env bash
# Re-runs the scenario scripts the README shows and writes their output into it,
# between the `<!-- output of Examples/scenarios/NAME.sh -->` and
# `<!-- end of output -->` markers (the test that checks them does the writing).
set -euo pipefail
cd "$(dirname "$0")/.."
Scripts/ensure-hwloc.sh
RECORD_SNAPSHOTS=1 swift test --filter readmeShowsTheScenariosAsTheyRun
git --no-pager diff --stat README.md
