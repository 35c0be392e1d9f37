import { existsSync, mkdirSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import type { Express } from 'express';
import { chromium, type Browser } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';
const present = existsSync(CHROMIUM);
const inCi = process.env.CI === 'true';

/**
 * Whether the browser tests run. Without Debian's chromium they are skipped with a notice — except in CI
 * (CI=true), where a missing browser must fail the run rather than pass it silently.
 */
export const browserTestsRun = present || inCi;
if (!present) {
  const msg = `${CHROMIUM} is missing (apt-get install chromium)`;
  if (inCi) console.error(`error: browser tests cannot run in CI: ${msg}`);
  else console.warn(`notice: browser tests skipped: ${msg}`);
}

export function launch(): Promise<Browser> {
  if (!present) throw new Error(`${CHROMIUM} is missing: the dashboard tests must run in CI`);
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
}

export const ARTIFACTS = path.resolve('test-artifacts', 'browser');
mkdirSync(ARTIFACTS, { recursive: true });
export const artifact = (name: string) => path.join(ARTIFACTS, name);

export interface Served {
  base: string;
  port: number;
  server: http.Server;
  /** Stops the HTTP server (all connections dropped), as a crash or restart would. */
  stop(): Promise<void>;
  /** Listens again on the same port. */
  restart(): Promise<void>;
}

export async function serve(app: Express, port = 0): Promise<Served> {
  let server = http.createServer(app);
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  const actual = (server.address() as AddressInfo).port;
  const served: Served = {
    base: `http://127.0.0.1:${actual}`,
    port: actual,
    get server() {
      return server;
    },
    stop: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
    restart: async () => {
      server = http.createServer(app);
      await new Promise<void>((resolve) => server.listen(actual, '127.0.0.1', resolve));
    },
  };
  return served;
}

/** WCAG relative-luminance contrast ratio of two `rgb(...)` colours. */
export function contrast(fg: string, bg: string): number {
  const lum = (css: string) => {
    const [r, g, b] = (css.match(/[\d.]+/g) ?? []).slice(0, 3).map(Number).map((v) => {
      const c = v / 255;
      return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
    });
    return 0.2126 * r! + 0.7152 * g! + 0.0722 * b!;
  };
  const [a, b] = [lum(fg), lum(bg)].sort((x, y) => y - x);
  return (a! + 0.05) / (b! + 0.05);
}
