// A process started by `tsrunc exec` inside a running container. It was born in the container's
// namespaces except the mount namespace (its node binary must resolve on the host, in a private
// copy where it is bound read-only); its main thread joins the container's mount namespace here,
// then it becomes the requested program.
import * as fs from 'fs';
import { libc } from '../sys';
import { readLineSync, sendMessage } from './sync-socket';
import * as C from '../sys/constants';
import { adoptTerminal, execProgram, findExecutable, prepareEnv } from './exec-program';
import { decodeJson, EXEC_COMM, type ExecBootstrap, type InitMessage } from './bootstrap';

const sys = libc();
const SYNC_FD = Number(process.argv[2]);
const CONSOLE_FD = SYNC_FD + 1;

const send = (msg: InitMessage): void => sendMessage(SYNC_FD, msg);


function main(): void {
  let boot: ExecBootstrap;
  let slave: number;
  let exe: string;
  try {
    sys.setThreadName(EXEC_COMM);
    sys.prctl(C.PR_SET_DUMPABLE, 0);
    sys.fcntl(SYNC_FD, C.F_SETFL, sys.fcntl(SYNC_FD, C.F_GETFL, 0) & ~C.O_NONBLOCK);
    const line = readLineSync(SYNC_FD);
    if (line === undefined) process.exit(1); // the runtime went away
    boot = decodeJson<ExecBootstrap>(line);
    const ns = fs.openSync(boot.mountNs, C.O_RDONLY | C.O_CLOEXEC);
    sys.unshare(C.CLONE_FS);
    sys.setns(ns, C.CLONE_NEWNS); // root and cwd become the container's
    fs.closeSync(ns);
    process.chdir('/');
    // Not the caller's session keyring: the container's (runc's setns init does the same).
    if (boot.sessionKeyring) sys.joinSessionKeyring(boot.sessionKeyring);
    const p = boot.process;
    if (p.terminal) {
      const { master, slavePath } = sys.openPty();
      slave = fs.openSync(slavePath, C.O_RDWR | C.O_NOCTTY | C.O_CLOEXEC);
      if (p.consoleSize) sys.setWinsize(slave, p.consoleSize.height, p.consoleSize.width);
      sys.sendFd(CONSOLE_FD, master, slavePath);
      fs.closeSync(master);
      fs.closeSync(CONSOLE_FD);
      adoptTerminal(sys, slave);
    }
    exe = findExecutable(p.args[0], prepareEnv(p.env, p.uid), p.cwd);
    send({ type: 'ready' });
  } catch (e) {
    try {
      send({ type: 'error', msg: e instanceof Error ? e.message : String(e) });
    } finally {
      process.exit(1);
    }
  }
  try {
    const seccomp = boot.seccomp && { program: Buffer.from(boot.seccomp.program, 'base64'), flags: boot.seccomp.flags };
    execProgram(sys, boot.process, exe, { preserveFds: boot.preserveFds, nofileSoft: boot.nofileSoft, seccomp });
  } catch (e) {
    // The runtime waits until the sync socket closes at execve (it is close-on-exec): what fails
    // before that (cwd, credentials, capabilities, execve itself) is its error, not the program's.
    try {
      send({ type: 'error', msg: e instanceof Error ? e.message : String(e) });
    } finally {
      process.exit(127);
    }
  }
}

main();
