import { readFileSync } from 'fs';

export interface ProcStat {
  comm: string;
  state: string;
  startTime: string;
  ppid: number;
}

/** Reads /proc/<pid>/stat; undefined when the process does not exist. */
export function procStat(pid: number): ProcStat | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // comm may contain spaces and parentheses: fields start after the last ')'.
  const rest = text.slice(text.lastIndexOf(')') + 2).split(' ');
  const comm = text.slice(text.indexOf('(') + 1, text.lastIndexOf(')'));
  return { comm, state: rest[0], ppid: Number(rest[1]), startTime: rest[19] };
}

/** True when pid is alive (not a zombie) and is the same process that was recorded (pid reuse). */
export function isSameLiveProcess(pid: number, startTime: string | undefined): boolean {
  const st = procStat(pid);
  if (!st || st.state === 'Z' || st.state === 'X') return false;
  return startTime === undefined || st.startTime === startTime;
}
