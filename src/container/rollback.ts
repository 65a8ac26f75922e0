import fs = require('fs');
import type { Logger } from '../util/log';

/**
 * What the steps of an operation have done, to be undone last-first if a later step fails. Each
 * step registers its own undo right after doing its work; commit() once the operation succeeded.
 * An undo that fails is logged and the rest still run: nothing is left that could be removed.
 */
export class Rollback {
  private readonly undo: { what: string; fn: () => void }[] = [];

  add(what: string, fn: () => void): void {
    this.undo.push({ what, fn });
  }

  run(log: Logger): void {
    for (const { what, fn } of this.undo.splice(0).reverse()) {
      try {
        fn();
      } catch (e) {
        log.warn(`cleanup: ${what}: ${(e as Error).message}`);
      }
    }
  }

  commit(): void {
    this.undo.length = 0;
  }
}

/** fds an operation holds only while it runs: closed at its end, whether it succeeded or not. */
export class HeldFds {
  private readonly fds = new Set<number>();

  add<T extends number | undefined>(fd: T): T {
    if (fd !== undefined) this.fds.add(fd);
    return fd;
  }

  closeAll(): void {
    for (const fd of this.fds) {
      try {
        fs.closeSync(fd);
      } catch {
        // closed already
      }
    }
    this.fds.clear();
  }
}
