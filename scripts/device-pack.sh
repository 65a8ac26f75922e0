#!/usr/bin/env bash
# Packs what a bare machine without Node needs to run the tests (a pure cgroup v2 host, say) into
# .device/ (ignored by git): the node binary, node_modules, the built code and the test bundle.
# Then, there: bash scripts/device-tests.sh [jest args]
set -euo pipefail
cd "$(dirname "$0")/.."
npm run build >/dev/null
if [ ! -f build/test-bundle/config.json ]; then
  rm -rf build/test-bundle.tmp && bash scripts/make-bundle.sh build/test-bundle.tmp >/dev/null && mv build/test-bundle.tmp build/test-bundle
fi
mkdir -p .device
xz -T0 -c "$(readlink -f "$(command -v node)")" > .device/node.xz
tar -cf - --exclude='node_modules/@koromix/koffi-linux-x64/musl_x64' node_modules | xz -T0 -6 > .device/nm.tar.xz
tar -cf .device/build.tar build/test-bundle dist
# containerd, its runc shim, ctr and runc, for the e2e tests (about 24 MB more)
if command -v containerd >/dev/null && command -v runc >/dev/null; then
  tar -cf - -C "$(dirname "$(readlink -f "$(command -v containerd)")")" containerd containerd-shim-runc-v2 ctr \
    -C "$(dirname "$(readlink -f "$(command -v runc)")")" runc | xz -T0 -6 > .device/ctrd.tar.xz
fi
du -sh .device
