#!/usr/bin/env bash
# On a machine packed for by scripts/device-pack.sh: unpacks node and the code, says what the host's
# cgroups are, and runs jest (default: unit, integration and conformance; containerd is not there).
set -uo pipefail
cd "$(dirname "$0")/.."
xz -dc .device/node.xz > /usr/local/bin/node && chmod +x /usr/local/bin/node
tar -xJf .device/nm.tar.xz && tar -xf .device/build.tar || exit 1
echo "== kernel $(uname -r), node $(node --version), /sys/fs/cgroup is $(stat -fc %T /sys/fs/cgroup)"
echo "== root controllers: $(cat /sys/fs/cgroup/cgroup.controllers 2>/dev/null)"
[ $# -eq 0 ] && set -- test/unit test/integration conformance
node node_modules/jest/bin/jest.js --runInBand "$@"
