#!/usr/bin/env bash
# Rewrites the error table in the README (between its error-table markers) from the
# stated cases: every engine log in Tests/ShardPlanTests/Fixtures/engine-logs/ with a
# `# reconcile:` line, reconciled by the built binary. `swift test` fails while the
# README's table differs from what the cases give.
set -euo pipefail
cd "$(dirname "$0")/.."
swift build --build-tests
RECORD_ERROR_TABLE=1 swift test --skip-build --filter 'readmeTableIsCurrent'
git --no-pager diff --stat README.md || true
