#!/bin/sh
# Assembles an OCI bundle with a busybox rootfs (from Debian's busybox-static) and tsrunc's
# default config. Usage: scripts/make-bundle.sh DIR [args...]
set -eu
dir=${1:?usage: make-bundle.sh DIR [process args...]}
shift
busybox=$(command -v busybox || true)
[ -n "$busybox" ] || { echo "busybox not found: apt-get install busybox-static" >&2; exit 1; }
file -L "$busybox" 2>/dev/null | grep -q 'statically linked' || ldd "$busybox" 2>&1 | grep -q 'not a dynamic' || {
  echo "$busybox is not statically linked: apt-get install busybox-static" >&2; exit 1; }
rm -rf "$dir"
mkdir -p "$dir/rootfs/bin" "$dir/rootfs/etc" "$dir/rootfs/tmp" "$dir/rootfs/proc" "$dir/rootfs/sys" "$dir/rootfs/dev" "$dir/rootfs/root"
cp "$busybox" "$dir/rootfs/bin/busybox"
for applet in $("$busybox" --list); do
  [ -e "$dir/rootfs/bin/$applet" ] || ln -s busybox "$dir/rootfs/bin/$applet"
done
chmod 1777 "$dir/rootfs/tmp"
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' > "$dir/rootfs/etc/passwd"
printf 'root:x:0:\nnobody:x:65534:\n' > "$dir/rootfs/etc/group"
here=$(dirname "$(readlink -f "$0")")
node -e '
const { defaultSpec } = require(process.argv[1]);
const spec = defaultSpec();
// a bundle for scripts and tests: no terminal (runc spec'"'"'s default is one)
spec.process.terminal = false;
const args = process.argv.slice(3);
if (args.length) spec.process.args = args;
require("fs").writeFileSync(process.argv[2], JSON.stringify(spec, null, 2) + "\n");
' "$here/../dist/ocispec/default-spec.js" "$dir/config.json" "$@"
