#!/usr/bin/env bash
# On a machine packed for by scripts/device-pack.sh: unpacks node and the code, says what the host's
# cgroups are, and runs jest (default: unit, integration, conformance, and e2e when packed with containerd).
set -uo pipefail
cd "$(dirname "$0")/.."
xz -dc .device/node.xz > /usr/local/bin/node && chmod +x /usr/local/bin/node
tar -xJf .device/nm.tar.xz && tar -xf .device/build.tar || exit 1
[ -f .device/ctrd.tar.xz ] && tar -xJf .device/ctrd.tar.xz -C /usr/local/bin
echo "== kernel $(uname -r), node $(node --version), /sys/fs/cgroup is $(stat -fc %T /sys/fs/cgroup)"
echo "== root controllers: $(cat /sys/fs/cgroup/cgroup.controllers 2>/dev/null)"
if [ $# -eq 0 ]; then
  set -- test/unit test/integration conformance
  [ -f .device/ctrd.tar.xz ] && set -- "$@" test/e2e
fi
node node_modules/jest/bin/jest.js --runInBand "$@"
