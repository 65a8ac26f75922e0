// The pre-born inits a long-lived runtime (the shim's spare) keeps (process/preborn.ts): forked
// while the runtime is idle, handed to the next creates they fit, and dropped when nobody took them
// in time (an idle copy holds a Node heap's worth of pages).
import os = require('os');
import type { Libc } from '../sys/libc';
import type { Logger } from '../util/log';
import { armPreborn, birthplace, dropPreborn, prebornGone, type Preborn } from '../process/preborn';
import { reclaimPages } from '../process/copy';
import { initLife, type InitPlan } from '../process/init-copy';
import { decodeJson } from '../util/bigint-json';

export class PrebornInits {
  private held: Preborn[] = [];
  private timer?: NodeJS.Timeout;
  private renew = false;
  private renewCount = 0;

  constructor(
    private readonly sys: Libc,
    private log: Logger,
  ) {}

  /** Where its lines go from now on (a claimed spare's group log). */
  logTo(log: Logger): void {
    this.log = log;
  }

  /**
   * Forks until count are held (each blocks for about a fork's cost: for an idle runtime), then
   * takes its pages back from them; unused, they are dropped after keepMs, and with renew forked
   * again then (a spare shim may wait long for its group). A failed fork is logged: creates fork
   * as usual.
   */
  arm(count: number, keepMs: number, renew = false): void {
    const t0 = Date.now();
    const before = this.held.length;
    while (this.held.length < count) {
      try {
        this.held.push(armPreborn(this.sys, (ch, fds, plan) => initLife(this.sys, ch, fds, decodeJson<InitPlan>(plan))));
      } catch (e) {
        this.log.warn(`forking a pre-born init: ${(e as Error).message}`);
        break;
      }
    }
    if (this.held.length > before) {
      const t1 = Date.now();
      const copied = reclaimPages(this.sys);
      this.log.debug(
        `pre-born inits ${this.pids.join(', ')} forked in ${t1 - t0} ms; ${copied >> 10} KiB taken back in ${Date.now() - t1} ms`,
      );
    }
    this.keepFor(keepMs);
    this.renew = renew;
    this.renewCount = count;
  }

  /** Those held are kept keepMs from now (then dropped, and with renew forked again; renew is off until arm says otherwise). */
  keepFor(keepMs: number): void {
    this.renew = false;
    clearTimeout(this.timer);
    // (with nothing held, the timer still runs: a renewing keeper whose fork failed tries again)
    this.timer = setTimeout(() => {
      this.dropHeld();
      if (this.renew) this.arm(this.renewCount, keepMs, true);
    }, keepMs);
    this.timer.unref();
  }

  /** One held, if it is still what a fork now would be (else it goes); this runtime's priority is given to it. */
  take(): Preborn | undefined {
    const pre = this.held.shift();
    if (!pre) return undefined;
    if (!this.held.length) clearTimeout(this.timer);
    try {
      if (birthplace() !== pre.birthplace) throw new Error('the runtime changed namespaces, cgroups, OOM score or rlimits since');
      if (prebornGone(this.sys, pre) || this.sys.pollReadable([pre.channel.fd], 0).length) throw new Error('it left');
      os.setPriority(pre.pid, os.getPriority());
      return pre;
    } catch (e) {
      this.log.debug(`pre-born init ${pre.pid} not used: ${(e as Error).message}`);
      dropPreborn(this.sys, pre);
      return this.take(); // the others share its birthplace: they go the same way
    }
  }

  /** The pids of those held, oldest first. */
  get pids(): number[] {
    return this.held.map((p) => p.pid);
  }

  /** All held go, and none is forked again. */
  drop(): void {
    clearTimeout(this.timer);
    this.renew = false;
    this.dropHeld();
  }

  private dropHeld(): void {
    for (const pre of this.held.splice(0)) dropPreborn(this.sys, pre);
  }
}
