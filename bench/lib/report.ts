import os from 'node:os';
import { MB, round } from './stats.js';

/** One line of the results table. `ratio` is service ÷ baseline. */
export interface Row {
  scenario: string;
  metric: string;
  service: string;
  baseline?: string;
  ratio?: string;
  target?: string;
  /** true/false when there is a target, undefined otherwise. */
  met?: boolean;
}

export const fmt = {
  rps: (x: number) => `${Math.round(x).toLocaleString('en-US')} req/s`,
  ms: (x: number) => (Number.isFinite(x) ? `${x < 10 ? round(x, 2) : round(x, 1)} ms` : 'n/a'),
  mb: (bytes: number) => `${round(bytes / MB, 1)} MB`,
  pct: (x: number) => `${Math.round(x * 100)}%`,
  times: (x: number) => `${round(x, 2)}×`,
  us: (x: number) => (Number.isFinite(x) ? `${Math.round(x)} µs` : 'n/a'),
  int: (x: number) => Math.round(x).toLocaleString('en-US'),
};

export function machine(): string {
  const cpus = os.cpus();
  const model = cpus[0]?.model.trim() ?? 'unknown CPU';
  return `${model}, ${cpus.length} cores, ${Math.round(os.totalmem() / 1024 ** 3)} GiB RAM, ${os.type()} ${os.release()}, Node ${process.version}`;
}

export function renderMarkdown(rows: Row[], notes: string[], started: Date, seconds: number, mode: string, loadAtStart: number): string {
  const load = `1-minute load average ${loadAtStart.toFixed(1)} at the start, ${os.loadavg()[0]?.toFixed(1)} at the end`;
  const lines = [
    `# Benchmark results`,
    '',
    `Run ${started.toISOString().replace(/\.\d+Z$/, 'Z')} (${mode}, ${Math.round(seconds)} s) on ${machine()}; ${load}.`,
    '',
    '| # | Scenario | Metric | Service | Baseline | Ratio | Target | Met |',
    '|---|---|---|---|---|---|---|---|',
    ...rows.map((r) => {
      const [num, ...rest] = r.scenario.split(' ');
      return `| ${num} | ${rest.join(' ')} | ${r.metric} | ${r.service} | ${r.baseline ?? ''} | ${r.ratio ?? ''} | ${r.target ?? ''} | ${r.met === undefined ? '' : r.met ? 'yes' : '**no**'} |`;
    }),
    '',
    ...notes.map((n) => `- ${n}`),
    '',
  ];
  return lines.join('\n');
}
