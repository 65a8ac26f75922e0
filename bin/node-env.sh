# Sourced by bin/tsrunc and bin/containerd-shim-tsrunc-v2: what node is run as, found with the
# shell's own builtins (each fork and exec here would cost every command several ms). Sets and
# exports TSRUNC_NOFILE_SOFT and TSRUNC_NODE_PATH, sets exe.
#
# Node raises its own soft RLIMIT_NOFILE at start-up, so the caller's is recorded here for the
# container's process to get back: the shell's own limits are the caller's.
#
# /proc/self/limits is sourced: each of its lines runs Limit or Max below, and dash reads it in one
# read(2) where its read builtin would take ~700, a byte each (~0.4 ms a command). bash sources
# nothing of it (it believes the size /proc reports, 0): the read loop then.
TSRUNC_NOFILE_SOFT=''
Limit() { :; }
Max() {
  [ "$1 $2" = 'open files' ] && TSRUNC_NOFILE_SOFT=$3
  return 0
}
[ -r /proc/self/limits ] && . /proc/self/limits
unset -f Limit Max
[ -n "$TSRUNC_NOFILE_SOFT" ] || {
  while read -r a b c soft _; do
    [ "$a $b $c" = 'Max open files' ] && TSRUNC_NOFILE_SOFT=$soft && break
  done </proc/self/limits
} 2>/dev/null
# node as `command -v` would find it, without a subshell
TSRUNC_NODE_PATH=${TSRUNC_NODE:-node}
case "$TSRUNC_NODE_PATH" in
  */*) ;;
  *)
    set -f
    ifs=$IFS IFS=:
    for d in $PATH; do
      [ -f "${d:-.}/$TSRUNC_NODE_PATH" ] && [ -x "${d:-.}/$TSRUNC_NODE_PATH" ] && TSRUNC_NODE_PATH=${d:-.}/$TSRUNC_NODE_PATH && break
    done
    IFS=$ifs
    set +f
    ;;
esac
case "$TSRUNC_NODE_PATH" in /*) ;; */*) TSRUNC_NODE_PATH=$PWD/$TSRUNC_NODE_PATH ;; esac
export TSRUNC_NOFILE_SOFT TSRUNC_NODE_PATH
# tsrunc makes no TLS connection: a CA bundle named here would be read and parsed by every Node
# start-up (~40 ms for a distribution's bundle) for nothing. The containers' environment is their
# config's, never this one.
unset NODE_EXTRA_CA_CERTS
# The read-only bind of node that tsrunc makes before its first container (CVE-2019-5736 class:
# src/process/protected-exe.ts); the containers' processes are forked copies of this process.
exe=/run/tsrunc-exe$TSRUNC_NODE_PATH
# Only while mounted: an unmounted bind leaves an empty file behind, which is no node.
[ -x "$exe" ] && [ -s "$exe" ] || exe=$TSRUNC_NODE_PATH
