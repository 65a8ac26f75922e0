#!/usr/bin/env bash
# The main job: set up, assemble a busybox bundle, and run a real container that shows its isolation.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bundle=$(mktemp -d /tmp/tsrunc-demo-XXXXXX)
# The demo leaves the host as it found it: its state root (with the seccomp cache) is its own, and
# the read-only bind of node tsrunc makes before its first container (src/process/protected-exe.ts,
# kept until reboot by design) goes again if this run made it.
root=$(mktemp -d /tmp/tsrunc-demo-root-XXXXXX)
exe_before=$(node -e 'process.stdout.write(JSON.stringify(require("./scripts/exe-binds").snapshot()))')
trap 'rm -rf "$bundle" "$root"; node -e "require(\"./scripts/exe-binds\").restore($exe_before)"' EXIT
scripts/make-bundle.sh "$bundle" sh -c '
echo "hostname:      $(hostname)"
echo "my pid:        $$"
echo "processes:     $(ps -o pid= | tr -s " \n" " ")"
echo "user:          $(id)"
echo "capabilities:  $(grep CapEff /proc/self/status)"
echo "root is read-only: $(touch /x 2>/dev/null && echo no || echo yes)"
echo "mounts:"; cat /proc/self/mounts | sed "s/^/  /"'
echo "== tsrunc run demo-$$ (bundle $bundle)"
bin/tsrunc --root "$root" run --bundle "$bundle" "demo-$$"
