#!/usr/bin/env bash
# The main job: set up, assemble a busybox bundle, and run a real container that shows its isolation.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bundle=$(mktemp -d /tmp/tsrunc-demo-XXXXXX)
trap 'rm -rf "$bundle"' EXIT
scripts/make-bundle.sh "$bundle" sh -c '
echo "hostname:      $(hostname)"
echo "my pid:        $$"
echo "processes:     $(ps -o pid= | tr -s " \n" " ")"
echo "user:          $(id)"
echo "capabilities:  $(grep CapEff /proc/self/status)"
echo "root is read-only: $(touch /x 2>/dev/null && echo no || echo yes)"
echo "mounts:"; cat /proc/self/mounts | sed "s/^/  /"'
echo "== tsrunc run demo-$$ (bundle $bundle)"
bin/tsrunc run --bundle "$bundle" "demo-$$"
