import { readdirSync, readFileSync } from 'node:fs';

/** Parent pid and RSS / peak RSS (VmHWM) in bytes of one process, or null when it is gone. */
function readProcess(pid: number): { ppid: number; rss: number; hwm: number } | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name may contain spaces and parentheses: the fields follow the last ')'.
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (field: string) => Number(new RegExp(`${field}:\\s+(\\d+)\\s+kB`).exec(status)?.[1] ?? 0) * 1024;
    return { ppid, rss: kb('VmRSS'), hwm: kb('VmHWM') };
  } catch {
    return null;
  }
}

/** Every live process started, directly or not, by `rootPid`. */
export function descendants(rootPid: number): number[] {
  let pids: number[];
  try {
    pids = readdirSync('/proc').filter((n) => /^\d+$/.test(n)).map(Number);
  } catch {
    return [];
  }
  const parent = new Map<number, number>();
  for (const pid of pids) {
    const p = readProcess(pid);
    if (p) parent.set(pid, p.ppid);
  }
  return pids.filter((pid) => {
    for (let p = parent.get(pid), hops = 0; p !== undefined && hops < 16; p = parent.get(p), hops++) if (p === rootPid) return true;
    return false;
  });
}

/** Stops (SIGSTOP) or continues (SIGCONT) every process `rootPid` started; answers how many. */
export function pauseDescendants(rootPid: number, paused: boolean): number {
  let n = 0;
  for (const pid of descendants(rootPid)) {
    try {
      process.kill(pid, paused ? 'SIGSTOP' : 'SIGCONT');
      n++;
    } catch {
      // Gone meanwhile.
    }
  }
  return n;
}

/**
 * The memory of the processes a process starts (the service's extractors and their OCR tools), sampled
 * from /proc: the largest sum of their RSS at one moment, and the largest peak (VmHWM, the kernel's
 * high-water mark, so a spike between samples is not missed) of any one of them. Linux only; zeros elsewhere.
 */
export class DescendantMemory {
  private timer: NodeJS.Timeout | null = null;
  peakSum = 0;
  peakSingle = 0;
  processes = 0;
  private readonly seen = new Set<number>();

  constructor(private readonly rootPid: number) {}

  start(intervalMs = 50): void {
    this.timer = setInterval(() => this.sample(), intervalMs);
  }

  stop(): { peakSum: number; peakSingle: number; processes: number } {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.sample();
    return { peakSum: this.peakSum, peakSingle: this.peakSingle, processes: this.processes };
  }

  private sample(): void {
    let pids: number[];
    try {
      pids = readdirSync('/proc').filter((n) => /^\d+$/.test(n)).map(Number);
    } catch {
      return;
    }
    const info = new Map<number, { ppid: number; rss: number; hwm: number }>();
    for (const pid of pids) {
      const p = readProcess(pid);
      if (p) info.set(pid, p);
    }
    const isDescendant = (pid: number): boolean => {
      for (let p = info.get(pid), hops = 0; p && hops < 16; p = info.get(p.ppid), hops++) if (p.ppid === this.rootPid) return true;
      return false;
    };
    let sum = 0;
    for (const [pid, p] of info) {
      if (!isDescendant(pid)) continue;
      sum += p.rss;
      this.peakSingle = Math.max(this.peakSingle, p.hwm);
      if (!this.seen.has(pid)) {
        this.seen.add(pid);
        this.processes++;
      }
    }
    this.peakSum = Math.max(this.peakSum, sum);
  }
}
