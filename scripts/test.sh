#!/usr/bin/env bash
# Sets up and runs the whole test suite (unit, integration with real containers, conformance),
# then prints a one-line summary.
set -uo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh || exit 1
npx tsc -p tsconfig.test.json || exit 1 # ts-jest only transpiles: type-check the tests here
out=$(mktemp)
npx jest --runInBand --json --outputFile="$out" "$@"
rc=$?
node -e '
const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
console.log(`${r.numPassedTests} passed, ${r.numFailedTests} failed, ${r.numPendingTests} skipped`);
' "$out" || true
rm -f "$out"
exit $rc
