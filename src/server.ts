import { mkdir } from 'node:fs/promises';
import type { Server } from 'node:http';
import { createApp } from './app.js';
import { createHttpServer } from './http/http-server.js';
import { createMetricsServer } from './http/metrics-server.js';
import { ConfigError, loadConfig, type Config } from './config.js';
import { closeDeps, createDeps, startBackgroundWork } from './deps.js';
import { logAuthMode } from './http/middleware/auth.js';
import { startDraining } from './http/middleware/draining.js';
import { createLogger } from './logger.js';

function readConfig(): Config {
  try {
    return loadConfig(process.env);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(1);
    }
    throw err;
  }
}

async function main(): Promise<void> {
  const config = readConfig();
  const logger = createLogger(config);
  // Runtime folders are not kept in git: create them, and fail at start (not at the first upload) when
  // they cannot be.
  await Promise.all([config.uploadDir, config.pdfDir].map((dir) => mkdir(dir, { recursive: true })));
  const deps = await createDeps(config, logger);
  const app = createApp(deps);

  const listen = (s: Server, port: number): Promise<Server> =>
    new Promise((resolve, reject) => {
      s.once('error', reject);
      s.listen(port, config.host, () => resolve(s));
    });
  const server = await listen(createHttpServer(app, config), config.port);
  // METRICS_PORT: /metrics on a listener of its own (and not on the API's port).
  const metricsServer = config.metrics.port === undefined ? null : await listen(createMetricsServer(deps), config.metrics.port);
  if (metricsServer) logger.info({ port: (metricsServer.address() as { port: number }).port }, 'metrics listening');
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  logger.info(
    { port, host: config.host, store: config.redisUrl ? 'redis' : 'memory' },
    `Document Monitor API listening on http://${config.host === '0.0.0.0' ? 'localhost' : config.host}:${port}`,
  );
  logAuthMode(config, logger);
  startBackgroundWork(deps);

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    const forced = setTimeout(() => {
      logger.warn('shutdown timed out; closing remaining connections');
      server.closeAllConnections();
    }, config.shutdownTimeoutMs);
    forced.unref();
    // Requests still arriving on open keep-alive connections get 503 SHUTTING_DOWN and a closed connection.
    startDraining(app);
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    metricsServer?.close();
    metricsServer?.closeAllConnections();
    server.closeIdleConnections();
    // Open event streams would hold server.close() until the forced timeout; clients reconnect elsewhere.
    deps.events.close();
    await deps.runner.close();
    await closed;
    await closeDeps(deps);
    clearTimeout(forced);
    logger.info('stopped');
    logger.flush?.();
    process.exit(0);
  };
  process.once('SIGTERM', () => void shutdown('SIGTERM'));
  process.once('SIGINT', () => void shutdown('SIGINT'));
}

main().catch((err: unknown) => {
  process.stderr.write(`Failed to start: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
