// The command surface, declared once: yargs is built from this table, and so is the fast parser
// that handles the plain invocations of the hot commands without paying for yargs.

/** 'strings': a string option that may be repeated (--env A --env B). */
export type OptionType = 'string' | 'boolean' | 'number' | 'strings';

export interface OptionSpec {
  type: OptionType;
  alias?: string;
  describe: string;
  default?: string | boolean | number;
  choices?: readonly string[];
}

export interface CommandSpec {
  name: string;
  describe: string;
  /** positional names, "?" suffix when optional */
  positionals: string[];
  options: Record<string, OptionSpec>;
  /** module under cli/commands exporting `run(args, ctx)` */
  module: string;
  /** options end at the first positional (exec ID CMD -c …: -c belongs to CMD) */
  haltAtPositional?: boolean;
}

export const GLOBAL_OPTIONS: Record<string, OptionSpec> = {
  root: { type: 'string', default: '/run/tsrunc', describe: 'directory for storage of container state' },
  log: { type: 'string', describe: 'file to write log lines to (default: stderr only)' },
  'log-format': { type: 'string', default: 'text', choices: ['text', 'json'], describe: 'log format' },
  debug: { type: 'boolean', default: false, describe: 'enable debug logging' },
  'systemd-cgroup': { type: 'boolean', default: false, describe: 'use systemd to manage cgroups (not supported yet)' },
  // Passed by go-runc clients (containerd, podman): accepted as runc does.
  rootless: { type: 'string', describe: "true, false or auto: accepted; tsrunc decides by the caller's uid (auto)" },
  criu: { type: 'string', describe: 'path to criu (checkpoint/restore is not supported; ignored)' },
};

const createOptions: Record<string, OptionSpec> = {
  bundle: { type: 'string', alias: 'b', default: '.', describe: 'path to the root of the bundle directory' },
  'pid-file': { type: 'string', describe: 'file to write the process id to' },
  'console-socket': { type: 'string', describe: 'unix socket to send the pty master to (terminal containers)' },
  'no-pivot': { type: 'boolean', default: false, describe: 'do not use pivot_root to jail the process (MS_MOVE + chroot)' },
  'no-new-keyring': { type: 'boolean', default: false, describe: 'do not create a new session keyring' },
  'pidfd-socket': { type: 'string', describe: "unix socket to send a pidfd of the container's init to" },
  'preserve-fds': { type: 'number', default: 0, describe: 'pass N additional file descriptors (from 3) to the container' },
};

export const COMMANDS: CommandSpec[] = [
  { name: 'create', describe: 'create a container', positionals: ['container-id'], options: createOptions, module: 'create' },
  { name: 'start', describe: 'start the user process of a created container', positionals: ['container-id'], options: {}, module: 'start' },
  { name: 'state', describe: 'output the state of a container', positionals: ['container-id'], options: {}, module: 'state' },
  {
    name: 'kill',
    describe: "send a signal (default SIGTERM) to the container's init process",
    positionals: ['container-id', 'signal?'],
    options: { all: { type: 'boolean', alias: 'a', default: false, describe: 'send the signal to all processes in the container' } },
    module: 'kill',
  },
  {
    name: 'delete',
    describe: 'delete a container and everything it holds',
    positionals: ['container-id'],
    options: { force: { type: 'boolean', alias: 'f', default: false, describe: 'kill the container first if it is running' } },
    module: 'delete',
  },
  {
    name: 'run',
    describe: 'create and start a container (and wait for it, unless --detach)',
    positionals: ['container-id'],
    options: {
      ...createOptions,
      detach: { type: 'boolean', alias: 'd', default: false, describe: "detach from the container's process" },
      keep: { type: 'boolean', default: false, describe: 'do not delete the container after it exits' },
      'no-subreaper': { type: 'boolean', default: false, describe: 'accepted for runc compatibility (tsrunc waits for init itself)' },
    },
    module: 'run',
  },
  {
    name: 'exec',
    describe: 'run a new process inside a container',
    positionals: ['container-id', 'command..?'],
    haltAtPositional: true,
    options: {
      process: { type: 'string', alias: 'p', describe: 'path to a process.json (OCI process) to run' },
      tty: { type: 'boolean', alias: 't', default: false, describe: 'allocate a pseudo-TTY' },
      'console-socket': { type: 'string', describe: 'unix socket to send the pty master to' },
      detach: { type: 'boolean', alias: 'd', default: false, describe: 'detach from the process' },
      'pid-file': { type: 'string', describe: 'file to write the process id to' },
      cwd: { type: 'string', describe: 'current working directory in the container' },
      env: { type: 'strings', alias: 'e', describe: 'set an environment variable (repeatable)' },
      user: { type: 'string', alias: 'u', describe: 'UID[:GID]' },
      'additional-gids': { type: 'strings', alias: 'g', describe: 'additional group id (repeatable)' },
      cap: { type: 'strings', alias: 'c', describe: 'add a capability (repeatable)' },
      'no-new-privs': { type: 'boolean', describe: "set no_new_privs (=false clears the container's)" },
      'ignore-paused': { type: 'boolean', default: false, describe: 'exec even when the container is paused (the process starts frozen)' },
      cgroup: { type: 'strings', describe: 'run in a sub-cgroup of the container: [CONTROLLER[,CONTROLLER]:]PATH (repeatable)' },
      'pidfd-socket': { type: 'string', describe: 'unix socket to send a pidfd of the process to' },
      'preserve-fds': { type: 'number', default: 0, describe: 'pass N additional file descriptors (from 3)' },
      apparmor: { type: 'string', describe: 'AppArmor profile for the process (hosts with AppArmor)' },
      'process-label': { type: 'string', describe: 'SELinux label (SELinux is not supported here)' },
    },
    module: 'exec',
  },
  { name: 'pause', describe: 'freeze every process of a running container', positionals: ['container-id'], options: {}, module: 'pause' },
  { name: 'resume', describe: 'thaw a paused container', positionals: ['container-id'], options: {}, module: 'resume' },
  {
    name: 'ps',
    describe: 'list the processes of a container',
    positionals: ['container-id', 'ps-args..?'],
    haltAtPositional: true, // ps ID -ef: what follows the id is ps(1)'s, as runc has it
    options: { format: { type: 'string', alias: 'f', default: 'table', choices: ['table', 'json'], describe: 'output format' } },
    module: 'ps',
  },
  {
    name: 'update',
    describe: 'update the resource limits of a container',
    positionals: ['container-id'],
    options: {
      resources: { type: 'string', alias: 'r', describe: 'path to a JSON linux.resources object, or - for stdin' },
      memory: { type: 'string', describe: 'memory limit (bytes, or 512m, 1g…)' },
      'memory-reservation': { type: 'string', describe: 'memory soft limit' },
      'memory-swap': { type: 'string', describe: 'memory plus swap limit (-1: unlimited swap)' },
      'kernel-memory': { type: 'string', describe: 'kernel memory limit (deprecated; v1 kernels that have it)' },
      'kernel-memory-tcp': { type: 'string', describe: 'kernel TCP buffer memory limit (v1)' },
      'cpu-share': { type: 'string', describe: 'CPU shares (relative weight)' },
      'cpu-shares': { type: 'string', describe: 'same as --cpu-share' },
      'cpu-period': { type: 'string', describe: 'CPU CFS period in microseconds' },
      'cpu-quota': { type: 'string', describe: 'CPU CFS quota in microseconds' },
      'cpu-burst': { type: 'string', describe: 'CPU CFS burst in microseconds' },
      'cpu-rt-period': { type: 'string', describe: 'CPU real-time period in microseconds (v1)' },
      'cpu-rt-runtime': { type: 'string', describe: 'CPU real-time runtime in microseconds (v1)' },
      'cpu-idle': { type: 'string', describe: '1: the cgroup runs as SCHED_IDLE' },
      'cpuset-cpus': { type: 'string', describe: 'CPUs to use (0-3, 0,1)' },
      'cpuset-mems': { type: 'string', describe: 'memory nodes to use' },
      'pids-limit': { type: 'string', describe: 'maximum number of pids' },
      'blkio-weight': { type: 'string', describe: 'block IO weight (10..1000)' },
      'l3-cache-schema': { type: 'string', describe: 'Intel RDT L3 cache schema (not supported)' },
      'mem-bw-schema': { type: 'string', describe: 'Intel RDT memory bandwidth schema (not supported)' },
    },
    module: 'update',
  },
  {
    name: 'events',
    describe: 'print container events and resource statistics',
    positionals: ['container-id'],
    options: {
      stats: { type: 'boolean', default: false, describe: 'print the statistics once and exit' },
      interval: { type: 'string', default: '5s', describe: 'time between statistics events' },
    },
    module: 'events',
  },
  {
    name: 'features',
    describe: 'print the features of this runtime (runtime-spec features.md)',
    positionals: [],
    options: {},
    module: 'features',
  },
  {
    name: 'spec',
    describe: 'create a new specification file (config.json)',
    positionals: [],
    options: {
      bundle: { type: 'string', alias: 'b', default: '.', describe: 'path to the root of the bundle directory' },
      rootless: { type: 'boolean', default: false, describe: 'generate a configuration for a rootless container' },
    },
    module: 'spec',
  },
  {
    name: 'list',
    describe: 'list containers',
    positionals: [],
    options: {
      format: { type: 'string', alias: 'f', default: 'table', choices: ['table', 'json'], describe: 'output format' },
      quiet: { type: 'boolean', alias: 'q', default: false, describe: 'display only container ids' },
    },
    module: 'list',
  },
];

export type ParsedArgs = Record<string, string | boolean | number | string[] | undefined>;
