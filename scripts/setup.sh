#!/usr/bin/env bash
# Installs everything tsrunc and its tests need on a fresh Debian machine (as root), then builds.
set -euo pipefail
cd "$(dirname "$0")/.."
need=()
command -v busybox >/dev/null && busybox 2>&1 | head -1 | grep -q BusyBox && ldd "$(command -v busybox)" 2>&1 | grep -q 'not a dynamic' || need+=(busybox-static)
command -v runc >/dev/null || need+=(runc)
command -v containerd >/dev/null && command -v ctr >/dev/null && command -v containerd-shim-runc-v2 >/dev/null || need+=(containerd)
command -v script >/dev/null || need+=(bsdutils)
# ip, for the tests that make dummy network devices to move (the runtime itself speaks rtnetlink)
command -v ip >/dev/null || need+=(iproute2)
# podman (with conmon and containers-common's default seccomp profile) for its end-to-end test
command -v podman >/dev/null && command -v conmon >/dev/null || need+=(podman)
if [ ${#need[@]} -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${need[@]}" >/dev/null
fi
# Exactly the committed lock (again only when the lock changed since the last install).
[ -d node_modules ] && [ node_modules/.package-lock.json -nt package-lock.json ] || npm ci --no-audit --no-fund
npm run --silent build
