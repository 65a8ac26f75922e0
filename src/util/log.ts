import { appendFileSync, writeSync } from 'fs';

export type LogFormat = 'text' | 'json';

/**
 * Log lines go to --log (when given) in runc's formats; containerd's shim reports the last
 * "level":"error" JSON line to its user. stdout/stderr are written with writeSync, never through
 * process.stdout: Node would switch a shared pipe to non-blocking under the container's feet.
 */
export class Logger {
  constructor(
    private file?: string,
    private format: LogFormat = 'text',
    private debugOn = false,
  ) {}

  private line(level: string, msg: string): void {
    if (!this.file) return;
    const time = new Date().toISOString();
    const text =
      this.format === 'json' ? JSON.stringify({ level, msg, time }) + '\n' : `time="${time}" level=${level} msg=${JSON.stringify(msg)}\n`;
    try {
      appendFileSync(this.file, text);
    } catch {
      // a broken log file must not turn into a second failure
    }
  }

  error(msg: string): void {
    this.line('error', msg);
    writeSync(2, `tsrunc: ${msg}\n`);
  }

  // As runc: with --log, warnings and debug go there only. containerd's shim gives create's stderr
  // to the container's stderr, where the runtime's warnings do not belong.
  warn(msg: string): void {
    this.line('warning', msg);
    if (!this.file) writeSync(2, `tsrunc: warning: ${msg}\n`);
  }

  private last = 0;
  private lastFaults = 0;

  /**
   * With --debug, one line per step of a command: what the step cost since the previous one (or
   * since Node started, for the first), so `--debug` shows where a command's time goes; and the
   * page faults it took, which on a VM with costly faults (~10 µs each here) are much of it.
   */
  step(name: string): void {
    if (!this.debugOn) return;
    const now = performance.now();
    const faults = process.resourceUsage().minorPageFault;
    this.timing(name, this.last, this.lastFaults, now, faults);
    this.last = now;
    this.lastFaults = faults;
  }

  /** Whether debug lines (and so timing lines) are written. */
  get debugging(): boolean {
    return this.debugOn;
  }

  /**
   * A forked copy's steps (process/copy-steps.ts), as timing lines of their own ("timing: init:
   * …"): each from the one before, the first from when the runtime set about the fork. They leave
   * the runtime's own chain of steps as it was.
   */
  copySteps(who: string, timing: { began: number; steps: readonly { name: string; at: number; faults: number }[] } | undefined): void {
    if (!this.debugOn || !timing) return;
    let last = timing.began;
    let lastFaults = 0;
    for (const s of timing.steps) {
      if (typeof s.at !== 'number' || typeof s.faults !== 'number') continue; // (the copy's words: no throw over them)
      this.timing(`${who}: ${s.name}`, last, lastFaults, s.at, s.faults);
      last = s.at;
      lastFaults = s.faults;
    }
  }

  /** One timing line: a step from (since, sinceFaults) to (at, faults). */
  private timing(name: string, since: number, sinceFaults: number, at: number, faults: number): void {
    this.debug(`timing: ${name} ${(at - since).toFixed(1)} ms, ${faults - sinceFaults} page faults (at ${at.toFixed(1)} ms)`);
  }

  debug(msg: string): void {
    if (!this.debugOn) return;
    this.line('debug', msg);
    if (!this.file) writeSync(2, `tsrunc: debug: ${msg}\n`);
  }
}

/** --log and --log-format picked from a command line the parser refused (its error belongs there too). */
export function loggerFromArgv(argv: readonly string[]): Logger {
  let file: string | undefined;
  let format: LogFormat = 'text';
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = argv[i].split(/=(.*)/s, 2);
    const value = () => inline ?? argv[++i];
    if (flag === '--log') file = value();
    else if (flag === '--log-format') format = value() === 'json' ? 'json' : 'text';
  }
  return new Logger(file, format);
}

export function out(text: string): void {
  writeSync(1, text);
}
