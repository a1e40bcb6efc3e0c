#!/usr/bin/env bash
# The public API, checked as a client outside the package sees it:
#  1. Examples/OrchestratorExample and the README's "Using the library" snippets
#     type-check against the built modules with no package name, so `package`
#     declarations are invisible to them, as they are to a tool that depends on
#     the ShardPlan product;
#  2. the number of public declarations of ShardPlan, ShardPlanHub and
#     ShardPlanHwloc (each `public` or `open` keyword in their sources, SPI left
#     out) stays at or
#     under the ceiling below, and each has a doc comment (swift-format's
#     AllPublicDeclarationsHaveDocumentation rule, which `swift format lint` runs).
# Run after `swift build` (the modules it reads are in .build/debug/Modules).
set -euo pipefail
cd "$(dirname "$0")/.."
# 835 when issue 8 was filed; 314 once the memory model, engine profiles, the
# training-time estimator, renderings and the records' secondary fields became
# `package` (their JSON encodings still carry every field); 250 once the
# calibration's figures, the training setup's and training plan's batch and
# launch details, the GPUs' catalog rates and the plan's secondary byte counts
# followed.
ceiling=${PUBLIC_API_CEILING:-250}
modules=.build/debug/Modules
[ -d "$modules" ] || swift build
yams_include=$(dirname "$(find .build/checkouts/Yams/Sources/CYaml -name module.modulemap | head -n 1)")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# The README's snippets after the Package.swift one, in order, as one program.
awk '
  /^## Using the library/ { inside = 1; next }
  inside && /^## / { inside = 0 }
  inside && /^```swift/ { block++; if (block > 1) { copy = 1 }; next }
  copy && /^```/ { copy = 0; print ""; next }
  copy { print }
' README.md >"$work/readme.swift"
[ -s "$work/readme.swift" ] || {
  echo "check-public-api: no Swift snippets found under README's \"Using the library\"" >&2
  exit 1
}
for program in Examples/OrchestratorExample/main.swift "$work/readme.swift"; do
  if ! swiftc -typecheck -swift-version 6 "$program" -I "$modules" -I "$yams_include" -I Sources/CHwloc/include -I Sources/CCurlShim/include 2>"$work/errors"; then
    cat "$work/errors" >&2
    echo "check-public-api: $program does not compile against the public API (errors above)" >&2
    exit 1
  fi
done

count=$(cat Sources/ShardPlan/*/*.swift Sources/ShardPlan/*/*/*.swift Sources/ShardPlanHub/*.swift \
  Sources/ShardPlanHwloc/*.swift | grep -E '^\s*(@[A-Za-z_(). ]+ )?(public|open) ' | grep -vc '@_spi')
echo "check-public-api: the example and the README snippets compile as an outside client; $count public declarations (ceiling $ceiling)"
if [ "$count" -gt "$ceiling" ]; then
  echo "check-public-api: $count public declarations is above the ceiling of $ceiling; make the new ones package unless a client needs them" >&2
  exit 1
fi
