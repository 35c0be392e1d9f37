import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../src/config.js';

describe('loadConfig', () => {
  it('uses the SPEC defaults when nothing is set', () => {
    const c = loadConfig({});
    expect(c).toMatchObject({
      port: 3000,
      host: '0.0.0.0',
      redisUrl: undefined,
      redisKeyPrefix: 'dm:',
      workflowTtlSeconds: 86_400,
      sectionDelayMinMs: 2000,
      sectionDelayMaxMs: 5000,
      uploadDir: 'uploads',
      pdfDir: 'pdfs',
      maxUploadBytes: 26_214_400,
      costPer1kTokens: 0.01,
      logLevel: 'info',
    });
  });

  it('treats empty values as unset', () => {
    expect(loadConfig({ PORT: '', REDIS_URL: '' }).port).toBe(3000);
  });

  it('parses numbers and URLs', () => {
    const c = loadConfig({ PORT: '8080', REDIS_URL: 'redis://127.0.0.1:6379/2', SECTION_DELAY_MIN_MS: '0', SECTION_DELAY_MAX_MS: '0' });
    expect(c.port).toBe(8080);
    expect(c.redisUrl).toBe('redis://127.0.0.1:6379/2');
    expect(c.sectionDelayMaxMs).toBe(0);
  });

  it.each([
    [{ PORT: 'abc' }, 'PORT'],
    [{ PORT: '70000' }, 'PORT'],
    [{ SECTION_DELAY_MIN_MS: '-1' }, 'SECTION_DELAY_MIN_MS'],
    [{ SECTION_DELAY_MIN_MS: '6000', SECTION_DELAY_MAX_MS: '5000' }, 'SECTION_DELAY_MIN_MS'],
    [{ WORKFLOW_TTL_SECONDS: '0' }, 'WORKFLOW_TTL_SECONDS'],
    [{ MAX_UPLOAD_BYTES: '1.5' }, 'MAX_UPLOAD_BYTES'],
    [{ COST_PER_1K_TOKENS: '-0.1' }, 'COST_PER_1K_TOKENS'],
    [{ LOG_LEVEL: 'loud' }, 'LOG_LEVEL'],
    [{ REDIS_URL: 'http://example' }, 'REDIS_URL'],
  ])('refuses %o, naming the variable', (env, name) => {
    expect(() => loadConfig(env)).toThrow(ConfigError);
    try {
      loadConfig(env);
    } catch (err) {
      expect((err as ConfigError).message).toContain(name);
    }
  });

  it('names every bad variable at once', () => {
    try {
      loadConfig({ PORT: 'abc', LOG_LEVEL: 'loud' });
      expect.unreachable();
    } catch (err) {
      expect((err as ConfigError).problems).toHaveLength(2);
    }
  });
});
