import { readFileSync, writeFileSync } from 'node:fs';
import { monitorEventLoopDelay, performance, type EventLoopUtilization } from 'node:perf_hooks';

/** What a bench child reports about itself: memory and event-loop delay (ms). */
export interface ProcessStats {
  rss: number;
  heapUsed: number;
  heapTotal: number;
  external: number;
  arrayBuffers: number;
  eld: { p50: number; p99: number; max: number; mean: number; samples: number };
  cpuMs: number;
  /** Longest event-loop delay since the previous call. */
  recentEldMax: number;
  /**
   * Event-loop utilization since `resetEld`: the share of wall time the main thread spent running
   * JavaScript and native callbacks rather than waiting for I/O (1 = never idle, i.e. saturated).
   */
  elu: number;
}

/**
 * Event-loop delay, memory and peak RSS of the current process. Peak RSS comes from the kernel's VmHWM
 * (reset through /proc/self/clear_refs) when available, so a spike between two samples is not missed;
 * a 5 ms sampler backs it up elsewhere.
 */
export class Probe {
  private readonly eld = monitorEventLoopDelay({ resolution: 10 });
  /** A second histogram, reset at every read: the delay since the previous `stats` call. */
  private readonly recent = monitorEventLoopDelay({ resolution: 10 });
  private sampler: NodeJS.Timeout | null = null;
  private sampledPeak = 0;
  private rssAtStart = 0;
  private eluStart: EventLoopUtilization = performance.eventLoopUtilization();

  constructor() {
    this.eld.enable();
    this.recent.enable();
  }

  /** Starts the event-loop delay histogram and the utilization over again. */
  resetEld(): void {
    this.eld.reset();
    this.eluStart = performance.eventLoopUtilization();
  }

  stats(): ProcessStats {
    const m = process.memoryUsage();
    const ms = (ns: number) => Math.round(ns / 1e4) / 100;
    const cpu = process.cpuUsage();
    const stats = {
      rss: m.rss,
      heapUsed: m.heapUsed,
      heapTotal: m.heapTotal,
      external: m.external,
      arrayBuffers: m.arrayBuffers,
      eld: {
        p50: ms(this.eld.percentile(50)),
        p99: ms(this.eld.percentile(99)),
        max: ms(this.eld.max),
        mean: ms(this.eld.mean),
        samples: this.eld.count,
      },
      cpuMs: Math.round((cpu.user + cpu.system) / 1000),
      recentEldMax: ms(this.recent.max),
      elu: Math.round(performance.eventLoopUtilization(this.eluStart).utilization * 1000) / 1000,
    };
    this.recent.reset();
    return stats;
  }

  /** Starts watching the peak RSS from now on. */
  startPeak(): { rss: number } {
    this.stopSampler();
    this.rssAtStart = process.memoryUsage.rss();
    this.sampledPeak = this.rssAtStart;
    try {
      writeFileSync('/proc/self/clear_refs', '5');
    } catch {
      // Not Linux, or not allowed: the sampler alone measures the peak.
    }
    this.sampler = setInterval(() => {
      this.sampledPeak = Math.max(this.sampledPeak, process.memoryUsage.rss());
    }, 5);
    return { rss: this.rssAtStart };
  }

  /** The peak RSS since `startPeak`, and how much it grew over the RSS at that moment. */
  stopPeak(): { start: number; peak: number; growth: number; source: string } {
    this.stopSampler();
    const kernel = readHwm();
    const peak = kernel !== null && kernel >= this.rssAtStart ? Math.max(kernel, this.sampledPeak) : this.sampledPeak;
    return {
      start: this.rssAtStart,
      peak,
      growth: peak - this.rssAtStart,
      source: kernel !== null && kernel >= this.rssAtStart ? 'VmHWM' : 'sampled every 5 ms',
    };
  }

  private stopSampler(): void {
    if (this.sampler) clearInterval(this.sampler);
    this.sampler = null;
  }
}

function readHwm(): number | null {
  try {
    const match = /VmHWM:\s+(\d+)\s+kB/.exec(readFileSync('/proc/self/status', 'utf8'));
    return match ? Number(match[1]) * 1024 : null;
  } catch {
    return null;
  }
}
