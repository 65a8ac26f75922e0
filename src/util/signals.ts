import { UserError } from '../sys/errors';
import { osConstants } from '../sys/os-constants';

const signals = () => osConstants().signals as Record<string, number>;
const MAX_SIGNAL = 64;

/** Accepts what runc accepts: a number, or a name with or without SIG, in any case. */
export function parseSignal(raw: string): number {
  const s = raw.trim();
  if (/^\d+$/.test(s)) {
    const n = Number(s);
    // 0 only checks that the process exists, as kill(2) defines it.
    if (n > MAX_SIGNAL) throw new UserError(`invalid signal "${raw}": out of range 0-${MAX_SIGNAL}`);
    return n;
  }
  let name = s.toUpperCase();
  if (!name.startsWith('SIG')) name = 'SIG' + name;
  const rt = /^SIGRTMIN(?:\+(\d+))?$/.exec(name) ?? /^SIGRTMAX(?:-(\d+))?$/.exec(name);
  if (rt) {
    const off = Number(rt[1] ?? 0);
    const n = name.startsWith('SIGRTMIN') ? 34 + off : 64 - off;
    if (n >= 34 && n <= 64) return n;
  }
  const n = signals()[name];
  if (n === undefined) throw new UserError(`unknown signal "${raw}"`);
  return n;
}

export function signalName(n: number): string {
  const all = signals();
  return Object.keys(all).find((k) => all[k] === n) ?? String(n);
}
