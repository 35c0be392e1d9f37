import type { LogEntry, LogLevel } from './types.js';

export const SYSTEM_AGENT = 'DocumentMonitor';

export function logEntry(level: LogLevel, message: string, agent = SYSTEM_AGENT): LogEntry {
  return { timestamp: new Date(Date.now()).toISOString(), level, message, agent };
}
